// The logit lens view.
#include "panels/logit_lens_panel.h"

#include "models/generated_tokens_model.h"
#include "models/inference_controller.h"
#include "models/logit_lens_model.h"
#include "panels/plot_legend.h"

#include <QHeaderView>
#include <QLabel>
#include <QSplitter>
#include <QTableView>
#include <QVBoxLayout>
#include <qcustomplot.h>

#include <cmath>

namespace logitscope::gui {

LogitLensPanel::LogitLensPanel(InferenceController* controller, QWidget* parent)
    : QWidget(parent), m_controller(controller), m_model(new LogitLensModel(this))
{
    auto* layout = new QVBoxLayout(this);
    m_title = new QLabel(this);
    m_title->setWordWrap(true);
    m_title->setTextFormat(Qt::RichText);
    layout->addWidget(m_title);

    auto* split = new QSplitter(Qt::Horizontal, this);
    m_table = new QTableView(split);
    m_table->setModel(m_model);
    m_table->setSelectionMode(QAbstractItemView::NoSelection);
    m_table->setEditTriggers(QAbstractItemView::NoEditTriggers);
    m_table->horizontalHeader()->setSectionResizeMode(QHeaderView::Stretch);
    m_table->verticalHeader()->setSectionResizeMode(QHeaderView::ResizeToContents);
    m_table->setToolTip(tr("Each row: the logit lens at that layer — the residual stream after the layer put through "
                           "the model's final norm and output head. Cells: that layer's five most likely next "
                           "tokens, shaded by probability; the chosen token is underlined."));
    split->addWidget(m_table);

    m_plot = new QCustomPlot(split);
    m_plot->setMinimumSize(220, 180);
    m_prob = m_plot->addGraph(m_plot->yAxis, m_plot->xAxis); // layers on the vertical axis, like the table
    m_prob->setName(tr("probability of the chosen token"));
    m_prob->setPen(QPen(QColor(50, 110, 200), 2));
    m_prob->setScatterStyle(QCPScatterStyle(QCPScatterStyle::ssCircle, 5));
    m_rank = m_plot->addGraph(m_plot->yAxis, m_plot->xAxis2);
    m_rank->setName(tr("its rank (1 = top)"));
    m_rank->setPen(QPen(QColor(230, 120, 20), 2, Qt::DashLine));
    m_rank->setScatterStyle(QCPScatterStyle(QCPScatterStyle::ssDiamond, 5));
    m_plot->xAxis->setLabel(tr("probability"));
    m_plot->xAxis->setRange(0, 1);
    m_plot->xAxis2->setVisible(true);
    m_plot->xAxis2->setLabel(tr("rank (log scale)"));
    m_plot->xAxis2->setScaleType(QCPAxis::stLogarithmic);
    m_plot->xAxis2->setTicker(QSharedPointer<QCPAxisTickerLog>(new QCPAxisTickerLog));
    m_plot->yAxis->setLabel(tr("layer"));
    m_plot->yAxis->setRangeReversed(true);
    m_plot->legend->setFont(font());
    placeLegendAbove(m_plot, 3);
    split->addWidget(m_plot);
    split->setStretchFactor(0, 3);
    split->setStretchFactor(1, 2);
    layout->addWidget(split, 1);

    auto* generated = controller->generatedTokens();
    for (auto signal : {&QAbstractItemModel::rowsInserted, &QAbstractItemModel::rowsRemoved})
        connect(generated, signal, this, &LogitLensPanel::refresh);
    connect(generated, &QAbstractItemModel::modelReset, this, &LogitLensPanel::refresh);
    connect(controller, &InferenceController::stateChanged, this, &LogitLensPanel::refresh);
    connect(controller, &InferenceController::modelLoadFinished, this, [this] {
        m_model->setVocabulary(m_controller->vocabulary());
        refresh();
    });
    m_model->setVocabulary(controller->vocabulary());
    refresh();
}

QString LogitLensPanel::titleText() const
{
    return m_title->text();
}

void LogitLensPanel::refresh()
{
    auto* generated = m_controller->generatedTokens();
    const int n = generated->rowCount();
    int row = m_controller->selectedStep();
    if (row < 0 || row >= n)
        row = n - 1;
    if (row < 0) {
        if (m_model->step() >= 0 || m_model->hasLens())
            m_model->clear();
        m_title->setText(tr("The logit lens shows what each layer would predict if the model stopped there. "
                            "Generate a token (Step) to see it."));
    } else {
        const auto& record = generated->record(row);
        if (record.step != m_model->step() || record.chosen != m_model->chosen() || int(record.lens.size()) != m_model->layers())
            m_model->setRecord(record);
        if (!m_model->hasLens()) {
            m_title->setText(tr("Step %1: no lens recorded — it is computed only while this view is on screen "
                                "(from the next forward pass on).").arg(record.step + 1));
        } else {
            const int settles = m_model->settlesAt();
            m_title->setText(tr("Step %1, chosen <b>%2</b>: %3")
                                 .arg(record.step + 1)
                                 .arg(m_model->chosenLabel().toHtmlEscaped())
                                 .arg(settles >= 0 ? tr("the top prediction from layer %1 on.").arg(settles)
                                                   : tr("never every layer's top prediction (sampled, or changed late).")));
        }
    }
    QVector<double> layers, probs, ranks;
    for (int l = 0; l < m_model->layers(); ++l) {
        layers << l;
        probs << (l < int(m_model->chosenProbabilities().size()) ? m_model->chosenProbabilities()[size_t(l)] : 0.0);
        ranks << (l < int(m_model->chosenRanks().size()) ? m_model->chosenRanks()[size_t(l)] + 1.0 : 1.0);
    }
    m_prob->setData(layers, probs, true);
    m_rank->setData(layers, ranks, true);
    m_plot->yAxis->setRange(-0.5, std::max(0.5, m_model->layers() - 0.5));
    double maxRank = 10;
    for (double r : ranks)
        maxRank = std::max(maxRank, r * 1.5);
    m_plot->xAxis2->setRange(0.8, maxRank);
    double maxProb = 0.05;
    for (double p : probs)
        maxProb = std::max(maxProb, p * 1.15);
    m_plot->xAxis->setRange(0, std::min(1.0, maxProb));
    m_plot->replot(QCustomPlot::rpQueuedRefresh);
}

} // namespace logitscope::gui
