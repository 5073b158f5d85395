// The parts of Tokenizer shared by every implementation: id checks, special-token splitting,
// decode() and chat rendering. Loaders live in tokenizer_loader.cpp and gguf_tokenizer.cpp.
#include "tokenizer/tokenizer.h"

#include "tokenizer/conversation.h"

#include "common/error.h"

#include <algorithm>

namespace logitscope {

Tokenizer::~Tokenizer() = default;

Tokenizer::Tokenizer(std::vector<VocabEntry> vocab, TokenizerSettings settings, std::string kind)
    : m_vocab(std::move(vocab)), m_settings(std::move(settings)), m_kind(std::move(kind))
{
    const auto n = int32_t(m_vocab.size());
    m_pieceIndex.reserve(m_vocab.size());
    for (int32_t id = 0; id < n; ++id)
        m_pieceIndex.emplace(m_vocab[size_t(id)].piece, id); // the first id of a duplicated piece wins
    const auto check = [&](int32_t id, const char* what) {
        if (id < -1 || id >= n)
            throw Error(m_settings.source + ": " + what + " token id " + std::to_string(id)
                + " is outside the vocabulary [0, " + std::to_string(n) + ")");
    };
    check(m_settings.bos, "BOS");
    check(m_settings.unk, "UNK");
    check(m_settings.pad, "PAD");
    std::vector<int32_t> eos;
    for (int32_t id : m_settings.eos) {
        check(id, "EOS");
        if (id >= 0 && std::find(eos.begin(), eos.end(), id) == eos.end())
            eos.push_back(id);
    }
    const std::string endOfTurn = chatEndOfTurn(detectChatFamily(m_settings.chatTemplate));
    if (!endOfTurn.empty())
        if (int32_t id = findToken(endOfTurn); id >= 0 && std::find(eos.begin(), eos.end(), id) == eos.end())
            eos.push_back(id);
    m_settings.eos = std::move(eos);
    if (m_settings.addBos && m_settings.bos < 0)
        m_settings.addBos = false;
    if (m_settings.addEos && m_settings.eos.empty())
        m_settings.addEos = false;

    for (int32_t id = 0; id < n; ++id) {
        const VocabEntry& e = m_vocab[size_t(id)];
        if (e.kind == TokenKind::UserDefined) {
            m_matchUser.add(e.piece == e.bytes ? e.piece : e.bytes, id, e.lstrip, e.rstrip);
            m_matchAll.add(e.piece == e.bytes ? e.piece : e.bytes, id, e.lstrip, e.rstrip);
        } else if (e.kind == TokenKind::Control || e.kind == TokenKind::Unknown) {
            m_matchAll.add(e.piece, id, e.lstrip, e.rstrip);
        }
    }
    m_matchUser.build();
    m_matchAll.build();
}

const VocabEntry& Tokenizer::entry(int32_t id) const
{
    if (id < 0 || id >= int32_t(m_vocab.size()))
        throw Error(m_settings.source + ": token id " + std::to_string(id) + " is outside the vocabulary [0, "
            + std::to_string(m_vocab.size()) + ")");
    return m_vocab[size_t(id)];
}

bool Tokenizer::isEos(int32_t id) const
{
    return std::find(m_settings.eos.begin(), m_settings.eos.end(), id) != m_settings.eos.end();
}

bool Tokenizer::isSpecial(int32_t id) const
{
    if (id < 0 || id >= int32_t(m_vocab.size()))
        return false;
    const TokenKind k = m_vocab[size_t(id)].kind;
    return k == TokenKind::Control || k == TokenKind::Unknown;
}

TokenKind Tokenizer::tokenKind(int32_t id) const { return entry(id).kind; }

int32_t Tokenizer::findToken(std::string_view piece) const
{
    const auto it = m_pieceIndex.find(piece);
    return it == m_pieceIndex.end() ? -1 : it->second;
}

void Tokenizer::splitSpecial(std::string_view text, bool parseSpecial, std::vector<TextFragment>& out) const
{
    const SpecialTokenMatcher& m = parseSpecial ? m_matchAll : m_matchUser;
    if (m.empty()) {
        if (!text.empty())
            out.push_back({text, -1});
        return;
    }
    m.split(text, out);
}

std::string Tokenizer::decode(std::span<const int32_t> ids, bool skipSpecial) const
{
    std::string out;
    bool first = true;
    for (int32_t id : ids) {
        const VocabEntry& e = entry(id);
        if (skipSpecial && (e.kind == TokenKind::Control || e.kind == TokenKind::Unknown))
            continue;
        if (first && m_settings.stripLeadingSpace && e.kind == TokenKind::Normal && !e.bytes.empty()
            && e.bytes[0] == ' ')
            out.append(e.bytes, 1);
        else
            out += e.bytes;
        first = false;
    }
    return out;
}

ChatRendering Tokenizer::renderChat(const std::string& system, const std::string& user) const
{
    return logitscope::renderChat(m_settings.chatTemplate, system, user);
}

ChatTemplateTokens Tokenizer::chatTokens() const
{
    const auto text = [this](int32_t id) { return id >= 0 && id < vocabSize() ? piece(id) : std::string(); };
    return ChatTemplateTokens{text(bos()), text(eos()), text(unk()), text(pad())};
}

const std::string& Tokenizer::chatTemplateFor(bool withTools) const
{
    if (withTools)
        for (const auto& [name, text] : m_settings.namedChatTemplates)
            if (name == "tool_use")
                return text;
    return m_settings.chatTemplate;
}

ChatRendering Tokenizer::renderConversation(const ChatConversation& c) const
{
    const bool withTools = c.tools.is_array() && !c.tools.empty();
    const std::string name = (source().empty() ? std::string("tokenizer") : source()) + " chat template";
    return logitscope::renderConversation(chatTemplateFor(withTools), c, chatTokens(), addBos(), name);
}

} // namespace logitscope
