// GrammarMatcher (see grammar_matcher.h): stack expansion, one code point at a time, UTF-8 assembly.
#include "decoding/grammar/grammar_matcher.h"

#include <algorithm>

namespace logitscope {

void GrammarStacks::add(std::span<const int32_t> stack)
{
    for (size_t i = 0; i < size(); ++i) {
        const auto s = this->stack(i);
        if (s.size() == stack.size() && std::equal(s.begin(), s.end(), stack.begin()))
            return;
    }
    m_data.insert(m_data.end(), stack.begin(), stack.end());
    m_offsets.push_back(uint32_t(m_data.size()));
}

GrammarMatcher::GrammarMatcher(std::shared_ptr<const Grammar> grammar) : m_grammar(std::move(grammar)) {}

void GrammarMatcher::expand(std::vector<int32_t>& work, GrammarStacks& out) const
{
    // Replace a rule reference on top by each of the rule's alternatives until every top is a terminal.
    // The parser rejected left recursion, so this terminates.
    if (work.empty()) {
        out.add(work);
        return;
    }
    const int32_t top = work.back();
    const GrammarElement& e = m_grammar->elements[size_t(top)];
    if (e.kind != GrammarElementKind::RuleRef) {
        out.add(work);
        return;
    }
    work.pop_back();
    const bool continues = m_grammar->elements[size_t(top) + 1].kind != GrammarElementKind::End;
    if (continues)
        work.push_back(top + 1);
    for (int32_t start : m_grammar->alternatives[size_t(e.rule)]) {
        if (m_grammar->elements[size_t(start)].kind == GrammarElementKind::End) {
            expand(work, out); // an empty alternative: the rule is done at once
        } else {
            work.push_back(start);
            expand(work, out);
            work.pop_back();
        }
    }
    if (continues)
        work.pop_back();
    work.push_back(top);
}

GrammarState GrammarMatcher::initial() const
{
    GrammarState s;
    std::vector<int32_t> work;
    for (int32_t start : m_grammar->alternatives[size_t(m_grammar->root)]) {
        work.clear();
        if (m_grammar->elements[size_t(start)].kind != GrammarElementKind::End)
            work.push_back(start);
        expand(work, s.stacks);
    }
    return s;
}

void GrammarMatcher::stepCodePoint(const GrammarStacks& in, uint32_t cp, GrammarStacks& out) const
{
    out.clear();
    std::vector<int32_t> work;
    for (size_t i = 0; i < in.size(); ++i) {
        const auto st = in.stack(i);
        if (st.empty())
            continue; // a finished sentence takes no more characters
        const int32_t top = st.back();
        if (!m_grammar->elements[size_t(top)].matches(cp))
            continue;
        work.assign(st.begin(), st.end() - 1);
        if (m_grammar->elements[size_t(top) + 1].kind != GrammarElementKind::End)
            work.push_back(top + 1);
        expand(work, out);
    }
}

void GrammarMatcher::keepPartial(const GrammarStacks& in, const PartialUtf8& p, GrammarStacks& out) const
{
    // Keep the stacks whose terminal accepts some character that starts with the bytes read so far.
    // Not below the least code point of this length: shorter ones would be overlong forms.
    const uint32_t least = p.length == 2 ? 0x80 : p.length == 3 ? 0x800 : 0x10000;
    const uint32_t lo = std::max(least, p.value << (6 * p.remaining));
    const uint32_t hi = std::min<uint32_t>(0x10FFFF, (p.value << (6 * p.remaining)) | ((1u << (6 * p.remaining)) - 1));
    out.clear();
    if (lo > hi)
        return;
    for (size_t i = 0; i < in.size(); ++i) {
        const auto st = in.stack(i);
        if (!st.empty() && m_grammar->elements[size_t(st.back())].mayMatch(lo, hi))
            out.add(st);
    }
}

bool GrammarMatcher::advanceByte(const GrammarState& in, uint8_t b, GrammarState& out) const
{
    if (in.partial.remaining == 0) {
        PartialUtf8 p;
        if (b < 0x80) {
            stepCodePoint(in.stacks, b, out.stacks);
            out.partial = {};
            return !out.stacks.empty();
        }
        if (b >= 0xC2 && b <= 0xDF) // C0, C1 only start overlong encodings
            p = {uint32_t(b & 0x1F), 1, 2};
        else if (b >= 0xE0 && b <= 0xEF)
            p = {uint32_t(b & 0x0F), 2, 3};
        else if (b >= 0xF0 && b <= 0xF4)
            p = {uint32_t(b & 0x07), 3, 4};
        else {
            out.stacks.clear(); // a continuation byte with no lead, or no UTF-8 at all
            return false;
        }
        keepPartial(in.stacks, p, out.stacks);
        out.partial = p;
        return !out.stacks.empty();
    }
    if ((b & 0xC0) != 0x80) {
        out.stacks.clear(); // the character was cut short
        return false;
    }
    PartialUtf8 p{(in.partial.value << 6) | uint32_t(b & 0x3F), in.partial.remaining - 1, in.partial.length};
    if (p.remaining == 0) {
        // Refuse overlong forms (E0 80 A2 is not '"'), code points past U+10FFFF and surrogates.
        const uint32_t least = p.length == 2 ? 0x80 : p.length == 3 ? 0x800 : 0x10000;
        if (p.value < least || p.value > 0x10FFFF || (p.value >= 0xD800 && p.value <= 0xDFFF)) {
            out.stacks.clear();
            return false;
        }
        stepCodePoint(in.stacks, p.value, out.stacks);
        out.partial = {};
    } else {
        keepPartial(in.stacks, p, out.stacks);
        out.partial = p;
    }
    return !out.stacks.empty();
}

bool GrammarMatcher::advance(GrammarState& state, std::string_view bytes) const
{
    GrammarState next;
    for (char c : bytes) {
        if (!advanceByte(state, uint8_t(c), next)) {
            state.stacks.clear();
            return false;
        }
        std::swap(state, next);
    }
    return true;
}

bool GrammarMatcher::accepting(const GrammarState& state) const
{
    if (state.partial.remaining != 0)
        return false;
    for (size_t i = 0; i < state.stacks.size(); ++i)
        if (state.stacks.stack(i).empty())
            return true;
    return false;
}

bool GrammarMatcher::acceptsString(std::string_view text) const
{
    GrammarState s = initial();
    return advance(s, text) && accepting(s);
}

std::string GrammarMatcher::describe(const GrammarState& state) const
{
    if (state.dead())
        return "no continuation fits the grammar";
    const Grammar& g = *m_grammar;
    // The rule path of the first non-empty stack, bottom to top, groups and repetitions shown as their rule.
    auto userName = [&](int32_t rule) {
        std::string n = g.ruleNames[size_t(rule)];
        if (g.ruleLine[size_t(rule)] == 0) {
            const size_t cut = n.rfind('_');
            if (cut != std::string::npos)
                n.resize(cut);
        }
        return n;
    };
    std::string path;
    for (size_t i = 0; i < state.stacks.size(); ++i) {
        const auto st = state.stacks.stack(i);
        if (st.empty())
            continue;
        std::vector<std::string> names{g.ruleNames[size_t(g.root)]};
        for (int32_t pos : st) {
            const std::string n = userName(g.elements[size_t(pos)].rule);
            if (names.back() != n)
                names.push_back(n);
        }
        for (size_t k = 0; k < names.size(); ++k)
            path += (k ? " \xE2\x80\xBA " : "") + names[k];
        break;
    }
    std::vector<std::string> next;
    bool mayEnd = false;
    for (size_t i = 0; i < state.stacks.size(); ++i) {
        const auto st = state.stacks.stack(i);
        if (st.empty()) {
            mayEnd = true;
            continue;
        }
        const std::string d = g.describeElement(st.back());
        if (std::find(next.begin(), next.end(), d) == next.end())
            next.push_back(d);
    }
    std::string out = path.empty() ? std::string("root") : path;
    if (state.partial.remaining)
        out += " (inside a UTF-8 character, " + std::to_string(state.partial.remaining) + " byte(s) to go)";
    out += " \xE2\x80\x94 next: ";
    const size_t shown = std::min<size_t>(next.size(), 6);
    for (size_t k = 0; k < shown; ++k)
        out += (k ? " | " : "") + next[k];
    if (next.size() > shown)
        out += " | \xE2\x80\xA6";
    if (mayEnd)
        out += next.empty() ? "end" : " | end";
    return out;
}

} // namespace logitscope
