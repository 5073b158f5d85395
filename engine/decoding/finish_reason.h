// FinishReason: why a lane (or a beam hypothesis) stopped generating, with its one-word name.
// The names ("length", "eos", "stop", "context") are what traces, the CLI and the GUI show.
// Not the stop-string matching itself (see stop_matcher.h).
#pragma once

#include <optional>
#include <string_view>

namespace logitscope {

enum class FinishReason {
    None,    // still running
    Length,  // maxNewTokens reached
    Eos,     // an end-of-sequence token was chosen
    Stop,    // a stop string matched the decoded text
    Context, // the model's context window is full
};

// "none", "length", "eos", "stop", "context".
const char* finishReasonName(FinishReason reason);
// The inverse of finishReasonName(); nullopt for an unknown name.
std::optional<FinishReason> finishReasonFromName(std::string_view name);

} // namespace logitscope
