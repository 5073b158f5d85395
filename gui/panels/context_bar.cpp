// The context-window bar.
#include "panels/context_bar.h"

#include <QLocale>
#include <QPainter>

namespace logitscope::gui {

ContextBar::ContextBar(QWidget* parent) : QWidget(parent)
{
    setSizePolicy(QSizePolicy::Expanding, QSizePolicy::Fixed);
    setToolTip(tr("The context window: everything the model can see at once. Blue: the prompt. Green: the "
                  "tokens generated so far. Hatched: room reserved for the remaining new tokens "
                  "(max new tokens). A prompt that does not fit is refused."));
}

void ContextBar::setCounts(int promptTokens, int generatedTokens, int maxNewTokens, int contextLength)
{
    m_prompt = promptTokens;
    m_generated = generatedTokens;
    m_maxNew = maxNewTokens;
    m_context = contextLength;
    update();
}

QString ContextBar::caption() const
{
    const QLocale l;
    if (m_context <= 0)
        return tr("%1 prompt tokens").arg(l.toString(m_prompt));
    const int used = m_prompt + m_generated;
    QString s = tr("%1 prompt + %2 output = %3 / %4 tokens (%5%)")
                    .arg(l.toString(m_prompt), l.toString(m_generated), l.toString(used), l.toString(m_context))
                    .arg(100.0 * used / m_context, 0, 'f', used * 100 < m_context ? 1 : 0);
    if (m_prompt > m_context)
        s += tr(" — the prompt does not fit!");
    return s;
}

QSize ContextBar::sizeHint() const
{
    return {300, fontMetrics().height() + 14};
}

QSize ContextBar::minimumSizeHint() const
{
    return {100, fontMetrics().height() + 14};
}

void ContextBar::paintEvent(QPaintEvent*)
{
    QPainter p(this);
    p.setRenderHint(QPainter::Antialiasing);
    const QRectF r = QRectF(rect()).adjusted(0.5, 0.5, -0.5, -0.5);
    p.setPen(QColor(170, 170, 170));
    p.setBrush(palette().color(QPalette::Base));
    p.drawRoundedRect(r, 4, 4);
    if (m_context > 0) {
        const double w = r.width();
        auto seg = [&](double from, double count) {
            const double x0 = r.left() + w * std::min(1.0, from / m_context);
            const double x1 = r.left() + w * std::min(1.0, (from + count) / m_context);
            return QRectF(x0, r.top() + 1, std::max(0.0, x1 - x0), r.height() - 2);
        };
        p.setPen(Qt::NoPen);
        p.setBrush(m_prompt > m_context ? QColor(220, 60, 60) : QColor(90, 150, 220));
        p.drawRect(seg(0, m_prompt));
        p.setBrush(QColor(80, 180, 110));
        p.drawRect(seg(m_prompt, m_generated));
        const int reserve = std::max(0, m_maxNew - m_generated);
        p.setBrush(QBrush(QColor(80, 180, 110, 120), Qt::BDiagPattern));
        p.drawRect(seg(m_prompt + m_generated, reserve));
    }
    p.setPen(palette().color(QPalette::Text));
    p.drawText(rect().adjusted(6, 0, -6, 0), Qt::AlignVCenter | Qt::AlignLeft, caption());
}

} // namespace logitscope::gui
