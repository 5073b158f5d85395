// ModelConfig parsing from config.json and GGUF metadata, with validation of every field that sizes memory.
#include "model/config_loader.h"

#include "common/error.h"
#include "formats/gguf_reader.h"

#include <nlohmann/json.hpp>

#include <cmath>

namespace logitscope {

const char* architectureName(Architecture a)
{
    switch (a) {
    case Architecture::Llama: return "llama";
    case Architecture::Qwen2: return "qwen2";
    case Architecture::Qwen3: return "qwen3";
    case Architecture::Phi3: return "phi3";
    case Architecture::Gpt2: return "gpt2";
    }
    return "?";
}

namespace {

// Sanity limits: anything beyond these is a corrupt or hostile file, not a model.
constexpr int64_t kMaxDim = 1 << 17;
constexpr int64_t kMaxLayers = 512;
constexpr int64_t kMaxVocab = 1 << 22;
constexpr int64_t kMaxContext = 1 << 24;

void validate(const ModelConfig& c, const std::string& where)
{
    auto check = [&](bool ok, const std::string& what) {
        if (!ok)
            throw Error(where + ": " + what);
    };
    check(c.hidden > 0 && c.hidden <= kMaxDim, "hidden size " + std::to_string(c.hidden) + " is out of range");
    check(c.layers > 0 && c.layers <= kMaxLayers, "layer count " + std::to_string(c.layers) + " is out of range");
    check(c.heads > 0 && c.heads <= 4096, "attention head count " + std::to_string(c.heads) + " is out of range");
    check(c.kvHeads > 0 && c.kvHeads <= c.heads && c.heads % c.kvHeads == 0,
          "key/value head count " + std::to_string(c.kvHeads) + " must divide the head count " + std::to_string(c.heads));
    check(c.headDim > 0 && c.headDim <= 1024 && c.headDim % 2 == 0, "head dimension " + std::to_string(c.headDim) + " is out of range");
    check(c.ffn > 0 && c.ffn <= kMaxDim * 8, "feed-forward size " + std::to_string(c.ffn) + " is out of range");
    check(c.vocabSize > 0 && c.vocabSize <= kMaxVocab, "vocabulary size " + std::to_string(c.vocabSize) + " is out of range");
    check(c.contextLength > 0 && c.contextLength <= kMaxContext, "context length " + std::to_string(c.contextLength) + " is out of range");
    check(std::isfinite(c.normEps) && c.normEps > 0 && c.normEps < 1, "norm epsilon is out of range");
    check(std::isfinite(c.ropeTheta) && c.ropeTheta > 0, "rope theta is out of range");
    check(c.ropeDims > 0 && c.ropeDims <= c.headDim && c.ropeDims % 2 == 0, "rope dimension count " + std::to_string(c.ropeDims) + " is out of range");
}

template <typename T>
T field(const nlohmann::json& j, const char* key, const std::string& path)
{
    if (!j.contains(key) || j[key].is_null())
        throw Error(path + ": missing field '" + key + "'");
    try {
        return j[key].get<T>();
    } catch (const nlohmann::json::exception&) {
        throw Error(path + ": field '" + std::string(key) + "' has the wrong type (" + j[key].type_name() + ")");
    }
}

template <typename T>
T field(const nlohmann::json& j, const char* key, const std::string& path, T fallback)
{
    if (!j.contains(key) || j[key].is_null())
        return fallback;
    return field<T>(j, key, path);
}

int64_t intField(const nlohmann::json& j, const char* key, const std::string& path)
{
    static const nlohmann::json missing; // an lvalue: with a temporary the ?: would copy j[key], recursively
    const auto& v = j.contains(key) ? j[key] : missing;
    if (v.is_null())
        throw Error(path + ": missing field '" + std::string(key) + "'");
    if (!v.is_number_integer() || v.get<int64_t>() < 0 || v.get<int64_t>() >= (int64_t(1) << 31))
        throw Error(path + ": field '" + std::string(key) + "' must be a non-negative integer, found " +
                    (v.is_structured() ? std::string(v.type_name()) : v.dump().substr(0, 40))); // dump() recurses
    return v.get<int64_t>();
}

int64_t intField(const nlohmann::json& j, const char* key, const std::string& path, int64_t fallback)
{
    if (!j.contains(key) || j[key].is_null())
        return fallback;
    return intField(j, key, path);
}

void parseRopeScaling(const nlohmann::json& s, const std::string& path, RopeScaling& out, float& theta)
{
    if (!s.is_object())
        return;
    if (s.contains("rope_theta"))
        theta = field<float>(s, "rope_theta", path);
    std::string type = field<std::string>(s, "rope_type", path, field<std::string>(s, "type", path, "default"));
    if (type == "default" || type == "none") {
        out.type = RopeScaling::Type::None;
    } else if (type == "linear") {
        out.type = RopeScaling::Type::Linear;
        out.factor = field<float>(s, "factor", path);
    } else if (type == "llama3") {
        out.type = RopeScaling::Type::Llama3;
        out.factor = field<float>(s, "factor", path);
        out.lowFreqFactor = field<float>(s, "low_freq_factor", path, 1.0f);
        out.highFreqFactor = field<float>(s, "high_freq_factor", path, 4.0f);
        out.originalContext = int(intField(s, "original_max_position_embeddings", path, 8192));
    } else {
        throw Error(path + ": rope scaling type '" + type + "' is not supported (supported: default, linear, llama3)");
    }
    if (!(out.factor > 0) || !std::isfinite(out.factor))
        throw Error(path + ": rope scaling factor must be positive");
}

} // namespace

ModelConfig configFromHfJson(const nlohmann::json& j, const std::string& path)
{
    if (!j.is_object())
        throw Error(path + ": not a JSON object");
    ModelConfig c;
    const std::string type = field<std::string>(j, "model_type", path);
    if (type == "llama" || type == "mistral") {
        c.arch = Architecture::Llama;
    } else if (type == "qwen2") {
        c.arch = Architecture::Qwen2;
        c.qkvBias = true;
    } else if (type == "qwen3") {
        c.arch = Architecture::Qwen3;
        c.qkNorm = true;
    } else if (type == "phi3") {
        c.arch = Architecture::Phi3;
    } else if (type == "gpt2") {
        c.arch = Architecture::Gpt2;
        c.qkvBias = true;
    } else {
        throw Error(path + ": model_type '" + type + "' is not supported (supported: llama, mistral, qwen2, qwen3, phi3, gpt2)");
    }
    c.ropeLayout = RopeLayout::RotateHalf;
    c.vocabSize = int(intField(j, "vocab_size", path));
    if (c.arch == Architecture::Gpt2) {
        c.hidden = int(intField(j, "n_embd", path));
        c.layers = int(intField(j, "n_layer", path));
        c.heads = int(intField(j, "n_head", path));
        c.kvHeads = c.heads;
        c.headDim = c.heads ? c.hidden / c.heads : 0;
        c.ffn = int(intField(j, "n_inner", path, 4 * int64_t(c.hidden)));
        c.contextLength = int(intField(j, "n_positions", path, intField(j, "n_ctx", path, 1024)));
        c.normEps = field<float>(j, "layer_norm_epsilon", path, 1e-5f);
        c.tiedEmbeddings = true;
        c.ropeDims = c.headDim;
        const std::string act = field<std::string>(j, "activation_function", path, "gelu_new");
        if (act != "gelu_new" && act != "gelu_pytorch_tanh")
            throw Error(path + ": activation_function '" + act + "' is not supported (gelu_new)");
    } else {
        c.hidden = int(intField(j, "hidden_size", path));
        c.layers = int(intField(j, "num_hidden_layers", path));
        c.heads = int(intField(j, "num_attention_heads", path));
        c.kvHeads = int(intField(j, "num_key_value_heads", path, c.heads));
        c.headDim = int(intField(j, "head_dim", path, c.heads ? c.hidden / c.heads : 0));
        c.ffn = int(intField(j, "intermediate_size", path));
        c.contextLength = int(intField(j, "max_position_embeddings", path, 2048));
        c.normEps = field<float>(j, "rms_norm_eps", path, 1e-6f);
        c.tiedEmbeddings = field<bool>(j, "tie_word_embeddings", path, false);
        c.ropeTheta = field<float>(j, "rope_theta", path, 10000.0f);
        if (j.contains("rope_scaling"))
            parseRopeScaling(j["rope_scaling"], path + ": rope_scaling", c.ropeScaling, c.ropeTheta);
        if (j.contains("rope_parameters"))
            parseRopeScaling(j["rope_parameters"], path + ": rope_parameters", c.ropeScaling, c.ropeTheta);
        c.ropeDims = c.headDim;
        if (const float partial = field<float>(j, "partial_rotary_factor", path, 1.0f); partial != 1.0f)
            throw Error(path + ": partial_rotary_factor " + std::to_string(partial) +
                        " is not supported (every dimension of a head rotated)");
        const std::string act = field<std::string>(j, "hidden_act", path, "silu");
        if (act != "silu")
            throw Error(path + ": hidden_act '" + act + "' is not supported (silu)");
        if (c.arch != Architecture::Qwen2 && field<bool>(j, "attention_bias", path, false))
            c.qkvBias = true;
        if (field<bool>(j, "mlp_bias", path, false))
            throw Error(path + ": mlp_bias is not supported");
        // Qwen2/3 name a window but switch it off (use_sliding_window: false); Mistral v0.1 uses its own.
        const bool windowed = c.arch == Architecture::Llama || c.arch == Architecture::Phi3 ||
                              field<bool>(j, "use_sliding_window", path, false);
        if (windowed && j.contains("sliding_window") && !j["sliding_window"].is_null()) {
            const int window = int(intField(j, "sliding_window", path));
            if (window > 0 && window < c.contextLength)
                c.contextLength = c.slidingWindow = window;
        }
    }
    validate(c, path);
    return c;
}

ModelConfig configFromGguf(const GgufFile& g)
{
    ModelConfig c;
    const std::string arch = g.getString("general.architecture");
    if (arch == "llama" || arch == "mistral") {
        c.arch = Architecture::Llama;
        c.ropeLayout = RopeLayout::Interleaved; // llama.cpp's converter permutes Q/K rows to Meta's order
    } else if (arch == "qwen2") {
        c.arch = Architecture::Qwen2;
        c.qkvBias = true;
        c.ropeLayout = RopeLayout::RotateHalf;  // qwen2 is converted without permutation (NEOX rope)
    } else if (arch == "qwen3") {
        c.arch = Architecture::Qwen3;
        c.qkNorm = true;
        c.qkvBias = g.tensor("blk.0.attn_q.bias") != nullptr; // none in the released models
        c.ropeLayout = RopeLayout::RotateHalf;  // like qwen2 (NEOX rope)
    } else if (arch == "phi3") {
        c.arch = Architecture::Phi3;
        c.ropeLayout = RopeLayout::RotateHalf;  // NEOX rope, converted without permutation
        if (g.tensor("rope_factors_long.weight") || g.tensor("rope_factors_short.weight"))
            throw Error(g.path() + ": LongRoPE (tensors rope_factors_long/short, Phi-3.5 and the 128k Phi-3 models) "
                        "is not supported");
    } else if (arch == "gpt2") {
        c.arch = Architecture::Gpt2;
        c.qkvBias = true;
    } else {
        throw Error(g.path() + ": metadata general.architecture: '" + arch +
                    "' is not supported (supported: llama, mistral, qwen2, qwen3, phi3, gpt2)");
    }
    const std::string p = arch + ".";
    c.hidden = int(g.getInt(p + "embedding_length"));
    c.layers = int(g.getInt(p + "block_count"));
    c.heads = int(g.getInt(p + "attention.head_count"));
    c.kvHeads = int(g.getInt(p + "attention.head_count_kv", c.heads));
    c.headDim = int(g.getInt(p + "attention.key_length", c.heads ? c.hidden / c.heads : 0));
    c.ffn = int(g.getInt(p + "feed_forward_length"));
    c.contextLength = int(g.getInt(p + "context_length"));
    if (c.arch == Architecture::Gpt2) {
        c.normEps = float(g.getFloat(p + "attention.layer_norm_epsilon", 1e-5));
        c.tiedEmbeddings = g.tensor("output.weight") == nullptr;
    } else {
        c.normEps = float(g.getFloat(p + "attention.layer_norm_rms_epsilon", 1e-6));
        c.ropeTheta = float(g.getFloat(p + "rope.freq_base", 10000.0));
        c.tiedEmbeddings = g.tensor("output.weight") == nullptr;
        const std::string scaling = g.getString(p + "rope.scaling.type", "none");
        if (scaling == "linear") {
            c.ropeScaling.type = RopeScaling::Type::Linear;
            c.ropeScaling.factor = float(g.getFloat(p + "rope.scaling.factor"));
        } else if (scaling != "none") {
            throw Error(g.path() + ": metadata " + p + "rope.scaling.type: '" + scaling + "' is not supported");
        }
        if (const TensorView* freqs = g.tensor("rope_freqs.weight")) {
            // llama3 scaling is stored as per-dimension divisors; Llama 3.x uses low 1, high 4, original 8192.
            std::vector<float> f(size_t(freqs->elements()));
            dequantize(freqs->type, freqs->data, f.data(), int64_t(f.size()));
            float factor = 1;
            for (float x : f)
                factor = std::max(factor, x);
            c.ropeScaling.type = RopeScaling::Type::Llama3;
            c.ropeScaling.factor = factor;
            c.ropeScaling.originalContext = int(g.getInt(p + "rope.scaling.original_context_length", 8192));
        }
    }
    c.ropeDims = int(g.getInt(p + "rope.dimension_count", c.headDim));
    if (const int window = int(g.getInt(p + "attention.sliding_window", 0)); window > 0 && window < c.contextLength)
        c.contextLength = c.slidingWindow = window; // see ModelConfig::slidingWindow
    if (const GgufValue* v = g.find(p + "vocab_size"))
        c.vocabSize = int(v->i);
    else if (const GgufValue* t = g.find("tokenizer.ggml.tokens"))
        c.vocabSize = int(t->count);
    else if (const TensorView* e = g.tensor("token_embd.weight"))
        c.vocabSize = int(e->shape.front());
    validate(c, g.path());
    return c;
}

} // namespace logitscope
