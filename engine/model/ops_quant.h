// The small-batch (decode) matrix kernels for the GGUF block formats, a part of ops.cpp kept apart:
// each weight block is decoded with AVX2, eight weights at a time, and applied to the input rows.
// Not a public header: ops::matmul is the way in.
#pragma once

#include "formats/tensor_view.h"

namespace logitscope::ops::detail {

// Decode kernels prefetch this far ahead of the weight row they read. Weights are memory-mapped in
// 4 KiB pages and the hardware prefetchers stop at page boundaries, so without this every page
// starts cold (measured: 4 KiB ahead decodes SmolLM2-135M 18 % faster than none on 2 Zen 5 cores).
constexpr int kPrefetchBytes = 4096;

// out[t * outStride + r] = row r of w · input row t, for rows [r0, r1) and T (1 to 4) input rows of
// w.cols() values. w is a block format other than Q8_0 (ops.cpp has that one). Needs AVX2.
void rowsBlocks(float* out, int outStride, const float* x, int T, const TensorView& w, int r0, int r1);

} // namespace logitscope::ops::detail
