// Grammar: a parsed GBNF grammar in the flat form the matcher walks — every rule's alternatives laid out
// one after the other in one element array, each alternative closed by an End element — plus the rule
// names and where each rule was defined (for messages and the "where the parser stands" label).
// Not the parser (gbnf_parser.h) and not the matcher (grammar_matcher.h).
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace logitscope {

enum class GrammarElementKind : uint8_t {
    End,      // closes one alternative
    Chars,    // one code point inside one of `ranges`
    CharsNot, // one code point outside every range
    Any,      // any code point (GBNF ".")
    RuleRef,  // the rule `rule`
};

struct GrammarElement {
    GrammarElementKind kind = GrammarElementKind::End;
    int32_t rule = -1;                                   // RuleRef: the rule; others: the rule it belongs to
    std::vector<std::pair<uint32_t, uint32_t>> ranges;   // Chars/CharsNot: inclusive code point ranges

    bool isTerminal() const
    {
        return kind == GrammarElementKind::Chars || kind == GrammarElementKind::CharsNot || kind == GrammarElementKind::Any;
    }
    // Whether code point `cp` matches this terminal.
    bool matches(uint32_t cp) const;
    // Whether some code point in [lo, hi] matches this terminal (a partial UTF-8 character).
    bool mayMatch(uint32_t lo, uint32_t hi) const;
};

struct Grammar {
    std::vector<std::string> ruleNames;              // (R) as written; generated rules get "name_N"
    std::vector<std::vector<int32_t>> alternatives;  // (R) start position of every alternative in `elements`
    std::vector<GrammarElement> elements;            // all alternatives, each closed by End
    std::vector<int> ruleLine;                       // (R) line of the definition (0 for generated rules)
    int32_t root = -1;

    int32_t findRule(const std::string& name) const;
    // GBNF text of one element ("[a-z]", "\"x\"", "value"), for labels and messages.
    std::string describeElement(int32_t pos) const;
};

} // namespace logitscope
