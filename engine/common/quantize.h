// Writing weights in the GGUF block formats that engine/common/dtype.cpp reads, and naming the mixes.
// Plain round-to-nearest quantizers (one pass per block, no scale search, no importance matrix): for
// the models make-model and the tests build. The files people download come from llama.cpp's
// quantizers, which search for better scales; these read back the same way but lose a little more.
#pragma once

#include "common/dtype.h"

#include <cstdint>
#include <string>

namespace logitscope {

// Writes n values (a multiple of dtypeBlockSize(t)) of src as t into dst (dtypeBytes(t, n) bytes).
// Every type but I32. Scales are rounded to fp16 before the values are quantized against them.
void quantize(DType t, const float* src, void* dst, int64_t n);

// The type a row of `cols` values gets when it is not a whole number of t's 256-value blocks, as
// llama.cpp's quantizer chooses it (Q4_K → Q5_0, Q5_K → Q5_1, Q6_K → Q8_0, Q2_K, Q3_K, IQ4_XS →
// IQ4_NL): SmolLM2-135M's 576-wide rows, for one. t itself when its blocks fit.
DType quantFallback(DType t, int64_t cols);

// The element type of each weight matrix. llama.cpp's "_M" mixes give the LM head, attn_v and
// ffn_down more bits than the rest (Q4_K_M: Q6_K there, Q4_K elsewhere); a K-quant whose 256-value
// blocks do not fit a row falls back as llama.cpp's does (quantFallback). Norms and biases stay F32.
struct WeightTypes {
    DType matrices = DType::F32;
    DType sensitive = DType::F32; // output head, attn_v, ffn_down
    WeightTypes(DType all = DType::F32) : matrices(all), sensitive(all) {} // implicit: build(c, DType::F16)
    WeightTypes(DType most, DType moreBits) : matrices(most), sensitive(moreBits) {}
};

// The names make-model's --dtype and the app's weight choices take: f32, f16, bf16, q8_0, q4_0,
// q4_1, q5_0, q5_1, q2_k, q3_k, q4_k, q5_k, q6_k, iq4_nl, iq4_xs, and the mixes q4_k_m (Q4_K + Q6_K)
// and q5_k_m (Q5_K + Q6_K). Throws Error listing them for any other.
WeightTypes weightTypesNamed(const std::string& name);

} // namespace logitscope
