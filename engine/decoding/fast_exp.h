// fastExp: a branch-free float exp (Cody-Waite reduction + degree-7 polynomial, ~2 ulp) for softmax over
// a whole vocabulary; exactly 0 below -87 (so -inf gives 0). fastExp8 is the same arithmetic on 8 lanes
// (GCC/Clang vector extensions: AVX2 where the engine is built for it, two SSE halves otherwise), so the
// scalar and vector paths agree bit for bit.
// Not a general libm replacement: no NaN handling, inputs above 88 are clamped; values below about -87.3
// come out denormal (inexact) or 0. Both functions have internal linkage: translation units built with and
// without AVX pass Float8 differently, so they must never share one out-of-line copy.
#pragma once

#include <cstdint>
#include <cstring>

#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wpsabi" // see above: internal linkage, so no ABI is shared

namespace logitscope {

typedef float Float8 __attribute__((vector_size(32)));
typedef int32_t Int8 __attribute__((vector_size(32)));

namespace fast_exp_detail {
inline constexpr float kLo = -87.0f;
inline constexpr float kHi = 88.0f;
inline constexpr float kLog2e = 1.44269504088896341f;
inline constexpr float kShifter = 12582912.0f; // 1.5 * 2^23: adding it rounds to an integer
inline constexpr float kLn2Hi = 0.693145751953125f;
inline constexpr float kLn2Lo = 1.42860682030941723212e-6f;
} // namespace fast_exp_detail

static inline float fastExp(float x)
{
    using namespace fast_exp_detail;
    const float xc = x < kLo ? kLo : (x > kHi ? kHi : x);
    const float n = (xc * kLog2e + kShifter) - kShifter;
    const float r = (xc - n * kLn2Hi) - n * kLn2Lo;
    // e^r on [-ln2/2, ln2/2]: Taylor to degree 7, Horner.
    float p = 1.0f / 5040.0f;
    p = p * r + 1.0f / 720.0f;
    p = p * r + 1.0f / 120.0f;
    p = p * r + 1.0f / 24.0f;
    p = p * r + 1.0f / 6.0f;
    p = p * r + 0.5f;
    p = p * r + 1.0f;
    p = p * r + 1.0f;
    const int32_t bits = (int32_t(n) + 127) << 23;
    float scale;
    std::memcpy(&scale, &bits, sizeof scale);
    const float y = p * scale;
    return x < kLo ? 0.0f : y;
}

static inline Float8 fastExp8(Float8 x)
{
    using namespace fast_exp_detail;
    const Float8 lo = Float8{} + kLo, hi = Float8{} + kHi;
    Float8 xc = x < lo ? lo : x;
    xc = xc > hi ? hi : xc;
    const Float8 n = (xc * kLog2e + kShifter) - kShifter;
    const Float8 r = (xc - n * kLn2Hi) - n * kLn2Lo;
    Float8 p = Float8{} + 1.0f / 5040.0f;
    p = p * r + 1.0f / 720.0f;
    p = p * r + 1.0f / 120.0f;
    p = p * r + 1.0f / 24.0f;
    p = p * r + 1.0f / 6.0f;
    p = p * r + 0.5f;
    p = p * r + 1.0f;
    p = p * r + 1.0f;
    const Int8 bits = (__builtin_convertvector(n, Int8) + 127) << 23;
    Float8 scale;
    std::memcpy(&scale, &bits, sizeof scale);
    const Float8 y = p * scale;
    return x < lo ? Float8{} : y;
}

} // namespace logitscope

#pragma GCC diagnostic pop
