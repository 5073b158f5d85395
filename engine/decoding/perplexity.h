// Perplexity of a text longer than one context window, as Hugging Face's guide "Perplexity of
// fixed-length models" computes it: windows of `window` tokens that start every `stride` tokens, each
// scoring only the tokens no earlier window scored, so every token is predicted once, with as much
// context as the window allows. Runs on a Session's prefills (their prompt scores); not a server metric.
#pragma once

#include <cstdint>
#include <functional>
#include <span>

namespace logitscope {

class Session;

struct PerplexityResult {
    int windows = 0;
    int tokens = 0;         // tokens scored (the first token of the text has nothing to predict it)
    double nllSum = 0;      // sum of -log p over the scored tokens, nats
    double nllSquares = 0;  // sum of (-log p)², for the standard error

    double meanNll() const;
    double perplexity() const;    // exp(mean NLL); NaN before any token is scored
    // Standard error of the perplexity, from that of the mean NLL (perplexity × σ / √n), as llama.cpp's
    // perplexity tool reports it.
    double standardError() const;
};

// `ids` in windows of `window` tokens (2 .. the context length - 1) every `stride` tokens (1 .. window);
// `afterWindow` sees the running result after each one. Throws Error naming `window` or `stride` when
// they do not fit, and when the Session does not score prompts (SessionOptions::promptLogprobs).
PerplexityResult evaluatePerplexity(Session& session, std::span<const int32_t> ids, int window, int stride,
                                    const std::function<void(const PerplexityResult&)>& afterWindow = {});

} // namespace logitscope
