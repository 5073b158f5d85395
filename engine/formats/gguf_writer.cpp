// GGUF v3 serialisation (little-endian, 32-byte alignment).
#include "formats/gguf_writer.h"

#include "common/error.h"
#include "formats/ggml_types.h"

#include <cstring>
#include <fstream>

namespace logitscope {

namespace {

template <typename T>
void put(std::vector<uint8_t>& out, T v)
{
    const auto* p = reinterpret_cast<const uint8_t*>(&v);
    out.insert(out.end(), p, p + sizeof(T));
}

void putString(std::vector<uint8_t>& out, const std::string& s)
{
    put<uint64_t>(out, s.size());
    out.insert(out.end(), s.begin(), s.end());
}

} // namespace

void GgufWriter::setString(const std::string& key, const std::string& value)
{
    std::vector<uint8_t> v;
    put<uint32_t>(v, 8);
    putString(v, value);
    m_kv.emplace_back(key, std::move(v));
}

void GgufWriter::setU32(const std::string& key, uint32_t value)
{
    std::vector<uint8_t> v;
    put<uint32_t>(v, 4);
    put(v, value);
    m_kv.emplace_back(key, std::move(v));
}

void GgufWriter::setI32(const std::string& key, int32_t value)
{
    std::vector<uint8_t> v;
    put<uint32_t>(v, 5);
    put(v, value);
    m_kv.emplace_back(key, std::move(v));
}

void GgufWriter::setF32(const std::string& key, float value)
{
    std::vector<uint8_t> v;
    put<uint32_t>(v, 6);
    put(v, value);
    m_kv.emplace_back(key, std::move(v));
}

void GgufWriter::setBool(const std::string& key, bool value)
{
    std::vector<uint8_t> v;
    put<uint32_t>(v, 7);
    put<uint8_t>(v, value ? 1 : 0);
    m_kv.emplace_back(key, std::move(v));
}

void GgufWriter::setStringArray(const std::string& key, const std::vector<std::string>& values)
{
    std::vector<uint8_t> v;
    put<uint32_t>(v, 9);
    put<uint32_t>(v, 8);
    put<uint64_t>(v, values.size());
    for (const std::string& s : values)
        putString(v, s);
    m_kv.emplace_back(key, std::move(v));
}

void GgufWriter::setF32Array(const std::string& key, const std::vector<float>& values)
{
    std::vector<uint8_t> v;
    put<uint32_t>(v, 9);
    put<uint32_t>(v, 6);
    put<uint64_t>(v, values.size());
    for (float x : values)
        put(v, x);
    m_kv.emplace_back(key, std::move(v));
}

void GgufWriter::setI32Array(const std::string& key, const std::vector<int32_t>& values)
{
    std::vector<uint8_t> v;
    put<uint32_t>(v, 9);
    put<uint32_t>(v, 5);
    put<uint64_t>(v, values.size());
    for (int32_t x : values)
        put(v, x);
    m_kv.emplace_back(key, std::move(v));
}

void GgufWriter::addTensor(const std::string& name, DType type, const std::vector<int64_t>& shape, std::vector<uint8_t> data)
{
    m_tensors.push_back({name, type, shape, std::move(data)});
}

void GgufWriter::write(const std::string& path) const
{
    constexpr uint64_t align = 32;
    std::vector<uint8_t> out;
    put<uint32_t>(out, 0x46554747);
    put<uint32_t>(out, 3);
    put<uint64_t>(out, m_tensors.size());
    put<uint64_t>(out, m_kv.size());
    for (const auto& [key, value] : m_kv) {
        putString(out, key);
        out.insert(out.end(), value.begin(), value.end());
    }
    uint64_t offset = 0;
    for (const Tensor& t : m_tensors) {
        putString(out, t.name);
        put<uint32_t>(out, uint32_t(t.shape.size()));
        for (auto it = t.shape.rbegin(); it != t.shape.rend(); ++it) // GGUF lists the innermost dimension first
            put<uint64_t>(out, uint64_t(*it));
        put<uint32_t>(out, ggmlTypeOf(t.type));
        put<uint64_t>(out, offset);
        offset += (t.data.size() + align - 1) / align * align;
    }
    out.resize((out.size() + align - 1) / align * align, 0);
    for (const Tensor& t : m_tensors) {
        out.insert(out.end(), t.data.begin(), t.data.end());
        out.resize((out.size() + align - 1) / align * align, 0);
    }
    std::ofstream f(path, std::ios::binary | std::ios::trunc);
    if (!f)
        throw Error(path + ": cannot create file");
    f.write(reinterpret_cast<const char*>(out.data()), std::streamsize(out.size()));
    if (!f)
        throw Error(path + ": write failed");
}

} // namespace logitscope
