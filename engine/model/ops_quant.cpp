// Decode mat-vecs over the GGUF block formats. For each weight row, block by block: decode the block
// eight weights at a time in registers (AVX2 decoders for the formats real files use most; dtype.cpp's
// scalar decoder for Q2_K and Q3_K) and multiply-add each run into every input row.
// Not the prefill path (ops.cpp converts tiles and calls sgemm) and not Q8_0 (ops.cpp: one pass).
#include "model/ops_quant.h"

#if defined(__AVX2__) && defined(__FMA__) && defined(__F16C__)
#include <immintrin.h>

#include <cstring>

namespace logitscope::ops::detail {

namespace {

float loadHalf(const uint8_t* p)
{
    uint16_t h;
    std::memcpy(&h, p, 2);
    return _cvtsh_ss(h);
}

// The low eight bytes of v as eight fp32 values (unsigned).
inline __m256 bytesToFloats(__m128i v) { return _mm256_cvtepi32_ps(_mm256_cvtepu8_epi32(v)); }

// The decoders hand each run of eight weights to a sink as it is decoded: sink(k, w) with k the
// element's offset in the block and w eight fp32 weights, so nothing is stored in between.

// 32 unsigned bytes as weights k .. k + 31: w = q * d + bias.
template <class Sink>
inline void emit32(__m256i q, __m256 d, __m256 bias, int k, Sink& sink)
{
    const __m128i lo = _mm256_castsi256_si128(q), hi = _mm256_extracti128_si256(q, 1);
    sink(k, _mm256_fmadd_ps(bytesToFloats(lo), d, bias));
    sink(k + 8, _mm256_fmadd_ps(bytesToFloats(_mm_srli_si128(lo, 8)), d, bias));
    sink(k + 16, _mm256_fmadd_ps(bytesToFloats(hi), d, bias));
    sink(k + 24, _mm256_fmadd_ps(bytesToFloats(_mm_srli_si128(hi, 8)), d, bias));
}

// Sixteen unsigned bytes as weights k .. k + 15: w = q * d + bias.
template <class Sink>
inline void emit16(__m128i q, __m256 d, __m256 bias, int k, Sink& sink)
{
    sink(k, _mm256_fmadd_ps(bytesToFloats(q), d, bias));
    sink(k + 8, _mm256_fmadd_ps(bytesToFloats(_mm_srli_si128(q, 8)), d, bias));
}

inline __m256i lowNibbles(__m256i v) { return _mm256_and_si256(v, _mm256_set1_epi8(0x0F)); }

// The 32-element formats: 16 bytes, element i in the low nibble of byte i, i + 16 in its high nibble.
// Returns the 32 nibbles in element order.
inline __m256i nibbles32(const uint8_t* qs)
{
    const __m128i q = _mm_loadu_si128(reinterpret_cast<const __m128i*>(qs));
    const __m256i both = _mm256_set_m128i(_mm_srli_epi16(q, 4), q);
    return lowNibbles(both);
}

struct Q4_0 {
    static constexpr int kSize = 32, kBytes = 18;
    template <class Sink>
    static void decode(const uint8_t* b, Sink& sink)
    {
        const __m256 d = _mm256_set1_ps(loadHalf(b));
        emit32(nibbles32(b + 2), d, _mm256_mul_ps(d, _mm256_set1_ps(-8.0f)), 0, sink);
    }
};

// Bit i of the 32-bit word at qhAt, as 0x10 in byte i.
inline __m256i fifthBits(const uint8_t* qhAt)
{
    uint32_t qh;
    std::memcpy(&qh, qhAt, 4);
    // Byte i of the vector takes byte i / 8 of qh, then tests bit i % 8.
    const __m256i spread = _mm256_shuffle_epi8(_mm256_set1_epi32(int(qh)),
        _mm256_setr_epi8(0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1, 2, 2, 2, 2, 2, 2, 2, 2, 3, 3, 3, 3, 3, 3, 3, 3));
    const __m256i bit = _mm256_set1_epi64x(int64_t(0x8040201008040201ull));
    const __m256i set = _mm256_cmpeq_epi8(_mm256_and_si256(spread, bit), bit);
    return _mm256_and_si256(set, _mm256_set1_epi8(0x10));
}

struct Q5_0 {
    static constexpr int kSize = 32, kBytes = 22;
    template <class Sink>
    static void decode(const uint8_t* b, Sink& sink)
    {
        const __m256 d = _mm256_set1_ps(loadHalf(b));
        const __m256i q = _mm256_or_si256(nibbles32(b + 6), fifthBits(b + 2));
        emit32(q, d, _mm256_mul_ps(d, _mm256_set1_ps(-16.0f)), 0, sink);
    }
};

// Q4_1 / Q5_1: the same nibbles (and fifth bits) with a minimum: w = q * d + m.
template <bool FiveBits>
struct Q45_1 {
    static constexpr int kSize = 32, kBytes = FiveBits ? 24 : 20;
    template <class Sink>
    static void decode(const uint8_t* b, Sink& sink)
    {
        __m256i q = nibbles32(b + (FiveBits ? 8 : 4));
        if (FiveBits)
            q = _mm256_or_si256(q, fifthBits(b + 4));
        emit32(q, _mm256_set1_ps(loadHalf(b)), _mm256_set1_ps(loadHalf(b + 2)), 0, sink);
    }
};

// IQ4_NL / IQ4_XS: 32 indices into the 16-entry table, looked up with a byte shuffle.
template <class Sink>
inline void iq4Group(const uint8_t* qs, float dl, int k, Sink& sink)
{
    const __m128i table = _mm_loadu_si128(reinterpret_cast<const __m128i*>(kIq4nlValues));
    const __m256i idx = nibbles32(qs);
    const __m128i lo = _mm_shuffle_epi8(table, _mm256_castsi256_si128(idx));
    const __m128i hi = _mm_shuffle_epi8(table, _mm256_extracti128_si256(idx, 1));
    const __m256 d = _mm256_set1_ps(dl);
    const auto put = [&](__m128i v, int at) {
        sink(at, _mm256_mul_ps(d, _mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(v))));
        sink(at + 8, _mm256_mul_ps(d, _mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(_mm_srli_si128(v, 8)))));
    };
    put(lo, k);
    put(hi, k + 16);
}

struct IQ4_NL {
    static constexpr int kSize = 32, kBytes = 18;
    template <class Sink>
    static void decode(const uint8_t* b, Sink& sink) { iq4Group(b + 2, loadHalf(b), 0, sink); }
};

struct IQ4_XS {
    static constexpr int kSize = 256, kBytes = 136;
    template <class Sink>
    static void decode(const uint8_t* b, Sink& sink)
    {
        const float d = loadHalf(b);
        uint16_t high;
        std::memcpy(&high, b + 2, 2);
        for (int g = 0; g < 8; ++g) {
            const int ls = ((b[4 + g / 2] >> (4 * (g % 2))) & 0xF) | (((high >> (2 * g)) & 3) << 4);
            iq4Group(b + 8 + 16 * g, d * float(ls - 32), 32 * g, sink);
        }
    }
};

// Q4_K / Q5_K: the eight 6-bit scales and minimums of a block (dtype.cpp's scaleMinK4), all at once and
// multiplied out: scale[j] = d * sc_j, lift[j] = -dmin * m_j. In 32-bit words u0..u2 of the 12 bytes,
// sc 0-3 and m 0-3 are the low six bits of u0 and u1; sc 4-7 take u2's low nibbles with u0's top two
// bits of each byte above them, m 4-7 u2's high nibbles with u1's top bits.
inline void scalesK4(const uint8_t* q, float d, float dmin, float* scale, float* lift)
{
    uint32_t u[3];
    std::memcpy(u, q, 12);
    constexpr uint32_t six = 0x3f3f3f3f, four = 0x0f0f0f0f, two = 0x03030303;
    const uint32_t sc[2] = {u[0] & six, (u[2] & four) | (((u[0] >> 6) & two) << 4)};
    const uint32_t mn[2] = {u[1] & six, ((u[2] >> 4) & four) | (((u[1] >> 6) & two) << 4)};
    const auto floats = [](const uint32_t* w) {
        return _mm256_cvtepi32_ps(_mm256_cvtepu8_epi32(_mm_loadl_epi64(reinterpret_cast<const __m128i*>(w))));
    };
    _mm256_store_ps(scale, _mm256_mul_ps(floats(sc), _mm256_set1_ps(d)));
    _mm256_store_ps(lift, _mm256_mul_ps(floats(mn), _mm256_set1_ps(-dmin)));
}

template <bool FiveBits>
struct Q45_K {
    static constexpr int kSize = 256, kBytes = FiveBits ? 176 : 144;
    template <class Sink>
    static void decode(const uint8_t* b, Sink& sink)
    {
        alignas(32) float scale[8], lift[8];
        scalesK4(b + 4, loadHalf(b), loadHalf(b + 2), scale, lift);
        const __m256i qh = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(b + 16));
        const uint8_t* qs = b + (FiveBits ? 48 : 16);
        for (int g = 0; g < 4; ++g) {
            const __m256i q = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(qs + 32 * g));
            __m256i lo = lowNibbles(q);
            __m256i hi = lowNibbles(_mm256_srli_epi16(q, 4));
            if (FiveBits) {
                // Bits 2g and 2g + 1 of qh[l], moved to bit 4.
                const __m256i one = _mm256_set1_epi8(1);
                const __m128i sLo = _mm_cvtsi32_si128(2 * g), sHi = _mm_cvtsi32_si128(2 * g + 1);
                lo = _mm256_or_si256(lo, _mm256_slli_epi16(_mm256_and_si256(_mm256_srl_epi16(qh, sLo), one), 4));
                hi = _mm256_or_si256(hi, _mm256_slli_epi16(_mm256_and_si256(_mm256_srl_epi16(qh, sHi), one), 4));
            }
            emit32(lo, _mm256_broadcast_ss(scale + 2 * g), _mm256_broadcast_ss(lift + 2 * g), 64 * g, sink);
            emit32(hi, _mm256_broadcast_ss(scale + 2 * g + 1), _mm256_broadcast_ss(lift + 2 * g + 1), 64 * g + 32, sink);
        }
    }
};

struct Q6_K {
    static constexpr int kSize = 256, kBytes = 210;
    template <class Sink>
    static void decode(const uint8_t* b, Sink& sink)
    {
        // The sixteen int8 sub-block scales times d, and the -32 offset folded in: w = q * scale + lift.
        alignas(32) float scale[16], lift[16];
        const __m128i sc = _mm_loadu_si128(reinterpret_cast<const __m128i*>(b + 192));
        const __m256 d = _mm256_set1_ps(loadHalf(b + 208)), m32 = _mm256_set1_ps(-32.0f);
        for (int i = 0; i < 2; ++i) {
            const __m256 s = _mm256_mul_ps(d, _mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(i ? _mm_srli_si128(sc, 8) : sc)));
            _mm256_store_ps(scale + 8 * i, s);
            _mm256_store_ps(lift + 8 * i, _mm256_mul_ps(s, m32));
        }
        const __m256i three = _mm256_set1_epi8(3);
        for (int h = 0; h < 2; ++h) {
            const __m256i ql0 = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(b + 64 * h));
            const __m256i ql1 = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(b + 64 * h + 32));
            const __m256i qh = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(b + 128 + 32 * h));
            const __m256i low[4] = {lowNibbles(ql0), lowNibbles(ql1), lowNibbles(_mm256_srli_epi16(ql0, 4)),
                                    lowNibbles(_mm256_srli_epi16(ql1, 4))};
            for (int j = 0; j < 4; ++j) {
                const __m256i high = _mm256_and_si256(_mm256_srl_epi16(qh, _mm_cvtsi32_si128(2 * j)), three);
                const __m256i q = _mm256_or_si256(low[j], _mm256_slli_epi16(high, 4)); // 0..63, less 32 in lift
                for (int s = 0; s < 2; ++s) {
                    const int at = 8 * h + 2 * j + s;
                    const __m128i part = s ? _mm256_extracti128_si256(q, 1) : _mm256_castsi256_si128(q);
                    emit16(part, _mm256_broadcast_ss(scale + at), _mm256_broadcast_ss(lift + at),
                           128 * h + 32 * j + 16 * s, sink);
                }
            }
        }
    }
};

// Formats without an AVX2 decoder: dtype.cpp's, through a buffer.
template <DType T, int Size, int Bytes>
struct Scalar {
    static constexpr int kSize = Size, kBytes = Bytes;
    template <class Sink>
    static void decode(const uint8_t* b, Sink& sink)
    {
        alignas(32) float y[Size];
        blockDecoder(T)(b, y);
        for (int k = 0; k < Size; k += 8)
            sink(k, _mm256_load_ps(y + k));
    }
};

inline float hsum(__m256 v)
{
    __m128 h = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    h = _mm_add_ps(h, _mm_movehl_ps(h, h));
    h = _mm_add_ss(h, _mm_movehdup_ps(h));
    return _mm_cvtss_f32(h);
}

template <class F, int TT>
void rows(float* out, int outStride, const float* x, const TensorView& w, int r0, int r1)
{
    const int K = int(w.cols()), nb = K / F::kSize;
    const auto* base = static_cast<const uint8_t*>(w.data);
    for (int r = r0; r < r1; ++r) {
        const uint8_t* wr = base + size_t(r) * size_t(nb) * F::kBytes;
        __m256 acc[TT][2];
        for (int t = 0; t < TT; ++t)
            acc[t][0] = acc[t][1] = _mm256_setzero_ps();
        for (int b = 0; b < nb; ++b) {
            const uint8_t* blk = wr + size_t(b) * F::kBytes;
            _mm_prefetch(reinterpret_cast<const char*>(blk) + kPrefetchBytes, _MM_HINT_T0);
            const float* xb = x + size_t(b) * F::kSize;
            // Two accumulators per input row, alternating by run of eight, hide the FMA latency.
            auto sink = [&](int k, __m256 wv) {
                for (int t = 0; t < TT; ++t) {
                    __m256& a = acc[t][(k / 8) & 1];
                    a = _mm256_fmadd_ps(wv, _mm256_loadu_ps(xb + size_t(t) * K + k), a);
                }
            };
            F::decode(blk, sink);
        }
        for (int t = 0; t < TT; ++t)
            out[size_t(t) * outStride + r] = hsum(_mm256_add_ps(acc[t][0], acc[t][1]));
    }
}

template <class F>
void rowsAnyT(float* out, int outStride, const float* x, int T, const TensorView& w, int r0, int r1)
{
    switch (T) {
    case 1: rows<F, 1>(out, outStride, x, w, r0, r1); return;
    case 2: rows<F, 2>(out, outStride, x, w, r0, r1); return;
    case 3: rows<F, 3>(out, outStride, x, w, r0, r1); return;
    default: rows<F, 4>(out, outStride, x, w, r0, r1); return;
    }
}

} // namespace

void rowsBlocks(float* out, int outStride, const float* x, int T, const TensorView& w, int r0, int r1)
{
    switch (w.type) {
    case DType::Q4_0: rowsAnyT<Q4_0>(out, outStride, x, T, w, r0, r1); return;
    case DType::Q5_0: rowsAnyT<Q5_0>(out, outStride, x, T, w, r0, r1); return;
    case DType::Q4_K: rowsAnyT<Q45_K<false>>(out, outStride, x, T, w, r0, r1); return;
    case DType::Q5_K: rowsAnyT<Q45_K<true>>(out, outStride, x, T, w, r0, r1); return;
    case DType::Q6_K: rowsAnyT<Q6_K>(out, outStride, x, T, w, r0, r1); return;
    case DType::IQ4_NL: rowsAnyT<IQ4_NL>(out, outStride, x, T, w, r0, r1); return;
    case DType::IQ4_XS: rowsAnyT<IQ4_XS>(out, outStride, x, T, w, r0, r1); return;
    case DType::Q4_1: rowsAnyT<Q45_1<false>>(out, outStride, x, T, w, r0, r1); return;
    case DType::Q5_1: rowsAnyT<Q45_1<true>>(out, outStride, x, T, w, r0, r1); return;
    case DType::Q2_K: rowsAnyT<Scalar<DType::Q2_K, 256, 84>>(out, outStride, x, T, w, r0, r1); return;
    case DType::Q3_K: rowsAnyT<Scalar<DType::Q3_K, 256, 110>>(out, outStride, x, T, w, r0, r1); return;
    default: return; // plain types and Q8_0 never come here (ops.cpp)
    }
}

} // namespace logitscope::ops::detail

#endif
