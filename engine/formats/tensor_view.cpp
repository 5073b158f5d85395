// Printing helpers for tensor shapes (used in error messages).
#include "formats/tensor_view.h"

namespace logitscope {

std::string shapeString(const std::vector<int64_t>& shape)
{
    std::string s = "(";
    for (size_t i = 0; i < shape.size(); ++i)
        s += (i ? ", " : "") + std::to_string(shape[i]);
    return s + ")";
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
