// Human-readable byte counts and speeds for the CLI and the dialogs ("270.9 MB", "4.2 MB/s"). SI units.
#pragma once

#include <QString>

namespace logitscope::hub {

QString sizeText(qint64 bytes);
QString speedText(double bytesPerSecond);

} // namespace logitscope::hub
