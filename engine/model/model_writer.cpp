// make-model: named shapes, random weights and serialisation to GGUF or a Hugging Face folder.
#include "model/model_writer.h"

#include "common/error.h"
#include "formats/gguf_reader.h"
#include "formats/gguf_writer.h"
#include "formats/safetensors_writer.h"
#include "model/model.h"
#include "model/synthetic_model.h"
#include "tokenizer/spm_model_proto.h"
#include "tokenizer/tokenizer.h"

#include <nlohmann/json.hpp>

#include <cstring>
#include <filesystem>
#include <fstream>

namespace fs = std::filesystem;

namespace logitscope {

ModelConfig namedShape(Architecture arch, const std::string& shape)
{
    ModelConfig c;
    if (shape == "tiny") {
        c = syntheticConfig(arch, 512, 64, 2, 4, 2, 128, 256, false);
        if (arch == Architecture::Qwen3)
            c.headDim = c.ropeDims = 32; // heads wider than hidden / heads, as in the released Qwen3 models
    }
    else if (shape == "smollm2-135m")
        c = syntheticConfig(arch, 49152, 576, 30, 9, 3, 1536, 2048, true);
    else if (shape == "tinyllama-1.1b")
        c = syntheticConfig(arch, 32000, 2048, 22, 32, 4, 5632, 2048, false);
    else if (shape == "qwen3-0.6b") {
        c = syntheticConfig(arch, 151936, 1024, 28, 16, 8, 3072, 40960, true);
        c.headDim = c.ropeDims = 128; // wider heads than hidden / heads
    } else
        throw Error("--shape: unknown shape '" + shape + "' (tiny, smollm2-135m, tinyllama-1.1b, qwen3-0.6b)");
    if (arch == Architecture::Gpt2) {
        c.kvHeads = c.heads; // GPT-2 has no grouped-query attention
        c.tiedEmbeddings = true;
        c.ffn = 4 * c.hidden;
    }
    if (arch == Architecture::Qwen2 || arch == Architecture::Qwen3)
        c.tiedEmbeddings = true;
    return c;
}

namespace {

std::vector<uint8_t> bytesOf(const TensorView& t)
{
    const auto* p = static_cast<const uint8_t*>(t.data);
    return std::vector<uint8_t>(p, p + t.nbytes);
}

// Rotate-half rows -> Meta's interleaved rows, per head: HF row j*(D/2)+i -> GGUF row 2i+j.
std::vector<uint8_t> interleaveRows(const TensorView& t, int heads)
{
    const int64_t rows = t.shape[0];
    const int64_t D = rows / heads;
    const size_t rowBytes = t.nbytes / size_t(rows);
    std::vector<uint8_t> out(t.nbytes);
    const auto* src = static_cast<const uint8_t*>(t.data);
    for (int64_t h = 0; h < heads; ++h)
        for (int64_t j = 0; j < 2; ++j)
            for (int64_t i = 0; i < D / 2; ++i)
                std::memcpy(&out[size_t(h * D + 2 * i + j) * rowBytes], src + size_t(h * D + j * (D / 2) + i) * rowBytes,
                            rowBytes);
    return out;
}

std::vector<uint8_t> interleaveVector(const TensorView& t, int heads)
{
    TensorView m = t;
    m.shape = {t.shape[0], 1};
    return interleaveRows(m, heads);
}

std::vector<uint8_t> concat(std::initializer_list<std::vector<uint8_t>> parts)
{
    std::vector<uint8_t> out;
    for (const auto& p : parts)
        out.insert(out.end(), p.begin(), p.end());
    return out;
}

// Matrices of the same type and width stacked by rows, as fused files store them (gpt2's and phi3's
// q|k|v, phi3's gate|up).
struct Stacked {
    DType type;
    std::vector<int64_t> shape;
    std::vector<uint8_t> bytes;
};
Stacked stackRows(std::initializer_list<const TensorView*> parts)
{
    const TensorView& first = **parts.begin();
    Stacked s{first.type, {0, first.shape[1]}, {}};
    for (const TensorView* t : parts) {
        s.shape[0] += t->shape[0];
        const std::vector<uint8_t> b = bytesOf(*t);
        s.bytes.insert(s.bytes.end(), b.begin(), b.end());
    }
    return s;
}

bool endsWith(const std::string& s, const std::string& suffix)
{
    return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

void copyTokenizerMetadata(const GgufFile& vocab, GgufWriter& w)
{
    for (const auto& [key, v] : vocab.metadata()) {
        if (key.rfind("tokenizer.", 0) != 0)
            continue;
        switch (v.type) {
        case GgufType::String: w.setString(key, std::string(v.str)); break;
        case GgufType::Bool: w.setBool(key, v.u != 0); break;
        case GgufType::F32: case GgufType::F64: w.setF32(key, float(v.f)); break;
        case GgufType::Array:
            if (v.elemType == GgufType::String) {
                std::vector<std::string> s(v.strs.begin(), v.strs.end());
                w.setStringArray(key, s);
            } else if (v.elemType == GgufType::F32 || v.elemType == GgufType::F64) {
                w.setF32Array(key, vocab.getFloatArray(key));
            } else {
                std::vector<int32_t> ints;
                for (int64_t x : vocab.getIntArray(key))
                    ints.push_back(int32_t(x));
                w.setI32Array(key, ints);
            }
            break;
        default:
            if (v.isInteger())
                w.setU32(key, uint32_t(v.u));
        }
    }
}

void writeGguf(const Model& m, const std::string& out, const std::string& vocabPath)
{
    if (!endsWith(vocabPath, ".gguf"))
        throw Error("--vocab: a GGUF output needs a GGUF vocabulary file, got " + vocabPath);
    GgufFile vocab(vocabPath);
    const ModelConfig& c = m.config();
    const Weights& wt = m.weights();
    const std::string arch = architectureName(c.arch);
    const bool interleave = c.arch == Architecture::Llama; // llama GGUF files use Meta's Q/K order
    GgufWriter w;
    w.setString("general.architecture", arch);
    w.setString("general.name", "logitscope random " + arch);
    w.setU32(arch + ".context_length", uint32_t(c.contextLength));
    w.setU32(arch + ".embedding_length", uint32_t(c.hidden));
    w.setU32(arch + ".block_count", uint32_t(c.layers));
    w.setU32(arch + ".feed_forward_length", uint32_t(c.ffn));
    w.setU32(arch + ".attention.head_count", uint32_t(c.heads));
    w.setU32(arch + ".attention.head_count_kv", uint32_t(c.kvHeads));
    if (c.arch == Architecture::Gpt2) {
        w.setF32(arch + ".attention.layer_norm_epsilon", c.normEps);
    } else {
        w.setF32(arch + ".attention.layer_norm_rms_epsilon", c.normEps);
        w.setF32(arch + ".rope.freq_base", c.ropeTheta);
        w.setU32(arch + ".rope.dimension_count", uint32_t(c.headDim));
        if (c.qkNorm || c.headDim * c.heads != c.hidden) {
            w.setU32(arch + ".attention.key_length", uint32_t(c.headDim));
            w.setU32(arch + ".attention.value_length", uint32_t(c.headDim));
        }
    }
    copyTokenizerMetadata(vocab, w);
    auto add = [&](const std::string& name, const TensorView& t, std::vector<uint8_t> data = {}) {
        if (!t.data)
            return;
        w.addTensor(name, t.type, t.shape, data.empty() ? bytesOf(t) : std::move(data));
    };
    add("token_embd.weight", wt.tokenEmbedding);
    add("position_embd.weight", wt.positionEmbedding);
    add("output_norm.weight", wt.outputNorm);
    add("output_norm.bias", wt.outputNormBias);
    if (!c.tiedEmbeddings)
        add("output.weight", wt.output);
    for (int l = 0; l < c.layers; ++l) {
        const LayerWeights& lw = wt.layers[size_t(l)];
        const std::string b = "blk." + std::to_string(l) + ".";
        add(b + "attn_norm.weight", lw.attnNorm);
        add(b + "attn_norm.bias", lw.attnNormBias);
        add(b + "ffn_norm.weight", lw.ffnNorm);
        add(b + "ffn_norm.bias", lw.ffnNormBias);
        add(b + "attn_output.weight", lw.wo);
        add(b + "attn_output.bias", lw.bo);
        add(b + "ffn_up.bias", lw.bUp);
        add(b + "ffn_down.weight", lw.wDown);
        add(b + "ffn_down.bias", lw.bDown);
        if (c.arch == Architecture::Phi3) {
            Stacked gateUp = stackRows({&lw.wGate, &lw.wUp});
            w.addTensor(b + "ffn_up.weight", gateUp.type, gateUp.shape, std::move(gateUp.bytes));
        } else {
            add(b + "ffn_up.weight", lw.wUp);
            add(b + "ffn_gate.weight", lw.wGate);
        }
        if (c.arch == Architecture::Gpt2 || c.arch == Architecture::Phi3) {
            Stacked qkv = stackRows({&lw.wq, &lw.wk, &lw.wv});
            w.addTensor(b + "attn_qkv.weight", qkv.type, qkv.shape, std::move(qkv.bytes));
        }
        if (c.arch == Architecture::Gpt2) {
            TensorView bqkv = lw.bq;
            bqkv.shape = {lw.bq.shape[0] + lw.bk.shape[0] + lw.bv.shape[0]};
            w.addTensor(b + "attn_qkv.bias", bqkv.type, bqkv.shape, concat({bytesOf(lw.bq), bytesOf(lw.bk), bytesOf(lw.bv)}));
        } else if (c.arch != Architecture::Phi3) {
            add(b + "attn_q.weight", lw.wq, interleave ? interleaveRows(lw.wq, c.heads) : std::vector<uint8_t>{});
            add(b + "attn_k.weight", lw.wk, interleave ? interleaveRows(lw.wk, c.kvHeads) : std::vector<uint8_t>{});
            add(b + "attn_v.weight", lw.wv);
            add(b + "attn_q.bias", lw.bq, interleave && lw.bq.data ? interleaveVector(lw.bq, c.heads) : std::vector<uint8_t>{});
            add(b + "attn_k.bias", lw.bk, interleave && lw.bk.data ? interleaveVector(lw.bk, c.kvHeads) : std::vector<uint8_t>{});
            add(b + "attn_v.bias", lw.bv);
            add(b + "attn_q_norm.weight", lw.qNorm);
            add(b + "attn_k_norm.weight", lw.kNorm);
        }
    }
    w.write(out);
}

void writeJson(const fs::path& path, const nlohmann::ordered_json& j)
{
    std::ofstream f(path);
    if (!f)
        throw Error(path.string() + ": cannot create file");
    f << j.dump(2) << "\n";
}

void writeTokenizerFiles(const fs::path& dir, const std::string& vocabPath, nlohmann::ordered_json& tokConfig)
{
    if (endsWith(vocabPath, ".gguf")) {
        GgufFile vocab(vocabPath);
        const std::string model = vocab.getString("tokenizer.ggml.model");
        if (model == "gpt2") {
            std::ofstream(dir / "tokenizer.json") << tokenizerJsonFromGgufVocab(vocab);
        } else if (model == "llama") {
            // A SentencePiece model rebuilt from the GGUF pieces (the same conversion the tokenizer uses).
            SpmModelSpec spec;
            const auto tokens = vocab.getStringArray("tokenizer.ggml.tokens");
            const auto scores = vocab.getFloatArray("tokenizer.ggml.scores");
            const auto types = vocab.getIntArray("tokenizer.ggml.token_type");
            for (size_t i = 0; i < tokens.size(); ++i) {
                SpmPiece p;
                p.piece = std::string(tokens[i]);
                p.score = i < scores.size() ? scores[i] : 0.0f;
                const int64_t t = i < types.size() ? types[i] : 1;
                p.type = t >= 1 && t <= 6 ? SpmPieceType(t) : SpmPieceType::Normal;
                spec.byteFallback |= p.type == SpmPieceType::Byte;
                spec.pieces.push_back(std::move(p));
            }
            spec.bosId = int(vocab.getInt("tokenizer.ggml.bos_token_id", 1));
            spec.eosId = int(vocab.getInt("tokenizer.ggml.eos_token_id", 2));
            spec.unkId = int(vocab.getInt("tokenizer.ggml.unknown_token_id", 0));
            // SentencePiece wants exactly one unknown piece, the unk id's; some GGUF vocabularies (Phi-3's) type
            // their <unk> as control and their padding entries as unknown.
            for (size_t i = 0; i < spec.pieces.size(); ++i)
                if (int(i) == spec.unkId)
                    spec.pieces[i].type = SpmPieceType::Unknown;
                else if (spec.pieces[i].type == SpmPieceType::Unknown)
                    spec.pieces[i].type = SpmPieceType::Unused;
            std::ofstream(dir / "tokenizer.model", std::ios::binary) << serializeSpmModel(spec);
            tokConfig["add_bos_token"] = vocab.getBool("tokenizer.ggml.add_bos_token", true);
        } else {
            throw Error(vocabPath + ": tokenizer.ggml.model '" + model + "' cannot be written to a Hugging Face folder");
        }
        return;
    }
    const fs::path src(vocabPath);
    if (!fs::exists(src))
        throw Error("--vocab: " + vocabPath + ": no such file");
    if (src.filename() == "tokenizer.json" || src.filename() == "tokenizer.model") {
        fs::copy_file(src, dir / src.filename(), fs::copy_options::overwrite_existing);
        for (const char* extra : {"tokenizer_config.json", "special_tokens_map.json"})
            if (fs::exists(src.parent_path() / extra))
                fs::copy_file(src.parent_path() / extra, dir / extra, fs::copy_options::overwrite_existing);
        return;
    }
    throw Error("--vocab: expected a .gguf vocabulary, tokenizer.json or tokenizer.model, got " + vocabPath);
}

void writeHf(const Model& m, const std::string& out, const std::string& vocabPath)
{
    const fs::path dir(out);
    fs::create_directories(dir);
    const ModelConfig& c = m.config();
    const Weights& wt = m.weights();
    SafetensorsWriter st;
    auto add = [&](const std::string& name, const TensorView& t, std::vector<uint8_t> data = {}, std::vector<int64_t> shape = {}) {
        if (!t.data)
            return;
        st.addTensor(name, t.type, shape.empty() ? t.shape : shape, data.empty() ? bytesOf(t) : std::move(data));
    };
    nlohmann::ordered_json cfg;
    if (c.arch == Architecture::Gpt2) {
        cfg = {{"architectures", {"GPT2LMHeadModel"}}, {"model_type", "gpt2"}, {"vocab_size", c.vocabSize},
               {"n_embd", c.hidden}, {"n_layer", c.layers}, {"n_head", c.heads}, {"n_positions", c.contextLength},
               {"n_ctx", c.contextLength}, {"n_inner", c.ffn}, {"layer_norm_epsilon", c.normEps},
               {"activation_function", "gelu_new"}, {"torch_dtype", "float16"}};
        add("transformer.wte.weight", wt.tokenEmbedding);
        add("transformer.wpe.weight", wt.positionEmbedding);
        add("transformer.ln_f.weight", wt.outputNorm);
        add("transformer.ln_f.bias", wt.outputNormBias);
        for (int l = 0; l < c.layers; ++l) {
            const LayerWeights& lw = wt.layers[size_t(l)];
            const std::string b = "transformer.h." + std::to_string(l) + ".";
            add(b + "ln_1.weight", lw.attnNorm);
            add(b + "ln_1.bias", lw.attnNormBias);
            add(b + "ln_2.weight", lw.ffnNorm);
            add(b + "ln_2.bias", lw.ffnNormBias);
            TensorView qkv = lw.wq;
            qkv.shape = {lw.wq.shape[0] + lw.wk.shape[0] + lw.wv.shape[0], lw.wq.shape[1]};
            std::vector<uint8_t> fused = concat({bytesOf(lw.wq), bytesOf(lw.wk), bytesOf(lw.wv)});
            qkv.data = fused.data();
            qkv.nbytes = fused.size();
            add(b + "attn.c_attn.weight", qkv, transposeBytes(qkv), {qkv.shape[1], qkv.shape[0]});
            TensorView bqkv = lw.bq;
            bqkv.shape = {qkv.shape[0]};
            add(b + "attn.c_attn.bias", bqkv, concat({bytesOf(lw.bq), bytesOf(lw.bk), bytesOf(lw.bv)}), bqkv.shape);
            add(b + "attn.c_proj.weight", lw.wo, transposeBytes(lw.wo), {lw.wo.shape[1], lw.wo.shape[0]});
            add(b + "attn.c_proj.bias", lw.bo);
            add(b + "mlp.c_fc.weight", lw.wUp, transposeBytes(lw.wUp), {lw.wUp.shape[1], lw.wUp.shape[0]});
            add(b + "mlp.c_fc.bias", lw.bUp);
            add(b + "mlp.c_proj.weight", lw.wDown, transposeBytes(lw.wDown), {lw.wDown.shape[1], lw.wDown.shape[0]});
            add(b + "mlp.c_proj.bias", lw.bDown);
        }
    } else {
        const char* cls = c.arch == Architecture::Qwen2   ? "Qwen2ForCausalLM"
                          : c.arch == Architecture::Qwen3 ? "Qwen3ForCausalLM"
                          : c.arch == Architecture::Phi3  ? "Phi3ForCausalLM"
                                                          : "LlamaForCausalLM";
        cfg = {{"architectures", {cls}}, {"model_type", architectureName(c.arch)},
               {"vocab_size", c.vocabSize}, {"hidden_size", c.hidden}, {"num_hidden_layers", c.layers},
               {"num_attention_heads", c.heads}, {"num_key_value_heads", c.kvHeads}, {"head_dim", c.headDim},
               {"intermediate_size", c.ffn}, {"max_position_embeddings", c.contextLength}, {"rms_norm_eps", c.normEps},
               {"rope_theta", c.ropeTheta}, {"tie_word_embeddings", c.tiedEmbeddings}, {"hidden_act", "silu"},
               {"torch_dtype", "float16"}};
        add("model.embed_tokens.weight", wt.tokenEmbedding);
        add("model.norm.weight", wt.outputNorm);
        if (!c.tiedEmbeddings)
            add("lm_head.weight", wt.output);
        for (int l = 0; l < c.layers; ++l) {
            const LayerWeights& lw = wt.layers[size_t(l)];
            const std::string b = "model.layers." + std::to_string(l) + ".";
            add(b + "input_layernorm.weight", lw.attnNorm);
            add(b + "post_attention_layernorm.weight", lw.ffnNorm);
            if (c.arch == Architecture::Phi3) {
                Stacked qkv = stackRows({&lw.wq, &lw.wk, &lw.wv}), gateUp = stackRows({&lw.wGate, &lw.wUp});
                st.addTensor(b + "self_attn.qkv_proj.weight", qkv.type, qkv.shape, std::move(qkv.bytes));
                st.addTensor(b + "mlp.gate_up_proj.weight", gateUp.type, gateUp.shape, std::move(gateUp.bytes));
            } else {
                add(b + "self_attn.q_proj.weight", lw.wq);
                add(b + "self_attn.k_proj.weight", lw.wk);
                add(b + "self_attn.v_proj.weight", lw.wv);
                add(b + "mlp.gate_proj.weight", lw.wGate);
                add(b + "mlp.up_proj.weight", lw.wUp);
            }
            add(b + "self_attn.o_proj.weight", lw.wo);
            add(b + "self_attn.q_proj.bias", lw.bq);
            add(b + "self_attn.k_proj.bias", lw.bk);
            add(b + "self_attn.v_proj.bias", lw.bv);
            add(b + "self_attn.q_norm.weight", lw.qNorm);
            add(b + "self_attn.k_norm.weight", lw.kNorm);
            add(b + "mlp.down_proj.weight", lw.wDown);
        }
    }
    st.write((dir / "model.safetensors").string());
    nlohmann::ordered_json tokConfig = nlohmann::ordered_json::object();
    writeTokenizerFiles(dir, vocabPath, tokConfig);
    if (!tokConfig.empty() && !fs::exists(dir / "tokenizer_config.json"))
        writeJson(dir / "tokenizer_config.json", tokConfig);
    writeJson(dir / "config.json", cfg);
}

int vocabSizeOf(const std::string& vocab)
{
    return loadTokenizerFile(vocab)->vocabSize();
}

} // namespace

void writeModel(const Model& model, ModelFormat format, const std::string& out, const std::string& vocab)
{
    if (format == ModelFormat::Gguf)
        writeGguf(model, out, vocab);
    else
        writeHf(model, out, vocab);
}

void makeModel(const MakeModelOptions& o)
{
    if (o.out.empty())
        throw Error("--out: missing");
    if (o.vocab.empty())
        throw Error("--vocab: missing (a GGUF vocabulary, tokenizer.json or tokenizer.model)");
    ModelConfig c = namedShape(o.arch, o.shape);
    c.vocabSize = vocabSizeOf(o.vocab);
    const auto plain = [](DType t) { return t == DType::F32 || t == DType::F16 || t == DType::BF16; };
    if (o.format == ModelFormat::HuggingFace && !(plain(o.weights.matrices) && plain(o.weights.sensitive)))
        throw Error("--dtype: safetensors holds F32, F16 or BF16 only");
    auto model = SyntheticModelBuilder::build(c, o.weights, o.seed);
    writeModel(*model, o.format, o.out, o.vocab);
}

} // namespace logitscope
