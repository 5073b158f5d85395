// The probability colour legend.
#include "panels/probability_legend.h"

#include "models/token_display.h"

#include <QLinearGradient>
#include <QPainter>

namespace logitscope::gui {

ProbabilityLegend::ProbabilityLegend(const QString& low, const QString& toolTip, QWidget* parent)
    : QWidget(parent), m_low(low)
{
    setSizePolicy(QSizePolicy::Preferred, QSizePolicy::Fixed);
    setToolTip(toolTip);
}

QSize ProbabilityLegend::sizeHint() const
{
    return {fontMetrics().horizontalAdvance(m_low) + 150, fontMetrics().height() + 6};
}

void ProbabilityLegend::paintEvent(QPaintEvent*)
{
    QPainter p(this);
    const QFontMetrics fm = fontMetrics();
    const QString& left = m_low;
    const QString right = tr("1");
    const int lw = fm.horizontalAdvance(left) + 6;
    const int rw = fm.horizontalAdvance(right) + 6;
    const QRect bar(lw, 3, std::max(40, width() - lw - rw), height() - 6);
    QLinearGradient g(bar.topLeft(), bar.topRight());
    for (int i = 0; i <= 10; ++i)
        g.setColorAt(i / 10.0, probabilityColor(i / 10.0));
    p.setPen(Qt::NoPen);
    p.setBrush(g);
    p.drawRoundedRect(bar, 3, 3);
    p.setPen(palette().color(QPalette::Text));
    p.drawText(QRect(0, 0, lw, height()), Qt::AlignVCenter | Qt::AlignLeft, left);
    p.drawText(QRect(bar.right() + 4, 0, rw, height()), Qt::AlignVCenter | Qt::AlignLeft, right);
}

} // namespace logitscope::gui
