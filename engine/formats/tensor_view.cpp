// Printing helpers for tensor shapes (used in error messages).
#include "formats/tensor_view.h"

#include <cstring>

namespace logitscope {

std::string shapeString(const std::vector<int64_t>& shape)
{
    std::string s = "(";
    for (size_t i = 0; i < shape.size(); ++i)
        s += (i ? ", " : "") + std::to_string(shape[i]);
    return s + ")";
}

std::vector<uint8_t> transposeBytes(const TensorView& t)
{
    const int64_t rows = t.shape[0], cols = t.shape[1];
    const size_t es = dtypeBlockBytes(t.type);
    std::vector<uint8_t> out(t.nbytes);
    const auto* src = static_cast<const uint8_t*>(t.data);
    for (int64_t r = 0; r < rows; ++r)
        for (int64_t c = 0; c < cols; ++c)
            std::memcpy(&out[(size_t(c) * rows + r) * es], src + (size_t(r) * cols + c) * es, es);
    return out;
}

std::vector<float> toFloats(const TensorView& t)
{
    std::vector<float> v;
    if (!t.data)
        return v;
    v.resize(size_t(t.elements()));
    dequantize(t.type, t.data, v.data(), t.elements());
    return v;
}

} // namespace logitscope
