// FinishReason names (see finish_reason.h).
#include "decoding/finish_reason.h"

namespace logitscope {

const char* finishReasonName(FinishReason reason)
{
    switch (reason) {
    case FinishReason::None: return "none";
    case FinishReason::Length: return "length";
    case FinishReason::Eos: return "eos";
    case FinishReason::Stop: return "stop";
    case FinishReason::Context: return "context";
    }
    return "none";
}

std::optional<FinishReason> finishReasonFromName(std::string_view name)
{
    for (FinishReason r : {FinishReason::None, FinishReason::Length, FinishReason::Eos, FinishReason::Stop,
                           FinishReason::Context})
        if (name == finishReasonName(r))
            return r;
    return std::nullopt;
}

} // namespace logitscope
