// GGUF parsing with checked arithmetic: the classes of overflow seen in other readers
// (huge n_kv, string or array lengths, tensor dims and offsets) are all rejected here.
#include "formats/gguf_reader.h"

#include "common/error.h"
#include "formats/ggml_types.h"

#include <cstring>
#include <limits>
#include <sstream>

namespace logitscope {

namespace {

constexpr uint32_t kMagic = 0x46554747; // "GGUF" little-endian
constexpr uint64_t kMaxKv = 1u << 20;
constexpr uint64_t kMaxTensors = 1u << 20;
constexpr uint64_t kMaxArray = uint64_t(1) << 31;
constexpr uint64_t kMaxDims = 4;

class Cursor {
public:
    Cursor(const MappedFile& f) : m_file(f) {}

    [[noreturn]] void fail(const std::string& what) const
    {
        std::ostringstream os;
        os << m_file.path() << ": invalid GGUF: " << what << " (at byte " << m_pos << ")";
        throw Error(os.str());
    }
    void need(uint64_t n, const char* what) const
    {
        if (n > m_file.size() - m_pos)
            fail(std::string("truncated while reading ") + what);
    }
    template <typename T>
    T read(const char* what)
    {
        need(sizeof(T), what);
        T v;
        std::memcpy(&v, m_file.data() + m_pos, sizeof(T));
        m_pos += sizeof(T);
        return v;
    }
    std::string_view string(const char* what)
    {
        const uint64_t n = read<uint64_t>(what);
        need(n, what);
        std::string_view s(reinterpret_cast<const char*>(m_file.data() + m_pos), size_t(n));
        m_pos += n;
        return s;
    }
    const uint8_t* skip(uint64_t n, const char* what)
    {
        need(n, what);
        const uint8_t* p = m_file.data() + m_pos;
        m_pos += n;
        return p;
    }
    size_t pos() const { return m_pos; }

private:
    const MappedFile& m_file;
    size_t m_pos = 0;
};

size_t scalarSize(GgufType t)
{
    switch (t) {
    case GgufType::U8: case GgufType::I8: case GgufType::Bool: return 1;
    case GgufType::U16: case GgufType::I16: return 2;
    case GgufType::U32: case GgufType::I32: case GgufType::F32: return 4;
    case GgufType::U64: case GgufType::I64: case GgufType::F64: return 8;
    default: return 0;
    }
}

bool knownType(uint32_t t) { return t <= uint32_t(GgufType::F64); }

// Reads a scalar of type t at p into v's u/i/f fields.
void readScalar(GgufType t, const uint8_t* p, GgufValue& v)
{
    auto load = [p](auto x) { std::memcpy(&x, p, sizeof x); return x; };
    switch (t) {
    case GgufType::U8: v.u = load(uint8_t()); break;
    case GgufType::Bool: v.u = load(uint8_t()) != 0; break;
    case GgufType::U16: v.u = load(uint16_t()); break;
    case GgufType::U32: v.u = load(uint32_t()); break;
    case GgufType::U64: v.u = load(uint64_t()); break;
    case GgufType::I8: v.i = load(int8_t()); break;
    case GgufType::I16: v.i = load(int16_t()); break;
    case GgufType::I32: v.i = load(int32_t()); break;
    case GgufType::I64: v.i = load(int64_t()); break;
    case GgufType::F32: v.f = load(float()); break;
    case GgufType::F64: v.f = load(double()); break;
    default: break;
    }
    switch (t) {
    case GgufType::U8: case GgufType::Bool: case GgufType::U16: case GgufType::U32: case GgufType::U64:
        v.i = v.u > uint64_t(std::numeric_limits<int64_t>::max()) ? std::numeric_limits<int64_t>::max() : int64_t(v.u);
        v.f = double(v.u);
        break;
    case GgufType::I8: case GgufType::I16: case GgufType::I32: case GgufType::I64:
        v.u = uint64_t(v.i);
        v.f = double(v.i);
        break;
    default: break;
    }
}

} // namespace

const char* ggufTypeName(GgufType t)
{
    static const char* names[] = {"u8", "i8", "u16", "i16", "u32", "i32", "f32", "bool", "string", "array", "u64", "i64", "f64"};
    return uint32_t(t) <= 12 ? names[uint32_t(t)] : "unknown";
}

bool GgufValue::isInteger() const
{
    switch (type) {
    case GgufType::U8: case GgufType::I8: case GgufType::U16: case GgufType::I16: case GgufType::U32:
    case GgufType::I32: case GgufType::U64: case GgufType::I64: case GgufType::Bool: return true;
    default: return false;
    }
}

std::string GgufValue::toString(size_t maxItems) const
{
    std::ostringstream os;
    switch (type) {
    case GgufType::String: os << '"' << str.substr(0, 200) << (str.size() > 200 ? "...\"" : "\""); break;
    case GgufType::Bool: os << (u ? "true" : "false"); break;
    case GgufType::F32: case GgufType::F64: os << f; break;
    case GgufType::Array: {
        os << ggufTypeName(elemType) << "[" << count << "]";
        if (count) {
            os << " {";
            const size_t n = size_t(std::min<uint64_t>(count, maxItems));
            for (size_t k = 0; k < n; ++k) {
                if (k)
                    os << ", ";
                if (elemType == GgufType::String) {
                    os << '"' << strs[k] << '"';
                } else {
                    GgufValue e;
                    e.type = elemType;
                    readScalar(elemType, elems + k * scalarSize(elemType), e);
                    os << e.toString();
                }
            }
            os << (count > n ? ", ...}" : "}");
        }
        break;
    }
    default:
        if (type == GgufType::U8 || type == GgufType::U16 || type == GgufType::U32 || type == GgufType::U64)
            os << u;
        else
            os << i;
    }
    return os.str();
}

GgufFile::GgufFile(const std::string& path, bool populate) : m_file(std::make_shared<MappedFile>(path, populate))
{
    Cursor c(*m_file);
    if (m_file->size() < 24)
        c.fail("file is too small to be GGUF (" + std::to_string(m_file->size()) + " bytes)");
    if (c.read<uint32_t>("magic") != kMagic)
        throw Error(path + ": not a GGUF file (bad magic)");
    m_version = c.read<uint32_t>("version");
    if (m_version != 2 && m_version != 3)
        c.fail("unsupported version " + std::to_string(m_version) + " (supported: 2 and 3)");
    const uint64_t nTensors = c.read<uint64_t>("tensor count");
    const uint64_t nKv = c.read<uint64_t>("metadata count");
    if (nTensors > kMaxTensors)
        c.fail("tensor count " + std::to_string(nTensors) + " is too large");
    if (nKv > kMaxKv)
        c.fail("metadata count " + std::to_string(nKv) + " is too large");
    // Each key/value starts with its 8-byte key length, each tensor info takes at least 8 + 4 + 8 + 4 + 8
    // bytes: counts the file cannot hold are rejected here, before reserve() would allocate for them.
    const uint64_t left = m_file->size() - c.pos();
    if (nTensors * 32 > left)
        c.fail("tensor count " + std::to_string(nTensors) + " cannot fit in a file of " + std::to_string(m_file->size()) + " bytes");
    if (nKv * 8 > left - nTensors * 32)
        c.fail("metadata count " + std::to_string(nKv) + " cannot fit in a file of " + std::to_string(m_file->size()) + " bytes");

    m_kv.reserve(size_t(nKv));
    for (uint64_t k = 0; k < nKv; ++k) {
        std::string key(c.string("metadata key"));
        if (m_kvIndex.count(key))
            c.fail("duplicate metadata key '" + key + "'");
        GgufValue v;
        const uint32_t t = c.read<uint32_t>("metadata type");
        if (!knownType(t))
            c.fail("metadata '" + key + "' has unknown type " + std::to_string(t));
        v.type = GgufType(t);
        if (v.type == GgufType::String) {
            v.str = c.string("metadata string");
        } else if (v.type == GgufType::Array) {
            const uint32_t et = c.read<uint32_t>("array type");
            if (!knownType(et) || et == uint32_t(GgufType::Array))
                c.fail("metadata '" + key + "' is an array of unsupported type " + std::to_string(et));
            v.elemType = GgufType(et);
            v.count = c.read<uint64_t>("array length");
            if (v.count > kMaxArray)
                c.fail("metadata '" + key + "' array length " + std::to_string(v.count) + " is too large");
            if (v.elemType == GgufType::String) {
                // Each string needs at least its 8-byte length: reject impossible counts before reserving.
                c.need(v.count * 8, "string array");
                v.strs.reserve(size_t(v.count));
                for (uint64_t e = 0; e < v.count; ++e)
                    v.strs.push_back(c.string("array string"));
            } else {
                const size_t es = scalarSize(v.elemType);
                v.elems = c.skip(v.count * es, "array elements");
            }
        } else {
            const size_t n = scalarSize(v.type);
            readScalar(v.type, c.skip(n, "metadata value"), v);
        }
        m_kvIndex.emplace(key, m_kv.size());
        m_kv.emplace_back(std::move(key), std::move(v));
    }

    if (const GgufValue* a = find("general.alignment")) {
        if (!a->isInteger() || a->u == 0 || a->u > 65536 || (a->u & (a->u - 1)) != 0)
            c.fail("general.alignment must be a power of two up to 65536, got " + a->toString());
        m_alignment = size_t(a->u);
    }

    struct RawInfo {
        uint64_t offset;
        uint64_t bytes;
    };
    std::vector<RawInfo> raw;
    m_tensors.reserve(size_t(nTensors));
    for (uint64_t k = 0; k < nTensors; ++k) {
        TensorView t;
        t.name = std::string(c.string("tensor name"));
        if (m_tensorIndex.count(t.name))
            c.fail("duplicate tensor name '" + t.name + "'");
        const uint32_t nDims = c.read<uint32_t>("tensor n_dims");
        if (nDims == 0 || nDims > kMaxDims)
            c.fail("tensor '" + t.name + "' has " + std::to_string(nDims) + " dimensions (1 to 4 allowed)");
        std::vector<int64_t> ne(nDims);
        uint64_t elements = 1;
        for (uint32_t d = 0; d < nDims; ++d) {
            const uint64_t n = c.read<uint64_t>("tensor dimension");
            if (n == 0 || n > (uint64_t(1) << 40) || elements > (uint64_t(1) << 42) / n)
                c.fail("tensor '" + t.name + "' has an invalid dimension " + std::to_string(n));
            elements *= n;
            ne[d] = int64_t(n);
        }
        t.shape.assign(ne.rbegin(), ne.rend());
        const uint32_t gt = c.read<uint32_t>("tensor type");
        if (!dtypeOfGgml(gt, t.type))
            c.fail("tensor '" + t.name + "' has unsupported type " + ggmlTypeName(gt) + " (" + std::to_string(gt) +
                "); supported: " + supportedGgmlTypeNames());
        if (ne[0] % dtypeBlockSize(t.type) != 0)
            c.fail("tensor '" + t.name + "' row length " + std::to_string(ne[0]) + " is not a multiple of the " +
                dtypeName(t.type) + " block size");
        const uint64_t offset = c.read<uint64_t>("tensor offset");
        if (offset % m_alignment != 0)
            c.fail("tensor '" + t.name + "' offset " + std::to_string(offset) + " is not aligned");
        raw.push_back({offset, dtypeBytes(t.type, int64_t(elements))});
        t.nbytes = size_t(raw.back().bytes);
        m_tensorIndex.emplace(t.name, m_tensors.size());
        m_tensors.push_back(std::move(t));
    }

    const uint64_t dataStart = (uint64_t(c.pos()) + m_alignment - 1) / m_alignment * m_alignment;
    if (nTensors > 0 && dataStart > m_file->size())
        c.fail("tensor data section starts past the end of the file");
    const uint64_t dataSize = m_file->size() - std::min<uint64_t>(dataStart, m_file->size());
    for (size_t k = 0; k < m_tensors.size(); ++k) {
        if (raw[k].offset > dataSize || raw[k].bytes > dataSize - raw[k].offset) {
            std::ostringstream os;
            os << path << ": invalid GGUF: tensor '" << m_tensors[k].name << "' data (" << raw[k].bytes
               << " bytes at offset " << raw[k].offset << ") lies outside the file (data section is " << dataSize
               << " bytes; the file may be truncated)";
            throw Error(os.str());
        }
        m_tensors[k].data = m_file->data() + dataStart + raw[k].offset;
    }
}

const GgufValue* GgufFile::find(std::string_view key) const
{
    auto it = m_kvIndex.find(key);
    return it == m_kvIndex.end() ? nullptr : &m_kv[it->second].second;
}

const TensorView* GgufFile::tensor(std::string_view name) const
{
    auto it = m_tensorIndex.find(name);
    return it == m_tensorIndex.end() ? nullptr : &m_tensors[it->second];
}

namespace {
[[noreturn]] void badKey(const std::string& path, std::string_view key, const std::string& what)
{
    throw Error(path + ": metadata " + std::string(key) + ": " + what);
}
} // namespace

std::string GgufFile::getString(std::string_view key) const
{
    const GgufValue* v = find(key);
    if (!v)
        badKey(path(), key, "missing");
    if (v->type != GgufType::String)
        badKey(path(), key, std::string("expected a string, found ") + ggufTypeName(v->type));
    return std::string(v->str);
}

std::string GgufFile::getString(std::string_view key, const std::string& fallback) const
{
    return has(key) ? getString(key) : fallback;
}

int64_t GgufFile::getInt(std::string_view key) const
{
    const GgufValue* v = find(key);
    if (!v)
        badKey(path(), key, "missing");
    if (!v->isInteger())
        badKey(path(), key, std::string("expected an integer, found ") + ggufTypeName(v->type));
    if (v->type == GgufType::U64 && v->u > uint64_t(std::numeric_limits<int64_t>::max()))
        badKey(path(), key, "value " + std::to_string(v->u) + " is too large");
    return v->i;
}

int64_t GgufFile::getInt(std::string_view key, int64_t fallback) const
{
    return has(key) ? getInt(key) : fallback;
}

double GgufFile::getFloat(std::string_view key) const
{
    const GgufValue* v = find(key);
    if (!v)
        badKey(path(), key, "missing");
    if (!v->isNumber())
        badKey(path(), key, std::string("expected a number, found ") + ggufTypeName(v->type));
    return v->f;
}

double GgufFile::getFloat(std::string_view key, double fallback) const
{
    return has(key) ? getFloat(key) : fallback;
}

bool GgufFile::getBool(std::string_view key, bool fallback) const
{
    const GgufValue* v = find(key);
    if (!v)
        return fallback;
    if (v->type != GgufType::Bool)
        badKey(path(), key, std::string("expected a bool, found ") + ggufTypeName(v->type));
    return v->u != 0;
}

std::vector<std::string_view> GgufFile::getStringArray(std::string_view key) const
{
    const GgufValue* v = find(key);
    if (!v)
        badKey(path(), key, "missing");
    if (v->type != GgufType::Array || v->elemType != GgufType::String)
        badKey(path(), key, "expected an array of strings");
    return v->strs;
}

std::vector<float> GgufFile::getFloatArray(std::string_view key) const
{
    const GgufValue* v = find(key);
    if (!v)
        badKey(path(), key, "missing");
    if (v->type != GgufType::Array || v->elemType == GgufType::String)
        badKey(path(), key, "expected an array of numbers");
    std::vector<float> out(size_t(v->count));
    const size_t es = scalarSize(v->elemType);
    for (size_t k = 0; k < out.size(); ++k) {
        GgufValue e;
        readScalar(v->elemType, v->elems + k * es, e);
        out[k] = float(e.f);
    }
    return out;
}

std::vector<int64_t> GgufFile::getIntArray(std::string_view key) const
{
    const GgufValue* v = find(key);
    if (!v)
        badKey(path(), key, "missing");
    GgufValue probe;
    probe.type = v->elemType;
    if (v->type != GgufType::Array || !probe.isInteger())
        badKey(path(), key, "expected an array of integers");
    std::vector<int64_t> out(size_t(v->count));
    const size_t es = scalarSize(v->elemType);
    for (size_t k = 0; k < out.size(); ++k) {
        GgufValue e;
        readScalar(v->elemType, v->elems + k * es, e);
        out[k] = e.i;
    }
    return out;
}

} // namespace logitscope
