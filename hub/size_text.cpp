// Byte counts as text.
#include "size_text.h"

namespace logitscope::hub {

QString sizeText(qint64 bytes)
{
    if (bytes < 0)
        return "?";
    if (bytes < 1000)
        return QString::number(bytes) + " B";
    const char* units[] = {"kB", "MB", "GB", "TB"};
    double v = double(bytes);
    int u = -1;
    while (v >= 1000 && u < 3) {
        v /= 1000;
        ++u;
    }
    return QString::number(v, 'f', v < 10 ? 2 : 1) + ' ' + units[u];
}

QString speedText(double bytesPerSecond)
{
    return sizeText(qint64(bytesPerSecond)) + "/s";
}

} // namespace logitscope::hub
