// GBNF parser (see gbnf_parser.h): recursive descent over the text into rules of alternatives, with
// groups and repetitions rewritten as generated rules, then flattened and checked.
#include "decoding/grammar/gbnf_parser.h"

#include "common/error.h"

#include <algorithm>
#include <functional>
#include <map>

namespace logitscope {

namespace {

using Sequence = std::vector<GrammarElement>;
using Alternatives = std::vector<Sequence>;

constexpr int kMaxRepetition = 10000; // {m,n} beyond this is surely a typo, and would build huge rules
constexpr int kMaxDepth = 200;        // nested groups

bool isWordChar(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '_';
}

class Parser {
public:
    Parser(std::string_view text, std::string source) : m_text(text), m_source(std::move(source)) {}

    std::shared_ptr<const Grammar> run()
    {
        skipSpace(true);
        while (!atEnd()) {
            parseRule();
            skipSpace(true);
        }
        return finish();
    }

private:
    // ---- positions and messages -------------------------------------------------------------------
    bool atEnd() const { return m_pos >= m_text.size(); }
    char peek(size_t ahead = 0) const { return m_pos + ahead < m_text.size() ? m_text[m_pos + ahead] : '\0'; }

    std::pair<int, int> lineColumn(size_t at) const
    {
        int line = 1, col = 1;
        for (size_t i = 0; i < at && i < m_text.size(); ++i) {
            const unsigned char c = static_cast<unsigned char>(m_text[i]);
            if (c == '\n') {
                ++line;
                col = 1;
            } else if ((c & 0xC0) != 0x80) {
                ++col; // count characters, not continuation bytes
            }
        }
        return {line, col};
    }

    [[noreturn]] void failAt(size_t at, const std::string& message) const
    {
        const auto [line, col] = lineColumn(at);
        throw Error(m_source + ": line " + std::to_string(line) + ", column " + std::to_string(col) + ": " + message);
    }

    std::string shown(size_t at) const
    {
        if (at >= m_text.size())
            return "the end of the text";
        const char c = m_text[at];
        if (c == '\n')
            return "a line break";
        return "'" + std::string(1, c) + "'";
    }

    // ---- lexing ------------------------------------------------------------------------------------
    void skipSpace(bool newlineOk)
    {
        while (!atEnd()) {
            const char c = peek();
            if (c == ' ' || c == '\t') {
                ++m_pos;
            } else if (c == '#') {
                while (!atEnd() && peek() != '\n' && peek() != '\r')
                    ++m_pos;
            } else if (newlineOk && (c == '\n' || c == '\r')) {
                ++m_pos;
            } else {
                break;
            }
        }
    }

    std::string parseName()
    {
        const size_t start = m_pos;
        while (!atEnd() && isWordChar(peek()))
            ++m_pos;
        if (m_pos == start)
            failAt(start, "expected a rule name, found " + shown(start));
        return std::string(m_text.substr(start, m_pos - start));
    }

    // One UTF-8 character of the grammar text.
    uint32_t decodeChar()
    {
        const size_t start = m_pos;
        const unsigned char c = static_cast<unsigned char>(peek());
        int n = 0;
        uint32_t cp = 0;
        if (c < 0x80) {
            ++m_pos;
            return c;
        } else if ((c & 0xE0) == 0xC0) {
            n = 1;
            cp = c & 0x1F;
        } else if ((c & 0xF0) == 0xE0) {
            n = 2;
            cp = c & 0x0F;
        } else if ((c & 0xF8) == 0xF0) {
            n = 3;
            cp = c & 0x07;
        } else {
            failAt(start, "invalid UTF-8 byte in the grammar text");
        }
        ++m_pos;
        for (int i = 0; i < n; ++i) {
            const unsigned char d = static_cast<unsigned char>(peek());
            if ((d & 0xC0) != 0x80)
                failAt(start, "invalid UTF-8 sequence in the grammar text");
            cp = (cp << 6) | (d & 0x3F);
            ++m_pos;
        }
        return cp;
    }

    uint32_t parseHex(int digits, size_t escapeStart)
    {
        uint32_t v = 0;
        for (int i = 0; i < digits; ++i) {
            const char c = peek();
            int d;
            if (c >= '0' && c <= '9') d = c - '0';
            else if (c >= 'a' && c <= 'f') d = c - 'a' + 10;
            else if (c >= 'A' && c <= 'F') d = c - 'A' + 10;
            else
                failAt(m_pos, "escape needs " + std::to_string(digits) + " hex digits, found " + shown(m_pos));
            v = v * 16 + uint32_t(d);
            ++m_pos;
        }
        if (v > 0x10FFFF)
            failAt(escapeStart, "escape names a code point beyond U+10FFFF");
        return v;
    }

    // A character inside a literal or a class, escapes resolved.
    uint32_t parseChar()
    {
        if (atEnd())
            failAt(m_pos, "unexpected end of the text");
        if (peek() != '\\')
            return decodeChar();
        const size_t start = m_pos;
        ++m_pos;
        const char e = peek();
        ++m_pos;
        switch (e) {
        case 'x': return parseHex(2, start);
        case 'u': return parseHex(4, start);
        case 'U': return parseHex(8, start);
        case 't': return '\t';
        case 'r': return '\r';
        case 'n': return '\n';
        case '\\': return '\\';
        case '"': return '"';
        case '[': return '[';
        case ']': return ']';
        case '-': return '-';
        case '^': return '^';
        default:
            failAt(start, "unknown escape '\\" + std::string(1, e ? e : ' ') + "'");
        }
    }

    // ---- rules -------------------------------------------------------------------------------------
    int32_t ruleId(const std::string& name)
    {
        auto it = m_ids.find(name);
        if (it != m_ids.end())
            return it->second;
        const int32_t id = int32_t(m_rules.size());
        m_ids.emplace(name, id);
        m_names.push_back(name);
        m_rules.emplace_back();
        m_defined.push_back(false);
        m_definedAt.push_back(0);
        m_userRule.push_back(false);
        m_firstUse.push_back(std::string::npos);
        return id;
    }

    int32_t newGenerated(const std::string& base)
    {
        std::string name;
        do {
            name = base + "_" + std::to_string(++m_generated);
        } while (m_ids.count(name));
        const int32_t id = ruleId(name);
        m_defined[size_t(id)] = true;
        m_definedAt[size_t(id)] = m_pos; // where the group or repetition is, for messages
        return id;
    }

    void parseRule()
    {
        const size_t start = m_pos;
        const std::string name = parseName();
        const int32_t id = ruleId(name);
        if (m_defined[size_t(id)]) {
            const auto [line, col] = lineColumn(m_definedAt[size_t(id)]);
            failAt(start, "rule '" + name + "' is defined twice (first at line " + std::to_string(line) + ")");
        }
        m_defined[size_t(id)] = true;
        m_definedAt[size_t(id)] = start;
        m_userRule[size_t(id)] = true;
        m_currentRule = name;
        skipSpace(false);
        if (m_text.substr(m_pos, 3) != "::=")
            failAt(m_pos, "expected '::=' after the rule name '" + name + "', found " + shown(m_pos));
        m_pos += 3;
        skipSpace(true);
        Alternatives alts = parseAlternatives(false, 0);
        m_rules[size_t(id)] = std::move(alts);
        if (!atEnd() && peek() != '\n' && peek() != '\r')
            failAt(m_pos, "expected a line break or the end after rule '" + name + "', found " + shown(m_pos));
    }

    Alternatives parseAlternatives(bool nested, int depth)
    {
        Alternatives alts;
        alts.push_back(parseSequence(nested, depth));
        while (peek() == '|') {
            ++m_pos;
            skipSpace(true);
            alts.push_back(parseSequence(nested, depth));
        }
        return alts;
    }

    void repeat(Sequence& seq, size_t itemStart, int minTimes, int maxTimes, size_t at)
    {
        // maxTimes < 0: unbounded. The item is seq[itemStart..]; it is replaced by the expansion.
        if (itemStart == seq.size())
            failAt(at, "a repetition operator needs something before it");
        Sequence item(seq.begin() + long(itemStart), seq.end());
        seq.resize(itemStart);
        for (int i = 0; i < minTimes; ++i)
            seq.insert(seq.end(), item.begin(), item.end());
        auto ref = [](int32_t rule) {
            GrammarElement e;
            e.kind = GrammarElementKind::RuleRef;
            e.rule = rule;
            return e;
        };
        if (maxTimes < 0) {
            // r ::= item r | (empty)
            const int32_t r = newGenerated(m_currentRule);
            Sequence loop = item;
            loop.push_back(ref(r));
            m_rules[size_t(r)] = {loop, Sequence{}};
            seq.push_back(ref(r));
        } else if (maxTimes > minTimes) {
            // up to k more: r_k ::= item r_{k-1} | (empty), r_1 ::= item | (empty)
            int32_t inner = -1;
            for (int k = 1; k <= maxTimes - minTimes; ++k) {
                const int32_t r = newGenerated(m_currentRule);
                Sequence body = item;
                if (inner >= 0)
                    body.push_back(ref(inner));
                m_rules[size_t(r)] = {body, Sequence{}};
                inner = r;
            }
            seq.push_back(ref(inner));
        }
    }

    int parseInt()
    {
        const size_t start = m_pos;
        long v = 0;
        while (peek() >= '0' && peek() <= '9') {
            v = v * 10 + (peek() - '0');
            if (v > kMaxRepetition)
                failAt(start, "repetition count above " + std::to_string(kMaxRepetition));
            ++m_pos;
        }
        if (m_pos == start)
            failAt(start, "expected a number, found " + shown(start));
        return int(v);
    }

    Sequence parseSequence(bool nested, int depth)
    {
        Sequence seq;
        size_t lastStart = 0; // where the last item begins (repetitions apply to it)
        bool haveItem = false;
        while (!atEnd()) {
            const char c = peek();
            const size_t at = m_pos;
            if (c == '"') {
                ++m_pos;
                lastStart = seq.size();
                while (true) {
                    if (atEnd() || peek() == '\n')
                        failAt(at, "unterminated string literal");
                    if (peek() == '"')
                        break;
                    GrammarElement e;
                    e.kind = GrammarElementKind::Chars;
                    const uint32_t cp = parseChar();
                    e.ranges = {{cp, cp}};
                    seq.push_back(std::move(e));
                }
                ++m_pos;
                haveItem = true;
            } else if (c == '[') {
                ++m_pos;
                GrammarElement e;
                e.kind = GrammarElementKind::Chars;
                if (peek() == '^') {
                    e.kind = GrammarElementKind::CharsNot;
                    ++m_pos;
                }
                while (true) {
                    if (atEnd() || peek() == '\n')
                        failAt(at, "unterminated character class");
                    if (peek() == ']')
                        break;
                    const uint32_t lo = parseChar();
                    uint32_t hi = lo;
                    if (peek() == '-' && peek(1) != ']' && m_pos + 1 < m_text.size()) {
                        const size_t dash = m_pos;
                        ++m_pos;
                        hi = parseChar();
                        if (hi < lo)
                            failAt(dash, "character range is backwards (end before start)");
                    }
                    e.ranges.emplace_back(lo, hi);
                }
                ++m_pos;
                if (e.ranges.empty() && e.kind == GrammarElementKind::Chars)
                    failAt(at, "empty character class [] matches nothing");
                lastStart = seq.size();
                seq.push_back(std::move(e));
                haveItem = true;
            } else if (c == '.') {
                ++m_pos;
                GrammarElement e;
                e.kind = GrammarElementKind::Any;
                lastStart = seq.size();
                seq.push_back(std::move(e));
                haveItem = true;
            } else if (isWordChar(c)) {
                const std::string name = parseName();
                const int32_t id = ruleId(name);
                if (m_firstUse[size_t(id)] == std::string::npos)
                    m_firstUse[size_t(id)] = at;
                // "name ::=" here means the previous rule ended without a line break.
                {
                    size_t p = m_pos;
                    while (p < m_text.size() && (m_text[p] == ' ' || m_text[p] == '\t'))
                        ++p;
                    if (m_text.substr(p, 3) == "::=")
                        failAt(at, "rule '" + name + "' starts on the same line as the previous rule");
                }
                GrammarElement e;
                e.kind = GrammarElementKind::RuleRef;
                e.rule = id;
                lastStart = seq.size();
                seq.push_back(std::move(e));
                haveItem = true;
            } else if (c == '(') {
                if (depth >= kMaxDepth)
                    failAt(at, "groups nested deeper than " + std::to_string(kMaxDepth));
                ++m_pos;
                skipSpace(true);
                const std::string saved = m_currentRule;
                Alternatives inner = parseAlternatives(true, depth + 1);
                m_currentRule = saved;
                if (peek() != ')')
                    failAt(at, "this '(' is never closed (found " + shown(m_pos) + ")");
                ++m_pos;
                const int32_t r = newGenerated(m_currentRule);
                m_rules[size_t(r)] = std::move(inner);
                GrammarElement e;
                e.kind = GrammarElementKind::RuleRef;
                e.rule = r;
                lastStart = seq.size();
                seq.push_back(std::move(e));
                haveItem = true;
            } else if (c == '*' || c == '+' || c == '?') {
                if (!haveItem)
                    failAt(at, "'" + std::string(1, c) + "' has nothing before it to repeat");
                ++m_pos;
                repeat(seq, lastStart, c == '+' ? 1 : 0, c == '?' ? 1 : -1, at);
                haveItem = false;
            } else if (c == '{') {
                if (!haveItem)
                    failAt(at, "'{' has nothing before it to repeat");
                ++m_pos;
                skipSpace(false);
                int lo = 0, hi = -1;
                if (peek() == ',') {
                    lo = 0;
                } else {
                    lo = parseInt();
                }
                skipSpace(false);
                if (peek() == ',') {
                    ++m_pos;
                    skipSpace(false);
                    hi = peek() == '}' ? -1 : parseInt();
                } else {
                    hi = lo;
                }
                skipSpace(false);
                if (peek() != '}')
                    failAt(m_pos, "expected '}' to close the repetition, found " + shown(m_pos));
                ++m_pos;
                if (hi >= 0 && hi < lo)
                    failAt(at, "repetition {" + std::to_string(lo) + "," + std::to_string(hi) + "} has its maximum below its minimum");
                repeat(seq, lastStart, lo, hi, at);
                haveItem = false;
            } else if (c == '<') {
                failAt(at, "token references (<...>) are not supported");
            } else {
                break;
            }
            skipSpace(nested);
        }
        if (!atEnd()) {
            const char c = peek();
            const bool ends = c == '|' || c == '\n' || c == '\r' || (nested && c == ')');
            if (!ends)
                failAt(m_pos, "unexpected " + shown(m_pos));
        }
        return seq;
    }

    // ---- checks and flattening ---------------------------------------------------------------------
    std::shared_ptr<const Grammar> finish()
    {
        auto rootIt = m_ids.find("root");
        if (rootIt == m_ids.end() || !m_defined[size_t(rootIt->second)])
            throw Error(m_source + ": the grammar has no 'root' rule (the rule every output must match)");
        for (size_t r = 0; r < m_rules.size(); ++r)
            if (!m_defined[r])
                failAt(m_firstUse[r], "rule '" + m_names[r] + "' is used but never defined");
        checkLeftRecursion();

        auto g = std::make_shared<Grammar>();
        g->ruleNames = m_names;
        g->root = rootIt->second;
        g->alternatives.resize(m_rules.size());
        g->ruleLine.resize(m_rules.size(), 0);
        for (size_t r = 0; r < m_rules.size(); ++r) {
            if (m_userRule[r])
                g->ruleLine[r] = lineColumn(m_definedAt[r]).first;
            for (const Sequence& seq : m_rules[r]) {
                g->alternatives[r].push_back(int32_t(g->elements.size()));
                for (GrammarElement e : seq) {
                    if (e.kind != GrammarElementKind::RuleRef)
                        e.rule = int32_t(r);
                    g->elements.push_back(std::move(e));
                }
                GrammarElement end;
                end.rule = int32_t(r);
                g->elements.push_back(std::move(end));
            }
        }
        return g;
    }

    // A rule that can reach itself without consuming a character would make the matcher expand it
    // forever (llama.cpp rejects these too).
    void checkLeftRecursion()
    {
        const size_t R = m_rules.size();
        std::vector<bool> nullable(R, false);
        for (bool changed = true; changed;) {
            changed = false;
            for (size_t r = 0; r < R; ++r) {
                if (nullable[r])
                    continue;
                for (const Sequence& seq : m_rules[r]) {
                    const bool all = std::all_of(seq.begin(), seq.end(), [&](const GrammarElement& e) {
                        return e.kind == GrammarElementKind::RuleRef && nullable[size_t(e.rule)];
                    });
                    if (all) {
                        nullable[r] = true;
                        changed = true;
                        break;
                    }
                }
            }
        }
        // Edges r -> s where s can come first in r.
        std::vector<std::vector<int32_t>> first(R);
        for (size_t r = 0; r < R; ++r)
            for (const Sequence& seq : m_rules[r])
                for (const GrammarElement& e : seq) {
                    if (e.kind != GrammarElementKind::RuleRef)
                        break;
                    first[r].push_back(e.rule);
                    if (!nullable[size_t(e.rule)])
                        break;
                }
        std::vector<int> colour(R, 0); // 0 new, 1 on the path, 2 done
        std::vector<int32_t> path;
        std::function<void(int32_t)> visit = [&](int32_t r) {
            colour[size_t(r)] = 1;
            path.push_back(r);
            for (int32_t s : first[size_t(r)]) {
                if (colour[size_t(s)] == 1) {
                    // Report the cycle through the user's own rule names where possible.
                    auto from = std::find(path.begin(), path.end(), s);
                    std::string cycle;
                    int32_t named = -1;
                    for (auto it = from; it != path.end(); ++it) {
                        cycle += m_names[size_t(*it)] + " -> ";
                        if (named < 0 && m_userRule[size_t(*it)])
                            named = *it;
                    }
                    cycle += m_names[size_t(s)];
                    if (named < 0)
                        named = s;
                    const size_t at = m_definedAt[size_t(named)];
                    failAt(at, "left recursion that can never terminate (" + cycle +
                                   " without consuming a character); rewrite it with repetition, e.g. x ::= y (op y)*");
                }
                if (colour[size_t(s)] == 0)
                    visit(s);
            }
            path.pop_back();
            colour[size_t(r)] = 2;
        };
        for (size_t r = 0; r < R; ++r)
            if (colour[r] == 0)
                visit(int32_t(r));
    }

    std::string_view m_text;
    std::string m_source;
    size_t m_pos = 0;
    std::map<std::string, int32_t> m_ids;
    std::vector<std::string> m_names;
    std::vector<Alternatives> m_rules;
    std::vector<bool> m_defined;
    std::vector<size_t> m_definedAt;
    std::vector<size_t> m_firstUse;
    std::vector<bool> m_userRule; // written in the text (not a group or repetition made by the parser)
    std::string m_currentRule;
    int m_generated = 0;
};

} // namespace

std::shared_ptr<const Grammar> parseGbnf(std::string_view text, const std::string& source)
{
    return Parser(text, source).run();
}

} // namespace logitscope
