// Random-weight models for tests and benchmarks: owned tensors in the dtype asked for.
// Quantized matrices use the GGUF block layouts (common/quantize.h) so they exercise the same kernels.
#include "model/synthetic_model.h"

#include "common/error.h"
#include "common/quantize.h"
#include "model/model.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <string>

namespace logitscope {

namespace {

// xorshift64*: fast and reproducible across platforms.
struct Rng {
    uint64_t s;
    explicit Rng(uint64_t seed) : s(seed * 0x9E3779B97F4A7C15ull + 0x1234567ull) {}
    uint64_t next()
    {
        s ^= s >> 12;
        s ^= s << 25;
        s ^= s >> 27;
        return s * 2685821657736338717ull;
    }
    float uniform() { return float(next() >> 40) / float(1ull << 24) * 2.0f - 1.0f; } // [-1, 1)
};

class TensorMaker {
public:
    TensorMaker(std::vector<std::vector<uint8_t>>& owned, uint64_t seed) : m_owned(owned), m_rng(seed) {}

    // Uniform values in [center - amp, center + amp).
    TensorView make(const std::string& name, std::vector<int64_t> shape, DType type, float amp, float center = 0.0f)
    {
        TensorView t;
        t.name = name;
        t.shape = std::move(shape);
        t.type = type = quantFallback(type, t.cols());
        if (t.cols() % dtypeBlockSize(type) != 0)
            throw Error("synthetic model: " + name + " has " + std::to_string(t.cols()) + " columns, not a multiple of " +
                        dtypeName(type) + "'s block of " + std::to_string(dtypeBlockSize(type)));
        const int64_t n = t.elements();
        std::vector<float> values(static_cast<size_t>(n));
        for (float& v : values)
            v = center + amp * m_rng.uniform();
        m_owned.emplace_back(dtypeBytes(type, n));
        quantize(type, values.data(), m_owned.back().data(), n);
        t.data = m_owned.back().data();
        t.nbytes = m_owned.back().size();
        return t;
    }

    TensorView matrix(const std::string& name, int64_t out, int64_t in, DType type)
    {
        return make(name, {out, in}, type, std::sqrt(3.0f / float(in)));
    }

private:
    std::vector<std::vector<uint8_t>>& m_owned;
    Rng m_rng;
};

} // namespace

ModelConfig syntheticConfig(Architecture arch, int vocab, int hidden, int layers, int heads, int kvHeads, int ffn,
                            int contextLength, bool tied)
{
    ModelConfig c;
    c.arch = arch;
    c.vocabSize = vocab;
    c.hidden = hidden;
    c.layers = layers;
    c.heads = heads;
    c.kvHeads = kvHeads;
    c.headDim = hidden / heads;
    c.ffn = ffn;
    c.contextLength = contextLength;
    c.normEps = 1e-5f;
    c.ropeTheta = 10000.0f;
    c.ropeDims = c.headDim;
    c.ropeLayout = RopeLayout::RotateHalf;
    c.tiedEmbeddings = tied || arch == Architecture::Gpt2;
    c.qkvBias = arch == Architecture::Qwen2 || arch == Architecture::Gpt2;
    c.qkNorm = arch == Architecture::Qwen3;
    return c;
}

std::shared_ptr<const Model> SyntheticModelBuilder::build(const ModelConfig& config, WeightTypes types, uint64_t seed)
{
    auto model = std::make_shared<Model>();
    model->m_config = config;
    model->m_format = "synthetic";
    model->m_name = std::string("synthetic-") + architectureName(config.arch);
    model->m_path = model->m_name;
    model->m_owned.reserve(size_t(config.layers) * 20 + 8);

    const ModelConfig& c = config;
    const bool gpt2 = c.arch == Architecture::Gpt2;
    TensorMaker mk(model->m_owned, seed);
    Weights& w = model->m_weights;
    const DType f32 = DType::F32, matrixType = types.matrices;
    // A tied table is also the LM head: give it the head's variance (1/C), so logits have the
    // spread of a trained model's (std ~1) rather than ~sqrt(C), which no fp16 GPU path could follow.
    const float embeddingAmp = c.tiedEmbeddings ? std::sqrt(3.0f / float(c.hidden)) : 1.0f;
    w.tokenEmbedding = mk.make("token_embd", {c.vocabSize, c.hidden}, matrixType, embeddingAmp);
    if (gpt2) // like llama.cpp's quantizer, the block formats leave the position table alone (here: F32)
        w.positionEmbedding = mk.make("position_embd", {c.contextLength, c.hidden},
                                      dtypeBlockSize(matrixType) > 1 ? f32 : matrixType, 0.5f * embeddingAmp);
    for (int l = 0; l < c.layers; ++l) {
        const std::string p = "blk." + std::to_string(l) + ".";
        LayerWeights lw;
        lw.attnNorm = mk.make(p + "attn_norm", {c.hidden}, f32, 0.2f, 1.0f);
        lw.wq = mk.matrix(p + "attn_q", c.qDim(), c.hidden, matrixType);
        lw.wk = mk.matrix(p + "attn_k", c.kvDim(), c.hidden, matrixType);
        lw.wv = mk.matrix(p + "attn_v", c.kvDim(), c.hidden, types.sensitive);
        lw.wo = mk.matrix(p + "attn_output", c.hidden, c.qDim(), matrixType);
        lw.ffnNorm = mk.make(p + "ffn_norm", {c.hidden}, f32, 0.2f, 1.0f);
        if (!gpt2)
            lw.wGate = mk.matrix(p + "ffn_gate", c.ffn, c.hidden, matrixType);
        lw.wUp = mk.matrix(p + "ffn_up", c.ffn, c.hidden, matrixType);
        lw.wDown = mk.matrix(p + "ffn_down", c.hidden, c.ffn, types.sensitive);
        if (c.qkvBias || gpt2) {
            lw.bq = mk.make(p + "attn_q.bias", {c.qDim()}, f32, 0.1f);
            lw.bk = mk.make(p + "attn_k.bias", {c.kvDim()}, f32, 0.1f);
            lw.bv = mk.make(p + "attn_v.bias", {c.kvDim()}, f32, 0.1f);
        }
        if (c.qkNorm) {
            lw.qNorm = mk.make(p + "attn_q_norm", {c.headDim}, f32, 0.2f, 1.0f);
            lw.kNorm = mk.make(p + "attn_k_norm", {c.headDim}, f32, 0.2f, 1.0f);
        }
        if (gpt2) {
            lw.attnNormBias = mk.make(p + "attn_norm.bias", {c.hidden}, f32, 0.1f);
            lw.ffnNormBias = mk.make(p + "ffn_norm.bias", {c.hidden}, f32, 0.1f);
            lw.bo = mk.make(p + "attn_output.bias", {c.hidden}, f32, 0.1f);
            lw.bUp = mk.make(p + "ffn_up.bias", {c.ffn}, f32, 0.1f);
            lw.bDown = mk.make(p + "ffn_down.bias", {c.hidden}, f32, 0.1f);
        }
        w.layers.push_back(std::move(lw));
    }
    w.outputNorm = mk.make("output_norm", {c.hidden}, f32, 0.2f, 1.0f);
    if (gpt2)
        w.outputNormBias = mk.make("output_norm.bias", {c.hidden}, f32, 0.1f);
    w.output = c.tiedEmbeddings ? w.tokenEmbedding : mk.matrix("output", c.vocabSize, c.hidden, types.sensitive);
    return model;
}

} // namespace logitscope
