// fastExp: a branch-free float exp (Cody-Waite reduction + degree-7 polynomial, ~2 ulp) that the
// compiler can vectorize, for softmax over a whole vocabulary; exactly 0 below -87 (so -inf gives 0).
// Not a general libm replacement: no NaN handling, inputs above 88 are clamped.
#pragma once

#include <cstdint>
#include <cstring>

namespace logitscope {

inline float fastExp(float x)
{
    const float xc = x < -87.0f ? -87.0f : (x > 88.0f ? 88.0f : x);
    // n = round(x / ln 2) by the 1.5 * 2^23 trick (exact under round-to-nearest).
    const float shifter = 12582912.0f;
    const float n = (xc * 1.44269504088896341f + shifter) - shifter;
    // r = x - n ln2 in two steps (ln2 split so n * ln2Hi is exact).
    const float r = (xc - n * 0.693145751953125f) - n * 1.42860682030941723212e-6f;
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
    return x < -87.0f ? 0.0f : y;
}

} // namespace logitscope
