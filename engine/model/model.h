// Model: an immutable loaded model — configuration, memory-mapped weights and tokenizer.
// Opened from a GGUF file or a Hugging Face folder (config.json + safetensors). It computes nothing:
// a Backend does the arithmetic, a Session holds the mutable state (KV cache, RNG, history).
#pragma once

#include "common/quantize.h"
#include "formats/tensor_view.h"
#include "model/config.h"
#include "tokenizer/tokenizer.h"

#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace logitscope {

class MappedFile;

// Tensors of one transformer block. Absent tensors have data == nullptr.
// Matrices are (out, in) row-major like torch.nn.Linear, whatever the file stored.
struct LayerWeights {
    TensorView attnNorm, attnNormBias;  // (C)
    TensorView wq, wk, wv;              // (H*D, C), (Hkv*D, C), (Hkv*D, C)
    TensorView bq, bk, bv;              // (H*D), (Hkv*D), (Hkv*D)   qwen2, gpt2
    TensorView qNorm, kNorm;            // (D), (D)                  qwen3: per-head RMSNorm of q and k
    TensorView wo, bo;                  // (C, H*D), (C)
    TensorView ffnNorm, ffnNormBias;    // (C)
    TensorView wGate, wUp, wDown;       // (F, C), (F, C), (C, F)    gate absent for gpt2
    TensorView bUp, bDown;              // (F), (C)                  gpt2
};

struct Weights {
    TensorView tokenEmbedding;            // (V, C)
    TensorView positionEmbedding;         // (n_ctx, C)  gpt2
    TensorView outputNorm, outputNormBias; // (C)
    TensorView output;                    // (V, C); the token embedding when tied
    std::vector<LayerWeights> layers;     // (L)
};

// Choices about how a model is run that its files do not make.
struct LoadOptions {
    RopeScaling::Rounding ropeRounding = RopeScaling::Rounding::None; // see RopeScaling::rounding
    // Read the weights in at load, in 2 MiB pages where the kernel can (MappedFile::preferHugePages):
    // set by whatever is about to run the model; info and tokenizer-only loads leave it off.
    bool populate = false;
};

class Model {
public:
    // Opens a GGUF file, a Hugging Face folder, or a folder's config.json. Throws Error naming the
    // file/field on anything wrong (missing file, bad shapes, unknown architecture, missing tokenizer).
    static std::shared_ptr<const Model> load(const std::string& path, const LoadOptions& options = {});

    // `base` with its matrices quantized again, to `types` (common/quantize.h's plain quantizer, from
    // the stored weights as fp32): what a quantization does to the model, without a file. The token
    // embedding and the untied head count as matrices (the head as a sensitive one); norms, biases and
    // GPT-2's position table stay as stored; a matrix whose rows fit no block of the type (nor its
    // fallback) becomes F16. Shares the tokenizer; keeps `base` alive. name() says it.
    static std::shared_ptr<const Model> requantized(std::shared_ptr<const Model> base, const WeightTypes& types);

    const ModelConfig& config() const { return m_config; }
    const Weights& weights() const { return m_weights; }
    const Tokenizer& tokenizer() const { return *m_tokenizer; }

    const std::string& path() const { return m_path; }
    const std::string& format() const { return m_format; }     // "gguf" or "safetensors"
    const std::string& name() const { return m_name; }
    std::string dtypeSummary() const;                          // the matrices' types: "F16", "Q4_K+Q6_K"
    int64_t parameterCount() const;
    size_t weightBytes() const;                                // bytes of all weight tensors as stored
    // Every tensor's bytes and values by element type, most bytes first (norms and biases included):
    // what a "Q4_K_M" file really holds.
    struct TypeShare {
        DType type;
        size_t bytes = 0;
        int64_t values = 0;
        double bitsPerValue() const { return values ? 8.0 * double(bytes) / double(values) : 0.0; }
    };
    std::vector<TypeShare> weightTypes() const;
    // The model's mapped files: bytes resident in memory, and of those, bytes in 2 MiB pages.
    void mappedResidency(size_t& resident, size_t& hugePages) const;

private:
    friend class ModelLoader; // model_loader.cpp fills these
    friend class SyntheticModelBuilder; // synthetic_model.cpp: random-weight models for tests and benches
    ModelConfig m_config;
    Weights m_weights;
    std::shared_ptr<const Tokenizer> m_tokenizer;
    std::string m_path, m_format, m_name;
    std::vector<std::shared_ptr<const MappedFile>> m_files;    // keeps the mapped weights alive
    std::vector<std::vector<uint8_t>> m_owned;                 // tensors the loader had to transform
    std::shared_ptr<const Model> m_base;                       // requantized(): where the other tensors live
};

} // namespace logitscope
