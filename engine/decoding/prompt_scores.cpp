// Prompt token scores from a prefill's logits.
#include "decoding/prompt_scores.h"

#include "common/error.h"
#include "model/ops.h"

#include <cmath>
#include <string>
#include <vector>

namespace logitscope {

void scorePromptRows(std::span<PromptTokenScore> scores, std::span<const int32_t> ids, int t0, int rows,
                     std::span<const float> logits, int V)
{
    if (scores.size() != ids.size() || t0 < 0 || rows < 0 || size_t(t0) + size_t(rows) > ids.size() ||
        logits.size() != size_t(rows) * size_t(V))
        throw Error("scorePromptRows: rows [" + std::to_string(t0) + ", " + std::to_string(t0 + rows) + ") of " +
                    std::to_string(logits.size()) + " logits do not fit a prompt of " + std::to_string(ids.size()) +
                    " tokens");
    std::vector<float> lp(static_cast<size_t>(V));
    for (int r = 0; r < rows; ++r) {
        const size_t next = size_t(t0 + r + 1);
        if (next >= ids.size())
            break;
        const float* row = logits.data() + size_t(r) * size_t(V);
        ops::logSoftmax(lp.data(), row, V);
        const int32_t id = ids[next];
        PromptTokenScore& s = scores[next];
        s.logprob = lp[size_t(id)];
        s.rank = 0;
        s.expected = 0;
        for (int v = 0; v < V; ++v) {
            s.rank += row[v] > row[id];
            if (row[v] > row[s.expected])
                s.expected = v;
        }
        s.expectedLogprob = lp[size_t(s.expected)];
    }
}

double promptPerplexity(std::span<const PromptTokenScore> scores)
{
    double nll = 0;
    int n = 0;
    for (const PromptTokenScore& s : scores)
        if (s.scored()) {
            nll -= double(s.logprob);
            ++n;
        }
    return n > 0 ? std::exp(nll / n) : std::numeric_limits<double>::quiet_NaN();
}

} // namespace logitscope
