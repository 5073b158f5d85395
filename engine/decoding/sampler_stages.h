// The sampler chain's stages, each one concept with the semantics of the engine it comes from:
// Hugging Face's logits processors / warpers (repetition penalty, no-repeat-n-gram, min-new-tokens,
// temperature, top-k, top-p, min-p, typical-p) and OpenAI/vLLM presence and frequency penalties.
// Not the ordering of stages or the final choice (see sampler_chain.h).
#pragma once

#include "decoding/sampler_stage.h"

#include <vector>

namespace logitscope {

// HF RepetitionPenaltyLogitsProcessor: every distinct id of prompt + output, once:
// logit < 0 ? logit * penalty : logit / penalty.
class RepetitionPenaltyStage final : public SamplerStage {
public:
    explicit RepetitionPenaltyStage(float penalty) : m_penalty(penalty) {}
    std::string_view name() const override { return "repetition_penalty"; }
    void apply(CandidateSet& set, const SamplingContext& ctx) override;
    bool isWarper() const override { return false; }

private:
    float m_penalty;
    std::vector<int32_t> m_ids;
};

// HF NoRepeatNGramLogitsProcessor over prompt + output: a token that would complete an n-gram already
// present in the ids is masked.
class NoRepeatNgramStage final : public SamplerStage {
public:
    explicit NoRepeatNgramStage(int n) : m_n(n) {}
    std::string_view name() const override { return "no_repeat_ngram"; }
    void apply(CandidateSet& set, const SamplingContext& ctx) override;
    bool isWarper() const override { return false; }

private:
    int m_n;
    std::vector<int32_t> m_ids;
};

// HF MinNewTokensLengthLogitsProcessor: every EOS id masked while fewer than minNew tokens were generated.
class MinNewTokensStage final : public SamplerStage {
public:
    explicit MinNewTokensStage(int minNew) : m_minNew(minNew) {}
    std::string_view name() const override { return "min_new_tokens"; }
    void apply(CandidateSet& set, const SamplingContext& ctx) override;
    bool isWarper() const override { return false; }

private:
    int m_minNew;
};

// OpenAI / vLLM: logit -= frequency * count; logit -= presence (when count > 0), counting generated ids only.
class PresenceFrequencyStage final : public SamplerStage {
public:
    PresenceFrequencyStage(float presence, float frequency) : m_presence(presence), m_frequency(frequency) {}
    std::string_view name() const override { return "presence_frequency"; }
    void apply(CandidateSet& set, const SamplingContext& ctx) override;
    bool isWarper() const override { return false; }

private:
    float m_presence;
    float m_frequency;
    std::vector<int32_t> m_ids;
};

// HF TemperatureLogitsWarper: logit / t (t > 0).
class TemperatureStage final : public SamplerStage {
public:
    explicit TemperatureStage(float t) : m_t(t) {}
    std::string_view name() const override { return "temperature"; }
    void apply(CandidateSet& set, const SamplingContext& ctx) override;
    bool preservesOrder() const override { return true; }
    bool isWarper() const override { return true; }

private:
    float m_t;
};

// HF TopKLogitsWarper: keeps every token whose logit is >= the k-th largest (ties at the edge survive).
class TopKStage final : public SamplerStage {
public:
    explicit TopKStage(int k) : m_k(k) {}
    std::string_view name() const override { return "top_k"; }
    void apply(CandidateSet& set, const SamplingContext& ctx) override;
    bool isWarper() const override { return true; }

private:
    int m_k;
};

// HF TopPLogitsWarper: keeps the most probable tokens until their mass reaches p (the token that crosses
// p is kept; at least one token survives).
class TopPStage final : public SamplerStage {
public:
    explicit TopPStage(double p) : m_p(p) {}
    std::string_view name() const override { return "top_p"; }
    void apply(CandidateSet& set, const SamplingContext& ctx) override;
    bool isWarper() const override { return true; }

private:
    double m_p;
};

// HF MinPLogitsWarper: keeps tokens with prob >= minP * (largest prob).
class MinPStage final : public SamplerStage {
public:
    explicit MinPStage(double minP) : m_minP(minP) {}
    std::string_view name() const override { return "min_p"; }
    void apply(CandidateSet& set, const SamplingContext& ctx) override;
    bool isWarper() const override { return true; }

private:
    double m_minP;
};

// HF TypicalLogitsWarper: ranks tokens by |-log p - H| and keeps the most typical ones until their mass
// reaches `mass` (ties with the last kept token survive; at least one token survives).
class TypicalPStage final : public SamplerStage {
public:
    explicit TypicalPStage(double mass) : m_mass(mass) {}
    std::string_view name() const override { return "typical_p"; }
    void apply(CandidateSet& set, const SamplingContext& ctx) override;
    bool isWarper() const override { return true; }

private:
    double m_mass;
};

} // namespace logitscope
