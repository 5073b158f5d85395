// TokenTrie / GrammarVocabulary (see token_trie.h): building the trie and the depth-first mask walk.
#include "decoding/grammar/token_trie.h"

#include "tokenizer/tokenizer.h"

#include <algorithm>

namespace logitscope {

TokenTrie::TokenTrie(const std::vector<std::string>& tokenBytes)
{
    // Build with per-node child lists, then lay the nodes out so that each node's edges are contiguous.
    struct Build {
        std::vector<std::pair<uint8_t, uint32_t>> children;
        std::vector<int32_t> tokens;
    };
    std::vector<Build> build(1);
    for (size_t id = 0; id < tokenBytes.size(); ++id) {
        const std::string& text = tokenBytes[id];
        if (text.empty())
            continue;
        uint32_t node = 0;
        for (char ch : text) {
            const uint8_t b = uint8_t(ch);
            auto& kids = build[node].children;
            auto it = std::find_if(kids.begin(), kids.end(), [b](const auto& e) { return e.first == b; });
            if (it != kids.end()) {
                node = it->second;
            } else {
                const uint32_t child = uint32_t(build.size());
                kids.emplace_back(b, child);
                build.emplace_back();
                node = child;
            }
        }
        build[node].tokens.push_back(int32_t(id));
    }
    m_nodes.resize(build.size());
    for (size_t n = 0; n < build.size(); ++n) {
        Node& out = m_nodes[n];
        auto& kids = build[n].children;
        std::sort(kids.begin(), kids.end());
        out.edgeBegin = uint32_t(m_edgeByte.size());
        for (const auto& [b, child] : kids) {
            m_edgeByte.push_back(b);
            m_edgeChild.push_back(child);
        }
        out.edgeEnd = uint32_t(m_edgeByte.size());
        out.tokenBegin = uint32_t(m_tokens.size());
        m_tokens.insert(m_tokens.end(), build[n].tokens.begin(), build[n].tokens.end());
        out.tokenEnd = uint32_t(m_tokens.size());
    }
}

void TokenTrie::visit(const GrammarMatcher& matcher, uint32_t node, size_t depth, std::vector<GrammarState>& levels,
                      std::vector<uint8_t>& allowed) const
{
    if (levels.size() <= depth + 1)
        levels.resize(depth + 2);
    const Node& n = m_nodes[node];
    for (uint32_t e = n.edgeBegin; e < n.edgeEnd; ++e) {
        if (!matcher.advanceByte(levels[depth], m_edgeByte[e], levels[depth + 1]))
            continue; // nothing below this prefix fits
        const Node& child = m_nodes[m_edgeChild[e]];
        for (uint32_t t = child.tokenBegin; t < child.tokenEnd; ++t)
            allowed[size_t(m_tokens[t])] = 1;
        if (child.edgeBegin != child.edgeEnd)
            visit(matcher, m_edgeChild[e], depth + 1, levels, allowed);
    }
}

void TokenTrie::markAllowed(const GrammarMatcher& matcher, const GrammarState& state, std::vector<uint8_t>& allowed) const
{
    if (state.dead())
        return;
    std::vector<GrammarState> levels(1, state);
    visit(matcher, 0, 0, levels, allowed);
}

GrammarVocabulary::GrammarVocabulary(std::vector<std::string> tokenBytes, const std::vector<int32_t>& eosIds)
    : bytes(std::move(tokenBytes)), isEos(bytes.size(), 0), trie(bytes)
{
    for (int32_t id : eosIds)
        if (id >= 0 && size_t(id) < isEos.size())
            isEos[size_t(id)] = 1;
}

std::shared_ptr<const GrammarVocabulary> GrammarVocabulary::fromTokenizer(const Tokenizer& tok)
{
    std::vector<std::string> bytes(size_t(tok.vocabSize()));
    for (int32_t id = 0; id < tok.vocabSize(); ++id)
        if (!tok.isSpecial(id) && !tok.isEos(id))
            bytes[size_t(id)] = tok.tokenBytes(id);
    return std::make_shared<GrammarVocabulary>(std::move(bytes), tok.eosIds());
}

std::vector<uint8_t> GrammarVocabulary::allowed(const GrammarMatcher& matcher, const GrammarState& state) const
{
    std::vector<uint8_t> out(bytes.size(), 0);
    trie.markAllowed(matcher, state, out);
    const bool canEnd = matcher.accepting(state);
    for (size_t id = 0; id < isEos.size(); ++id)
        if (isEos[id])
            out[id] = canEnd ? 1 : 0;
    return out;
}

} // namespace logitscope
