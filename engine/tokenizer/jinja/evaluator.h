// The Jinja tree-walking evaluator (internal to the interpreter): scopes, statements, expressions and
// the limits. Filters, tests, methods and globals live in builtins.cpp.
// Not thread-shared: one Interpreter per render() call.
#pragma once

#include "tokenizer/jinja/ast.h"
#include "tokenizer/jinja/jinja.h"
#include "tokenizer/jinja/value.h"

#include <memory>
#include <string>

namespace logitscope::jinja {

// An error without a location yet; the evaluator adds the template name and line.
struct EvalError {
    std::string message;
};

struct Scope;
using ScopePtr = std::shared_ptr<Scope>;
struct Scope {
    ScopePtr parent;
    std::vector<std::pair<std::string, Value>> vars;
    const Value* find(const std::string& name) const;
    void set(const std::string& name, Value v);
};

class Interpreter {
public:
    Interpreter(const std::string& name, const Limits& limits) : m_name(name), m_limits(limits) {}

    std::string run(const Body& body, const Value& context);

    const Limits& limits() const { return m_limits; }
    const std::string& name() const { return m_name; }
    // Counts loop iterations (and range() items); throws past Limits::maxIterations.
    void countIterations(int64_t n);
    // Throws when a string being built passes Limits::maxOutputBytes.
    void checkSize(size_t bytes) const;
    [[noreturn]] void limitError(const std::string& what) const;

private:
    enum class Flow { Normal, Break, Continue };
    Flow render(const Body& body, const ScopePtr& scope, std::string& out);
    Flow renderFor(const Stmt& s, const ScopePtr& scope, std::string& out);
    void assign(const Expr& target, Value v, const ScopePtr& scope);
    Value eval(const Expr& e, const ScopePtr& scope);
    Value evalInner(const Expr& e, const ScopePtr& scope);
    Value binary(const Expr& e, const ScopePtr& scope);
    Value call(const Expr& e, const ScopePtr& scope);
    Args arguments(const Expr& e, const ScopePtr& scope, size_t first = 1);
    Value defineMacro(const Stmt& s, const ScopePtr& scope);
    void append(std::string& out, const std::string& text) const;

    const std::string& m_name;
    const Limits& m_limits;
    int64_t m_iterations = 0;
    int m_depth = 0;
    Value m_caller; // the {% call %} block's body while its macro is being called
};

// builtins.cpp
Value applyFilter(Interpreter& in, const std::string& name, const Value& operand, const Args& args);
bool applyTest(const std::string& name, const Value& operand, const Args& args);
bool hasTest(const std::string& name);
// A method of a string, list or dict ("x".startswith(...), d.items()); false when there is none.
bool callMethod(Interpreter& in, const Value& self, const std::string& name, const Args& args, Value& out);
void installGlobals(Interpreter& in, Scope& scope);

} // namespace logitscope::jinja
