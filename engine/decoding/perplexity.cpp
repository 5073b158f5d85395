// Sliding-window perplexity over a Session's prompt scores.
#include "decoding/perplexity.h"

#include "common/error.h"
#include "decoding/session.h"
#include "model/model.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <string>

namespace logitscope {

double PerplexityResult::meanNll() const
{
    return tokens > 0 ? nllSum / tokens : std::numeric_limits<double>::quiet_NaN();
}

double PerplexityResult::perplexity() const
{
    return std::exp(meanNll());
}

double PerplexityResult::standardError() const
{
    if (tokens < 2)
        return std::numeric_limits<double>::quiet_NaN();
    const double mean = meanNll();
    const double variance = std::max(0.0, nllSquares / tokens - mean * mean) * tokens / (tokens - 1);
    return perplexity() * std::sqrt(variance / tokens);
}

PerplexityResult evaluatePerplexity(Session& session, std::span<const int32_t> ids, int window, int stride,
                                    const std::function<void(const PerplexityResult&)>& afterWindow)
{
    const int context = session.model().config().contextLength;
    if (window < 2 || window >= context)
        throw Error("perplexity window: " + std::to_string(window) + " tokens; it must be at least 2 and leave one of "
                    "the context length's " + std::to_string(context) + " positions free (at most " +
                    std::to_string(context - 1) + ")");
    if (stride < 1 || stride > window)
        throw Error("perplexity stride: " + std::to_string(stride) + " tokens; it must be between 1 and the window (" +
                    std::to_string(window) + ")");
    if (ids.size() < 2)
        throw Error("perplexity: the text is " + std::to_string(ids.size()) + " token(s); at least 2 are needed "
                    "(the first has nothing before it to predict it)");
    if (!session.options().promptLogprobs)
        throw Error("perplexity: the session does not score prompts (promptLogprobs is off)");

    SamplingParams params;
    params.greedy = true;
    params.maxNewTokens = 1;
    PerplexityResult r;
    const int n = int(ids.size());
    int scoredUpTo = 1; // positions below this are done (position 0 has nothing to predict it)
    for (int begin = 0; scoredUpTo < n; begin += stride) {
        const int end = std::min(begin + window, n);
        const std::vector<int32_t> chunk(ids.begin() + begin, ids.begin() + end);
        const PrefillRecord pre = session.prefill(chunk, params);
        // A window's first token has nothing before it in the window: with stride == window it goes unscored.
        for (int pos = std::max(scoredUpTo, begin + 1); pos < end; ++pos) {
            const PromptTokenScore& s = pre.promptScores[size_t(pos - begin)];
            const double nll = -double(s.logprob);
            r.nllSum += nll;
            r.nllSquares += nll * nll;
            ++r.tokens;
        }
        scoredUpTo = end;
        ++r.windows;
        if (afterWindow)
            afterWindow(r);
    }
    return r;
}

} // namespace logitscope
