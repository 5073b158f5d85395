// TokenTrie and GrammarVocabulary: every token's bytes in a byte trie, so that masking the vocabulary
// with a grammar walks shared prefixes once (one matcher step per trie edge, not per token byte).
// GrammarVocabulary adds which ids are end-of-sequence and which have no text (special tokens).
// Not the matcher (grammar_matcher.h) and not the sampler stage (grammar_stage.h).
#pragma once

#include "decoding/grammar/grammar_matcher.h"

#include <cstdint>
#include <string>
#include <vector>

namespace logitscope {

class Tokenizer;

class TokenTrie {
public:
    // tokenBytes[id]: the id's text; ids with empty text are not in the trie.
    explicit TokenTrie(const std::vector<std::string>& tokenBytes);

    // allowed[id] = 1 for every token in the trie whose whole text can follow `state` (others untouched).
    void markAllowed(const GrammarMatcher& matcher, const GrammarState& state, std::vector<uint8_t>& allowed) const;
    size_t nodeCount() const { return m_nodes.size(); }

private:
    struct Node {
        uint32_t edgeBegin = 0, edgeEnd = 0;   // into m_edgeByte / m_edgeChild
        uint32_t tokenBegin = 0, tokenEnd = 0; // into m_tokens: ids whose text ends here
    };
    void visit(const GrammarMatcher& matcher, uint32_t node, size_t depth, std::vector<GrammarState>& levels,
               std::vector<uint8_t>& allowed) const;

    std::vector<Node> m_nodes;
    std::vector<uint8_t> m_edgeByte;
    std::vector<uint32_t> m_edgeChild;
    std::vector<int32_t> m_tokens;
};

struct GrammarVocabulary {
    std::vector<std::string> bytes; // (V) token text; empty for special tokens (which a grammar never admits)
    std::vector<uint8_t> isEos;     // (V)
    TokenTrie trie;

    explicit GrammarVocabulary(std::vector<std::string> tokenBytes, const std::vector<int32_t>& eosIds);
    static std::shared_ptr<const GrammarVocabulary> fromTokenizer(const Tokenizer& tokenizer);
    int32_t size() const { return int32_t(bytes.size()); }

    // allowed[id] for every id: its text fits the grammar at `state`; EOS only where the state accepts.
    std::vector<uint8_t> allowed(const GrammarMatcher& matcher, const GrammarState& state) const;
};

} // namespace logitscope
