// Token chips.
#include "panels/token_chip_view.h"

#include "models/token_display.h"
#include "models/token_roles.h"

#include <QEvent>
#include <QHelpEvent>
#include <QMouseEvent>
#include <QPainter>
#include <QPaintEvent>
#include <QToolTip>

namespace logitscope::gui {

namespace {
constexpr int kPadX = 5, kPadY = 2, kGap = 3, kMargin = 6;
}

TokenChipView::TokenChipView(QWidget* parent) : QWidget(parent)
{
    setMouseTracking(false);
    setSizePolicy(QSizePolicy::Preferred, QSizePolicy::MinimumExpanding);
    setAttribute(Qt::WA_OpaquePaintEvent, false);
}

void TokenChipView::setModel(QAbstractItemModel* model)
{
    if (m_model)
        disconnect(m_model, nullptr, this, nullptr);
    m_model = model;
    if (model) {
        connect(model, &QAbstractItemModel::modelReset, this, &TokenChipView::rebuild);
        connect(model, &QAbstractItemModel::rowsRemoved, this, &TokenChipView::rebuild);
        connect(model, &QAbstractItemModel::dataChanged, this, &TokenChipView::rebuild);
        connect(model, &QAbstractItemModel::layoutChanged, this, &TokenChipView::rebuild);
        connect(model, &QAbstractItemModel::rowsInserted, this, [this](const QModelIndex& parent, int first, int last) {
            if (parent.isValid())
                return;
            if (first == int(m_chips.size()))
                appendRows(first, last);
            else
                rebuild();
        });
    }
    rebuild();
}

void TokenChipView::setByteView(bool on)
{
    if (m_byteView == on)
        return;
    m_byteView = on;
    rebuild();
}

void TokenChipView::setSelectedRow(int row)
{
    if (row == m_selected)
        return;
    m_selected = row;
    update();
}

void TokenChipView::setPlaceholder(const QString& text)
{
    m_placeholder = text;
    update();
}

TokenChipView::Chip TokenChipView::makeChip(int row) const
{
    Chip c;
    const QModelIndex idx = m_model->index(row, 0);
    const QByteArray bytes = idx.data(TokenBytesRole).toByteArray();
    c.partial = idx.data(PartialCharacterRole).toBool();
    c.forced = idx.data(ForcedRole).toBool();
    c.label = m_byteView && !bytes.isEmpty() ? hexBytes(bytes) : idx.data(Qt::DisplayRole).toString();
    c.background = idx.data(Qt::BackgroundRole).value<QColor>();
    if (!c.background.isValid())
        c.background = palette().color(QPalette::AlternateBase);
    c.foreground = idx.data(Qt::ForegroundRole).value<QColor>();
    if (!c.foreground.isValid())
        c.foreground = palette().color(QPalette::Text);
    c.lineBreakAfter = bytes.endsWith('\n');
    return c;
}

void TokenChipView::rebuild()
{
    m_chips.clear();
    if (m_model) {
        const int n = m_model->rowCount();
        m_chips.reserve(size_t(n));
        for (int r = 0; r < n; ++r)
            m_chips.push_back(makeChip(r));
    }
    if (m_selected >= int(m_chips.size()))
        m_selected = -1;
    layoutFrom(0);
    update();
}

void TokenChipView::appendRows(int first, int last)
{
    for (int r = first; r <= last; ++r)
        m_chips.push_back(makeChip(r));
    layoutFrom(first);
    if (first == 0) { // the placeholder text was on screen: it must go as a whole
        update();
        return;
    }
    // Only the new chips need painting.
    QRect dirty;
    for (int r = first; r <= last && r < int(m_chips.size()); ++r)
        dirty |= m_chips[size_t(r)].rect;
    update(dirty.adjusted(-2, -2, 2, 2));
}

void TokenChipView::layoutFrom(int first)
{
    const QFontMetrics fm(font());
    const int h = fm.height() + 2 * kPadY;
    const int avail = std::max(width(), 120);
    m_layoutWidth = width();
    int x = kMargin, y = kMargin;
    if (first > 0 && first <= int(m_chips.size())) {
        const Chip& prev = m_chips[size_t(first - 1)];
        x = prev.rect.right() + 1 + kGap;
        y = prev.rect.top();
        if (prev.lineBreakAfter) {
            x = kMargin;
            y += h + kGap;
        }
    } else {
        first = 0;
    }
    for (size_t i = size_t(first); i < m_chips.size(); ++i) {
        Chip& c = m_chips[i];
        const int w = fm.horizontalAdvance(c.label) + 2 * kPadX;
        if (x > kMargin && x + w > avail - kMargin) {
            x = kMargin;
            y += h + kGap;
        }
        c.rect = QRect(x, y, w, h);
        x += w + kGap;
        if (c.lineBreakAfter) {
            x = kMargin;
            y += h + kGap;
        }
    }
    m_contentHeight = m_chips.empty() ? 2 * kMargin + h : m_chips.back().rect.bottom() + 1 + kMargin;
    updateHeight();
}

void TokenChipView::updateHeight()
{
    if (minimumHeight() != m_contentHeight) {
        setMinimumHeight(m_contentHeight);
        updateGeometry();
    }
    emit contentHeightChanged(m_contentHeight);
}

int TokenChipView::heightForWidth(int) const
{
    return m_contentHeight;
}

QSize TokenChipView::sizeHint() const
{
    return {400, std::max(m_contentHeight, 60)};
}

int TokenChipView::rowAt(const QPoint& pos) const
{
    // Chips are in reading order: binary search on the row, then scan it.
    auto it = std::lower_bound(m_chips.begin(), m_chips.end(), pos.y(),
                               [](const Chip& c, int y) { return c.rect.bottom() < y; });
    for (; it != m_chips.end() && it->rect.top() <= pos.y(); ++it)
        if (it->rect.contains(pos))
            return int(it - m_chips.begin());
    return -1;
}

QRect TokenChipView::chipRect(int row) const
{
    return row >= 0 && row < int(m_chips.size()) ? m_chips[size_t(row)].rect : QRect();
}

void TokenChipView::paintEvent(QPaintEvent* event)
{
    QPainter p(this);
    p.setRenderHint(QPainter::Antialiasing, true);
    const QRect exposed = event->rect();
    if (m_chips.empty() && !m_placeholder.isEmpty()) {
        p.setPen(palette().color(QPalette::PlaceholderText));
        p.drawText(rect().adjusted(kMargin, kMargin, -kMargin, -kMargin), Qt::AlignLeft | Qt::AlignTop | Qt::TextWordWrap,
                   m_placeholder);
        return;
    }
    auto it = std::lower_bound(m_chips.begin(), m_chips.end(), exposed.top(),
                               [](const Chip& c, int y) { return c.rect.bottom() < y; });
    for (; it != m_chips.end() && it->rect.top() <= exposed.bottom(); ++it) {
        const Chip& c = *it;
        if (!c.rect.intersects(exposed))
            continue;
        const QRectF r = QRectF(c.rect).adjusted(0.5, 0.5, -0.5, -0.5);
        QPen border(c.background.darker(135), 1);
        if (c.partial)
            border.setStyle(Qt::DashLine);
        if (c.forced) {
            border = QPen(QColor(230, 120, 0), 2);
        }
        const int row = int(it - m_chips.begin());
        if (row == m_selected)
            border = QPen(palette().color(QPalette::Highlight), 2.5);
        p.setPen(border);
        p.setBrush(c.background);
        p.drawRoundedRect(r, 4, 4);
        p.setPen(c.foreground);
        p.drawText(c.rect, Qt::AlignCenter, c.label);
    }
}

void TokenChipView::resizeEvent(QResizeEvent* event)
{
    QWidget::resizeEvent(event);
    if (width() != m_layoutWidth)
        layoutFrom(0);
}

void TokenChipView::mousePressEvent(QMouseEvent* event)
{
    const int row = rowAt(event->position().toPoint());
    if (row >= 0 && event->button() == Qt::LeftButton)
        emit rowClicked(row);
    QWidget::mousePressEvent(event);
}

bool TokenChipView::event(QEvent* event)
{
    if (event->type() == QEvent::ToolTip && m_model) {
        auto* help = static_cast<QHelpEvent*>(event);
        const int row = rowAt(help->pos());
        if (row >= 0)
            QToolTip::showText(help->globalPos(), m_model->index(row, 0).data(Qt::ToolTipRole).toString(), this,
                               chipRect(row));
        else
            QToolTip::hideText();
        return true;
    }
    return QWidget::event(event);
}

void TokenChipView::changeEvent(QEvent* event)
{
    QWidget::changeEvent(event);
    if (event->type() == QEvent::FontChange || event->type() == QEvent::PaletteChange)
        rebuild();
}

} // namespace logitscope::gui
