// Round-to-nearest quantizers for every GGUF block format Logitscope reads; the layouts are the
// inverse of the block decoders in dtype.cpp. Not llama.cpp's quantizers (no scale search).
#include "common/quantize.h"

#include "common/error.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <iterator>
#include <string>

namespace logitscope {

namespace {

// Stores v as fp16 at p and returns the value a reader will see.
float storeHalf(uint8_t* p, float v)
{
    const uint16_t h = fp32ToFp16(v);
    std::memcpy(p, &h, 2);
    return fp16ToFp32(h);
}

int clampRound(float v, int lo, int hi) { return std::clamp(int(std::lround(v)), lo, hi); }

// The value of largest magnitude, with its sign.
float signedMax(const float* x, int n)
{
    float best = 0.0f;
    for (int i = 0; i < n; ++i)
        if (std::fabs(x[i]) > std::fabs(best))
            best = x[i];
    return best;
}

float absMax(const float* v, int n)
{
    float m = 0.0f;
    for (int i = 0; i < n; ++i)
        m = std::max(m, std::fabs(v[i]));
    return m;
}

// Symmetric levels [-half, half - 1]: the scale that puts the extreme value on -half (its sign follows it).
float symmetricScale(const float* x, int n, int half) { return signedMax(x, n) / float(-half); }

// Unsigned levels [0, top] over [min(0, lowest), highest]: y = scale * q - lift.
void asymmetricScale(const float* x, int n, int top, float& scale, float& lift)
{
    float lo = 0.0f, hi = x[0];
    for (int i = 0; i < n; ++i) {
        lo = std::min(lo, x[i]);
        hi = std::max(hi, x[i]);
    }
    scale = std::max(hi - lo, 0.0f) / float(top);
    lift = -lo;
}

float inverse(float d) { return d != 0.0f ? 1.0f / d : 0.0f; }

// ---- blocks of 32 ----

void blockQ8_0(const float* x, uint8_t* b)
{
    const float d = storeHalf(b, absMax(x, 32) / 127.0f), id = inverse(d);
    for (int i = 0; i < 32; ++i)
        b[2 + i] = uint8_t(int8_t(clampRound(x[i] * id, -127, 127)));
}

void blockQ4_0(const float* x, uint8_t* b)
{
    const float id = inverse(storeHalf(b, symmetricScale(x, 32, 8)));
    for (int i = 0; i < 16; ++i)
        b[2 + i] = uint8_t(clampRound(x[i] * id + 8.0f, 0, 15) | (clampRound(x[i + 16] * id + 8.0f, 0, 15) << 4));
}

void blockQ4_1(const float* x, uint8_t* b)
{
    float s, lift;
    asymmetricScale(x, 32, 15, s, lift);
    const float id = inverse(storeHalf(b, s)), m = storeHalf(b + 2, -lift);
    for (int i = 0; i < 16; ++i)
        b[4 + i] = uint8_t(clampRound((x[i] - m) * id, 0, 15) | (clampRound((x[i + 16] - m) * id, 0, 15) << 4));
}

// Five-bit levels: the low nibbles as in Q4_0, bit i of the 32-bit word after the scale(s) for element i.
void packQ5(const int* q, uint8_t* qhAt, uint8_t* qs)
{
    uint32_t qh = 0;
    for (int i = 0; i < 16; ++i) {
        qs[i] = uint8_t((q[i] & 0xF) | ((q[i + 16] & 0xF) << 4));
        qh |= uint32_t(q[i] >> 4) << i;
        qh |= uint32_t(q[i + 16] >> 4) << (i + 16);
    }
    std::memcpy(qhAt, &qh, 4);
}

void blockQ5_0(const float* x, uint8_t* b)
{
    const float id = inverse(storeHalf(b, symmetricScale(x, 32, 16)));
    int q[32];
    for (int i = 0; i < 32; ++i)
        q[i] = clampRound(x[i] * id + 16.0f, 0, 31);
    packQ5(q, b + 2, b + 6);
}

void blockQ5_1(const float* x, uint8_t* b)
{
    float s, lift;
    asymmetricScale(x, 32, 31, s, lift);
    const float id = inverse(storeHalf(b, s)), m = storeHalf(b + 2, -lift);
    int q[32];
    for (int i = 0; i < 32; ++i)
        q[i] = clampRound((x[i] - m) * id, 0, 31);
    packQ5(q, b + 4, b + 8);
}

int nearestIq4(float v)
{
    int best = 0;
    for (int i = 1; i < 16; ++i)
        if (std::fabs(v - float(kIq4nlValues[i])) < std::fabs(v - float(kIq4nlValues[best])))
            best = i;
    return best;
}

void iq4Group(const float* x, float dl, uint8_t* qs)
{
    const float id = inverse(dl);
    for (int i = 0; i < 16; ++i)
        qs[i] = uint8_t(nearestIq4(x[i] * id) | (nearestIq4(x[i + 16] * id) << 4));
}

void blockIQ4_NL(const float* x, uint8_t* b)
{
    // The extreme value lands on the table's -127.
    iq4Group(x, storeHalf(b, signedMax(x, 32) / float(kIq4nlValues[0])), b + 2);
}

// ---- super-blocks of 256 ----

// Sub-block scales quantized against one fp16 super-scale: q = round(v / d) in [lo, hi].
float superScale(uint8_t* at, const float* v, int n, int top, int* q, int lo, int hi)
{
    const float d = storeHalf(at, absMax(v, n) / float(top)), id = inverse(d);
    for (int i = 0; i < n; ++i)
        q[i] = clampRound(v[i] * id, lo, hi);
    return d;
}

// Asymmetric sub-blocks (Q2_K, Q4_K, Q5_K): per sub-block of `sub` values a scale and a lift, both
// quantized to `scaleTop` levels; the values to `top` levels. Fills q (256 levels), sc and mn.
void asymmetricSuper(const float* x, int sub, int top, int scaleTop, uint8_t* dAt, uint8_t* dminAt, int* q,
                     int* sc, int* mn)
{
    const int n = 256 / sub;
    float scales[16], lifts[16];
    for (int s = 0; s < n; ++s)
        asymmetricScale(x + s * sub, sub, top, scales[s], lifts[s]);
    const float d = superScale(dAt, scales, n, scaleTop, sc, 0, scaleTop);
    const float dmin = superScale(dminAt, lifts, n, scaleTop, mn, 0, scaleTop);
    for (int s = 0; s < n; ++s) {
        const float id = inverse(d * float(sc[s])), lift = dmin * float(mn[s]);
        for (int i = 0; i < sub; ++i)
            q[s * sub + i] = clampRound((x[s * sub + i] + lift) * id, 0, top);
    }
}

// Symmetric sub-blocks of 16 (Q3_K, Q6_K): levels [-half, half - 1], signed sub-scales in [-scaleTop - 1, scaleTop].
void symmetricSuper(const float* x, int half, int scaleTop, uint8_t* dAt, int* q, int* sc)
{
    float scales[16];
    for (int s = 0; s < 16; ++s)
        scales[s] = symmetricScale(x + 16 * s, 16, half);
    const float d = superScale(dAt, scales, 16, scaleTop, sc, -scaleTop - 1, scaleTop);
    for (int s = 0; s < 16; ++s) {
        const float id = inverse(d * float(sc[s]));
        for (int i = 0; i < 16; ++i)
            q[16 * s + i] = clampRound(x[16 * s + i] * id, -half, half - 1);
    }
}

void blockQ2_K(const float* x, uint8_t* b)
{
    int q[256], sc[16], mn[16];
    asymmetricSuper(x, 16, 3, 15, b + 80, b + 82, q, sc, mn);
    for (int s = 0; s < 16; ++s)
        b[s] = uint8_t(sc[s] | (mn[s] << 4));
    uint8_t* qs = b + 16;
    std::memset(qs, 0, 64);
    // Element 128h + 32j + l sits in byte 32h + l at bits 2j.
    for (int e = 0; e < 256; ++e)
        qs[32 * (e / 128) + e % 32] |= uint8_t(q[e] << (2 * ((e % 128) / 32)));
}

void blockQ3_K(const float* x, uint8_t* b)
{
    int q[256], sc[16];
    symmetricSuper(x, 4, 31, b + 108, q, sc);
    uint8_t* hmask = b;
    uint8_t* qs = b + 32;
    uint8_t* scales = b + 96;
    std::memset(b, 0, 108);
    for (int s = 0; s < 16; ++s) {
        const int v = sc[s] + 32;
        scales[s % 8] |= uint8_t((v & 0xF) << (4 * (s / 8)));
        scales[8 + s % 4] |= uint8_t((v >> 4) << (2 * (s / 4)));
    }
    for (int e = 0; e < 256; ++e) {
        const int u = q[e] + 4; // 0..7: two low bits, and the third bit set when the value is not lowered by 4
        const int h = e / 128, j = (e % 128) / 32, l = e % 32;
        qs[32 * h + l] |= uint8_t((u & 3) << (2 * j));
        hmask[l] |= uint8_t((u >> 2) << (4 * h + j));
    }
}

// Q4_K / Q5_K scale and minimum packing, the inverse of dtype.cpp's scaleMinK4.
void packScaleMinK4(const int* sc, const int* mn, uint8_t* q)
{
    for (int j = 0; j < 4; ++j) {
        q[j] = uint8_t(sc[j]);
        q[j + 4] = uint8_t(mn[j]);
    }
    for (int j = 4; j < 8; ++j) {
        q[j + 4] = uint8_t((sc[j] & 0xF) | ((mn[j] & 0xF) << 4));
        q[j - 4] |= uint8_t((sc[j] >> 4) << 6);
        q[j] |= uint8_t((mn[j] >> 4) << 6);
    }
}

template <bool FiveBits>
void blockQ45_K(const float* x, uint8_t* b)
{
    int q[256], sc[8], mn[8];
    asymmetricSuper(x, 32, FiveBits ? 31 : 15, 63, b, b + 2, q, sc, mn);
    packScaleMinK4(sc, mn, b + 4);
    uint8_t* qh = b + 16;
    uint8_t* qs = b + (FiveBits ? 48 : 16);
    if (FiveBits)
        std::memset(qh, 0, 32);
    // Group g of 64: byte 32g + l holds element 64g + l (low nibble) and 64g + 32 + l (high nibble).
    for (int g = 0; g < 4; ++g)
        for (int l = 0; l < 32; ++l) {
            const int lo = q[64 * g + l], hi = q[64 * g + 32 + l];
            qs[32 * g + l] = uint8_t((lo & 0xF) | ((hi & 0xF) << 4));
            if (FiveBits)
                qh[l] |= uint8_t(((lo >> 4) << (2 * g)) | ((hi >> 4) << (2 * g + 1)));
        }
}

void blockQ6_K(const float* x, uint8_t* b)
{
    int q[256], sc[16];
    symmetricSuper(x, 32, 127, b + 208, q, sc);
    for (int s = 0; s < 16; ++s)
        b[192 + s] = uint8_t(int8_t(sc[s]));
    uint8_t* ql = b;
    uint8_t* qh = b + 128;
    std::memset(b, 0, 192);
    // Element 128h + 32j + l: low nibble in byte 64h + 32(j % 2) + l (high half of it for j >= 2),
    // two high bits in byte 32h + l at bits 2j.
    for (int e = 0; e < 256; ++e) {
        const int u = q[e] + 32;
        const int h = e / 128, j = (e % 128) / 32, l = e % 32;
        ql[64 * h + 32 * (j % 2) + l] |= uint8_t((u & 0xF) << (4 * (j / 2)));
        qh[32 * h + l] |= uint8_t((u >> 4) << (2 * j));
    }
}

void blockIQ4_XS(const float* x, uint8_t* b)
{
    float scales[8];
    for (int g = 0; g < 8; ++g)
        scales[g] = signedMax(x + 32 * g, 32) / float(kIq4nlValues[0]);
    int ls[8];
    const float d = superScale(b, scales, 8, 31, ls, -32, 31);
    uint16_t high = 0;
    std::memset(b + 4, 0, 4);
    for (int g = 0; g < 8; ++g) {
        const int v = ls[g] + 32;
        b[4 + g / 2] |= uint8_t((v & 0xF) << (4 * (g % 2)));
        high |= uint16_t((v >> 4) << (2 * g));
        iq4Group(x + 32 * g, d * float(ls[g]), b + 8 + 16 * g);
    }
    std::memcpy(b + 2, &high, 2);
}

using BlockEncoder = void (*)(const float*, uint8_t*);

constexpr struct {
    DType type;
    BlockEncoder encode;
} kEncoders[] = {
    {DType::Q8_0, blockQ8_0}, {DType::Q4_0, blockQ4_0}, {DType::Q4_1, blockQ4_1}, {DType::Q5_0, blockQ5_0},
    {DType::Q5_1, blockQ5_1}, {DType::Q2_K, blockQ2_K}, {DType::Q3_K, blockQ3_K}, {DType::Q4_K, blockQ45_K<false>},
    {DType::Q5_K, blockQ45_K<true>}, {DType::Q6_K, blockQ6_K}, {DType::IQ4_NL, blockIQ4_NL},
    {DType::IQ4_XS, blockIQ4_XS},
};

} // namespace

void quantize(DType t, const float* src, void* dstv, int64_t n)
{
    auto* dst = static_cast<uint8_t*>(dstv);
    switch (t) {
    case DType::F32:
        std::memcpy(dst, src, size_t(n) * 4);
        return;
    case DType::F16:
        for (int64_t i = 0; i < n; ++i)
            storeHalf(dst + 2 * i, src[i]);
        return;
    case DType::BF16:
        for (int64_t i = 0; i < n; ++i) {
            const uint16_t h = fp32ToBf16(src[i]);
            std::memcpy(dst + 2 * i, &h, 2);
        }
        return;
    default:
        break;
    }
    const auto codec = std::find_if(std::begin(kEncoders), std::end(kEncoders), [t](const auto& e) { return e.type == t; });
    if (codec == std::end(kEncoders))
        throw Error(std::string("cannot quantize to ") + dtypeName(t));
    const BlockEncoder encode = codec->encode;
    const int bs = dtypeBlockSize(t);
    const size_t bb = dtypeBlockBytes(t);
    for (int64_t b = 0; b < n / bs; ++b)
        encode(src + b * bs, dst + size_t(b) * bb);
}

DType quantFallback(DType t, int64_t cols)
{
    if (cols % dtypeBlockSize(t) == 0)
        return t;
    switch (t) {
    case DType::Q4_K: return DType::Q5_0;
    case DType::Q5_K: return DType::Q5_1;
    case DType::Q6_K: return DType::Q8_0;
    case DType::Q2_K:
    case DType::Q3_K:
    case DType::IQ4_XS: return DType::IQ4_NL;
    default: return t;
    }
}

WeightTypes weightTypesNamed(const std::string& name)
{
    static const struct {
        const char* name;
        WeightTypes types;
    } kNamed[] = {
        {"f32", DType::F32}, {"f16", DType::F16}, {"bf16", DType::BF16}, {"q8_0", DType::Q8_0},
        {"q4_0", DType::Q4_0}, {"q4_1", DType::Q4_1}, {"q5_0", DType::Q5_0}, {"q5_1", DType::Q5_1},
        {"q2_k", DType::Q2_K}, {"q3_k", DType::Q3_K}, {"q4_k", DType::Q4_K}, {"q5_k", DType::Q5_K},
        {"q6_k", DType::Q6_K}, {"iq4_nl", DType::IQ4_NL}, {"iq4_xs", DType::IQ4_XS},
        {"q4_k_m", {DType::Q4_K, DType::Q6_K}}, {"q5_k_m", {DType::Q5_K, DType::Q6_K}},
    };
    std::string names;
    for (const auto& n : kNamed) {
        if (name == n.name)
            return n.types;
        names += names.empty() ? n.name : std::string(", ") + n.name;
    }
    throw Error("unknown weight type '" + name + "' (expected one of " + names + ")");
}

} // namespace logitscope
