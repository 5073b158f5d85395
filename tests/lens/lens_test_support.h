// Test helpers for the logit lens: one forward call on a CpuBackend, and naive double-precision
// re-computations written from the formulas (not from the backend): the residual after layer 0 for a
// single token at position 0, and the final norm + LM head of any residual row.
#pragma once

#include "model/cpu_backend.h"
#include "model/kv_cache.h"
#include "backend_forward.h"
#include "model/model.h"

#include <cmath>
#include <numbers>
#include <vector>

namespace logitscope::test {

inline std::vector<double> asDoubles(const TensorView& t)
{
    std::vector<double> out;
    if (!t.data)
        return out;
    std::vector<float> f(size_t(t.elements()));
    dequantize(t.type, t.data, f.data(), t.elements());
    return {f.begin(), f.end()};
}

// y (rows) = W (rows, cols) x + b
inline std::vector<double> naiveLinear(const TensorView& w, const std::vector<double>& x, const TensorView& b = {})
{
    const std::vector<double> W = asDoubles(w), B = asDoubles(b);
    const size_t rows = size_t(w.rows()), cols = size_t(w.cols());
    std::vector<double> y(rows);
    for (size_t r = 0; r < rows; ++r) {
        double s = B.empty() ? 0.0 : B[r];
        for (size_t i = 0; i < cols; ++i)
            s += W[r * cols + i] * x[i];
        y[r] = s;
    }
    return y;
}

// RMSNorm, or LayerNorm with bias for gpt2.
inline std::vector<double> naiveNorm(const Model& m, const std::vector<double>& x, const TensorView& g,
                                     const TensorView& b)
{
    const std::vector<double> G = asDoubles(g), B = asDoubles(b);
    const double eps = m.config().normEps, n = double(x.size());
    std::vector<double> y(x.size());
    if (m.config().arch == Architecture::Gpt2) {
        double mean = 0, var = 0;
        for (double v : x)
            mean += v / n;
        for (double v : x)
            var += (v - mean) * (v - mean) / n;
        for (size_t i = 0; i < x.size(); ++i)
            y[i] = (x[i] - mean) / std::sqrt(var + eps) * G[i] + (B.empty() ? 0.0 : B[i]);
    } else {
        double ms = 0;
        for (double v : x)
            ms += v * v / n;
        for (size_t i = 0; i < x.size(); ++i)
            y[i] = x[i] / std::sqrt(ms + eps) * G[i];
    }
    return y;
}

// Logits (V) of one residual row: final norm, then the LM head.
inline std::vector<double> naiveProject(const Model& m, const float* residual)
{
    const Weights& w = m.weights();
    const std::vector<double> x(residual, residual + m.config().hidden);
    return naiveLinear(w.output, naiveNorm(m, x, w.outputNorm, w.outputNormBias));
}

// The residual stream after layer 0 for the single token `id` at position 0. With one key, attention's
// softmax is exactly 1, so every query head returns its key/value head's v; RoPE at position 0 is the identity.
inline std::vector<double> handLayer0(const Model& m, int32_t id)
{
    const ModelConfig& c = m.config();
    const Weights& w = m.weights();
    const LayerWeights& lw = w.layers[0];
    const bool gpt2 = c.arch == Architecture::Gpt2;
    const size_t C = size_t(c.hidden), D = size_t(c.headDim);
    // x = embedding (+ position 0)
    const std::vector<double> emb = asDoubles(w.tokenEmbedding);
    std::vector<double> x(emb.begin() + ptrdiff_t(size_t(id) * C), emb.begin() + ptrdiff_t(size_t(id + 1) * C));
    if (gpt2) {
        const std::vector<double> pos = asDoubles(w.positionEmbedding);
        for (size_t i = 0; i < C; ++i)
            x[i] += pos[i];
    }
    // attention: att[h] = v[h / (H / Hkv)]; x += Wo att + bo
    const std::vector<double> v = naiveLinear(lw.wv, naiveNorm(m, x, lw.attnNorm, lw.attnNormBias), lw.bv);
    std::vector<double> att(size_t(c.heads) * D);
    for (int h = 0; h < c.heads; ++h)
        for (size_t i = 0; i < D; ++i)
            att[size_t(h) * D + i] = v[size_t(h / (c.heads / c.kvHeads)) * D + i];
    const std::vector<double> o = naiveLinear(lw.wo, att, lw.bo);
    for (size_t i = 0; i < C; ++i)
        x[i] += o[i];
    // feed-forward: x += Wdown act(...) + bdown
    const std::vector<double> xb = naiveNorm(m, x, lw.ffnNorm, lw.ffnNormBias);
    std::vector<double> hb = naiveLinear(lw.wUp, xb, lw.bUp);
    if (gpt2) {
        for (double& e : hb)
            e = 0.5 * e * (1.0 + std::tanh(std::sqrt(2.0 / std::numbers::pi) * (e + 0.044715 * e * e * e)));
    } else {
        const std::vector<double> g = naiveLinear(lw.wGate, xb);
        for (size_t i = 0; i < hb.size(); ++i)
            hb[i] *= g[i] / (1.0 + std::exp(-g[i]));
    }
    const std::vector<double> d = naiveLinear(lw.wDown, hb, lw.bDown);
    for (size_t i = 0; i < C; ++i)
        x[i] += d[i];
    return x;
}

// One forward call of `tokens` appended to sequence `seq`, the residual stream captured if asked.
inline SequenceOutput forwardOnce(CpuBackend& backend, KvCache& cache, int seq, const std::vector<int32_t>& tokens,
                                  bool allLogits, bool residual)
{
    ForwardOptions opt;
    opt.captureResidual = residual;
    return forwardOnce(static_cast<Backend&>(backend), cache, seq, tokens, allLogits, opt);
}

// log-softmax in double.
inline std::vector<double> logSoftmax(const float* logits, int n)
{
    double mx = logits[0];
    for (int i = 1; i < n; ++i)
        mx = std::max(mx, double(logits[i]));
    double sum = 0;
    for (int i = 0; i < n; ++i)
        sum += std::exp(double(logits[i]) - mx);
    std::vector<double> out(static_cast<size_t>(n));
    for (int i = 0; i < n; ++i)
        out[size_t(i)] = double(logits[i]) - mx - std::log(sum);
    return out;
}

} // namespace logitscope::test
