// jsonSchemaToGbnf: converts a JSON Schema to a GBNF grammar whose sentences are JSON texts the schema
// accepts, for the common keywords, in the spirit of llama.cpp's json_schema_to_grammar: type (and type
// unions), properties, required, additionalProperties (absent = false, as llama.cpp), enum, const, items
// (one schema or a tuple), minItems, maxItems, minLength, maxLength, a simple pattern (anchored regex with
// literals, classes, groups, alternation, quantifiers), $ref to #/definitions/... or #/$defs/..., anyOf,
// oneOf. Any other validation keyword throws Error naming it and where it is; annotations (title,
// description, default, examples, $schema, $id, $comment) are ignored. Required properties come first (in
// their written order), then the optional ones, as llama.cpp does. Not a validator.
#pragma once

#include <string>
#include <string_view>

namespace logitscope {

// `schemaText` is the schema as JSON text (read with key order kept: properties come out in that order).
std::string jsonSchemaToGbnf(std::string_view schemaText, const std::string& source = "json_schema");

} // namespace logitscope
