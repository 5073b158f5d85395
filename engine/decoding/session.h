// Session: the one object the CLI and the GUI's worker drive. It owns the mutable state of a
// conversation with a Model — the paged KV cache, the lanes (side-by-side settings, branches),
// each lane's sampler chain, RNG position and history — and runs a Backend to fill it.
// Not thread-safe: one thread (the worker) drives it; only the value records leave that thread.
#pragma once

#include "decoding/beam_search.h"
#include "decoding/sampler_chain.h"
#include "decoding/sampling_params.h"
#include "decoding/step_record.h"
#include "model/backend.h"
#include "model/kv_cache.h"
#include "model/logit_lens.h"
#include "model/model.h"

#include <atomic>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace logitscope {

struct GrammarConstraint;  // decoding/grammar/grammar_stage.h
struct GrammarVocabulary;  // decoding/grammar/token_trie.h
struct SamplerVocabulary;  // decoding/sampler_stages_llamacpp.h

struct SessionOptions {
    bool captureAttention = false; // attention rows in every StepRecord and the prompt's T x T
    bool promptLogprobs = true;    // score every prompt token (PrefillRecord::promptScores) from the prefill's logits
    int topCandidates = 20;        // candidates kept per stage snapshot and raw top-k
    // Logit lens: capture the residual stream after every layer at each forward pass and fill
    // StepRecord::lens (top `lensTop` per layer). Costs nothing while off; takes effect from the next forward.
    bool logitLens = false;
    int lensTop = 5;
};

// What a lane is for the views: the root lane, a side-by-side lane, or a branch off a past step.
enum class LaneKind { Root, Lane, Branch };

struct LaneInfo {
    int id = 0;
    LaneKind kind = LaneKind::Root;
    int parent = -1;          // lane it was forked from
    int forkStep = 0;         // generated tokens shared with the parent at the fork
    bool finished = false;
    FinishReason finish = FinishReason::None;
};

class Session {
public:
    Session(std::shared_ptr<const Model> model, std::unique_ptr<Backend> backend, SessionOptions options = {});
    ~Session();

    const Model& model() const { return *m_model; }
    std::shared_ptr<const Model> modelPtr() const { return m_model; }
    const Backend& backend() const { return *m_backend; }
    const SessionOptions& options() const { return m_options; }
    void setOptions(const SessionOptions& options) { m_options = options; }
    // Checked between layers of every forward pass; a set flag makes the call throw Cancelled.
    void setCancelFlag(const std::atomic<bool>* flag) { m_cancel = flag; }
    // Called between layers of every forward pass (layers done, layers in all): a long prefill's progress.
    void setProgress(std::function<void(int done, int total)> progress) { m_progress = std::move(progress); }

    // Tokenizes with the model's tokenizer (BOS per its settings, special-token text parsed).
    std::vector<int32_t> tokenize(const std::string& text, bool addSpecial = true, bool parseSpecial = true) const;

    // Starts over with this prompt: drops every lane, runs the prompt through the model and
    // creates lane 0 (the root) ready to choose its first token. Throws Error when the prompt is
    // empty or does not fit the context (naming both lengths). `settings` is validated first.
    PrefillRecord prefill(const std::vector<int32_t>& promptIds, const SamplingParams& settings);
    const PrefillRecord& lastPrefill() const { return m_prefill; } // the current prompt's (empty before one)
    bool hasPrompt() const { return !m_prompt.empty(); }
    const std::vector<int32_t>& promptIds() const { return m_prompt; }

    // Lanes. fork() makes a side-by-side lane at the same point sharing every KV block;
    // branch() makes a lane that shares the first `step` generated tokens of `lane` and takes
    // `token` at that step (the original lane stays as the sibling you can return to).
    std::vector<LaneInfo> lanes() const;
    const LaneInfo& lane(int lane) const;
    int fork(int lane);
    StepRecord branch(int lane, int step, int32_t token);
    void closeLane(int lane); // the root lane cannot be closed

    // Sampling settings, changeable at any moment; validated (Error names the field, nothing applied).
    // A grammar covers the lane's whole output: one the text generated so far does not fit is refused.
    void setSampling(int lane, const SamplingParams& params);
    const SamplingParams& sampling(int lane) const;

    // Re-runs the sampling chain on the lane's cached logits without choosing or computing anything:
    // what the probability bars show while a control moves ("would choose").
    StepRecord preview(int lane) const;
    // Chooses the next token (sampler, or `token` when forced), appends it, checks the stop rules,
    // and unless the lane finished runs the forward pass that gives the next step's logits.
    StepRecord step(int lane);
    StepRecord force(int lane, int32_t token);
    // Steps every listed unfinished lane together (one batched forward pass).
    std::vector<StepRecord> stepLanes(const std::vector<int>& lanes);
    // Drops the lane's last n generated tokens (KV cache included) and restores the logits of that step.
    void rewind(int lane, int n);

    bool finished(int lane) const;
    const std::vector<StepRecord>& history(int lane) const;
    std::vector<int32_t> generatedIds(int lane) const;
    std::string text(int lane) const;           // the lane's output text (cut before a matched stop string)
    LaneMetrics metrics(int lane) const;
    const std::vector<float>& currentLogits(int lane) const;
    // Constrained decoding: where the lane's grammar parser stands ("" without a grammar).
    std::string grammarPosition(int lane) const;
    // (L, C) residual stream after each layer from the forward pass that gave currentLogits(); empty when
    // the logit lens is off. Project it with LogitLens (model/logit_lens.h).
    const std::vector<float>& currentResidual(int lane) const;

    // Beam search from the prompt with `params` (numBeams > 1); the whole tree is recorded.
    // Uses the KV cache's copy-on-write sharing for the beams; leaves the lanes untouched.
    BeamResult beamSearch(const SamplingParams& params);

    KvStats kvStats() const;
    // The cache as the last beam-search step left it (beams share the prompt and common prefixes).
    const KvStats& lastBeamKvStats() const { return m_lastBeamKv; }
    MemoryLedger memory() const { return m_backend->memory(); }

private:
    struct Lane;
    Lane& lane_(int id);
    const Lane& lane_(int id) const;
    void ensureKvStorage(const std::vector<BlockCopy>& copies);
    // Appends tokens to KV sequences and runs them; on failure the appended positions are dropped.
    std::vector<SequenceOutput> forwardSequences(const std::vector<int>& seqs,
                                                 const std::vector<std::vector<int32_t>>& tokens,
                                                 const LogitRows& allLogits, bool capture, bool residual = false);
    std::vector<StepRecord> advance(const std::vector<int>& lanes, const std::vector<int32_t>& forced);
    void applySampling(Lane& lane, const SamplingParams& params);
    // Constrained decoding: the lane's grammar with its generated tokens replayed (nullptr without one).
    std::unique_ptr<GrammarConstraint> makeGrammar(const Lane& lane, const SamplingParams& params) const;
    void restoreLogits(Lane& lane);
    SamplingContext contextFor(const Lane& lane) const;
    void checkLogitBias(const SamplingParams& params) const;
    // llama.cpp samplers: token texts when DRY or a text logit_bias needs them (built once), else nullptr.
    const SamplerVocabulary* samplerVocabFor(const SamplingParams& params) const;
    void fillRecord(const Lane& lane, StepRecord& rec, int32_t token, bool forced) const;
    void fillLens(const Lane& lane, StepRecord& rec);

    std::shared_ptr<const Model> m_model;
    std::unique_ptr<Backend> m_backend;
    SessionOptions m_options;
    const std::atomic<bool>* m_cancel = nullptr;
    std::function<void(int, int)> m_progress;
    KvCache m_kv;
    std::vector<int32_t> m_prompt;
    int m_promptSeq = -1;              // frozen sequence holding the prompt; lanes and beams fork it
    std::vector<float> m_promptLogits; // (V) logits after the prompt
    PrefillRecord m_prefill;
    KvStats m_lastBeamKv;
    std::map<int, std::unique_ptr<Lane>> m_lanes;
    int m_nextLane = 0;
    std::unique_ptr<LogitLens> m_lens; // made on first use of SessionOptions::logitLens
    mutable std::shared_ptr<const GrammarVocabulary> m_grammarVocab; // token bytes + trie, on first grammar
    mutable std::shared_ptr<const SamplerVocabulary> m_samplerVocab; // token texts, on first DRY / text bias
};

} // namespace logitscope
