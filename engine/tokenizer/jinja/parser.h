// Jinja parser: tokens -> statement list. Statements: if/elif/else, for (tuple targets, "if" filter,
// else), set (incl. namespace attributes and {% set %} blocks), macro, call, filter blocks, break,
// continue, and the transformers-only {% generation %} marker (ignored).
// Not supported (a JinjaError names the tag): extends, block, include, import, raw, with, recursive loops.
#pragma once

#include "tokenizer/jinja/ast.h"
#include "tokenizer/jinja/lexer.h"

namespace logitscope::jinja {

// Throws JinjaError "NAME, line N: ..." naming what was expected or the unsupported construct.
Body parse(const std::vector<Token>& tokens, const std::string& name);

} // namespace logitscope::jinja
