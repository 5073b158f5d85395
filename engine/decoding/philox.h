// Philox4x32-10: the counter-based random generator (Salmon et al., SC'11) behind every seeded draw.
// A draw is a pure function of (seed, lane, step): no state, the same bits on every platform, and the
// CUDA backend mirrors this header bit for bit. Header-only and constexpr; no std:: distributions.
// Not a cryptographic generator.
#pragma once

#include <array>
#include <cstdint>

namespace logitscope {

using PhiloxCounter = std::array<uint32_t, 4>;
using PhiloxKey = std::array<uint32_t, 2>;

namespace philox_detail {
inline constexpr uint32_t kMul0 = 0xD2511F53u;
inline constexpr uint32_t kMul1 = 0xCD9E8D57u;
inline constexpr uint32_t kWeyl0 = 0x9E3779B9u; // golden ratio
inline constexpr uint32_t kWeyl1 = 0xBB67AE85u; // sqrt(3) - 1

constexpr void mulHiLo(uint32_t a, uint32_t b, uint32_t& hi, uint32_t& lo)
{
    const uint64_t product = uint64_t(a) * uint64_t(b);
    hi = uint32_t(product >> 32);
    lo = uint32_t(product);
}
} // namespace philox_detail

// The raw block function: 10 rounds over a 128-bit counter with a 64-bit key (Random123's philox4x32).
constexpr PhiloxCounter philox4x32_10(PhiloxCounter ctr, PhiloxKey key)
{
    using namespace philox_detail;
    for (int round = 0; round < 10; ++round) {
        if (round > 0) {
            key[0] += kWeyl0;
            key[1] += kWeyl1;
        }
        uint32_t hi0 = 0, lo0 = 0, hi1 = 0, lo1 = 0;
        mulHiLo(kMul0, ctr[0], hi0, lo0);
        mulHiLo(kMul1, ctr[2], hi1, lo1);
        ctr = {hi1 ^ ctr[1] ^ key[0], lo1, hi0 ^ ctr[3] ^ key[1], lo0};
    }
    return ctr;
}

// 24 random bits -> float in [0, 1) (exactly representable, never 1).
constexpr float philoxToUniform(uint32_t bits) { return float(bits >> 8) * (1.0f / 16777216.0f); }

// 53 random bits from two words -> double in [0, 1).
constexpr double philoxToUniform53(uint32_t hi, uint32_t lo)
{
    const uint64_t bits = (uint64_t(hi) << 21) ^ (uint64_t(lo) >> 11);
    return double(bits & ((uint64_t(1) << 53) - 1)) * (1.0 / 9007199254740992.0);
}

// One block of four 32-bit draws for (seed, lane, step).
// Layout: key = (seed low, seed high); counter = (step low, step high, lane low, lane high).
struct PhiloxDraw {
    PhiloxCounter bits{};

    constexpr PhiloxDraw(uint64_t seed, uint64_t lane, uint64_t step)
        : bits(philox4x32_10({uint32_t(step), uint32_t(step >> 32), uint32_t(lane), uint32_t(lane >> 32)},
                             {uint32_t(seed), uint32_t(seed >> 32)}))
    {
    }

    // Float in [0, 1) from word i (0..3). uniform(0) is the sampler's draw.
    constexpr float uniform(int i = 0) const { return philoxToUniform(bits[i & 3]); }
    // Double in [0, 1) from words (2*pair, 2*pair+1), pair 0 or 1.
    constexpr double uniform53(int pair = 0) const { return philoxToUniform53(bits[(2 * pair) & 3], bits[(2 * pair + 1) & 3]); }
    // 64 raw bits from words (2*pair, 2*pair+1).
    constexpr uint64_t u64(int pair = 0) const { return (uint64_t(bits[(2 * pair) & 3]) << 32) | bits[(2 * pair + 1) & 3]; }
};

// The sampler's uniform draw for (seed, lane, step): float in [0, 1).
constexpr float philoxUniform(uint64_t seed, uint64_t lane, uint64_t step) { return PhiloxDraw(seed, lane, step).uniform(0); }

} // namespace logitscope
