// Grammar helpers (see grammar.h): terminal matching and GBNF rendering of single elements.
#include "decoding/grammar/grammar.h"
#include "tokenizer/utf8.h"

#include <cstdio>

namespace logitscope {

bool GrammarElement::matches(uint32_t cp) const
{
    switch (kind) {
    case GrammarElementKind::Any:
        return true;
    case GrammarElementKind::Chars:
    case GrammarElementKind::CharsNot: {
        bool in = false;
        for (const auto& [lo, hi] : ranges)
            if (cp >= lo && cp <= hi) {
                in = true;
                break;
            }
        return kind == GrammarElementKind::Chars ? in : !in;
    }
    default:
        return false;
    }
}

bool GrammarElement::mayMatch(uint32_t lo, uint32_t hi) const
{
    switch (kind) {
    case GrammarElementKind::Any:
        return true;
    case GrammarElementKind::Chars:
        for (const auto& [a, b] : ranges)
            if (a <= hi && b >= lo)
                return true;
        return false;
    case GrammarElementKind::CharsNot:
        // Some code point of [lo, hi] lies outside every range unless one range covers it all
        // (ranges that only cover it together are rare enough to accept here; the full character decides).
        for (const auto& [a, b] : ranges)
            if (a <= lo && b >= hi)
                return false;
        return true;
    default:
        return false;
    }
}

int32_t Grammar::findRule(const std::string& name) const
{
    for (size_t i = 0; i < ruleNames.size(); ++i)
        if (ruleNames[i] == name)
            return int32_t(i);
    return -1;
}

namespace {

std::string charText(uint32_t cp, bool inClass)
{
    switch (cp) {
    case '\n': return "\\n";
    case '\r': return "\\r";
    case '\t': return "\\t";
    case '\\': return "\\\\";
    case '"': return inClass ? "\"" : "\\\"";
    case ']': return inClass ? "\\]" : "]";
    case '-': return inClass ? "\\-" : "-";
    case '^': return inClass ? "\\^" : "^";
    default: break;
    }
    char buf[16];
    if (cp < 0x20 || cp == 0x7F) {
        std::snprintf(buf, sizeof buf, "\\x%02X", unsigned(cp));
        return buf;
    }
    std::string out;
    utf8::append(out, cp);
    return out;
}

} // namespace

std::string Grammar::describeElement(int32_t pos) const
{
    if (pos < 0 || size_t(pos) >= elements.size())
        return "?";
    const GrammarElement& e = elements[size_t(pos)];
    switch (e.kind) {
    case GrammarElementKind::End:
        return "(end)";
    case GrammarElementKind::Any:
        return ".";
    case GrammarElementKind::RuleRef:
        return ruleNames[size_t(e.rule)];
    case GrammarElementKind::Chars:
        if (e.ranges.size() == 1 && e.ranges[0].first == e.ranges[0].second)
            return "\"" + charText(e.ranges[0].first, false) + "\"";
        [[fallthrough]];
    case GrammarElementKind::CharsNot: {
        std::string out = e.kind == GrammarElementKind::CharsNot ? "[^" : "[";
        for (const auto& [lo, hi] : e.ranges) {
            out += charText(lo, true);
            if (hi != lo)
                out += "-" + charText(hi, true);
        }
        return out + "]";
    }
    }
    return "?";
}

} // namespace logitscope
