// The per-stage strip.
#include "panels/stage_strip.h"

#include <QHelpEvent>
#include <QPainter>
#include <QToolTip>

#include <cmath>

namespace logitscope::gui {

QString stageExplanation(const QString& stage)
{
    const QString s = stage.toLower();
    if (s.contains(QLatin1String("bias")))
        return QObject::tr("Logit bias: adds a fixed amount to chosen tokens' logits before anything else; -inf bans "
                           "a token outright.");
    if (s == QLatin1String("dry"))
        return QObject::tr("DRY (don't repeat yourself): a token that would extend a sequence already in the text "
                           "is penalised by multiplier × base^(repeat length − allowed length); sequence breakers "
                           "(new line, colon, quote…) end a repeat.");
    if (s == QLatin1String("xtc"))
        return QObject::tr("XTC (exclude top choices): with some probability per step, every token above the "
                           "threshold except the least likely of them is removed, steering away from the obvious.");
    if (s.contains(QLatin1String("sigma")))
        return QObject::tr("Top-nσ: keeps the tokens whose logit lies within n standard deviations of the largest "
                           "logit — a cut measured on the logits, not the probabilities.");
    if (s.contains(QLatin1String("mirostat")))
        return QObject::tr("Mirostat: keeps the tokens whose surprise is below mu, draws one, then moves mu by eta × "
                           "(observed surprise − target tau), so the text keeps a steady surprise (bits per token).");
    if (s.contains(QLatin1String("dynatemp")))
        return QObject::tr("Dynamic temperature: T moves within temperature ± range with the normalised entropy of "
                           "the distribution — lower when the model is sure, higher when it is not.");
    if (s.contains(QLatin1String("repetition")))
        return QObject::tr("Repetition penalty: divides the logit of every token already in the text (prompt and "
                           "output) by the penalty (multiplies when negative), making repeats less likely.");
    if (s.contains(QLatin1String("presence")) || s.contains(QLatin1String("frequency")))
        return QObject::tr("Presence / frequency penalty: subtracts a fixed amount from tokens that already "
                           "appeared in the output (presence), plus an amount per occurrence (frequency).");
    if (s == QLatin1String("grammar"))
        return QObject::tr("Grammar (constrained decoding): masks every token whose text the grammar does not allow "
                           "at this point of the output. It runs first, so the other stages only see what the "
                           "grammar allows; the bars show the forbidden ones cross-hatched.");
    if (s.contains(QLatin1String("gram")))
        return QObject::tr("No-repeat n-gram: bans any token that would repeat an n-token sequence already in "
                           "the text.");
    if (s.contains(QLatin1String("min")) && s.contains(QLatin1String("new")))
        return QObject::tr("Min new tokens: end-of-text is banned until enough tokens were generated.");
    if (s.contains(QLatin1String("temp")))
        return QObject::tr("Temperature: divides every logit by T. Below 1 sharpens the distribution (safer "
                           "picks), above 1 flattens it (more surprising picks). T = 0 always picks the top token.");
    if (s.contains(QLatin1String("top-k")) || s.contains(QLatin1String("top_k")))
        return QObject::tr("Top-k: keeps only the k most likely tokens and renormalises.");
    if (s.contains(QLatin1String("top-p")) || s.contains(QLatin1String("top_p")))
        return QObject::tr("Top-p (nucleus): keeps the smallest set of most likely tokens whose probabilities add "
                           "up to p, so the cut adapts to how confident the model is.");
    if (s.contains(QLatin1String("min-p")) || s.contains(QLatin1String("min_p")))
        return QObject::tr("Min-p: keeps tokens at least min-p times as likely as the most likely token.");
    if (s.contains(QLatin1String("typical")))
        return QObject::tr("Typical-p: keeps the tokens whose surprise is closest to the average surprise "
                           "(entropy), up to probability mass p.");
    if (s.contains(QLatin1String("greedy")) || s.contains(QLatin1String("argmax")))
        return QObject::tr("Greedy: always takes the most likely token.");
    if (s.contains(QLatin1String("raw")) || s.contains(QLatin1String("input")) || s.contains(QLatin1String("logits")))
        return QObject::tr("The model's raw next-token distribution (softmax of the logits).");
    return QObject::tr("A stage of the sampling chain.");
}

StageStrip::StageStrip(QWidget* parent) : QWidget(parent)
{
    setSizePolicy(QSizePolicy::Expanding, QSizePolicy::Fixed);
}

void StageStrip::setStages(const QList<StageSummary>& stages, const QString& orderName)
{
    m_stages = stages;
    m_order = orderName;
    update();
}

QSize StageStrip::sizeHint() const
{
    return {500, 3 * fontMetrics().height() + 44};
}

QSize StageStrip::minimumSizeHint() const
{
    return {200, sizeHint().height()};
}

QRect StageStrip::cellRect(int i) const
{
    const int n = std::max<int>(1, int(m_stages.size()));
    const int top = fontMetrics().height() + 4;
    const int arrow = 14;
    const int w = (width() - (n - 1) * arrow) / n;
    return QRect(i * (w + arrow), top, w, height() - top - 1);
}

void StageStrip::paintEvent(QPaintEvent*)
{
    QPainter p(this);
    p.setRenderHint(QPainter::Antialiasing);
    const QFontMetrics fm = fontMetrics();
    p.setPen(palette().color(QPalette::Text));
    p.drawText(QRect(0, 0, width(), fm.height() + 2), Qt::AlignLeft | Qt::AlignVCenter,
               m_stages.isEmpty() ? tr("Sampling chain (order: %1) — nothing to show yet").arg(m_order)
                                  : tr("Sampling chain, stage by stage (order preset: %1)").arg(m_order));
    if (m_stages.isEmpty())
        return;
    for (int i = 0; i < m_stages.size(); ++i) {
        const StageSummary& s = m_stages[i];
        const QRect cell = cellRect(i);
        p.setPen(QColor(200, 200, 200));
        p.setBrush(palette().color(QPalette::Base));
        p.drawRoundedRect(QRectF(cell).adjusted(0.5, 0.5, -0.5, -0.5), 4, 4);
        // title
        QFont bold = font();
        bold.setBold(true);
        p.setFont(bold);
        p.setPen(palette().color(QPalette::Text));
        const QRect title(cell.left() + 4, cell.top() + 2, cell.width() - 8, fm.height());
        p.drawText(title, Qt::AlignLeft | Qt::AlignVCenter, fm.elidedText(s.name, Qt::ElideRight, title.width()));
        p.setFont(font());
        // mini bars
        const QRect bars(cell.left() + 4, title.bottom() + 3, cell.width() - 8,
                         cell.height() - 2 * fm.height() - 10);
        const int n = std::min<int>(int(s.top.size()), 20);
        if (n > 0 && bars.height() > 4) {
            const double bw = double(bars.width()) / 20.0;
            double peak = 0;
            for (int k = 0; k < n; ++k)
                peak = std::max(peak, s.top[k]);
            peak = peak > 0 ? peak : 1.0; // each cell is scaled to its own tallest bar
            p.setPen(Qt::NoPen);
            p.setBrush(QColor(60, 110, 190));
            for (int k = 0; k < n; ++k) {
                const double h = std::clamp(s.top[k] / peak, 0.0, 1.0) * bars.height();
                p.drawRect(QRectF(bars.left() + k * bw + 0.5, bars.bottom() - h, std::max(1.0, bw - 1.0), h));
            }
        }
        p.setPen(palette().color(QPalette::Text));
        const QRect foot(cell.left() + 4, cell.bottom() - fm.height() - 2, cell.width() - 8, fm.height());
        p.drawText(foot, Qt::AlignLeft | Qt::AlignVCenter,
                   fm.elidedText(tr("%1 left · H %2").arg(s.survivors).arg(s.entropy, 0, 'f', 2)
                                     + (s.detail.isEmpty() ? QString() : QStringLiteral(" · ") + s.detail),
                                 Qt::ElideRight, foot.width()));
        if (i + 1 < m_stages.size()) {
            p.setPen(QPen(QColor(120, 120, 120), 1.5));
            const int y = cell.center().y();
            const int x0 = cell.right() + 3, x1 = cell.right() + 11;
            p.drawLine(x0, y, x1, y);
            p.drawLine(x1 - 4, y - 4, x1, y);
            p.drawLine(x1 - 4, y + 4, x1, y);
        }
    }
}

bool StageStrip::event(QEvent* event)
{
    if (event->type() == QEvent::ToolTip) {
        auto* help = static_cast<QHelpEvent*>(event);
        for (int i = 0; i < m_stages.size(); ++i)
            if (cellRect(i).contains(help->pos())) {
                QToolTip::showText(help->globalPos(),
                                   QStringLiteral("<b>%1</b><br>%2<br>%3 tokens survive · entropy %4 nats · most likely %5%"
                                                  "%6<br><i>Bars: the top 20 after this stage, scaled to the tallest.</i>")
                                       .arg(m_stages[i].name.toHtmlEscaped(), stageExplanation(m_stages[i].name))
                                       .arg(m_stages[i].survivors)
                                       .arg(m_stages[i].entropy, 0, 'f', 3)
                                       .arg(m_stages[i].top.isEmpty() ? 0.0 : 100.0 * m_stages[i].top.first(), 0, 'f', 1)
                                       .arg(m_stages[i].detail.isEmpty() ? QString()
                                                                         : QStringLiteral("<br>") + m_stages[i].detail.toHtmlEscaped()),
                                   this, cellRect(i));
                return true;
            }
        QToolTip::hideText();
        return true;
    }
    return QWidget::event(event);
}

} // namespace logitscope::gui
