// PreTokenizer: splits text into the words that BPE merges never cross, as a chain of steps mirroring
// Hugging Face's pre-tokenizers (Split, ByteLevel, Digits, Punctuation, Metaspace, Whitespace...) and
// llama.cpp's per-model regex lists for GGUF "gpt2" vocabularies (ggufPreTokenizer()).
// Not the BPE model: it only cuts text (and, for ByteLevel/Metaspace, adds a prefix space or "▁").
#pragma once

#include "tokenizer/regex.h"

#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace logitscope {

// How a Split step treats what its pattern matched (Hugging Face SplitDelimiterBehavior).
enum class SplitBehavior { Removed, Isolated, MergedWithPrevious, MergedWithNext, Contiguous };
enum class PrependScheme { Always, First, Never };

SplitBehavior parseSplitBehavior(const std::string& name, const std::string& field); // Error on unknown names

// GPT-2's pre-tokenizer regex, as ByteLevel(use_regex=true) applies it.
extern const char* const kGpt2Pattern;

class PreTokenizer {
public:
    void addSplit(const std::string& pattern, bool literal, SplitBehavior behavior, bool invert, const std::string& field);
    void addByteLevel(bool addPrefixSpace, bool useRegex);
    void addMetaspace(const std::string& replacement, PrependScheme scheme, bool split);
    void addDigits(bool individual);
    void addPunctuation(SplitBehavior behavior);
    void addWhitespace();      // \w+|[^\w\s]+, the rest removed
    void addWhitespaceSplit(); // split on whitespace, removed

    bool empty() const { return m_steps.empty(); }

    // Splits valid UTF-8 text into words (appended to out). firstSegment: the text starts the input
    // (PrependScheme::First adds its "▁" only there).
    void split(std::string_view text, bool firstSegment, std::vector<std::string>& out) const;

    // Describes the steps as tokenizer.json "pre_tokenizer" JSON text (for tokenizerJsonFromGgufVocab).
    std::string toJson() const;

private:
    enum class Kind { Split, ByteLevelPrefix, MetaspaceReplace };
    struct Step {
        Kind kind = Kind::Split;
        std::shared_ptr<Regex> regex;
        SplitBehavior behavior = SplitBehavior::Isolated;
        bool invert = false;
        bool literal = false;
        std::string replacement;                  // Metaspace
        PrependScheme scheme = PrependScheme::Always;
    };
    void applyStep(const Step& s, std::vector<std::string>& words, bool firstSegment) const;

    std::vector<Step> m_steps;
};

// The pre-tokenizer llama.cpp uses for a GGUF tokenizer.ggml.pre name ("gpt-2", "llama-bpe", "qwen2",
// "starcoder", "falcon", "deepseek-llm", ...): regex splits followed by byte-level mapping.
// ignoreMerges is set for the Llama 3 family. Throws Error naming the key for an unknown name.
PreTokenizer ggufPreTokenizer(const std::string& preName, const std::string& source, bool& ignoreMerges);

} // namespace logitscope
