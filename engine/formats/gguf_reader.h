// GgufFile: reads a GGUF (v2/v3) file in place: metadata of every type and tensor views into the map.
// Every count, length and offset is checked before use; a bad file throws Error naming the file and field.
// Not a writer (see gguf_writer.h) and not a model loader (see model/model_loader.h).
#pragma once

#include "formats/mapped_file.h"
#include "formats/tensor_view.h"

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace logitscope {

enum class GgufType : uint32_t {
    U8 = 0, I8 = 1, U16 = 2, I16 = 3, U32 = 4, I32 = 5, F32 = 6, Bool = 7,
    String = 8, Array = 9, U64 = 10, I64 = 11, F64 = 12,
};
const char* ggufTypeName(GgufType t);

// One metadata value. Scalars are widened; arrays keep their element type and point into the map.
struct GgufValue {
    GgufType type = GgufType::U8;
    uint64_t u = 0;        // unsigned integers and bool
    int64_t i = 0;         // signed integers (also set for unsigned values that fit)
    double f = 0;          // floats (also set for integers)
    std::string_view str;  // String
    GgufType elemType = GgufType::U8;   // Array element type
    uint64_t count = 0;                 // Array length
    const uint8_t* elems = nullptr;     // Array of numbers: raw little-endian elements
    std::vector<std::string_view> strs; // Array of strings

    bool isInteger() const;
    bool isNumber() const { return isInteger() || type == GgufType::F32 || type == GgufType::F64; }
    std::string toString(size_t maxItems = 8) const; // for `info` and the GUI
};

class GgufFile {
public:
    explicit GgufFile(const std::string& path, bool populate = false); // populate: see MappedFile

    const std::string& path() const { return m_file->path(); }
    uint32_t version() const { return m_version; }
    size_t alignment() const { return m_alignment; }
    size_t fileSize() const { return m_file->size(); }

    const std::vector<std::pair<std::string, GgufValue>>& metadata() const { return m_kv; }
    const GgufValue* find(std::string_view key) const;
    bool has(std::string_view key) const { return find(key) != nullptr; }

    // Typed getters: throw Error "<file>: metadata <key>: ..." when missing (no default) or of the wrong type.
    std::string getString(std::string_view key) const;
    std::string getString(std::string_view key, const std::string& fallback) const;
    int64_t getInt(std::string_view key) const;
    int64_t getInt(std::string_view key, int64_t fallback) const;
    double getFloat(std::string_view key) const;
    double getFloat(std::string_view key, double fallback) const;
    bool getBool(std::string_view key, bool fallback) const;
    std::vector<std::string_view> getStringArray(std::string_view key) const;
    std::vector<float> getFloatArray(std::string_view key) const;
    std::vector<int64_t> getIntArray(std::string_view key) const;

    const std::vector<TensorView>& tensors() const { return m_tensors; }
    const TensorView* tensor(std::string_view name) const;

    // Keeps the mapping alive for views handed out by this file.
    std::shared_ptr<const MappedFile> mapping() const { return m_file; }

private:
    std::shared_ptr<const MappedFile> m_file;
    uint32_t m_version = 0;
    size_t m_alignment = 32;
    std::vector<std::pair<std::string, GgufValue>> m_kv;
    std::map<std::string, size_t, std::less<>> m_kvIndex;
    std::vector<TensorView> m_tensors;
    std::map<std::string, size_t, std::less<>> m_tensorIndex;
};

} // namespace logitscope
