// ByteBpeTokenizer: BPE with a merge-rank table, for Hugging Face tokenizer.json files (byte-level like
// GPT-2 / Llama 3 / Qwen / SmolLM, or character-level with byte fallback like Llama 2's tokenizer.json)
// and GGUF "gpt2" vocabularies. Merges are keyed by pair of ids; each pre-token word's result is cached.
// Not a SentencePiece implementation (score-based merges go through SentencePieceTokenizer).
#pragma once

#include "tokenizer/normalizer.h"
#include "tokenizer/pretokenizer.h"
#include "tokenizer/tokenizer.h"

#include <mutex>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

namespace logitscope {

struct BpeModelData {
    std::vector<VocabEntry> vocab;                          // id = position; bytes may be left empty
    std::vector<std::pair<std::string, std::string>> merges; // rank order, as pieces
    bool byteLevel = true;     // pieces are in GPT-2's byte alphabet; otherwise characters + byte fallback
    bool byteFallback = false; // characters missing from the vocabulary become <0xNN> tokens
    bool ignoreMerges = false; // a word that is itself a token is not merged (Llama 3)
    PreTokenizer pre;
    Normalizer normalizer;
    std::string mergesField = "merges"; // names the merges in errors ("model.merges", "tokenizer.ggml.merges")
};

class ByteBpeTokenizer final : public Tokenizer {
public:
    // Fills in each entry's bytes (when empty) and builds the rank table; Error names the merge at fault.
    ByteBpeTokenizer(BpeModelData data, TokenizerSettings settings);

    std::vector<int32_t> encode(std::string_view text, const EncodeOptions& opt = {}) const override;
    std::string tokenBytes(int32_t id) const override { return entry(id).bytes; }
    std::string piece(int32_t id) const override { return entry(id).piece; }

    bool byteLevel() const { return m_byteLevel; }
    size_t mergeCount() const { return m_ranks.size(); }

    // The bytes a piece stands for: byte-level pieces are mapped back through GPT-2's alphabet (raw text
    // when a character is outside it); character-level pieces turn "▁" into a space and "<0xNN>" into a byte.
    static std::string pieceBytes(const std::string& piece, TokenKind kind, bool byteLevel, bool byteFallback);

private:
    struct Merge {
        int32_t rank;
        int32_t merged;
    };
    static uint64_t pairKey(int32_t a, int32_t b) { return (uint64_t(uint32_t(a)) << 32) | uint32_t(b); }

    void encodeSegment(std::string_view text, bool first, std::vector<int32_t>& out) const;
    void encodeValid(std::string_view text, bool first, std::vector<int32_t>& out) const;
    void encodeWord(const std::string& word, std::vector<int32_t>& out) const; // cached
    void mergeWord(std::string_view word, std::vector<int32_t>& out) const;
    void pushInvalidByte(unsigned char b, std::vector<int32_t>& out) const;

    bool m_byteLevel = true;
    bool m_byteFallback = false;
    bool m_ignoreMerges = false;
    PreTokenizer m_pre;
    Normalizer m_normalizer;
    std::unordered_map<std::string, int32_t> m_pieceToId; // pieces as stored; the first id wins
    std::unordered_map<uint64_t, Merge> m_ranks;
    int32_t m_byteIds[256]; // byte-level: the token of each byte's character; otherwise <0xNN> tokens

    struct StringHash {
        using is_transparent = void;
        size_t operator()(std::string_view s) const { return std::hash<std::string_view>()(s); }
    };
    mutable std::mutex m_cacheMutex;
    mutable std::unordered_map<std::string, std::vector<int32_t>, StringHash, std::equal_to<>> m_cache;
};

} // namespace logitscope
