// Element-type tables and dequantization of the GGUF block formats (layouts as in ggml's ggml-common.h).
// Reading only: making blocks is engine/common/quantize.cpp.
#include "common/dtype.h"

#include <cmath>

namespace logitscope {

int dtypeBlockSize(DType t)
{
    switch (t) {
    case DType::Q8_0:
    case DType::Q4_0:
    case DType::Q4_1:
    case DType::Q5_0:
    case DType::Q5_1:
    case DType::IQ4_NL: return 32;
    case DType::Q2_K:
    case DType::Q3_K:
    case DType::Q4_K:
    case DType::Q5_K:
    case DType::Q6_K:
    case DType::IQ4_XS: return 256;
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
    case DType::Q8_0: return 2 + 32;                 // d, 32 int8
    case DType::Q4_0: return 2 + 16;                 // d, 32 nibbles
    case DType::Q4_1: return 2 + 2 + 16;             // d, m, 32 nibbles
    case DType::Q5_0: return 2 + 4 + 16;             // d, 32 fifth bits, 32 nibbles
    case DType::Q5_1: return 2 + 2 + 4 + 16;         // d, m, 32 fifth bits, 32 nibbles
    case DType::Q2_K: return 16 + 64 + 2 + 2;        // 4-bit scales/mins, 256 crumbs, d, dmin
    case DType::Q3_K: return 32 + 64 + 12 + 2;       // third bits, 256 crumbs, 6-bit scales, d
    case DType::Q4_K: return 2 + 2 + 12 + 128;       // d, dmin, 6-bit scales/mins, 256 nibbles
    case DType::Q5_K: return 2 + 2 + 12 + 32 + 128;  // d, dmin, 6-bit scales/mins, fifth bits, nibbles
    case DType::Q6_K: return 128 + 64 + 16 + 2;      // low nibbles, high crumbs, int8 scales, d
    case DType::IQ4_NL: return 2 + 16;               // d, 32 table indices
    case DType::IQ4_XS: return 2 + 2 + 4 + 128;      // d, 6-bit scales (high bits, low nibbles), 256 indices
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
    case DType::Q4_1: return "Q4_1";
    case DType::Q5_0: return "Q5_0";
    case DType::Q5_1: return "Q5_1";
    case DType::Q2_K: return "Q2_K";
    case DType::Q3_K: return "Q3_K";
    case DType::Q4_K: return "Q4_K";
    case DType::Q5_K: return "Q5_K";
    case DType::Q6_K: return "Q6_K";
    case DType::IQ4_NL: return "IQ4_NL";
    case DType::IQ4_XS: return "IQ4_XS";
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

const int8_t kIq4nlValues[16] = {-127, -104, -83, -65, -49, -35, -22, -10, 1, 13, 25, 38, 53, 69, 89, 113};

namespace {

uint16_t load16(const uint8_t* p)
{
    uint16_t v;
    std::memcpy(&v, p, 2);
    return v;
}

float loadHalf(const uint8_t* p) { return fp16ToFp32(load16(p)); }

// One block of each format into y (dtypeBlockSize(t) values). The 32-element formats keep element i
// (i < 16) in the low nibble of byte i and element i + 16 in its high nibble.

void blockQ8_0(const uint8_t* b, float* y)
{
    const float d = loadHalf(b);
    const auto* q = reinterpret_cast<const int8_t*>(b + 2);
    for (int i = 0; i < 32; ++i)
        y[i] = d * float(q[i]);
}

void blockQ4_0(const uint8_t* b, float* y)
{
    const float d = loadHalf(b);
    const uint8_t* qs = b + 2;
    for (int i = 0; i < 16; ++i) {
        y[i] = d * float(int(qs[i] & 0xF) - 8);
        y[i + 16] = d * float(int(qs[i] >> 4) - 8);
    }
}

void blockQ4_1(const uint8_t* b, float* y)
{
    const float d = loadHalf(b), m = loadHalf(b + 2);
    const uint8_t* qs = b + 4;
    for (int i = 0; i < 16; ++i) {
        y[i] = d * float(qs[i] & 0xF) + m;
        y[i + 16] = d * float(qs[i] >> 4) + m;
    }
}

// Q5_0 / Q5_1: bit i of the 32-bit qh is the fifth bit of element i.
template <bool WithMin>
void blockQ5(const uint8_t* b, float* y)
{
    const float d = loadHalf(b);
    const float m = WithMin ? loadHalf(b + 2) : -16.0f * d;
    const uint8_t* p = b + (WithMin ? 4 : 2);
    uint32_t qh;
    std::memcpy(&qh, p, 4);
    const uint8_t* qs = p + 4;
    for (int i = 0; i < 16; ++i) {
        const uint32_t lo = (qs[i] & 0xFu) | (((qh >> i) & 1u) << 4);
        const uint32_t hi = (qs[i] >> 4) | (((qh >> (i + 16)) & 1u) << 4);
        y[i] = d * float(lo) + m;
        y[i + 16] = d * float(hi) + m;
    }
}

// The K-quants: two halves of 128 values; in each, byte l of a 32-byte run of quants holds element l
// of four 32-value groups, two bits (or four) per group.

void blockQ2_K(const uint8_t* b, float* y)
{
    const uint8_t* scales = b;    // per 16 values: low nibble scale, high nibble minimum
    const uint8_t* qs = b + 16;
    const float d = loadHalf(b + 80), dmin = loadHalf(b + 82);
    for (int h = 0; h < 2; ++h)
        for (int j = 0; j < 4; ++j)
            for (int s = 0; s < 2; ++s) {
                const uint8_t sc = scales[8 * h + 2 * j + s];
                const float dl = d * float(sc & 0xF), ml = dmin * float(sc >> 4);
                const uint8_t* q = qs + 32 * h + 16 * s;
                float* out = y + 128 * h + 32 * j + 16 * s;
                for (int l = 0; l < 16; ++l)
                    out[l] = dl * float((q[l] >> (2 * j)) & 3) - ml;
            }
}

// Q3_K's sixteen 6-bit scales: low nibbles in bytes 0-7 (scales 0-7 low, 8-15 high half of the byte),
// the two high bits of scale s in byte 8 + s % 4 at bit 2 * (s / 4).
int q3kScale(const uint8_t* sc, int s)
{
    const int lo = (sc[s % 8] >> (4 * (s / 8))) & 0xF;
    const int hi = (sc[8 + s % 4] >> (2 * (s / 4))) & 3;
    return (lo | (hi << 4)) - 32;
}

void blockQ3_K(const uint8_t* b, float* y)
{
    const uint8_t* hmask = b;     // bit (4h + j) of byte l: element l of group j in half h is not lowered by 4
    const uint8_t* qs = b + 32;
    const uint8_t* scales = b + 96;
    const float d = loadHalf(b + 108);
    for (int h = 0; h < 2; ++h)
        for (int j = 0; j < 4; ++j)
            for (int s = 0; s < 2; ++s) {
                const float dl = d * float(q3kScale(scales, 8 * h + 2 * j + s));
                const uint8_t* q = qs + 32 * h + 16 * s;
                const uint8_t* hm = hmask + 16 * s;
                float* out = y + 128 * h + 32 * j + 16 * s;
                for (int l = 0; l < 16; ++l) {
                    const int v = int((q[l] >> (2 * j)) & 3) + 4 * int((hm[l] >> (4 * h + j)) & 1) - 4;
                    out[l] = dl * float(v);
                }
            }
}

// Q4_K / Q5_K: eight 6-bit scales and eight 6-bit minimums (one pair per 32 values) in 12 bytes.
void scaleMinK4(int j, const uint8_t* q, int& sc, int& m)
{
    if (j < 4) {
        sc = q[j] & 63;
        m = q[j + 4] & 63;
    } else {
        sc = (q[j + 4] & 0xF) | ((q[j - 4] >> 6) << 4);
        m = (q[j + 4] >> 4) | ((q[j] >> 6) << 4);
    }
}

// Q4_K (HighBits false) and Q5_K: groups of 64 values share 32 bytes of nibbles (low nibble the first 32,
// high nibble the next); Q5_K adds bits 2g and 2g + 1 of qh[l] as the fifth bits.
template <bool HighBits>
void blockQ45_K(const uint8_t* b, float* y)
{
    const float d = loadHalf(b), dmin = loadHalf(b + 2);
    const uint8_t* scales = b + 4;
    const uint8_t* qh = b + 16;
    const uint8_t* qs = b + (HighBits ? 48 : 16);
    for (int g = 0; g < 4; ++g) {
        int sc, m;
        scaleMinK4(2 * g, scales, sc, m);
        const float d1 = d * float(sc), m1 = dmin * float(m);
        scaleMinK4(2 * g + 1, scales, sc, m);
        const float d2 = d * float(sc), m2 = dmin * float(m);
        const uint8_t* q = qs + 32 * g;
        float* out = y + 64 * g;
        for (int l = 0; l < 32; ++l) {
            int lo = q[l] & 0xF, hi = q[l] >> 4;
            if (HighBits) {
                lo |= ((qh[l] >> (2 * g)) & 1) << 4;
                hi |= ((qh[l] >> (2 * g + 1)) & 1) << 4;
            }
            out[l] = d1 * float(lo) - m1;
            out[l + 32] = d2 * float(hi) - m2;
        }
    }
}

void blockQ6_K(const uint8_t* b, float* y)
{
    const float d = loadHalf(b + 208);
    const auto* scales = reinterpret_cast<const int8_t*>(b + 192); // one per 16 values
    for (int h = 0; h < 2; ++h)
        for (int j = 0; j < 4; ++j) {
            // Group j of half h: low nibbles in bytes 32(j % 2) + l of the half's 64 (high nibble for j >= 2),
            // the two high bits at bit 2j of the half's qh[l].
            const uint8_t* ql = b + 64 * h + 32 * (j % 2);
            const uint8_t* qh = b + 128 + 32 * h;
            const int lowShift = 4 * (j / 2), highShift = 2 * j;
            for (int s = 0; s < 2; ++s) {
                const float dl = d * float(scales[8 * h + 2 * j + s]);
                float* out = y + 128 * h + 32 * j + 16 * s;
                for (int l = 0; l < 16; ++l) {
                    const int i = 16 * s + l;
                    const int q = int(((ql[i] >> lowShift) & 0xF) | (((qh[i] >> highShift) & 3) << 4)) - 32;
                    out[l] = dl * float(q);
                }
            }
        }
}

void iq4Group(float dl, const uint8_t* qs, float* y)
{
    for (int i = 0; i < 16; ++i) {
        y[i] = dl * float(kIq4nlValues[qs[i] & 0xF]);
        y[i + 16] = dl * float(kIq4nlValues[qs[i] >> 4]);
    }
}

void blockIQ4_NL(const uint8_t* b, float* y) { iq4Group(loadHalf(b), b + 2, y); }

void blockIQ4_XS(const uint8_t* b, float* y)
{
    const float d = loadHalf(b);
    const uint16_t scalesHigh = load16(b + 2); // two high bits per group of 32
    const uint8_t* scalesLow = b + 4;          // a nibble per group of 32
    for (int g = 0; g < 8; ++g) {
        const int ls = ((scalesLow[g / 2] >> (4 * (g % 2))) & 0xF) | (((scalesHigh >> (2 * g)) & 3) << 4);
        iq4Group(d * float(ls - 32), b + 8 + 16 * g, y + 32 * g);
    }
}

} // namespace

BlockDecoder blockDecoder(DType t)
{
    switch (t) {
    case DType::Q8_0: return blockQ8_0;
    case DType::Q4_0: return blockQ4_0;
    case DType::Q4_1: return blockQ4_1;
    case DType::Q5_0: return blockQ5<false>;
    case DType::Q5_1: return blockQ5<true>;
    case DType::Q2_K: return blockQ2_K;
    case DType::Q3_K: return blockQ3_K;
    case DType::Q4_K: return blockQ45_K<false>;
    case DType::Q5_K: return blockQ45_K<true>;
    case DType::Q6_K: return blockQ6_K;
    case DType::IQ4_NL: return blockIQ4_NL;
    case DType::IQ4_XS: return blockIQ4_XS;
    default: return nullptr;
    }
}

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
    default: {
        const BlockDecoder decode = blockDecoder(t);
        const int bs = dtypeBlockSize(t);
        const size_t bb = dtypeBlockBytes(t);
        for (int64_t b = 0; b < n / bs; ++b)
            decode(src + size_t(b) * bb, dst + b * bs);
    }
    }
}

} // namespace logitscope
