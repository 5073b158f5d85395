// SafetensorsWriter: writes a .safetensors file (used by `make-model` and tests; never when running).
#pragma once

#include "common/dtype.h"

#include <cstdint>
#include <string>
#include <vector>

namespace logitscope {

class SafetensorsWriter {
public:
    // Only F32, F16, BF16 and I32 exist in safetensors.
    void addTensor(const std::string& name, DType type, const std::vector<int64_t>& shape, std::vector<uint8_t> data);
    void write(const std::string& path) const;

private:
    struct Tensor {
        std::string name;
        DType type;
        std::vector<int64_t> shape;
        std::vector<uint8_t> data;
    };
    std::vector<Tensor> m_tensors;
};

} // namespace logitscope
