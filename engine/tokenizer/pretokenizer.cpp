// Each step maps a list of words to a list of words. Split steps find pattern matches inside each word,
// label the pieces match / non-match (flipped by invert) and regroup them per the behaviour.
#include "tokenizer/pretokenizer.h"

#include "common/error.h"

#include <nlohmann/json.hpp>

#include <algorithm>

namespace logitscope {

const char* const kGpt2Pattern =
    "'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)|\\s+";

namespace {

const char* const kGpt2NoTail = "'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)";
const char* const kLlama3Pattern =
    "(?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}"
    "| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";
const char* const kQwen2Pattern =
    "(?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}"
    "| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";
const char* const kCjk = "[\u4e00-\u9fa5\u0800-\u4e00\uac00-\ud7ff]+";

struct Span {
    size_t b, e;
    bool match;
};

const char* behaviorName(SplitBehavior b)
{
    switch (b) {
    case SplitBehavior::Removed: return "Removed";
    case SplitBehavior::Isolated: return "Isolated";
    case SplitBehavior::MergedWithPrevious: return "MergedWithPrevious";
    case SplitBehavior::MergedWithNext: return "MergedWithNext";
    case SplitBehavior::Contiguous: return "Contiguous";
    }
    return "Isolated";
}

// Regroups the labelled spans of one word (Hugging Face's SplitDelimiterBehavior rules).
void regroup(std::vector<Span>& spans, SplitBehavior behavior)
{
    std::vector<Span> out;
    out.reserve(spans.size());
    bool prevMatch = false;
    switch (behavior) {
    case SplitBehavior::Removed:
        for (const Span& s : spans)
            if (!s.match)
                out.push_back(s);
        break;
    case SplitBehavior::Isolated:
        return;
    case SplitBehavior::MergedWithPrevious:
        for (const Span& s : spans) {
            if (s.match && !prevMatch && !out.empty())
                out.back().e = s.e;
            else
                out.push_back({s.b, s.e, false});
            prevMatch = s.match;
        }
        break;
    case SplitBehavior::MergedWithNext:
        for (auto it = spans.rbegin(); it != spans.rend(); ++it) {
            if (it->match && !prevMatch && !out.empty())
                out.back().b = it->b;
            else
                out.push_back({it->b, it->e, false});
            prevMatch = it->match;
        }
        std::reverse(out.begin(), out.end());
        break;
    case SplitBehavior::Contiguous:
        for (const Span& s : spans) {
            if (s.match == prevMatch && !out.empty())
                out.back().e = s.e;
            else
                out.push_back({s.b, s.e, false});
            prevMatch = s.match;
        }
        break;
    }
    spans.swap(out);
}

std::string replaceAll(std::string_view s, std::string_view from, std::string_view to)
{
    std::string out;
    out.reserve(s.size());
    size_t i = 0;
    while (true) {
        const size_t j = s.find(from, i);
        if (j == std::string_view::npos)
            break;
        out.append(s, i, j - i);
        out += to;
        i = j + from.size();
    }
    out.append(s, i);
    return out;
}

} // namespace

SplitBehavior parseSplitBehavior(const std::string& name, const std::string& field)
{
    for (SplitBehavior b : {SplitBehavior::Removed, SplitBehavior::Isolated, SplitBehavior::MergedWithPrevious,
             SplitBehavior::MergedWithNext, SplitBehavior::Contiguous})
        if (name == behaviorName(b))
            return b;
    throw Error(field + ": unknown split behavior \"" + name + "\"");
}

void PreTokenizer::addSplit(const std::string& pattern, bool literal, SplitBehavior behavior, bool invert,
    const std::string& field)
{
    Step s;
    s.regex = std::make_shared<Regex>(pattern, literal, field);
    s.behavior = behavior;
    s.invert = invert;
    s.literal = literal;
    m_steps.push_back(std::move(s));
}

void PreTokenizer::addByteLevel(bool addPrefixSpace, bool useRegex)
{
    if (addPrefixSpace) {
        Step s;
        s.kind = Kind::ByteLevelPrefix;
        m_steps.push_back(std::move(s));
    }
    if (useRegex)
        addSplit(kGpt2Pattern, false, SplitBehavior::Isolated, false, "ByteLevel");
}

void PreTokenizer::addMetaspace(const std::string& replacement, PrependScheme scheme, bool split)
{
    Step s;
    s.kind = Kind::MetaspaceReplace;
    s.replacement = replacement;
    s.scheme = scheme;
    m_steps.push_back(std::move(s));
    if (split)
        addSplit(replacement, true, SplitBehavior::MergedWithNext, false, "Metaspace");
}

void PreTokenizer::addDigits(bool individual)
{
    addSplit("\\p{N}", false, individual ? SplitBehavior::Isolated : SplitBehavior::Contiguous, false, "Digits");
}

void PreTokenizer::addPunctuation(SplitBehavior behavior)
{
    addSplit("[\\p{P}!-/:-@\\[-`{-~]", false, behavior, false, "Punctuation");
}

void PreTokenizer::addWhitespace() { addSplit("\\w+|[^\\w\\s]+", false, SplitBehavior::Removed, true, "Whitespace"); }

void PreTokenizer::addWhitespaceSplit() { addSplit("\\S+", false, SplitBehavior::Removed, true, "WhitespaceSplit"); }

void PreTokenizer::applyStep(const Step& s, std::vector<std::string>& words, bool firstSegment) const
{
    if (s.kind == Kind::ByteLevelPrefix) {
        for (std::string& w : words)
            if (w.empty() || w[0] != ' ')
                w.insert(w.begin(), ' ');
        return;
    }
    if (s.kind == Kind::MetaspaceReplace) {
        for (size_t i = 0; i < words.size(); ++i) {
            std::string w = replaceAll(words[i], " ", s.replacement);
            const bool prepend = s.scheme == PrependScheme::Always || (s.scheme == PrependScheme::First && firstSegment && i == 0);
            if (prepend && w.compare(0, s.replacement.size(), s.replacement) != 0)
                w.insert(0, s.replacement);
            words[i] = std::move(w);
        }
        return;
    }
    std::vector<std::string> out;
    out.reserve(words.size() * 2);
    std::vector<std::pair<size_t, size_t>> matches;
    std::vector<Span> spans;
    for (const std::string& w : words) {
        matches.clear();
        s.regex->findAll(w, matches);
        spans.clear();
        size_t pos = 0;
        for (const auto& [b, e] : matches) {
            if (b > pos)
                spans.push_back({pos, b, s.invert});
            spans.push_back({b, e, !s.invert});
            pos = e;
        }
        if (pos < w.size())
            spans.push_back({pos, w.size(), s.invert});
        regroup(spans, s.behavior);
        for (const Span& sp : spans)
            out.emplace_back(w, sp.b, sp.e - sp.b);
    }
    words.swap(out);
}

void PreTokenizer::split(std::string_view text, bool firstSegment, std::vector<std::string>& out) const
{
    std::vector<std::string> words;
    words.emplace_back(text);
    for (const Step& s : m_steps)
        applyStep(s, words, firstSegment);
    for (std::string& w : words)
        if (!w.empty())
            out.push_back(std::move(w));
}

std::string PreTokenizer::toJson() const
{
    using nlohmann::json;
    json list = json::array();
    for (const Step& s : m_steps) {
        if (s.kind == Kind::ByteLevelPrefix)
            list.push_back({{"type", "ByteLevel"}, {"add_prefix_space", true}, {"trim_offsets", false}, {"use_regex", false}});
        else if (s.kind == Kind::MetaspaceReplace)
            list.push_back({{"type", "Metaspace"}, {"replacement", s.replacement},
                {"prepend_scheme", s.scheme == PrependScheme::Always ? "always" : s.scheme == PrependScheme::First ? "first" : "never"},
                {"split", false}});
        else
            list.push_back({{"type", "Split"}, {"pattern", {{s.literal ? "String" : "Regex", s.regex->pattern()}}},
                {"behavior", behaviorName(s.behavior)}, {"invert", s.invert}});
    }
    list.push_back({{"type", "ByteLevel"}, {"add_prefix_space", false}, {"trim_offsets", false}, {"use_regex", false}});
    return json({{"type", "Sequence"}, {"pretokenizers", list}}).dump();
}

PreTokenizer ggufPreTokenizer(const std::string& name, const std::string& source, bool& ignoreMerges)
{
    std::vector<std::string> regexes;
    ignoreMerges = false;
    const auto is = [&](std::initializer_list<const char*> names) {
        return std::any_of(names.begin(), names.end(), [&](const char* n) { return name == n; });
    };
    if (is({"default"})) {
        regexes = {"[\\p{P}\\$\\+<=>\\^~\\|]+", kGpt2NoTail, "\\p{N}+", "[0-9][0-9][0-9]"};
    } else if (is({"llama3", "llama-v3", "llama-bpe", "falcon3", "pixtral", "dbrx", "smaug-bpe"})) {
        regexes = {kLlama3Pattern};
        ignoreMerges = is({"llama3", "llama-v3", "llama-bpe", "falcon3", "pixtral"});
    } else if (is({"deepseek-llm"})) {
        regexes = {"[\r\n]",
            "\\s?[A-Za-zµÀ-ÖØ-öø-ƺƼ-ƿǄ-ʓʕ-ʯͰ-ͳͶͷͻ-ͽͿΆΈ-ΊΌΎ-ΡΣ-ϵϷ-ҁҊ-ԯԱ-ՖႠ-ჅᎠ-Ᏽᏸ-ᏽᲐ-ᲺᲽ-Ჿᴀ-ᴫᵫ-ᵷᵹ-ᶚḀ-ἕἘ-Ἕἠ-ὅὈ-Ὅὐ-ὗὙὛὝὟ-ώᾀ-ᾴᾶ-ᾼιῂ-ῄῆ-ῌῐ-ΐῖ-Ίῠ-Ῥῲ-ῴῶ-ῼℂℇℊ-ℓℕℙ-ℝℤΩℨK-ℭℯ-ℴℹℼ-ℿⅅ-ⅉⅎↃↄⰀ-ⱻⱾ-ⳤⳫ-ⳮⳲⳳꙀ-ꙭꚀ-ꚛꜢ-ꝯꝱ-ꞇꞋ-ꞎꭰ-ꮿﬀ-ﬆﬓ-ﬗＡ-Ｚａ-ｚ𐐀-𐑏𐒰-𐓓𐓘-𐓻𐲀-𐲲𐳀-𐳲𑢠-𑣟𞤀-𞥃]+",
            "\\s?[!-/:-~！-／：-～‘-‟　-。]+", "\\s+$", kCjk, "\\p{N}+"};
    } else if (is({"deepseek-coder"})) {
        regexes = {"[\r\n]", "\\s?\\p{L}+", "\\s?\\p{P}+", kCjk, "\\p{N}"};
    } else if (is({"falcon"})) {
        regexes = {"[\\p{P}\\$\\+<=>\\^~\\|`]+", kGpt2NoTail, "[0-9][0-9][0-9]"};
    } else if (is({"starcoder", "refact", "command-r", "smollm", "codeshell", "exaone", "minerva-7b"})) {
        regexes = {"\\p{N}", kGpt2NoTail};
    } else if (is({"gpt-2", "phi-2", "mpt", "olmo", "jais", "roberta-bpe", "jina-es", "jina-de", "jina-v1-en",
                   "jina-v2-es", "jina-v2-de", "jina-v2-code", "gigachat"})) {
        regexes = {kGpt2NoTail};
    } else if (is({"qwen2", "stablelm2", "deepseek-r1-qwen", "megrez"})) {
        regexes = {kQwen2Pattern};
    } else if (is({"poro-chat", "bloom", "gpt3-finnish"})) {
        regexes = {" ?[^(\\s|.,!?…。，、।۔،)]+"};
    } else if (is({"viking"})) {
        regexes = {" ?[^(\\s|.,!?…。，、।۔،)]+", "\\p{N}"};
    } else {
        throw Error(source + ": tokenizer.ggml.pre: unknown pre-tokenizer name \"" + name
            + "\" (known: default, gpt-2, llama-bpe, qwen2, smollm, starcoder, falcon, deepseek-llm, "
              "deepseek-coder, refact, mpt, ...)");
    }
    PreTokenizer p;
    for (const std::string& r : regexes)
        p.addSplit(r, false, SplitBehavior::Isolated, false, source + ": tokenizer.ggml.pre " + name);
    return p;
}

} // namespace logitscope
