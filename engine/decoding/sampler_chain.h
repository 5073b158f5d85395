// SamplerChain: turns one step's raw logits into a choice. It owns an ordered list of stages built from
// SamplingParams (penalties, temperature, truncations; the order is Hugging Face's, vLLM's or
// llama.cpp's), runs them over one CandidateSet, records a snapshot after every stage (what the GUI's
// probability bars draw), then takes the argmax or a seeded Philox draw.
// Not thread-safe (it keeps scratch buffers), and it does not decide when a lane stops (stop_matcher.h).
//
// Stage orders (stages at their "off" value are left out):
//   HuggingFace: logit_bias, repetition_penalty, no_repeat_ngram, min_new_tokens, presence_frequency, dry,
//                temperature|dynatemp, top_k, top_p, min_p, typical_p, top_n_sigma, xtc
//                                                                       (transformers _get_logits_processor)
//   Vllm:        logit_bias, min_new_tokens, no_repeat_ngram, repetition_penalty, presence_frequency, dry,
//                temperature|dynatemp, min_p, top_k, top_p, typical_p, top_n_sigma, xtc (vLLM V1 Sampler.forward)
//   LlamaCpp:    logit_bias, min_new_tokens, no_repeat_ngram, repetition_penalty, presence_frequency, dry,
//                top_k, typical_p, top_p, min_p, xtc, temperature|dynatemp
//                                                   (llama.cpp common_sampler_init defaults at c392e50)
//                with top_n_sigma > 0, llama.cpp's own chain instead:
//                logit_bias, min_new_tokens, no_repeat_ngram, top_k, temperature, top_n_sigma
//                with mirostat 1 or 2, likewise: logit_bias, min_new_tokens, no_repeat_ngram, temperature,
//                mirostat|mirostat_v2 (the penalties, DRY, the truncations and dynatemp are not used, as in
//                llama.cpp; min_new_tokens and no_repeat_ngram are Logitscope's constraints and stay).
// llama.cpp samplers in the other orders: logit_bias first (both engines bias the raw logits), DRY with the
// penalties, dynatemp in temperature's place, top_n_sigma and xtc after the truncations (neither engine has
// them); mirostat replaces the truncations and the draw and is refused there (validate() names 'mirostat').
// Mirostat's mu lives in the lane: SamplingContext::mirostatMu in, SampleResult::mirostatMu out.
// A grammar (SamplingParams::grammar / jsonSchema) adds the "grammar" stage before all of them, in every
// order (llama.cpp applies it first when it resamples, vLLM masks the logits first); it needs
// SamplingContext::grammar.
// When greedy (temperature 0 or the greedy flag) the warpers (temperature and truncations) are left out,
// as Hugging Face does for do_sample=False, and the choice is the argmax (lowest id on ties).
// A seeded draw u = philoxUniform(seed, lane, step) picks the first survivor, in ascending id order, whose
// cumulative probability exceeds u * (total probability).
#pragma once

#include "decoding/candidate_set.h"
#include "decoding/sampler_stage.h"
#include "decoding/sampling_params.h"

#include <limits>
#include <memory>
#include <span>
#include <string>
#include <vector>

namespace logitscope {

class MirostatStage; // decoding/sampler_stages_llamacpp.h

// The distribution after one stage: what the GUI draws as bars.
struct StageSnapshot {
    std::string name;               // "raw" for stage 0, then the stage names
    int survivors = 0;              // tokens with a finite logit
    float entropy = 0;              // of the softmax over the survivors, nats
    std::vector<Candidate> top;     // best first (logit, then id); prob = softmax after this stage
    std::vector<int32_t> penalised; // ids whose logit this stage changed or masked (penalty stages only)
    // --- constrained decoding: the "grammar" stage only ---
    float removedMass = 0;             // probability mass the grammar masked (of the distribution it received)
    std::vector<Candidate> forbidden;  // the most likely masked candidates, best first, prob before the mask
    std::string grammarPosition;       // where the grammar's parser stood (GrammarMatcher::describe)
    // --- llama.cpp samplers: one line of state ("mu 9.87, k 35", "T 0.83", "draw 0.41: removed 3") ---
    std::string detail;
};

struct SampleResult {
    int32_t chosen = -1;
    float chosenProb = 0;    // probability of `chosen` in the final distribution
    float chosenLogprob = 0; // its log-probability there
    bool greedy = false;
    float draw = 0;          // the uniform number used (0 when greedy)
    std::vector<StageSnapshot> stages; // stages[0] is "raw"; empty when recording is off
    // --- llama.cpp samplers: mirostat's mu before and after this step (NaN without mirostat or when
    // greedy); the Session carries mirostatMu to the lane's next step ---
    float mirostatMuIn = std::numeric_limits<float>::quiet_NaN();
    float mirostatMu = std::numeric_limits<float>::quiet_NaN();
};

struct SamplerChainOptions {
    int snapshotTop = 20;      // candidates kept per snapshot
    bool recordStages = true;  // record StageSnapshots (off for beam search and batch work)
};

class SamplerChain {
public:
    explicit SamplerChain(const SamplingParams& params, SamplerChainOptions options = {});
    ~SamplerChain();
    SamplerChain(SamplerChain&&) noexcept;
    SamplerChain& operator=(SamplerChain&&) noexcept;
    SamplerChain(const SamplerChain&) = delete;
    SamplerChain& operator=(const SamplerChain&) = delete;

    const SamplingParams& params() const { return m_params; }
    const SamplerChainOptions& options() const { return m_options; }
    bool greedy() const { return m_greedy; }
    // The stage names in the order they run (without "raw").
    std::vector<std::string> stageNames() const;

    // Runs the whole chain on `logits` (one value per vocabulary id) and chooses a token.
    SampleResult sample(std::span<const float> logits, const SamplingContext& ctx) const;

    // The processed distribution over the whole vocabulary, indexed by id (-inf where masked):
    // logits after every stage, and their log-softmax.
    std::vector<float> processedLogits(std::span<const float> logits, const SamplingContext& ctx) const;
    std::vector<float> processedLogprobs(std::span<const float> logits, const SamplingContext& ctx) const;

    // Mirostat's mu after `token` of probability `prob` in this step's final distribution was chosen
    // (a forced token): `result.mirostatMu` recomputed; NaN without mirostat.
    float mirostatMuAfter(const SampleResult& result, float prob) const;

    // The candidates as the last call left them (survivors first, masked at the tail).
    const CandidateSet& candidates() const { return m_set; }

private:
    void run(std::span<const float> logits, const SamplingContext& ctx, std::vector<StageSnapshot>* snapshots) const;
    StageSnapshot snapshot(std::string_view name, const StageSnapshot* previous, bool reuseTopIds) const;

    SamplingParams m_params;
    SamplerChainOptions m_options;
    bool m_greedy = false;
    std::vector<std::unique_ptr<SamplerStage>> m_stages;
    const MirostatStage* m_mirostat = nullptr; // the mirostat stage when there is one (it is last)
    mutable CandidateSet m_set;
    mutable std::vector<std::pair<int32_t, float>> m_drawScratch;
    mutable std::vector<float> m_denseScratch;
};

} // namespace logitscope
