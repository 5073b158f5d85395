// Text goes: special-token split -> valid UTF-8 runs (invalid bytes become byte tokens) -> libsentencepiece.
// Like Hugging Face and llama.cpp, each text segment that starts the prompt or follows a special token
// gets the dummy-prefix space; other runs are encoded by a second processor with the prefix turned off.
#include "tokenizer/sentencepiece_tokenizer.h"

#include "common/error.h"
#include "tokenizer/utf8.h"

#include <sentencepiece_processor.h>

#include <cstdio>

namespace logitscope {

namespace {

const std::string kSpace = "\xE2\x96\x81"; // "▁"

int parseBytePiece(const std::string& p)
{
    if (p.size() != 6 || p.compare(0, 3, "<0x") != 0 || p[5] != '>')
        return -1;
    int v = 0;
    for (int k = 3; k < 5; ++k) {
        const char c = p[size_t(k)];
        v <<= 4;
        if (c >= '0' && c <= '9') v |= c - '0';
        else if (c >= 'A' && c <= 'F') v |= c - 'A' + 10;
        else if (c >= 'a' && c <= 'f') v |= c - 'a' + 10;
        else return -1;
    }
    return v;
}

std::string replaceSpaces(const std::string& s)
{
    std::string out;
    out.reserve(s.size());
    for (size_t i = 0; i < s.size();) {
        if (s.compare(i, 3, kSpace) == 0) {
            out += ' ';
            i += 3;
        } else {
            out += s[i++];
        }
    }
    return out;
}

std::unique_ptr<sentencepiece::SentencePieceProcessor> loadProcessor(const std::string& model, const std::string& source)
{
    auto sp = std::make_unique<sentencepiece::SentencePieceProcessor>();
    const auto status = sp->LoadFromSerializedProto(model);
    if (!status.ok())
        throw Error(source + ": SentencePiece rejected the model: " + status.ToString());
    return sp;
}

} // namespace

std::vector<VocabEntry> SentencePieceTokenizer::vocabFromSpec(const SpmModelSpec& spec)
{
    std::vector<VocabEntry> vocab(spec.pieces.size());
    for (size_t i = 0; i < spec.pieces.size(); ++i) {
        const SpmPiece& p = spec.pieces[i];
        VocabEntry& e = vocab[i];
        e.piece = p.piece;
        switch (p.type) {
        case SpmPieceType::Normal: e.kind = TokenKind::Normal; break;
        case SpmPieceType::Unknown: e.kind = TokenKind::Unknown; break;
        case SpmPieceType::Control: e.kind = TokenKind::Control; break;
        case SpmPieceType::UserDefined: e.kind = TokenKind::UserDefined; break;
        case SpmPieceType::Unused: e.kind = TokenKind::Unused; break;
        case SpmPieceType::Byte: e.kind = TokenKind::Byte; break;
        }
        if (e.kind == TokenKind::Byte) {
            const int b = parseBytePiece(p.piece);
            e.bytes = b >= 0 ? std::string(1, char(b)) : p.piece;
        } else if (e.kind == TokenKind::Control || e.kind == TokenKind::Unknown) {
            e.bytes = p.piece;
        } else {
            e.bytes = replaceSpaces(p.piece);
        }
    }
    return vocab;
}

SentencePieceTokenizer::SentencePieceTokenizer(const std::string& model, const SpmModelSpec& spec, TokenizerSettings settings)
    : Tokenizer(vocabFromSpec(spec), [&] {
          settings.stripLeadingSpace = spec.addDummyPrefix;
          return std::move(settings);
      }(), "sentencepiece")
{
    m_addDummyPrefix = spec.addDummyPrefix;
    m_sp = loadProcessor(model, source());
    if (m_sp->GetPieceSize() != vocabSize())
        throw Error(source() + ": SentencePiece model has " + std::to_string(m_sp->GetPieceSize())
            + " pieces but the vocabulary " + std::to_string(vocabSize()));
    if (m_addDummyPrefix)
        m_spInner = loadProcessor(withAddDummyPrefix(model, false, source()), source());
    for (int32_t& id : m_byteIds)
        id = -1;
    for (int32_t id = 0; id < vocabSize(); ++id) {
        const VocabEntry& e = m_vocab[size_t(id)];
        if (e.kind == TokenKind::Byte && e.bytes.size() == 1)
            m_byteIds[static_cast<unsigned char>(e.bytes[0])] = id;
    }
    m_spaceId = findToken(kSpace);
    m_newlineSplits = !spec.removeExtraWhitespaces && !spec.hasCharsmap;
    for (const SpmPiece& p : spec.pieces)
        if (p.piece.find('\n') != std::string::npos)
            m_newlineSplits = false;
}

SentencePieceTokenizer::~SentencePieceTokenizer() = default;

std::vector<int32_t> SentencePieceTokenizer::encode(std::string_view text, const EncodeOptions& opt) const
{
    std::vector<int32_t> out;
    out.reserve(text.size() / 3 + 4);
    if (opt.addSpecial && addBos())
        out.push_back(bos());
    std::vector<TextFragment> fragments;
    splitSpecial(text, opt.parseSpecial, fragments);
    bool segmentStart = true;
    for (const TextFragment& f : fragments) {
        if (f.id >= 0) {
            out.push_back(f.id);
            segmentStart = true;
        } else {
            encodeText(f.text, segmentStart && m_addDummyPrefix, out);
            segmentStart = false;
        }
    }
    if (opt.addSpecial && addEos())
        out.push_back(eos());
    return out;
}

void SentencePieceTokenizer::encodeText(std::string_view text, bool dummyPrefix, std::vector<int32_t>& out) const
{
    // The dummy prefix goes before whatever comes first: the first valid run, or an invalid byte.
    const auto valid = [&](std::string_view run, size_t) {
        encodeValid(run, dummyPrefix, out);
        dummyPrefix = false;
    };
    const auto invalid = [&](unsigned char byte, size_t at) {
        if (dummyPrefix && m_spaceId >= 0)
            out.push_back(m_spaceId);
        dummyPrefix = false;
        const int32_t id = m_byteIds[byte];
        if (id >= 0)
            out.push_back(id);
        else if (unk() >= 0)
            out.push_back(unk());
        else {
            char hex[8];
            std::snprintf(hex, sizeof hex, "0x%02X", unsigned(byte));
            throw Error(source() + ": cannot encode invalid UTF-8 byte " + hex + " at offset " + std::to_string(at)
                + ": the vocabulary has no byte tokens and no <unk>");
        }
    };
    utf8::forEachValidRun(text, valid, invalid);
}

void SentencePieceTokenizer::encodeValid(std::string_view text, bool dummyPrefix, std::vector<int32_t>& out) const
{
    // SentencePiece's BPE slows down on long inputs; no merge can cross a newline when no piece holds one.
    constexpr size_t kBlock = 2048;
    if (m_newlineSplits && text.size() > 2 * kBlock) {
        size_t start = 0;
        while (start < text.size()) {
            size_t cut = text.size() - start > 2 * kBlock ? text.find('\n', start + kBlock) : std::string_view::npos;
            cut = cut == std::string_view::npos ? text.size() : cut + 1;
            encodeBlock(text.substr(start, cut - start), dummyPrefix && start == 0, out);
            start = cut;
        }
        return;
    }
    encodeBlock(text, dummyPrefix, out);
}

void SentencePieceTokenizer::encodeBlock(std::string_view text, bool dummyPrefix, std::vector<int32_t>& out) const
{
    const auto& sp = (dummyPrefix || !m_spInner) ? *m_sp : *m_spInner;
    std::vector<int> ids;
    const auto status = sp.Encode(absl::string_view(text.data(), text.size()), &ids);
    if (!status.ok())
        throw Error(source() + ": SentencePiece failed to encode: " + status.ToString());
    out.insert(out.end(), ids.begin(), ids.end());
}

} // namespace logitscope
