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

} // namespace logitscope
