// The next-token probability bars.
#include "panels/probability_panel.h"

#include "models/inference_controller.h"
#include "panels/plot_legend.h"
#include "panels/stage_strip.h"

#include "decoding/sampling_params.h"

#include <QHBoxLayout>
#include <QLabel>
#include <QSpinBox>
#include <QVBoxLayout>

#include <cmath>

namespace logitscope::gui {

namespace {

constexpr double kBarWidth = 0.38;
constexpr double kOffset = 0.2;

const QColor kRawColor(185, 185, 185);
const QColor kCutColor(235, 130, 120);
const QColor kBannedColor(150, 90, 200);
const QColor kForbiddenColor(70, 80, 90);
const QColor kFinalColor(50, 110, 200);
const QColor kChosenColor(245, 160, 20);

QCPBars* makeBars(QCustomPlot* plot, const QString& name, const QColor& color, Qt::BrushStyle style = Qt::SolidPattern)
{
    auto* b = new QCPBars(plot->xAxis, plot->yAxis);
    b->setName(name);
    b->setWidth(kBarWidth);
    b->setPen(QPen(color.darker(130), 1));
    b->setBrush(QBrush(color, style));
    b->setAntialiased(false);
    return b;
}

QString orderPresetName(logitscope::SamplerOrder order)
{
    switch (order) {
    case logitscope::SamplerOrder::HuggingFace:
        return QObject::tr("Hugging Face");
    case logitscope::SamplerOrder::Vllm:
        return QObject::tr("vLLM");
    case logitscope::SamplerOrder::LlamaCpp:
        return QObject::tr("llama.cpp");
    }
    return {};
}

} // namespace

void ProbabilityPlot::paintEvent(QPaintEvent* event)
{
    QCustomPlot::paintEvent(event);
    emit painted();
}

ProbabilityPanel::ProbabilityPanel(InferenceController* controller, QWidget* parent)
    : QWidget(parent), m_controller(controller)
{
    auto* layout = new QVBoxLayout(this);

    auto* top = new QHBoxLayout;
    m_title = new QLabel(this);
    m_title->setTextFormat(Qt::RichText);
    QFont tf = m_title->font();
    tf.setPointSizeF(tf.pointSizeF() * 1.1);
    m_title->setFont(tf);
    top->addWidget(m_title, 1);
    top->addWidget(new QLabel(tr("Show top"), this));
    m_k = new QSpinBox(this);
    m_k->setRange(5, 100);
    m_k->setValue(controller->topK());
    m_k->setToolTip(tr("How many of the most likely candidates (by raw probability) to draw."));
    top->addWidget(m_k);
    layout->addLayout(top);
    m_grammarLine = new QLabel(this);
    m_grammarLine->setTextFormat(Qt::RichText);
    m_grammarLine->setWordWrap(true);
    m_grammarLine->setObjectName(QStringLiteral("grammarLine"));
    m_grammarLine->setToolTip(tr("Constrained decoding: the grammar stage runs first and masks every candidate "
                                 "whose text the grammar does not allow at this point of the output. The mass it "
                                 "removed is the share of the model's probability that pointed elsewhere."));
    m_grammarLine->hide();
    layout->addWidget(m_grammarLine);

    m_plot = new ProbabilityPlot(this);
    m_plot->setMinimumHeight(220);
    m_plot->setNoAntialiasingOnDrag(true);
    m_plot->setToolTip(tr("Grey: the model's raw probability for each candidate. Blue: the probability after "
                          "the sampling chain (penalties, temperature, truncation) — what the sampler actually "
                          "draws from. Red hatched: removed by a cut-off (dashed lines mark where top-k / top-p "
                          "/ min-p cut). Purple: removed by a penalty; ▼ a penalty lowered it. Dark cross-hatched: "
                          "forbidden by the grammar (constrained decoding). Orange: the chosen token."));
    m_rawKept = makeBars(m_plot, tr("raw probability"), kRawColor);
    m_rawCut = makeBars(m_plot, tr("raw, cut off"), kCutColor, Qt::BDiagPattern);
    m_rawBanned = makeBars(m_plot, tr("raw, removed by a penalty"), kBannedColor, Qt::FDiagPattern);
    m_rawForbidden = makeBars(m_plot, tr("raw, forbidden by the grammar"), kForbiddenColor, Qt::DiagCrossPattern);
    m_final = makeBars(m_plot, tr("after the sampling chain"), kFinalColor);
    m_finalChosen = makeBars(m_plot, tr("chosen"), kChosenColor);
    m_penalised = m_plot->addGraph();
    m_penalised->setName(tr("lowered by a penalty"));
    m_penalised->setLineStyle(QCPGraph::lsNone);
    m_penalised->setScatterStyle(QCPScatterStyle(QCPScatterStyle::ssTriangleInverted, kBannedColor, kBannedColor, 8));
    m_chosenMark = new QCPItemText(m_plot);
    m_chosenMark->setPositionAlignment(Qt::AlignLeft | Qt::AlignBottom);
    m_chosenMark->setClipToAxisRect(false);
    m_chosenMark->setColor(kChosenColor.darker(140));
    m_chosenMark->setBrush(QColor(255, 255, 255, 200));
    m_chosenMark->setObjectName(QStringLiteral("chosenMark"));
    m_chosenMark->setVisible(false);

    m_ticker.reset(new QCPAxisTickerText);
    m_plot->xAxis->setTicker(m_ticker);
    m_plot->xAxis->setTickLabelRotation(55);
    m_plot->xAxis->setSubTicks(false);
    m_plot->xAxis->grid()->setVisible(false);
    m_plot->yAxis->setLabel(tr("probability"));
    m_plot->yAxis->setRange(0, 1);
    m_plot->yAxis->grid()->setSubGridVisible(false);
    m_plot->legend->setFont(font());
    placeLegendAbove(m_plot, 4);
    layout->addWidget(m_plot, 1);

    m_strip = new StageStrip(this);
    layout->addWidget(m_strip);

    connect(m_k, &QSpinBox::valueChanged, controller, &InferenceController::setTopK);
    connect(controller, &InferenceController::distributionAvailable, this, &ProbabilityPanel::showDistribution);
    connect(controller, &InferenceController::samplingApplied, this, [this] { setOrderName(); });
    setOrderName();
    showDistribution(controller->distribution());
}

void ProbabilityPanel::setOrderName()
{
    m_orderName = orderPresetName(m_controller->sampling().order);
    m_strip->setStages(m_shown.stages, m_orderName);
}

QCPItemStraightLine* ProbabilityPanel::cutLine(int i)
{
    while (m_cutLines.size() <= i) {
        auto* line = new QCPItemStraightLine(m_plot);
        line->setPen(QPen(QColor(200, 60, 50), 1.2, Qt::DashLine));
        m_cutLines.append(line);
    }
    return m_cutLines[i];
}

QCPItemText* ProbabilityPanel::cutLabel(int i)
{
    while (m_cutLabels.size() <= i) {
        auto* label = new QCPItemText(m_plot);
        label->setColor(QColor(170, 50, 40));
        label->setPositionAlignment(Qt::AlignLeft | Qt::AlignTop);
        label->setPadding(QMargins(3, 1, 3, 1));
        label->position->setTypeY(QCPItemPosition::ptAxisRectRatio);
        m_cutLabels.append(label);
    }
    return m_cutLabels[i];
}

void ProbabilityPanel::showDistribution(const Distribution& d)
{
    m_shown = d;
    const int n = int(d.bars.size());
    QVector<double> x(n), xr(n), xf(n), rawKept(n), rawCut(n), rawBanned(n), rawForbidden(n), fin(n), finChosen(n);
    QVector<double> penX, penY;
    double maxY = 0;
    m_ticker->clear();
    for (int i = 0; i < n; ++i) {
        const BarCandidate& c = d.bars[i];
        xr[i] = i - kOffset;
        xf[i] = i + kOffset;
        const bool banned = !c.removedBy.isEmpty() && isPenaltyStage(c.removedBy) && !c.forbidden;
        const bool cut = !c.removedBy.isEmpty() && !banned && !c.forbidden;
        rawKept[i] = c.removedBy.isEmpty() ? c.rawProb : 0;
        rawCut[i] = cut ? c.rawProb : 0;
        rawBanned[i] = banned ? c.rawProb : 0;
        rawForbidden[i] = c.forbidden ? c.rawProb : 0;
        fin[i] = c.chosen ? 0 : c.finalProb;
        finChosen[i] = c.chosen ? c.finalProb : 0;
        if (c.penalised && !banned) {
            penX.append(i - kOffset);
            penY.append(c.rawProb);
        }
        maxY = std::max({maxY, c.rawProb, c.finalProb});
        m_ticker->addTick(i, (i == n - 1 && i >= m_controller->topK()) ? QStringLiteral("… ") + c.label : c.label);
    }
    m_rawKept->setData(xr, rawKept, true);
    m_rawCut->setData(xr, rawCut, true);
    m_rawBanned->setData(xr, rawBanned, true);
    m_rawForbidden->setData(xr, rawForbidden, true);
    m_final->setData(xf, fin, true);
    m_finalChosen->setData(xf, finChosen, true);
    m_penalised->setData(penX, penY, true);

    // Cut-off lines.
    int used = 0;
    for (const CutOff& cut : d.cuts) {
        auto* line = cutLine(used);
        line->point1->setCoords(cut.position, 0);
        line->point2->setCoords(cut.position, 1);
        line->setVisible(true);
        auto* label = cutLabel(used);
        label->position->setTypeX(QCPItemPosition::ptPlotCoords);
        label->position->setCoords(cut.position, 0.02 + 0.07 * used);
        label->setText(tr("%1 cut").arg(cut.stage));
        label->setVisible(true);
        ++used;
    }
    for (int i = used; i < m_cutLines.size(); ++i)
        m_cutLines[i]->setVisible(false);
    for (int i = used; i < m_cutLabels.size(); ++i)
        m_cutLabels[i]->setVisible(false);

    // The chosen / would-choose mark.
    int chosenAt = -1;
    for (int i = 0; i < n; ++i)
        if (d.bars[i].chosen)
            chosenAt = i;
    const double top = maxY > 0 ? std::min(1.0, maxY * 1.18 + 0.01) : 1.0;
    if (chosenAt >= 0) {
        // Just above the taller of the pair, but never above the axes (a bar near 100 % would push it out of the
        // plot): there it sits on the bar, over a light background.
        const double above = std::max(d.bars[chosenAt].finalProb, d.bars[chosenAt].rawProb) + top * 0.01;
        // Left-aligned over the pair, or right-aligned for the right-most bars, so the text stays in the plot.
        const bool right = chosenAt >= n - 3 && n > 4;
        m_chosenMark->setPositionAlignment((right ? Qt::AlignRight : Qt::AlignLeft) | Qt::AlignBottom);
        m_chosenMark->position->setCoords(right ? chosenAt + kOffset + kBarWidth / 2 : chosenAt - kOffset - kBarWidth / 2,
                                          std::min(above, top * 0.9));
        m_chosenMark->setText(d.preview ? tr("would choose") : tr("chosen"));
        m_chosenMark->setVisible(true);
    } else {
        m_chosenMark->setVisible(false);
    }
    m_plot->xAxis->setRange(-0.7, std::max(n, 1) - 0.3);
    m_plot->yAxis->setRange(0, top);

    // Title.
    if (!d.valid) {
        m_title->setText(m_controller->hasModel() ? tr("<b>Next-token probabilities</b> — press Step to read the prompt")
                                                  : tr("<b>Next-token probabilities</b> — no model loaded"));
    } else {
        const QString who = d.preview ? tr("Would choose") : tr("Token %1: chose").arg(d.step + 1);
        m_title->setText(tr("%1 <b style='color:#b06000'>%2</b> — %3% after the chain (raw %4%)")
                             .arg(who, d.chosenLabel.toHtmlEscaped())
                             .arg(100.0 * d.chosenProb, 0, 'f', 1)
                             .arg(100.0 * d.chosenRawProb, 0, 'f', 1));
    }
    showGrammar(d.grammar);
    m_strip->setStages(d.stages, m_orderName);
    // While a run streams records, coalesce to one replot per event-loop pass; otherwise redraw now
    // and let the repaint follow in this frame.
    m_plot->replot(m_controller->isRunning() ? QCustomPlot::rpQueuedReplot : QCustomPlot::rpQueuedRefresh);
}

void ProbabilityPanel::showGrammar(const GrammarView& g)
{
    if (!g.active) {
        m_grammarLine->hide();
        m_grammarLine->clear();
        return;
    }
    QStringList most;
    for (int i = 0; i < g.forbidden.size() && i < 4; ++i)
        most << tr("%1 (%2%)").arg(g.forbidden[i].first.toHtmlEscaped()).arg(100.0 * g.forbidden[i].second, 0, 'f', 1);
    QString text = tr("<b>Grammar</b> forbade %n candidate(s), removing <b>%1%</b> of the probability", "", g.forbiddenCount)
                       .arg(100.0 * g.removedMass, 0, 'f', 1);
    if (!most.isEmpty())
        text += tr(" — most likely forbidden: %1").arg(most.join(QStringLiteral(", ")));
    if (!g.position.isEmpty())
        text += tr("<br>Parser at: <code>%1</code>").arg(g.position.toHtmlEscaped());
    m_grammarLine->setText(text);
    m_grammarLine->show();
}

QVector<double> ProbabilityPanel::forbiddenValues() const
{
    QVector<double> v;
    for (int i = 0; i < m_shown.bars.size(); ++i)
        v.append(m_rawForbidden->data()->at(i)->value);
    return v;
}

QString ProbabilityPanel::grammarText() const
{
    return m_grammarLine->isHidden() ? QString() : m_grammarLine->text();
}

QVector<double> ProbabilityPanel::rawValues() const
{
    QVector<double> v;
    for (const auto& c : m_shown.bars)
        v.append(c.rawProb);
    return v;
}

QVector<double> ProbabilityPanel::finalValues() const
{
    // Read back from the plotted series (what is actually drawn).
    QVector<double> v;
    for (int i = 0; i < m_shown.bars.size(); ++i) {
        const double a = m_final->data()->at(i)->value;
        const double b = m_finalChosen->data()->at(i)->value;
        v.append(a + b);
    }
    return v;
}

QString ProbabilityPanel::chosenText() const
{
    return m_shown.chosenLabel;
}

} // namespace logitscope::gui
