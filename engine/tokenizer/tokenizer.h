// Tokenizer: the interface the engine uses to turn text into token ids and ids back into exact bytes,
// with the vocabulary's special tokens, BOS/EOS policy and chat template. Implementations:
// SentencePieceTokenizer (libsentencepiece) and ByteBpeTokenizer (byte-level / byte-fallback BPE).
// Not a model loader and not a Jinja engine (conversation.h renders chat templates with tokenizer/jinja).
#pragma once

#include "tokenizer/chat_template.h"
#include "tokenizer/special_tokens.h"

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace logitscope {

class GgufFile;
struct ChatConversation;
struct ChatTemplateTokens;

struct EncodeOptions {
    bool addSpecial = true;   // add BOS / EOS as the tokenizer's addBos() / addEos() say
    bool parseSpecial = true; // special-token text such as "<|im_start|>" becomes its one id
};

// What a vocabulary entry is (the GGUF / SentencePiece piece types).
enum class TokenKind : uint8_t { Normal, Unknown, Control, UserDefined, Unused, Byte };

struct VocabEntry {
    std::string piece;   // as stored in the vocabulary ("▁the", "Ġthe", "<0x0A>", "<|im_end|>")
    std::string bytes;   // what the token contributes to decoded text
    TokenKind kind = TokenKind::Normal;
    bool lstrip = false; // an added token that swallows whitespace before it (tokenizer.json)
    bool rstrip = false; // ... and after it
};

// Everything about a tokenizer that is not its segmentation model.
struct TokenizerSettings {
    std::string source;          // file or folder it came from, for messages
    int32_t bos = -1;
    std::vector<int32_t> eos;    // first one is the primary EOS
    int32_t unk = -1;
    int32_t pad = -1;
    bool addBos = false;
    bool addEos = false;
    std::string chatTemplate;    // the default chat template (Jinja source)
    std::vector<std::pair<std::string, std::string>> namedChatTemplates; // e.g. {"tool_use", ...}
    bool stripLeadingSpace = false; // decode() drops the dummy-prefix space of the first token
};

class Tokenizer {
public:
    virtual ~Tokenizer();
    Tokenizer(const Tokenizer&) = delete;
    Tokenizer& operator=(const Tokenizer&) = delete;

    // Text to ids. Thread-safe. Invalid UTF-8 never fails: its bytes go through byte fallback
    // (byte tokens, or the byte-level alphabet); only a vocabulary with neither and no <unk> throws Error.
    virtual std::vector<int32_t> encode(std::string_view text, const EncodeOptions& opt = {}) const = 0;

    // The exact bytes this token contributes to decoded text: "▁the" -> " the", "Ġthe" -> " the",
    // "<0x0A>" -> "\n". Special tokens (BOS, EOS, control tokens) give their text ("<s>"); decode()
    // skips them unless asked not to. Throws Error for an id outside [0, vocabSize()).
    virtual std::string tokenBytes(int32_t id) const = 0;
    // The vocabulary string as stored. Throws Error for an id out of range.
    virtual std::string piece(int32_t id) const = 0;

    // Concatenated tokenBytes(); skipSpecial drops special tokens. A SentencePiece-style tokenizer
    // that adds a dummy prefix drops the leading space of the first token, as SentencePiece does,
    // so decode(encode(s)) == s. The result may hold invalid UTF-8 when the ids split a character.
    std::string decode(std::span<const int32_t> ids, bool skipSpecial = true) const;

    int32_t vocabSize() const { return int32_t(m_vocab.size()); }
    int32_t bos() const { return m_settings.bos; } // -1 when absent
    std::vector<int32_t> eosIds() const { return m_settings.eos; } // every id that ends generation
    int32_t eos() const { return m_settings.eos.empty() ? -1 : m_settings.eos.front(); }
    bool isEos(int32_t id) const;
    int32_t unk() const { return m_settings.unk; }
    int32_t pad() const { return m_settings.pad; }
    bool addBos() const { return m_settings.addBos; }
    bool addEos() const { return m_settings.addEos; }
    bool isSpecial(int32_t id) const; // control or unknown tokens (BOS, EOS, "<|im_start|>", "<unk>")
    TokenKind tokenKind(int32_t id) const;
    int32_t findToken(std::string_view piece) const; // id of a piece as stored, -1 when absent

    const std::string& kind() const { return m_kind; } // "sentencepiece", "byte-bpe" or "bpe"
    const std::string& source() const { return m_settings.source; }

    ChatRendering renderChat(const std::string& system, const std::string& user) const;
    // The conversation through the model's own template (the "tool_use" one when tools are given and it
    // has one), BOS text left out when encode() adds BOS; falls back to the family rendering with a notice.
    // Throws Error for an invalid conversation.
    ChatRendering renderConversation(const ChatConversation& c) const;
    ChatTemplateTokens chatTokens() const; // bos_token / eos_token / unk_token / pad_token texts
    const std::string& chatTemplateFor(bool withTools) const;
    const std::string& chatTemplate() const { return m_settings.chatTemplate; }

protected:
    // Validates the settings' ids against the vocabulary (Error naming the field). When the chat
    // template's family has its own end-of-turn token (ChatML "<|im_end|>", Llama 3 "<|eot_id|>"...)
    // present in the vocabulary, that id joins the EOS list.
    Tokenizer(std::vector<VocabEntry> vocab, TokenizerSettings settings, std::string kind);

    const VocabEntry& entry(int32_t id) const;
    // Splits text at special-token text: control/unknown tokens when parseSpecial, user-defined always.
    void splitSpecial(std::string_view text, bool parseSpecial, std::vector<TextFragment>& out) const;

    std::vector<VocabEntry> m_vocab;
    TokenizerSettings m_settings;

private:
    std::string m_kind;
    std::unordered_map<std::string_view, int32_t> m_pieceIndex; // views into m_vocab
    SpecialTokenMatcher m_matchAll;  // control + unknown + user-defined
    SpecialTokenMatcher m_matchUser; // user-defined only
};

std::unique_ptr<Tokenizer> loadTokenizer(const GgufFile& gguf);              // tokenizer.ggml.* metadata
std::unique_ptr<Tokenizer> loadTokenizerFromFolder(const std::string& dir);  // a Hugging Face folder
std::unique_ptr<Tokenizer> loadTokenizerFile(const std::string& path);       // tokenizer.json / .model / .gguf

// A byte-level BPE tokenizer.json (Hugging Face format) for a GGUF "gpt2" vocabulary: the vocabulary,
// merges, added tokens and the pre-tokenizer regexes of its tokenizer.ggml.pre name.
std::string tokenizerJsonFromGgufVocab(const GgufFile& gguf);

} // namespace logitscope
