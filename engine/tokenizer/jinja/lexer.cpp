// Jinja lexer. The whitespace handling reproduces what chat templates are rendered with in Hugging Face
// (transformers' Jinja environment, mirrored by @huggingface/jinja): one trailing newline dropped,
// lstrip_blocks, trim_blocks, then "{%-" / "-%}" markers trimming the neighbouring text.
// Not a general Jinja lexer: no {% raw %}, no line statements, no custom delimiters.
#include "tokenizer/jinja/lexer.h"

#include "tokenizer/jinja/text.h"
#include "tokenizer/jinja/value.h"

#include <cstring>

namespace logitscope::jinja {

namespace {

bool isWordChar(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
}
bool isDigit(char c) { return c >= '0' && c <= '9'; }
bool isAsciiSpace(char c) { return c == ' ' || (c >= 9 && c <= 13); }

// trim_blocks / lstrip_blocks as source-text rewrites, applied before tokenizing (as the reference does).
std::string preprocess(std::string src)
{
    if (!src.empty() && src.back() == '\n')
        src.pop_back();
    // lstrip_blocks: spaces and tabs from a line start up to "{%" or "{#" (or "{-").
    std::string a;
    a.reserve(src.size());
    for (size_t i = 0; i < src.size();) {
        const bool lineStart = i == 0 || src[i - 1] == '\n' || src[i - 1] == '\r';
        if (lineStart) {
            size_t j = i;
            while (j < src.size() && (src[j] == ' ' || src[j] == '\t'))
                ++j;
            if (j + 1 < src.size() && src[j] == '{' && (src[j + 1] == '%' || src[j + 1] == '#' || src[j + 1] == '-')) {
                i = j;
            } else {
                a.append(src, i, j - i);
                i = j;
                if (i >= src.size())
                    break;
            }
        }
        a += src[i++];
    }
    // trim_blocks: the first newline after "%}" or "#}" (or "-}").
    std::string b;
    b.reserve(a.size());
    for (size_t i = 0; i < a.size(); ++i) {
        b += a[i];
        if (a[i] == '}' && i > 0 && (a[i - 1] == '%' || a[i - 1] == '#' || a[i - 1] == '-') && i + 1 < a.size()
            && a[i + 1] == '\n')
            ++i;
    }
    return b;
}

class Lexer {
public:
    Lexer(const std::string& src, const std::string& name) : m_src(src), m_name(name) {}

    std::vector<Token> run()
    {
        while (m_pos < m_src.size()) {
            const Tok last = m_out.empty() ? Tok::End : m_out.back().type;
            if (last == Tok::End || last == Tok::CloseStmt || last == Tok::CloseExpr || m_afterComment) {
                m_afterComment = false;
                size_t end = m_pos;
                while (true) {
                    end = m_src.find('{', end);
                    if (end == std::string::npos) {
                        end = m_src.size();
                        break;
                    }
                    const char n = end + 1 < m_src.size() ? m_src[end + 1] : 0;
                    if (n == '%' || n == '{' || n == '#')
                        break;
                    ++end;
                }
                if (end > m_pos) {
                    push(Tok::Text, m_src.substr(m_pos, end - m_pos));
                    advance(end - m_pos);
                    continue;
                }
            }
            if (lexTagOpen())
                continue;
            lexInsideTag();
        }
        if (m_inTag != Tok::End)
            fail(std::string("unterminated ") + (m_inTag == Tok::OpenStmt ? "{% ... %} tag" : "{{ ... }} expression"));
        push(Tok::End, "");
        return std::move(m_out);
    }

private:
    [[noreturn]] void fail(const std::string& what) const
    {
        throw JinjaError(m_name + ", line " + std::to_string(m_line) + ": " + what);
    }

    void advance(size_t n)
    {
        for (size_t k = 0; k < n && m_pos < m_src.size(); ++k)
            if (m_src[m_pos++] == '\n')
                ++m_line;
    }

    void push(Tok t, std::string s) { m_out.push_back(Token{t, std::move(s), m_line}); }

    void stripTrailingText()
    {
        if (!m_out.empty() && m_out.back().type == Tok::Text) {
            m_out.back().text = text::trimEnd(m_out.back().text);
            if (m_out.back().text.empty())
                m_out.pop_back();
        }
    }

    void skipLeadingWhitespace()
    {
        while (m_pos < m_src.size()) {
            const auto cps = text::codepoints(std::string_view(m_src).substr(m_pos, 4));
            if (cps.empty() || !text::isSpace(cps[0]))
                break;
            // advance over one code point
            const auto c = uint8_t(m_src[m_pos]);
            advance(c < 0x80 ? 1 : (c >> 5) == 6 ? 2 : (c >> 4) == 14 ? 3 : 4);
        }
    }

    bool lexTagOpen()
    {
        if (m_src[m_pos] != '{' || m_pos + 1 >= m_src.size())
            return false;
        const char n = m_src[m_pos + 1];
        if (n == '#' && m_inTag == Tok::End) {
            advance(2);
            const bool stripBefore = m_pos < m_src.size() && m_src[m_pos] == '-';
            if (stripBefore)
                advance(1);
            const size_t end = m_src.find("#}", m_pos);
            if (end == std::string::npos)
                fail("unterminated comment {# ... #}");
            const bool stripAfter = end > m_pos && m_src[end - 1] == '-';
            if (stripBefore)
                stripTrailingText();
            advance(end + 2 - m_pos);
            if (stripAfter)
                skipLeadingWhitespace();
            m_afterComment = true;
            return true;
        }
        if (m_inTag != Tok::End || (n != '%' && n != '{'))
            return false;
        const bool strip = m_pos + 2 < m_src.size() && m_src[m_pos + 2] == '-';
        if (strip)
            stripTrailingText();
        m_inTag = n == '%' ? Tok::OpenStmt : Tok::OpenExpr;
        push(m_inTag, n == '%' ? "{%" : "{{");
        m_curly = 0;
        advance(strip ? 3 : 2);
        return true;
    }

    void lexInsideTag()
    {
        while (m_pos < m_src.size() && isAsciiSpace(m_src[m_pos]))
            advance(1);
        if (m_pos >= m_src.size())
            fail("unexpected end of template inside a tag");
        const char c = m_src[m_pos];
        const auto at = [&](size_t k) { return m_pos + k < m_src.size() ? m_src[m_pos + k] : '\0'; };
        if (c == '-' && at(2) == '}' && (at(1) == '%' || at(1) == '}')) {
            close(at(1) == '%' ? Tok::CloseStmt : Tok::CloseExpr, 3);
            skipLeadingWhitespace();
            return;
        }
        if (c == '%' && at(1) == '}') {
            close(Tok::CloseStmt, 2);
            return;
        }
        if (c == '}' && at(1) == '}' && m_curly <= 0) {
            close(Tok::CloseExpr, 2);
            return;
        }
        if (m_inTag == Tok::End)
            fail(std::string("unexpected '") + c + "' outside a tag");
        if (c == '\'' || c == '"') {
            lexString(c);
            return;
        }
        if (isDigit(c)) {
            size_t j = m_pos;
            while (j < m_src.size() && isDigit(m_src[j]))
                ++j;
            const bool afterDot = !m_out.empty() && m_out.back().type == Tok::Op && m_out.back().text == ".";
            if (!afterDot && j + 1 < m_src.size() && m_src[j] == '.' && isDigit(m_src[j + 1])) {
                ++j;
                while (j < m_src.size() && isDigit(m_src[j]))
                    ++j;
                push(Tok::Float, m_src.substr(m_pos, j - m_pos));
            } else {
                push(Tok::Int, m_src.substr(m_pos, j - m_pos));
            }
            advance(j - m_pos);
            return;
        }
        if (isWordChar(c)) {
            size_t j = m_pos;
            while (j < m_src.size() && isWordChar(m_src[j]))
                ++j;
            push(Tok::Name, m_src.substr(m_pos, j - m_pos));
            advance(j - m_pos);
            return;
        }
        static const char* const two[] = {"**", "//", "==", "!=", "<=", ">="};
        for (const char* op : two)
            if (c == op[0] && at(1) == op[1]) {
                push(Tok::Op, op);
                advance(2);
                return;
            }
        if (std::strchr("()[]{},.:|+-~*/%<>=", c)) {
            if (c == '{')
                ++m_curly;
            if (c == '}')
                --m_curly;
            push(Tok::Op, std::string(1, c));
            advance(1);
            return;
        }
        fail(std::string("unexpected character '") + c + "'");
    }

    void close(Tok t, size_t len)
    {
        if (m_inTag == Tok::End)
            fail(t == Tok::CloseStmt ? "'%}' without an opening '{%'" : "'}}' without an opening '{{'");
        if ((t == Tok::CloseStmt) != (m_inTag == Tok::OpenStmt))
            fail(t == Tok::CloseStmt ? "'%}' closes a '{{' expression" : "'}}' closes a '{%' tag");
        push(t, t == Tok::CloseStmt ? "%}" : "}}");
        advance(len);
        m_inTag = Tok::End;
    }

    void lexString(char quote)
    {
        const int startLine = m_line;
        advance(1);
        std::string s;
        while (true) {
            if (m_pos >= m_src.size()) {
                m_line = startLine;
                fail("unterminated string literal");
            }
            const char c = m_src[m_pos];
            if (c == quote) {
                advance(1);
                break;
            }
            if (c != '\\') {
                s += c;
                advance(1);
                continue;
            }
            advance(1);
            if (m_pos >= m_src.size())
                continue;
            const char e = m_src[m_pos];
            advance(1);
            switch (e) {
            case 'n': s += '\n'; break;
            case 't': s += '\t'; break;
            case 'r': s += '\r'; break;
            case 'b': s += '\b'; break;
            case 'f': s += '\f'; break;
            case 'v': s += '\v'; break;
            case '\'': case '"': case '\\': s += e; break;
            case 'x': case 'u': {
                const size_t n = e == 'x' ? 2 : 4;
                const std::string hex = m_src.substr(m_pos, n);
                if (hex.size() != n || hex.find_first_not_of("0123456789abcdefABCDEF") != std::string::npos)
                    fail(std::string("invalid \\") + e + " escape in a string literal");
                const uint32_t cp = uint32_t(std::stoul(hex, nullptr, 16));
                s += text::fromCodepoints({cp}, 0, 1);
                advance(n);
                break;
            }
            default: s += '\\'; s += e; // Python keeps unknown escapes as written
            }
        }
        push(Tok::String, std::move(s));
    }

    const std::string& m_src;
    const std::string& m_name;
    std::vector<Token> m_out;
    size_t m_pos = 0;
    int m_line = 1;
    int m_curly = 0;
    Tok m_inTag = Tok::End; // OpenStmt or OpenExpr inside a tag
    bool m_afterComment = false;
};

} // namespace

std::vector<Token> tokenize(const std::string& source, const std::string& name)
{
    const std::string src = preprocess(source);
    return Lexer(src, name).run();
}

} // namespace logitscope::jinja
