// fp16_emulation: CPU-only experiment behind docs/cuda.md "Precision". A plain fp32 prefill forward of the
// synthetic test models (tests/gpu/test_cuda_model.cpp's table), with optional fp16 rounding at each point
// where the CUDA path stores fp16 (normed GEMM inputs, KV cache, prefill queries, attention probabilities,
// attention output, MLP hidden, the LM-head input, quantized weights dequantized to fp16). Prints, per
// model, the logit standard deviation and the worst |Δ log-prob| against the unrounded forward for each
// rounding point alone and for all of them together (the CUDA backend's error).
// Not built by CMake (cuda/bench holds experiments). Build against a configured build tree:
//   g++ -O2 -std=c++20 -march=native -Iengine cuda/bench/fp16_emulation.cpp build/engine/liblogitscope_engine.a
//       /usr/lib/x86_64-linux-gnu/openblas-pthread/libopenblas.so -lpthread -o /tmp/fp16_emulation
#include "common/dtype.h"
#include "model/model.h"
#include "model/ops.h"
#include "model/synthetic_model.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <map>
#include <random>
#include <vector>

using namespace logitscope;

namespace {

enum : int { kXb = 1, kKv = 2, kQ = 4, kProbs = 8, kAtt = 16, kHidden = 32, kHeadIn = 64, kWeights = 128 };

float half(float v) { return fp16ToFp32(fp32ToFp16(v)); }
void roundIf(std::vector<float>& v, bool on)
{
    if (on)
        for (float& x : v)
            x = half(x);
}

struct Forward {
    const Model& m;
    int flags = 0;
    std::map<const void*, std::vector<float>> rounded; // quantized weights dequantized, then fp16

    // out (T, N) = x (T, K) wᵀ + b; with kWeights, a quantized w is first dequantized and rounded to fp16
    void matmul(float* out, const float* x, const TensorView& w, const float* b, int T)
    {
        if (!(flags & kWeights) || w.type == DType::F16 || w.type == DType::F32) {
            ops::matmul(out, x, w, b, T);
            return;
        }
        const int N = int(w.rows()), K = int(w.cols());
        std::vector<float>& d = rounded[w.data];
        if (d.empty()) {
            d.resize(size_t(N) * K);
            dequantize(w.type, w.data, d.data(), int64_t(N) * K);
            for (float& v : d)
                v = half(v);
        }
        for (int t = 0; t < T; ++t)
            for (int n = 0; n < N; ++n)
                out[size_t(t) * N + n] = ops::dot(&d[size_t(n) * K], &x[size_t(t) * K], K) + (b ? b[n] : 0.0f);
    }

    // log-softmax of every position's logits (T, V); logitStd gets the raw logits' standard deviation
    std::vector<float> run(const std::vector<int32_t>& ids, double* logitStd = nullptr)
    {
        const ModelConfig& c = m.config();
        const Weights& w = m.weights();
        const int T = int(ids.size()), C = c.hidden, H = c.heads, Hkv = c.kvHeads, D = c.headDim, F = c.ffn,
                  V = c.vocabSize, qd = c.qDim(), kvd = c.kvDim();
        const bool gpt2 = c.arch == Architecture::Gpt2;
        std::vector<float> x(size_t(T) * C), xb(x.size()), tmp(x.size()), q(size_t(T) * qd), k(size_t(T) * kvd),
            v(k.size()), att(q.size()), gate(size_t(T) * F), up(gate.size()), freq(size_t(D / 2));
        ops::ropeFrequencies(freq.data(), D, c.ropeTheta, c.ropeScaling);
        auto vec = [](const TensorView& t) { return static_cast<const float*>(t.data); };
        ops::embeddingGather(x.data(), w.tokenEmbedding, ids.data(), T);
        if (gpt2)
            for (int t = 0; t < T; ++t) {
                const int32_t pos = t;
                ops::embeddingGather(tmp.data(), w.positionEmbedding, &pos, 1);
                ops::add(&x[size_t(t) * C], &x[size_t(t) * C], tmp.data(), C);
            }
        auto norm = [&](const TensorView& g, const TensorView& b, bool round) {
            for (int t = 0; t < T; ++t)
                if (gpt2)
                    ops::layernorm(&xb[size_t(t) * C], &x[size_t(t) * C], vec(g), vec(b), C, c.normEps);
                else
                    ops::rmsnorm(&xb[size_t(t) * C], &x[size_t(t) * C], vec(g), C, c.normEps);
            roundIf(xb, round);
        };
        for (const LayerWeights& lw : w.layers) {
            norm(lw.attnNorm, lw.attnNormBias, flags & kXb);
            matmul(q.data(), xb.data(), lw.wq, vec(lw.bq), T);
            matmul(k.data(), xb.data(), lw.wk, vec(lw.bk), T);
            matmul(v.data(), xb.data(), lw.wv, vec(lw.bv), T);
            if (!gpt2)
                for (int t = 0; t < T; ++t) {
                    ops::rope(&q[size_t(t) * qd], H, D, t, freq.data(), c.ropeLayout);
                    ops::rope(&k[size_t(t) * kvd], Hkv, D, t, freq.data(), c.ropeLayout);
                }
            roundIf(k, flags & kKv);
            roundIf(v, flags & kKv);
            roundIf(q, flags & kQ);
            const float scale = 1.0f / std::sqrt(float(D));
            std::vector<float> p;
            for (int t = 0; t < T; ++t)
                for (int h = 0; h < H; ++h) {
                    const int kh = h / (H / Hkv);
                    p.assign(size_t(t + 1), 0.0f);
                    for (int j = 0; j <= t; ++j)
                        p[size_t(j)] = ops::dot(&q[size_t(t) * qd + h * D], &k[size_t(j) * kvd + kh * D], D) * scale;
                    ops::softmax(p.data(), t + 1);
                    roundIf(p, flags & kProbs);
                    float* o = &att[size_t(t) * qd + h * D];
                    std::fill(o, o + D, 0.0f);
                    for (int j = 0; j <= t; ++j)
                        ops::axpy(o, p[size_t(j)], &v[size_t(j) * kvd + kh * D], D);
                }
            roundIf(att, flags & kAtt);
            matmul(tmp.data(), att.data(), lw.wo, vec(lw.bo), T);
            ops::add(x.data(), x.data(), tmp.data(), T * C);
            norm(lw.ffnNorm, lw.ffnNormBias, flags & kXb);
            if (gpt2) {
                matmul(up.data(), xb.data(), lw.wUp, vec(lw.bUp), T);
                ops::gelu(gate.data(), up.data(), T * F);
            } else {
                matmul(gate.data(), xb.data(), lw.wGate, nullptr, T);
                matmul(up.data(), xb.data(), lw.wUp, vec(lw.bUp), T);
                ops::siluMul(gate.data(), gate.data(), up.data(), T * F);
            }
            roundIf(gate, flags & kHidden);
            matmul(tmp.data(), gate.data(), lw.wDown, vec(lw.bDown), T);
            ops::add(x.data(), x.data(), tmp.data(), T * C);
        }
        norm(w.outputNorm, w.outputNormBias, flags & kHeadIn);
        std::vector<float> logits(size_t(T) * V);
        matmul(logits.data(), xb.data(), w.output, nullptr, T);
        if (logitStd) {
            double s = 0, s2 = 0;
            for (float z : logits) {
                s += z;
                s2 += double(z) * z;
            }
            const double mean = s / double(logits.size());
            *logitStd = std::sqrt(s2 / double(logits.size()) - mean * mean);
        }
        for (int t = 0; t < T; ++t) {
            float* r = &logits[size_t(t) * V];
            const float mx = *std::max_element(r, r + V);
            double z = 0;
            for (int i = 0; i < V; ++i)
                z += std::exp(double(r[i] - mx));
            const float lz = mx + float(std::log(z));
            for (int i = 0; i < V; ++i)
                r[i] -= lz;
        }
        return logits;
    }
};

} // namespace

int main()
{
    struct Case {
        const char* name;
        ModelConfig c;
        DType type;
        uint64_t seed;
        int T;
    };
    ModelConfig llama = syntheticConfig(Architecture::Llama, 512, 256, 3, 8, 2, 688, 1024);
    llama.ropeLayout = RopeLayout::Interleaved;
    llama.ropeScaling.type = RopeScaling::Type::Llama3;
    llama.ropeScaling.factor = 8.0f;
    llama.ropeScaling.originalContext = 256;
    const std::vector<Case> cases = {
        {"llama F16 (untied)", llama, DType::F16, 1, 40},
        {"qwen2 tied F16", syntheticConfig(Architecture::Qwen2, 512, 256, 3, 8, 2, 688, 1024, true), DType::F16, 2, 33},
        {"qwen2 tied Q4_0", syntheticConfig(Architecture::Qwen2, 512, 256, 2, 8, 2, 704, 1024, true), DType::Q4_0, 3, 20},
        {"gpt2 tied F16", syntheticConfig(Architecture::Gpt2, 512, 256, 3, 4, 4, 1024, 1024), DType::F16, 4, 37},
        {"llama MHA Q8_0 (untied)", syntheticConfig(Architecture::Llama, 512, 256, 2, 4, 4, 512, 1024), DType::Q8_0, 5, 17},
        {"llama BF16 D=128 (untied)", syntheticConfig(Architecture::Llama, 300, 512, 2, 4, 1, 768, 512), DType::BF16, 6, 21},
        {"smollm2-like tied F16", syntheticConfig(Architecture::Llama, 400, 576, 2, 9, 3, 1536, 512, true), DType::F16, 7, 50},
    };
    const int all = kXb | kKv | kQ | kProbs | kAtt | kHidden | kHeadIn | kWeights;
    const struct {
        const char* name;
        int flags;
    } points[] = {{"xb", kXb},     {"head-in", kHeadIn}, {"kv", kKv},       {"q", kQ},
                  {"probs", kProbs}, {"att", kAtt},       {"hidden", kHidden}, {"weights", kWeights},
                  {"ALL (cuda)", all}, {"all but kv", all & ~kKv}};
    std::printf("worst |d logprob| of the fp32 forward with fp16 rounding at ...\n");
    for (const Case& cs : cases) {
        const auto model = SyntheticModelBuilder::build(cs.c, cs.type, cs.seed);
        std::mt19937 rng(uint32_t(cs.seed));
        std::uniform_int_distribution<int> dist(0, cs.c.vocabSize - 1);
        std::vector<int32_t> ids(size_t(cs.T));
        for (int32_t& id : ids)
            id = dist(rng);
        double sd = 0;
        Forward exact{*model};
        const std::vector<float> ref = exact.run(ids, &sd);
        std::printf("%-26s logit std %5.2f:", cs.name, sd);
        for (const auto& pt : points) {
            Forward f{*model, pt.flags};
            const std::vector<float> got = f.run(ids);
            double worst = 0;
            for (size_t i = 0; i < got.size(); ++i)
                worst = std::max(worst, double(std::fabs(got[i] - ref[i])));
            std::printf("  %s %.1e", pt.name, worst);
        }
        std::printf("\n");
    }
    return 0;
}
