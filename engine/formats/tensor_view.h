// TensorView: a named, typed, shaped window onto mapped weight bytes. It owns nothing.
// Shapes are listed outermost first (row-major, like PyTorch): a (rows, cols) matrix is {rows, cols}.
#pragma once

#include "common/dtype.h"

#include <cstdint>
#include <string>
#include <vector>

namespace logitscope {

struct TensorView {
    std::string name;
    DType type = DType::F32;
    std::vector<int64_t> shape; // outermost first
    const void* data = nullptr;
    size_t nbytes = 0;

    int64_t elements() const
    {
        int64_t n = 1;
        for (int64_t d : shape)
            n *= d;
        return n;
    }
    int64_t rows() const { return shape.size() >= 2 ? elements() / shape.back() : 1; }
    int64_t cols() const { return shape.empty() ? 1 : shape.back(); }
};

std::string shapeString(const std::vector<int64_t>& shape);

// The bytes of an unquantized matrix t (rows, cols) laid out as (cols, rows): GPT-2's Conv1D layout
// and back.
std::vector<uint8_t> transposeBytes(const TensorView& t);

// Every element of t converted to fp32 (empty for an absent tensor).
std::vector<float> toFloats(const TensorView& t);

} // namespace logitscope
