// A naive double-precision transformer forward (no cache, no threads) for checking the CPU backend.
// Test-only: slow and simple on purpose; it shares nothing with the backend but ropeFrequencies().
#pragma once

#include "model/model.h"
#include "model/ops.h"

#include <cmath>
#include <vector>

namespace logitscope::test {

struct ReferenceResult {
    std::vector<double> logits;    // (T, V)
    std::vector<double> attention; // (L, H, T, T)
};

inline std::vector<double> referenceTensor(const TensorView& t)
{
    std::vector<double> out;
    if (!t.data)
        return out;
    std::vector<float> f(static_cast<size_t>(t.elements()));
    dequantize(t.type, t.data, f.data(), t.elements());
    out.assign(f.begin(), f.end());
    return out;
}

// fp16Kv: keys (after RoPE) and values rounded to fp16 before attention uses them, as a KV cache of
// fp16 elements stores them (CpuBackend::setKvType(DType::F16), llama.cpp's default cache type).
inline ReferenceResult referenceForward(const Model& model, const std::vector<int32_t>& ids, bool fp16Kv = false)
{
    const ModelConfig& c = model.config();
    const Weights& w = model.weights();
    const bool gpt2 = c.arch == Architecture::Gpt2;
    const int T = int(ids.size()), C = c.hidden, H = c.heads, Hkv = c.kvHeads, D = c.headDim, F = c.ffn;
    const int V = c.vocabSize, L = c.layers;
    using Vec = std::vector<double>;

    auto linear = [](const Vec& W, const Vec& b, const Vec& x, int out, int in) {
        Vec y(static_cast<size_t>(out));
        for (int o = 0; o < out; ++o) {
            double s = b.empty() ? 0.0 : b[size_t(o)];
            for (int i = 0; i < in; ++i)
                s += W[size_t(o) * in + i] * x[size_t(i)];
            y[size_t(o)] = s;
        }
        return y;
    };
    auto norm = [&](const Vec& x, const Vec& g, const Vec& b) {
        Vec y(x.size());
        if (gpt2) {
            double mean = 0, var = 0;
            for (double v : x)
                mean += v;
            mean /= C;
            for (double v : x)
                var += (v - mean) * (v - mean);
            var /= C;
            for (int i = 0; i < C; ++i)
                y[size_t(i)] = (x[size_t(i)] - mean) / std::sqrt(var + c.normEps) * g[size_t(i)] + (b.empty() ? 0 : b[size_t(i)]);
        } else {
            double ss = 0;
            for (double v : x)
                ss += v * v;
            for (int i = 0; i < C; ++i)
                y[size_t(i)] = x[size_t(i)] / std::sqrt(ss / C + c.normEps) * g[size_t(i)];
        }
        return y;
    };
    std::vector<float> invFreq(static_cast<size_t>(D / 2));
    ops::ropeFrequencies(invFreq.data(), D, c.ropeTheta, c.ropeScaling);
    auto rope = [&](Vec& x, int heads, int pos) {
        for (int h = 0; h < heads; ++h)
            for (int i = 0; i < D / 2; ++i) {
                const int a = c.ropeLayout == RopeLayout::Interleaved ? 2 * i : i;
                const int b = c.ropeLayout == RopeLayout::Interleaved ? 2 * i + 1 : i + D / 2;
                const double ang = double(pos) * invFreq[size_t(i)];
                const double x0 = x[size_t(h * D + a)], x1 = x[size_t(h * D + b)];
                x[size_t(h * D + a)] = x0 * std::cos(ang) - x1 * std::sin(ang);
                x[size_t(h * D + b)] = x1 * std::cos(ang) + x0 * std::sin(ang);
            }
    };

    const Vec emb = referenceTensor(w.tokenEmbedding), posEmb = referenceTensor(w.positionEmbedding);
    std::vector<Vec> x(static_cast<size_t>(T), Vec(static_cast<size_t>(C)));
    for (int t = 0; t < T; ++t)
        for (int i = 0; i < C; ++i)
            x[size_t(t)][size_t(i)] = emb[size_t(ids[size_t(t)]) * C + i] + (gpt2 ? posEmb[size_t(t) * C + i] : 0.0);

    ReferenceResult res;
    res.attention.assign(size_t(L) * H * T * T, 0.0);
    for (int l = 0; l < L; ++l) {
        const LayerWeights& lw = w.layers[size_t(l)];
        const Vec an = referenceTensor(lw.attnNorm), anb = referenceTensor(lw.attnNormBias);
        const Vec wq = referenceTensor(lw.wq), wk = referenceTensor(lw.wk), wv = referenceTensor(lw.wv);
        const Vec bq = referenceTensor(lw.bq), bk = referenceTensor(lw.bk), bv = referenceTensor(lw.bv);
        const Vec qn = referenceTensor(lw.qNorm), kn = referenceTensor(lw.kNorm);
        // qwen3: each head of q and k RMS-normalised over D with its own weights
        auto headNorm = [&](Vec& x, int heads, const Vec& g) {
            for (int h = 0; h < heads; ++h) {
                double ss = 0;
                for (int i = 0; i < D; ++i)
                    ss += x[size_t(h * D + i)] * x[size_t(h * D + i)];
                for (int i = 0; i < D; ++i)
                    x[size_t(h * D + i)] = x[size_t(h * D + i)] / std::sqrt(ss / D + c.normEps) * g[size_t(i)];
            }
        };
        const Vec wo = referenceTensor(lw.wo), bo = referenceTensor(lw.bo);
        const Vec fn = referenceTensor(lw.ffnNorm), fnb = referenceTensor(lw.ffnNormBias);
        const Vec wg = referenceTensor(lw.wGate), wu = referenceTensor(lw.wUp), wd = referenceTensor(lw.wDown);
        const Vec bu = referenceTensor(lw.bUp), bd = referenceTensor(lw.bDown);
        std::vector<Vec> q(static_cast<size_t>(T)), k(static_cast<size_t>(T)), v(static_cast<size_t>(T));
        for (int t = 0; t < T; ++t) {
            const Vec xb = norm(x[size_t(t)], an, anb);
            q[size_t(t)] = linear(wq, bq, xb, H * D, C);
            k[size_t(t)] = linear(wk, bk, xb, Hkv * D, C);
            v[size_t(t)] = linear(wv, bv, xb, Hkv * D, C);
            if (c.qkNorm) {
                headNorm(q[size_t(t)], H, qn);
                headNorm(k[size_t(t)], Hkv, kn);
            }
            if (!gpt2) {
                rope(q[size_t(t)], H, t);
                rope(k[size_t(t)], Hkv, t);
            }
            if (fp16Kv)
                for (Vec* kv : {&k[size_t(t)], &v[size_t(t)]})
                    for (double& e : *kv)
                        e = fp16ToFp32(fp32ToFp16(float(e)));
        }
        for (int t = 0; t < T; ++t) {
            Vec att(static_cast<size_t>(H * D), 0.0);
            for (int h = 0; h < H; ++h) {
                const int kh = h / (H / Hkv);
                Vec s(static_cast<size_t>(t + 1));
                double mx = -1e300;
                for (int j = 0; j <= t; ++j) {
                    double d = 0;
                    for (int i = 0; i < D; ++i)
                        d += q[size_t(t)][size_t(h * D + i)] * k[size_t(j)][size_t(kh * D + i)];
                    s[size_t(j)] = d / std::sqrt(double(D));
                    mx = std::max(mx, s[size_t(j)]);
                }
                double sum = 0;
                for (double& e : s)
                    sum += e = std::exp(e - mx);
                for (int j = 0; j <= t; ++j) {
                    const double p = s[size_t(j)] / sum;
                    res.attention[((size_t(l) * H + h) * T + t) * T + j] = p;
                    for (int i = 0; i < D; ++i)
                        att[size_t(h * D + i)] += p * v[size_t(j)][size_t(kh * D + i)];
                }
            }
            const Vec o = linear(wo, bo, att, C, H * D);
            for (int i = 0; i < C; ++i)
                x[size_t(t)][size_t(i)] += o[size_t(i)];
        }
        for (int t = 0; t < T; ++t) {
            const Vec xb = norm(x[size_t(t)], fn, fnb);
            Vec hb = linear(wu, bu, xb, F, C);
            if (gpt2) {
                for (double& e : hb)
                    e = 0.5 * e * (1.0 + std::tanh(std::sqrt(2.0 / M_PI) * (e + 0.044715 * e * e * e)));
            } else {
                const Vec g = linear(wg, {}, xb, F, C);
                for (int i = 0; i < F; ++i)
                    hb[size_t(i)] *= g[size_t(i)] / (1.0 + std::exp(-g[size_t(i)]));
            }
            const Vec d = linear(wd, bd, hb, C, F);
            for (int i = 0; i < C; ++i)
                x[size_t(t)][size_t(i)] += d[size_t(i)];
        }
    }
    const Vec on = referenceTensor(w.outputNorm), onb = referenceTensor(w.outputNormBias);
    const Vec out = referenceTensor(w.output);
    for (int t = 0; t < T; ++t) {
        const Vec logits = linear(out, {}, norm(x[size_t(t)], on, onb), V, C);
        res.logits.insert(res.logits.end(), logits.begin(), logits.end());
    }
    return res;
}

} // namespace logitscope::test
