// Strict readers for the JSON files the GUI opens (traces, session files): each names the field it
// was reading ("steps[3].raw_top[0].id: expected an integer") in the Error it throws, so a corrupt or
// hand-edited file gives a clear message and never a crash. Not a general JSON library.
#pragma once

#include "common/error.h"

#include <nlohmann/json.hpp>

#include <cmath>
#include <cstdint>
#include <limits>
#include <string>

namespace logitscope::gui::json {

using Json = nlohmann::json;

inline std::string at(const std::string& path, const std::string& key)
{
    return path.empty() ? key : path + "." + key;
}
inline std::string at(const std::string& path, size_t index)
{
    return path + "[" + std::to_string(index) + "]";
}

[[noreturn]] inline void fail(const std::string& field, const std::string& what)
{
    throw logitscope::Error(field + ": " + what);
}

inline const Json& member(const Json& object, const std::string& key, const std::string& path)
{
    if (!object.is_object())
        fail(path.empty() ? "(top level)" : path, "expected an object");
    const auto it = object.find(key);
    if (it == object.end())
        fail(at(path, key), "missing");
    return *it;
}
inline bool has(const Json& object, const std::string& key)
{
    return object.is_object() && object.contains(key) && !object.at(key).is_null();
}

inline int64_t integer(const Json& v, const std::string& field, int64_t lo = std::numeric_limits<int32_t>::min(),
                       int64_t hi = std::numeric_limits<int32_t>::max())
{
    if (!v.is_number_integer())
        fail(field, "expected an integer");
    const int64_t x = v.is_number_unsigned() ? int64_t(std::min<uint64_t>(v.get<uint64_t>(), uint64_t(INT64_MAX))) : v.get<int64_t>();
    if (x < lo || x > hi)
        fail(field, "out of range (" + std::to_string(x) + " not in " + std::to_string(lo) + ".." + std::to_string(hi) + ")");
    return x;
}
inline double number(const Json& v, const std::string& field, bool allowNull = false)
{
    if (allowNull && v.is_null())
        return -std::numeric_limits<double>::infinity();
    if (!v.is_number())
        fail(field, "expected a number");
    return v.get<double>();
}
inline std::string string(const Json& v, const std::string& field)
{
    if (!v.is_string())
        fail(field, "expected a string");
    return v.get<std::string>();
}
inline bool boolean(const Json& v, const std::string& field)
{
    if (!v.is_boolean())
        fail(field, "expected true or false");
    return v.get<bool>();
}
inline const Json& array(const Json& v, const std::string& field, size_t maxSize = 1u << 24)
{
    if (!v.is_array())
        fail(field, "expected an array");
    if (v.size() > maxSize)
        fail(field, "too many entries (" + std::to_string(v.size()) + ")");
    return v;
}

} // namespace logitscope::gui::json
