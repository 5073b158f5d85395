// The Jinja evaluator: statements render into a string, expressions evaluate to Values. Scoping follows
// Jinja: a for loop and a macro call open a scope, if does not; {% set %} writes the innermost scope.
// Bounded by Limits (loop iterations, macro depth, output size). Not a compiler: it walks the tree.
#include "tokenizer/jinja/evaluator.h"

#include "tokenizer/jinja/lexer.h"
#include "tokenizer/jinja/parser.h"
#include "tokenizer/jinja/text.h"

#include <cmath>
#include <limits>

namespace logitscope::jinja {

const Value* Scope::find(const std::string& name) const
{
    for (const Scope* s = this; s; s = s->parent.get())
        for (const auto& [k, v] : s->vars)
            if (k == name)
                return &v;
    return nullptr;
}

void Scope::set(const std::string& name, Value v)
{
    for (auto& [k, old] : vars)
        if (k == name) {
            old = std::move(v);
            return;
        }
    vars.emplace_back(name, std::move(v));
}

void Interpreter::limitError(const std::string& what) const
{
    throw JinjaError(m_name + ": stopped, " + what);
}

void Interpreter::countIterations(int64_t n)
{
    m_iterations += n;
    if (m_iterations > m_limits.maxIterations)
        limitError("more than " + std::to_string(m_limits.maxIterations) + " loop iterations (the iteration limit)");
}

void Interpreter::checkSize(size_t bytes) const
{
    if (bytes > m_limits.maxOutputBytes)
        limitError("output longer than " + std::to_string(m_limits.maxOutputBytes) + " bytes (the output limit)");
}

void Interpreter::append(std::string& out, const std::string& text) const
{
    checkSize(out.size() + text.size());
    out += text;
}

std::string Interpreter::run(const Body& body, const Value& context)
{
    auto root = std::make_shared<Scope>();
    installGlobals(*this, *root);
    auto scope = std::make_shared<Scope>();
    scope->parent = root;
    if (context.isObject())
        for (const auto& [k, v] : context.obj().items)
            scope->set(k, v);
    std::string out;
    render(body, scope, out);
    return out;
}

Interpreter::Flow Interpreter::render(const Body& body, const ScopePtr& scope, std::string& out)
{
    for (const StmtPtr& sp : body) {
        const Stmt& s = *sp;
        switch (s.kind) {
        case Stmt::K::Text: append(out, s.text); break;
        case Stmt::K::Output: append(out, toOutput(eval(*s.expr, scope))); break;
        case Stmt::K::If: {
            const Flow f = render(truthy(eval(*s.expr, scope)) ? s.body : s.orelse, scope, out);
            if (f != Flow::Normal)
                return f;
            break;
        }
        case Stmt::K::For: {
            const Flow f = renderFor(s, scope, out);
            (void)f;
            break;
        }
        case Stmt::K::Set: assign(*s.target, eval(*s.expr, scope), scope); break;
        case Stmt::K::SetBlock: {
            std::string text;
            render(s.body, scope, text);
            Value v(std::move(text));
            if (s.expr) {
                try {
                    v = applyFilter(*this, s.expr->name, v, arguments(*s.expr, scope));
                } catch (const EvalError& e) {
                    throw JinjaError(m_name + ", line " + std::to_string(s.line) + ": " + e.message);
                }
            }
            assign(*s.target, std::move(v), scope);
            break;
        }
        case Stmt::K::Macro: scope->set(s.name, defineMacro(s, scope)); break;
        case Stmt::K::Break: return Flow::Break;
        case Stmt::K::Continue: return Flow::Continue;
        case Stmt::K::FilterBlock: {
            std::string text;
            render(s.body, scope, text);
            try {
                append(out, toOutput(applyFilter(*this, s.expr->name, Value(std::move(text)), arguments(*s.expr, scope))));
            } catch (const EvalError& e) {
                throw JinjaError(m_name + ", line " + std::to_string(s.line) + ": " + e.message);
            }
            break;
        }
        case Stmt::K::CallBlock: {
            // caller() renders this block's body; its parameters bind like a macro's.
            const Stmt* self = &s;
            std::weak_ptr<Scope> weak = scope;
            auto fn = std::make_shared<Function>();
            fn->name = "caller";
            fn->call = [this, self, weak](const Args& args) -> Value {
                ScopePtr parent = weak.lock();
                if (!parent)
                    throw EvalError{"caller() used outside its {% call %} block"};
                auto local = std::make_shared<Scope>();
                local->parent = parent;
                for (size_t k = 0; k < self->params.size(); ++k) {
                    const Value* a = args.get(k, self->params[k]);
                    if (a)
                        local->set(self->params[k], *a);
                    else if (self->defaults[k])
                        local->set(self->params[k], eval(*self->defaults[k], local));
                    else
                        local->set(self->params[k], Value());
                }
                std::string text;
                render(self->body, local, text);
                return Value(std::move(text));
            };
            const Value saved = m_caller;
            m_caller = Value(fn);
            Value v;
            try {
                v = eval(*s.expr, scope);
            } catch (...) {
                m_caller = saved;
                throw;
            }
            m_caller = saved;
            append(out, toOutput(v));
            break;
        }
        }
    }
    return Flow::Normal;
}

Interpreter::Flow Interpreter::renderFor(const Stmt& s, const ScopePtr& scope, std::string& out)
{
    const Value seq = eval(*s.expr, scope);
    std::vector<Value> candidates;
    if (seq.isArray()) {
        candidates = seq.arr().items;
    } else if (seq.isObject() && !seq.obj().isNamespace) {
        for (const auto& [k, v] : seq.obj().items)
            candidates.emplace_back(k);
    } else if (seq.isString()) {
        for (auto& c : text::characters(seq.s()))
            candidates.emplace_back(std::move(c));
    } else if (!seq.isUndefined()) {
        throw JinjaError(m_name + ", line " + std::to_string(s.line) + ": cannot loop over a " + seq.typeName());
    }
    auto loopScope = std::make_shared<Scope>();
    loopScope->parent = scope;
    std::vector<Value> items;
    if (s.cond) {
        for (Value& v : candidates) {
            countIterations(1);
            auto probe = std::make_shared<Scope>();
            probe->parent = loopScope;
            assign(*s.target, v, probe);
            if (truthy(eval(*s.cond, probe)))
                items.push_back(std::move(v));
        }
    } else {
        items = std::move(candidates);
    }
    const int64_t n = int64_t(items.size());
    for (int64_t k = 0; k < n; ++k) {
        countIterations(1);
        Value loop = makeObject();
        Object& o = loop.obj();
        o.items.reserve(9);
        o.items.emplace_back("index", Value(k + 1));
        o.items.emplace_back("index0", Value(k));
        o.items.emplace_back("revindex", Value(n - k));
        o.items.emplace_back("revindex0", Value(n - k - 1));
        o.items.emplace_back("first", Value(k == 0));
        o.items.emplace_back("last", Value(k == n - 1));
        o.items.emplace_back("length", Value(n));
        o.items.emplace_back("previtem", k > 0 ? items[size_t(k - 1)] : Value());
        o.items.emplace_back("nextitem", k + 1 < n ? items[size_t(k + 1)] : Value());
        loopScope->set("loop", std::move(loop));
        assign(*s.target, items[size_t(k)], loopScope);
        if (render(s.body, loopScope, out) == Flow::Break)
            break;
    }
    if (items.empty())
        render(s.orelse, loopScope, out);
    return Flow::Normal;
}

void Interpreter::assign(const Expr& target, Value v, const ScopePtr& scope)
{
    if (target.kind == Expr::K::Name) {
        scope->set(target.name, std::move(v));
        return;
    }
    const std::string where = m_name + ", line " + std::to_string(target.line) + ": ";
    if (target.kind == Expr::K::Tuple) {
        if (!v.isArray())
            throw JinjaError(where + "cannot unpack a " + std::string(v.typeName()) + " into " + std::to_string(target.kids.size()) + " names");
        const auto& items = v.arr().items;
        if (items.size() != target.kids.size())
            throw JinjaError(where + "expected " + std::to_string(target.kids.size()) + " values to unpack, got " + std::to_string(items.size()));
        for (size_t k = 0; k < items.size(); ++k)
            assign(*target.kids[k], items[k], scope);
        return;
    }
    if (target.kind == Expr::K::Attr) {
        const Value obj = eval(*target.kids[0], scope);
        if (!obj.isObject() || !obj.obj().isNamespace)
            throw JinjaError(where + "cannot set attribute '" + target.name + "' of a " + obj.typeName() + " (only of a namespace())");
        obj.obj().set(target.name, std::move(v));
        return;
    }
    throw JinjaError(where + "cannot assign to this expression");
}

Value Interpreter::defineMacro(const Stmt& s, const ScopePtr& scope)
{
    auto fn = std::make_shared<Function>();
    fn->name = s.name;
    const Stmt* self = &s;
    std::weak_ptr<Scope> weak = scope; // weak: the scope holds this function
    fn->call = [this, self, weak](const Args& args) -> Value {
        ScopePtr parent = weak.lock();
        if (!parent)
            throw EvalError{"macro '" + self->name + "' called outside the scope it was defined in"};
        if (m_depth >= m_limits.maxDepth)
            limitError("macro calls nested deeper than " + std::to_string(m_limits.maxDepth) + " (the recursion limit)");
        auto local = std::make_shared<Scope>();
        local->parent = parent;
        if (!m_caller.isUndefined())
            local->set("caller", m_caller);
        std::vector<Value> varargs;
        for (size_t k = args.pos.size(); k-- > self->params.size();)
            varargs.insert(varargs.begin(), args.pos[k]);
        Value kwargs = makeObject();
        for (const auto& [key, value] : args.kw) {
            bool known = false;
            for (const auto& p : self->params)
                known = known || p == key;
            if (!known)
                kwargs.obj().set(key, value);
        }
        for (size_t k = 0; k < self->params.size(); ++k) {
            const Value* a = args.get(k, self->params[k]);
            local->set(self->params[k], a ? *a : Value());
        }
        for (size_t k = 0; k < self->params.size(); ++k)
            if (!args.get(k, self->params[k]) && self->defaults[k])
                local->set(self->params[k], eval(*self->defaults[k], local));
        local->set("varargs", makeArray(std::move(varargs)));
        local->set("kwargs", kwargs);
        ++m_depth;
        std::string text;
        try {
            render(self->body, local, text);
        } catch (...) {
            --m_depth;
            throw;
        }
        --m_depth;
        return Value(std::move(text));
    };
    return Value(fn);
}

Args Interpreter::arguments(const Expr& e, const ScopePtr& scope, size_t first)
{
    Args a;
    for (size_t k = first; k < e.kids.size(); ++k) {
        const std::string& kw = e.argNames[k - first];
        Value v = eval(*e.kids[k], scope);
        if (kw.empty())
            a.pos.push_back(std::move(v));
        else
            a.kw.emplace_back(kw, std::move(v));
    }
    return a;
}

Value Interpreter::eval(const Expr& e, const ScopePtr& scope)
{
    try {
        return evalInner(e, scope);
    } catch (const EvalError& err) {
        throw JinjaError(m_name + ", line " + std::to_string(e.line) + ": " + err.message);
    }
}

Value Interpreter::call(const Expr& e, const ScopePtr& scope)
{
    const Expr& callee = *e.kids[0];
    if (callee.kind == Expr::K::Attr) {
        const Value self = eval(*callee.kids[0], scope);
        if (self.isObject()) {
            const Value* member = self.obj().find(callee.name);
            if (member && member->isFunction())
                return member->fn().call(arguments(e, scope));
        }
        Value out;
        if (callMethod(*this, self, callee.name, arguments(e, scope), out))
            return out;
        throw EvalError{"unknown method '" + callee.name + "' of a " + self.typeName()};
    }
    const Value fn = eval(callee, scope);
    if (!fn.isFunction()) {
        const std::string what = callee.kind == Expr::K::Name ? "'" + callee.name + "'" : "this expression";
        throw EvalError{what + " is not a function (" + fn.typeName() + ")"};
    }
    return fn.fn().call(arguments(e, scope));
}

Value Interpreter::evalInner(const Expr& e, const ScopePtr& scope)
{
    switch (e.kind) {
    case Expr::K::Literal: return e.literal;
    case Expr::K::Name: {
        const Value* v = scope->find(e.name);
        return v ? *v : Value();
    }
    case Expr::K::List:
    case Expr::K::Tuple: {
        std::vector<Value> items;
        for (const auto& k : e.kids)
            items.push_back(eval(*k, scope));
        return makeArray(std::move(items));
    }
    case Expr::K::Dict: {
        Value d = makeObject();
        for (size_t k = 0; k + 1 < e.kids.size(); k += 2) {
            const Value key = eval(*e.kids[k], scope);
            if (!key.isString())
                throw EvalError{std::string("dict keys must be strings, got a ") + key.typeName()};
            d.obj().set(key.s(), eval(*e.kids[k + 1], scope));
        }
        return d;
    }
    case Expr::K::Unary: {
        const Value v = eval(*e.kids[0], scope);
        if (e.name == "not")
            return Value(!truthy(v));
        if (v.isInt())
            return e.name != "-" ? Value(v.i())
                   : v.i() == std::numeric_limits<int64_t>::min() ? Value(-double(v.i())) : Value(-v.i());
        if (v.isFloat())
            return Value(e.name == "-" ? -v.f() : v.f());
        if (v.isBool())
            return Value(int64_t(e.name == "-" ? -int(v.b()) : int(v.b())));
        throw EvalError{"unary '" + e.name + "' on a " + v.typeName()};
    }
    case Expr::K::Binary: return binary(e, scope);
    case Expr::K::Ternary: {
        if (truthy(eval(*e.kids[1], scope)))
            return eval(*e.kids[0], scope);
        return e.kids[2] ? eval(*e.kids[2], scope) : Value();
    }
    case Expr::K::Attr: {
        const Value obj = eval(*e.kids[0], scope);
        if (obj.isObject()) {
            const Value* v = obj.obj().find(e.name);
            return v ? *v : Value();
        }
        return Value(); // attributes of lists, strings, none and undefined are undefined
    }
    case Expr::K::Index: {
        const Value obj = eval(*e.kids[0], scope);
        const Value key = eval(*e.kids[1], scope);
        if (obj.isObject()) {
            if (!key.isString())
                return Value();
            const Value* v = obj.obj().find(key.s());
            return v ? *v : Value();
        }
        if ((obj.isArray() || obj.isString()) && (key.isInt() || key.isBool())) {
            int64_t k = key.isInt() ? key.i() : int64_t(key.b());
            if (obj.isArray()) {
                const auto& items = obj.arr().items;
                if (k < 0)
                    k += int64_t(items.size());
                return k >= 0 && k < int64_t(items.size()) ? items[size_t(k)] : Value();
            }
            const auto cps = text::codepoints(obj.s());
            if (k < 0)
                k += int64_t(cps.size());
            return k >= 0 && k < int64_t(cps.size()) ? Value(text::fromCodepoints(cps, size_t(k), size_t(k) + 1)) : Value();
        }
        if (obj.isUndefined() || obj.isNone() || obj.isArray() || obj.isString())
            return Value();
        throw EvalError{std::string("cannot index a ") + obj.typeName()};
    }
    case Expr::K::Slice: {
        const Value obj = eval(*e.kids[0], scope);
        int64_t part[3] = {0, 0, 1};
        bool given[3] = {false, false, false};
        for (int k = 0; k < 3; ++k)
            if (e.kids[size_t(k) + 1]) {
                const Value v = eval(*e.kids[size_t(k) + 1], scope);
                if (v.isNone() || v.isUndefined())
                    continue;
                if (!v.isInt())
                    throw EvalError{std::string("slice indices must be integers, got a ") + v.typeName()};
                part[k] = v.i();
                given[k] = true;
            }
        if (part[2] == 0)
            throw EvalError{"slice step cannot be zero"};
        std::vector<uint32_t> cps;
        int64_t n;
        if (obj.isArray())
            n = int64_t(obj.arr().items.size());
        else if (obj.isString())
            n = int64_t((cps = text::codepoints(obj.s())).size());
        else
            throw EvalError{std::string("cannot slice a ") + obj.typeName()};
        const int64_t step = part[2];
        int64_t start, stop;
        if (step > 0) {
            start = !given[0] ? 0 : part[0] < 0 ? std::max<int64_t>(n + part[0], 0) : std::min(part[0], n);
            stop = !given[1] ? n : part[1] < 0 ? std::max<int64_t>(n + part[1], 0) : std::min(part[1], n);
        } else {
            start = !given[0] ? n - 1 : part[0] < 0 ? std::max<int64_t>(n + part[0], -1) : std::min(part[0], n - 1);
            stop = !given[1] ? -1 : part[1] < 0 ? std::max<int64_t>(n + part[1], -1) : std::min(part[1], n - 1);
        }
        std::vector<Value> items;
        std::string s;
        for (int64_t k = start; step > 0 ? k < stop : k > stop; k += step) {
            if (obj.isArray())
                items.push_back(obj.arr().items[size_t(k)]);
            else
                s += text::fromCodepoints(cps, size_t(k), size_t(k) + 1);
        }
        return obj.isArray() ? makeArray(std::move(items)) : Value(std::move(s));
    }
    case Expr::K::Call: return call(e, scope);
    case Expr::K::Filter: {
        const Value operand = eval(*e.kids[0], scope);
        return applyFilter(*this, e.name, operand, arguments(e, scope));
    }
    case Expr::K::Test: {
        if (!hasTest(e.name))
            throw EvalError{"unknown test '" + e.name + "'"};
        const Value operand = eval(*e.kids[0], scope);
        const bool r = applyTest(e.name, operand, arguments(e, scope));
        return Value(e.negate ? !r : r);
    }
    }
    return Value();
}

namespace {

// A value as "+" / "~" concatenate it: lists as their items joined by "," (what the reference's
// JavaScript does), none as Python's "None", everything else as printed.
std::string concatText(const Value& v)
{
    if (v.isNone())
        return "None";
    if (!v.isArray())
        return toOutput(v);
    std::string out;
    for (size_t k = 0; k < v.arr().items.size(); ++k)
        out += (k ? "," : "") + toOutput(v.arr().items[k]);
    return out;
}

int64_t floorDiv(int64_t a, int64_t b)
{
    int64_t q = a / b;
    if ((a % b != 0) && ((a < 0) != (b < 0)))
        --q;
    return q;
}

} // namespace

Value Interpreter::binary(const Expr& e, const ScopePtr& scope)
{
    const std::string& op = e.name;
    const Value a = eval(*e.kids[0], scope);
    if (op == "and")
        return truthy(a) ? eval(*e.kids[1], scope) : a;
    if (op == "or")
        return truthy(a) ? a : eval(*e.kids[1], scope);
    const Value b = eval(*e.kids[1], scope);
    if (op == "==")
        return Value(equals(a, b));
    if (op == "!=")
        return Value(!equals(a, b));
    if (op == "in" || op == "not in") {
        bool found;
        if (b.isArray()) {
            found = false;
            for (const Value& x : b.arr().items)
                found = found || equals(a, x);
        } else if (b.isString()) {
            if (!a.isString())
                throw EvalError{std::string("'in <string>' needs a string on the left, got a ") + a.typeName()};
            found = b.s().find(a.s()) != std::string::npos;
        } else if (b.isObject()) {
            found = a.isString() && b.obj().find(a.s());
        } else if (b.isUndefined()) {
            found = false;
        } else {
            throw EvalError{std::string("'in' needs a list, string or dict on the right, got a ") + b.typeName()};
        }
        return Value(op == "in" ? found : !found);
    }
    if (op == "~") { // Python's str(): none concatenates as "None"
        std::string s = concatText(a) + concatText(b);
        checkSize(s.size());
        return Value(std::move(s));
    }
    const bool an = a.isNumber() || a.isBool(), bn = b.isNumber() || b.isBool();
    if (an && bn) {
        const bool ints = !a.isFloat() && !b.isFloat();
        const auto ai = [&] { return a.isBool() ? int64_t(a.b()) : a.i(); };
        const auto bi = [&] { return b.isBool() ? int64_t(b.b()) : b.i(); };
        const double x = a.num(), y = b.num();
        // Integers that would overflow 64 bits go on as floats (Python's would grow; JavaScript's are doubles).
        int64_t r = 0;
        if (op == "+") return ints && !__builtin_add_overflow(ai(), bi(), &r) ? Value(r) : Value(x + y);
        if (op == "-") return ints && !__builtin_sub_overflow(ai(), bi(), &r) ? Value(r) : Value(x - y);
        if (op == "*") return ints && !__builtin_mul_overflow(ai(), bi(), &r) ? Value(r) : Value(x * y);
        if (op == "/") {
            if (y == 0)
                throw EvalError{"division by zero"};
            return Value(x / y);
        }
        if (op == "//" || op == "%") {
            if (y == 0)
                throw EvalError{op == "%" ? "modulo by zero" : "division by zero"};
            if (ints && !(ai() == std::numeric_limits<int64_t>::min() && bi() == -1))
                return op == "//" ? Value(floorDiv(ai(), bi())) : Value(ai() - floorDiv(ai(), bi()) * bi());
            return op == "//" ? Value(std::floor(x / y)) : Value(x - std::floor(x / y) * y);
        }
        if (op == "**") {
            const double r = std::pow(x, y);
            if (!std::isfinite(r))
                throw EvalError{"'**' result is not a finite number"};
            return ints && bi() >= 0 ? Value(int64_t(r)) : Value(r);
        }
        if (op == "<") return Value(x < y);
        if (op == ">") return Value(x > y);
        if (op == "<=") return Value(x <= y);
        if (op == ">=") return Value(x >= y);
    }
    if (a.isString() && b.isString()) {
        if (op == "+") {
            checkSize(a.s().size() + b.s().size());
            return Value(a.s() + b.s());
        }
        if (op == "<") return Value(a.s() < b.s());
        if (op == ">") return Value(a.s() > b.s());
        if (op == "<=") return Value(a.s() <= b.s());
        if (op == ">=") return Value(a.s() >= b.s());
    }
    if (op == "+" && (a.isString() || b.isString()) && !a.isUndefined() && !b.isUndefined() && !a.isNone()
        && !b.isNone()) {
        std::string s = concatText(a) + concatText(b); // "a" + 1, "a" + [...]: the reference concatenates
        checkSize(s.size());
        return Value(std::move(s));
    }
    if (op == "+" && a.isArray() && b.isArray()) {
        std::vector<Value> items = a.arr().items;
        items.insert(items.end(), b.arr().items.begin(), b.arr().items.end());
        return makeArray(std::move(items));
    }
    if (op == "*" && (a.isString() || a.isArray()) && b.isInt()) {
        const int64_t n = std::max<int64_t>(b.i(), 0);
        if (a.isString()) {
            checkSize(size_t(n) * a.s().size());
            std::string s;
            for (int64_t k = 0; k < n; ++k)
                s += a.s();
            return Value(std::move(s));
        }
        countIterations(n * int64_t(a.arr().items.size()));
        std::vector<Value> items;
        for (int64_t k = 0; k < n; ++k)
            items.insert(items.end(), a.arr().items.begin(), a.arr().items.end());
        return makeArray(std::move(items));
    }
    throw EvalError{"'" + op + "' between a " + a.typeName() + " and a " + b.typeName()};
}

Template::Template(const std::string& source, std::string name) : m_name(std::move(name))
{
    m_body = parse(tokenize(source, m_name), m_name);
}

std::string Template::render(const Value& context, const Limits& limits) const
{
    Interpreter in(m_name, limits);
    try {
        return in.run(m_body, context);
    } catch (const EvalError& e) {
        throw JinjaError(m_name + ": " + e.message);
    }
}

std::string Template::render(const nlohmann::ordered_json& context, const Limits& limits) const
{
    return render(fromJson(context), limits);
}

} // namespace logitscope::jinja
