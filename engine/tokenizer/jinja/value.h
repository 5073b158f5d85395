// Jinja values: a small variant (undefined, none, bool, int, float, string, list, dict, function) with
// reference semantics for lists and dicts (a namespace is a dict flagged as one), plus JSON in and out.
// Not a Python object model: no classes, no attributes beyond dict keys and the built-in methods.
#pragma once

#include "common/error.h"

#include <nlohmann/json.hpp>

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <variant>
#include <vector>

namespace logitscope::jinja {

// A template that cannot be parsed or rendered; the message names the template, line and construct.
class JinjaError : public Error {
public:
    explicit JinjaError(const std::string& message) : Error(message) {}
};

struct Value;
struct Object;
struct Function;
struct Array;
using ArrayPtr = std::shared_ptr<Array>;
using ObjectPtr = std::shared_ptr<Object>;
using FunctionPtr = std::shared_ptr<Function>;

struct Undefined {};
struct None {};

struct Value {
    std::variant<Undefined, None, bool, int64_t, double, std::string, ArrayPtr, ObjectPtr, FunctionPtr> v;

    Value() = default;
    Value(None n) : v(n) {}
    Value(bool b) : v(b) {}
    Value(int64_t i) : v(i) {}
    Value(int i) : v(int64_t(i)) {}
    Value(double d) : v(d) {}
    Value(std::string s) : v(std::move(s)) {}
    Value(const char* s) : v(std::string(s)) {}
    Value(ArrayPtr a) : v(std::move(a)) {}
    Value(ObjectPtr o) : v(std::move(o)) {}
    Value(FunctionPtr f) : v(std::move(f)) {}

    bool isUndefined() const { return v.index() == 0; }
    bool isNone() const { return v.index() == 1; }
    bool isBool() const { return v.index() == 2; }
    bool isInt() const { return v.index() == 3; }
    bool isFloat() const { return v.index() == 4; }
    bool isNumber() const { return isInt() || isFloat(); }
    bool isString() const { return v.index() == 5; }
    bool isArray() const { return v.index() == 6; }
    bool isObject() const { return v.index() == 7; }
    bool isFunction() const { return v.index() == 8; }

    bool b() const { return std::get<bool>(v); }
    int64_t i() const { return std::get<int64_t>(v); }
    double f() const { return std::get<double>(v); }
    double num() const { return isInt() ? double(i()) : isBool() ? double(b()) : f(); }
    const std::string& s() const { return std::get<std::string>(v); }
    Array& arr() const { return *std::get<ArrayPtr>(v); }
    Object& obj() const { return *std::get<ObjectPtr>(v); }
    const Function& fn() const { return *std::get<FunctionPtr>(v); }

    const char* typeName() const;
};

struct Array {
    std::vector<Value> items;
};

// An insertion-ordered dict (template dicts are small: a linear search is fine).
struct Object {
    std::vector<std::pair<std::string, Value>> items;
    bool isNamespace = false;

    const Value* find(const std::string& key) const;
    void set(const std::string& key, Value value);
};

// Call arguments: positional, then keyword (in the order written).
struct Args {
    std::vector<Value> pos;
    std::vector<std::pair<std::string, Value>> kw;
    const Value* kwarg(const std::string& name) const;
    // Positional index or keyword name, else nullptr.
    const Value* get(size_t index, const std::string& name) const;
};

struct Function {
    std::string name;
    std::function<Value(const Args&)> call;
};

Value makeArray(std::vector<Value> items = {});
Value makeObject();

// Python truthiness: empty strings, lists, dicts, 0, none and undefined are false.
bool truthy(const Value& v);
// Equality as templates expect it (numbers by value, strings by content, lists and dicts element-wise).
bool equals(const Value& a, const Value& b);

// What {{ value }} prints: strings as is, none and undefined as "", booleans "true"/"false", floats with
// a ".0" when integral, lists and dicts as JSON (as @huggingface/jinja prints them).
std::string toOutput(const Value& v);
// JSON text: Python json.dumps spacing (", " and ": ", or "," and ": " with indent), non-ASCII kept.
struct JsonStyle {
    int indent = -1; // < 0: one line
    bool ensureAscii = false;
    bool sortKeys = false;
    std::string itemSep, keySep; // empty: the defaults above
};
std::string toJson(const Value& v, const JsonStyle& style = {});
std::string formatFloat(double d); // shortest round-trip, Python/JS style ("1.0", "0.5", "1e-07")

// nlohmann JSON -> Value. Integral floats become ints (JavaScript numbers, as the reference does).
Value fromJson(const nlohmann::ordered_json& j);

} // namespace logitscope::jinja
