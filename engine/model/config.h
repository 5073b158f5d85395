// ModelConfig: the hyper-parameters of a loaded model, whatever file it came from.
// Legend used across engine/model: T tokens, C hidden size, V vocabulary, L layers,
// H query heads, Hkv key/value heads, D head dimension, F feed-forward size.
#pragma once

#include <cstddef>
#include <string>

namespace logitscope {

enum class Architecture { Llama, Qwen2, Qwen3, Phi3, Gpt2 };
const char* architectureName(Architecture a);

// How the two halves of each rotated pair are laid out inside a head.
// GGUF llama files store Q/K rows in Meta's interleaved order (pairs (0,1), (2,3), ...);
// Hugging Face files use rotate-half (pairs (i, i + D/2)).
enum class RopeLayout { Interleaved, RotateHalf };

struct RopeScaling {
    enum class Type { None, Linear, Llama3 };
    Type type = Type::None;
    float factor = 1.0f;
    float lowFreqFactor = 1.0f;     // llama3
    float highFreqFactor = 4.0f;    // llama3
    int originalContext = 8192;     // llama3: original_max_position_embeddings
    // The inverse frequencies rounded to a half type after scaling. transformers keeps inv_freq in fp32
    // under from_pretrained(dtype=...), as llama.cpp does (None), but a model cast wholesale
    // (model.to(torch.float16), .half()) rounds that buffer, and a later .float() cannot undo it: the
    // rotation angles then drift with position. ../shared's Hugging Face reference was made that way.
    enum class Rounding { None, Fp16, Bf16 };
    Rounding rounding = Rounding::None;
};

struct ModelConfig {
    Architecture arch = Architecture::Llama;
    int vocabSize = 0;     // V
    int hidden = 0;        // C
    int layers = 0;        // L
    int heads = 0;         // H
    int kvHeads = 0;       // Hkv (grouped-query attention when < H)
    int headDim = 0;       // D
    int ffn = 0;           // F
    int contextLength = 0; // maximum positions
    // Sliding-window attention (Mistral 7B v0.1: each token sees the 4,096 before it): not implemented, so
    // the context is limited to the window, within which it equals full attention. 0 when not limited.
    int slidingWindow = 0;
    float normEps = 1e-5f;
    float ropeTheta = 10000.0f;
    int ropeDims = 0;      // rotated dimensions per head (= D for the supported families)
    RopeScaling ropeScaling;
    RopeLayout ropeLayout = RopeLayout::RotateHalf;
    bool tiedEmbeddings = false; // LM head shares the token-embedding matrix
    bool qkvBias = false;        // qwen2, gpt2
    bool qkNorm = false;         // qwen3: each head's q and k RMS-normalised (own weights, (D)) before RoPE
    // phi3 is llama with fused matrices in its files (q|k|v in one, gate|up in one); the loader slices them.

    int qDim() const { return heads * headDim; }
    int kvDim() const { return kvHeads * headDim; }
    // Bytes of K and V for one token: 2 x L x Hkv x D x bytes-per-element.
    size_t kvBytesPerToken(size_t elementBytes) const { return 2 * size_t(layers) * size_t(kvDim()) * elementBytes; }
};

} // namespace logitscope
