// SentencePieceTokenizer: Llama-style tokenization through libsentencepiece, from a tokenizer.model
// file or from a GGUF "llama" vocabulary turned into an in-memory ModelProto (see spm_model_proto.h).
// Not a re-implementation of SentencePiece: segmentation is the library's; this class adds special-token
// splitting, BOS/EOS, exact bytes per token and byte fallback for invalid UTF-8.
#pragma once

#include "tokenizer/spm_model_proto.h"
#include "tokenizer/tokenizer.h"

#include <memory>

namespace sentencepiece {
class SentencePieceProcessor;
}

namespace logitscope {

class SentencePieceTokenizer final : public Tokenizer {
public:
    // model: a serialised ModelProto; spec: what parseSpmModel() read from it (or what built it);
    // the vocabulary's ids are the ModelProto's piece ids.
    SentencePieceTokenizer(const std::string& model, const SpmModelSpec& spec, TokenizerSettings settings);
    ~SentencePieceTokenizer() override;

    std::vector<int32_t> encode(std::string_view text, const EncodeOptions& opt = {}) const override;
    std::string tokenBytes(int32_t id) const override { return entry(id).bytes; }
    std::string piece(int32_t id) const override { return entry(id).piece; }

    bool addsDummyPrefix() const { return m_addDummyPrefix; }

    // Vocabulary entries for SentencePiece pieces ("▁" -> space, "<0xNN>" -> the byte).
    static std::vector<VocabEntry> vocabFromSpec(const SpmModelSpec& spec);

private:
    // Encodes text with no special tokens in it; dummyPrefix: the text starts a segment.
    void encodeText(std::string_view text, bool dummyPrefix, std::vector<int32_t>& out) const;
    void encodeValid(std::string_view text, bool dummyPrefix, std::vector<int32_t>& out) const;
    void encodeBlock(std::string_view text, bool dummyPrefix, std::vector<int32_t>& out) const;

    std::unique_ptr<sentencepiece::SentencePieceProcessor> m_sp;       // the model as given
    std::unique_ptr<sentencepiece::SentencePieceProcessor> m_spInner;  // same, add_dummy_prefix off
    bool m_addDummyPrefix = false;
    int32_t m_byteIds[256];
    int32_t m_spaceId = -1; // "▁", for a dummy prefix before an invalid byte
    bool m_newlineSplits = false; // no piece holds "\n" and normalisation is plain: long text can be
                                  // encoded line block by line block (same ids, less time)
};

} // namespace logitscope
