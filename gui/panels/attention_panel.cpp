// The attention heatmap.
#include "panels/attention_panel.h"

#include "models/attention_model.h"
#include "models/generated_tokens_model.h"
#include "models/inference_controller.h"
#include "models/token_display.h"
#include "panels/token_chip_view.h"

#include <QApplication>
#include <QCheckBox>
#include <QComboBox>
#include <QHBoxLayout>
#include <QLabel>
#include <QPainter>
#include <QPixmap>
#include <QPushButton>
#include <QSpinBox>
#include <QToolTip>
#include <QVBoxLayout>
#include <qcustomplot.h>

#include <algorithm>
#include <cmath>

namespace logitscope::gui {

namespace {

constexpr int kDefaultView = 48; // positions shown before the user zooms (long prompts stay readable)

QColor groupColor(int group, int groups)
{
    return QColor::fromHsv((group * 360 / std::max(1, groups) + 200) % 360, 80, 245);
}

} // namespace

AttentionPanel::AttentionPanel(InferenceController* controller, QWidget* parent)
    : QWidget(parent), m_controller(controller), m_model(new AttentionModel(this))
{
    auto* layout = new QVBoxLayout(this);
    auto* top = new QHBoxLayout;
    top->addWidget(new QLabel(tr("Layer"), this));
    m_layer = new QSpinBox(this);
    m_layer->setToolTip(tr("Which layer's attention to show (0 = the first, nearest the input)."));
    top->addWidget(m_layer);
    top->addWidget(new QLabel(tr("Head"), this));
    m_head = new QComboBox(this);
    m_head->setSizeAdjustPolicy(QComboBox::AdjustToContents);
    m_head->setToolTip(tr("One attention head, or the mean over all heads of the layer. Heads of the same colour "
                          "share one key/value head (grouped-query attention)."));
    top->addWidget(m_head);
    m_scale = new QCheckBox(tr("Stretch colours"), this);
    m_scale->setChecked(true);
    m_scale->setToolTip(tr("Map the largest value shown to the brightest colour (else the scale is 0 to 1)."));
    top->addWidget(m_scale);
    auto* fitButton = new QPushButton(tr("Fit"), this);
    fitButton->setToolTip(tr("Show every kept position (wheel zooms, drag scrolls)."));
    top->addWidget(fitButton);
    m_gqa = new QLabel(this);
    m_gqa->setWordWrap(true);
    top->addWidget(m_gqa, 1);
    layout->addLayout(top);

    m_hint = new QLabel(this);
    m_hint->setWordWrap(true);
    m_hint->setStyleSheet(QStringLiteral("color: palette(mid);"));
    layout->addWidget(m_hint);

    m_plot = new QCustomPlot(this);
    m_plot->setMinimumHeight(260);
    m_plot->setInteractions(QCP::iRangeDrag | QCP::iRangeZoom);
    m_plot->setMouseTracking(true);
    m_map = new QCPColorMap(m_plot->xAxis, m_plot->yAxis);
    m_map->setInterpolate(false);
    m_map->setTightBoundary(false);
    m_colorScale = new QCPColorScale(m_plot);
    m_plot->plotLayout()->addElement(0, 1, m_colorScale);
    m_colorScale->setLabel(tr("attention"));
    m_map->setColorScale(m_colorScale);
    // Dark (no attention) to bright yellow (all of it). Not a gradient that ends in white: the cell of a
    // token that attends only to itself (the first one, <s>, always does) looked empty.
    QCPColorGradient gradient;
    gradient.setColorStops({{0.0, QColor(0, 0, 4)}, {0.25, QColor(87, 16, 110)}, {0.5, QColor(188, 55, 84)},
                            {0.75, QColor(249, 142, 9)}, {1.0, QColor(252, 255, 164)}});
    gradient.setNanHandling(QCPColorGradient::nhTransparent);
    m_map->setGradient(gradient);
    m_map->setDataRange(QCPRange(0, 1));
    auto* margins = new QCPMarginGroup(m_plot);
    m_plot->axisRect()->setMarginGroup(QCP::msBottom | QCP::msTop, margins);
    m_colorScale->setMarginGroup(QCP::msBottom | QCP::msTop, margins);
    m_plot->yAxis->setRangeReversed(true);
    m_plot->xAxis->setLabel(tr("key: the earlier token looked at"));
    m_plot->yAxis->setLabel(tr("query: the token looking"));
    m_plot->xAxis->setTickLabelRotation(60);
    for (QCPAxis* axis : {m_plot->xAxis, m_plot->yAxis}) {
        axis->setTicker(QSharedPointer<QCPAxisTickerText>(new QCPAxisTickerText));
        axis->setSubTicks(false);
        axis->grid()->setVisible(false);
    }
    m_queryMark = new QCPItemRect(m_plot);
    m_queryMark->setPen(QPen(QColor(40, 200, 255), 2));
    m_queryMark->setBrush(Qt::NoBrush);
    m_queryMark->setVisible(false);
    layout->addWidget(m_plot, 1);

    m_detail = new QLabel(this);
    m_detail->setWordWrap(true);
    m_detail->setTextFormat(Qt::RichText);
    layout->addWidget(m_detail);

    connect(m_layer, &QSpinBox::valueChanged, m_model, &AttentionModel::setLayer);
    connect(m_head, &QComboBox::currentIndexChanged, this, [this](int i) { m_model->setHead(i - 1); });
    connect(m_scale, &QCheckBox::toggled, this, &AttentionPanel::render);
    connect(fitButton, &QPushButton::clicked, this, &AttentionPanel::fit);
    connect(m_model, &AttentionModel::selectionChanged, this, &AttentionPanel::render);
    connect(m_model, &QAbstractItemModel::modelReset, this, &AttentionPanel::render);
    connect(m_plot, &QCustomPlot::mouseMove, this, &AttentionPanel::onMouseMove);
    connect(m_plot, &QCustomPlot::mousePress, this, [this](QMouseEvent* e) { m_pressPos = e->pos(); });
    connect(m_plot, &QCustomPlot::mouseRelease, this, &AttentionPanel::onMouseRelease);
    connect(m_plot, &QCustomPlot::mouseWheel, this, [this] { m_userView = true; });
    connect(m_plot->xAxis, qOverload<const QCPRange&>(&QCPAxis::rangeChanged), this, [this] {
        if (!m_settingRange && (QApplication::mouseButtons() & Qt::LeftButton))
            m_userView = true;
        updateTicks();
    });
    connect(m_plot->yAxis, qOverload<const QCPRange&>(&QCPAxis::rangeChanged), this, &AttentionPanel::updateTicks);

    // Engine snapshots, through the controller and its generated-tokens model.
    connect(controller, &InferenceController::modelLoadFinished, this, &AttentionPanel::onModelLoaded);
    connect(controller, &InferenceController::prefillFinished, this, [this](const logitscope::PrefillRecord& record) {
        QStringList labels;
        const auto& vocab = m_controller->vocabulary();
        for (int32_t id : record.ids) {
            const QByteArray bytes = vocab.isValid() ? vocab.bytes(id) : QByteArray();
            labels.append(bytes.isEmpty() && vocab.isValid() ? vocab.piece(id) : tokenLabel(bytes));
        }
        m_query = -1;
        m_userView = false;
        m_model->setPrefill(record, labels);
    });
    auto* generated = controller->generatedTokens();
    connect(generated, &QAbstractItemModel::rowsInserted, this, [this, generated](const QModelIndex&, int first, int last) {
        for (int r = first; r <= last; ++r)
            m_model->appendStep(generated->record(r));
    });
    connect(generated, &QAbstractItemModel::rowsRemoved, this, [this, generated] { m_model->setSteps(generated->records()); });
    connect(generated, &QAbstractItemModel::modelReset, this, [this, generated] { m_model->setSteps(generated->records()); });
    connect(controller, &InferenceController::resetFinished, m_model, &AttentionModel::clear);
    connect(controller, &InferenceController::stateChanged, this, &AttentionPanel::followSelectedStep);

    if (controller->hasModel())
        onModelLoaded();
    render();
}

void AttentionPanel::followChips(TokenChipView* prompt, TokenChipView*)
{
    if (prompt)
        connect(prompt, &TokenChipView::rowClicked, this, &AttentionPanel::selectQuery);
}

void AttentionPanel::onModelLoaded()
{
    const auto& info = m_controller->modelInfo();
    m_model->setShape(info.layers, info.heads, info.kvHeads);
    m_layer->setRange(0, std::max(0, info.layers - 1));
    m_layer->setValue(std::max(0, info.layers - 1));
    m_model->setLayer(m_layer->value());
    refillHeads();
    if (info.kvHeads > 0 && info.kvHeads < info.heads)
        m_gqa->setText(tr("Grouped-query attention: %1 query heads share %2 key/value heads, %3 per group "
                          "(same colour = same KV head).")
                           .arg(info.heads).arg(info.kvHeads).arg(info.heads / info.kvHeads));
    else
        m_gqa->setText(tr("%1 heads, each with its own keys and values.").arg(info.heads));
}

void AttentionPanel::refillHeads()
{
    QSignalBlocker block(m_head);
    const int keep = m_head->currentIndex();
    m_head->clear();
    m_head->addItem(m_model->headLabel(-1));
    const int groups = std::max(1, m_model->kvHeads());
    const bool gqa = m_model->kvHeads() < m_model->heads();
    for (int h = 0; h < m_model->heads(); ++h) {
        m_head->addItem(m_model->headLabel(h));
        if (gqa) {
            const QColor c = groupColor(m_model->kvGroup(h), groups);
            QPixmap swatch(12, 12);
            swatch.fill(c);
            m_head->setItemIcon(h + 1, QIcon(swatch));
            m_head->setItemData(h + 1, c, Qt::BackgroundRole);
            m_head->setItemData(h + 1, tr("Query head %1 reads key/value head %2").arg(h).arg(m_model->kvGroup(h)),
                                Qt::ToolTipRole);
        }
    }
    m_head->setCurrentIndex(std::clamp(keep, 0, m_head->count() - 1));
    m_model->setHead(m_head->currentIndex() - 1);
}

void AttentionPanel::followSelectedStep()
{
    const int step = m_controller->selectedStep();
    if (step == m_followedStep)
        return;
    m_followedStep = step;
    if (step >= 0)
        selectQuery(m_model->promptLength() + step);
}

void AttentionPanel::selectQuery(int position)
{
    m_query = position;
    if (position >= 0 && !m_userView && (position < m_plot->yAxis->range().lower || position > m_plot->yAxis->range().upper)) {
        // Bring the row into view, keeping the zoom.
        const double span = m_plot->yAxis->range().size();
        m_settingRange = true;
        m_plot->yAxis->setRange(position - span / 2, position + span / 2);
        m_settingRange = false;
    }
    render();
}

void AttentionPanel::fit()
{
    m_userView = false;
    const int first = m_model->first(), last = m_model->last();
    m_settingRange = true;
    m_plot->xAxis->setRange(first - 0.5, last + 0.5);
    m_plot->yAxis->setRange(first - 0.5, last + 0.5);
    m_settingRange = false;
    m_userView = true; // "fit" is a view the user chose: new steps do not scroll it away
    updateTicks();
    m_plot->replot(QCustomPlot::rpQueuedRefresh);
}

void AttentionPanel::render()
{
    const int n = m_model->positionCount();
    const int first = m_model->first(), last = m_model->last();
    auto* data = m_map->data();
    double maxValue = 0;
    bool any = false;
    if (n > 0) {
        data->setSize(n, n);
        data->setRange(QCPRange(first, last), QCPRange(first, last));
        for (int q = first; q <= last; ++q) {
            const bool has = m_model->hasRow(q);
            any |= has;
            for (int k = first; k <= last; ++k) {
                const double v = has ? m_model->value(q, k) : std::nan("");
                data->setCell(k - first, q - first, k > q ? std::nan("") : v);
                if (has && k <= q && v > maxValue)
                    maxValue = v;
            }
        }
    } else {
        data->setSize(1, 1);
        data->setCell(0, 0, std::nan(""));
    }
    m_map->setDataRange(QCPRange(0, m_scale->isChecked() && maxValue > 0 ? maxValue : 1.0));

    if (!m_controller->hasModel())
        m_hint->setText(tr("No model loaded."));
    else if (n == 0)
        m_hint->setText(tr("Read a prompt (Step) to see where each token looks."));
    else if (!any)
        m_hint->setText(tr("No attention was recorded for these tokens: it is recorded only while this view is on "
                           "screen. Press Reset, then Step, to read the prompt again with it."));
    else if (m_model->last() - m_model->first() + 1 >= m_model->window())
        m_hint->setText(tr("Showing the last %1 positions (older rows are dropped to bound memory).").arg(m_model->window()));
    else
        m_hint->clear();
    m_hint->setVisible(!m_hint->text().isEmpty());

    if (!m_userView && n > 0) {
        const int lo = std::max(first, last - kDefaultView + 1);
        m_settingRange = true;
        m_plot->xAxis->setRange(lo - 0.5, last + 0.5);
        m_plot->yAxis->setRange(lo - 0.5, last + 0.5);
        m_settingRange = false;
    }
    if (m_query >= first && m_query <= last && n > 0) {
        m_queryMark->topLeft->setCoords(first - 0.5, m_query - 0.5);
        m_queryMark->bottomRight->setCoords(m_query + 0.5, m_query + 0.5);
        m_queryMark->setVisible(true);
    } else {
        m_queryMark->setVisible(false);
    }
    updateTicks();
    updateDetail();
    m_plot->replot(QCustomPlot::rpQueuedRefresh);
}

void AttentionPanel::updateTicks()
{
    const int first = m_model->first(), last = m_model->last();
    for (QCPAxis* axis : {m_plot->xAxis, m_plot->yAxis}) {
        auto ticker = qSharedPointerCast<QCPAxisTickerText>(axis->ticker());
        if (!ticker)
            continue;
        ticker->clear();
        const QCPRange r = axis->range();
        const int lo = std::max(first, int(std::ceil(r.lower))), hi = std::min(last, int(std::floor(r.upper)));
        const int pixels = axis == m_plot->xAxis ? m_plot->axisRect()->width() : m_plot->axisRect()->height();
        const int visible = std::max(1, hi - lo + 1);
        const int every = std::max(1, int(std::ceil(visible * 15.0 / std::max(1, pixels))));
        for (int p = lo; p <= hi; ++p)
            if (p % every == 0)
                ticker->addTick(p, m_model->label(p));
    }
}

QString AttentionPanel::describeCell(int query, int key) const
{
    if (query < m_model->first() || query > m_model->last() || key < m_model->first() || key > m_model->last())
        return {};
    const double v = m_model->value(query, key);
    if (key > query)
        return tr("“%1” cannot look ahead at “%2” (causal mask)").arg(m_model->label(query), m_model->label(key));
    if (std::isnan(v))
        return tr("“%1” (position %2): not recorded").arg(m_model->label(query)).arg(query);
    return tr("query “%1” (position %2) → key “%3” (position %4)\nattention %5 · %6, %7")
        .arg(m_model->label(query))
        .arg(query)
        .arg(m_model->label(key))
        .arg(key)
        .arg(v, 0, 'f', 4)
        .arg(tr("layer %1").arg(m_model->layer()))
        .arg(m_model->headLabel(m_model->head()));
}

QString AttentionPanel::hoverText(int query, int key) const
{
    return plainToRich(describeCell(query, key));
}

QString AttentionPanel::detailText() const
{
    return m_detail->text();
}

void AttentionPanel::updateDetail()
{
    if (m_query < 0) {
        m_detail->setText(tr("Click a row, a prompt token or a generated token to see what it attended to."));
        return;
    }
    if (!m_model->hasRow(m_query)) {
        m_detail->setText(tr("<b>“%1”</b> (position %2): its attention row arrives with the next step (it is the "
                             "query of the forward pass that predicts what follows it).")
                              .arg(m_model->label(m_query).toHtmlEscaped())
                              .arg(m_query));
        return;
    }
    std::vector<std::pair<double, int>> keys;
    for (int k = m_model->first(); k <= m_query; ++k) {
        const double v = m_model->value(m_query, k);
        if (!std::isnan(v))
            keys.emplace_back(v, k);
    }
    std::sort(keys.begin(), keys.end(), [](const auto& a, const auto& b) { return a.first > b.first; });
    QStringList parts;
    for (size_t i = 0; i < keys.size() && i < 6; ++i)
        parts << tr("“%1” (pos %2) %3%").arg(m_model->label(keys[i].second).toHtmlEscaped()).arg(keys[i].second)
                     .arg(keys[i].first * 100, 0, 'f', 1);
    m_detail->setText(tr("<b>“%1”</b> (position %2) attended most to: %3")
                          .arg(m_model->label(m_query).toHtmlEscaped())
                          .arg(m_query)
                          .arg(parts.join(QStringLiteral(" · "))));
}

bool AttentionPanel::cellAt(const QPoint& pixel, int* query, int* key) const
{
    if (!m_plot->axisRect()->rect().contains(pixel) || m_model->positionCount() == 0)
        return false;
    *key = int(std::lround(m_plot->xAxis->pixelToCoord(pixel.x())));
    *query = int(std::lround(m_plot->yAxis->pixelToCoord(pixel.y())));
    return *key >= m_model->first() && *key <= m_model->last() && *query >= m_model->first() && *query <= m_model->last();
}

void AttentionPanel::onMouseMove(QMouseEvent* event)
{
    if (event->buttons() & Qt::LeftButton) {
        m_userView = true;
        return;
    }
    int q = 0, k = 0;
    if (cellAt(event->pos(), &q, &k))
        QToolTip::showText(event->globalPosition().toPoint(), hoverText(q, k), m_plot);
    else
        QToolTip::hideText();
}

void AttentionPanel::onMouseRelease(QMouseEvent* event)
{
    if ((event->pos() - m_pressPos).manhattanLength() > 4)
        return; // a drag, not a click
    int q = 0, k = 0;
    if (cellAt(event->pos(), &q, &k))
        selectQuery(q == m_query ? -1 : q);
}

} // namespace logitscope::gui
