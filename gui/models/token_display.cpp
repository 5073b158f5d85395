// Token labels and the probability colour scale.
#include "models/token_display.h"

#include <QTextDocument>

#include <algorithm>
#include <array>
#include <cmath>

namespace logitscope::gui {

bool isCompleteUtf8(const QByteArray& bytes)
{
    int i = 0;
    const int n = int(bytes.size());
    while (i < n) {
        const auto c = uchar(bytes[i]);
        int len = c < 0x80 ? 1 : (c >> 5) == 0x6 ? 2 : (c >> 4) == 0xE ? 3 : (c >> 3) == 0x1E ? 4 : 0;
        if (len == 0 || i + len > n)
            return false;
        for (int k = 1; k < len; ++k)
            if ((uchar(bytes[i + k]) >> 6) != 0x2)
                return false;
        i += len;
    }
    return true;
}

QString hexBytes(const QByteArray& bytes)
{
    QString out;
    for (int i = 0; i < bytes.size(); ++i) {
        if (i)
            out += QLatin1Char(' ');
        out += QString::asprintf("%02X", uchar(bytes[i]));
    }
    return out;
}

QString tokenLabel(const QByteArray& bytes, int maxChars)
{
    if (bytes.isEmpty())
        return QStringLiteral("∅");
    if (!isCompleteUtf8(bytes))
        return QStringLiteral("‹%1›").arg(hexBytes(bytes));
    QString text = QString::fromUtf8(bytes);
    QString out;
    out.reserve(text.size());
    for (QChar ch : text) {
        if (ch == QLatin1Char(' '))
            out += QStringLiteral("·");
        else if (ch == QLatin1Char('\n'))
            out += QStringLiteral("↵");
        else if (ch == QLatin1Char('\t'))
            out += QStringLiteral("→");
        else if (ch == QLatin1Char('\r'))
            out += QStringLiteral("␍");
        else if (ch.unicode() < 0x20)
            out += QString::asprintf("\\x%02X", ch.unicode());
        else
            out += ch;
    }
    if (maxChars > 0 && out.size() > maxChars)
        out = out.left(maxChars - 1) + QStringLiteral("…");
    return out;
}

QString tokenTooltip(int id, const QByteArray& bytes, const QString& piece)
{
    QString s = QStringLiteral("<b>token %1</b>").arg(id);
    if (!piece.isEmpty())
        s += QStringLiteral("<br>vocabulary entry: <tt>%1</tt>").arg(piece.toHtmlEscaped());
    s += QStringLiteral("<br>bytes: <tt>%1</tt>").arg(bytes.isEmpty() ? QStringLiteral("(none)") : hexBytes(bytes));
    if (!bytes.isEmpty() && !isCompleteUtf8(bytes))
        s += QStringLiteral("<br><i>only part of a UTF-8 character: the next token(s) complete it</i>");
    return s;
}

QString plainToRich(const QString& text)
{
    return Qt::convertFromPlainText(text, Qt::WhiteSpaceNormal);
}

QString probabilityText(double p)
{
    const double percent = 100.0 * p;
    if (!std::isfinite(percent))
        return QStringLiteral("—");
    if (percent <= 0)
        return QStringLiteral("0 %");
    if (percent < 1e-4) // a token the model all but ruled out: "4.7e-08 %"
        return QStringLiteral("%1 %").arg(percent, 0, 'g', 2);
    if (percent >= 1)
        return QStringLiteral("%1 %").arg(percent, 0, 'f', 1);
    const int decimals = 1 - int(std::floor(std::log10(percent)));
    return QStringLiteral("%1 %").arg(percent, 0, 'f', decimals);
}

QColor probabilityColor(double p)
{
    // Viridis-like stops, low -> high probability.
    static constexpr std::array<std::array<int, 3>, 6> stops{{
        {{68, 1, 84}}, {{65, 68, 135}}, {{42, 120, 142}}, {{34, 168, 132}}, {{122, 209, 81}}, {{253, 231, 37}}}};
    if (!std::isfinite(p))
        p = 0;
    p = std::clamp(p, 0.0, 1.0);
    const double x = p * (stops.size() - 1);
    const int i = std::min(int(x), int(stops.size()) - 2);
    const double f = x - i;
    auto mix = [&](int c) { return int(std::lround(stops[i][c] * (1 - f) + stops[i + 1][c] * f)); };
    return QColor(mix(0), mix(1), mix(2));
}

QColor textColorOn(const QColor& bg)
{
    const double lum = 0.299 * bg.redF() + 0.587 * bg.greenF() + 0.114 * bg.blueF();
    return lum > 0.55 ? QColor(20, 20, 20) : QColor(250, 250, 250);
}

} // namespace logitscope::gui
