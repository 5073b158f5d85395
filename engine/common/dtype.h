// Element types of weight tensors and conversions to fp32: the plain types and the GGUF block formats
// that real GGUF files use (legacy Q4_0 … Q8_0, the K-quants Q2_K … Q6_K, the non-linear IQ4_NL/IQ4_XS).
// Not a tensor library: just enough to describe and read mapped weights.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>

namespace logitscope {

enum class DType : uint8_t {
    F32, F16, BF16,
    Q8_0, Q4_0, Q4_1, Q5_0, Q5_1,     // blocks of 32: one scale (and a minimum) per block
    Q2_K, Q3_K, Q4_K, Q5_K, Q6_K,     // super-blocks of 256 with quantized sub-block scales
    IQ4_NL, IQ4_XS,                   // 4-bit indices into a fixed non-linear table
    I32,
};

// Elements per block and bytes per block (1 and sizeof(element) for plain types).
int dtypeBlockSize(DType t);
size_t dtypeBlockBytes(DType t);
const char* dtypeName(DType t);
// Bytes for n elements; n must be a multiple of the block size.
size_t dtypeBytes(DType t, int64_t n);

inline float fp16ToFp32(uint16_t h)
{
    const uint32_t sign = uint32_t(h & 0x8000) << 16;
    uint32_t exp = (h >> 10) & 0x1f;
    uint32_t mant = h & 0x3ff;
    uint32_t bits;
    if (exp == 0) {
        if (mant == 0) {
            bits = sign;
        } else { // subnormal: renormalise
            exp = 127 - 15 + 1;
            while (!(mant & 0x400)) {
                mant <<= 1;
                --exp;
            }
            mant &= 0x3ff;
            bits = sign | (exp << 23) | (mant << 13);
        }
    } else if (exp == 31) {
        bits = sign | 0x7f800000u | (mant << 13);
    } else {
        bits = sign | ((exp + 127 - 15) << 23) | (mant << 13);
    }
    float f;
    std::memcpy(&f, &bits, 4);
    return f;
}

uint16_t fp32ToFp16(float f); // round to nearest even

inline float bf16ToFp32(uint16_t h)
{
    const uint32_t bits = uint32_t(h) << 16;
    float f;
    std::memcpy(&f, &bits, 4);
    return f;
}

inline uint16_t fp32ToBf16(float f)
{
    uint32_t bits;
    std::memcpy(&bits, &f, 4);
    if ((bits & 0x7fffffffu) > 0x7f800000u)
        return uint16_t((bits >> 16) | 0x40); // quiet NaN
    bits += 0x7fff + ((bits >> 16) & 1);
    return uint16_t(bits >> 16);
}

// Converts n elements of type t starting at src into fp32 (n a multiple of the block size).
void dequantize(DType t, const void* src, float* dst, int64_t n);

// One block of a block format (Q8_0 … IQ4_XS) into dtypeBlockSize(t) floats; nullptr for plain types.
using BlockDecoder = void (*)(const uint8_t* block, float* out);
BlockDecoder blockDecoder(DType t);

// The IQ4_NL / IQ4_XS code book: a 4-bit index selects one of these, times the block's scale.
extern const int8_t kIq4nlValues[16];

} // namespace logitscope
