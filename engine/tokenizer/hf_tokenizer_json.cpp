// tokenizer.json fields used: model{type, vocab, merges, byte_fallback, ignore_merges, unk_token},
// added_tokens[{id, content, special, lstrip, rstrip}], normalizer, pre_tokenizer, post_processor, decoder.
#include "tokenizer/hf_tokenizer_json.h"

#include "common/error.h"
#include "common/read_file.h"
#include "tokenizer/utf8.h"

#include <nlohmann/json.hpp>

#include <optional>

namespace logitscope {

using nlohmann::json;

namespace {

// Names the tokenizer.json section a parse error falls in, from the last key seen before it.
std::string sectionAt(const std::string& text, size_t byte)
{
    static const std::pair<const char*, const char*> keys[] = {
        {"\"vocab\"", "model.vocab"}, {"\"merges\"", "model.merges"}, {"\"added_tokens\"", "added_tokens"},
        {"\"pre_tokenizer\"", "pre_tokenizer"}, {"\"normalizer\"", "normalizer"}, {"\"decoder\"", "decoder"},
        {"\"post_processor\"", "post_processor"}, {"\"model\"", "model"}};
    size_t best = std::string::npos;
    std::string name;
    const size_t end = std::min(byte, text.size());
    for (const auto& [key, field] : keys) {
        const size_t p = text.rfind(key, end);
        if (p != std::string::npos && (best == std::string::npos || p > best)) {
            best = p;
            name = field;
        }
    }
    return name;
}

std::string str(const json& j, const char* key, const std::string& fallback = "")
{
    const auto it = j.find(key);
    return it != j.end() && it->is_string() ? it->get<std::string>() : fallback;
}

bool flag(const json& j, const char* key, bool fallback)
{
    const auto it = j.find(key);
    return it != j.end() && it->is_boolean() ? it->get<bool>() : fallback;
}

// A Split / Replace pattern: {"Regex": "..."} or {"String": "..."}.
std::pair<std::string, bool> pattern(const json& j, const std::string& field)
{
    const auto it = j.find("pattern");
    if (it == j.end() || !it->is_object())
        throw Error(field + ".pattern: expected {\"Regex\": ...} or {\"String\": ...}");
    if (it->contains("Regex") && (*it)["Regex"].is_string())
        return {(*it)["Regex"].get<std::string>(), false};
    if (it->contains("String") && (*it)["String"].is_string())
        return {(*it)["String"].get<std::string>(), true};
    throw Error(field + ".pattern: expected {\"Regex\": ...} or {\"String\": ...}");
}

// A pre-tokenizer or normalizer object's "type" (nothing for null). For a "Sequence", `each(item, field)`
// is called on every entry of its `key` array instead (depth bounded: each level lengthens `field`).
template <class Each>
std::optional<std::string> typeOrSequence(const json& j, const std::string& field, const char* key, Each&& each)
{
    if (j.is_null())
        return std::nullopt;
    if (!j.is_object())
        throw Error(field + ": expected an object");
    const std::string type = str(j, "type");
    if (type != "Sequence")
        return type;
    if (field.size() > 2000)
        throw Error(field.substr(0, 200) + "...: Sequence nested too deeply");
    const auto it = j.find(key);
    if (it == j.end() || !it->is_array())
        throw Error(field + "." + key + ": expected an array");
    for (size_t i = 0; i < it->size(); ++i)
        each((*it)[i], field + "." + key + "[" + std::to_string(i) + "]");
    return type;
}

void addPreTokenizer(const json& j, const std::string& field, PreTokenizer& pre, bool& byteLevel)
{
    const auto kind = typeOrSequence(j, field, "pretokenizers", [&](const json& item, const std::string& f) {
        addPreTokenizer(item, f, pre, byteLevel);
    });
    if (!kind || *kind == "Sequence")
        return; // none, or its items were added
    const std::string& type = *kind;
    if (type == "ByteLevel") {
        byteLevel = true;
        pre.addByteLevel(flag(j, "add_prefix_space", true), flag(j, "use_regex", true));
    } else if (type == "Split") {
        const auto [p, literal] = pattern(j, field);
        pre.addSplit(p, literal, parseSplitBehavior(str(j, "behavior", "Isolated"), field + ".behavior"),
            flag(j, "invert", false), field + ".pattern");
    } else if (type == "Digits") {
        pre.addDigits(flag(j, "individual_digits", false));
    } else if (type == "Punctuation") {
        pre.addPunctuation(parseSplitBehavior(str(j, "behavior", "Isolated"), field + ".behavior"));
    } else if (type == "Whitespace") {
        pre.addWhitespace();
    } else if (type == "WhitespaceSplit") {
        pre.addWhitespaceSplit();
    } else if (type == "Metaspace") {
        const std::string scheme = str(j, "prepend_scheme", flag(j, "add_prefix_space", true) ? "always" : "never");
        PrependScheme s = PrependScheme::Always;
        if (scheme == "first") s = PrependScheme::First;
        else if (scheme == "never") s = PrependScheme::Never;
        else if (scheme != "always")
            throw Error(field + ".prepend_scheme: unknown value \"" + scheme + "\"");
        pre.addMetaspace(str(j, "replacement", "\xE2\x96\x81"), s, flag(j, "split", true));
    } else {
        throw Error(field + ".type: unknown pre-tokenizer \"" + type + "\"");
    }
}

void addNormalizer(const json& j, const std::string& field, Normalizer& norm)
{
    const auto kind = typeOrSequence(j, field, "normalizers", [&](const json& item, const std::string& f) {
        addNormalizer(item, f, norm);
    });
    if (!kind || *kind == "Sequence")
        return; // none, or its items were added
    const std::string& type = *kind;
    if (type == "NFC") {
        norm.addNfc();
    } else if (type == "Prepend") {
        norm.addPrepend(str(j, "prepend"));
    } else if (type == "Replace") {
        const auto [p, literal] = pattern(j, field);
        norm.addReplace(p, literal, str(j, "content"), field + ".pattern");
    } else if (type == "Lowercase") {
        norm.addLowercase();
    } else if (type == "Strip") {
        norm.addStrip(flag(j, "strip_left", true), flag(j, "strip_right", true));
    } else {
        throw Error(field + ".type: unsupported normalizer \"" + type + "\"");
    }
}

// TemplateProcessing: the special tokens around $A in "single".
void readPostProcessor(const json& j, HfTokenizerJson& out)
{
    if (!j.is_object())
        return;
    const std::string type = str(j, "type");
    if (type == "Sequence" && j.contains("processors") && j["processors"].is_array()) {
        for (const json& p : j["processors"])
            readPostProcessor(p, out);
        return;
    }
    if (type != "TemplateProcessing" || !j.contains("single") || !j["single"].is_array())
        return;
    bool seenSequence = false;
    for (const json& item : j["single"]) {
        if (item.contains("Sequence")) {
            seenSequence = true;
        } else if (item.contains("SpecialToken")) {
            const std::string name = str(item["SpecialToken"], "id");
            // special_tokens.<name>.ids[0], through find(): operator[] on a const json with a key
            // that is not there is undefined behaviour (a fuzzed "idx" for "ids" read freed memory).
            int32_t id = -1;
            const auto tokens = j.find("special_tokens");
            if (tokens != j.end() && tokens->is_object()) {
                const auto entry = tokens->find(name);
                if (entry != tokens->end() && entry->is_object()) {
                    const auto ids = entry->find("ids");
                    if (ids != entry->end() && ids->is_array() && !ids->empty() && (*ids)[0].is_number_integer())
                        id = (*ids)[0].get<int32_t>();
                }
            }
            if (id < 0)
                if (auto it = out.tokenIds.find(name); it != out.tokenIds.end())
                    id = it->second;
            (seenSequence ? out.templateEos : out.templateBos) = id;
        }
    }
}

bool decoderStripsSpace(const json& j, int depth = 0)
{
    if (!j.is_object() || depth > 64)
        return false;
    const std::string type = str(j, "type");
    if (type == "Sequence" && j.contains("decoders") && j["decoders"].is_array()) {
        for (const json& d : j["decoders"])
            if (decoderStripsSpace(d, depth + 1))
                return true;
        return false;
    }
    if (type == "Strip")
        return j.contains("start") && j["start"].is_number() && j["start"].get<double>() > 0; // value<int>() throws or overflows
    if (type == "Metaspace")
        return str(j, "prepend_scheme", flag(j, "add_prefix_space", true) ? "always" : "never") != "never";
    return false;
}

} // namespace

json readJsonFile(const std::string& path)
{
    const std::string text = readFile(path);
    try {
        return json::parse(text);
    } catch (const json::parse_error& e) {
        const std::string section = sectionAt(text, e.byte);
        throw Error(path + ": invalid JSON" + (section.empty() ? std::string() : " in " + section) + " (byte "
            + std::to_string(e.byte) + "): " + e.what());
    } catch (const json::exception& e) { // e.g. out_of_range 406: a number too large for a double
        throw Error(path + ": invalid JSON: " + e.what());
    }
}

std::string tokenizerJsonModelType(const json& j)
{
    if (!j.is_object() || !j.contains("model") || !j["model"].is_object())
        return "";
    const json& m = j["model"];
    return str(m, "type", m.contains("merges") ? "BPE" : "");
}

bool tokenizerJsonIsByteLevel(const json& j)
{
    // depth: a hostile file nests arrays 100,000 deep; real tokenizers nest Sequences two or three deep.
    const auto mentions = [](const json& node, int depth, const auto& self) -> bool {
        if (depth > 64)
            return false;
        if (node.is_object()) {
            if (str(node, "type") == "ByteLevel")
                return true;
            for (const auto& [k, v] : node.items())
                if ((k == "pretokenizers" || k == "decoders") && self(v, depth + 1, self))
                    return true;
        } else if (node.is_array()) {
            for (const json& v : node)
                if (self(v, depth + 1, self))
                    return true;
        }
        return false;
    };
    return j.is_object() && ((j.contains("pre_tokenizer") && mentions(j["pre_tokenizer"], 0, mentions))
                                || (j.contains("decoder") && mentions(j["decoder"], 0, mentions)));
}

HfTokenizerJson parseTokenizerJson(const json& j, const std::string& source)
{
    HfTokenizerJson out;
    const std::string at = source + ": ";
    if (!j.is_object() || !j.contains("model") || !j["model"].is_object())
        throw Error(at + "model: missing or not an object");
    const json& model = j["model"];
    const std::string type = tokenizerJsonModelType(j);
    if (type != "BPE")
        throw Error(at + "model.type: \"" + type + "\" is not supported (only BPE)");
    if (!str(model, "continuing_subword_prefix").empty() || !str(model, "end_of_word_suffix").empty())
        throw Error(at + "model.continuing_subword_prefix / end_of_word_suffix: not supported");

    // Vocabulary and added tokens: ids must cover 0..n-1 exactly once.
    const auto vit = model.find("vocab");
    if (vit == model.end() || !vit->is_object())
        throw Error(at + "model.vocab: missing or not an object");
    const json added = j.contains("added_tokens") && j["added_tokens"].is_array() ? j["added_tokens"] : json::array();
    const size_t bound = vit->size() + added.size();
    std::vector<VocabEntry>& vocab = out.data.vocab;
    std::vector<bool> present;
    const auto place = [&](int64_t id, const std::string& text, const std::string& field) {
        if (id < 0 || size_t(id) >= bound)
            throw Error(at + field + ": token \"" + text + "\" has id " + std::to_string(id) + ", outside [0, "
                + std::to_string(bound) + ")");
        if (!utf8::isValid(text))
            throw Error(at + field + ": token with id " + std::to_string(id) + " has invalid UTF-8");
        if (size_t(id) >= vocab.size()) {
            vocab.resize(size_t(id) + 1);
            present.resize(size_t(id) + 1, false);
        }
        return size_t(id);
    };
    for (const auto& [piece, idv] : vit->items()) {
        if (!idv.is_number_integer())
            throw Error(at + "model.vocab: token \"" + piece + "\" has a non-integer id");
        const size_t id = place(idv.get<int64_t>(), piece, "model.vocab");
        if (present[id])
            throw Error(at + "model.vocab: id " + std::to_string(id) + " is used by both \"" + vocab[id].piece
                + "\" and \"" + piece + "\"");
        present[id] = true;
        vocab[id].piece = piece;
        out.tokenIds.emplace(piece, int32_t(id));
    }
    for (size_t i = 0; i < added.size(); ++i) {
        const json& a = added[i];
        const std::string field = "added_tokens[" + std::to_string(i) + "]";
        if (!a.is_object() || !a.contains("id") || !a["id"].is_number_integer() || !a.contains("content") || !a["content"].is_string())
            throw Error(at + field + ": expected {\"id\": int, \"content\": string, ...}");
        const std::string content = a["content"].get<std::string>();
        const size_t id = place(a["id"].get<int64_t>(), content, field);
        present[id] = true;
        VocabEntry& e = vocab[id];
        e.piece = content;
        e.bytes = content;
        e.kind = flag(a, "special", false) ? TokenKind::Control : TokenKind::UserDefined;
        e.lstrip = flag(a, "lstrip", false);
        e.rstrip = flag(a, "rstrip", false);
        out.tokenIds[content] = int32_t(id);
    }
    for (size_t id = 0; id < vocab.size(); ++id)
        if (!present[id])
            throw Error(at + "model.vocab: no token has id " + std::to_string(id) + " (ids must be 0.."
                + std::to_string(vocab.size() - 1) + " without gaps)");
    if (vocab.empty())
        throw Error(at + "model.vocab: empty");

    // Merges: "a b" strings or ["a", "b"] pairs, in rank order.
    if (model.contains("merges")) {
        const json& merges = model["merges"];
        if (!merges.is_array())
            throw Error(at + "model.merges: expected an array");
        out.data.merges.reserve(merges.size());
        for (size_t i = 0; i < merges.size(); ++i) {
            const json& m = merges[i];
            if (m.is_string()) {
                const std::string s = m.get<std::string>();
                const size_t sp = s.find(' ', 1);
                if (sp == std::string::npos)
                    throw Error(at + "model.merges[" + std::to_string(i) + "]: \"" + s + "\" is not two tokens separated by a space");
                out.data.merges.emplace_back(s.substr(0, sp), s.substr(sp + 1));
            } else if (m.is_array() && m.size() == 2 && m[0].is_string() && m[1].is_string()) {
                out.data.merges.emplace_back(m[0].get<std::string>(), m[1].get<std::string>());
            } else {
                throw Error(at + "model.merges[" + std::to_string(i) + "]: expected \"a b\" or [\"a\", \"b\"]");
            }
        }
    }
    out.data.mergesField = "model.merges";
    out.data.byteFallback = flag(model, "byte_fallback", false);
    out.data.ignoreMerges = flag(model, "ignore_merges", false);
    if (const std::string u = str(model, "unk_token"); !u.empty())
        if (auto it = out.tokenIds.find(u); it != out.tokenIds.end()) {
            out.unk = it->second;
            if (vocab[size_t(out.unk)].kind == TokenKind::Normal)
                vocab[size_t(out.unk)].kind = TokenKind::Unknown;
        }

    out.data.byteLevel = tokenizerJsonIsByteLevel(j);
    bool byteLevel = false;
    if (j.contains("pre_tokenizer"))
        addPreTokenizer(j["pre_tokenizer"], source + ": pre_tokenizer", out.data.pre, byteLevel);
    if (j.contains("normalizer"))
        addNormalizer(j["normalizer"], source + ": normalizer", out.data.normalizer);
    if (j.contains("post_processor"))
        readPostProcessor(j["post_processor"], out);
    if (j.contains("decoder"))
        out.stripLeadingSpace = decoderStripsSpace(j["decoder"]);
    for (VocabEntry& e : vocab)
        if (e.kind == TokenKind::Normal && e.piece.size() == 6 && e.piece.compare(0, 3, "<0x") == 0 && e.piece[5] == '>'
            && out.data.byteFallback)
            e.kind = TokenKind::Byte;
    return out;
}

} // namespace logitscope
