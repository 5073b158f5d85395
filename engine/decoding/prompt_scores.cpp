// Prompt token scores from a prefill's logits.
#include "decoding/prompt_scores.h"

#include "common/error.h"
#include "decoding/fast_exp.h"

#include <cmath>
#include <cstring>
#include <string>

namespace logitscope {

namespace {

// log Σ exp(row[v]), v < V, around the row's maximum `mx`: fastExp on 8 lanes (decoding/fast_exp.h), the
// lanes added into a double every 64 vectors so a 150k-entry vocabulary loses no digits that matter.
double logSumExp(const float* row, int V, float mx)
{
    double sum = 0;
    int v = 0;
    while (v + 8 <= V) {
        Float8 acc{};
        for (int k = 0; k < 64 && v + 8 <= V; ++k, v += 8) {
            Float8 x;
            std::memcpy(&x, row + v, sizeof x);
            acc += fastExp8(x - mx);
        }
        for (int k = 0; k < 8; ++k)
            sum += double(acc[k]);
    }
    for (; v < V; ++v)
        sum += double(fastExp(row[v] - mx));
    return double(mx) + std::log(sum);
}

} // namespace

void scorePromptRows(std::span<PromptTokenScore> scores, std::span<const int32_t> ids, int t0, int rows,
                     std::span<const float> logits, int V)
{
    if (scores.size() != ids.size() || t0 < 0 || rows < 0 || size_t(t0) + size_t(rows) > ids.size() ||
        logits.size() != size_t(rows) * size_t(V))
        throw Error("scorePromptRows: rows [" + std::to_string(t0) + ", " + std::to_string(t0 + rows) + ") of " +
                    std::to_string(logits.size()) + " logits do not fit a prompt of " + std::to_string(ids.size()) +
                    " tokens");
    for (int r = 0; r < rows; ++r) {
        const size_t next = size_t(t0 + r + 1);
        if (next >= ids.size())
            break;
        const float* row = logits.data() + size_t(r) * size_t(V);
        const float target = row[ids[next]];
        PromptTokenScore& s = scores[next];
        // One pass for the model's first choice and how many tokens it ranked above the real one.
        int best = 0, above = 0;
        for (int v = 0; v < V; ++v) {
            above += row[v] > target;
            if (row[v] > row[best])
                best = v;
        }
        const double lse = logSumExp(row, V, row[best]);
        s.logprob = float(double(target) - lse);
        s.rank = above;
        s.expected = best;
        s.expectedLogprob = float(double(row[best]) - lse);
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
