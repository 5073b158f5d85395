// safetensors serialisation: JSON header padded to 8 bytes, then the tensors back to back.
#include "formats/safetensors_writer.h"

#include "common/error.h"

#include <nlohmann/json.hpp>

#include <fstream>

namespace logitscope {

void SafetensorsWriter::addTensor(const std::string& name, DType type, const std::vector<int64_t>& shape,
                                  std::vector<uint8_t> data)
{
    if (type != DType::F32 && type != DType::F16 && type != DType::BF16 && type != DType::I32)
        throw Error("safetensors cannot store " + std::string(dtypeName(type)) + " tensor '" + name + "'");
    m_tensors.push_back({name, type, shape, std::move(data)});
}

void SafetensorsWriter::write(const std::string& path) const
{
    nlohmann::ordered_json header = nlohmann::ordered_json::object();
    header["__metadata__"] = {{"format", "pt"}};
    uint64_t offset = 0;
    for (const Tensor& t : m_tensors) {
        header[t.name] = {{"dtype", dtypeName(t.type)}, {"shape", t.shape}, {"data_offsets", {offset, offset + t.data.size()}}};
        offset += t.data.size();
    }
    std::string text = header.dump();
    text.resize((text.size() + 7) / 8 * 8, ' ');
    std::ofstream f(path, std::ios::binary | std::ios::trunc);
    if (!f)
        throw Error(path + ": cannot create file");
    const uint64_t n = text.size();
    f.write(reinterpret_cast<const char*>(&n), 8);
    f.write(text.data(), std::streamsize(text.size()));
    for (const Tensor& t : m_tensors)
        f.write(reinterpret_cast<const char*>(t.data.data()), std::streamsize(t.data.size()));
    if (!f)
        throw Error(path + ": write failed");
}

} // namespace logitscope
