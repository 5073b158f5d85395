// safetensors parsing: header length, JSON, per-tensor dtype/shape/range checks and the
// "ranges tile the data section exactly" rule, each failure naming the file and tensor.
#include "formats/safetensors_reader.h"

#include "common/error.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cstring>

namespace logitscope {

namespace {

bool parseDType(const std::string& s, DType& t)
{
    if (s == "F32") t = DType::F32;
    else if (s == "F16") t = DType::F16;
    else if (s == "BF16") t = DType::BF16;
    else if (s == "I32") t = DType::I32;
    else return false;
    return true;
}

} // namespace

SafetensorsFile::SafetensorsFile(const std::string& path, bool populate) : m_file(std::make_shared<MappedFile>(path, populate))
{
    auto fail = [&](const std::string& what) { throw Error(path + ": invalid safetensors: " + what); };
    const size_t size = m_file->size();
    if (size < 8)
        fail("file is too small (" + std::to_string(size) + " bytes)");
    uint64_t headerLen;
    std::memcpy(&headerLen, m_file->data(), 8);
    if (headerLen > kMaxHeaderBytes)
        fail("header length " + std::to_string(headerLen) + " exceeds the 100 MB limit");
    if (headerLen > size - 8)
        fail("header length " + std::to_string(headerLen) + " runs past the end of the file (" + std::to_string(size) +
             " bytes; the file may be truncated)");
    const char* headerStart = reinterpret_cast<const char*>(m_file->data() + 8);
    nlohmann::json header;
    try {
        header = nlohmann::json::parse(headerStart, headerStart + headerLen);
    } catch (const nlohmann::json::exception& e) {
        fail(std::string("header is not valid JSON: ") + e.what());
    }
    if (!header.is_object())
        fail("header is not a JSON object");

    const uint64_t dataStart = 8 + headerLen;
    const uint64_t dataSize = size - dataStart;
    struct Range {
        uint64_t begin, end;
        size_t index;
    };
    std::vector<Range> ranges;
    for (auto it = header.begin(); it != header.end(); ++it) {
        const std::string& name = it.key();
        if (name == "__metadata__") {
            if (!it->is_object())
                fail("__metadata__ is not an object");
            for (auto m = it->begin(); m != it->end(); ++m)
                if (m->is_string())
                    m_metadata[m.key()] = m->get<std::string>();
            continue;
        }
        const auto& info = *it;
        auto bad = [&](const std::string& what) { fail("tensor '" + name + "': " + what); };
        if (!info.is_object())
            bad("entry is not an object");
        if (!info.contains("dtype") || !info["dtype"].is_string())
            bad("missing dtype");
        TensorView t;
        t.name = name;
        const std::string dtype = info["dtype"].get<std::string>();
        if (!parseDType(dtype, t.type))
            bad("unsupported dtype " + dtype + " (supported: F32, F16, BF16, I32)");
        if (!info.contains("shape") || !info["shape"].is_array() || info["shape"].size() > 8)
            bad("missing or invalid shape");
        uint64_t elements = 1;
        for (const auto& d : info["shape"]) {
            if (!d.is_number_unsigned())
                bad("shape entries must be non-negative integers");
            const uint64_t n = d.get<uint64_t>();
            if (n > (uint64_t(1) << 40) || (n && elements > (uint64_t(1) << 42) / n))
                bad("shape is too large");
            elements *= n;
            t.shape.push_back(int64_t(n));
        }
        static const nlohmann::json missing; // an lvalue: with a temporary the ?: would copy a (deep) value
        const auto& offs = info.contains("data_offsets") ? info["data_offsets"] : missing;
        if (!offs.is_array() || offs.size() != 2 || !offs[0].is_number_unsigned() || !offs[1].is_number_unsigned())
            bad("missing or invalid data_offsets");
        const uint64_t b = offs[0].get<uint64_t>(), e = offs[1].get<uint64_t>();
        if (b > e || e > dataSize)
            bad("data_offsets [" + std::to_string(b) + ", " + std::to_string(e) + "] lie outside the data section (" +
                std::to_string(dataSize) + " bytes; the file may be truncated)");
        const uint64_t expected = elements * dtypeBlockBytes(t.type);
        if (e - b != expected)
            bad("data_offsets span " + std::to_string(e - b) + " bytes but dtype " + dtype + " and shape " +
                shapeString(t.shape) + " need " + std::to_string(expected));
        t.data = m_file->data() + dataStart + b;
        t.nbytes = size_t(expected);
        ranges.push_back({b, e, m_tensors.size()});
        m_index.emplace(name, m_tensors.size());
        m_tensors.push_back(std::move(t));
    }
    std::sort(ranges.begin(), ranges.end(), [](const Range& a, const Range& b) { return a.begin < b.begin; });
    uint64_t cursor = 0;
    for (const Range& r : ranges) {
        if (r.begin != cursor)
            fail("tensor '" + m_tensors[r.index].name + "' starts at " + std::to_string(r.begin) + " but the previous data ends at " +
                 std::to_string(cursor) + (r.begin < cursor ? " (overlapping ranges)" : " (gap in the data)"));
        cursor = r.end;
    }
    if (cursor != dataSize)
        fail("tensor data covers " + std::to_string(cursor) + " bytes but the data section holds " + std::to_string(dataSize));
}

const TensorView* SafetensorsFile::tensor(std::string_view name) const
{
    auto it = m_index.find(name);
    return it == m_index.end() ? nullptr : &m_tensors[it->second];
}

} // namespace logitscope
