// SyntheticModelBuilder: random-weight models of any shape, built in memory for tests and benchmarks.
// Not a loader: the weights are noise (no tokenizer: Model::tokenizer() must not be called on them),
// but every tensor has the shape and dtype a loaded model of that ModelConfig would have.
#pragma once

#include "common/dtype.h"
#include "model/config.h"

#include <cstdint>
#include <memory>
#include <string>

namespace logitscope {

class Model;

// The element type of each weight matrix. llama.cpp's "_M" mixes give the LM head, attn_v and
// ffn_down more bits than the rest (Q4_K_M: Q6_K there, Q4_K elsewhere); a K-quant whose 256-value
// blocks do not fit a row falls back as llama.cpp's does (quantFallback). Norms and biases stay F32.
struct WeightTypes {
    DType matrices = DType::F32;
    DType sensitive = DType::F32; // output head, attn_v, ffn_down
    WeightTypes(DType all = DType::F32) : matrices(all), sensitive(all) {} // implicit: build(c, DType::F16)
    WeightTypes(DType most, DType moreBits) : matrices(most), sensitive(moreBits) {}
};

// make-model's names: f32, f16, bf16, q8_0, q4_0, q4_1, q5_0, q5_1, q2_k, q3_k, q4_k, q5_k, q6_k,
// iq4_nl, iq4_xs, and the mixes q4_k_m (Q4_K + Q6_K) and q5_k_m (Q5_K + Q6_K). Throws Error otherwise.
WeightTypes weightTypesNamed(const std::string& name);

class SyntheticModelBuilder {
public:
    // Matrices (projections, embeddings, head) are stored as `types` says (any type but I32); norm
    // weights and biases as F32. Values are uniform with variance 1/fan_in, so activations stay O(1).
    // The config's arch decides which tensors exist (gpt2: biases, LayerNorm, positions; qwen2: q/k/v biases).
    static std::shared_ptr<const Model> build(const ModelConfig& config, WeightTypes types = {}, uint64_t seed = 1);
};

// A llama-family config of the given shape (rope RotateHalf, theta 10000, eps 1e-5).
ModelConfig syntheticConfig(Architecture arch, int vocab, int hidden, int layers, int heads, int kvHeads,
                            int ffn, int contextLength = 2048, bool tied = false);

} // namespace logitscope
