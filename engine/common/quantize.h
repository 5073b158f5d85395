// Writing weights in the GGUF block formats that engine/common/dtype.cpp reads.
// Plain round-to-nearest quantizers (one pass per block, no scale search, no importance matrix): for
// the models make-model and the tests build. The files people download come from llama.cpp's
// quantizers, which search for better scales; these read back the same way but lose a little more.
#pragma once

#include "common/dtype.h"

#include <cstdint>

namespace logitscope {

// Writes n values (a multiple of dtypeBlockSize(t)) of src as t into dst (dtypeBytes(t, n) bytes).
// Every type but I32. Scales are rounded to fp16 before the values are quantized against them.
void quantize(DType t, const float* src, void* dst, int64_t n);

// The type a row of `cols` values gets when it is not a whole number of t's 256-value blocks, as
// llama.cpp's quantizer chooses it (Q4_K → Q5_0, Q5_K → Q5_1, Q6_K → Q8_0, Q2_K, Q3_K, IQ4_XS →
// IQ4_NL): SmolLM2-135M's 576-wide rows, for one. t itself when its blocks fit.
DType quantFallback(DType t, int64_t cols);

} // namespace logitscope
