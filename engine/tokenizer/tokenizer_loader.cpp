// Loading from a Hugging Face folder or a lone file. A folder's tokenizer.json is used when it is
// byte-level BPE (or when there is no tokenizer.model); otherwise tokenizer.model goes to SentencePiece.
// Special tokens then come from, in order: the model itself, special_tokens_map.json,
// tokenizer_config.json (add_bos_token / add_eos_token / chat_template), generation_config.json and
// config.json (eos_token_id may be a list: every id ends generation).
#include "common/error.h"
#include "common/read_file.h"
#include "formats/gguf_reader.h"
#include "tokenizer/hf_tokenizer_json.h"
#include "tokenizer/sentencepiece_tokenizer.h"

#include <nlohmann/json.hpp>

#include <filesystem>
#include <fstream>
#include <functional>

namespace logitscope {

using nlohmann::json;
namespace fs = std::filesystem;

namespace {

using Resolve = std::function<int32_t(const std::string&)>;

// A token named in a config file: "<s>" or {"content": "<s>", ...}.
std::string tokenText(const json& v)
{
    if (v.is_string())
        return v.get<std::string>();
    if (v.is_object() && v.contains("content") && v["content"].is_string())
        return v["content"].get<std::string>();
    return "";
}

void appendIds(const json& v, std::vector<int32_t>& out)
{
    if (v.is_number_integer())
        out.push_back(v.get<int32_t>());
    else if (v.is_array())
        for (const json& x : v)
            if (x.is_number_integer())
                out.push_back(x.get<int32_t>());
}

// Applies the folder's config files to settings. Token names that are not in the vocabulary are ignored.
struct ConfigFlags {
    bool addBosSet = false;
    bool addEosSet = false;
};

void applyFolderConfig(const fs::path& dir, TokenizerSettings& s, const Resolve& resolve, ConfigFlags& flags)
{
    const auto named = [&](const json& j, const char* key, int32_t& id) {
        if (!j.contains(key))
            return;
        if (const std::string t = tokenText(j[key]); !t.empty())
            if (const int32_t r = resolve(t); r >= 0)
                id = r;
    };
    int32_t eos = s.eos.empty() ? -1 : s.eos.front();
    for (const char* file : {"special_tokens_map.json", "tokenizer_config.json"}) {
        const fs::path p = dir / file;
        if (!fs::exists(p))
            continue;
        const json j = readJsonFile(p.string());
        if (!j.is_object())
            continue;
        named(j, "bos_token", s.bos);
        named(j, "eos_token", eos);
        named(j, "unk_token", s.unk);
        named(j, "pad_token", s.pad);
        if (j.contains("add_bos_token") && j["add_bos_token"].is_boolean()) {
            s.addBos = j["add_bos_token"].get<bool>();
            flags.addBosSet = true;
        }
        if (j.contains("add_eos_token") && j["add_eos_token"].is_boolean()) {
            s.addEos = j["add_eos_token"].get<bool>();
            flags.addEosSet = true;
        }
        if (j.contains("chat_template")) {
            const json& t = j["chat_template"];
            if (t.is_string()) {
                s.chatTemplate = t.get<std::string>();
            } else if (t.is_array()) { // [{"name": "default", "template": "..."}, {"name": "tool_use", ...}]
                for (const json& e : t) {
                    if (!e.is_object() || !e.contains("name") || !e["name"].is_string() || !e.contains("template") || !e["template"].is_string())
                        continue;
                    if (e["name"] == "default")
                        s.chatTemplate = e["template"].get<std::string>();
                    else
                        s.namedChatTemplates.emplace_back(e["name"].get<std::string>(), e["template"].get<std::string>());
                }
            }
        }
    }
    // Recent transformers releases save the template as its own file, which takes precedence.
    if (const fs::path p = dir / "chat_template.jinja"; fs::exists(p))
        s.chatTemplate = readFile(p.string());
    std::vector<int32_t> eosList;
    if (eos >= 0)
        eosList.push_back(eos);
    for (const char* file : {"generation_config.json", "config.json"}) {
        const fs::path p = dir / file;
        if (!fs::exists(p))
            continue;
        const json j = readJsonFile(p.string());
        if (!j.is_object())
            continue;
        if (j.contains("eos_token_id"))
            appendIds(j["eos_token_id"], eosList);
        if (s.bos < 0 && j.contains("bos_token_id") && j["bos_token_id"].is_number_integer())
            s.bos = j["bos_token_id"].get<int32_t>();
        if (s.pad < 0 && j.contains("pad_token_id") && j["pad_token_id"].is_number_integer())
            s.pad = j["pad_token_id"].get<int32_t>();
    }
    for (int32_t id : s.eos)
        eosList.push_back(id);
    s.eos = eosList; // duplicates are dropped by the Tokenizer
}

struct SpmSource {
    std::string model;
    SpmModelSpec spec;
    TokenizerSettings settings;
    std::map<std::string, int32_t> ids;
};

SpmSource readSpmFile(const std::string& path)
{
    SpmSource src;
    src.model = readFile(path);
    src.spec = parseSpmModel(src.model, path);
    const int32_t n = int32_t(src.spec.pieces.size());
    for (int32_t i = 0; i < n; ++i)
        src.ids.emplace(src.spec.pieces[size_t(i)].piece, i);
    const auto valid = [n](int id) { return id >= 0 && id < n ? id : -1; };
    TokenizerSettings& s = src.settings;
    s.source = path;
    s.bos = valid(src.spec.bosId);
    s.unk = valid(src.spec.unkId);
    s.pad = valid(src.spec.padId);
    if (valid(src.spec.eosId) >= 0)
        s.eos.push_back(src.spec.eosId);
    s.addBos = true; // LlamaTokenizer's default
    return src;
}

std::unique_ptr<Tokenizer> makeBpe(HfTokenizerJson h, TokenizerSettings s, const ConfigFlags& flags)
{
    if (s.unk < 0)
        s.unk = h.unk;
    if (!flags.addBosSet && h.templateBos >= 0) {
        s.addBos = true;
        s.bos = h.templateBos;
    }
    if (!flags.addEosSet && h.templateEos >= 0) {
        s.addEos = true;
        s.eos.insert(s.eos.begin(), h.templateEos);
    }
    s.stripLeadingSpace = h.stripLeadingSpace;
    return std::make_unique<ByteBpeTokenizer>(std::move(h.data), std::move(s));
}

} // namespace

std::unique_ptr<Tokenizer> loadTokenizerFromFolder(const std::string& dirName)
{
    const fs::path dir(dirName);
    if (!fs::is_directory(dir))
        throw Error(dirName + ": not a folder");
    const fs::path jsonPath = dir / "tokenizer.json";
    const fs::path modelPath = dir / "tokenizer.model";
    const bool haveJson = fs::exists(jsonPath), haveModel = fs::exists(modelPath);

    if (haveJson) {
        json j = readJsonFile(jsonPath.string());
        if (tokenizerJsonIsByteLevel(j) || !haveModel) {
            HfTokenizerJson h = parseTokenizerJson(j, jsonPath.string());
            j = json();
            TokenizerSettings s;
            s.source = dirName;
            ConfigFlags flags;
            const auto& ids = h.tokenIds;
            applyFolderConfig(dir, s, [&](const std::string& t) {
                const auto it = ids.find(t);
                return it == ids.end() ? -1 : it->second;
            }, flags);
            return makeBpe(std::move(h), std::move(s), flags);
        }
    }
    if (!haveModel)
        throw Error(dirName + ": no tokenizer.json or tokenizer.model in the folder");
    SpmSource src = readSpmFile(modelPath.string());
    src.settings.source = dirName;
    ConfigFlags flags;
    applyFolderConfig(dir, src.settings, [&](const std::string& t) {
        const auto it = src.ids.find(t);
        return it == src.ids.end() ? -1 : it->second;
    }, flags);
    return std::make_unique<SentencePieceTokenizer>(src.model, src.spec, std::move(src.settings));
}

std::unique_ptr<Tokenizer> loadTokenizerFile(const std::string& path)
{
    if (fs::is_directory(path))
        return loadTokenizerFromFolder(path);
    std::string head;
    {
        std::ifstream in(path, std::ios::binary);
        if (!in)
            throw Error(path + ": cannot open file");
        char buf[4] = {};
        in.read(buf, 4);
        head.assign(buf, size_t(in.gcount()));
    }
    if (head == "GGUF") {
        const GgufFile g(path);
        return loadTokenizer(g);
    }
    const size_t firstNonSpace = head.find_first_not_of(" \t\r\n");
    if (firstNonSpace != std::string::npos && head[firstNonSpace] == '{') {
        HfTokenizerJson h = parseTokenizerJson(readJsonFile(path), path);
        TokenizerSettings s;
        s.source = path;
        return makeBpe(std::move(h), std::move(s), ConfigFlags{});
    }
    SpmSource src = readSpmFile(path);
    return std::make_unique<SentencePieceTokenizer>(src.model, src.spec, std::move(src.settings));
}

} // namespace logitscope
