// Item-data roles shared by the token list models, so one chip view can draw prompt and output alike.
#pragma once

#include <Qt>

namespace logitscope::gui {

enum TokenRole {
    TokenIdRole = Qt::UserRole + 1, // int
    TokenBytesRole,                 // QByteArray, exact bytes
    TokenPieceRole,                 // QString, vocabulary entry
    ProbabilityRole,                // double, after the chain (generated tokens)
    RawProbabilityRole,             // double, raw model probability
    StepRole,                       // int, index among the lane's generated tokens
    ForcedRole,                     // bool, chosen by the user (branch)
    PartialCharacterRole,           // bool, the bytes are only part of a UTF-8 character
};

} // namespace logitscope::gui
