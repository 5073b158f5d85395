// A bounded Jinja interpreter for chat templates: parse a template once, render it with a JSON context.
// It covers what released models' chat templates use (see docs/chat-templates.md) and renders them the
// way Hugging Face does (trim_blocks, lstrip_blocks; output byte-identical to @huggingface/jinja).
// Not a general-purpose Jinja: no template inheritance, includes, imports, {% raw %}, {% with %},
// recursive loops, autoescaping or sandbox attributes; a few Python methods and filters only.
#pragma once

#include "tokenizer/jinja/ast.h"
#include "tokenizer/jinja/value.h"

#include <nlohmann/json.hpp>

#include <cstdint>
#include <string>

namespace logitscope::jinja {

struct Limits {
    int64_t maxIterations = 1'000'000;   // loop iterations, all loops together
    int maxDepth = 100;                   // nested macro calls
    size_t maxOutputBytes = 8u << 20;     // rendered text (and any {% set %} block or macro output)
};

class Template {
public:
    // Parses the template; throws JinjaError naming `name`, the line and the construct.
    explicit Template(const std::string& source, std::string name = "chat template");

    // Renders with `context`'s keys as variables (plus range, namespace, raise_exception,
    // strftime_now, dict). Throws JinjaError on an error, a raise_exception() call, or a limit reached.
    std::string render(const nlohmann::ordered_json& context, const Limits& limits = {}) const;
    std::string render(const Value& context, const Limits& limits = {}) const; // a dict Value

    const std::string& name() const { return m_name; }

private:
    std::string m_name;
    Body m_body;
};

} // namespace logitscope::jinja
