// Jinja parser: a recursive-descent parser with the operator precedence of @huggingface/jinja (which
// follows Jinja's: filters bind tightest, then "is" tests, "**", "* / // %", "+ - ~", comparisons and
// "in", "not", "and", "or", then "a if b else c"). Nesting is bounded so hostile input cannot exhaust the stack.
// Not an error-recovering parser: the first error is thrown.
#include "tokenizer/jinja/parser.h"

#include <algorithm>
#include <charconv>
#include <limits>
#include <set>

namespace logitscope::jinja {

namespace {

constexpr int kMaxNesting = 200;
constexpr int kMaxTreeDepth = 400;

class Parser {
public:
    Parser(const std::vector<Token>& t, const std::string& name) : m_t(t), m_name(name) {}

    Body program()
    {
        Body body = block({});
        if (peek().type != Tok::End)
            fail("unexpected '{% " + peek(1).text + " %}'");
        return body;
    }

private:
    // ---- helpers
    const Token& peek(size_t k = 0) const { return m_t[std::min(m_pos + k, m_t.size() - 1)]; }
    const Token& next() { return m_t[std::min(m_pos++, m_t.size() - 1)]; }
    bool isOp(const char* op, size_t k = 0) const { return peek(k).type == Tok::Op && peek(k).text == op; }
    bool isName(const char* n, size_t k = 0) const { return peek(k).type == Tok::Name && peek(k).text == n; }
    [[noreturn]] void fail(const std::string& what) const
    {
        throw JinjaError(m_name + ", line " + std::to_string(peek().line) + ": " + what);
    }
    std::string describe(const Token& t) const
    {
        switch (t.type) {
        case Tok::End: return "the end of the template";
        case Tok::Text: return "text";
        case Tok::CloseStmt: return "'%}'";
        case Tok::CloseExpr: return "'}}'";
        case Tok::String: return "a string";
        default: return "'" + t.text + "'";
        }
    }
    void expectOp(const char* op)
    {
        if (!isOp(op))
            fail(std::string("expected '") + op + "', found " + describe(peek()));
        ++m_pos;
    }
    std::string expectName(const char* what)
    {
        if (peek().type != Tok::Name)
            fail(std::string("expected ") + what + ", found " + describe(peek()));
        return next().text;
    }
    void expectClose()
    {
        if (peek().type != Tok::CloseStmt)
            fail("expected '%}', found " + describe(peek()));
        ++m_pos;
    }
    ExprPtr make(Expr::K k, int line)
    {
        auto e = std::make_unique<Expr>();
        e->kind = k;
        e->line = line;
        return e;
    }
    // Sets e's subtree height from its children's and refuses trees deep enough to exhaust the stack.
    ExprPtr seal(ExprPtr e)
    {
        if (!e)
            return e;
        int d = 0;
        for (const auto& k : e->kids)
            if (k)
                d = std::max(d, k->depth);
        e->depth = d + 1;
        if (e->depth > kMaxTreeDepth)
            fail("expression nested deeper than " + std::to_string(kMaxTreeDepth) + " levels");
        return e;
    }
    struct Depth {
        Parser& p;
        explicit Depth(Parser& parser) : p(parser)
        {
            if (++p.m_depth > kMaxNesting)
                p.fail("nesting deeper than " + std::to_string(kMaxNesting) + " levels");
        }
        ~Depth() { --p.m_depth; }
    };

    // ---- statements
    // Parses until one of the end tags (not consumed: the position is left on its "{%").
    Body block(const std::set<std::string>& ends)
    {
        Depth d(*this);
        Body body;
        while (true) {
            const Token& t = peek();
            if (t.type == Tok::End) {
                if (!ends.empty())
                    fail("missing {% " + *ends.rbegin() + " %}");
                return body;
            }
            if (t.type == Tok::Text) {
                auto s = std::make_unique<Stmt>();
                s->kind = Stmt::K::Text;
                s->line = t.line;
                s->text = t.text;
                body.push_back(std::move(s));
                ++m_pos;
            } else if (t.type == Tok::OpenExpr) {
                ++m_pos;
                auto s = std::make_unique<Stmt>();
                s->kind = Stmt::K::Output;
                s->line = t.line;
                s->expr = expression();
                if (peek().type != Tok::CloseExpr)
                    fail("expected '}}', found " + describe(peek()));
                ++m_pos;
                body.push_back(std::move(s));
            } else if (t.type == Tok::OpenStmt) {
                if (peek(1).type == Tok::Name && ends.count(peek(1).text))
                    return body;
                if (peek(1).type == Tok::Name && (peek(1).text == "generation" || peek(1).text == "endgeneration")) {
                    m_pos += 2;
                    expectClose();
                    continue;
                }
                ++m_pos;
                body.push_back(statement());
            } else {
                fail("unexpected " + describe(t));
            }
        }
    }

    void endTag(const char* name)
    {
        ++m_pos; // "{%"
        if (!isName(name))
            fail(std::string("expected {% ") + name + " %}");
        ++m_pos;
        expectClose();
    }

    StmtPtr statement()
    {
        const Token& kw = peek();
        if (kw.type != Tok::Name)
            fail("expected a statement name after '{%', found " + describe(kw));
        const std::string word = next().text;
        auto s = std::make_unique<Stmt>();
        s->line = kw.line;
        if (word == "if") {
            s->kind = Stmt::K::If;
            ifRest(*s);
            endTag("endif");
        } else if (word == "for") {
            forStatement(*s);
        } else if (word == "set") {
            setStatement(*s);
        } else if (word == "macro") {
            s->kind = Stmt::K::Macro;
            s->name = expectName("a macro name");
            parameters(*s);
            expectClose();
            s->body = block({"endmacro"});
            endTag("endmacro");
        } else if (word == "call") {
            s->kind = Stmt::K::CallBlock;
            if (isOp("("))
                parameters(*s);
            s->expr = expression();
            if (s->expr->kind != Expr::K::Call)
                fail("expected a macro call after {% call %}");
            expectClose();
            s->body = block({"endcall"});
            endTag("endcall");
        } else if (word == "filter") {
            s->kind = Stmt::K::FilterBlock;
            auto f = make(Expr::K::Filter, kw.line);
            f->name = expectName("a filter name");
            f->kids.push_back(nullptr);
            if (isOp("("))
                arguments(*f);
            s->expr = std::move(f);
            expectClose();
            s->body = block({"endfilter"});
            endTag("endfilter");
        } else if (word == "break" || word == "continue") {
            s->kind = word == "break" ? Stmt::K::Break : Stmt::K::Continue;
            expectClose();
        } else {
            --m_pos;
            if (word.rfind("end", 0) == 0 || word == "elif" || word == "else")
                fail("unexpected {% " + word + " %}");
            fail("unsupported statement {% " + word + " %}");
        }
        return s;
    }

    void ifRest(Stmt& s)
    {
        s.expr = expression();
        expectClose();
        s.body = block({"elif", "else", "endif"});
        if (isName("elif", 1)) {
            m_pos += 2;
            auto e = std::make_unique<Stmt>();
            e->kind = Stmt::K::If;
            e->line = peek().line;
            ifRest(*e);
            s.orelse.push_back(std::move(e));
        } else if (isName("else", 1)) {
            m_pos += 2;
            expectClose();
            s.orelse = block({"endif"});
        }
    }

    ExprPtr targetList()
    {
        const int line = peek().line;
        auto first = make(Expr::K::Name, line);
        first->name = expectName("a loop variable");
        if (!isOp(","))
            return first;
        auto tuple = make(Expr::K::Tuple, line);
        tuple->kids.push_back(std::move(first));
        while (isOp(",")) {
            ++m_pos;
            auto n = make(Expr::K::Name, peek().line);
            n->name = expectName("a loop variable");
            tuple->kids.push_back(std::move(n));
        }
        return tuple;
    }

    void forStatement(Stmt& s)
    {
        s.kind = Stmt::K::For;
        s.target = targetList();
        if (!isName("in"))
            fail("expected 'in' after the loop variable, found " + describe(peek()));
        ++m_pos;
        s.expr = orExpr();
        if (isName("if")) {
            ++m_pos;
            s.cond = orExpr();
        }
        if (isName("recursive"))
            fail("unsupported recursive for loop");
        expectClose();
        s.body = block({"else", "endfor"});
        if (isName("else", 1)) {
            m_pos += 2;
            expectClose();
            s.orelse = block({"endfor"});
        }
        endTag("endfor");
    }

    void setStatement(Stmt& s)
    {
        const int line = peek().line;
        ExprPtr target;
        auto n = make(Expr::K::Name, line);
        n->name = expectName("a variable name");
        if (isOp(".")) {
            ++m_pos;
            auto a = make(Expr::K::Attr, line);
            a->name = expectName("an attribute name");
            a->kids.push_back(std::move(n));
            target = std::move(a);
        } else if (isOp(",")) {
            auto tuple = make(Expr::K::Tuple, line);
            tuple->kids.push_back(std::move(n));
            while (isOp(",")) {
                ++m_pos;
                auto m = make(Expr::K::Name, peek().line);
                m->name = expectName("a variable name");
                tuple->kids.push_back(std::move(m));
            }
            target = std::move(tuple);
        } else {
            target = std::move(n);
        }
        s.target = std::move(target);
        if (isOp("=")) {
            ++m_pos;
            s.kind = Stmt::K::Set;
            s.expr = tupleOrExpression();
            expectClose();
            return;
        }
        if (s.target->kind != Expr::K::Name)
            fail("a {% set %} block needs a plain variable name");
        s.kind = Stmt::K::SetBlock;
        if (isOp("|")) { // {% set x | filter %}...{% endset %}
            ++m_pos;
            auto f = make(Expr::K::Filter, peek().line);
            f->name = expectName("a filter name");
            f->kids.push_back(nullptr);
            if (isOp("("))
                arguments(*f);
            s.expr = std::move(f);
        }
        expectClose();
        s.body = block({"endset"});
        endTag("endset");
    }

    void parameters(Stmt& s)
    {
        expectOp("(");
        while (!isOp(")")) {
            s.params.push_back(expectName("a parameter name"));
            if (isOp("=")) {
                ++m_pos;
                s.defaults.push_back(expression());
            } else {
                s.defaults.push_back(nullptr);
            }
            if (!isOp(","))
                break;
            ++m_pos;
        }
        expectOp(")");
    }

    // ---- expressions
    ExprPtr tupleOrExpression()
    {
        const int line = peek().line;
        ExprPtr first = expression();
        if (!isOp(","))
            return first;
        auto tuple = make(Expr::K::Tuple, line);
        tuple->kids.push_back(std::move(first));
        while (isOp(",")) {
            ++m_pos;
            if (isOp(")") || peek().type == Tok::CloseStmt)
                break;
            tuple->kids.push_back(expression());
        }
        return seal(std::move(tuple));
    }

    ExprPtr expression()
    {
        Depth d(*this);
        const int line = peek().line;
        ExprPtr value = orExpr();
        if (!isName("if"))
            return value;
        ++m_pos;
        auto t = make(Expr::K::Ternary, line);
        ExprPtr cond = orExpr();
        ExprPtr otherwise;
        if (isName("else")) {
            ++m_pos;
            otherwise = expression();
        }
        t->kids.push_back(std::move(value));
        t->kids.push_back(std::move(cond));
        t->kids.push_back(std::move(otherwise));
        return seal(std::move(t));
    }

    ExprPtr binary(const std::string& op, ExprPtr a, ExprPtr b, int line)
    {
        auto e = make(Expr::K::Binary, line);
        e->name = op;
        e->kids.push_back(std::move(a));
        e->kids.push_back(std::move(b));
        return seal(std::move(e));
    }

    ExprPtr orExpr()
    {
        ExprPtr left = andExpr();
        while (isName("or")) {
            const int line = next().line;
            left = binary("or", std::move(left), andExpr(), line);
        }
        return seal(std::move(left));
    }

    ExprPtr andExpr()
    {
        ExprPtr left = notExpr();
        while (isName("and")) {
            const int line = next().line;
            left = binary("and", std::move(left), notExpr(), line);
        }
        return seal(std::move(left));
    }

    ExprPtr notExpr()
    {
        if (isName("not")) {
            Depth d(*this);
            auto e = make(Expr::K::Unary, next().line);
            e->name = "not";
            e->kids.push_back(notExpr());
            return seal(std::move(e));
        }
        return compare();
    }

    ExprPtr compare()
    {
        ExprPtr left = additive();
        while (true) {
            const int line = peek().line;
            std::string op;
            if (isName("not") && isName("in", 1)) {
                m_pos += 2;
                op = "not in";
            } else if (isName("in")) {
                ++m_pos;
                op = "in";
            } else if (peek().type == Tok::Op
                && (peek().text == "==" || peek().text == "!=" || peek().text == "<" || peek().text == ">"
                    || peek().text == "<=" || peek().text == ">=")) {
                op = next().text;
            } else {
                return seal(std::move(left));
            }
            left = binary(op, std::move(left), additive(), line);
        }
    }

    ExprPtr additive()
    {
        ExprPtr left = multiplicative();
        while (isOp("+") || isOp("-") || isOp("~")) {
            const Token& t = next();
            left = binary(t.text, std::move(left), multiplicative(), t.line);
        }
        return seal(std::move(left));
    }

    ExprPtr multiplicative()
    {
        ExprPtr left = power();
        while (isOp("*") || isOp("/") || isOp("//") || isOp("%")) {
            const Token& t = next();
            left = binary(t.text, std::move(left), power(), t.line);
        }
        return seal(std::move(left));
    }

    ExprPtr power()
    {
        ExprPtr left = test();
        while (isOp("**")) {
            const Token& t = next();
            left = binary("**", std::move(left), test(), t.line);
        }
        return seal(std::move(left));
    }

    ExprPtr test()
    {
        ExprPtr operand = filter();
        while (isName("is")) {
            auto t = make(Expr::K::Test, next().line);
            if (isName("not")) {
                ++m_pos;
                t->negate = true;
            }
            t->name = expectName("a test name");
            t->kids.push_back(std::move(operand));
            if (isOp("(")) {
                arguments(*t);
            } else if (startsTestArgument()) {
                t->kids.push_back(postfix());
                t->argNames.emplace_back();
            }
            operand = seal(std::move(t));
        }
        return seal(std::move(operand));
    }

    bool startsTestArgument() const
    {
        const Token& t = peek();
        if (t.type == Tok::String || t.type == Tok::Int || t.type == Tok::Float)
            return true;
        static const std::set<std::string> stop = {"and", "or", "else", "if", "not", "in", "is", "recursive"};
        return t.type == Tok::Name && !stop.count(t.text);
    }

    ExprPtr filter()
    {
        ExprPtr operand = unary();
        while (isOp("|")) {
            auto f = make(Expr::K::Filter, next().line);
            f->name = expectName("a filter name");
            f->kids.push_back(std::move(operand));
            if (isOp("("))
                arguments(*f);
            operand = seal(std::move(f));
        }
        return seal(std::move(operand));
    }

    ExprPtr unary()
    {
        if (isOp("-") || isOp("+")) {
            Depth d(*this);
            auto e = make(Expr::K::Unary, peek().line);
            e->name = next().text;
            e->kids.push_back(unary());
            return seal(std::move(e));
        }
        return postfix();
    }

    // Arguments "(a, b, name=c)" into e.kids / e.argNames.
    void arguments(Expr& e)
    {
        expectOp("(");
        while (!isOp(")")) {
            if (peek().type == Tok::Name && isOp("=", 1)) {
                e.argNames.push_back(next().text);
                ++m_pos;
            } else {
                if (!e.argNames.empty() && !e.argNames.back().empty())
                    fail("a positional argument follows a keyword argument");
                e.argNames.emplace_back();
            }
            e.kids.push_back(expression());
            if (!isOp(","))
                break;
            ++m_pos;
        }
        expectOp(")");
    }

    ExprPtr postfix()
    {
        ExprPtr e = primary();
        while (true) {
            const int line = peek().line;
            if (isOp(".")) {
                ++m_pos;
                if (peek().type == Tok::Int) { // x.0 is x[0]
                    auto idx = make(Expr::K::Index, line);
                    auto lit = make(Expr::K::Literal, line);
                    const std::string digits = next().text;
                    int64_t index = std::numeric_limits<int64_t>::max(); // too long to be an index: nothing there
                    std::from_chars(digits.data(), digits.data() + digits.size(), index);
                    lit->literal = Value(index);
                    idx->kids.push_back(std::move(e));
                    idx->kids.push_back(std::move(lit));
                    e = seal(std::move(idx));
                    continue;
                }
                auto a = make(Expr::K::Attr, line);
                a->name = expectName("an attribute name after '.'");
                a->kids.push_back(std::move(e));
                e = seal(std::move(a));
            } else if (isOp("[")) {
                ++m_pos;
                ExprPtr parts[3];
                int colons = 0;
                while (!isOp("]")) {
                    if (isOp(":")) {
                        if (++colons > 2)
                            fail("a slice takes at most three parts");
                        ++m_pos;
                        continue;
                    }
                    if (parts[colons])
                        fail("expected ']' or ':' in a subscript, found " + describe(peek()));
                    parts[colons] = expression();
                }
                ++m_pos;
                if (colons == 0) {
                    if (!parts[0])
                        fail("empty subscript '[]'");
                    auto idx = make(Expr::K::Index, line);
                    idx->kids.push_back(std::move(e));
                    idx->kids.push_back(std::move(parts[0]));
                    e = seal(std::move(idx));
                } else {
                    auto sl = make(Expr::K::Slice, line);
                    sl->kids.push_back(std::move(e));
                    for (auto& p : parts)
                        sl->kids.push_back(std::move(p));
                    e = seal(std::move(sl));
                }
            } else if (isOp("(")) {
                auto c = make(Expr::K::Call, line);
                c->kids.push_back(std::move(e));
                arguments(*c);
                e = seal(std::move(c));
            } else {
                return seal(std::move(e));
            }
        }
    }

    ExprPtr primary()
    {
        Depth d(*this);
        const Token& t = peek();
        const int line = t.line;
        switch (t.type) {
        case Tok::String: {
            auto e = make(Expr::K::Literal, line);
            std::string s;
            while (peek().type == Tok::String) // adjacent literals concatenate
                s += next().text;
            e->literal = Value(std::move(s));
            return seal(std::move(e));
        }
        case Tok::Int: {
            auto e = make(Expr::K::Literal, line);
            try {
                e->literal = Value(int64_t(std::stoll(t.text)));
            } catch (const std::exception&) {
                e->literal = Value(std::stod(t.text));
            }
            ++m_pos;
            return seal(std::move(e));
        }
        case Tok::Float: {
            auto e = make(Expr::K::Literal, line);
            e->literal = Value(std::stod(t.text));
            ++m_pos;
            return seal(std::move(e));
        }
        case Tok::Name: {
            ++m_pos;
            auto e = make(Expr::K::Literal, line);
            if (t.text == "true" || t.text == "True")
                e->literal = Value(true);
            else if (t.text == "false" || t.text == "False")
                e->literal = Value(false);
            else if (t.text == "none" || t.text == "None")
                e->literal = Value(None{});
            else {
                e->kind = Expr::K::Name;
                e->name = t.text;
            }
            return seal(std::move(e));
        }
        case Tok::Op:
            if (t.text == "(") {
                ++m_pos;
                if (isOp(")")) {
                    ++m_pos;
                    return make(Expr::K::Tuple, line);
                }
                ExprPtr inner = tupleOrExpression();
                expectOp(")");
                return seal(std::move(inner));
            }
            if (t.text == "[") {
                ++m_pos;
                auto e = make(Expr::K::List, line);
                while (!isOp("]")) {
                    e->kids.push_back(expression());
                    if (!isOp(","))
                        break;
                    ++m_pos;
                }
                expectOp("]");
                return seal(std::move(e));
            }
            if (t.text == "{") {
                ++m_pos;
                auto e = make(Expr::K::Dict, line);
                while (!isOp("}")) {
                    e->kids.push_back(expression());
                    expectOp(":");
                    e->kids.push_back(expression());
                    if (!isOp(","))
                        break;
                    ++m_pos;
                }
                expectOp("}");
                return seal(std::move(e));
            }
            break;
        default:
            break;
        }
        fail("unexpected " + describe(t) + " in an expression");
    }

    const std::vector<Token>& m_t;
    const std::string& m_name;
    size_t m_pos = 0;
    int m_depth = 0;
};

} // namespace

Body parse(const std::vector<Token>& tokens, const std::string& name)
{
    return Parser(tokens, name).program();
}

} // namespace logitscope::jinja
