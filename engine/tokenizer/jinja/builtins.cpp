// Jinja built-ins for chat templates: filters (trim, tojson, length, selectattr, map, join, default...),
// tests (defined, none, string, mapping, equalto...), Python string and dict methods (startswith, split,
// strip, items, get...) and globals (range, namespace, raise_exception, strftime_now, dict).
// Not the whole Jinja library: groupby, batch, wordwrap, urlize, format, pprint, loop.cycle are missing.
#include "tokenizer/jinja/evaluator.h"
#include "tokenizer/jinja/text.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <cstdlib>
#include <ctime>
#include <set>

namespace logitscope::jinja {

namespace {

[[noreturn]] void bad(const std::string& what) { throw EvalError{what}; }

std::string str(const Value& v)
{
    if (v.isNone())
        return "None";
    return toOutput(v);
}

bool boolArg(const Args& a, size_t index, const char* name, bool def)
{
    const Value* v = a.get(index, name);
    return v && !v->isUndefined() ? truthy(*v) : def;
}

std::string stringArg(const Args& a, size_t index, const char* name, const char* what)
{
    const Value* v = a.get(index, name);
    if (!v || !v->isString())
        bad(std::string(what) + ": argument '" + name + "' must be a string");
    return v->s();
}

// A dotted attribute path ("function.name", "0") into dicts and lists.
Value attribute(const Value& item, const std::string& path)
{
    Value cur = item;
    size_t start = 0;
    while (start <= path.size()) {
        const size_t dot = path.find('.', start);
        const std::string part = path.substr(start, dot == std::string::npos ? std::string::npos : dot - start);
        if (cur.isObject()) {
            const Value* v = cur.obj().find(part);
            cur = v ? *v : Value();
        } else if (cur.isArray() && !part.empty() && part.find_first_not_of("0123456789") == std::string::npos) {
            const size_t k = std::stoul(part);
            cur = k < cur.arr().items.size() ? cur.arr().items[k] : Value();
        } else {
            return Value();
        }
        if (dot == std::string::npos)
            break;
        start = dot + 1;
    }
    return cur;
}

// Ordering for sort / dictsort / min / max: numbers by value, strings (optionally case-folded).
int compare(const Value& a, const Value& b, bool caseSensitive)
{
    const bool an = a.isNumber() || a.isBool(), bn = b.isNumber() || b.isBool();
    if (an && bn)
        return a.num() < b.num() ? -1 : a.num() > b.num() ? 1 : 0;
    if (a.isString() && b.isString()) {
        const std::string x = caseSensitive ? a.s() : text::lower(a.s());
        const std::string y = caseSensitive ? b.s() : text::lower(b.s());
        return x < y ? -1 : x > y ? 1 : 0;
    }
    if ((a.isNone() && b.isNone()) || (a.isUndefined() && b.isUndefined()))
        return 0;
    bad(std::string("cannot compare a ") + a.typeName() + " with a " + b.typeName());
}

std::vector<Value> sequence(const Value& v, const char* what)
{
    if (v.isArray())
        return v.arr().items;
    if (v.isString()) {
        std::vector<Value> out;
        for (auto& c : text::characters(v.s()))
            out.emplace_back(std::move(c));
        return out;
    }
    if (v.isObject() && !v.obj().isNamespace) {
        std::vector<Value> out;
        for (const auto& kv : v.obj().items)
            out.emplace_back(kv.first);
        return out;
    }
    if (v.isUndefined())
        return {};
    bad(std::string(what) + ": expected a list, got a " + v.typeName());
}

std::string replaceAll(const std::string& s, const std::string& from, const std::string& to, int64_t count)
{
    if (count < 0)
        count = INT64_MAX;
    std::string out;
    if (from.empty()) { // Python: the new text between every character and at both ends
        const auto chars = text::characters(s);
        int64_t done = 0;
        for (const auto& c : chars) {
            if (done++ < count)
                out += to;
            out += c;
        }
        if (done < count)
            out += to;
        return out;
    }
    size_t pos = 0;
    for (int64_t n = 0; n < count; ++n) {
        const size_t hit = s.find(from, pos);
        if (hit == std::string::npos)
            break;
        out.append(s, pos, hit - pos);
        out += to;
        pos = hit + from.size();
    }
    out.append(s, pos, std::string::npos);
    return out;
}

Value splitString(const std::string& s, const Value* sepArg, int64_t maxsplit, bool fromRight)
{
    std::vector<std::string> parts;
    if (!sepArg || sepArg->isNone() || sepArg->isUndefined()) { // runs of whitespace, ends ignored
        const auto cps = text::codepoints(s);
        std::vector<std::pair<size_t, size_t>> words;
        for (size_t k = 0; k < cps.size();) {
            while (k < cps.size() && text::isSpace(cps[k]))
                ++k;
            const size_t b = k;
            while (k < cps.size() && !text::isSpace(cps[k]))
                ++k;
            if (k > b)
                words.emplace_back(b, k);
        }
        if (maxsplit < 0 || int64_t(words.size()) <= maxsplit + 1) {
            for (auto [b, e] : words)
                parts.push_back(text::fromCodepoints(cps, b, e));
        } else if (!fromRight) {
            for (int64_t k = 0; k < maxsplit; ++k)
                parts.push_back(text::fromCodepoints(cps, words[size_t(k)].first, words[size_t(k)].second));
            parts.push_back(text::trimEnd(text::fromCodepoints(cps, words[size_t(maxsplit)].first, cps.size())));
        } else {
            const size_t firstKept = words.size() - size_t(maxsplit);
            parts.push_back(text::trimStart(text::fromCodepoints(cps, 0, words[firstKept - 1].second)));
            for (size_t k = firstKept; k < words.size(); ++k)
                parts.push_back(text::fromCodepoints(cps, words[k].first, words[k].second));
        }
    } else {
        if (!sepArg->isString())
            bad("split(): the separator must be a string");
        const std::string& sep = sepArg->s();
        if (sep.empty())
            bad("split(): empty separator");
        size_t pos = 0;
        while (true) {
            const size_t hit = s.find(sep, pos);
            if (hit == std::string::npos)
                break;
            parts.push_back(s.substr(pos, hit - pos));
            pos = hit + sep.size();
        }
        parts.push_back(s.substr(pos));
        if (maxsplit >= 0 && int64_t(parts.size()) > maxsplit + 1) {
            std::vector<std::string> merged;
            if (!fromRight) {
                merged.assign(parts.begin(), parts.begin() + maxsplit);
                std::string rest;
                for (size_t k = size_t(maxsplit); k < parts.size(); ++k)
                    rest += (k > size_t(maxsplit) ? sep : "") + parts[k];
                merged.push_back(rest);
            } else {
                const size_t keep = parts.size() - size_t(maxsplit);
                std::string rest;
                for (size_t k = 0; k < keep; ++k)
                    rest += (k ? sep : "") + parts[k];
                merged.push_back(rest);
                merged.insert(merged.end(), parts.begin() + long(keep), parts.end());
            }
            parts = std::move(merged);
        }
    }
    std::vector<Value> out;
    for (auto& p : parts)
        out.emplace_back(std::move(p));
    return makeArray(std::move(out));
}

// Python str.format with "{}", "{0}", "{name}" and "{{" / "}}" (no format specs).
std::string formatString(const std::string& f, const Args& a)
{
    std::string out;
    size_t next = 0;
    for (size_t k = 0; k < f.size(); ++k) {
        const char c = f[k];
        if (c == '{' && k + 1 < f.size() && f[k + 1] == '{') {
            out += '{';
            ++k;
        } else if (c == '}' && k + 1 < f.size() && f[k + 1] == '}') {
            out += '}';
            ++k;
        } else if (c == '{') {
            const size_t end = f.find('}', k);
            if (end == std::string::npos)
                bad("format(): unmatched '{'");
            const std::string field = f.substr(k + 1, end - k - 1);
            if (field.find_first_of(":!") != std::string::npos)
                bad("format(): format specifications are not supported");
            const Value* v = nullptr;
            if (field.empty())
                v = next < a.pos.size() ? &a.pos[next++] : nullptr;
            else if (field.find_first_not_of("0123456789") == std::string::npos)
                v = std::stoul(field) < a.pos.size() ? &a.pos[std::stoul(field)] : nullptr;
            else
                v = a.kwarg(field);
            if (!v)
                bad("format(): no argument for '{" + field + "}'");
            out += str(*v);
            k = end;
        } else {
            out += c;
        }
    }
    return out;
}

std::string htmlEscape(const std::string& s)
{
    std::string out;
    for (char c : s) {
        switch (c) {
        case '&': out += "&amp;"; break;
        case '<': out += "&lt;"; break;
        case '>': out += "&gt;"; break;
        case '"': out += "&#34;"; break;
        case '\'': out += "&#39;"; break;
        default: out += c;
        }
    }
    return out;
}

const std::set<std::string>& testNames()
{
    static const std::set<std::string> names = {"defined", "undefined", "none", "string", "number", "integer",
        "float", "boolean", "true", "false", "mapping", "iterable", "sequence", "callable", "odd", "even",
        "divisibleby", "equalto", "eq", "==", "ne", "!=", "lt", "<", "le", "<=", "gt", ">", "ge", ">=", "in",
        "sameas", "lower", "upper", "escaped"};
    return names;
}

// select / reject / selectattr / rejectattr: args[first] names the test, the rest are its arguments.
bool runSelectTest(const Value& v, const Args& args, size_t first)
{
    if (args.pos.size() <= first)
        return truthy(v);
    if (!args.pos[first].isString())
        bad("the test name must be a string");
    const std::string& test = args.pos[first].s();
    if (!hasTest(test))
        bad("unknown test '" + test + "'");
    Args rest;
    rest.pos.assign(args.pos.begin() + long(first) + 1, args.pos.end());
    return applyTest(test, v, rest);
}

Value jsonFilter(const Value& v, const Args& a)
{
    JsonStyle st;
    if (const Value* ind = a.get(0, "indent"); ind && !ind->isNone() && !ind->isUndefined()) {
        if (!ind->isInt())
            bad("tojson: indent must be an integer");
        st.indent = int(std::clamp<int64_t>(ind->i(), -1, 64));
    }
    st.ensureAscii = boolArg(a, 99, "ensure_ascii", false);
    st.sortKeys = boolArg(a, 99, "sort_keys", false);
    if (const Value* sep = a.kwarg("separators"); sep && !sep->isNone()) {
        if (!sep->isArray() || sep->arr().items.size() != 2 || !sep->arr().items[0].isString() || !sep->arr().items[1].isString())
            bad("tojson: separators must be two strings");
        st.itemSep = sep->arr().items[0].s();
        st.keySep = sep->arr().items[1].s();
    }
    return Value(toJson(v, st));
}

Value numberFilter(const Value& v, const Args& a, bool wantInt)
{
    const Value* def = a.get(0, "default");
    const Value fallback = def ? *def : wantInt ? Value(int64_t(0)) : Value(0.0);
    if (v.isInt())
        return wantInt ? v : Value(double(v.i()));
    if (v.isFloat())
        return wantInt ? Value(int64_t(std::trunc(v.f()))) : v;
    if (v.isBool())
        return wantInt ? Value(int64_t(v.b())) : Value(double(v.b()));
    if (v.isString()) {
        const std::string s = text::trim(v.s());
        char* end = nullptr;
        if (wantInt) {
            const long long i = std::strtoll(s.c_str(), &end, 10);
            if (!s.empty() && end && *end == '\0')
                return Value(int64_t(i));
        }
        const double d = std::strtod(s.c_str(), &end);
        if (!s.empty() && end && *end == '\0' && std::isfinite(d))
            return wantInt ? Value(int64_t(std::trunc(d))) : Value(d);
        return fallback;
    }
    return fallback;
}

} // namespace

bool hasTest(const std::string& name) { return testNames().count(name) > 0; }

bool applyTest(const std::string& name, const Value& v, const Args& a)
{
    const Value arg = a.pos.empty() ? Value() : a.pos[0];
    if (name == "defined") return !v.isUndefined();
    if (name == "undefined") return v.isUndefined();
    if (name == "none") return v.isNone();
    if (name == "string") return v.isString();
    if (name == "number") return v.isNumber();
    if (name == "integer") return v.isInt();
    if (name == "float") return v.isFloat();
    if (name == "boolean") return v.isBool();
    if (name == "true") return v.isBool() && v.b();
    if (name == "false") return v.isBool() && !v.b();
    if (name == "mapping") return v.isObject() && !v.obj().isNamespace;
    if (name == "iterable") return v.isArray() || v.isString() || (v.isObject() && !v.obj().isNamespace);
    if (name == "sequence") return v.isArray() || v.isString() || (v.isObject() && !v.obj().isNamespace);
    if (name == "callable") return v.isFunction();
    if (name == "lower") return v.isString() && text::lower(v.s()) == v.s();
    if (name == "upper") return v.isString() && text::upper(v.s()) == v.s();
    if (name == "escaped") return false;
    if (name == "odd" || name == "even" || name == "divisibleby") {
        if (!v.isInt())
            bad("test '" + name + "' needs an integer, got a " + v.typeName());
        if (name == "divisibleby") {
            if (!arg.isInt() || arg.i() == 0)
                bad("divisibleby needs a non-zero integer");
            return v.i() % arg.i() == 0;
        }
        return (v.i() % 2 != 0) == (name == "odd");
    }
    if (name == "equalto" || name == "eq" || name == "==") return equals(v, arg);
    if (name == "ne" || name == "!=") return !equals(v, arg);
    if (name == "sameas") {
        if (v.isArray() && arg.isArray()) return &v.arr() == &arg.arr();
        if (v.isObject() && arg.isObject()) return &v.obj() == &arg.obj();
        return v.v.index() == arg.v.index() && equals(v, arg);
    }
    if (name == "in") {
        if (arg.isArray()) {
            for (const Value& x : arg.arr().items)
                if (equals(v, x))
                    return true;
            return false;
        }
        if (arg.isString()) return v.isString() && arg.s().find(v.s()) != std::string::npos;
        if (arg.isObject()) return v.isString() && arg.obj().find(v.s());
        bad(std::string("test 'in' needs a list, string or dict, got a ") + arg.typeName());
    }
    const int c = compare(v, arg, true);
    if (name == "lt" || name == "<") return c < 0;
    if (name == "le" || name == "<=") return c <= 0;
    if (name == "gt" || name == ">") return c > 0;
    if (name == "ge" || name == ">=") return c >= 0;
    bad("unknown test '" + name + "'");
}

Value applyFilter(Interpreter& in, const std::string& name, const Value& v, const Args& a)
{
    if (name == "safe")
        return v;
    if (name == "tojson")
        return jsonFilter(v, a);
    if (name == "default" || name == "d") {
        const Value* def = a.get(0, "default_value");
        if (v.isUndefined() || (boolArg(a, 1, "boolean", false) && !truthy(v)))
            return def ? *def : Value("");
        return v;
    }
    if (name == "string")
        return Value(str(v));
    if (name == "length" || name == "count") {
        if (v.isString()) return Value(int64_t(text::codepoints(v.s()).size()));
        if (v.isArray()) return Value(int64_t(v.arr().items.size()));
        if (v.isObject()) return Value(int64_t(v.obj().items.size()));
        if (v.isUndefined()) return Value(int64_t(0));
        bad(std::string("filter 'length' on a ") + v.typeName());
    }
    if (name == "trim") {
        if (v.isUndefined()) return Value("");
        if (const Value* chars = a.get(0, "chars"); chars && chars->isString())
            return Value(text::stripChars(str(v), chars->s(), true, true));
        return Value(text::trim(str(v)));
    }
    if (name == "upper") return Value(text::upper(str(v)));
    if (name == "lower") return Value(text::lower(str(v)));
    if (name == "title") return Value(text::title(str(v)));
    if (name == "capitalize") return Value(text::capitalize(str(v)));
    if (name == "e" || name == "escape") return Value(htmlEscape(str(v)));
    if (name == "replace") {
        const Value* count = a.get(2, "count");
        return Value(replaceAll(str(v), stringArg(a, 0, "old", "replace"), stringArg(a, 1, "new", "replace"),
            count && count->isInt() ? count->i() : -1));
    }
    if (name == "indent") {
        const Value* w = a.get(0, "width");
        const std::string pad = w && w->isString() ? w->s() : std::string(size_t(std::clamp<int64_t>(w && w->isInt() ? w->i() : 4, 0, 1024)), ' ');
        const bool first = boolArg(a, 1, "first", false), blank = boolArg(a, 2, "blank", false);
        const std::string s = str(v);
        std::string out;
        size_t start = 0, lineNo = 0;
        while (true) {
            const size_t nl = s.find('\n', start);
            const std::string line = s.substr(start, nl == std::string::npos ? std::string::npos : nl - start);
            const bool keep = (!first && lineNo == 0) || (!blank && line.empty());
            out += keep ? line : pad + line;
            if (nl == std::string::npos)
                break;
            out += '\n';
            start = nl + 1;
            ++lineNo;
        }
        in.checkSize(out.size());
        return Value(std::move(out));
    }
    if (name == "first" || name == "last") {
        const std::vector<Value> items = sequence(v, name.c_str());
        if (items.empty()) return Value();
        return name == "first" ? items.front() : items.back();
    }
    if (name == "list") return makeArray(sequence(v, "list"));
    if (name == "reverse") {
        if (v.isString()) {
            auto chars = text::characters(v.s());
            std::string out;
            for (auto it = chars.rbegin(); it != chars.rend(); ++it)
                out += *it;
            return Value(std::move(out));
        }
        std::vector<Value> items = sequence(v, "reverse");
        std::reverse(items.begin(), items.end());
        return makeArray(std::move(items));
    }
    if (name == "int" || name == "float") return numberFilter(v, a, name == "int");
    if (name == "abs") {
        if (v.isInt()) return v.i() == std::numeric_limits<int64_t>::min() ? Value(-double(v.i())) : Value(v.i() < 0 ? -v.i() : v.i());
        if (v.isFloat()) return Value(std::fabs(v.f()));
        bad(std::string("filter 'abs' on a ") + v.typeName());
    }
    if (name == "round") {
        if (!v.isNumber()) bad(std::string("filter 'round' on a ") + v.typeName());
        const Value* p = a.get(0, "precision");
        const int64_t prec = p && p->isInt() ? std::clamp<int64_t>(p->i(), 0, 15) : 0;
        const Value* m = a.get(1, "method");
        const std::string method = m && m->isString() ? m->s() : "common";
        const double scale = std::pow(10.0, double(prec));
        const double x = v.num() * scale;
        const double r = method == "ceil" ? std::ceil(x) : method == "floor" ? std::floor(x) : std::nearbyint(x); // Python round(): half to even
        return Value(r / scale);
    }
    if (name == "unique") {
        const bool cs = boolArg(a, 0, "case_sensitive", false);
        std::vector<Value> out;
        for (const Value& x : sequence(v, "unique")) {
            bool seen = false;
            for (const Value& y : out)
                seen = seen || (x.isString() && y.isString() && !cs ? text::lower(x.s()) == text::lower(y.s()) : equals(x, y));
            if (!seen)
                out.push_back(x);
        }
        return makeArray(std::move(out));
    }
    if (name == "sort") {
        const bool reverse = boolArg(a, 0, "reverse", false), cs = boolArg(a, 1, "case_sensitive", false);
        const Value* attr = a.get(2, "attribute");
        std::vector<Value> items = sequence(v, "sort");
        const auto key = [&](const Value& x) { return attr && attr->isString() ? attribute(x, attr->s()) : attr && attr->isInt() ? attribute(x, std::to_string(attr->i())) : x; };
        std::stable_sort(items.begin(), items.end(), [&](const Value& x, const Value& y) {
            const int c = compare(key(x), key(y), cs);
            return reverse ? c > 0 : c < 0;
        });
        return makeArray(std::move(items));
    }
    if (name == "dictsort") {
        if (!v.isObject()) bad(std::string("filter 'dictsort' on a ") + v.typeName());
        const bool cs = boolArg(a, 0, "case_sensitive", false);
        const Value* by = a.get(1, "by");
        const bool byValue = by && by->isString() && by->s() == "value";
        const bool reverse = boolArg(a, 2, "reverse", false);
        std::vector<Value> items;
        for (const auto& [k, x] : v.obj().items)
            items.push_back(makeArray({Value(k), x}));
        std::stable_sort(items.begin(), items.end(), [&](const Value& x, const Value& y) {
            const int c = compare(x.arr().items[byValue], y.arr().items[byValue], cs);
            return reverse ? c > 0 : c < 0;
        });
        return makeArray(std::move(items));
    }
    if (name == "join") {
        const Value* sep = a.get(0, "d");
        const Value* attr = a.get(1, "attribute");
        std::string out;
        bool firstItem = true;
        for (const Value& x : sequence(v, "join")) {
            if (!firstItem)
                out += sep && sep->isString() ? sep->s() : "";
            firstItem = false;
            out += str(attr && attr->isString() ? attribute(x, attr->s()) : x);
            in.checkSize(out.size());
        }
        return Value(std::move(out));
    }
    if (name == "items") {
        if (v.isUndefined()) return makeArray();
        if (!v.isObject()) bad(std::string("filter 'items' on a ") + v.typeName());
        std::vector<Value> items;
        for (const auto& [k, x] : v.obj().items)
            items.push_back(makeArray({Value(k), x}));
        return makeArray(std::move(items));
    }
    if (name == "selectattr" || name == "rejectattr") {
        const bool select = name == "selectattr";
        if (a.pos.empty() || !a.pos[0].isString()) bad(name + ": the first argument must be an attribute name");
        std::vector<Value> out;
        for (const Value& x : sequence(v, name.c_str()))
            if (runSelectTest(attribute(x, a.pos[0].s()), a, 1) == select)
                out.push_back(x);
        return makeArray(std::move(out));
    }
    if (name == "select" || name == "reject") {
        const bool select = name == "select";
        std::vector<Value> out;
        for (const Value& x : sequence(v, name.c_str()))
            if (runSelectTest(x, a, 0) == select)
                out.push_back(x);
        return makeArray(std::move(out));
    }
    if (name == "map") {
        std::vector<Value> out;
        if (const Value* attr = a.kwarg("attribute")) {
            if (!attr->isString() && !attr->isInt()) bad("map: attribute must be a string");
            const std::string path = attr->isString() ? attr->s() : std::to_string(attr->i());
            const Value* def = a.kwarg("default");
            for (const Value& x : sequence(v, "map")) {
                Value r = attribute(x, path);
                out.push_back(r.isUndefined() && def ? *def : r);
            }
            return makeArray(std::move(out));
        }
        if (a.pos.empty() || !a.pos[0].isString()) bad("map: needs attribute= or a filter name");
        Args rest;
        rest.pos.assign(a.pos.begin() + 1, a.pos.end());
        rest.kw = a.kw;
        for (const Value& x : sequence(v, "map"))
            out.push_back(applyFilter(in, a.pos[0].s(), x, rest));
        return makeArray(std::move(out));
    }
    if (name == "min" || name == "max") {
        const std::vector<Value> items = sequence(v, name.c_str());
        if (items.empty()) return Value();
        const bool cs = boolArg(a, 0, "case_sensitive", false);
        Value best = items[0];
        for (const Value& x : items)
            if ((compare(x, best, cs) < 0) == (name == "min") && compare(x, best, cs) != 0)
                best = x;
        return best;
    }
    if (name == "sum") {
        const Value* attr = a.get(0, "attribute");
        const Value* start = a.get(1, "start");
        Value total = start ? *start : Value(int64_t(0));
        for (const Value& x : sequence(v, "sum")) {
            const Value y = attr && attr->isString() ? attribute(x, attr->s()) : x;
            if (!(y.isNumber() || y.isBool()) || !(total.isNumber() || total.isBool())) bad("sum: items must be numbers");
            total = total.isFloat() || y.isFloat() ? Value(total.num() + y.num()) : Value(int64_t(total.num()) + int64_t(y.num()));
        }
        return total;
    }
    if (name == "wordcount") return Value(int64_t(splitString(str(v), nullptr, -1, false).arr().items.size()));
    bad("unknown filter '" + name + "'");
}

bool callMethod(Interpreter& in, const Value& self, const std::string& name, const Args& a, Value& out)
{
    if (self.isString()) {
        const std::string& s = self.s();
        if (name == "startswith" || name == "endswith") {
            const Value* p = a.get(0, "prefix");
            if (!p) bad(name + "() needs an argument");
            std::vector<Value> options = p->isArray() ? p->arr().items : std::vector<Value>{*p};
            bool hit = false;
            for (const Value& o : options) {
                if (!o.isString()) bad(name + "() needs a string or a tuple of strings");
                const std::string& x = o.s();
                hit = hit || (x.size() <= s.size() && (name == "startswith" ? s.compare(0, x.size(), x) == 0 : s.compare(s.size() - x.size(), x.size(), x) == 0));
            }
            out = Value(hit);
            return true;
        }
        if (name == "split" || name == "rsplit") {
            const Value* m = a.get(1, "maxsplit");
            out = splitString(s, a.get(0, "sep"), m && m->isInt() ? m->i() : -1, name == "rsplit");
            return true;
        }
        if (name == "strip" || name == "lstrip" || name == "rstrip") {
            const Value* chars = a.get(0, "chars");
            const bool l = name != "rstrip", r = name != "lstrip";
            out = chars && chars->isString() ? Value(text::stripChars(s, chars->s(), l, r))
                                             : Value(text::stripChars(s, std::string_view(), l, r));
            return true;
        }
        if (name == "upper") { out = Value(text::upper(s)); return true; }
        if (name == "lower") { out = Value(text::lower(s)); return true; }
        if (name == "title") { out = Value(text::title(s)); return true; }
        if (name == "capitalize") { out = Value(text::capitalize(s)); return true; }
        if (name == "replace") {
            const Value* count = a.get(2, "count");
            out = Value(replaceAll(s, stringArg(a, 0, "old", "replace()"), stringArg(a, 1, "new", "replace()"),
                count && count->isInt() ? count->i() : -1));
            in.checkSize(out.s().size());
            return true;
        }
        if (name == "find" || name == "count") {
            const std::string sub = stringArg(a, 0, "sub", name.c_str());
            if (name == "find") {
                const size_t hit = s.find(sub);
                out = Value(hit == std::string::npos ? int64_t(-1) : int64_t(text::codepoints(s.substr(0, hit)).size()));
            } else {
                int64_t n = 0;
                for (size_t pos = 0; !sub.empty() && (pos = s.find(sub, pos)) != std::string::npos; pos += sub.size())
                    ++n;
                out = Value(sub.empty() ? int64_t(text::codepoints(s).size()) + 1 : n);
            }
            return true;
        }
        if (name == "join") {
            const Value* items = a.get(0, "iterable");
            std::string r;
            bool firstItem = true;
            for (const Value& x : sequence(items ? *items : Value(), "join()")) {
                if (!firstItem) r += s;
                firstItem = false;
                r += str(x);
                in.checkSize(r.size());
            }
            out = Value(std::move(r));
            return true;
        }
        if (name == "format") { out = Value(formatString(s, a)); return true; }
        if (name == "splitlines") {
            std::vector<Value> lines;
            size_t start = 0;
            while (start < s.size()) {
                const size_t nl = s.find('\n', start);
                lines.emplace_back(s.substr(start, nl == std::string::npos ? std::string::npos : nl - start));
                if (nl == std::string::npos) break;
                start = nl + 1;
            }
            out = makeArray(std::move(lines));
            return true;
        }
        if (name == "isdigit" || name == "isalpha" || name == "isspace" || name == "isalnum") {
            bool ok = !s.empty();
            for (uint32_t c : text::codepoints(s)) {
                const bool digit = c >= '0' && c <= '9', alpha = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
                ok = ok && (name == "isdigit" ? digit : name == "isalpha" ? alpha : name == "isalnum" ? digit || alpha : text::isSpace(c));
            }
            out = Value(ok);
            return true;
        }
        return false;
    }
    if (self.isObject() && !self.obj().isNamespace) {
        const Object& o = self.obj();
        if (name == "items" || name == "keys" || name == "values") {
            std::vector<Value> items;
            for (const auto& [k, x] : o.items)
                items.push_back(name == "items" ? makeArray({Value(k), x}) : name == "keys" ? Value(k) : x);
            out = makeArray(std::move(items));
            return true;
        }
        if (name == "get") {
            const Value* key = a.get(0, "key");
            const Value* def = a.get(1, "default");
            const Value* hit = key && key->isString() ? o.find(key->s()) : nullptr;
            out = hit ? *hit : def ? *def : Value(None{});
            return true;
        }
        return false;
    }
    return false;
}

void installGlobals(Interpreter& in, Scope& scope)
{
    const auto def = [&](const std::string& name, std::function<Value(const Args&)> fn) {
        auto f = std::make_shared<Function>();
        f->name = name;
        f->call = std::move(fn);
        scope.set(name, Value(f));
    };
    Interpreter* self = &in;
    def("range", [self](const Args& a) {
        for (const Value& v : a.pos)
            if (!v.isInt()) bad("range() needs integers");
        int64_t start = 0, stop = 0, step = 1;
        if (a.pos.size() == 1) stop = a.pos[0].i();
        else if (a.pos.size() >= 2) { start = a.pos[0].i(); stop = a.pos[1].i(); }
        if (a.pos.size() >= 3) step = a.pos[2].i();
        if (a.pos.empty() || a.pos.size() > 3) bad("range() takes 1 to 3 arguments");
        if (step == 0) bad("range() step must not be zero");
        const int64_t n = step > 0 ? (stop > start ? (stop - start + step - 1) / step : 0) : (start > stop ? (start - stop - step - 1) / -step : 0);
        self->countIterations(n);
        std::vector<Value> items;
        for (int64_t k = 0; k < n; ++k)
            items.emplace_back(start + k * step);
        return makeArray(std::move(items));
    });
    const auto dictLike = [](const Args& a, bool ns) {
        Value o = makeObject();
        o.obj().isNamespace = ns;
        if (!a.pos.empty()) {
            if (a.pos.size() > 1 || !a.pos[0].isObject()) bad(std::string(ns ? "namespace" : "dict") + "() takes one dict or keyword arguments");
            for (const auto& [k, v] : a.pos[0].obj().items)
                o.obj().set(k, v);
        }
        for (const auto& [k, v] : a.kw)
            o.obj().set(k, v);
        return o;
    };
    def("namespace", [dictLike](const Args& a) { return dictLike(a, true); });
    def("dict", [dictLike](const Args& a) { return dictLike(a, false); });
    def("raise_exception", [](const Args& a) -> Value {
        bad("the template raised an error: " + (a.pos.empty() ? std::string() : str(a.pos[0])));
    });
    def("strftime_now", [](const Args& a) {
        if (a.pos.empty() || !a.pos[0].isString()) bad("strftime_now() needs a format string");
        const std::time_t now = std::time(nullptr);
        std::tm local{};
        localtime_r(&now, &local);
        char buf[256];
        const size_t n = std::strftime(buf, sizeof buf, a.pos[0].s().c_str(), &local);
        return Value(std::string(buf, n));
    });
}

} // namespace logitscope::jinja
