// Jinja values: truthiness, equality, printing and JSON (the spacing of Python's json.dumps, which
// @huggingface/jinja reproduces). Not a general JSON library: nlohmann::json does the parsing.
#include "tokenizer/jinja/value.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdio>

namespace logitscope::jinja {

const char* Value::typeName() const
{
    static const char* const names[] = {"undefined", "none", "boolean", "integer", "float", "string", "list", "dict", "function"};
    if (isObject() && obj().isNamespace)
        return "namespace";
    return names[v.index()];
}

const Value* Object::find(const std::string& key) const
{
    for (const auto& [k, v] : items)
        if (k == key)
            return &v;
    return nullptr;
}

void Object::set(const std::string& key, Value value)
{
    for (auto& [k, v] : items)
        if (k == key) {
            v = std::move(value);
            return;
        }
    items.emplace_back(key, std::move(value));
}

const Value* Args::kwarg(const std::string& name) const
{
    for (const auto& [k, v] : kw)
        if (k == name)
            return &v;
    return nullptr;
}

const Value* Args::get(size_t index, const std::string& name) const
{
    if (index < pos.size())
        return &pos[index];
    return kwarg(name);
}

Value makeArray(std::vector<Value> items)
{
    auto a = std::make_shared<Array>();
    a->items = std::move(items);
    return Value(a);
}

Value makeObject() { return Value(std::make_shared<Object>()); }

bool truthy(const Value& v)
{
    switch (v.v.index()) {
    case 0: case 1: return false;
    case 2: return v.b();
    case 3: return v.i() != 0;
    case 4: return v.f() != 0.0;
    case 5: return !v.s().empty();
    case 6: return !v.arr().items.empty();
    case 7: return v.obj().isNamespace || !v.obj().items.empty();
    default: return true;
    }
}

bool equals(const Value& a, const Value& b)
{
    const bool an = a.isNumber() || a.isBool(), bn = b.isNumber() || b.isBool();
    if (an && bn) {
        if (a.isInt() && b.isInt())
            return a.i() == b.i();
        return a.num() == b.num();
    }
    if (a.v.index() != b.v.index())
        return false;
    if (a.isUndefined() || a.isNone())
        return true;
    if (a.isString())
        return a.s() == b.s();
    if (a.isArray()) {
        const auto& x = a.arr().items;
        const auto& y = b.arr().items;
        if (x.size() != y.size())
            return false;
        for (size_t k = 0; k < x.size(); ++k)
            if (!equals(x[k], y[k]))
                return false;
        return true;
    }
    if (a.isObject()) {
        const auto& x = a.obj().items;
        const auto& y = b.obj().items;
        if (x.size() != y.size())
            return false;
        for (const auto& [k, v] : x) {
            const Value* w = b.obj().find(k);
            if (!w || !equals(v, *w))
                return false;
        }
        return true;
    }
    return std::get<FunctionPtr>(a.v) == std::get<FunctionPtr>(b.v);
}

std::string formatFloat(double d)
{
    if (std::isnan(d))
        return "NaN";
    if (std::isinf(d))
        return d < 0 ? "-Infinity" : "Infinity";
    if (d == 0)
        return std::signbit(d) ? "-0" : "0";
    // Shortest round-trip digits and exponent, then JavaScript's Number#toString layout.
    char buf[64];
    auto res = std::to_chars(buf, buf + sizeof buf, d, std::chars_format::scientific);
    std::string sci(buf, res.ptr);
    std::string sign;
    if (sci[0] == '-') {
        sign = "-";
        sci.erase(0, 1);
    }
    const size_t e = sci.find('e');
    const int exp10 = std::stoi(sci.substr(e + 1));
    std::string digits = sci.substr(0, e);
    digits.erase(std::remove(digits.begin(), digits.end(), '.'), digits.end());
    const int k = int(digits.size());
    const int n = exp10 + 1; // value = 0.digits * 10^n
    std::string out;
    if (k <= n && n <= 21)
        out = digits + std::string(size_t(n - k), '0');
    else if (0 < n && n <= 21)
        out = digits.substr(0, size_t(n)) + "." + digits.substr(size_t(n));
    else if (-6 < n && n <= 0)
        out = "0." + std::string(size_t(-n), '0') + digits;
    else {
        out = digits.substr(0, 1);
        if (k > 1)
            out += "." + digits.substr(1);
        out += (n - 1 >= 0 ? "e+" : "e-") + std::to_string(std::abs(n - 1));
    }
    return sign + out;
}

namespace {

// Decodes one UTF-8 code point at s[i] (advancing i); invalid bytes come back as themselves.
uint32_t nextCodepoint(const std::string& s, size_t& i)
{
    const auto c = uint8_t(s[i]);
    int len = c < 0x80 ? 1 : (c >> 5) == 6 ? 2 : (c >> 4) == 14 ? 3 : (c >> 3) == 30 ? 4 : 1;
    if (i + size_t(len) > s.size())
        len = 1;
    uint32_t cp = len == 1 ? c : len == 2 ? (c & 0x1F) : len == 3 ? (c & 0x0F) : (c & 0x07);
    for (int k = 1; k < len; ++k)
        cp = (cp << 6) | (uint8_t(s[i + size_t(k)]) & 0x3F);
    i += size_t(len);
    return cp;
}

void jsonString(const std::string& s, bool ensureAscii, std::string& out)
{
    out += '"';
    char buf[16];
    for (size_t i = 0; i < s.size();) {
        const auto c = uint8_t(s[i]);
        if (c >= 0x80 && ensureAscii) {
            uint32_t cp = nextCodepoint(s, i);
            const auto u16 = [&](uint32_t unit) {
                std::snprintf(buf, sizeof buf, "\\u%04x", unsigned(unit));
                out += buf;
            };
            if (cp >= 0x10000) {
                cp -= 0x10000;
                u16(0xD800 + (cp >> 10));
                u16(0xDC00 + (cp & 0x3FF));
            } else {
                u16(cp);
            }
            continue;
        }
        ++i;
        switch (c) {
        case '"': out += "\\\""; break;
        case '\\': out += "\\\\"; break;
        case '\b': out += "\\b"; break;
        case '\f': out += "\\f"; break;
        case '\n': out += "\\n"; break;
        case '\r': out += "\\r"; break;
        case '\t': out += "\\t"; break;
        default:
            if (c < 0x20 || (c == 0x7F && ensureAscii)) {
                std::snprintf(buf, sizeof buf, "\\u%04x", unsigned(c));
                out += buf;
            } else {
                out += char(c);
            }
        }
    }
    out += '"';
}

void jsonValue(const Value& v, const JsonStyle& st, int depth, bool undefinedAsNull, std::string& out)
{
    const bool indented = st.indent > 0; // json.dumps(indent=0) behaves like the reference: one line
    const std::string itemSep = !st.itemSep.empty() ? st.itemSep : indented ? "," : ", ";
    const std::string keySep = !st.keySep.empty() ? st.keySep : ": ";
    const std::string pad = indented ? std::string(size_t(st.indent), ' ') : "";
    std::string base = "\n";
    for (int k = 0; k < depth; ++k)
        base += pad;
    const std::string child = base + pad;
    switch (v.v.index()) {
    case 0: out += undefinedAsNull ? "null" : "undefined"; return;
    case 1: out += "null"; return;
    case 2: out += v.b() ? "true" : "false"; return;
    case 3: out += std::to_string(v.i()); return;
    case 4: out += std::isfinite(v.f()) ? formatFloat(v.f()) : "null"; return;
    case 5: jsonString(v.s(), st.ensureAscii, out); return;
    case 6: {
        const auto& items = v.arr().items;
        out += '[';
        for (size_t k = 0; k < items.size(); ++k) {
            if (k)
                out += itemSep;
            if (indented)
                out += child;
            jsonValue(items[k], st, depth + 1, undefinedAsNull, out);
        }
        if (indented && !items.empty())
            out += base;
        out += ']';
        return;
    }
    case 7: {
        std::vector<const std::pair<std::string, Value>*> items;
        for (const auto& kv : v.obj().items)
            items.push_back(&kv);
        if (st.sortKeys)
            std::stable_sort(items.begin(), items.end(), [](auto* a, auto* b) { return a->first < b->first; });
        out += '{';
        for (size_t k = 0; k < items.size(); ++k) {
            if (k)
                out += itemSep;
            if (indented)
                out += child;
            jsonString(items[k]->first, st.ensureAscii, out);
            out += keySep;
            jsonValue(items[k]->second, st, depth + 1, undefinedAsNull, out);
        }
        if (indented && !items.empty())
            out += base;
        out += '}';
        return;
    }
    default: throw JinjaError("cannot convert a function to JSON");
    }
}

} // namespace

std::string toJson(const Value& v, const JsonStyle& style)
{
    std::string out;
    jsonValue(v, style, 0, true, out);
    return out;
}

std::string toOutput(const Value& v)
{
    switch (v.v.index()) {
    case 0: case 1: return "";
    case 2: return v.b() ? "true" : "false";
    case 3: return std::to_string(v.i());
    case 4: {
        const double d = v.f();
        if (d == 0 && std::signbit(d))
            return "-0.0";
        if (std::isfinite(d) && std::floor(d) == d && std::fabs(d) < 1e21)
            return formatFloat(d) + ".0";
        return formatFloat(d);
    }
    case 5: return v.s();
    case 6: case 7: {
        std::string out;
        jsonValue(v, {}, 0, false, out);
        return out;
    }
    default: return "<function " + v.fn().name + ">";
    }
}

Value fromJson(const nlohmann::ordered_json& j)
{
    using T = nlohmann::ordered_json::value_t;
    switch (j.type()) {
    case T::null: return Value(None{});
    case T::boolean: return Value(j.get<bool>());
    case T::number_integer: return Value(j.get<int64_t>());
    case T::number_unsigned: return Value(int64_t(j.get<uint64_t>()));
    case T::number_float: {
        const double d = j.get<double>();
        if (std::isfinite(d) && std::floor(d) == d && std::fabs(d) < 9e15)
            return Value(int64_t(d));
        return Value(d);
    }
    case T::string: return Value(j.get<std::string>());
    case T::array: {
        std::vector<Value> items;
        items.reserve(j.size());
        for (const auto& e : j)
            items.push_back(fromJson(e));
        return makeArray(std::move(items));
    }
    case T::object: {
        Value o = makeObject();
        for (auto it = j.begin(); it != j.end(); ++it)
            o.obj().items.emplace_back(it.key(), fromJson(it.value()));
        return o;
    }
    default: return Value();
    }
}

} // namespace logitscope::jinja
