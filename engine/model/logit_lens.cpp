// LogitLens: final norm + LM head over captured residuals, then log-softmax, top-k and the chosen token's rank.
// Layers 0..L-2 share one matmul (the head is read once); the last layer uses the decode kernel.
#include "model/logit_lens.h"

#include "common/error.h"
#include "model/model.h"
#include "model/ops.h"
#include "model/thread_pool.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>

namespace logitscope {

LogitLens::LogitLens(std::shared_ptr<const Model> model, int threads)
    : m_model(std::move(model)), m_pool(std::make_unique<ThreadPool>(threads))
{
    const Weights& w = m_model->weights();
    m_norm = toFloats(w.outputNorm);
    m_normBias = toFloats(w.outputNormBias);
    if (int(m_norm.size()) != m_model->config().hidden)
        throw Error("logit lens: the model has no final norm of " + std::to_string(m_model->config().hidden) +
                    " values");
}

LogitLens::~LogitLens() = default;

void LogitLens::project(const float* residual, int rows, float* logits) const
{
    const ModelConfig& c = m_model->config();
    const int C = c.hidden, V = c.vocabSize;
    if (rows <= 0)
        return;
    // xb = final norm of every row                                                      (rows, C)
    std::vector<float> xb(size_t(rows) * C);
    for (int r = 0; r < rows; ++r) {
        if (c.arch == Architecture::Gpt2)
            ops::layernorm(&xb[size_t(r) * C], residual + size_t(r) * C, m_norm.data(),
                           m_normBias.empty() ? nullptr : m_normBias.data(), C, c.normEps);
        else
            ops::rmsnorm(&xb[size_t(r) * C], residual + size_t(r) * C, m_norm.data(), C, c.normEps);
    }
    // logits = xb Woutᵀ: rows 0..rows-2 in one pass over the head, the last row as a decode step does
    const TensorView& head = m_model->weights().output;
    std::lock_guard<std::mutex> lock(m_mutex);
    if (rows > 1)
        ops::matmul(logits, xb.data(), head, nullptr, rows - 1, m_pool.get());
    ops::matvec(logits + size_t(rows - 1) * V, &xb[size_t(rows - 1) * C], head, nullptr, m_pool.get());
}

std::vector<LayerLens> LogitLens::run(std::span<const float> residual, int topK, int32_t chosen) const
{
    const int C = m_model->config().hidden, V = m_model->config().vocabSize;
    if (residual.size() % size_t(C) != 0)
        throw Error("logit lens: residual of " + std::to_string(residual.size()) + " values is not a whole number of " +
                    std::to_string(C) + "-wide rows");
    if (chosen >= V)
        throw Error("logit lens: token id " + std::to_string(chosen) + " outside the vocabulary (" +
                    std::to_string(V) + ")");
    const int L = int(residual.size() / size_t(C));
    std::vector<float> logits(size_t(L) * V);
    project(residual.data(), L, logits.data());

    const int k = std::clamp(topK, 0, V);
    std::vector<LayerLens> out(static_cast<size_t>(L));
    // Layers are independent: one per task (log-softmax, partial sort, the chosen token's rank).
    auto layer = [&](int l, int) {
        const std::vector<float> lp = ops::logSoftmax(std::span<const float>(&logits[size_t(l) * V], size_t(V)));
        auto better = [&](int32_t a, int32_t b) {
            return lp[size_t(a)] > lp[size_t(b)] || (lp[size_t(a)] == lp[size_t(b)] && a < b);
        };
        std::vector<int32_t> ids(static_cast<size_t>(V));
        std::iota(ids.begin(), ids.end(), 0);
        std::partial_sort(ids.begin(), ids.begin() + k, ids.end(), better);
        LayerLens& lens = out[size_t(l)];
        lens.top.reserve(size_t(k));
        for (int i = 0; i < k; ++i)
            lens.top.push_back({ids[size_t(i)], lp[size_t(ids[size_t(i)])]});
        if (chosen >= 0) {
            int rank = 0;
            for (int32_t v = 0; v < V; ++v)
                rank += better(v, chosen) ? 1 : 0;
            lens.chosenRank = rank;
            lens.chosenLogprob = lp[size_t(chosen)];
        }
    };
    std::lock_guard<std::mutex> lock(m_mutex);
    m_pool->parallelFor(L, layer);
    return out;
}

} // namespace logitscope
