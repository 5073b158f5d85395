// GgufWriter: writes GGUF v3 files (metadata + tensors). Used by `make-model` and by tests that need
// model files of a given shape; not used when running a model.
#pragma once

#include "common/dtype.h"

#include <cstdint>
#include <string>
#include <vector>

namespace logitscope {

class GgufWriter {
public:
    void setString(const std::string& key, const std::string& value);
    void setU32(const std::string& key, uint32_t value);
    void setI32(const std::string& key, int32_t value);
    void setF32(const std::string& key, float value);
    void setBool(const std::string& key, bool value);
    void setStringArray(const std::string& key, const std::vector<std::string>& values);
    void setF32Array(const std::string& key, const std::vector<float>& values);
    void setI32Array(const std::string& key, const std::vector<int32_t>& values);
    // shape outermost first, like TensorView; `data` holds dtypeBytes(type, elements) bytes.
    void addTensor(const std::string& name, DType type, const std::vector<int64_t>& shape, std::vector<uint8_t> data);
    // Throws Error naming the file when it cannot be written.
    void write(const std::string& path) const;

private:
    struct Tensor {
        std::string name;
        DType type;
        std::vector<int64_t> shape;
        std::vector<uint8_t> data;
    };
    std::vector<std::pair<std::string, std::vector<uint8_t>>> m_kv; // key -> encoded type + value
    std::vector<Tensor> m_tensors;
};

} // namespace logitscope
