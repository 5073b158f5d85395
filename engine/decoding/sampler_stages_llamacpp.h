// The sampler chain's stages with llama.cpp's semantics (src/llama-sampling.cpp at c392e50): logit bias,
// DRY, XTC, top-n-sigma, dynamic temperature, mirostat v1 and v2. Each is one concept; where they sit in
// each order, and mirostat's final draw and mu update, are the chain's business (sampler_chain.h).
// Not the Hugging Face / vLLM stages (sampler_stages.h), and not a tokenizer: SamplerVocabulary carries
// the little they need from one.
#pragma once

#include "decoding/sampler_stage.h"
#include "decoding/sampling_params.h"

#include <functional>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

namespace logitscope {

class Tokenizer;

// What DRY's sequence breakers and logit_bias texts need from the tokenizer, as plain data.
struct SamplerVocabulary {
    std::vector<std::string> texts; // (V) each token decoded on its own, special tokens as their text
    // Text -> ids without BOS/EOS and without parsing special-token text (llama.cpp's tokenize(s, false, false)).
    std::function<std::vector<int32_t>(const std::string&)> encode;

    static std::shared_ptr<const SamplerVocabulary> fromTokenizer(const Tokenizer& tokenizer);
};

// llama.cpp logit-bias: logit += bias for each entry (entries for the same id add up); -inf masks. Text
// entries are tokenized with SamplingContext::vocab (skipped without one); ids outside the vocabulary are
// ignored (Session refuses them).
class LogitBiasStage final : public SamplerStage {
public:
    explicit LogitBiasStage(std::vector<LogitBias> entries) : m_entries(std::move(entries)) {}
    std::string_view name() const override { return "logit_bias"; }
    void apply(CandidateSet& set, const SamplingContext& ctx) override;
    bool isWarper() const override { return false; }

private:
    std::vector<LogitBias> m_entries;
    const SamplerVocabulary* m_resolvedFor = nullptr;
    std::vector<std::pair<int32_t, float>> m_resolved; // (id, bias) after tokenizing the texts
};

// DRY ("don't repeat yourself", Koboldcpp / llama.cpp): over the last `lastN` ids of prompt + output
// (-1 = all), a token that would extend a repeat of length L >= allowedLength of the text's end gets
// logit -= multiplier * base^(L - allowedLength). Repeats do not reach back across a sequence breaker
// (a string; the tokens whose text contains it, or ends with its start and continues with its tokenized
// rest), and a token that is itself a whole breaker is never penalised.
class DryStage final : public SamplerStage {
public:
    DryStage(float multiplier, float base, int allowedLength, int lastN, std::vector<std::string> breakers);
    std::string_view name() const override { return "dry"; }
    void apply(CandidateSet& set, const SamplingContext& ctx) override;
    bool isWarper() const override { return false; }
    std::string detail() const override { return m_detail; }

    // The breakers as llama.cpp processes them: head token -> every tail (ids that must follow it; empty
    // for a token that holds a whole breaker). Public for the unit tests.
    using Breakers = std::unordered_multimap<int32_t, std::vector<int32_t>>;
    static Breakers processBreakers(const std::vector<std::string>& breakers, const SamplerVocabulary& vocab);
    // For tests without a vocabulary: breakers given as id sequences (head, tail...).
    void setBreakers(Breakers breakers);

private:
    float m_multiplier;
    float m_base;
    int m_allowedLength;
    int m_lastN;
    std::vector<std::string> m_breakerTexts;
    const SamplerVocabulary* m_breakersFor = nullptr;
    bool m_fixedBreakers = false;
    Breakers m_breakers;
    std::vector<int32_t> m_ids;
    std::unordered_map<int32_t, int> m_maxRepeat;
    std::string m_detail;
};

// XTC ("exclude top choices"): with probability `probability` (a Philox draw of its own: word 1 of the
// (seed, lane, step) block, the sampler's draw being word 0), every token with prob >= threshold except the
// least likely of them is removed. Does nothing when threshold > 0.5 or fewer than two survive.
class XtcStage final : public SamplerStage {
public:
    XtcStage(float probability, float threshold, uint64_t seed) : m_probability(probability), m_threshold(threshold), m_seed(seed) {}
    std::string_view name() const override { return "xtc"; }
    void apply(CandidateSet& set, const SamplingContext& ctx) override;
    bool isWarper() const override { return true; }
    std::string detail() const override { return m_detail; }

private:
    float m_probability;
    float m_threshold;
    uint64_t m_seed;
    std::string m_detail;
};

// top-n-sigma (Tang et al. 2024): keeps the survivors whose logit >= max - n * std, std and mean over the
// survivors' logits (population). llama.cpp counts masked (-inf) entries still in its array; we do not.
class TopNSigmaStage final : public SamplerStage {
public:
    explicit TopNSigmaStage(float n) : m_n(n) {}
    std::string_view name() const override { return "top_n_sigma"; }
    void apply(CandidateSet& set, const SamplingContext& ctx) override;
    bool isWarper() const override { return true; }
    std::string detail() const override { return m_detail; }

private:
    float m_n;
    std::string m_detail;
};

// Dynamic temperature (llama.cpp temp-ext with delta > 0): T = Tmin + (Tmax - Tmin) * (H / log n)^exponent,
// Tmin = max(0, t - range), Tmax = t + range, H the entropy over the n survivors; then logit / T
// (T <= 0 keeps only the most likely token).
class DynatempStage final : public SamplerStage {
public:
    DynatempStage(float temperature, float range, float exponent) : m_t(temperature), m_range(range), m_exponent(exponent) {}
    std::string_view name() const override { return "dynatemp"; }
    void apply(CandidateSet& set, const SamplingContext& ctx) override;
    bool preservesOrder() const override { return true; }
    bool isWarper() const override { return true; }
    std::string detail() const override { return m_detail; }

private:
    float m_t;
    float m_range;
    float m_exponent;
    std::string m_detail;
};

// Mirostat v1 (Basu et al. 2021) and v2, as llama.cpp: v1 estimates the Zipf exponent s from the top 100
// probabilities and keeps the top k = ((s-1) 2^mu / (1 - V^(1-s)))^(1/s) tokens; v2 keeps the tokens whose
// surprise -log2 p <= mu (at least one). The chain then draws from the survivors and updates
// mu -= eta * (-log2 p(chosen) - tau) (SampleResult::mirostatMu). mu starts at 2 * tau.
class MirostatStage final : public SamplerStage {
public:
    MirostatStage(int version, float tau, float eta) : m_version(version), m_tau(tau), m_eta(eta) {}
    std::string_view name() const override { return m_version == 1 ? "mirostat" : "mirostat_v2"; }
    void apply(CandidateSet& set, const SamplingContext& ctx) override;
    bool isWarper() const override { return true; }
    std::string detail() const override { return m_detail; }

    // The mu this step starts from (ctx.mirostatMu, or 2 * tau when not finite).
    float startMu(const SamplingContext& ctx) const;
    // The mu after choosing a token of probability p (p <= 0 leaves mu as it was).
    float nextMu(float mu, float p) const;

    static constexpr int kTopM = 100; // llama.cpp's m for v1

private:
    int m_version;
    float m_tau;
    float m_eta;
    std::string m_detail;
};

} // namespace logitscope
