// GrammarMatcher: llama.cpp-style pushdown matching of text against a Grammar. The parser's state is a
// set of stacks of grammar positions (the top of each is the terminal the next character must match; an
// empty stack means the text so far is a complete sentence) plus the bytes of a UTF-8 character that a
// token left unfinished. Text advances byte by byte, so a token may span several grammar symbols or end
// in the middle of a character. Not a sampler (grammar_stage.h masks tokens with it).
#pragma once

#include "decoding/grammar/grammar.h"

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace logitscope {

// A set of stacks stored flat (positions into Grammar::elements, top at the back), without duplicates.
class GrammarStacks {
public:
    size_t size() const { return m_offsets.size() - 1; }
    bool empty() const { return size() == 0; }
    std::span<const int32_t> stack(size_t i) const
    {
        return {m_data.data() + m_offsets[i], m_data.data() + m_offsets[i + 1]};
    }
    void clear()
    {
        m_data.clear();
        m_offsets.resize(1);
    }
    // Adds the stack unless an equal one is present.
    void add(std::span<const int32_t> stack);
    bool operator==(const GrammarStacks&) const = default;

private:
    std::vector<int32_t> m_data;
    std::vector<uint32_t> m_offsets{0};
};

// The bits of a UTF-8 character read so far and how many continuation bytes it still needs.
struct PartialUtf8 {
    uint32_t value = 0;
    int remaining = 0;
    int length = 0; // bytes of the whole character (overlong encodings are refused when it completes)
    bool operator==(const PartialUtf8&) const = default;
};

struct GrammarState {
    GrammarStacks stacks; // no stacks at all: the text so far fits no sentence of the grammar
    PartialUtf8 partial;
    bool dead() const { return stacks.empty(); }
    bool operator==(const GrammarState&) const = default;
};

class GrammarMatcher {
public:
    explicit GrammarMatcher(std::shared_ptr<const Grammar> grammar);

    const Grammar& grammar() const { return *m_grammar; }
    std::shared_ptr<const Grammar> grammarPtr() const { return m_grammar; }

    GrammarState initial() const;
    // Feeds bytes into `state`; returns false (the state is then dead) when they cannot continue any sentence.
    bool advance(GrammarState& state, std::string_view bytes) const;
    // One byte from `in` into `out` (out is overwritten, its buffers reused); false when it does not fit.
    bool advanceByte(const GrammarState& in, uint8_t byte, GrammarState& out) const;
    // True when the text so far is a complete sentence (end of text allowed here).
    bool accepting(const GrammarState& state) const;
    // Whole-string acceptor: `text` is a complete sentence of the grammar.
    bool acceptsString(std::string_view text) const;
    // Where the parser stands, for a label: "object › string — next: [^\"\\] | \"\\\"\"" (the rule path of
    // the first stack, then the distinct terminals the stacks expect, "end" when it may stop).
    std::string describe(const GrammarState& state) const;

private:
    void expand(std::vector<int32_t>& work, GrammarStacks& out) const;
    void stepCodePoint(const GrammarStacks& in, uint32_t cp, GrammarStacks& out) const;
    void keepPartial(const GrammarStacks& in, const PartialUtf8& partial, GrammarStacks& out) const;

    std::shared_ptr<const Grammar> m_grammar;
};

} // namespace logitscope
