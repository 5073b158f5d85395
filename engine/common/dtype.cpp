// Element-type tables and dequantization of GGUF block formats (Q8_0, Q4_0, Q4_K).
#include "common/dtype.h"

#include <cmath>

namespace logitscope {

int dtypeBlockSize(DType t)
{
    switch (t) {
    case DType::Q8_0:
    case DType::Q4_0: return 32;
    case DType::Q4_K: return 256;
    default: return 1;
    }
}

size_t dtypeBlockBytes(DType t)
{
    switch (t) {
    case DType::F32: return 4;
    case DType::I32: return 4;
    case DType::F16: return 2;
    case DType::BF16: return 2;
    case DType::Q8_0: return 2 + 32;      // fp16 scale + 32 int8
    case DType::Q4_0: return 2 + 16;      // fp16 scale + 32 nibbles
    case DType::Q4_K: return 2 + 2 + 12 + 128; // d, dmin, 6-bit scales/mins, 256 nibbles
    }
    return 0;
}

const char* dtypeName(DType t)
{
    switch (t) {
    case DType::F32: return "F32";
    case DType::F16: return "F16";
    case DType::BF16: return "BF16";
    case DType::Q8_0: return "Q8_0";
    case DType::Q4_0: return "Q4_0";
    case DType::Q4_K: return "Q4_K";
    case DType::I32: return "I32";
    }
    return "?";
}

size_t dtypeBytes(DType t, int64_t n)
{
    return size_t(n / dtypeBlockSize(t)) * dtypeBlockBytes(t);
}

uint16_t fp32ToFp16(float f)
{
    uint32_t x;
    std::memcpy(&x, &f, 4);
    const uint32_t sign = (x >> 16) & 0x8000;
    const uint32_t absx = x & 0x7fffffffu;
    if (absx > 0x7f800000u)
        return uint16_t(sign | 0x7e00); // NaN
    if (absx >= 0x477ff000u)             // rounds to >= 65520: infinity
        return uint16_t(sign | 0x7c00);
    if (absx < 0x38800000u) {            // subnormal or zero in fp16
        float a;
        std::memcpy(&a, &absx, 4);
        const float scaled = a * 16777216.0f; // 2^24: one fp16 subnormal ulp = 2^-24
        const uint32_t m = uint32_t(std::nearbyint(scaled));
        return uint16_t(sign | m);
    }
    uint32_t mant = absx & 0x7fffff;
    uint32_t exp = (absx >> 23) - 127 + 15;
    uint32_t h = (exp << 10) | (mant >> 13);
    const uint32_t rest = mant & 0x1fff;
    if (rest > 0x1000 || (rest == 0x1000 && (h & 1)))
        ++h;
    return uint16_t(sign | h);
}

namespace {

void getScaleMinK4(int j, const uint8_t* q, uint8_t& d, uint8_t& m)
{
    if (j < 4) {
        d = q[j] & 63;
        m = q[j + 4] & 63;
    } else {
        d = (q[j + 4] & 0xF) | ((q[j - 4] >> 6) << 4);
        m = (q[j + 4] >> 4) | ((q[j - 0] >> 6) << 4);
    }
}

uint16_t load16(const uint8_t* p)
{
    uint16_t v;
    std::memcpy(&v, p, 2);
    return v;
}

} // namespace

void dequantize(DType t, const void* srcv, float* dst, int64_t n)
{
    const auto* src = static_cast<const uint8_t*>(srcv);
    switch (t) {
    case DType::F32:
        std::memcpy(dst, src, size_t(n) * 4);
        return;
    case DType::I32:
        for (int64_t i = 0; i < n; ++i) {
            int32_t v;
            std::memcpy(&v, src + 4 * i, 4);
            dst[i] = float(v);
        }
        return;
    case DType::F16:
        for (int64_t i = 0; i < n; ++i)
            dst[i] = fp16ToFp32(load16(src + 2 * i));
        return;
    case DType::BF16:
        for (int64_t i = 0; i < n; ++i)
            dst[i] = bf16ToFp32(load16(src + 2 * i));
        return;
    case DType::Q8_0:
        for (int64_t b = 0; b < n / 32; ++b) {
            const uint8_t* blk = src + b * 34;
            const float d = fp16ToFp32(load16(blk));
            const auto* qs = reinterpret_cast<const int8_t*>(blk + 2);
            for (int i = 0; i < 32; ++i)
                dst[b * 32 + i] = d * float(qs[i]);
        }
        return;
    case DType::Q4_0:
        for (int64_t b = 0; b < n / 32; ++b) {
            const uint8_t* blk = src + b * 18;
            const float d = fp16ToFp32(load16(blk));
            const uint8_t* qs = blk + 2;
            for (int i = 0; i < 16; ++i) {
                dst[b * 32 + i] = d * float(int(qs[i] & 0x0F) - 8);
                dst[b * 32 + i + 16] = d * float(int(qs[i] >> 4) - 8);
            }
        }
        return;
    case DType::Q4_K:
        for (int64_t b = 0; b < n / 256; ++b) {
            const uint8_t* blk = src + b * 144;
            const float d = fp16ToFp32(load16(blk));
            const float dmin = fp16ToFp32(load16(blk + 2));
            const uint8_t* scales = blk + 4;
            const uint8_t* q = blk + 16;
            float* y = dst + b * 256;
            int is = 0;
            for (int j = 0; j < 256; j += 64) {
                uint8_t sc, m;
                getScaleMinK4(is + 0, scales, sc, m);
                const float d1 = d * sc, m1 = dmin * m;
                getScaleMinK4(is + 1, scales, sc, m);
                const float d2 = d * sc, m2 = dmin * m;
                for (int l = 0; l < 32; ++l)
                    *y++ = d1 * float(q[l] & 0xF) - m1;
                for (int l = 0; l < 32; ++l)
                    *y++ = d2 * float(q[l] >> 4) - m2;
                q += 32;
                is += 2;
            }
        }
        return;
    }
}

} // namespace logitscope
