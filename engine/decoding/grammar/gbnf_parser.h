// parseGbnf: reads llama.cpp's GBNF grammar text (rules "name ::= ...", alternatives "|", grouping "()",
// repetition "* + ? {m} {m,} {m,n}", string literals, character classes with ranges and "^", ".",
// escapes \x \u \U \t \n \r \\ \" \[ \] \-, "#" comments) into a Grammar, and checks it: a root rule,
// every referenced rule defined, no left recursion (which a top-down matcher would expand forever).
// Errors are Error("<source>: line L, column C: ..."). Not supported: llama.cpp's token references <...>.
#pragma once

#include "decoding/grammar/grammar.h"

#include <memory>
#include <string>
#include <string_view>

namespace logitscope {

// `source` names the text in messages (a file path, "grammar", "json_schema").
std::shared_ptr<const Grammar> parseGbnf(std::string_view text, const std::string& source = "grammar");

} // namespace logitscope
