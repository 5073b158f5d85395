// The side-by-side lanes panel.
#include "panels/lanes_panel.h"

#include "models/inference_controller.h"
#include "models/lane_comparison.h"
#include "models/lane_runner.h"
#include "panels/plot_export.h"
#include "panels/plot_legend.h"

#include <QHBoxLayout>
#include <QHeaderView>
#include <QLabel>
#include <QPushButton>
#include <QSpinBox>
#include <QSplitter>
#include <QTableView>
#include <QTableWidget>
#include <QVBoxLayout>

#include <qcustomplot.h>

#include <cmath>

namespace logitscope::gui {

namespace {

enum SettingColumn { Temperature, TopK, TopP, MinP, Repetition, Seed, SettingColumns };
const QColor kLaneColors[] = {QColor(50, 110, 200), QColor(245, 160, 20), QColor(60, 160, 80), QColor(200, 60, 90)};

} // namespace

LanesPanel::LanesPanel(InferenceController* controller, LaneRunner* runner, QWidget* parent)
    : QWidget(parent), m_controller(controller), m_runner(runner)
{
    auto* layout = new QVBoxLayout(this);
    layout->setContentsMargins(4, 4, 4, 4);
    auto* row = new QHBoxLayout;
    row->addWidget(new QLabel(tr("Lanes"), this));
    m_count = new QSpinBox(this);
    m_count->setRange(2, 4);
    m_count->setValue(2);
    row->addWidget(m_count);
    m_copy = new QPushButton(tr("Copy A → others"), this);
    m_copy->setToolTip(tr("Give every lane lane A's settings; then change one thing in one lane."));
    row->addWidget(m_copy);
    m_start = new QPushButton(tr("Start"), this);
    m_start->setToolTip(tr("Fork the lanes from the lane on display, where it stands now (right after the prompt if "
                           "nothing was generated). They share its KV blocks and the same random numbers."));
    row->addWidget(m_start);
    m_step = new QPushButton(tr("Step all"), this);
    row->addWidget(m_step);
    m_run = new QPushButton(tr("Run"), this);
    row->addWidget(m_run);
    m_runSteps = new QSpinBox(this);
    m_runSteps->setRange(1, 1000);
    m_runSteps->setValue(16);
    m_runSteps->setSuffix(tr(" steps"));
    row->addWidget(m_runSteps);
    m_stop = new QPushButton(tr("Stop"), this);
    row->addWidget(m_stop);
    m_close = new QPushButton(tr("Close lanes"), this);
    row->addWidget(m_close);
    row->addStretch(1);
    layout->addLayout(row);

    m_settings = new QTableWidget(4, SettingColumns, this);
    m_settings->setHorizontalHeaderLabels({tr("temperature"), tr("top-k"), tr("top-p"), tr("min-p"), tr("rep. penalty"), tr("seed")});
    m_settings->setVerticalHeaderLabels({tr("Lane A"), tr("Lane B"), tr("Lane C"), tr("Lane D")});
    m_settings->verticalHeader()->setDefaultSectionSize(22);
    m_settings->horizontalHeader()->setSectionResizeMode(QHeaderView::Stretch);
    m_settings->setMaximumHeight(22 * 5 + 8);
    m_settings->setToolTip(tr("Each lane's sampling settings. Other settings (penalties, stop rules, length) come from "
                              "the Sampling panel. Temperature 0 = greedy."));
    layout->addWidget(m_settings);

    m_status = new QLabel(this);
    m_status->setWordWrap(true);
    layout->addWidget(m_status);

    auto* split = new QSplitter(Qt::Horizontal, this);
    m_view = new QTableView(split);
    m_view->setModel(runner->model());
    m_view->verticalHeader()->hide();
    m_view->verticalHeader()->setDefaultSectionSize(20);
    m_view->horizontalHeader()->setSectionResizeMode(QHeaderView::ResizeToContents); // tokens are never elided
    m_view->horizontalHeader()->setStretchLastSection(true);
    m_klPlot = new QCustomPlot(split);
    m_klPlot->setMinimumSize(240, 150);
    m_klPlot->xAxis->setLabel(tr("step"));
    m_klPlot->yAxis->setLabel(tr("KL(lane ‖ A), nats"));
    placeLegendAbove(m_klPlot, 3);
    m_divergence = new QCPItemStraightLine(m_klPlot);
    m_divergence->setPen(QPen(QColor(220, 50, 50), 1.5, Qt::DashLine));
    m_divergence->setVisible(false);
    enablePlotExport(m_klPlot, QStringLiteral("lanes-kl"));
    split->addWidget(m_view);
    split->addWidget(m_klPlot);
    layout->addWidget(split, 1);

    connect(m_count, &QSpinBox::valueChanged, this, [this] {
        for (int r = 0; r < 4; ++r)
            m_settings->setRowHidden(r, r >= m_count->value());
        updateButtons();
    });
    connect(m_copy, &QPushButton::clicked, this, [this] { copySettings(0); });
    connect(m_start, &QPushButton::clicked, this, [this] { m_runner->start(laneSettings()); });
    connect(m_step, &QPushButton::clicked, this, [this] { m_runner->step(1); });
    connect(m_run, &QPushButton::clicked, this, [this] { m_runner->step(m_runSteps->value()); });
    connect(m_stop, &QPushButton::clicked, m_runner, &LaneRunner::stop);
    connect(m_close, &QPushButton::clicked, m_runner, &LaneRunner::close);
    connect(runner, &LaneRunner::started, this, [this](const QList<int>& ids) {
        QStringList parts;
        const auto& lanes = m_runner->model()->lanes();
        // The table shows what the lanes run with (also when a session or a lesson made them).
        QList<logitscope::SamplingParams> settings;
        for (const auto& l : lanes)
            settings.append(l.params);
        m_count->setValue(int(lanes.size()));
        setLaneSettings(settings);
        m_edited = true;
        for (int i = 0; i < lanes.size(); ++i)
            parts << tr("%1 = lane %2 (%3)").arg(LaneComparisonModel::laneLetter(i)).arg(ids.value(i))
                         .arg(describeDifference(lanes[i].params, lanes[0].params));
        m_status->setText(tr("Started: %1. Step them together.").arg(parts.join(QStringLiteral("; "))));
        refreshPlot();
        updateButtons();
    });
    connect(runner, &LaneRunner::stepsAvailable, this, [this](int divergence) {
        const int steps = m_runner->model()->rowCount();
        m_status->setText(divergence < 0 ? tr("%1 steps: every lane chose the same tokens so far.").arg(steps)
                                         : tr("%1 steps: the lanes first chose differently at step %2 (highlighted).")
                                               .arg(steps)
                                               .arg(divergence));
        refreshPlot();
    });
    connect(runner, &LaneRunner::finished, this, &LanesPanel::updateButtons);
    connect(runner, &LaneRunner::failed, this, [this](const QString& message) {
        m_status->setText(message);
        updateButtons();
    });
    connect(runner->model(), &QAbstractItemModel::modelReset, this, [this] {
        refreshPlot();
        updateButtons();
    });
    connect(controller, &InferenceController::stateChanged, this, &LanesPanel::updateButtons);
    connect(controller, &InferenceController::samplingApplied, this, [this] {
        if (!m_edited)
            setDefaults(); // lane A follows the Sampling panel until the table is edited
    });
    connect(m_settings, &QTableWidget::itemChanged, this, [this] {
        if (!m_filling)
            m_edited = true;
    });
    setDefaults();
    m_count->valueChanged(m_count->value());
    m_status->setText(tr("Read the prompt (Step), set each lane's settings, then Start: the lanes share the prompt's KV "
                         "cache and the same random numbers, so they differ only by their settings."));
}

QString LanesPanel::statusText() const
{
    return m_status->text();
}

void LanesPanel::setDefaults()
{
    // A: the Sampling panel's settings; B: hotter; C: top-k 5; D: greedy.
    logitscope::SamplingParams a = m_controller->sampling();
    if (a.isGreedy()) {
        a.greedy = false;
        a.temperature = 0.7;
    }
    auto b = a, c = a, d = a;
    b.temperature = std::min(2.0, a.temperature * 2.0);
    c.topK = 5;
    d.temperature = 0;
    setLaneSettings({a, b, c, d});
}

void LanesPanel::setLaneSettings(const QList<logitscope::SamplingParams>& settings)
{
    m_filling = true;
    for (int r = 0; r < 4 && r < settings.size(); ++r) {
        const auto& p = settings[r];
        const QStringList values = {QString::number(p.isGreedy() ? 0.0 : p.temperature), QString::number(p.topK),
                                    QString::number(p.topP), QString::number(p.minP),
                                    QString::number(p.repetitionPenalty), QString::number(p.seed)};
        for (int c = 0; c < SettingColumns; ++c)
            m_settings->setItem(r, c, new QTableWidgetItem(values[c]));
    }
    m_filling = false;
}

void LanesPanel::setLaneCount(int lanes) { m_count->setValue(lanes); }

QList<logitscope::SamplingParams> LanesPanel::laneSettings() const
{
    QList<logitscope::SamplingParams> out;
    const auto base = m_controller->sampling();
    for (int r = 0; r < m_count->value(); ++r) {
        auto p = base;
        const auto value = [&](int c) { return m_settings->item(r, c) ? m_settings->item(r, c)->text().trimmed() : QString(); };
        bool ok = false;
        const double t = value(Temperature).toDouble(&ok);
        if (ok) {
            p.temperature = t;
            p.greedy = t == 0.0;
        }
        const int k = value(TopK).toInt(&ok);
        if (ok)
            p.topK = k;
        const double tp = value(TopP).toDouble(&ok);
        if (ok)
            p.topP = tp;
        const double mp = value(MinP).toDouble(&ok);
        if (ok)
            p.minP = mp;
        const double rp = value(Repetition).toDouble(&ok);
        if (ok)
            p.repetitionPenalty = rp;
        const qulonglong seed = value(Seed).toULongLong(&ok);
        if (ok)
            p.seed = seed;
        out.append(p);
    }
    return out;
}

void LanesPanel::copySettings(int from)
{
    for (int r = 0; r < 4; ++r)
        if (r != from)
            for (int c = 0; c < SettingColumns; ++c)
                m_settings->setItem(r, c, new QTableWidgetItem(m_settings->item(from, c) ? m_settings->item(from, c)->text() : QString()));
}

void LanesPanel::updateButtons()
{
    const bool busy = m_runner->isBusy();
    const bool active = m_runner->isActive();
    m_start->setEnabled(!busy && m_controller->isPrefilled() && !m_controller->isBusy());
    m_step->setEnabled(!busy && active && !m_controller->isBusy());
    m_run->setEnabled(m_step->isEnabled());
    m_stop->setEnabled(busy);
    m_close->setEnabled(!busy && active);
}

void LanesPanel::refreshPlot()
{
    auto* model = m_runner->model();
    const auto& lanes = model->lanes();
    m_klPlot->clearGraphs();
    double top = 0.1;
    for (int i = 1; i < lanes.size(); ++i) {
        auto* g = m_klPlot->addGraph();
        g->setName(tr("KL(%1 ‖ A)").arg(LaneComparisonModel::laneLetter(i)));
        g->setPen(QPen(kLaneColors[i % 4], 2));
        g->setScatterStyle(QCPScatterStyle(QCPScatterStyle::ssDisc, 5));
        QVector<double> x, y;
        for (int s = 0; s < model->rowCount(); ++s) {
            const double v = model->kl(i, s);
            if (std::isnan(v))
                continue;
            x << s;
            y << v;
            top = std::max(top, v);
        }
        g->setData(x, y, true);
    }
    const int d = model->divergenceStep();
    m_divergence->setVisible(d >= 0);
    if (d >= 0) {
        m_divergence->point1->setCoords(d, 0);
        m_divergence->point2->setCoords(d, 1);
    }
    m_klPlot->xAxis->setRange(-0.5, std::max(8, model->rowCount()) - 0.5);
    m_klPlot->yAxis->setRange(0, top * 1.15);
    m_klPlot->replot(QCustomPlot::rpQueuedReplot);
}

} // namespace logitscope::gui
