// The sampler chain's stages (see sampler_stages.h). Each follows the arithmetic of its reference
// (float logits, float parameters) so processed distributions match Hugging Face to ~1e-6.
#include "decoding/sampler_stages.h"

#include <algorithm>
#include <cmath>
#include <limits>

namespace logitscope {

namespace {

constexpr float kNegInf = -std::numeric_limits<float>::infinity();

void concatIds(std::vector<int32_t>& out, std::span<const int32_t> a, std::span<const int32_t> b)
{
    out.clear();
    out.reserve(a.size() + b.size());
    out.insert(out.end(), a.begin(), a.end());
    out.insert(out.end(), b.begin(), b.end());
}

} // namespace

void RepetitionPenaltyStage::apply(CandidateSet& set, const SamplingContext& ctx)
{
    concatIds(m_ids, ctx.promptIds, ctx.generatedIds);
    std::sort(m_ids.begin(), m_ids.end());
    m_ids.erase(std::unique(m_ids.begin(), m_ids.end()), m_ids.end());
    for (int32_t id : m_ids) {
        Candidate* c = set.find(id);
        if (!c || c->logit == kNegInf)
            continue;
        const float l = c->logit;
        set.setLogit(*c, l < 0 ? l * m_penalty : l / m_penalty);
    }
}

void NoRepeatNgramStage::apply(CandidateSet& set, const SamplingContext& ctx)
{
    concatIds(m_ids, ctx.promptIds, ctx.generatedIds);
    const int len = int(m_ids.size());
    const int n = m_n;
    if (n <= 0 || len + 1 < n)
        return;
    // The last n-1 ids; every earlier n-gram that starts with them bans its final token.
    const int32_t* prefix = m_ids.data() + (len + 1 - n);
    for (int start = 0; start + n <= len; ++start) {
        if (!std::equal(prefix, prefix + (n - 1), m_ids.data() + start))
            continue;
        if (Candidate* c = set.find(m_ids[size_t(start + n - 1)]))
            set.mask(*c);
    }
}

void MinNewTokensStage::apply(CandidateSet& set, const SamplingContext& ctx)
{
    if (int64_t(ctx.generatedIds.size()) >= int64_t(m_minNew))
        return;
    for (int32_t eos : ctx.eosIds)
        if (Candidate* c = set.find(eos))
            set.mask(*c);
}

void PresenceFrequencyStage::apply(CandidateSet& set, const SamplingContext& ctx)
{
    m_ids.assign(ctx.generatedIds.begin(), ctx.generatedIds.end());
    std::sort(m_ids.begin(), m_ids.end());
    for (size_t i = 0; i < m_ids.size();) {
        size_t j = i;
        while (j < m_ids.size() && m_ids[j] == m_ids[i])
            ++j;
        const float count = float(j - i);
        Candidate* c = set.find(m_ids[i]);
        if (c && c->logit != kNegInf) {
            float l = c->logit - m_frequency * count;
            l = l - m_presence;
            set.setLogit(*c, l);
        }
        i = j;
    }
}

void TemperatureStage::apply(CandidateSet& set, const SamplingContext&) { set.divideLogits(m_t); }

void TopKStage::apply(CandidateSet& set, const SamplingContext&)
{
    const int n = set.survivors();
    const int k = std::max(m_k, 1);
    if (k >= n)
        return;
    set.sortTop(k);
    std::span<Candidate> live = set.live();
    const float edge = live[size_t(k - 1)].logit;
    // HF removes only logits strictly below the k-th value: bring ties forward.
    int end = k;
    for (int i = k; i < n; ++i)
        if (live[size_t(i)].logit == edge)
            std::swap(live[size_t(end++)], live[size_t(i)]);
    if (end > k) {
        std::sort(live.begin() + k, live.begin() + end,
                  [](const Candidate& a, const Candidate& b) { return a.id < b.id; });
        set.markReordered(end);
    }
    set.keepFirst(end);
}

void TopPStage::apply(CandidateSet& set, const SamplingContext&)
{
    const int n = set.survivors();
    if (n <= 1)
        return;
    const double logZ = set.stats().logPartition();
    double above = 0; // probability mass of the tokens ranked before i
    int keep = n;
    for (int i = 0; i < n; ++i) {
        if (i >= set.sortedCount())
            set.sortTop(std::min(n, std::max(2 * i, i + 64)));
        if (above >= m_p) {
            keep = i;
            break;
        }
        above += std::exp(double(set.live()[size_t(i)].logit) - logZ);
    }
    set.keepFirst(keep);
}

void MinPStage::apply(CandidateSet& set, const SamplingContext&)
{
    if (set.survivors() <= 1)
        return;
    const double threshold = double(set.maxLogit()) + std::log(m_minP);
    set.keepIf([threshold](const Candidate& c) { return double(c.logit) >= threshold; });
}

void TypicalPStage::apply(CandidateSet& set, const SamplingContext&)
{
    const int n = set.survivors();
    if (n <= 1)
        return;
    const SoftmaxStats& st = set.stats();
    const double logZ = st.logPartition();
    const double entropy = st.entropy();
    std::span<Candidate> live = set.live();
    // Typicality |-log p - H| in float, as HF computes it, parked in `prob` while this stage runs.
    for (Candidate& c : live)
        c.prob = float(std::abs(logZ - double(c.logit) - entropy));
    auto less = [](const Candidate& a, const Candidate& b) { return a.prob != b.prob ? a.prob < b.prob : a.id < b.id; };
    // Sort by typicality a chunk at a time, accumulating mass until it reaches m_mass.
    int sorted = 0;
    int last = n - 1;
    double cum = 0;
    for (int i = 0; i < n; ++i) {
        if (i >= sorted) {
            const int next = std::min(n, std::max(2 * sorted, sorted + 64));
            if (next < n)
                std::nth_element(live.begin() + sorted, live.begin() + next, live.end(), less);
            std::sort(live.begin() + sorted, live.begin() + next, less);
            sorted = next;
        }
        cum += std::exp(double(live[size_t(i)].logit) - logZ);
        if (cum >= m_mass) {
            last = i;
            break;
        }
    }
    // HF removes only tokens strictly less typical than the last kept one: bring ties forward.
    const float edge = live[size_t(last)].prob;
    int end = last + 1;
    for (int i = end; i < n; ++i)
        if (live[size_t(i)].prob <= edge)
            std::swap(live[size_t(end++)], live[size_t(i)]);
    for (Candidate& c : live)
        c.prob = 0;
    set.markReordered(0);
    set.keepFirst(end);
}

} // namespace logitscope
