// How well the model predicted each prompt token: what a prefill pass computes for every position at
// once and an inference engine usually throws away (TGI's decoder_input_details, vLLM's prompt_logprobs).
// Plain values and two functions; the Session fills them from the prefill's logits.
#pragma once

#include <cstdint>
#include <limits>
#include <span>

namespace logitscope {

struct PromptTokenScore {
    float logprob = std::numeric_limits<float>::quiet_NaN(); // raw log p(ids[t] | ids[<t])
    int rank = -1;                // tokens the model found likelier (0: it was the model's first choice)
    int32_t expected = -1;        // the model's first choice at this position
    float expectedLogprob = std::numeric_limits<float>::quiet_NaN();
    bool scored() const { return rank >= 0; }
};

// Scores the tokens that rows [t0, t0 + rows) of a prompt's raw logits (rows, V) predict: row r is the
// distribution after ids[t0 + r], so it scores ids[t0 + r + 1] (the last row of the prompt scores nothing).
void scorePromptRows(std::span<PromptTokenScore> scores, std::span<const int32_t> ids, int t0, int rows,
                     std::span<const float> logits, int V);

// exp of the mean negative log-probability of the scored tokens; NaN when none is scored.
double promptPerplexity(std::span<const PromptTokenScore> scores);

} // namespace logitscope
