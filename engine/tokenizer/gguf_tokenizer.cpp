// loadTokenizer(GgufFile): tokenizer.ggml.* metadata to a tokenizer. "llama" vocabularies become an
// in-memory SentencePiece ModelProto (BPE with scores, byte fallback when all <0xNN> tokens exist,
// identity normaliser with a dummy prefix); "gpt2" vocabularies become a ByteBpeTokenizer whose
// pre-tokenizer follows tokenizer.ggml.pre. Also tokenizerJsonFromGgufVocab().
#include "common/error.h"
#include "formats/gguf_reader.h"
#include "tokenizer/byte_bpe_tokenizer.h"
#include "tokenizer/sentencepiece_tokenizer.h"
#include "tokenizer/utf8.h"

#include <nlohmann/json.hpp>

#include <climits>
#include <unordered_set>

namespace logitscope {

namespace {

struct GgufVocab {
    std::vector<std::string> tokens;
    std::vector<TokenKind> kinds;
    TokenizerSettings settings;
};

TokenKind kindFromGguf(int64_t t, size_t i, const std::string& source)
{
    switch (t) {
    case 0: case 1: return TokenKind::Normal;
    case 2: return TokenKind::Unknown;
    case 3: return TokenKind::Control;
    case 4: return TokenKind::UserDefined;
    case 5: return TokenKind::Unused;
    case 6: return TokenKind::Byte;
    default:
        throw Error(source + ": tokenizer.ggml.token_type[" + std::to_string(i) + "]: unknown token type "
            + std::to_string(t));
    }
}

int32_t optionalId(const GgufFile& g, const char* key)
{
    const GgufValue* v = g.find(key);
    if (!v || !v->isInteger())
        return -1;
    return v->i < 0 || v->i > INT32_MAX ? -1 : int32_t(v->i);
}

GgufVocab readVocab(const GgufFile& g, bool defaultAddBos)
{
    GgufVocab v;
    const std::string& src = g.path();
    const auto toks = g.getStringArray("tokenizer.ggml.tokens");
    if (toks.empty())
        throw Error(src + ": tokenizer.ggml.tokens is empty");
    v.tokens.reserve(toks.size());
    for (size_t i = 0; i < toks.size(); ++i) {
        if (!utf8::isValid(toks[i]))
            throw Error(src + ": tokenizer.ggml.tokens[" + std::to_string(i) + "]: invalid UTF-8 in token text");
        v.tokens.emplace_back(toks[i]);
    }
    v.kinds.assign(toks.size(), TokenKind::Normal);
    if (g.has("tokenizer.ggml.token_type")) {
        const auto types = g.getIntArray("tokenizer.ggml.token_type");
        if (types.size() != toks.size())
            throw Error(src + ": tokenizer.ggml.token_type has " + std::to_string(types.size())
                + " entries but tokenizer.ggml.tokens has " + std::to_string(toks.size()));
        for (size_t i = 0; i < types.size(); ++i)
            v.kinds[i] = kindFromGguf(types[i], i, src);
    }
    TokenizerSettings& s = v.settings;
    s.source = src;
    s.bos = optionalId(g, "tokenizer.ggml.bos_token_id");
    s.unk = optionalId(g, "tokenizer.ggml.unknown_token_id");
    s.pad = optionalId(g, "tokenizer.ggml.padding_token_id");
    for (const char* key : {"tokenizer.ggml.eos_token_id", "tokenizer.ggml.eot_token_id", "tokenizer.ggml.eom_token_id"})
        if (const int32_t id = optionalId(g, key); id >= 0)
            s.eos.push_back(id);
    s.addBos = g.getBool("tokenizer.ggml.add_bos_token", defaultAddBos);
    s.addEos = g.getBool("tokenizer.ggml.add_eos_token", false);
    s.chatTemplate = g.getString("tokenizer.chat_template", "");
    if (const std::string toolUse = g.getString("tokenizer.chat_template.tool_use", ""); !toolUse.empty())
        s.namedChatTemplates.emplace_back("tool_use", toolUse);
    return v;
}

int parseBytePiece(const std::string& p)
{
    if (p.size() != 6 || p.compare(0, 3, "<0x") != 0 || p[5] != '>')
        return -1;
    const auto hex = [](char c) {
        return c >= '0' && c <= '9' ? c - '0' : c >= 'A' && c <= 'F' ? c - 'A' + 10 : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
    };
    const int hi = hex(p[3]), lo = hex(p[4]);
    return hi < 0 || lo < 0 ? -1 : hi * 16 + lo;
}

std::unique_ptr<Tokenizer> loadSentencePiece(const GgufFile& g)
{
    GgufVocab v = readVocab(g, true);
    const std::string& src = g.path();
    const size_t n = v.tokens.size();
    std::vector<float> scores(n, 0.0f);
    if (g.has("tokenizer.ggml.scores")) {
        scores = g.getFloatArray("tokenizer.ggml.scores");
        if (scores.size() != n)
            throw Error(src + ": tokenizer.ggml.scores has " + std::to_string(scores.size())
                + " entries but tokenizer.ggml.tokens has " + std::to_string(n));
    }
    int32_t unk = v.settings.unk;
    for (size_t i = 0; i < n && unk < 0; ++i)
        if (v.kinds[i] == TokenKind::Unknown)
            unk = int32_t(i);
    if (unk < 0 || size_t(unk) >= n)
        throw Error(src + ": tokenizer.ggml.unknown_token_id: the vocabulary has no unknown token, which SentencePiece requires");
    v.settings.unk = unk;

    // Byte fallback needs all 256 <0xNN> pieces.
    std::vector<int> byteOf(n, -1);
    int byteCount = 0;
    std::vector<bool> seenByte(256, false);
    for (size_t i = 0; i < n; ++i) {
        if (v.kinds[i] != TokenKind::Byte)
            continue;
        const int b = parseBytePiece(v.tokens[i]);
        if (b < 0)
            throw Error(src + ": tokenizer.ggml.tokens[" + std::to_string(i) + "]: byte token \"" + v.tokens[i]
                + "\" is not of the form <0xNN>");
        byteOf[i] = b;
        if (!seenByte[size_t(b)]) {
            seenByte[size_t(b)] = true;
            ++byteCount;
        }
    }

    SpmModelSpec spec;
    spec.modelType = 2;
    spec.byteFallback = byteCount == 256;
    spec.unkId = unk;
    spec.bosId = v.settings.bos;
    spec.eosId = v.settings.eos.empty() ? -1 : v.settings.eos.front();
    spec.addDummyPrefix = g.getBool("tokenizer.ggml.add_space_prefix", true);
    spec.pieces.resize(n);
    // SentencePiece rejects empty or duplicated pieces; such entries get a unique stand-in that never
    // matches text (the tokenizer's own vocabulary keeps the real text).
    std::unordered_set<std::string> normalNames, reservedNames;
    std::vector<bool> byteTaken(256, false);
    for (size_t i = 0; i < n; ++i) {
        SpmPiece& p = spec.pieces[i];
        p.piece = v.tokens[i];
        p.score = scores[i];
        switch (v.kinds[i]) {
        case TokenKind::Normal: p.type = SpmPieceType::Normal; break;
        case TokenKind::Unknown: p.type = int32_t(i) == unk ? SpmPieceType::Unknown : SpmPieceType::Control; break;
        case TokenKind::Control: p.type = SpmPieceType::Control; break;
        case TokenKind::UserDefined: p.type = SpmPieceType::UserDefined; break;
        case TokenKind::Unused: p.type = SpmPieceType::Unused; break;
        case TokenKind::Byte:
            p.type = spec.byteFallback && !byteTaken[size_t(byteOf[i])] ? SpmPieceType::Byte : SpmPieceType::Control;
            if (p.type == SpmPieceType::Byte)
                byteTaken[size_t(byteOf[i])] = true;
            break;
        }
        if (int32_t(i) == unk)
            p.type = SpmPieceType::Unknown;
        const bool normal = p.type == SpmPieceType::Normal || p.type == SpmPieceType::UserDefined || p.type == SpmPieceType::Unused;
        auto& names = normal ? normalNames : reservedNames;
        if (p.piece.empty() || !names.insert(p.piece).second) {
            p.piece = "<logitscope:" + std::to_string(i) + ">";
            if (p.type != SpmPieceType::Unknown)
                p.type = SpmPieceType::Control;
            reservedNames.insert(p.piece);
        }
    }

    // The tokenizer's vocabulary keeps the GGUF text and types.
    const std::string model = serializeSpmModel(spec);
    for (size_t i = 0; i < n; ++i)
        spec.pieces[i].piece = v.tokens[i];
    auto tok = std::make_unique<SentencePieceTokenizer>(model, spec, std::move(v.settings));
    return tok;
}

BpeModelData bpeDataFromGguf(const GgufFile& g, GgufVocab& v)
{
    const std::string& src = g.path();
    BpeModelData d;
    d.byteLevel = true;
    d.mergesField = "tokenizer.ggml.merges";
    d.vocab.resize(v.tokens.size());
    for (size_t i = 0; i < v.tokens.size(); ++i) {
        d.vocab[i].piece = v.tokens[i];
        d.vocab[i].kind = v.kinds[i];
    }
    const auto merges = g.getStringArray("tokenizer.ggml.merges");
    d.merges.reserve(merges.size());
    for (size_t i = 0; i < merges.size(); ++i) {
        const std::string_view m = merges[i];
        const size_t sp = m.find(' ', 1);
        if (sp == std::string_view::npos)
            throw Error(src + ": tokenizer.ggml.merges[" + std::to_string(i) + "] \"" + std::string(m)
                + "\": expected two tokens separated by a space");
        d.merges.emplace_back(std::string(m.substr(0, sp)), std::string(m.substr(sp + 1)));
    }
    d.pre = ggufPreTokenizer(g.getString("tokenizer.ggml.pre", "default"), src, d.ignoreMerges);
    d.pre.addByteLevel(false, false);
    return d;
}

} // namespace

std::unique_ptr<Tokenizer> loadTokenizer(const GgufFile& g)
{
    const std::string model = g.getString("tokenizer.ggml.model");
    if (model == "llama")
        return loadSentencePiece(g);
    if (model == "gpt2") {
        GgufVocab v = readVocab(g, false);
        BpeModelData d = bpeDataFromGguf(g, v);
        return std::make_unique<ByteBpeTokenizer>(std::move(d), std::move(v.settings));
    }
    throw Error(g.path() + ": tokenizer.ggml.model: unsupported tokenizer model \"" + model
        + "\" (supported: llama, gpt2)");
}

std::string tokenizerJsonFromGgufVocab(const GgufFile& g)
{
    using nlohmann::json;
    if (g.getString("tokenizer.ggml.model") != "gpt2")
        throw Error(g.path() + ": tokenizer.ggml.model: only \"gpt2\" vocabularies can be written as a byte-level tokenizer.json");
    GgufVocab v = readVocab(g, false);
    BpeModelData d = bpeDataFromGguf(g, v);

    json vocab = json::object();
    json added = json::array();
    for (size_t i = 0; i < v.tokens.size(); ++i) {
        if (!vocab.contains(v.tokens[i]))
            vocab[v.tokens[i]] = i;
        const TokenKind k = v.kinds[i];
        if (k == TokenKind::Control || k == TokenKind::UserDefined || k == TokenKind::Unknown)
            added.push_back({{"id", i}, {"content", v.tokens[i]}, {"single_word", false}, {"lstrip", false},
                {"rstrip", false}, {"normalized", false}, {"special", k != TokenKind::UserDefined}});
    }
    json merges = json::array();
    for (const auto& [a, b] : d.merges)
        merges.push_back(json::array({a, b}));

    json post = {{"type", "ByteLevel"}, {"add_prefix_space", false}, {"trim_offsets", false}, {"use_regex", false}};
    const TokenizerSettings& s = v.settings;
    if ((s.addBos && s.bos >= 0) || (s.addEos && !s.eos.empty())) {
        json single = json::array();
        json specials = json::object();
        const auto special = [&](int32_t id) {
            const std::string& t = v.tokens[size_t(id)];
            single.push_back({{"SpecialToken", {{"id", t}, {"type_id", 0}}}});
            specials[t] = {{"id", t}, {"ids", {id}}, {"tokens", {t}}};
        };
        if (s.addBos && s.bos >= 0)
            special(s.bos);
        single.push_back({{"Sequence", {{"id", "A"}, {"type_id", 0}}}});
        if (s.addEos && !s.eos.empty())
            special(s.eos.front());
        post = {{"type", "TemplateProcessing"}, {"single", single}, {"pair", single}, {"special_tokens", specials}};
    }

    json j = {
        {"version", "1.0"},
        {"truncation", nullptr},
        {"padding", nullptr},
        {"added_tokens", added},
        {"normalizer", nullptr},
        {"pre_tokenizer", json::parse(d.pre.toJson())},
        {"post_processor", post},
        {"decoder", {{"type", "ByteLevel"}, {"add_prefix_space", true}, {"trim_offsets", true}, {"use_regex", true}}},
        {"model", {{"type", "BPE"}, {"dropout", nullptr}, {"unk_token", nullptr}, {"continuing_subword_prefix", nullptr},
                      {"end_of_word_suffix", nullptr}, {"fuse_unk", false}, {"byte_fallback", false},
                      {"ignore_merges", d.ignoreMerges}, {"vocab", vocab}, {"merges", merges}}},
    };
    return j.dump();
}

} // namespace logitscope
