// SamplerChain: turns one step's raw logits into a choice. It owns an ordered list of stages built from
// SamplingParams (penalties, temperature, truncations; the order is Hugging Face's, vLLM's or
// llama.cpp's), runs them over one CandidateSet, records a snapshot after every stage (what the GUI's
// probability bars draw), then takes the argmax or a seeded Philox draw.
// Not thread-safe (it keeps scratch buffers), and it does not decide when a lane stops (stop_matcher.h).
//
// Stage orders (stages at their "off" value are left out):
//   HuggingFace: repetition_penalty, no_repeat_ngram, min_new_tokens, presence_frequency,
//                temperature, top_k, top_p, min_p, typical_p           (transformers _get_logits_processor)
//   Vllm:        min_new_tokens, no_repeat_ngram, repetition_penalty, presence_frequency,
//                temperature, min_p, top_k, top_p, typical_p           (vLLM V1 Sampler.forward)
//   LlamaCpp:    min_new_tokens, no_repeat_ngram, repetition_penalty, presence_frequency,
//                top_k, typical_p, top_p, min_p, temperature           (llama.cpp common sampler defaults)
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

#include <memory>
#include <span>
#include <string>
#include <vector>

namespace logitscope {

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
};

struct SampleResult {
    int32_t chosen = -1;
    float chosenProb = 0;    // probability of `chosen` in the final distribution
    float chosenLogprob = 0; // its log-probability there
    bool greedy = false;
    float draw = 0;          // the uniform number used (0 when greedy)
    std::vector<StageSnapshot> stages; // stages[0] is "raw"; empty when recording is off
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

    // The candidates as the last call left them (survivors first, masked at the tail).
    const CandidateSet& candidates() const { return m_set; }

private:
    void run(std::span<const float> logits, const SamplingContext& ctx, std::vector<StageSnapshot>* snapshots) const;
    StageSnapshot snapshot(std::string_view name, const StageSnapshot* previous, bool reuseTopIds) const;

    SamplingParams m_params;
    SamplerChainOptions m_options;
    bool m_greedy = false;
    std::vector<std::unique_ptr<SamplerStage>> m_stages;
    mutable CandidateSet m_set;
    mutable std::vector<std::pair<int32_t, float>> m_drawScratch;
    mutable std::vector<float> m_denseScratch;
};

} // namespace logitscope
