// JSON Schema -> GBNF (see json_schema_grammar.h). One rule per schema node, named after its path.
#include "decoding/grammar/json_schema_grammar.h"

#include "common/error.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <functional>
#include <cmath>
#include <map>
#include <optional>
#include <set>

namespace logitscope {

namespace {

const char* kSpace = "| \" \" | \"\\n\" [ \\t]{0,20}";
const char* kChar = "[^\"\\\\\\x7F\\x00-\\x1F] | [\\\\] ([\"\\\\bfnrt/] | \"u\" [0-9a-fA-F]{4})";

// GBNF string literal for raw text.
std::string literal(const std::string& text)
{
    std::string out = "\"";
    for (unsigned char c : text) {
        if (c == '"') out += "\\\"";
        else if (c == '\\') out += "\\\\";
        else if (c == '\n') out += "\\n";
        else if (c == '\r') out += "\\r";
        else if (c == '\t') out += "\\t";
        else if (c < 0x20) {
            static const char* hex = "0123456789ABCDEF";
            out += "\\x";
            out += hex[c >> 4];
            out += hex[c & 15];
        } else out += char(c);
    }
    return out + "\"";
}

std::string sanitize(const std::string& name)
{
    std::string out;
    for (char c : name)
        out += ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')) ? c : '-';
    return out.empty() ? std::string("x") : out;
}

// --- integer ranges (minimum / maximum / exclusiveMinimum / exclusiveMaximum on "integer") ---
// GBNF for the decimal numbers of `lo`..`hi`, two digit strings of one length (no sign, leading digits
// as given): the usual split into a prefix that follows `lo`, a free middle, and a prefix that follows `hi`.
std::string sameLengthRange(const std::string& lo, const std::string& hi)
{
    const size_t n = lo.size();
    if (lo == hi)
        return literal(lo);
    auto digits = [](char a, char b) { return a == b ? literal(std::string(1, a)) : "[" + std::string(1, a) + "-" + b + "]"; };
    auto any = [](size_t count) { return count == 0 ? std::string() : count == 1 ? std::string(" [0-9]") : " [0-9]{" + std::to_string(count) + "}"; };
    if (n == 1)
        return digits(lo[0], hi[0]);
    if (lo[0] == hi[0])
        return literal(std::string(1, lo[0])) + " (" + sameLengthRange(lo.substr(1), hi.substr(1)) + ")";
    const std::string loRest = lo.substr(1), hiRest = hi.substr(1);
    const bool loFree = loRest == std::string(n - 1, '0'), hiFree = hiRest == std::string(n - 1, '9');
    char midLo = char(lo[0] + (loFree ? 0 : 1)), midHi = char(hi[0] - (hiFree ? 0 : 1));
    std::vector<std::string> parts;
    if (!loFree)
        parts.push_back(literal(std::string(1, lo[0])) + " (" + sameLengthRange(loRest, std::string(n - 1, '9')) + ")");
    if (midLo <= midHi)
        parts.push_back(digits(midLo, midHi) + any(n - 1));
    if (!hiFree)
        parts.push_back(literal(std::string(1, hi[0])) + " (" + sameLengthRange(std::string(n - 1, '0'), hiRest) + ")");
    std::string out;
    for (const auto& part : parts)
        out += (out.empty() ? "" : " | ") + part;
    return out;
}

constexpr int64_t kMaxBound = 999'999'999'999'999; // 15 digits: integers of the grammar have at most 16

// GBNF for the integers a..b (0 <= a; b < 0 means no upper bound), without leading zeros.
std::string nonNegativeRange(int64_t a, int64_t b)
{
    std::vector<std::string> parts;
    const std::string as = std::to_string(a);
    const size_t lastLength = b < 0 ? as.size() : std::to_string(b).size();
    int64_t start = a;
    for (size_t len = as.size(); len <= lastLength; ++len) {
        const int64_t top = len >= 16 ? kMaxBound : int64_t(std::stoll(std::string(len, '9')));
        const int64_t end = b < 0 ? top : std::min(b, top);
        if (start <= end)
            parts.push_back(sameLengthRange(std::to_string(start), std::to_string(end)));
        start = end + 1;
    }
    if (b < 0 && as.size() < 16)
        parts.push_back("[1-9] [0-9]{" + std::to_string(as.size()) + ",15}"); // every longer number
    std::string out;
    for (const auto& part : parts)
        out += (out.empty() ? "(" : " | (") + part + ")";
    return out;
}

// GBNF for the integers in [lo, hi]; a missing bound is open.
std::string integerRange(std::optional<int64_t> lo, std::optional<int64_t> hi)
{
    std::vector<std::string> parts;
    if (!lo || *lo < 0) {
        // Negative numbers -x with x in [max(1, -hi), -lo].
        const int64_t xa = hi && *hi < 0 ? -*hi : 1;
        const int64_t xb = lo ? -*lo : -1;
        parts.push_back("\"-\" (" + nonNegativeRange(xa, xb) + ")");
    }
    if (!hi || *hi >= 0)
        parts.push_back(nonNegativeRange(lo && *lo > 0 ? *lo : 0, hi ? *hi : -1));
    std::string out;
    for (const auto& part : parts)
        out += (out.empty() ? "(" : " | (") + part + ")";
    return out;
}

class Converter {
public:
    Converter(const nlohmann::ordered_json& root, std::string source) : m_root(root), m_source(std::move(source)) {}

    std::string run()
    {
        const std::string body = visitBody(m_root, "#");
        std::string out = "root ::= " + body + "\n";
        for (const auto& [name, rule] : m_rules)
            out += name + " ::= " + rule + "\n";
        return out;
    }

private:
    [[noreturn]] void fail(const std::string& path, const std::string& message) const
    {
        throw Error(m_source + ": at " + path + ": " + message);
    }

    std::string addRule(const std::string& wanted, const std::string& body)
    {
        std::string name = sanitize(wanted);
        if (name == "root")
            name = "root-value";
        auto it = m_rules.find(name);
        if (it != m_rules.end() && it->second == body)
            return name;
        for (int i = 2; m_rules.count(name) || m_reserved.count(name); ++i)
            name = sanitize(wanted) + "-" + std::to_string(i);
        m_rules[name] = body;
        return name;
    }

    std::string prim(const std::string& name)
    {
        if (m_rules.count(name))
            return name;
        if (name == "space") m_rules[name] = kSpace;
        else if (name == "char") m_rules[name] = kChar;
        else if (name == "integral-part") m_rules[name] = "[0] | [1-9] [0-9]{0,15}";
        else if (name == "decimal-part") m_rules[name] = "[0-9]{1,16}";
        else if (name == "boolean") m_rules[name] = "(\"true\" | \"false\") " + prim("space");
        else if (name == "null") m_rules[name] = "\"null\" " + prim("space");
        else if (name == "integer") m_rules[name] = "(\"-\"? " + prim("integral-part") + ") " + prim("space");
        else if (name == "number")
            m_rules[name] = "(\"-\"? " + prim("integral-part") + ") (\".\" " + prim("decimal-part") + ")? ([eE] [-+]? " +
                            prim("integral-part") + ")? " + prim("space");
        else if (name == "string") m_rules[name] = "\"\\\"\" " + prim("char") + "* \"\\\"\" " + prim("space");
        else if (name == "value") {
            m_rules[name] = ""; // reserve: the rules below refer back to it
            m_rules[name] = prim("object") + " | " + prim("array") + " | " + prim("string") + " | " + prim("number") +
                            " | " + prim("boolean") + " | " + prim("null");
        } else if (name == "object") {
            m_rules[name] = "";
            m_rules[name] = "\"{\" " + prim("space") + " ( " + prim("string") + " \":\" " + prim("space") + " " + prim("value") +
                            " (\",\" " + prim("space") + " " + prim("string") + " \":\" " + prim("space") + " " + prim("value") +
                            ")* )? \"}\" " + prim("space");
        } else if (name == "array") {
            m_rules[name] = "";
            m_rules[name] = "\"[\" " + prim("space") + " ( " + prim("value") + " (\",\" " + prim("space") + " " + prim("value") +
                            ")* )? \"]\" " + prim("space");
        }
        return name;
    }

    // The rule name for a schema node (a rule of its own, so that error-free GBNF names follow the path).
    std::string visit(const nlohmann::ordered_json& schema, const std::string& path, const std::string& name)
    {
        const std::string body = visitBody(schema, path);
        // Bodies that are just a rule name need no rule of their own.
        if (body.find_first_of(" |()\"[") == std::string::npos)
            return body;
        return addRule(name, body);
    }

    std::string visitBody(const nlohmann::ordered_json& schema, const std::string& path)
    {
        if (++m_depth > 64)
            fail(path, "schema nested deeper than 64 levels");
        struct Leave {
            int& d;
            ~Leave() { --d; }
        } leave{m_depth};

        if (schema.is_boolean()) {
            if (!schema.get<bool>())
                fail(path, "the schema 'false' accepts nothing");
            return prim("value");
        }
        if (!schema.is_object())
            fail(path, "a schema must be an object or a boolean, got " + std::string(schema.type_name()));

        static const std::set<std::string> ignored = {"title", "description", "default", "examples", "$schema", "$id",
                                                      "$comment", "definitions", "$defs", "readOnly", "writeOnly", "deprecated"};
        static const std::set<std::string> known = {"type", "properties", "required", "additionalProperties", "enum", "const",
                                                    "items", "minItems", "maxItems", "minLength", "maxLength", "pattern",
                                                    "$ref", "anyOf", "oneOf", "minimum", "maximum",
                                                    "exclusiveMinimum", "exclusiveMaximum"};
        for (auto it = schema.begin(); it != schema.end(); ++it)
            if (!ignored.count(it.key()) && !known.count(it.key()))
                fail(path, "keyword '" + it.key() + "' is not supported (supported: type, properties, required, "
                                                    "additionalProperties, enum, const, items, minItems, maxItems, "
                                                    "minLength, maxLength, pattern, minimum, maximum, "
                                                    "exclusiveMinimum, exclusiveMaximum, $ref, anyOf, oneOf)");

        if (schema.contains("$ref")) {
            if (schema.size() > 1) {
                for (auto it = schema.begin(); it != schema.end(); ++it)
                    if (it.key() != "$ref" && !ignored.count(it.key()))
                        fail(path, "keyword '" + it.key() + "' beside $ref is not supported");
            }
            return ref(schema["$ref"], path);
        }
        for (const char* key : {"anyOf", "oneOf"}) {
            if (!schema.contains(key))
                continue;
            const auto& list = schema[key];
            if (!list.is_array() || list.empty())
                fail(path + "/" + key, "must be a non-empty array of schemas");
            if (schema.size() > 1)
                for (auto it = schema.begin(); it != schema.end(); ++it)
                    if (it.key() != key && !ignored.count(it.key()))
                        fail(path, "keyword '" + it.key() + "' beside " + key + " is not supported");
            std::string out;
            for (size_t i = 0; i < list.size(); ++i)
                out += (i ? " | " : "") + visit(list[i], path + "/" + key + "/" + std::to_string(i),
                                               nameOf(path) + "-" + std::to_string(i));
            return out;
        }
        if (schema.contains("const"))
            return literal(schema["const"].dump()) + " " + prim("space");
        if (schema.contains("enum")) {
            const auto& list = schema["enum"];
            if (!list.is_array() || list.empty())
                fail(path + "/enum", "must be a non-empty array");
            std::string out = "(";
            for (size_t i = 0; i < list.size(); ++i)
                out += (i ? " | " : "") + literal(list[i].dump());
            return out + ") " + prim("space");
        }

        std::vector<std::string> types;
        if (schema.contains("type")) {
            const auto& t = schema["type"];
            if (t.is_string())
                types.push_back(t.get<std::string>());
            else if (t.is_array() && !t.empty()) {
                for (const auto& x : t) {
                    if (!x.is_string())
                        fail(path + "/type", "entries must be type names");
                    types.push_back(x.get<std::string>());
                }
            } else
                fail(path + "/type", "must be a type name or a non-empty array of them");
        } else {
            // No type: infer it from the keywords present, else any value.
            if (schema.contains("properties") || schema.contains("additionalProperties") || schema.contains("required"))
                types.push_back("object");
            else if (schema.contains("items") || schema.contains("minItems") || schema.contains("maxItems"))
                types.push_back("array");
            else if (schema.contains("minLength") || schema.contains("maxLength") || schema.contains("pattern"))
                types.push_back("string");
            else if (hasBounds(schema))
                fail(path, "minimum/maximum need \"type\": \"integer\" (bounds on other numbers are not supported)");
            else
                return prim("value");
        }
        std::string out;
        for (size_t i = 0; i < types.size(); ++i) {
            std::string one = typed(schema, types[i], path);
            if (types.size() > 1 && one.find(' ') != std::string::npos)
                one = addRule(nameOf(path) + "-" + types[i], one);
            out += (i ? " | " : "") + one;
        }
        return out;
    }

    std::string nameOf(const std::string& path) const
    {
        const size_t cut = path.rfind('/');
        const std::string last = cut == std::string::npos ? path : path.substr(cut + 1);
        return last == "#" || last.empty() ? std::string("value") : last;
    }

    std::string ref(const nlohmann::ordered_json& target, const std::string& path)
    {
        if (!target.is_string())
            fail(path + "/$ref", "must be a string");
        const std::string r = target.get<std::string>();
        auto done = m_refs.find(r);
        if (done != m_refs.end())
            return done->second;
        std::string key;
        const nlohmann::ordered_json* node = nullptr;
        for (const char* prefix : {"#/definitions/", "#/$defs/"}) {
            const std::string p = prefix;
            if (r.rfind(p, 0) == 0) {
                key = r.substr(p.size());
                const std::string container = p.substr(2, p.size() - 3);
                if (m_root.is_object() && m_root.contains(container) && m_root[container].is_object() &&
                    m_root[container].contains(key))
                    node = &m_root[container][key];
            }
        }
        if (r == "#")
            node = &m_root, key = "root-value";
        if (!node)
            fail(path + "/$ref", "'" + r + "' does not name an entry of #/definitions or #/$defs in this schema");
        // Reserve the name first: a recursive schema refers to itself by it.
        std::string name = sanitize(key);
        for (int i = 2; m_rules.count(name) || m_reserved.count(name) || name == "root"; ++i)
            name = sanitize(key) + "-" + std::to_string(i);
        m_reserved.insert(name);
        m_refs[r] = name;
        const std::string body = visitBody(*node, r);
        m_rules[name] = body;
        m_reserved.erase(name);
        return name;
    }

    int readCount(const nlohmann::ordered_json& schema, const char* key, const std::string& path, int fallback)
    {
        if (!schema.contains(key))
            return fallback;
        const auto& v = schema[key];
        if (!v.is_number_integer() || v.get<int64_t>() < 0 || v.get<int64_t>() > 10000)
            fail(path + "/" + key, "must be an integer in [0, 10000]");
        return int(v.get<int64_t>());
    }

    static std::string repetition(const std::string& item, int lo, int hi)
    {
        if (hi < 0)
            return lo == 0 ? item + "*" : lo == 1 ? item + "+" : item + "{" + std::to_string(lo) + ",}";
        if (lo == hi)
            return lo == 1 ? item : item + "{" + std::to_string(lo) + "}";
        return item + "{" + std::to_string(lo) + "," + std::to_string(hi) + "}";
    }

    std::string typed(const nlohmann::ordered_json& s, const std::string& type, const std::string& path)
    {
        auto onlyFor = [&](std::initializer_list<const char*> keys) {
            for (const char* k : keys)
                if (s.contains(k) && !(s.contains("type") && s["type"].is_array()))
                    fail(path, "keyword '" + std::string(k) + "' does not apply to type '" + type + "'");
        };
        if (type == "string") {
            onlyFor({"properties", "additionalProperties", "required", "items", "minItems", "maxItems", "minimum",
                     "maximum", "exclusiveMinimum", "exclusiveMaximum"});
            if (s.contains("pattern")) {
                if (s.contains("minLength") || s.contains("maxLength"))
                    fail(path, "pattern together with minLength/maxLength is not supported");
                if (!s["pattern"].is_string())
                    fail(path + "/pattern", "must be a string");
                return "\"\\\"\" " + pattern(s["pattern"].get<std::string>(), path + "/pattern") + " \"\\\"\" " + prim("space");
            }
            const int lo = readCount(s, "minLength", path, 0);
            const int hi = readCount(s, "maxLength", path, -1);
            if (hi >= 0 && hi < lo)
                fail(path, "maxLength is below minLength");
            if (lo == 0 && hi < 0)
                return prim("string");
            return "\"\\\"\" " + repetition(prim("char"), lo, hi) + " \"\\\"\" " + prim("space");
        }
        if (type == "integer" || type == "number" || type == "boolean" || type == "null") {
            onlyFor({"properties", "additionalProperties", "required", "items", "minItems", "maxItems", "minLength",
                     "maxLength", "pattern"});
            if (type == "integer" && hasBounds(s))
                return boundedInteger(s, path);
            if (type != "integer")
                onlyFor({"minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum"});
            return prim(type);
        }
        if (type == "array") {
            onlyFor({"properties", "additionalProperties", "required", "minLength", "maxLength", "pattern", "minimum",
                     "maximum", "exclusiveMinimum", "exclusiveMaximum"});
            const int lo = readCount(s, "minItems", path, 0);
            const int hi = readCount(s, "maxItems", path, -1);
            if (hi >= 0 && hi < lo)
                fail(path, "maxItems is below minItems");
            const std::string sp = prim("space");
            if (s.contains("items") && s["items"].is_array()) {
                // A tuple: exactly these items in order.
                const auto& items = s["items"];
                std::string out = "\"[\" " + sp;
                for (size_t i = 0; i < items.size(); ++i)
                    out += std::string(i ? " \",\" " + sp + " " : " ") +
                           visit(items[i], path + "/items/" + std::to_string(i), nameOf(path) + "-" + std::to_string(i));
                return out + " \"]\" " + sp;
            }
            const std::string item = s.contains("items") ? visit(s["items"], path + "/items", nameOf(path) + "-item")
                                                         : prim("value");
            if (hi == 0)
                return "\"[\" " + sp + " \"]\" " + sp;
            const std::string more = "(\",\" " + sp + " " + item + ")";
            const std::string list = item + " " + repetition(more, std::max(0, lo - 1), hi < 0 ? -1 : hi - 1);
            if (lo == 0)
                return "\"[\" " + sp + " (" + list + ")? \"]\" " + sp;
            return "\"[\" " + sp + " " + list + " \"]\" " + sp;
        }
        if (type == "object")
            return object(s, path);
        fail(path + "/type", "unknown type '" + type + "' (string, integer, number, boolean, null, array, object)");
    }

    std::string object(const nlohmann::ordered_json& s, const std::string& path)
    {
        onlyObject(s, path);
        const std::string sp = prim("space");
        std::vector<std::string> names;
        std::set<std::string> required;
        if (s.contains("required")) {
            if (!s["required"].is_array())
                fail(path + "/required", "must be an array of property names");
            for (const auto& r : s["required"]) {
                if (!r.is_string())
                    fail(path + "/required", "must be an array of property names");
                required.insert(r.get<std::string>());
            }
        }
        struct Item {
            std::string expr;
            bool optional = false;
            bool repeats = false;
        };
        std::vector<Item> reqItems, optItems;
        if (s.contains("properties")) {
            if (!s["properties"].is_object())
                fail(path + "/properties", "must be an object");
            for (auto it = s["properties"].begin(); it != s["properties"].end(); ++it) {
                names.push_back(it.key());
                const std::string value = visit(it.value(), path + "/properties/" + it.key(), it.key());
                const std::string kv = addRule(it.key() + "-kv", literal(nlohmann::ordered_json(it.key()).dump()) + " " + sp +
                                                                     " \":\" " + sp + " " + value);
                (required.count(it.key()) ? reqItems : optItems).push_back({kv, !required.count(it.key()), false});
            }
        }
        for (const std::string& r : required)
            if (std::find(names.begin(), names.end(), r) == names.end())
                fail(path + "/required", "'" + r + "' is required but not among the properties");
        std::vector<Item> items = reqItems; // required first, in the order they are declared
        items.insert(items.end(), optItems.begin(), optItems.end());
        if (s.contains("additionalProperties")) {
            const auto& ap = s["additionalProperties"];
            if (!(ap.is_boolean() && !ap.get<bool>())) {
                const std::string value = ap.is_boolean() ? prim("value")
                                                          : visit(ap, path + "/additionalProperties", nameOf(path) + "-additional");
                const std::string key = addRule(nameOf(path) + "-additional-k", otherKey(names));
                const std::string kv = addRule(nameOf(path) + "-additional-kv", key + " \":\" " + sp + " " + value);
                items.push_back({kv, true, true});
            }
        }
        return "\"{\" " + sp + " " + members(items, 0, false) + " \"}\" " + sp;
    }

    static bool hasBounds(const nlohmann::ordered_json& s)
    {
        return s.contains("minimum") || s.contains("maximum") || s.contains("exclusiveMinimum") || s.contains("exclusiveMaximum");
    }

    // An integer with bounds: the grammar spells out exactly the numbers in range.
    std::string boundedInteger(const nlohmann::ordered_json& s, const std::string& path)
    {
        auto bound = [&](const char* key, bool lower, bool exclusive) -> std::optional<int64_t> {
            if (!s.contains(key))
                return std::nullopt;
            const auto& v = s[key];
            if (!v.is_number() || !std::isfinite(v.get<double>()) || std::fabs(v.get<double>()) > double(kMaxBound))
                fail(path + "/" + key, "must be a number within ±" + std::to_string(kMaxBound));
            const double x = v.get<double>();
            // The integers at or beyond the bound: ceil for a lower bound, floor for an upper one.
            int64_t n = int64_t(lower ? std::ceil(x) : std::floor(x));
            if (exclusive && double(n) == x)
                n += lower ? 1 : -1;
            return n;
        };
        std::optional<int64_t> lo = bound("minimum", true, false), hi = bound("maximum", false, false);
        if (auto e = bound("exclusiveMinimum", true, true))
            lo = lo ? std::max(*lo, *e) : *e;
        if (auto e = bound("exclusiveMaximum", false, true))
            hi = hi ? std::min(*hi, *e) : *e;
        if (lo && hi && *lo > *hi)
            fail(path, "no integer lies between the minimum and the maximum");
        return integerRange(lo, hi) + " " + prim("space");
    }

    void onlyObject(const nlohmann::ordered_json& s, const std::string& path)
    {
        for (const char* k : {"items", "minItems", "maxItems", "minLength", "maxLength", "pattern", "minimum", "maximum",
                              "exclusiveMinimum", "exclusiveMaximum"})
            if (s.contains(k) && !(s.contains("type") && s["type"].is_array()))
                fail(path, "keyword '" + std::string(k) + "' does not apply to type 'object'");
    }

    // The members from item i on; `after` when some member was already written (the next needs a comma).
    template <class Item>
    std::string members(const std::vector<Item>& items, size_t i, bool after)
    {
        if (i == items.size())
            return "";
        const std::string sp = prim("space");
        const Item& it = items[i];
        const std::string comma = "\",\" " + sp + " ";
        if (after) {
            std::string here;
            if (!it.optional)
                here = comma + it.expr;
            else if (it.repeats)
                here = "(" + comma + it.expr + ")*";
            else
                here = "(" + comma + it.expr + ")?";
            const std::string rest = members(items, i + 1, true);
            return rest.empty() ? here : here + " " + rest;
        }
        if (!it.optional) {
            const std::string rest = members(items, i + 1, true);
            return rest.empty() ? it.expr : it.expr + " " + rest;
        }
        // Optional and nothing written yet: this one first, or skip it.
        const std::string restAfter = it.repeats ? members(items, i, true) : members(items, i + 1, true);
        const std::string withIt = restAfter.empty() ? it.expr : it.expr + " " + restAfter;
        const std::string without = members(items, i + 1, false);
        if (without.empty())
            return "(" + withIt + ")?";
        return "(" + withIt + " | " + without + ")";
    }

    // A JSON string key that is none of `names` (so an extra key never repeats a declared one).
    std::string otherKey(const std::vector<std::string>& names)
    {
        struct Node {
            std::map<char, Node> kids;
            bool end = false;
        };
        Node root;
        for (const std::string& n : names) {
            Node* x = &root;
            for (char c : n)
                x = &x->kids[c];
            x->end = true;
        }
        const std::string ch = prim("char");
        // plain: a character that starts no escape and no declared continuation
        std::function<std::string(const Node&)> gen = [&](const Node& n) -> std::string {
            std::string alts;
            std::string excluded = "\"\\\\\\x7F\\x00-\\x1F";
            for (const auto& [c, kid] : n.kids) {
                const std::string lit = literal(std::string(1, c));
                alts += (alts.empty() ? "" : " | ") + lit + " " + gen(kid);
                if (c == ']' || c == '-' || c == '^' || c == '[')
                    excluded += std::string("\\") + c;
                else
                    excluded += c;
            }
            alts += (alts.empty() ? "" : " | ") + std::string("[^") + excluded + "] " + ch + "* | [\\\\] ([\"\\\\bfnrt/] | \"u\" [0-9a-fA-F]{4}) " + ch + "*";
            return n.end ? "(" + alts + ")" : "(" + alts + ")?";
        };
        return "\"\\\"\" " + gen(root) + " \"\\\"\" " + prim("space");
    }

    // A simple anchored regex as GBNF over the characters of a JSON string.
    std::string pattern(const std::string& re, const std::string& path)
    {
        size_t i = 0;
        std::string body = re;
        if (!body.empty() && body.front() == '^')
            body.erase(0, 1);
        else
            fail(path, "only anchored patterns (^...$) are supported");
        if (!body.empty() && body.back() == '$' && (body.size() < 2 || body[body.size() - 2] != '\\'))
            body.pop_back();
        else
            fail(path, "only anchored patterns (^...$) are supported");
        const std::string out = regexAlternatives(body, i, path, 0);
        if (i != body.size())
            fail(path, "unbalanced ')' in the pattern");
        return "(" + out + ")";
    }

    std::string regexAlternatives(const std::string& re, size_t& i, const std::string& path, int depth)
    {
        if (depth > 32)
            fail(path, "pattern groups nested too deeply");
        std::string out = regexSequence(re, i, path, depth);
        while (i < re.size() && re[i] == '|') {
            ++i;
            out += " | " + regexSequence(re, i, path, depth);
        }
        return out;
    }

    std::string regexSequence(const std::string& re, size_t& i, const std::string& path, int depth)
    {
        std::string out;
        static const std::string plainDot = "[^\"\\\\\\x7F\\x00-\\x1F]";
        while (i < re.size() && re[i] != '|' && re[i] != ')') {
            std::string atom;
            const char c = re[i];
            if (c == '(') {
                ++i;
                if (re.compare(i, 2, "?:") == 0)
                    i += 2;
                else if (i < re.size() && re[i] == '?')
                    fail(path, "pattern group kind '(?" + std::string(1, i + 1 < re.size() ? re[i + 1] : ' ') + "' is not supported");
                atom = "(" + regexAlternatives(re, i, path, depth + 1) + ")";
                if (i >= re.size() || re[i] != ')')
                    fail(path, "unclosed '(' in the pattern");
                ++i;
            } else if (c == '.') {
                atom = plainDot;
                ++i;
            } else if (c == '[') {
                const size_t start = i++;
                std::string cls = "[";
                bool negated = false;
                if (i < re.size() && re[i] == '^') {
                    negated = true;
                    cls += "^\"\\\\\\x7F\\x00-\\x1F";
                    ++i;
                }
                bool closed = false;
                while (i < re.size()) {
                    const char d = re[i];
                    if (d == ']') {
                        closed = true;
                        ++i;
                        break;
                    }
                    if (d == '\\') {
                        if (i + 1 >= re.size())
                            fail(path, "pattern ends inside an escape");
                        const char e = re[i + 1];
                        if (e == 'd') cls += "0-9";
                        else if (e == 'w') cls += "a-zA-Z0-9_";
                        else if (e == 's') cls += " ";
                        else if (e == '"' || e == '\\') fail(path, "pattern characters '\"' and '\\' are not supported");
                        else if (std::string("-]^[").find(e) != std::string::npos) cls += std::string("\\") + e;
                        else if (std::string(".()|*+?{}$/").find(e) != std::string::npos) cls += e;
                        else fail(path, "pattern escape '\\" + std::string(1, e) + "' is not supported");
                        i += 2;
                        continue;
                    }
                    if (d == '"')
                        fail(path, "pattern characters '\"' and '\\' are not supported");
                    cls += d;
                    ++i;
                }
                if (!closed)
                    fail(path, "unclosed '[' at offset " + std::to_string(start) + " of the pattern");
                (void)negated;
                atom = cls + "]";
            } else if (c == '\\') {
                if (i + 1 >= re.size())
                    fail(path, "pattern ends inside an escape");
                const char e = re[i + 1];
                if (e == 'd') atom = "[0-9]";
                else if (e == 'w') atom = "[a-zA-Z0-9_]";
                else if (e == 's') atom = "\" \"";
                else if (std::string(".()[]|*+?{}^$/-").find(e) != std::string::npos) atom = literal(std::string(1, e));
                else fail(path, "pattern escape '\\" + std::string(1, e) + "' is not supported");
                i += 2;
            } else if (c == '*' || c == '+' || c == '?' || c == '{') {
                fail(path, "pattern quantifier '" + std::string(1, c) + "' at offset " + std::to_string(i) + " has nothing to repeat");
            } else if (c == '^' || c == '$') {
                fail(path, "anchors inside the pattern are not supported");
            } else if (c == '"') {
                fail(path, "pattern characters '\"' and '\\' are not supported");
            } else {
                // One UTF-8 character, literally.
                size_t n = 1;
                const unsigned char u = static_cast<unsigned char>(c);
                if (u >= 0xC0) n = u >= 0xF0 ? 4 : u >= 0xE0 ? 3 : 2;
                atom = literal(re.substr(i, n));
                i += n;
            }
            // Quantifier.
            if (i < re.size()) {
                const char q = re[i];
                if (q == '*' || q == '+' || q == '?') {
                    atom += q;
                    ++i;
                } else if (q == '{') {
                    const size_t close = re.find('}', i);
                    if (close == std::string::npos)
                        fail(path, "unclosed '{' in the pattern");
                    const std::string inside = re.substr(i + 1, close - i - 1);
                    if (inside.empty() || inside.find_first_not_of("0123456789,") != std::string::npos)
                        fail(path, "pattern quantifier '{" + inside + "}' is not supported");
                    atom += "{" + inside + "}";
                    i = close + 1;
                }
                if (i < re.size() && (re[i] == '?' || re[i] == '+') && (out.size() || true) &&
                    (re[i - 1] == '*' || re[i - 1] == '+' || re[i - 1] == '?' || re[i - 1] == '}'))
                    fail(path, "lazy and possessive quantifiers are not supported");
            }
            out += (out.empty() ? "" : " ") + atom;
        }
        return out.empty() ? "\"\"" : out;
    }

    const nlohmann::ordered_json& m_root;
    std::string m_source;
    std::map<std::string, std::string> m_rules;
    std::set<std::string> m_reserved;
    std::map<std::string, std::string> m_refs;
    int m_depth = 0;
};

} // namespace

std::string jsonSchemaToGbnf(std::string_view schemaText, const std::string& source)
{
    nlohmann::ordered_json schema; // ordered: properties are generated in the order they are written
    try {
        schema = nlohmann::ordered_json::parse(schemaText);
    } catch (const nlohmann::ordered_json::parse_error& e) {
        throw Error(source + ": not valid JSON: " + e.what());
    }
    return Converter(schema, source).run();
}

} // namespace logitscope
