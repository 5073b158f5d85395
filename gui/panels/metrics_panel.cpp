// The serving-metrics panel.
#include "panels/metrics_panel.h"

#include "models/inference_controller.h"
#include "models/measurements.h"
#include "models/serving_metrics.h"
#include "panels/plot_export.h"
#include "panels/plot_legend.h"

#include <QHBoxLayout>
#include <QLabel>
#include <QPushButton>
#include <QSpinBox>
#include <QTabWidget>
#include <QVBoxLayout>

#include <qcustomplot.h>

namespace logitscope::gui {

namespace {

const QColor kPrefillColor(245, 160, 20);
const QColor kDecodeColor(50, 110, 200);

QCPBars* makeBars(QCustomPlot* plot, const QString& name, const QColor& color)
{
    auto* b = new QCPBars(plot->xAxis, plot->yAxis);
    b->setName(name);
    b->setWidth(0.8);
    b->setPen(QPen(color.darker(130)));
    b->setBrush(color);
    return b;
}

} // namespace

MetricsPanel::MetricsPanel(InferenceController* controller, Measurements* measurements, QWidget* parent)
    : QWidget(parent), m_controller(controller), m_measurements(measurements), m_timings(new StepTimingModel(this))
{
    auto* layout = new QVBoxLayout(this);
    layout->setContentsMargins(4, 4, 4, 4);
    m_tabs = new QTabWidget(this);
    layout->addWidget(m_tabs);

    auto* live = new QWidget(m_tabs);
    auto* ll = new QVBoxLayout(live);
    m_numbers = new QLabel(live);
    m_numbers->setTextFormat(Qt::RichText);
    m_numbers->setWordWrap(true);
    m_numbers->setTextInteractionFlags(Qt::TextSelectableByMouse);
    m_numbers->setToolTip(tr("TTFT = time to first token (the prompt's forward pass); TPOT = time per output token "
                             "(mean decode forward pass). Same definitions as `logitscope-cli bench`; the engine's "
                             "lane metrics add the sampling time."));
    ll->addWidget(m_numbers);
    m_stepPlot = new QCustomPlot(live);
    m_stepPlot->setMinimumSize(260, 160);
    makeBars(m_stepPlot, tr("prefill (whole prompt)"), kPrefillColor);
    makeBars(m_stepPlot, tr("decode (one token)"), kDecodeColor);
    m_stepPlot->xAxis->setLabel(tr("forward pass (0 = prefill)"));
    m_stepPlot->yAxis->setLabel(tr("ms"));
    m_stepPlot->yAxis->setScaleType(QCPAxis::stLogarithmic);
    m_stepPlot->yAxis->setTicker(QSharedPointer<QCPAxisTickerLog>(new QCPAxisTickerLog));
    placeLegendAbove(m_stepPlot, 3);
    enablePlotExport(m_stepPlot, QStringLiteral("step-times"));
    ll->addWidget(m_stepPlot, 1);
    m_tabs->addTab(live, tr("Per step"));

    auto* sweep = new QWidget(m_tabs);
    auto* sl = new QVBoxLayout(sweep);
    auto* note = new QLabel(tr("How many requests can this machine serve at once? Decode 1, 2, 4 … sequences together "
                               "(one batched forward pass per step, sharing one prompt's KV blocks): the total tokens/s "
                               "rises while each sequence's time per token grows only a little — until the hardware "
                               "is busy."),
                            sweep);
    note->setWordWrap(true);
    sl->addWidget(note);
    auto* row = new QHBoxLayout;
    row->addWidget(new QLabel(tr("Up to"), sweep));
    m_maxSequences = new QSpinBox(sweep);
    m_maxSequences->setRange(1, 256);
    m_maxSequences->setValue(32);
    m_maxSequences->setSuffix(tr(" sequences"));
    row->addWidget(m_maxSequences);
    m_runSweep = new QPushButton(tr("Run sweep"), sweep);
    m_cancelSweep = new QPushButton(tr("Cancel"), sweep);
    row->addWidget(m_runSweep);
    row->addWidget(m_cancelSweep);
    m_sweepStatus = new QLabel(sweep);
    row->addWidget(m_sweepStatus, 1);
    sl->addLayout(row);
    m_throughputPlot = new QCustomPlot(sweep);
    m_throughputPlot->setMinimumSize(260, 160);
    // A curve, not a graph: points stay in batch-size order (1, 2, 4 …) even where time per token falls.
    m_throughputCurve = new QCPCurve(m_throughputPlot->xAxis, m_throughputPlot->yAxis);
    m_throughputCurve->setName(tr("aggregate tokens/s"));
    m_throughputCurve->setPen(QPen(kDecodeColor, 2));
    m_throughputCurve->setScatterStyle(QCPScatterStyle(QCPScatterStyle::ssDisc, 7));
    m_throughputPlot->xAxis->setLabel(tr("time per token for each sequence (ms)"));
    m_throughputPlot->yAxis->setLabel(tr("tokens/s, all sequences"));
    enablePlotExport(m_throughputPlot, QStringLiteral("throughput"));
    sl->addWidget(m_throughputPlot, 1);
    m_tabs->addTab(sweep, tr("Throughput sweep"));

    connect(controller, &InferenceController::prefillFinished, this, [this](const logitscope::PrefillRecord& r) {
        m_timings->addPrefill(r);
        refresh();
    });
    connect(controller, &InferenceController::stepAvailable, this, [this](const logitscope::StepRecord& r) {
        m_timings->addStep(r);
        refresh();
    });
    connect(controller, &InferenceController::metricsAvailable, this, &MetricsPanel::refresh);
    connect(controller, &InferenceController::resetFinished, this, [this] {
        m_timings->clear();
        refresh();
    });
    connect(controller, &InferenceController::modelLoadFinished, this, [this] {
        m_timings->clear();
        refresh();
        showThroughput();
        updateSweepButtons();
    });
    connect(m_runSweep, &QPushButton::clicked, this, [this] { m_measurements->runThroughputSweep(m_maxSequences->value()); });
    connect(m_cancelSweep, &QPushButton::clicked, m_measurements, &Measurements::cancelSweep);
    connect(measurements, &Measurements::throughputPointAvailable, this, &MetricsPanel::showThroughput);
    connect(measurements, &Measurements::sweepStarted, this, [this](Measurements::Sweep s) {
        if (s == Measurements::Sweep::Throughput) {
            m_sweepStatus->setText(tr("Measuring…"));
            showThroughput();
        }
        updateSweepButtons();
    });
    connect(measurements, &Measurements::sweepFinished, this, [this](Measurements::Sweep s, bool cancelled) {
        if (s == Measurements::Sweep::Throughput)
            m_sweepStatus->setText(cancelled ? tr("Cancelled.") : tr("Done."));
        updateSweepButtons();
    });
    connect(measurements, &Measurements::sweepFailed, this, [this](Measurements::Sweep s, const QString& message) {
        if (s == Measurements::Sweep::Throughput)
            m_sweepStatus->setText(message);
        updateSweepButtons();
    });
    refresh();
    updateSweepButtons();
}

QString MetricsPanel::numbersText() const
{
    return m_numbers->text();
}

void MetricsPanel::updateSweepButtons()
{
    const bool running = m_measurements->runningSweep() != Measurements::Sweep::None;
    m_runSweep->setEnabled(m_controller->hasModel() && !running);
    m_cancelSweep->setEnabled(m_measurements->runningSweep() == Measurements::Sweep::Throughput);
}

void MetricsPanel::refresh()
{
    const ServingNumbers n = m_timings->numbers();
    const auto& m = m_controller->metrics();
    if (n.promptTokens == 0) {
        m_numbers->setText(tr("Read a prompt and generate a few tokens to see TTFT and TPOT."));
    } else {
        m_numbers->setText(
            tr("<b>TTFT</b> %1 ms · <b>TPOT</b> %2 ms · <b>prefill</b> %3 tok/s (%4 tokens) · <b>decode</b> %5 tok/s "
               "(%6 steps)<br><span style='color:gray'>engine lane metrics (sampling included): TTFT %7 ms · TPOT %8 ms "
               "· decode %9 tok/s</span>")
                .arg(n.ttftMs, 0, 'f', 1)
                .arg(n.tpotMs, 0, 'f', 2)
                .arg(n.prefillTokensPerSecond, 0, 'f', 0)
                .arg(n.promptTokens)
                .arg(n.decodeTokensPerSecond, 0, 'f', 1)
                .arg(n.decodeSteps)
                .arg(m.ttftMs, 0, 'f', 1)
                .arg(m.tpotMs, 0, 'f', 2)
                .arg(m.decodeTokensPerSecond, 0, 'f', 1));
    }
    QVector<double> px, py, dx, dy;
    double top = 1;
    for (int i = 0; i < m_timings->passes().size(); ++i) {
        const auto& p = m_timings->passes()[i];
        (p.prefill ? px : dx) << i;
        (p.prefill ? py : dy) << std::max(p.ms, 1e-3);
        top = std::max(top, p.ms);
    }
    static_cast<QCPBars*>(m_stepPlot->plottable(0))->setData(px, py);
    static_cast<QCPBars*>(m_stepPlot->plottable(1))->setData(dx, dy);
    m_stepPlot->xAxis->setRange(-1, std::max(8, int(m_timings->passes().size())));
    m_stepPlot->yAxis->setRange(0.01, top * 2);
    m_stepPlot->replot(m_controller->isRunning() ? QCustomPlot::rpQueuedReplot : QCustomPlot::rpQueuedRefresh);
}

void MetricsPanel::showThroughput()
{
    QVector<double> x, y;
    for (auto* item : m_throughputLabels)
        m_throughputPlot->removeItem(item);
    m_throughputLabels.clear();
    for (const auto& p : m_measurements->throughputPoints()) {
        x << p.msPerStep;
        y << p.tokensPerSecond;
        auto* label = new QCPItemText(m_throughputPlot);
        label->position->setCoords(p.msPerStep, p.tokensPerSecond);
        label->setPositionAlignment(Qt::AlignBottom | Qt::AlignHCenter);
        label->setText(QString::number(p.sequences));
        m_throughputLabels.append(label);
    }
    m_throughputCurve->setData(x, y);
    m_throughputPlot->rescaleAxes();
    m_throughputPlot->xAxis->setRangeLower(0);
    m_throughputPlot->yAxis->setRangeLower(0);
    m_throughputPlot->yAxis->setRangeUpper(m_throughputPlot->yAxis->range().upper * 1.15);
    m_throughputPlot->xAxis->setRangeUpper(m_throughputPlot->xAxis->range().upper * 1.1);
    m_throughputPlot->replot(QCustomPlot::rpQueuedReplot);
    if (!m_measurements->throughputPoints().isEmpty()) {
        const auto& p = m_measurements->throughputPoints().back();
        m_sweepStatus->setText(tr("%1 sequences: %2 tok/s in total, %3 ms per token each")
                                   .arg(p.sequences)
                                   .arg(p.tokensPerSecond, 0, 'f', 0)
                                   .arg(p.msPerStep, 0, 'f', 2));
    }
}

} // namespace logitscope::gui
