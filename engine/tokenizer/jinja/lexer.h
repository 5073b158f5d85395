// Jinja lexer: template source -> tokens (text, tag delimiters, names, literals, operators), with the
// whitespace rules Hugging Face renders chat templates with (trim_blocks, lstrip_blocks, "-" markers).
// Not a configurable Jinja lexer: delimiters are fixed, line statements and {% raw %} are not supported.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace logitscope::jinja {

enum class Tok : uint8_t {
    Text,       // literal template text
    OpenStmt,   // {%
    CloseStmt,  // %}
    OpenExpr,   // {{
    CloseExpr,  // }}
    Name,       // identifiers and keywords (if, in, not, and, ...)
    String,     // a string literal, escapes resolved
    Int,
    Float,
    Op,         // punctuation and operators: ( ) [ ] { } , . : | + - ~ * / // % ** == != < > <= >= =
    End,
};

struct Token {
    Tok type;
    std::string text;
    int line = 1;
};

// Tokenizes a template; throws JinjaError naming `name` and the line for an unterminated tag,
// comment or string, or a character no token starts with.
std::vector<Token> tokenize(const std::string& source, const std::string& name);

} // namespace logitscope::jinja
