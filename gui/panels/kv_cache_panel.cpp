// The KV cache and memory panel.
#include "panels/kv_cache_panel.h"

#include "models/inference_controller.h"
#include "models/kv_snapshot.h"
#include "models/measurements.h"
#include "panels/plot_export.h"
#include "panels/plot_legend.h"

#include <QHBoxLayout>
#include <QHeaderView>
#include <QLabel>
#include <QPushButton>
#include <QSpinBox>
#include <QSplitter>
#include <QTabWidget>
#include <QTableView>
#include <QVBoxLayout>

#include <qcustomplot.h>

namespace logitscope::gui {

namespace {

const QColor kUsedColor(50, 110, 200);
const QColor kUnsharedColor(235, 130, 120);
const QColor kFormulaColor(150, 150, 150);
constexpr double kMiB = 1024.0 * 1024.0;

QCPGraph* addGraph(QCustomPlot* plot, const QString& name, const QColor& color, Qt::PenStyle style = Qt::SolidLine,
                   QCPAxis* y = nullptr)
{
    auto* g = plot->addGraph(plot->xAxis, y ? y : plot->yAxis);
    g->setName(name);
    g->setPen(QPen(color, 2, style));
    return g;
}

} // namespace

KvCachePanel::KvCachePanel(InferenceController* controller, Measurements* measurements, QWidget* parent)
    : QWidget(parent), m_controller(controller), m_measurements(measurements)
{
    auto* layout = new QVBoxLayout(this);
    layout->setContentsMargins(4, 4, 4, 4);
    m_tabs = new QTabWidget(this);
    layout->addWidget(m_tabs);

    // ---- Cache -----------------------------------------------------------------------------------
    auto* cache = new QWidget(m_tabs);
    auto* cl = new QVBoxLayout(cache);
    m_formula = new QLabel(cache);
    m_formula->setTextFormat(Qt::RichText);
    m_formula->setWordWrap(true);
    m_formula->setTextInteractionFlags(Qt::TextSelectableByMouse);
    m_summary = new QLabel(cache);
    m_summary->setWordWrap(true);
    m_summary->setTextInteractionFlags(Qt::TextSelectableByMouse);
    cl->addWidget(m_formula);
    cl->addWidget(m_summary);
    auto* split = new QSplitter(Qt::Horizontal, cache);
    m_bytesPlot = new QCustomPlot(split);
    m_bytesPlot->setMinimumSize(260, 160);
    m_bytesPlot->xAxis->setLabel(tr("tokens in the sequences"));
    m_bytesPlot->yAxis->setLabel(tr("KV cache (KiB)"));
    addGraph(m_bytesPlot, tr("stored (shared blocks once)"), kUsedColor);
    addGraph(m_bytesPlot, tr("without sharing"), kUnsharedColor, Qt::DashLine);
    addGraph(m_bytesPlot, tr("bytes/token × tokens"), kFormulaColor, Qt::DotLine);
    m_bytesPlot->graph(0)->setLineStyle(QCPGraph::lsStepLeft);
    m_bytesPlot->graph(1)->setLineStyle(QCPGraph::lsStepLeft);
    placeLegendAbove(m_bytesPlot, 3);
    enablePlotExport(m_bytesPlot, QStringLiteral("kv-bytes"));
    m_blockView = new QTableView(split);
    m_blockMap = new KvBlockMapModel(this);
    m_blockView->setModel(m_blockMap);
    m_blockView->horizontalHeader()->setDefaultSectionSize(34);
    m_blockView->horizontalHeader()->setMinimumSectionSize(20);
    m_blockView->verticalHeader()->setDefaultSectionSize(20);
    m_blockView->setToolTip(tr("The paged cache: each row is a sequence (the frozen prompt, then every lane and "
                               "branch), each cell one 16-token block, the number its physical block. Green "
                               "blocks are shared — stored once however many rows use them."));
    split->addWidget(m_bytesPlot);
    split->addWidget(m_blockView);
    split->setStretchFactor(0, 3);
    split->setStretchFactor(1, 2);
    QFont small = m_bytesPlot->font();
    small.setPointSizeF(small.pointSizeF() * 0.85);
    m_bytesPlot->legend->setFont(small);
    cl->addWidget(split, 1);
    m_tabs->addTab(cache, tr("Cache"));

    // ---- Memory ----------------------------------------------------------------------------------
    auto* memory = new QWidget(m_tabs);
    auto* ml = new QVBoxLayout(memory);
    m_memoryText = new QLabel(memory);
    m_memoryText->setWordWrap(true);
    ml->addWidget(m_memoryText);
    m_memoryPlot = new QCustomPlot(memory);
    m_memoryPlot->setMinimumSize(260, 140);
    auto* bars = new QCPBars(m_memoryPlot->yAxis, m_memoryPlot->xAxis);
    bars->setName(tr("MiB"));
    bars->setBrush(QColor(50, 110, 200, 180));
    bars->setPen(QPen(QColor(50, 110, 200).darker(130)));
    QSharedPointer<QCPAxisTickerText> ticker(new QCPAxisTickerText);
    ticker->addTick(1, tr("weights"));
    ticker->addTick(2, tr("KV cache"));
    ticker->addTick(3, tr("activations"));
    ticker->addTick(4, tr("free"));
    m_memoryPlot->yAxis->setTicker(ticker);
    m_memoryPlot->yAxis->setRange(0.4, 4.6);
    m_memoryPlot->yAxis->setRangeReversed(true);
    m_memoryPlot->xAxis->setLabel(tr("MiB"));
    enablePlotExport(m_memoryPlot, QStringLiteral("memory"));
    ml->addWidget(m_memoryPlot, 1);
    m_tabs->addTab(memory, tr("Memory"));

    // ---- Context length --------------------------------------------------------------------------
    auto* context = new QWidget(m_tabs);
    auto* xl = new QVBoxLayout(context);
    auto* note = new QLabel(tr("Attention compares every position with every other: its score matrix takes L² × heads "
                               "× 4 bytes per layer (if materialised), while one more token costs time roughly "
                               "proportional to L (it reads L cached keys and values). Run the sweep to measure it on "
                               "this machine: prefill L tokens, then time the decode step at L (median of 5)."),
                            context);
    note->setWordWrap(true);
    xl->addWidget(note);
    auto* row = new QHBoxLayout;
    row->addWidget(new QLabel(tr("Up to"), context));
    m_maxLength = new QSpinBox(context);
    m_maxLength->setRange(64, 1 << 20);
    m_maxLength->setSuffix(tr(" tokens"));
    m_maxLength->setToolTip(tr("The longest prompt of the sweep (64, 128, 256 … up to this, at most the context length)."));
    row->addWidget(m_maxLength);
    m_runSweep = new QPushButton(tr("Run sweep"), context);
    m_cancelSweep = new QPushButton(tr("Cancel"), context);
    row->addWidget(m_runSweep);
    row->addWidget(m_cancelSweep);
    m_sweepStatus = new QLabel(context);
    row->addWidget(m_sweepStatus, 1);
    xl->addLayout(row);
    m_contextPlot = new QCustomPlot(context);
    m_contextPlot->setMinimumSize(260, 160);
    m_contextPlot->xAxis->setLabel(tr("context length L (tokens)"));
    m_contextPlot->yAxis->setLabel(tr("attention scores per layer (MiB)"));
    m_contextPlot->yAxis2->setVisible(true);
    m_contextPlot->yAxis2->setLabel(tr("one decode step (ms)"));
    auto* scores = addGraph(m_contextPlot, tr("scores: L² × heads × 4 B"), QColor(150, 90, 200));
    auto* time = addGraph(m_contextPlot, tr("decode step time"), QColor(245, 160, 20), Qt::SolidLine, m_contextPlot->yAxis2);
    scores->setScatterStyle(QCPScatterStyle(QCPScatterStyle::ssCircle, 6));
    time->setScatterStyle(QCPScatterStyle(QCPScatterStyle::ssDisc, 6));
    placeLegendAbove(m_contextPlot, 3);
    enablePlotExport(m_contextPlot, QStringLiteral("context-length"));
    xl->addWidget(m_contextPlot, 1);
    m_tabs->addTab(context, tr("Context length"));

    connect(m_runSweep, &QPushButton::clicked, this, [this] { m_measurements->runContextSweep(m_maxLength->value()); });
    connect(m_cancelSweep, &QPushButton::clicked, m_measurements, &Measurements::cancelSweep);
    connect(measurements, &Measurements::kvAvailable, this, &KvCachePanel::showSnapshot);
    connect(measurements, &Measurements::contextPointAvailable, this, &KvCachePanel::showContextPoints);
    connect(measurements, &Measurements::sweepStarted, this, [this](Measurements::Sweep s) {
        if (s == Measurements::Sweep::ContextLength) {
            m_sweepStatus->setText(tr("Measuring…"));
            showContextPoints();
        }
        updateSweepButtons();
    });
    connect(measurements, &Measurements::sweepFinished, this, [this](Measurements::Sweep s, bool cancelled) {
        if (s == Measurements::Sweep::ContextLength)
        {
            const QString noise = contextSweepNoise(m_measurements->contextPoints());
            m_sweepStatus->setText(cancelled ? tr("Cancelled.")
                                   : noise.isEmpty()
                                       ? tr("Done: %1 lengths (each decode time the median of at least 15 steps).")
                                             .arg(m_measurements->contextPoints().size())
                                       : noise);
        }
        updateSweepButtons();
    });
    connect(measurements, &Measurements::sweepFailed, this, [this](Measurements::Sweep s, const QString& message) {
        if (s == Measurements::Sweep::ContextLength)
            m_sweepStatus->setText(message);
        updateSweepButtons();
    });
    connect(controller, &InferenceController::modelLoadFinished, this, [this](const ModelInfo& info) {
        m_maxLength->setMaximum(std::max(64, info.contextLength));
        m_maxLength->setValue(std::min(info.contextLength, 2048));
        showContextPoints();
        updateSweepButtons();
    });
    m_formula->setText(tr("Load a model to see how many bytes each token leaves in the KV cache."));
    updateSweepButtons();
}

QString KvCachePanel::formulaText() const
{
    return m_formula->text();
}

QString KvCachePanel::sweepStatusText() const
{
    return m_sweepStatus->text();
}

QString KvCachePanel::summaryText() const
{
    return m_summary->text();
}

void KvCachePanel::updateSweepButtons()
{
    const bool running = m_measurements->runningSweep() != Measurements::Sweep::None;
    m_runSweep->setEnabled(m_controller->hasModel() && !running);
    m_cancelSweep->setEnabled(m_measurements->runningSweep() == Measurements::Sweep::ContextLength);
}

void KvCachePanel::showSnapshot(const KvSnapshot& s)
{
    if (!s.valid)
        return;
    const auto& st = s.stats;
    m_formula->setText(tr("<b>KV bytes per token</b> = %1 <span style='color:gray'>(%2 on %3)</span>")
                           .arg(kvFormulaText(s.layers, s.kvHeads, s.headDim, s.elementBytes).toHtmlEscaped(),
                                s.elementBytes == 4 ? tr("fp32") : tr("fp16"), s.backend));
    QString summary = tr("Now: %1 tokens in %2 sequences → %3 stored in %4 blocks (%5 shared, %6 free); "
                         "without sharing: %7.")
                          .arg(st.tokensLogical)
                          .arg(st.sequences)
                          .arg(formatBytes(double(st.bytesUsed)))
                          .arg(st.blocksUsed)
                          .arg(st.blocksShared)
                          .arg(st.blocksFree)
                          .arg(formatBytes(double(st.bytesWithoutSharing)));
    if (st.bytesWithoutSharing > st.bytesUsed)
        summary += tr(" Sharing saves %1.").arg(formatBytes(double(st.bytesWithoutSharing - st.bytesUsed)));
    if (s.beamStats.blocksUsed > 0)
        summary += tr(" Last beam search: %1 used, %2 without sharing.")
                       .arg(formatBytes(double(s.beamStats.bytesUsed)), formatBytes(double(s.beamStats.bytesWithoutSharing)));
    m_summary->setText(summary);
    m_blockMap->setSnapshot(s);

    QVector<double> x, used, unshared, formula;
    for (const auto& p : m_measurements->kvHistory()) {
        x << double(p.tokensLogical);
        used << p.bytesUsed / 1024.0;
        unshared << p.bytesWithoutSharing / 1024.0;
        formula << p.tokensLogical * double(st.bytesPerToken) / 1024.0;
    }
    m_bytesPlot->graph(0)->setData(x, used);
    m_bytesPlot->graph(1)->setData(x, unshared);
    m_bytesPlot->graph(2)->setData(x, formula);
    m_bytesPlot->rescaleAxes();
    m_bytesPlot->yAxis->setRangeLower(0);
    m_bytesPlot->xAxis->setRangeLower(0);
    m_bytesPlot->replot(QCustomPlot::rpQueuedReplot);

    const auto& m = s.memory;
    const double free = double(m.deviceFree);
    auto* bars = static_cast<QCPBars*>(m_memoryPlot->plottable(0));
    bars->setData(QVector<double>{1, 2, 3, 4}, QVector<double>{m.weights / kMiB, m.kvCache / kMiB,
                                                                (m.activations + m.workspace) / kMiB, free / kMiB});
    m_memoryPlot->xAxis->setScaleType(QCPAxis::stLogarithmic);
    m_memoryPlot->xAxis->setTicker(QSharedPointer<QCPAxisTickerLog>(new QCPAxisTickerLog));
    m_memoryPlot->xAxis->setRange(0.01, std::max(1.0, std::max(free, double(m.weights)) / kMiB * 2));
    m_memoryPlot->replot(QCustomPlot::rpQueuedReplot);
    m_memoryText->setText(tr("%1 (%2): weights %3 · KV cache storage %4 · activations + workspace %5 · free %6 of %7. "
                             "Log scale.")
                              .arg(s.backend == QLatin1String("cuda") ? tr("GPU memory") : tr("RAM"), s.backend)
                              .arg(formatBytes(double(m.weights)), formatBytes(double(m.kvCache)),
                                   formatBytes(double(m.activations + m.workspace)), formatBytes(free),
                                   formatBytes(double(m.deviceTotal))));
}

void KvCachePanel::showContextPoints()
{
    QVector<double> x, scores, time;
    for (const auto& p : m_measurements->contextPoints()) {
        x << p.length;
        scores << p.attentionScoreBytes / kMiB;
        time << p.decodeMs;
    }
    m_contextPlot->graph(0)->setData(x, scores);
    m_contextPlot->graph(1)->setData(x, time);
    m_contextPlot->rescaleAxes();
    m_contextPlot->yAxis->setRangeLower(0);
    m_contextPlot->yAxis2->setRangeLower(0);
    m_contextPlot->replot(QCustomPlot::rpQueuedReplot);
    if (!m_measurements->contextPoints().isEmpty()) {
        const auto& p = m_measurements->contextPoints().back();
        m_sweepStatus->setText(tr("L = %1: scores %2 per layer, decode step %3 ms, KV %4")
                                   .arg(p.length)
                                   .arg(formatBytes(double(p.attentionScoreBytes)))
                                   .arg(p.decodeMs, 0, 'f', 2)
                                   .arg(formatBytes(double(p.kvBytes))));
    }
}

} // namespace logitscope::gui
