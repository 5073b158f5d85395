// The Jinja syntax tree: expressions and statements as plain tagged structs owned by unique_ptr.
// Not an optimised representation: templates are small and rendered a handful of times.
#pragma once

#include "tokenizer/jinja/value.h"

#include <memory>
#include <string>
#include <vector>

namespace logitscope::jinja {

struct Expr;
struct Stmt;
using ExprPtr = std::unique_ptr<Expr>;
using StmtPtr = std::unique_ptr<Stmt>;
using Body = std::vector<StmtPtr>;

struct Expr {
    enum class K {
        Literal,   // literal
        Name,      // name
        List,      // kids: items
        Tuple,     // kids: items
        Dict,      // kids: key, value, key, value...
        Unary,     // name: "-" "+" "not"; kids[0]
        Binary,    // name: operator ("+", "==", "in", "not in", "and", "or"...); kids[0], kids[1]
        Ternary,   // kids: value, condition, otherwise (nullptr: undefined when the condition is false)
        Attr,      // kids[0].name
        Index,     // kids[0][kids[1]]
        Slice,     // kids[0][kids[1]:kids[2]:kids[3]] (each may be nullptr)
        Call,      // kids[0](kids[1..]) with argNames
        Filter,    // kids[0] | name(kids[1..]) with argNames; kids[0] nullptr in a {% filter %} block
        Test,      // kids[0] is [not] name(kids[1..]) with argNames
    };
    K kind;
    int line = 0;
    Value literal;
    std::string name;
    std::vector<ExprPtr> kids;
    std::vector<std::string> argNames; // one per argument after kids[0]: "" positional, else the keyword
    bool negate = false;               // Test: "is not"
    int depth = 1;                     // height of this subtree (the parser bounds it: evaluation recurses)
};

struct Stmt {
    enum class K { Text, Output, If, For, Set, SetBlock, Macro, Break, Continue, FilterBlock, CallBlock };
    K kind;
    int line = 0;
    std::string text;      // Text
    ExprPtr expr;          // Output; If condition; For iterable; Set value; FilterBlock filter; CallBlock call
    ExprPtr target;        // Set / SetBlock / For: Name, Tuple of Names, or Attr (namespace.attribute)
    ExprPtr cond;          // For: the "if" condition, or nullptr
    Body body;             // If / For / SetBlock / Macro / FilterBlock / CallBlock
    Body orelse;           // If: else (an elif is an If inside); For: else
    std::string name;      // Macro
    std::vector<std::string> params;   // Macro / CallBlock caller parameters
    std::vector<ExprPtr> defaults;     // one per parameter, nullptr when none
};

} // namespace logitscope::jinja
