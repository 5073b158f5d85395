// Beam search with Hugging Face's semantics (transformers >= 4.50 `_beam_search`, unchanged in 5.x):
// per step the top (1 + #EOS, at least 2) * numBeams continuations over all beams of
// log_softmax(logits) -> logits processors -> + beam score; EOS (or max length) continuations among the
// first numBeams ranks become finished hypotheses scored cumulative / generated_len ** length_penalty,
// where generated_len counts the new tokens including the final EOS; early_stopping True / False /
// "never" decides when to stop; the numReturnSequences best hypotheses come back best first.
// It drives an abstract BeamHost (a model with copy-on-write KV sequences) and records the whole tree.
// Not beam *sampling*: temperature and truncation stages are ignored, as with HF do_sample=False.
#pragma once

#include "decoding/finish_reason.h"
#include "decoding/sampling_params.h"

#include <cstdint>
#include <span>
#include <utility>
#include <vector>

namespace logitscope {

struct SamplerVocabulary; // decoding/sampler_stages_llamacpp.h: DRY breakers, logit_bias texts

// What beam search needs from a model: sequences that share a KV cache prefix.
struct BeamHost {
    virtual ~BeamHost() = default;
    virtual int fork(int seq) = 0;    // new sequence sharing seq's KV cache (copy-on-write)
    virtual void release(int seq) = 0;
    // Appends one token to each listed sequence and returns the raw logits (vocab floats) after it.
    virtual std::vector<std::vector<float>> decode(const std::vector<std::pair<int, int32_t>>& seqTokens) = 0;
};

enum class BeamFate {
    Kept,     // became one of the running beams
    Pruned,   // considered (among the step's top candidates) but dropped
    Finished, // entered the finished hypotheses (EOS, or max length)
};
const char* beamFateName(BeamFate fate); // "kept", "pruned", "finished"

// One expanded candidate (node 0 is the root: the prompt).
struct BeamNode {
    int parent = -1;        // node index; -1 for the root
    int32_t token = -1;     // -1 for the root
    int step = -1;          // generation step that proposed it (0 = first new token); -1 for the root
    int rank = 0;           // rank among that step's candidates (0 = best cumulative score)
    float logprob = 0;      // processed log-probability of token after parent
    float cumulative = 0;   // sum of logprobs from the root (the running beam score)
    float score = 0;        // finished: cumulative / generated_len ** length_penalty; otherwise cumulative
    BeamFate fate = BeamFate::Kept;
    FinishReason finish = FinishReason::None; // Eos or Length for finished nodes
    int resultRank = -1;    // index in BeamResult::hypotheses, -1 when not returned
};

// The whole search as a plain copyable value (the GUI draws it).
struct BeamTree {
    std::vector<BeamNode> nodes; // nodes[0] is the root
    int steps = 0;               // decoding steps run
};

struct BeamHypothesis {
    std::vector<int32_t> ids;    // new tokens only, EOS included when it ended the hypothesis
    float score = 0;             // length-penalised (HF sequences_scores)
    float cumulative = 0;        // sum of token logprobs
    int node = -1;               // its last node in the tree
    FinishReason finish = FinishReason::None;
};

struct BeamResult {
    BeamTree tree;
    std::vector<BeamHypothesis> hypotheses; // numReturnSequences of them, best first
};

// Runs beam search from `rootSeq`, whose next-token logits are `rootLogits`. The root sequence is only
// forked, never appended to or released; every sequence forked here is released before returning
// (also when the host throws). `params` must pass validate(); its numBeams, lengthPenalty,
// earlyStopping, numReturnSequences, maxNewTokens and logits processors (repetition, n-gram,
// min-new-tokens, presence/frequency, logit_bias, DRY) are used; `texts` gives DRY its sequence breakers
// and logit_bias its texts (without it neither has any).
BeamResult runBeamSearch(BeamHost& host, int rootSeq, std::span<const float> rootLogits,
                         std::span<const int32_t> promptIds, const SamplingParams& params,
                         const std::vector<int32_t>& eosIds,
                         const SamplerVocabulary* texts = nullptr);

} // namespace logitscope
