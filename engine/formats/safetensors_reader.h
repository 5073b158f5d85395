// SafetensorsFile: reads a .safetensors file in place — the JSON header, and tensor views into the map.
// The header is validated strictly (size, UTF-8 JSON, dtype/shape/range consistency, ranges sorted,
// contiguous and covering the data exactly). Not a writer (see safetensors_writer.h).
#pragma once

#include "formats/mapped_file.h"
#include "formats/tensor_view.h"

#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace logitscope {

class SafetensorsFile {
public:
    static constexpr size_t kMaxHeaderBytes = 100u << 20;

    explicit SafetensorsFile(const std::string& path, bool populate = false); // populate: see MappedFile

    const std::string& path() const { return m_file->path(); }
    const std::vector<TensorView>& tensors() const { return m_tensors; }
    const TensorView* tensor(std::string_view name) const;
    const std::map<std::string, std::string>& metadata() const { return m_metadata; }
    std::shared_ptr<const MappedFile> mapping() const { return m_file; }

private:
    std::shared_ptr<const MappedFile> m_file;
    std::vector<TensorView> m_tensors;
    std::map<std::string, size_t, std::less<>> m_index;
    std::map<std::string, std::string> m_metadata;
};

} // namespace logitscope
