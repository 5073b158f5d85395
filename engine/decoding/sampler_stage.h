// SamplerStage: the interface of one step of the sampling chain (a penalty, temperature, a truncation),
// and SamplingContext, what a stage may look at besides the candidates (ids so far, EOS ids, RNG position).
// Concrete stages are in sampler_stages.h; the chain that owns and runs them is in sampler_chain.h.
#pragma once

#include "decoding/candidate_set.h"

#include <cmath>
#include <cstdint>
#include <limits>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace logitscope {

struct GrammarConstraint; // decoding/grammar/grammar_stage.h
struct SamplerVocabulary; // decoding/sampler_stages_llamacpp.h

struct SamplingContext {
    std::span<const int32_t> promptIds;    // the prompt as fed to the model (BOS included)
    std::span<const int32_t> generatedIds; // tokens generated so far in this lane
    std::vector<int32_t> eosIds;           // end-of-sequence ids (min-new-tokens masks them)
    uint64_t lane = 0;                     // RNG stream: philox(seed, lane, step)
    uint64_t step = 0;
    const GrammarConstraint* grammar = nullptr; // the lane's grammar state (constrained decoding), or none
    // --- llama.cpp samplers ---
    const SamplerVocabulary* vocab = nullptr;   // token texts for DRY's breakers and logit_bias texts, or none
    float mirostatMu = std::numeric_limits<float>::quiet_NaN(); // the lane's mu before this step; NaN = 2 * tau
};

class SamplerStage {
public:
    virtual ~SamplerStage() = default;
    // Short stable name shown by the GUI and traces ("top_k", "temperature", ...).
    virtual std::string_view name() const = 0;
    // Edits the candidates in place. Penalty-style stages use CandidateSet::setLogit()/mask() so the
    // chain can list the ids they touched; truncations use keepFirst()/keepIf().
    virtual void apply(CandidateSet& set, const SamplingContext& ctx) = 0;
    // True when the stage never changes the order of the survivors' logits (temperature).
    virtual bool preservesOrder() const { return false; }
    // True for Hugging Face "logits warpers" (only used when sampling, skipped for greedy / beams).
    virtual bool isWarper() const = 0;
    // One line about the last apply() for the stage's snapshot ("mu 9.87, k 35"); "" when nothing to say.
    virtual std::string detail() const { return {}; }
};

} // namespace logitscope
