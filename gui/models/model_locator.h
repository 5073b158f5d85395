// Where the bundled default model is found: beside the executable, in the installed data
// directory, then in the source tree (a compile definition). A --model option bypasses all of it.
#pragma once

#include <QString>
#include <QStringList>

namespace logitscope::gui {

inline constexpr const char* kDefaultModelName = "logitscope-brown";

// Every place looked at, in order (shown in the "no model loaded" state).
QStringList defaultModelCandidates();
// The first candidate that exists, or an empty string.
QString findDefaultModel();

} // namespace logitscope::gui
