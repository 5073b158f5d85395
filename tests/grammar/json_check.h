// A small JSON Schema checker for the tests (written here, independent of the grammar converter): type
// (and unions), properties, required, additionalProperties (absent = allowed, as the spec says), enum,
// const, items (schema or tuple), minItems/maxItems, minLength/maxLength (code points), pattern (std::regex),
// $ref to #/definitions or #/$defs, anyOf, oneOf. Returns "" when the value conforms, else what is wrong.
#pragma once

#include <nlohmann/json.hpp>

#include <regex>
#include <string>

namespace logitscope::test {

inline size_t codePoints(const std::string& s)
{
    size_t n = 0;
    for (unsigned char c : s)
        n += (c & 0xC0) != 0x80;
    return n;
}

inline bool hasType(const nlohmann::json& v, const std::string& t)
{
    if (t == "object") return v.is_object();
    if (t == "array") return v.is_array();
    if (t == "string") return v.is_string();
    if (t == "boolean") return v.is_boolean();
    if (t == "null") return v.is_null();
    if (t == "number") return v.is_number();
    if (t == "integer") return v.is_number_integer() || (v.is_number_float() && v.get<double>() == double(int64_t(v.get<double>())));
    return false;
}

inline std::string schemaViolation(const nlohmann::json& v, const nlohmann::json& s, const nlohmann::json& root,
                                   const std::string& at = "$")
{
    if (s.is_boolean())
        return s.get<bool>() ? "" : at + ": schema false";
    if (s.contains("$ref")) {
        const std::string r = s["$ref"];
        for (const std::string prefix : {"#/definitions/", "#/$defs/"})
            if (r.rfind(prefix, 0) == 0)
                return schemaViolation(v, root[prefix.substr(2, prefix.size() - 3)][r.substr(prefix.size())], root, at);
        return at + ": unresolved $ref " + r;
    }
    if (s.contains("anyOf")) {
        for (const auto& alt : s["anyOf"])
            if (schemaViolation(v, alt, root, at).empty())
                return "";
        return at + ": matches no anyOf alternative";
    }
    if (s.contains("oneOf")) {
        int n = 0;
        for (const auto& alt : s["oneOf"])
            n += schemaViolation(v, alt, root, at).empty();
        return n == 1 ? "" : at + ": matches " + std::to_string(n) + " oneOf alternatives";
    }
    if (s.contains("const") && v != s["const"])
        return at + ": not the const " + s["const"].dump();
    if (s.contains("enum")) {
        bool found = false;
        for (const auto& e : s["enum"])
            found = found || e == v;
        if (!found)
            return at + ": not in the enum";
    }
    if (s.contains("type")) {
        bool ok = false;
        if (s["type"].is_string())
            ok = hasType(v, s["type"]);
        else
            for (const auto& t : s["type"])
                ok = ok || hasType(v, t);
        if (!ok)
            return at + ": wrong type (" + std::string(v.type_name()) + ")";
    }
    if (v.is_string()) {
        const std::string str = v;
        if (s.contains("minLength") && codePoints(str) < s["minLength"].get<size_t>())
            return at + ": shorter than minLength";
        if (s.contains("maxLength") && codePoints(str) > s["maxLength"].get<size_t>())
            return at + ": longer than maxLength";
        if (s.contains("pattern") && !std::regex_search(str, std::regex(s["pattern"].get<std::string>())))
            return at + ": does not match the pattern";
    }
    if (v.is_array()) {
        if (s.contains("minItems") && v.size() < s["minItems"].get<size_t>())
            return at + ": fewer than minItems";
        if (s.contains("maxItems") && v.size() > s["maxItems"].get<size_t>())
            return at + ": more than maxItems";
        if (s.contains("items")) {
            const auto& items = s["items"];
            for (size_t i = 0; i < v.size(); ++i) {
                const auto& sub = items.is_array() ? (i < items.size() ? items[i] : nlohmann::json(false)) : items;
                const std::string e = schemaViolation(v[i], sub, root, at + "[" + std::to_string(i) + "]");
                if (!e.empty())
                    return e;
            }
            if (items.is_array() && v.size() != items.size())
                return at + ": tuple of the wrong length";
        }
    }
    if (v.is_object()) {
        if (s.contains("required"))
            for (const auto& r : s["required"])
                if (!v.contains(r.get<std::string>()))
                    return at + ": missing required " + r.get<std::string>();
        for (auto it = v.begin(); it != v.end(); ++it) {
            if (s.contains("properties") && s["properties"].contains(it.key())) {
                const std::string e = schemaViolation(it.value(), s["properties"][it.key()], root, at + "." + it.key());
                if (!e.empty())
                    return e;
            } else if (s.contains("additionalProperties")) {
                const std::string e = schemaViolation(it.value(), s["additionalProperties"], root, at + "." + it.key());
                if (!e.empty())
                    return e;
            }
        }
    }
    return "";
}

} // namespace logitscope::test
