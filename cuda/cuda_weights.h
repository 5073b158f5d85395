// DeviceWeights: a model's tensors uploaded once into one device arena — matrices as fp16 (F16 copied,
// BF16/F32 and every GGUF block format dequantized on the host while uploading), norm weights and biases as fp32.
// Not a loader: the Model (mapped, immutable) stays the source of truth; this is its GPU copy.
#pragma once

#include "device_memory.h"
#include "gpu_ops.h"

#include <vector>

namespace logitscope {
class Model;
}

namespace logitscope::gpu {

struct DeviceLayerWeights {
    const float* attnNorm = nullptr;      // (C)
    const float* attnNormBias = nullptr;  // (C) gpt2
    DeviceMatrix wq, wk, wv;              // (H*D, C), (Hkv*D, C), (Hkv*D, C)
    const float* bq = nullptr;            // (H*D)   qwen2, gpt2
    const float* bk = nullptr;            // (Hkv*D)
    const float* bv = nullptr;            // (Hkv*D)
    DeviceMatrix wo;                      // (C, H*D)
    const float* bo = nullptr;            // (C) gpt2
    const float* ffnNorm = nullptr;       // (C)
    const float* ffnNormBias = nullptr;   // (C) gpt2
    DeviceMatrix wGate, wUp, wDown;       // (F, C), (F, C), (C, F); no gate for gpt2
    const float* bUp = nullptr;           // (F) gpt2
    const float* bDown = nullptr;         // (C) gpt2
};

class DeviceWeights {
public:
    // Uploads every tensor through a pinned staging buffer on `stream`. Throws Error naming the tensor
    // whose shape does not match the config, or saying how much memory the weights need.
    DeviceWeights(const Model& model, cudaStream_t stream);

    DeviceMatrix tokenEmbedding;      // (V, C)
    DeviceMatrix positionEmbedding;   // (n_ctx, C) gpt2
    DeviceMatrix output;              // (V, C); the token embedding when tied
    const float* outputNorm = nullptr;     // (C)
    const float* outputNormBias = nullptr; // (C) gpt2
    std::vector<DeviceLayerWeights> layers; // (L)

    size_t bytes() const { return m_arena.bytes(); }
    // Bytes one decode step reads: every matrix once (the LM head included), not the embedding tables.
    size_t bytesPerToken() const { return m_bytesPerToken; }
    int clampedValues() const { return m_clamped; } // values beyond fp16's range, clamped to ±65504

private:
    DeviceBuffer m_arena;
    size_t m_bytesPerToken = 0;
    int m_clamped = 0;
};

} // namespace logitscope::gpu
