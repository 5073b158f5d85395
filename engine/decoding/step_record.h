// Plain values that describe what a Session did: one prefill, one decoding step, one lane's metrics.
// They own all their data (no pointers into engine buffers) so they can be copied to another thread
// (the GUI's worker emits them) or written to a trace file.
#pragma once

#include "decoding/prompt_scores.h"
#include "decoding/sampler_chain.h"
#include "decoding/stop_matcher.h"
#include "model/kv_cache.h"

#include <cstdint>
#include <string>
#include <vector>

namespace logitscope {

struct TokenLogprob {
    int32_t id = 0;
    float logprob = 0;  // raw model log-probability (log-softmax of unprocessed logits)
};

struct PrefillRecord {
    std::vector<int32_t> ids;           // (T) prompt ids as fed to the model
    // (T) how the model rated each prompt token given the ones before it (token 0 has no score); empty
    // when SessionOptions::promptLogprobs is off
    std::vector<PromptTokenScore> promptScores;
    std::vector<float> attention;       // (L, H, T, T) when attention capture was on, else empty
    int layers = 0, heads = 0;
    double ms = 0;                      // wall time of the prefill forward (what a server's TTFT counts)
    double scoringMs = 0;               // on top of it: scoring every prompt token (promptScores)
    double tokensPerSecond = 0;
};

struct StepRecord {
    int lane = 0;
    int step = 0;                 // index among the lane's generated tokens
    int position = 0;             // absolute position of the chosen token
    int32_t chosen = -1;
    std::string bytes;            // the chosen token's exact bytes (may be an incomplete UTF-8 character)
    std::string text;             // text the streaming detokenizer released at this step
    bool forced = false;          // chosen by the user (branch), not by the sampler
    float chosenLogprob = 0;      // raw
    float chosenProb = 0;         // after the sampling chain
    std::vector<TokenLogprob> rawTop; // raw top-k, best first
    SampleResult sample;          // every stage's snapshot (what the probability bars draw)
    std::vector<float> attention; // (L, H, position) this token's query row over earlier keys, when captured
    double forwardMs = 0;         // the forward pass run on the chosen token (gives the next step's logits)
    double sampleMs = 0;          // the sampling chain
    FinishReason finish = FinishReason::None; // set on the step that ended the lane
    std::string stopString;       // the stop sequence that matched, when finish == Stop
    // The logit lens (SessionOptions::logitLens), from the residual stream of the forward pass that produced
    // this step's logits: what every layer would have predicted here. Empty when the lens is off.
    std::vector<std::vector<TokenLogprob>> lens; // (L) top-k per layer, best first; row L-1 equals rawTop's head
    std::vector<int> lensChosenRank;             // (L) rank of `chosen` at each layer (0 = that layer's top)
    std::vector<float> lensChosenProb;           // (L) probability of `chosen` at each layer
    double lensMs = 0;                           // time spent projecting the lens
};

struct LaneMetrics {
    double ttftMs = 0;            // prompt submitted -> first token chosen (prefill + first sample)
    double tpotMs = 0;            // mean time per output token after the first
    double prefillTokensPerSecond = 0;
    double decodeTokensPerSecond = 0;
    int promptTokens = 0;
    int generatedTokens = 0;
};

} // namespace logitscope
