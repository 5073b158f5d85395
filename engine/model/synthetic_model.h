// SyntheticModelBuilder: random-weight models of any shape, built in memory for tests and benchmarks.
// Not a loader: the weights are noise (no tokenizer: Model::tokenizer() must not be called on them),
// but every tensor has the shape and dtype a loaded model of that ModelConfig would have.
#pragma once

#include "common/dtype.h"
#include "common/quantize.h"
#include "model/config.h"

#include <cstdint>
#include <memory>

namespace logitscope {

class Model;


class SyntheticModelBuilder {
public:
    // Matrices (projections, embeddings, head) are stored as `types` says (any type but I32); norm
    // weights and biases as F32. Values are uniform with variance 1/fan_in, so activations stay O(1).
    // The config's arch decides which tensors exist (gpt2: biases, LayerNorm, positions; qwen2: q/k/v biases;
    // qwen3: q/k norms).
    static std::shared_ptr<const Model> build(const ModelConfig& config, WeightTypes types = {}, uint64_t seed = 1);
};

// A llama-family config of the given shape (rope RotateHalf, theta 10000, eps 1e-5).
ModelConfig syntheticConfig(Architecture arch, int vocab, int hidden, int layers, int heads, int kvHeads,
                            int ffn, int contextLength = 2048, bool tied = false);

} // namespace logitscope
