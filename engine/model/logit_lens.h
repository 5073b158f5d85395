// LogitLens: what every layer of a model would predict next — the residual stream a backend captured
// after each layer (SequenceOutput::residual, (L, C)) put through the model's own final norm and LM head.
// Not a backend: the projection runs here on the CPU, so a backend's only duty is to hand out residuals.
// Legend: C hidden, V vocabulary, L layers.
#pragma once

#include <cstdint>
#include <memory>
#include <mutex>
#include <span>
#include <vector>

namespace logitscope {

class Model;
class ThreadPool;

struct LensToken {
    int32_t id = 0;
    float logprob = 0; // log-softmax of this layer's projected logits
};

// One layer's would-be next-token distribution.
struct LayerLens {
    std::vector<LensToken> top; // top-k, best first (ties: lower id first)
    int chosenRank = -1;        // rank of the token asked about (0 = top); -1 when none was asked about
    float chosenLogprob = 0;    // its log-probability at this layer
};

class LogitLens {
public:
    // threads: 0 = hardware concurrency. The final norm's vectors are converted to fp32 once, here.
    explicit LogitLens(std::shared_ptr<const Model> model, int threads = 0);
    ~LogitLens();

    // logits (rows, V) = head(finalNorm(residual (rows, C))) — RMSNorm, or LayerNorm with bias for gpt2.
    // The last row goes through the same single-row kernel as a decode step's head, so a residual
    // captured at the last layer reproduces the CPU backend's logits bit for bit.
    void project(const float* residual, int rows, float* logits) const;

    // One LayerLens per row of `residual` (L, C): the top-k tokens and where `chosen` (if >= 0) stands.
    std::vector<LayerLens> run(std::span<const float> residual, int topK, int32_t chosen = -1) const;

private:
    std::shared_ptr<const Model> m_model;
    std::vector<float> m_norm, m_normBias;  // (C) final norm weight and bias (bias: gpt2 only)
    std::unique_ptr<ThreadPool> m_pool;
    mutable std::mutex m_mutex;             // one projection at a time on the pool
};

} // namespace logitscope
