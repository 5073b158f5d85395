// Model::load: opens a GGUF file or a Hugging Face folder, maps the weights, names every tensor
// the architecture needs and checks its shape against the config. GPT-2's Conv1D matrices are
// the only tensors copied (transposed to (out, in)); everything else is read in place.
#include "model/model.h"

#include "common/error.h"
#include "formats/gguf_reader.h"
#include "formats/safetensors_reader.h"
#include "model/config_loader.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <sstream>

namespace fs = std::filesystem;

namespace logitscope {

class ModelLoader {
public:
    ModelLoader(Model& m, bool populate) : m_model(m), m_populate(populate) {}
    void loadGguf(const std::string& path);
    void loadHfFolder(const std::string& dir);

private:
    using Lookup = std::function<const TensorView*(const std::string&)>;
    const TensorView& require(const std::string& name, std::vector<int64_t> shape);
    TensorView optional(const std::string& name, std::vector<int64_t> shape);
    void checkShape(const TensorView& t, const std::vector<int64_t>& shape);
    TensorView rowSlice(const TensorView& t, int64_t row0, int64_t rows, const std::string& name);
    TensorView vectorSlice(const TensorView& t, int64_t begin, int64_t n, const std::string& name);
    TensorView transposed(const TensorView& t, const std::string& name);
    // A fused (Q + 2 KV, C) projection (gpt2, phi3) as the three views the backends read, named q, k, v.
    void splitQkv(LayerWeights& lw, const TensorView& qkv, const std::string& q, const std::string& k,
                  const std::string& v);
    // A fused (2 F, C) feed-forward input (phi3): gate rows, then up rows.
    void splitGateUp(LayerWeights& lw, const TensorView& gateUp, const std::string& gate, const std::string& up);
    void bindGgufNames();
    void bindHfNames();

    Model& m_model;
    bool m_populate; // LoadOptions::populate
    Lookup m_lookup;
    std::string m_source; // file named in shape errors
    std::function<std::string(const std::string&)> m_fileOf;
};

void ModelLoader::checkShape(const TensorView& t, const std::vector<int64_t>& shape)
{
    if (t.shape != shape) {
        std::ostringstream os;
        os << m_fileOf(t.name) << ": tensor '" << t.name << "' has shape " << shapeString(t.shape) << " but the config ("
           << architectureName(m_model.m_config.arch) << ", hidden " << m_model.m_config.hidden << ", heads "
           << m_model.m_config.heads << "/" << m_model.m_config.kvHeads << ") needs " << shapeString(shape);
        throw Error(os.str());
    }
}

const TensorView& ModelLoader::require(const std::string& name, std::vector<int64_t> shape)
{
    const TensorView* t = m_lookup(name);
    if (!t)
        throw Error(m_source + ": missing tensor '" + name + "'");
    checkShape(*t, shape);
    return *t;
}

TensorView ModelLoader::optional(const std::string& name, std::vector<int64_t> shape)
{
    const TensorView* t = m_lookup(name);
    if (!t)
        return {};
    checkShape(*t, shape);
    return *t;
}

TensorView ModelLoader::rowSlice(const TensorView& t, int64_t row0, int64_t rows, const std::string& name)
{
    TensorView v = t;
    v.name = name;
    const size_t rowBytes = dtypeBytes(t.type, t.cols());
    v.shape = {rows, t.cols()};
    v.data = static_cast<const uint8_t*>(t.data) + size_t(row0) * rowBytes;
    v.nbytes = size_t(rows) * rowBytes;
    return v;
}

TensorView ModelLoader::vectorSlice(const TensorView& t, int64_t begin, int64_t n, const std::string& name)
{
    TensorView v = t;
    v.name = name;
    v.shape = {n};
    v.data = static_cast<const uint8_t*>(t.data) + dtypeBytes(t.type, begin);
    v.nbytes = dtypeBytes(t.type, n);
    return v;
}

void ModelLoader::splitQkv(LayerWeights& lw, const TensorView& qkv, const std::string& q, const std::string& k,
                           const std::string& v)
{
    const int64_t Q = m_model.m_config.qDim(), KV = m_model.m_config.kvDim();
    lw.wq = rowSlice(qkv, 0, Q, q);
    lw.wk = rowSlice(qkv, Q, KV, k);
    lw.wv = rowSlice(qkv, Q + KV, KV, v);
}

void ModelLoader::splitGateUp(LayerWeights& lw, const TensorView& gateUp, const std::string& gate, const std::string& up)
{
    const int64_t F = m_model.m_config.ffn;
    lw.wGate = rowSlice(gateUp, 0, F, gate);
    lw.wUp = rowSlice(gateUp, F, F, up);
}

TensorView ModelLoader::transposed(const TensorView& t, const std::string& name)
{
    if (dtypeBlockSize(t.type) != 1)
        throw Error(m_fileOf(t.name) + ": tensor '" + t.name + "' must be unquantized to be transposed");
    std::vector<uint8_t> out = transposeBytes(t);
    TensorView v = t;
    v.name = name;
    v.shape = {t.shape[1], t.shape[0]};
    v.data = out.data();
    m_model.m_owned.push_back(std::move(out));
    return v;
}

void ModelLoader::bindGgufNames()
{
    const ModelConfig& c = m_model.m_config;
    Weights& w = m_model.m_weights;
    const int64_t C = c.hidden, V = c.vocabSize, F = c.ffn, Q = c.qDim(), KV = c.kvDim();
    const bool gpt2 = c.arch == Architecture::Gpt2;
    w.tokenEmbedding = require("token_embd.weight", {V, C});
    if (gpt2)
        w.positionEmbedding = require("position_embd.weight", {c.contextLength, C});
    w.outputNorm = require("output_norm.weight", {C});
    if (gpt2)
        w.outputNormBias = require("output_norm.bias", {C});
    w.output = c.tiedEmbeddings ? w.tokenEmbedding : require("output.weight", {V, C});
    w.layers.resize(size_t(c.layers));
    for (int l = 0; l < c.layers; ++l) {
        LayerWeights& lw = w.layers[size_t(l)];
        const std::string b = "blk." + std::to_string(l) + ".";
        lw.attnNorm = require(b + "attn_norm.weight", {C});
        lw.ffnNorm = require(b + "ffn_norm.weight", {C});
        lw.wo = require(b + "attn_output.weight", {C, Q});
        lw.wDown = require(b + "ffn_down.weight", {C, F});
        if (gpt2) {
            lw.attnNormBias = require(b + "attn_norm.bias", {C});
            lw.ffnNormBias = require(b + "ffn_norm.bias", {C});
            const TensorView& qkv = require(b + "attn_qkv.weight", {Q + 2 * KV, C});
            splitQkv(lw, qkv, b + "attn_q", b + "attn_k", b + "attn_v");
            const TensorView& bqkv = require(b + "attn_qkv.bias", {Q + 2 * KV});
            lw.bq = vectorSlice(bqkv, 0, Q, b + "attn_q.bias");
            lw.bk = vectorSlice(bqkv, Q, KV, b + "attn_k.bias");
            lw.bv = vectorSlice(bqkv, Q + KV, KV, b + "attn_v.bias");
            lw.bo = require(b + "attn_output.bias", {C});
            lw.wUp = require(b + "ffn_up.weight", {F, C});
            lw.bUp = require(b + "ffn_up.bias", {F});
            lw.bDown = require(b + "ffn_down.bias", {C});
        } else if (c.arch == Architecture::Phi3) {
            const TensorView& qkv = require(b + "attn_qkv.weight", {Q + 2 * KV, C});
            splitQkv(lw, qkv, b + "attn_q", b + "attn_k", b + "attn_v");
            splitGateUp(lw, require(b + "ffn_up.weight", {2 * F, C}), b + "ffn_gate", b + "ffn_up");
        } else {
            lw.wq = require(b + "attn_q.weight", {Q, C});
            lw.wk = require(b + "attn_k.weight", {KV, C});
            lw.wv = require(b + "attn_v.weight", {KV, C});
            lw.wGate = require(b + "ffn_gate.weight", {F, C});
            lw.wUp = require(b + "ffn_up.weight", {F, C});
            if (c.qkvBias) {
                lw.bq = require(b + "attn_q.bias", {Q});
                lw.bk = require(b + "attn_k.bias", {KV});
                lw.bv = require(b + "attn_v.bias", {KV});
            }
            if (c.qkNorm) {
                lw.qNorm = require(b + "attn_q_norm.weight", {c.headDim});
                lw.kNorm = require(b + "attn_k_norm.weight", {c.headDim});
            }
        }
    }
}

void ModelLoader::bindHfNames()
{
    const ModelConfig& c = m_model.m_config;
    Weights& w = m_model.m_weights;
    const int64_t C = c.hidden, V = c.vocabSize, F = c.ffn, Q = c.qDim(), KV = c.kvDim();
    w.layers.resize(size_t(c.layers));
    if (c.arch == Architecture::Gpt2) {
        // Some GPT-2 files prefix names with "transformer.", some do not.
        const std::string pre = m_lookup("transformer.wte.weight") ? "transformer." : "";
        w.tokenEmbedding = require(pre + "wte.weight", {V, C});
        w.positionEmbedding = require(pre + "wpe.weight", {c.contextLength, C});
        w.outputNorm = require(pre + "ln_f.weight", {C});
        w.outputNormBias = require(pre + "ln_f.bias", {C});
        w.output = w.tokenEmbedding;
        for (int l = 0; l < c.layers; ++l) {
            LayerWeights& lw = w.layers[size_t(l)];
            const std::string b = pre + "h." + std::to_string(l) + ".";
            lw.attnNorm = require(b + "ln_1.weight", {C});
            lw.attnNormBias = require(b + "ln_1.bias", {C});
            lw.ffnNorm = require(b + "ln_2.weight", {C});
            lw.ffnNormBias = require(b + "ln_2.bias", {C});
            // Conv1D stores (in, out): transpose once to (out, in).
            const TensorView qkv = transposed(require(b + "attn.c_attn.weight", {C, Q + 2 * KV}), b + "attn.c_attn.weight");
            splitQkv(lw, qkv, b + "attn.q", b + "attn.k", b + "attn.v");
            const TensorView& bqkv = require(b + "attn.c_attn.bias", {Q + 2 * KV});
            lw.bq = vectorSlice(bqkv, 0, Q, b + "attn.q.bias");
            lw.bk = vectorSlice(bqkv, Q, KV, b + "attn.k.bias");
            lw.bv = vectorSlice(bqkv, Q + KV, KV, b + "attn.v.bias");
            lw.wo = transposed(require(b + "attn.c_proj.weight", {Q, C}), b + "attn.c_proj.weight");
            lw.bo = require(b + "attn.c_proj.bias", {C});
            lw.wUp = transposed(require(b + "mlp.c_fc.weight", {C, F}), b + "mlp.c_fc.weight");
            lw.bUp = require(b + "mlp.c_fc.bias", {F});
            lw.wDown = transposed(require(b + "mlp.c_proj.weight", {F, C}), b + "mlp.c_proj.weight");
            lw.bDown = require(b + "mlp.c_proj.bias", {C});
        }
        return;
    }
    w.tokenEmbedding = require("model.embed_tokens.weight", {V, C});
    w.outputNorm = require("model.norm.weight", {C});
    if (c.tiedEmbeddings) {
        w.output = w.tokenEmbedding;
    } else {
        w.output = require("lm_head.weight", {V, C});
    }
    for (int l = 0; l < c.layers; ++l) {
        LayerWeights& lw = w.layers[size_t(l)];
        const std::string b = "model.layers." + std::to_string(l) + ".";
        lw.attnNorm = require(b + "input_layernorm.weight", {C});
        lw.ffnNorm = require(b + "post_attention_layernorm.weight", {C});
        if (c.arch == Architecture::Phi3) {
            const TensorView& qkv = require(b + "self_attn.qkv_proj.weight", {Q + 2 * KV, C});
            splitQkv(lw, qkv, b + "self_attn.q_proj", b + "self_attn.k_proj", b + "self_attn.v_proj");
        } else {
            lw.wq = require(b + "self_attn.q_proj.weight", {Q, C});
            lw.wk = require(b + "self_attn.k_proj.weight", {KV, C});
            lw.wv = require(b + "self_attn.v_proj.weight", {KV, C});
        }
        lw.wo = require(b + "self_attn.o_proj.weight", {C, Q});
        if (c.qkvBias) {
            lw.bq = require(b + "self_attn.q_proj.bias", {Q});
            lw.bk = require(b + "self_attn.k_proj.bias", {KV});
            lw.bv = require(b + "self_attn.v_proj.bias", {KV});
        }
        if (c.qkNorm) {
            lw.qNorm = require(b + "self_attn.q_norm.weight", {c.headDim});
            lw.kNorm = require(b + "self_attn.k_norm.weight", {c.headDim});
        }
        if (c.arch == Architecture::Phi3) {
            splitGateUp(lw, require(b + "mlp.gate_up_proj.weight", {2 * F, C}), b + "mlp.gate_proj", b + "mlp.up_proj");
        } else {
            lw.wGate = require(b + "mlp.gate_proj.weight", {F, C});
            lw.wUp = require(b + "mlp.up_proj.weight", {F, C});
        }
        lw.wDown = require(b + "mlp.down_proj.weight", {C, F});
    }
}

void ModelLoader::loadGguf(const std::string& path)
{
    auto g = std::make_shared<GgufFile>(path, m_populate);
    m_model.m_format = "gguf";
    m_model.m_name = g->getString("general.name", fs::path(path).stem().string());
    m_model.m_config = configFromGguf(*g);
    m_model.m_tokenizer = loadTokenizer(*g);
    m_model.m_files.push_back(g->mapping());
    m_source = path;
    m_fileOf = [path](const std::string&) { return path; };
    m_lookup = [g](const std::string& n) { return g->tensor(n); };
    bindGgufNames();
}

void ModelLoader::loadHfFolder(const std::string& dir)
{
    const fs::path root(dir);
    const fs::path configPath = root / "config.json";
    if (!fs::exists(configPath))
        throw Error(dir + ": not a model folder (no config.json)");
    nlohmann::json config;
    {
        std::ifstream in(configPath);
        try {
            config = nlohmann::json::parse(in);
        } catch (const nlohmann::json::exception& e) {
            throw Error(configPath.string() + ": not valid JSON: " + e.what());
        }
    }
    m_model.m_format = "safetensors";
    m_model.m_name = root.filename().string();
    m_model.m_config = configFromHfJson(config, configPath.string());

    // One file, or shards listed in model.safetensors.index.json.
    std::vector<std::string> files;
    std::map<std::string, std::string> weightMap;
    const fs::path index = root / "model.safetensors.index.json";
    if (fs::exists(root / "model.safetensors")) {
        files.push_back((root / "model.safetensors").string());
    } else if (fs::exists(index)) {
        nlohmann::json j;
        try {
            std::ifstream in(index);
            j = nlohmann::json::parse(in);
        } catch (const nlohmann::json::exception& e) {
            throw Error(index.string() + ": not valid JSON: " + e.what());
        }
        if (!j.contains("weight_map") || !j["weight_map"].is_object())
            throw Error(index.string() + ": missing object 'weight_map'");
        std::set<std::string> shards;
        for (auto it = j["weight_map"].begin(); it != j["weight_map"].end(); ++it) {
            if (!it->is_string())
                throw Error(index.string() + ": weight_map['" + it.key() + "'] is not a file name");
            const std::string f = it->get<std::string>();
            if (f.find('/') != std::string::npos || f.find("..") != std::string::npos)
                throw Error(index.string() + ": weight_map['" + it.key() + "'] names a file outside the folder: " + f);
            weightMap[it.key()] = (root / f).string();
            shards.insert((root / f).string());
        }
        files.assign(shards.begin(), shards.end());
    } else {
        throw Error(dir + ": no model.safetensors or model.safetensors.index.json");
    }
    auto shards = std::make_shared<std::vector<std::shared_ptr<SafetensorsFile>>>();
    auto owner = std::make_shared<std::map<std::string, std::pair<const TensorView*, std::string>>>();
    for (const std::string& f : files) {
        auto s = std::make_shared<SafetensorsFile>(f, m_populate);
        for (const TensorView& t : s->tensors()) {
            if (owner->count(t.name))
                throw Error(f + ": tensor '" + t.name + "' also appears in " + (*owner)[t.name].second);
            (*owner)[t.name] = {&t, f};
        }
        m_model.m_files.push_back(s->mapping());
        shards->push_back(std::move(s));
    }
    m_source = files.size() == 1 ? files.front() : index.string();
    m_lookup = [owner, shards](const std::string& n) -> const TensorView* {
        auto it = owner->find(n);
        return it == owner->end() ? nullptr : it->second.first;
    };
    m_fileOf = [owner, this](const std::string& n) {
        auto it = owner->find(n);
        return it == owner->end() ? m_source : it->second.second;
    };
    m_model.m_tokenizer = loadTokenizerFromFolder(dir);
    bindHfNames();
    // The lookup keeps the shard objects alive only during binding; the mappings stay in m_files.
    m_lookup = nullptr;
    m_fileOf = nullptr;
}

std::shared_ptr<const Model> Model::load(const std::string& pathIn, const LoadOptions& options)
{
    fs::path p(pathIn);
    if (!fs::exists(p))
        throw Error(pathIn + ": no such file or folder");
    auto model = std::shared_ptr<Model>(new Model());
    model->m_path = pathIn;
    ModelLoader loader(*model, options.populate);
    if (fs::is_directory(p)) {
        loader.loadHfFolder(p.string());
    } else if (p.filename() == "config.json") {
        model->m_path = p.parent_path().string();
        loader.loadHfFolder(model->m_path);
    } else {
        loader.loadGguf(p.string());
    }
    model->m_config.ropeScaling.rounding = options.ropeRounding;
    const ModelConfig& c = model->m_config;
    const int32_t tv = model->m_tokenizer->vocabSize();
    if (tv > c.vocabSize)
        throw Error(pathIn + ": the tokenizer has " + std::to_string(tv) + " tokens but the model's vocabulary is " +
                    std::to_string(c.vocabSize));
    return model;
}

namespace {
template <typename F>
void forEachTensor(const Weights& w, F f)
{
    for (const TensorView* t : {&w.tokenEmbedding, &w.positionEmbedding, &w.outputNorm, &w.outputNormBias})
        f(*t);
    if (w.output.data != w.tokenEmbedding.data)
        f(w.output);
    for (const LayerWeights& l : w.layers)
        for (const TensorView* t : {&l.attnNorm, &l.attnNormBias, &l.wq, &l.wk, &l.wv, &l.bq, &l.bk, &l.bv, &l.qNorm,
                                    &l.kNorm, &l.wo, &l.bo, &l.ffnNorm, &l.ffnNormBias, &l.wGate, &l.wUp, &l.wDown, &l.bUp, &l.bDown})
            f(*t);
}
} // namespace

int64_t Model::parameterCount() const
{
    int64_t n = 0;
    forEachTensor(m_weights, [&](const TensorView& t) { n += t.data ? t.elements() : 0; });
    return n;
}

size_t Model::weightBytes() const
{
    size_t n = 0;
    forEachTensor(m_weights, [&](const TensorView& t) { n += t.data ? t.nbytes : 0; });
    return n;
}

namespace {
// Bytes and values by element type of the tensors `visit` hands over, most bytes first.
template <typename Visit>
std::vector<Model::TypeShare> sharesByType(Visit visit)
{
    std::vector<Model::TypeShare> shares;
    visit([&](const TensorView& t) {
        if (!t.data)
            return;
        auto it = std::find_if(shares.begin(), shares.end(), [&](const Model::TypeShare& s) { return s.type == t.type; });
        if (it == shares.end())
            it = shares.insert(shares.end(), Model::TypeShare{t.type});
        it->bytes += t.nbytes;
        it->values += t.elements();
    });
    std::sort(shares.begin(), shares.end(), [](const auto& a, const auto& b) { return a.bytes > b.bytes; });
    return shares;
}
} // namespace

std::vector<Model::TypeShare> Model::weightTypes() const
{
    return sharesByType([&](const auto& add) { forEachTensor(m_weights, add); });
}

std::string Model::dtypeSummary() const
{
    // The matrices only (embedding, head, projections), each type holding at least 2 % of their bytes:
    // "Q4_K+Q6_K+Q5_0" for a Q4_K_M file.
    const auto shares = sharesByType([&](const auto& add) {
        add(m_weights.tokenEmbedding);
        if (m_weights.output.data != m_weights.tokenEmbedding.data)
            add(m_weights.output);
        for (const LayerWeights& l : m_weights.layers)
            for (const TensorView* t : {&l.wq, &l.wk, &l.wv, &l.wo, &l.wGate, &l.wUp, &l.wDown})
                add(*t);
    });
    size_t total = 0;
    for (const auto& s : shares)
        total += s.bytes;
    std::string summary;
    for (const auto& s : shares)
        if (summary.empty() || s.bytes * 50 >= total)
            summary += (summary.empty() ? "" : "+") + std::string(dtypeName(s.type));
    return summary;
}

void Model::mappedResidency(size_t& resident, size_t& hugePages) const
{
    resident = hugePages = 0;
    for (const auto& f : m_files) {
        size_t r = 0, h = 0;
        f->residentBytes(r, h);
        resident += r;
        hugePages += h;
    }
}

} // namespace logitscope
