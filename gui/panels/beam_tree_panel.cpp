// The beam search tree.
#include "panels/beam_tree_panel.h"

#include "models/beam_tree_model.h"
#include "models/inference_controller.h"

#include <QComboBox>
#include <QDoubleSpinBox>
#include <QFileDialog>
#include <QFileInfo>
#include <QGraphicsRectItem>
#include <QGraphicsScene>
#include <QGraphicsSimpleTextItem>
#include <QGridLayout>
#include <QHBoxLayout>
#include <QImage>
#include <QLabel>
#include <QPainter>
#include <QPdfWriter>
#include <QSvgGenerator>
#include <QPushButton>
#include <QSlider>
#include <QSpinBox>
#include <QVBoxLayout>
#include <QWheelEvent>

#include <algorithm>
#include <functional>

namespace logitscope::gui {

namespace {

constexpr double kColumn = 178, kRow = 50, kNodeW = 150, kNodeH = 40;

const QColor kKeptFill(215, 230, 250), kKeptPen(40, 90, 170);
const QColor kPrunedFill(240, 240, 240), kPrunedPen(150, 150, 150);
const QColor kFinishedFill(210, 240, 215), kFinishedPen(40, 140, 60);
const QColor kWinnerFill(255, 220, 110), kWinnerPen(220, 120, 0);

} // namespace

void BeamTreeView::zoomBy(double factor)
{
    const double current = transform().m11();
    if ((factor > 1 && current > 4) || (factor < 1 && current < 0.05))
        return;
    scale(factor, factor);
}

void BeamTreeView::wheelEvent(QWheelEvent* event)
{
    setTransformationAnchor(QGraphicsView::AnchorUnderMouse);
    zoomBy(event->angleDelta().y() > 0 ? 1.15 : 1 / 1.15);
    event->accept();
}

BeamTreePanel::BeamTreePanel(InferenceController* controller, QWidget* parent)
    : QWidget(parent), m_controller(controller), m_model(new BeamTreeModel(this))
{
    auto* layout = new QVBoxLayout(this);
    auto* controls = new QHBoxLayout;
    controls->addWidget(new QLabel(tr("Beams"), this));
    m_beams = new QSpinBox(this);
    m_beams->setRange(2, 16);
    m_beams->setValue(4);
    m_beams->setToolTip(tr("num_beams: how many partial outputs are kept after every step."));
    controls->addWidget(m_beams);
    controls->addWidget(new QLabel(tr("Length penalty"), this));
    m_lengthPenalty = new QDoubleSpinBox(this);
    m_lengthPenalty->setRange(-5, 5);
    m_lengthPenalty->setSingleStep(0.1);
    m_lengthPenalty->setValue(1.0);
    m_lengthPenalty->setToolTip(tr("length_penalty: a finished hypothesis scores cumulative log p / length^penalty. "
                                   "Above 0 favours longer outputs, below 0 shorter ones."));
    controls->addWidget(m_lengthPenalty);
    controls->addWidget(new QLabel(tr("Early stopping"), this));
    m_early = new QComboBox(this);
    m_early->addItem(tr("True"), int(logitscope::EarlyStopping::True));
    m_early->addItem(tr("False"), int(logitscope::EarlyStopping::False));
    m_early->addItem(tr("Never"), int(logitscope::EarlyStopping::Never));
    m_early->setToolTip(tr("early_stopping: True stops as soon as there are as many finished hypotheses as beams; "
                           "False stops when no running beam can still beat them (a heuristic); Never checks exactly."));
    controls->addWidget(m_early);
    controls->addWidget(new QLabel(tr("New tokens"), this));
    m_maxNew = new QSpinBox(this);
    m_maxNew->setRange(1, 256);
    m_maxNew->setValue(16);
    controls->addWidget(m_maxNew);
    m_run = new QPushButton(tr("Run beam search"), this);
    m_run->setToolTip(tr("Search from the prompt with these settings (the repetition / n-gram penalties of the "
                         "Sampling panel apply; temperature and truncation do not: beam search does not sample)."));
    controls->addWidget(m_run);
    m_export = new QPushButton(tr("Export…"), this);
    m_export->setToolTip(tr("Save the tree as a PNG image, or as an SVG or PDF (vector) file."));
    controls->addWidget(m_export);
    controls->addStretch(1);
    layout->addLayout(controls);

    auto* stepRow = new QHBoxLayout;
    stepRow->addWidget(new QLabel(tr("Step"), this));
    m_slider = new QSlider(Qt::Horizontal, this);
    m_slider->setRange(0, 0);
    m_slider->setToolTip(tr("Reveal the search one step at a time."));
    stepRow->addWidget(m_slider, 1);
    m_stepLabel = new QLabel(this);
    stepRow->addWidget(m_stepLabel);
    auto* zoomIn = new QPushButton(tr("+"), this);
    auto* zoomOut = new QPushButton(tr("−"), this);
    auto* fit = new QPushButton(tr("Fit"), this);
    for (auto* b : {zoomIn, zoomOut, fit}) {
        b->setMaximumWidth(44);
        stepRow->addWidget(b);
    }
    layout->addLayout(stepRow);

    m_status = new QLabel(this);
    m_status->setWordWrap(true);
    layout->addWidget(m_status);

    m_scene = new QGraphicsScene(this);
    m_view = new BeamTreeView(m_scene, this);
    m_view->setRenderHint(QPainter::Antialiasing);
    m_view->setDragMode(QGraphicsView::ScrollHandDrag);
    m_view->setMinimumHeight(220);
    m_view->setBackgroundBrush(Qt::white);
    layout->addWidget(m_view, 1);

    m_summary = new QLabel(this);
    m_summary->setWordWrap(true);
    m_summary->setTextFormat(Qt::RichText);
    m_summary->setTextInteractionFlags(Qt::TextSelectableByMouse);
    layout->addWidget(m_summary);

    connect(m_run, &QPushButton::clicked, this, &BeamTreePanel::runSearch);
    connect(m_export, &QPushButton::clicked, this, &BeamTreePanel::exportDialog);
    connect(m_slider, &QSlider::valueChanged, m_model, &BeamTreeModel::setVisibleStep);
    connect(m_model, &BeamTreeModel::visibleStepChanged, this, [this](int step) {
        QSignalBlocker block(m_slider);
        m_slider->setValue(step);
        rebuildScene();
    });
    connect(zoomIn, &QPushButton::clicked, this, [this] { m_view->zoomBy(1.25); });
    connect(zoomOut, &QPushButton::clicked, this, [this] { m_view->zoomBy(1 / 1.25); });
    connect(fit, &QPushButton::clicked, this, &BeamTreePanel::fitTree);

    connect(controller, &InferenceController::beamSearchStarted, this, [this] {
        m_running = true;
        m_run->setEnabled(false);
        m_status->setText(tr("Searching…"));
    });
    connect(controller, &InferenceController::beamSearchFinished, this, &BeamTreePanel::showSnapshot);
    connect(controller, &InferenceController::beamSearchFailed, this, [this](const QString& message) {
        m_running = false;
        m_run->setEnabled(true);
        m_status->setText(message);
    });
    connect(controller, &InferenceController::modelLoadFinished, this, [this] {
        m_model->clear();
        rebuildScene();
    });
    m_status->setText(tr("Beam search keeps the %1 best partial outputs at every step instead of sampling one. "
                         "Press “Run beam search”.").arg(m_beams->value()));
    updateSummary();
}

logitscope::SamplingParams BeamTreePanel::beamParams() const
{
    logitscope::SamplingParams p = m_controller->sampling();
    p.numBeams = m_beams->value();
    p.lengthPenalty = m_lengthPenalty->value();
    p.earlyStopping = logitscope::EarlyStopping(m_early->currentData().toInt());
    p.maxNewTokens = m_maxNew->value();
    p.numReturnSequences = p.numBeams;
    return p;
}

void BeamTreePanel::setBeamSettings(int beams, double lengthPenalty, logitscope::EarlyStopping early, int maxNewTokens)
{
    m_beams->setValue(beams);
    m_lengthPenalty->setValue(lengthPenalty);
    m_early->setCurrentIndex(m_early->findData(int(early)));
    m_maxNew->setValue(maxNewTokens);
}

void BeamTreePanel::runSearch()
{
    m_controller->runBeamSearch(beamParams());
}

void BeamTreePanel::showSnapshot(const BeamSnapshot& snapshot)
{
    m_running = false;
    m_run->setEnabled(true);
    m_model->setSnapshot(snapshot);
    {
        QSignalBlocker block(m_slider);
        m_slider->setRange(0, std::max(0, snapshot.tree.steps - 1));
        m_slider->setValue(m_model->visibleStep());
    }
    m_status->setText(tr("%1 beams, length penalty %2: %3 steps in %4 ms. Drag the slider to replay it.")
                          .arg(snapshot.numBeams)
                          .arg(snapshot.lengthPenalty)
                          .arg(snapshot.tree.steps)
                          .arg(snapshot.ms, 0, 'f', 0));
    rebuildScene();
    fitTree();
}

void BeamTreePanel::fitTree()
{
    const QRectF r = m_scene->itemsBoundingRect();
    if (r.isEmpty())
        return;
    m_view->resetTransform();
    // Readable first: fit the height, but never shrink text below ~60%; scroll for the rest.
    const double sx = m_view->viewport()->width() / (r.width() + 20);
    const double sy = m_view->viewport()->height() / (r.height() + 20);
    const double s = std::clamp(std::min(sx, sy), 0.3, 1.0);
    m_view->scale(s, s);
    m_view->centerOn(r.center());
}

void BeamTreePanel::rebuildScene()
{
    m_scene->clear();
    const auto& snap = m_model->snapshot();
    const auto& nodes = snap.tree.nodes;
    m_stepLabel->setText(m_model->steps() > 0 ? tr("%1 / %2").arg(m_model->visibleStep() + 1).arg(m_model->steps())
                                              : QString());
    updateSummary();
    if (nodes.empty())
        return;

    // Trellis layout: one column per step, each step's candidates top to bottom by rank (0 = best
    // cumulative score), so the tree stays as tall as the candidates of one step however long it runs.
    std::vector<double> y(nodes.size(), 0);
    int maxRank = 0;
    for (const auto& node : nodes)
        maxRank = std::max(maxRank, node.rank);
    for (size_t i = 1; i < nodes.size(); ++i)
        y[i] = nodes[i].rank;
    y[0] = maxRank / 2.0;

    auto posOf = [&](int n) { return QPointF((nodes[size_t(n)].step + 1) * kColumn, y[size_t(n)] * kRow); };
    QFont normal = font(), bold = font();
    bold.setBold(true);
    QFont small = font();
    small.setPointSizeF(std::max(6.0, font().pointSizeF() * 0.8));

    for (int n = 0; n < int(nodes.size()); ++n) {
        if (!m_model->isVisible(n))
            continue;
        const BeamNode& node = nodes[size_t(n)];
        const bool winner = m_model->onWinnerPath(n);
        const bool pruned = n != 0 && node.fate == BeamFate::Pruned;
        const QPointF p = posOf(n);
        if (node.parent >= 0) {
            const QPointF from = posOf(node.parent) + QPointF(kNodeW, kNodeH / 2), to = p + QPointF(0, kNodeH / 2);
            QPainterPath path(from);
            path.cubicTo(from + QPointF(18, 0), to - QPointF(18, 0), to);
            QPen pen(winner ? kWinnerPen : (pruned ? kPrunedPen : kKeptPen), winner ? 3 : (pruned ? 1 : 1.6));
            if (pruned)
                pen.setStyle(Qt::DashLine);
            auto* edge = m_scene->addPath(path, pen);
            edge->setOpacity(pruned ? 0.35 : 1.0);
            edge->setZValue(0);
        }
        QColor fill = kKeptFill, line = kKeptPen;
        if (n == 0) {
            fill = QColor(235, 235, 250);
        } else if (node.fate == BeamFate::Pruned) {
            fill = kPrunedFill;
            line = kPrunedPen;
        } else if (node.fate == BeamFate::Finished) {
            fill = kFinishedFill;
            line = kFinishedPen;
        }
        if (winner && n != 0) {
            fill = kWinnerFill;
            line = kWinnerPen;
        }
        auto* box = m_scene->addRect(QRectF(p, QSizeF(kNodeW, kNodeH)), QPen(line, winner ? 3 : (node.fate == BeamFate::Finished ? 2.5 : 1.2)),
                                     fill);
        box->setZValue(1);
        box->setOpacity(pruned ? 0.4 : 1.0);
        box->setToolTip(m_model->data(m_model->indexForNode(n), Qt::ToolTipRole).toString());
        auto* title = m_scene->addSimpleText(m_model->label(n), (n != 0 && node.fate != BeamFate::Pruned) || winner ? bold : normal);
        title->setPos(p + QPointF(6, 2));
        title->setZValue(2);
        title->setOpacity(box->opacity());
        QString sub;
        if (n == 0)
            sub = tr("%1 beams · lp %2").arg(snap.numBeams).arg(snap.lengthPenalty);
        else if (node.fate == BeamFate::Finished)
            sub = tr("★ score %1%2").arg(node.score, 0, 'f', 3).arg(node.resultRank >= 0 ? tr("  #%1").arg(node.resultRank + 1) : QString());
        else
            sub = tr("%1 · Σ %2").arg(node.logprob, 0, 'f', 2).arg(node.cumulative, 0, 'f', 2);
        auto* subtitle = m_scene->addSimpleText(sub, small);
        subtitle->setPos(p + QPointF(6, kNodeH / 2 + 1));
        subtitle->setZValue(2);
        subtitle->setOpacity(box->opacity());
    }
    m_scene->setSceneRect(m_scene->itemsBoundingRect().adjusted(-20, -20, 20, 20));
}

QString BeamTreePanel::summaryText() const
{
    return m_summary->text();
}

void BeamTreePanel::updateSummary()
{
    const auto& snap = m_model->snapshot();
    if (!snap.valid()) {
        m_summary->clear();
        m_export->setEnabled(false);
        return;
    }
    m_export->setEnabled(true);
    const int s = m_model->visibleStep();
    QString html = tr("Up to step %1: <b>%2 kept</b> · <span style='color:#888'>%3 pruned</span> · "
                      "<span style='color:#287d3c'>%4 finished</span>")
                       .arg(s + 1)
                       .arg(snap.count(BeamFate::Kept, s))
                       .arg(snap.count(BeamFate::Pruned, s))
                       .arg(snap.count(BeamFate::Finished, s));
    if (m_model->fullyRevealed()) {
        html += tr("<br>Hypotheses, best first (score = cumulative log p / length<sup>%1</sup>):").arg(snap.lengthPenalty);
        for (size_t i = 0; i < snap.hypotheses.size() && i < 6; ++i) {
            const auto& h = snap.hypotheses[i];
            const QString words = m_model->text(snap.chain(h.node));
            const QString line = tr("#%1 %2 (Σ %3, %4 tokens): %5")
                                     .arg(i + 1)
                                     .arg(h.score, 0, 'f', 4)
                                     .arg(h.cumulative, 0, 'f', 3)
                                     .arg(h.ids.size())
                                     .arg(words.toHtmlEscaped());
            html += QStringLiteral("<br>") + (i == 0 ? QStringLiteral("<b>%1</b>").arg(line) : line);
        }
    }
    m_summary->setText(html);
}

bool BeamTreePanel::exportTo(const QString& path) const
{
    const QRectF rect = m_scene->itemsBoundingRect().adjusted(-10, -10, 10, 10);
    if (rect.isEmpty())
        return false;
    if (path.endsWith(QLatin1String(".pdf"), Qt::CaseInsensitive)) {
        QPdfWriter writer(path);
        writer.setPageSize(QPageSize(rect.size(), QPageSize::Point));
        writer.setPageMargins(QMarginsF(0, 0, 0, 0));
        writer.setResolution(72);
        QPainter painter;
        if (!painter.begin(&writer))
            return false;
        m_scene->render(&painter, QRectF(0, 0, rect.width(), rect.height()), rect);
        return painter.end();
    }
    if (path.endsWith(QLatin1String(".svg"), Qt::CaseInsensitive)) {
        QSvgGenerator svg;
        svg.setFileName(path);
        svg.setSize(rect.size().toSize());
        svg.setViewBox(QRectF(QPointF(0, 0), rect.size()));
        svg.setTitle(tr("Beam-search tree"));
        QPainter painter;
        if (!painter.begin(&svg))
            return false;
        m_scene->render(&painter, QRectF(0, 0, rect.width(), rect.height()), rect);
        return painter.end();
    }
    QImage image((rect.size() * 2).toSize(), QImage::Format_ARGB32);
    image.fill(Qt::white);
    QPainter painter(&image);
    painter.setRenderHint(QPainter::Antialiasing);
    m_scene->render(&painter, QRectF(image.rect()), rect);
    painter.end();
    return image.save(path);
}

void BeamTreePanel::exportDialog()
{
    const QString path = QFileDialog::getSaveFileName(this, tr("Export beam tree"), QStringLiteral("beam-tree.png"),
                                                      tr("PNG image (*.png);;SVG drawing (*.svg);;PDF document (*.pdf)"));
    if (path.isEmpty())
        return;
    m_status->setText(exportTo(path) ? tr("Saved %1.").arg(QFileInfo(path).fileName())
                                     : tr("Could not write %1.").arg(path));
}

} // namespace logitscope::gui
