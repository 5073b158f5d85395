// The llama.cpp-semantics stages (see sampler_stages_llamacpp.h). Float arithmetic where llama.cpp uses
// float and the result is a threshold (mirostat's k, DRY's penalty), doubles for sums over the vocabulary.
#include "decoding/sampler_stages_llamacpp.h"

#include "decoding/philox.h"
#include "tokenizer/tokenizer.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <limits>

namespace logitscope {

namespace {

constexpr float kNegInf = -std::numeric_limits<float>::infinity();

std::string format(const char* fmt, double a, double b = 0, double c = 0)
{
    char buf[160];
    std::snprintf(buf, sizeof buf, fmt, a, b, c);
    return buf;
}

// Probability of each of the first `count` survivors (sorted by logit, best first).
double probOf(const Candidate& c, double logZ) { return std::exp(double(c.logit) - logZ); }

} // namespace

// --- SamplerVocabulary ---

std::shared_ptr<const SamplerVocabulary> SamplerVocabulary::fromTokenizer(const Tokenizer& tokenizer)
{
    auto v = std::make_shared<SamplerVocabulary>();
    const int32_t n = tokenizer.vocabSize();
    v->texts.resize(size_t(n));
    for (int32_t id = 0; id < n; ++id) {
        const int32_t one[1] = {id};
        v->texts[size_t(id)] = tokenizer.decode(one, /*skipSpecial=*/false);
    }
    const Tokenizer* tok = &tokenizer; // the tokenizer outlives the vocabulary (both belong to the model)
    v->encode = [tok](const std::string& text) {
        EncodeOptions opt;
        opt.addSpecial = false;
        opt.parseSpecial = false;
        return tok->encode(text, opt);
    };
    return v;
}

// --- logit bias ---

void LogitBiasStage::apply(CandidateSet& set, const SamplingContext& ctx)
{
    if (m_resolved.empty() || m_resolvedFor != ctx.vocab) {
        m_resolved.clear();
        for (const LogitBias& b : m_entries) {
            if (b.id >= 0) {
                m_resolved.emplace_back(b.id, float(b.bias));
            } else if (ctx.vocab && ctx.vocab->encode) {
                for (int32_t id : ctx.vocab->encode(b.text))
                    m_resolved.emplace_back(id, float(b.bias));
            }
        }
        m_resolvedFor = ctx.vocab;
    }
    for (const auto& [id, bias] : m_resolved) {
        Candidate* c = set.find(id);
        if (!c || c->logit == kNegInf)
            continue;
        if (bias == kNegInf)
            set.mask(*c);
        else
            set.setLogit(*c, c->logit + bias);
    }
}

// --- DRY ---

DryStage::DryStage(float multiplier, float base, int allowedLength, int lastN, std::vector<std::string> breakers)
    : m_multiplier(multiplier), m_base(base), m_allowedLength(allowedLength), m_lastN(lastN),
      m_breakerTexts(std::move(breakers))
{
}

DryStage::Breakers DryStage::processBreakers(const std::vector<std::string>& breakers, const SamplerVocabulary& vocab)
{
    constexpr size_t kMaxChars = 40; // llama.cpp truncates a breaker to 40 bytes ...
    constexpr size_t kMaxTail = 20;  // ... and a tail to 20 tokens
    Breakers out;
    for (std::string str : breakers) {
        if (str.empty())
            continue;
        if (str.size() > kMaxChars)
            str.resize(kMaxChars);
        for (int32_t id = 0; id < int32_t(vocab.texts.size()); ++id) {
            const std::string& word = vocab.texts[size_t(id)];
            if (word.find(str) != std::string::npos) {
                out.emplace(id, std::vector<int32_t>{}); // the token holds the whole breaker
                continue;
            }
            // The token ends with the breaker's first i bytes: the rest must follow as tokens.
            for (size_t pos = word.find(str[0]); pos != std::string::npos; pos = word.find(str[0], pos + 1)) {
                const size_t i = word.size() - pos; // bytes of the word from pos on (< str.size(): not found whole)
                if (i >= str.size() || word.compare(pos, i, str, 0, i) != 0)
                    continue;
                std::vector<int32_t> tail = vocab.encode ? vocab.encode(str.substr(i)) : std::vector<int32_t>{};
                if (tail.size() > kMaxTail)
                    tail.resize(kMaxTail);
                bool seen = false;
                auto range = out.equal_range(id);
                for (auto it = range.first; it != range.second && !seen; ++it)
                    seen = it->second == tail;
                if (!seen)
                    out.emplace(id, std::move(tail));
            }
        }
    }
    return out;
}

void DryStage::setBreakers(Breakers breakers)
{
    m_breakers = std::move(breakers);
    m_fixedBreakers = true;
}

void DryStage::apply(CandidateSet& set, const SamplingContext& ctx)
{
    m_detail.clear();
    if (m_multiplier == 0.0f || m_base < 1.0f || m_lastN == 0)
        return;
    if (!m_fixedBreakers && m_breakersFor != ctx.vocab) {
        m_breakers = ctx.vocab ? processBreakers(m_breakerTexts, *ctx.vocab) : Breakers{};
        m_breakersFor = ctx.vocab;
    }
    // The last n ids of prompt + output, oldest first.
    const size_t total = ctx.promptIds.size() + ctx.generatedIds.size();
    const size_t n = m_lastN < 0 ? total : std::min(total, size_t(m_lastN));
    m_ids.clear();
    for (size_t k = total - n; k < total; ++k)
        m_ids.push_back(k < ctx.promptIds.size() ? ctx.promptIds[k] : ctx.generatedIds[k - ctx.promptIds.size()]);
    const int len = int(m_ids.size());
    if (len <= m_allowedLength)
        return;
    auto back = [this, len](int i) { return m_ids[size_t(len - 1 - i)]; }; // i-th id from the end

    // 1. The nearest breaker before the end limits how far back a repeat may reach.
    int repLimit = len;
    for (int i = 0; i < len; ++i) {
        auto range = m_breakers.equal_range(back(i));
        int longest = -1;
        for (auto it = range.first; it != range.second; ++it) {
            const int tailLen = int(it->second.size());
            if (tailLen <= longest || tailLen > i)
                continue;
            bool match = true;
            for (int k = 0; k < tailLen && match; ++k)
                match = it->second[size_t(k)] == back(i - k - 1);
            if (match)
                longest = tailLen;
        }
        if (longest >= 0) {
            repLimit = i - longest;
            break;
        }
    }
    if (repLimit < m_allowedLength)
        return;

    // 2. For every earlier position j: how many ids ending at j equal the ids ending the text (capped at
    // repLimit). The id after j would extend that repeat.
    m_maxRepeat.clear();
    for (int j = 0; j + 1 < len; ++j) {
        int m = 0;
        while (m < repLimit && m <= j && m_ids[size_t(j - m)] == m_ids[size_t(len - 1 - m)])
            ++m; // stops at repLimit: longer repeats count as repLimit (and a long run stays linear per j)
        if (m < m_allowedLength)
            continue;
        const int32_t next = m_ids[size_t(j + 1)];
        auto [it, fresh] = m_maxRepeat.emplace(next, m);
        if (!fresh && it->second < m)
            it->second = m;
    }

    // 3. Penalise them (never a token that is a whole breaker), the exponent capped so base^e stays finite.
    constexpr float kFloatMaxLog = 88.7228391f;
    int maxExponent = 0;
    if (m_base > 1.000001f)
        maxExponent = int(kFloatMaxLog / std::log(m_base));
    int penalised = 0;
    int longestRepeat = 0;
    for (const auto& [id, repeat] : m_maxRepeat) {
        Candidate* c = set.find(id);
        if (!c || c->logit == kNegInf)
            continue;
        bool wholeBreaker = false;
        auto range = m_breakers.equal_range(id);
        for (auto it = range.first; it != range.second && !wholeBreaker; ++it)
            wholeBreaker = it->second.empty();
        if (wholeBreaker)
            continue;
        int e = repeat - m_allowedLength;
        if (maxExponent > 0 && e > maxExponent)
            e = maxExponent;
        const float penalty = float(double(m_multiplier) * std::pow(double(m_base), double(e)));
        set.setLogit(*c, c->logit - penalty);
        ++penalised;
        longestRepeat = std::max(longestRepeat, repeat);
    }
    if (penalised > 0)
        m_detail = format("%.0f penalised, longest repeat %.0f", penalised, longestRepeat);
}

// --- XTC ---

void XtcStage::apply(CandidateSet& set, const SamplingContext& ctx)
{
    m_detail.clear();
    const int n = set.survivors();
    if (m_probability <= 0.0f || m_threshold > 0.5f || n < 2)
        return;
    const float chance = PhiloxDraw(m_seed, ctx.lane, ctx.step).uniform(1);
    if (chance > m_probability) {
        m_detail = format("draw %.3f > %.3f: not applied", chance, m_probability);
        return;
    }
    const double logZ = set.stats().logPartition();
    // The leading tokens at or above the threshold (at most 1/threshold of them when threshold > 0).
    int above = 0;
    for (int i = 0; i < n; ++i) {
        if (i >= set.sortedCount())
            set.sortTop(std::min(n, std::max(2 * i, i + 16)));
        if (float(probOf(set.live()[size_t(i)], logZ)) < m_threshold)
            break;
        above = i + 1;
    }
    const int removed = above - 1; // the least likely of them stays
    if (removed <= 0) {
        m_detail = format("draw %.3f: fewer than two at or above %.3f", chance, m_threshold);
        return;
    }
    std::vector<int32_t> drop;
    for (int i = 0; i < removed; ++i)
        drop.push_back(set.live()[size_t(i)].id);
    std::sort(drop.begin(), drop.end());
    set.keepIf([&drop](const Candidate& c) { return !std::binary_search(drop.begin(), drop.end(), c.id); });
    m_detail = format("draw %.3f: removed the top %.0f", chance, removed);
}

// --- top-n-sigma ---

void TopNSigmaStage::apply(CandidateSet& set, const SamplingContext&)
{
    m_detail.clear();
    std::span<Candidate> live = set.live();
    if (live.size() <= 1)
        return;
    double sum = 0;
    float max = live[0].logit;
    for (const Candidate& c : live) {
        sum += double(c.logit);
        max = std::max(max, c.logit);
    }
    const double mean = sum / double(live.size());
    double acc = 0;
    for (const Candidate& c : live)
        acc += (double(c.logit) - mean) * (double(c.logit) - mean);
    const double sigma = std::sqrt(acc / double(live.size()));
    const float edge = float(double(max) - double(m_n) * sigma);
    set.keepIf([edge](const Candidate& c) { return !(c.logit < edge); });
    m_detail = format("sigma %.3f, keeps logit >= %.3f", sigma, edge);
}

// --- dynamic temperature ---

void DynatempStage::apply(CandidateSet& set, const SamplingContext&)
{
    m_detail.clear();
    const int n = set.survivors();
    if (n <= 1)
        return;
    const float minT = std::max(0.0f, m_t - m_range);
    const float maxT = m_t + m_range;
    const double maxEntropy = std::log(double(n));
    const double entropy = set.stats().entropy();
    const float normalized = float(entropy / maxEntropy);
    const float t = minT + (maxT - minT) * std::pow(normalized, m_exponent);
    m_detail = format("T %.4f (entropy %.3f of %.3f nats)", t, entropy, maxEntropy);
    if (t <= 0.0f) {
        set.sortTop(1);
        set.keepFirst(1);
        return;
    }
    set.divideLogits(t);
}

// --- mirostat ---

float MirostatStage::startMu(const SamplingContext& ctx) const
{
    return std::isfinite(ctx.mirostatMu) ? ctx.mirostatMu : 2.0f * m_tau;
}

float MirostatStage::nextMu(float mu, float p) const
{
    if (!(p > 0.0f))
        return mu;
    const float surprise = -std::log2(p);
    return mu - m_eta * (surprise - m_tau);
}

void MirostatStage::apply(CandidateSet& set, const SamplingContext& ctx)
{
    const float mu = startMu(ctx);
    const int n = set.survivors();
    if (n == 0)
        return;
    const double logZ = set.stats().logPartition();
    if (m_version == 1) {
        if (n < 2) {
            m_detail = format("mu %.4f, one candidate", mu);
            return;
        }
        // s estimated from the ratios of the top m probabilities (float, as llama.cpp).
        const int m = std::min(kTopM, n);
        set.sortTop(m);
        std::span<Candidate> live = set.live();
        float sumTiBi = 0, sumTiSq = 0;
        for (int i = 0; i + 1 < m; ++i) {
            const float ti = std::log(float(i + 2) / float(i + 1));
            const float pi = float(probOf(live[size_t(i)], logZ));
            const float pj = float(probOf(live[size_t(i + 1)], logZ));
            const float bi = std::log(pi / pj);
            sumTiBi += ti * bi;
            sumTiSq += ti * ti;
        }
        const float sHat = sumTiBi / sumTiSq;
        const float epsHat = sHat - 1;
        const float k = std::pow((epsHat * std::pow(2.0f, mu)) / (1 - std::pow(float(set.vocabSize()), -epsHat)), 1 / sHat);
        // k not a number (s = 0 or 1: a flat head) keeps everything; llama.cpp would cast NaN to int there.
        const int keep = !(k >= 1.0f) ? (std::isfinite(k) ? 1 : n) : (k >= float(n) ? n : int(k));
        if (keep < n) {
            set.sortTop(keep);
            set.keepFirst(keep);
        }
        m_detail = format("mu %.4f, s %.4f, k %.0f", mu, sHat, std::min(keep, n));
    } else {
        // Keep the leading tokens whose surprise is at most mu (at least the first).
        int keep = 0;
        for (int i = 0; i < n; ++i) {
            if (i >= set.sortedCount())
                set.sortTop(std::min(n, std::max(2 * i, i + 64)));
            const float p = float(probOf(set.live()[size_t(i)], logZ));
            if (-std::log2(p) > mu)
                break;
            keep = i + 1;
        }
        keep = std::max(keep, 1);
        set.keepFirst(keep);
        m_detail = format("mu %.4f, keeps %.0f with surprise <= mu", mu, keep);
    }
}

} // namespace logitscope
