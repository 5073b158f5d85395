// CPU ops: norms, RoPE, activations, softmax and the matrix products over weights of any dtype.
// Matrix products: small batches (decode) stream each weight row once through AVX2/F16C kernels
// (software-prefetched, long contiguous runs per thread);
// large batches (prefill) convert weight tiles to fp32 and hand them to OpenBLAS sgemm.
// Not threaded by itself: the ThreadPool passed in spreads row ranges over its threads.
#include "model/ops.h"

#include "model/ops_quant.h"
#include "model/thread_pool.h"

#include <cblas.h>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstring>
#include <limits>
#include <memory>
#include <numbers>
#include <stdexcept>
#include <vector>

#if defined(__AVX2__) && defined(__FMA__) && defined(__F16C__)
#include <immintrin.h>
#define LOGITSCOPE_AVX2 1
#endif

namespace logitscope::ops {

// ---- norms, activations, softmax ------------------------------------------------------------

void rmsnorm(float* out, const float* x, const float* w, int n, float eps)
{
    double ss = 0.0;
    for (int i = 0; i < n; ++i)
        ss += double(x[i]) * double(x[i]);
    const float inv = float(1.0 / std::sqrt(ss / n + double(eps)));
    for (int i = 0; i < n; ++i)
        out[i] = w[i] * (x[i] * inv);
}

void layernorm(float* out, const float* x, const float* w, const float* b, int n, float eps)
{
    double mean = 0.0;
    for (int i = 0; i < n; ++i)
        mean += x[i];
    mean /= n;
    double var = 0.0;
    for (int i = 0; i < n; ++i)
        var += (x[i] - mean) * (x[i] - mean);
    var /= n;
    const double inv = 1.0 / std::sqrt(var + double(eps));
    for (int i = 0; i < n; ++i)
        out[i] = float((x[i] - mean) * inv) * w[i] + (b ? b[i] : 0.0f);
}

void siluMul(float* out, const float* gate, const float* up, int n)
{
    for (int i = 0; i < n; ++i) {
        const float g = gate[i];
        out[i] = g / (1.0f + std::exp(-g)) * up[i];
    }
}

void gelu(float* out, const float* x, int n)
{
    const float k = float(std::sqrt(2.0 / std::numbers::pi));
    for (int i = 0; i < n; ++i) {
        const float v = x[i];
        out[i] = 0.5f * v * (1.0f + std::tanh(k * (v + 0.044715f * v * v * v)));
    }
}

#ifdef LOGITSCOPE_AVX2
namespace {
// exp(x) for x <= 0 (softmax after subtracting the max): Cody-Waite range reduction and a degree-6
// polynomial, within 2 ulp of expf. Inputs below -87 give 0.
inline __m256 expNonPositive(__m256 x)
{
    x = _mm256_max_ps(x, _mm256_set1_ps(-87.0f));
    const __m256 n = _mm256_round_ps(_mm256_mul_ps(x, _mm256_set1_ps(1.44269504088896341f)),
                                     _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    __m256 r = _mm256_fnmadd_ps(n, _mm256_set1_ps(0.693359375f), x);
    r = _mm256_fnmadd_ps(n, _mm256_set1_ps(-2.12194440e-4f), r);
    __m256 p = _mm256_set1_ps(1.9875691500e-4f);
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.3981999507e-3f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(8.3334519073e-3f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(4.1665795894e-2f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.6666665459e-1f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(5.0000001201e-1f));
    p = _mm256_fmadd_ps(p, _mm256_mul_ps(r, r), _mm256_add_ps(r, _mm256_set1_ps(1.0f)));
    const __m256i e = _mm256_slli_epi32(_mm256_add_epi32(_mm256_cvtps_epi32(n), _mm256_set1_epi32(127)), 23);
    return _mm256_mul_ps(p, _mm256_castsi256_ps(e));
}
} // namespace
#endif

void softmax(float* x, int n)
{
    float mx, sum;
    softmax(x, n, mx, sum);
}

void softmax(float* x, int n, float& maxOut, float& sumOut)
{
    float mx = x[0];
    for (int i = 1; i < n; ++i)
        mx = std::max(mx, x[i]);
    double sum = 0.0;
    int i = 0;
#ifdef LOGITSCOPE_AVX2
    const __m256 vmx = _mm256_set1_ps(mx);
    __m256 vsum = _mm256_setzero_ps();
    for (; i + 8 <= n; i += 8) {
        const __m256 e = expNonPositive(_mm256_sub_ps(_mm256_loadu_ps(x + i), vmx));
        _mm256_storeu_ps(x + i, e);
        vsum = _mm256_add_ps(vsum, e);
    }
    alignas(32) float lanes[8];
    _mm256_store_ps(lanes, vsum);
    for (float l : lanes)
        sum += l;
#endif
    for (; i < n; ++i) {
        x[i] = std::exp(x[i] - mx);
        sum += x[i];
    }
    const float inv = float(1.0 / sum);
    for (i = 0; i < n; ++i)
        x[i] *= inv;
    maxOut = mx;
    sumOut = float(sum);
}

void toFp16(uint16_t* out, const float* x, int n)
{
    int i = 0;
#ifdef LOGITSCOPE_AVX2
    for (; i + 8 <= n; i += 8)
        _mm_storeu_si128(reinterpret_cast<__m128i*>(out + i),
                         _mm256_cvtps_ph(_mm256_loadu_ps(x + i), _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC));
#endif
    for (; i < n; ++i)
        out[i] = fp32ToFp16(x[i]);
}

void add(float* out, const float* a, const float* b, int n)
{
    for (int i = 0; i < n; ++i)
        out[i] = a[i] + b[i];
}

float dot(const float* a, const float* b, int n)
{
    int i = 0;
    float s = 0.0f;
#ifdef LOGITSCOPE_AVX2
    __m256 acc0 = _mm256_setzero_ps(), acc1 = _mm256_setzero_ps();
    for (; i + 16 <= n; i += 16) {
        acc0 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i), _mm256_loadu_ps(b + i), acc0);
        acc1 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i + 8), _mm256_loadu_ps(b + i + 8), acc1);
    }
    for (; i + 8 <= n; i += 8)
        acc0 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i), _mm256_loadu_ps(b + i), acc0);
    acc0 = _mm256_add_ps(acc0, acc1);
    __m128 h = _mm_add_ps(_mm256_castps256_ps128(acc0), _mm256_extractf128_ps(acc0, 1));
    h = _mm_add_ps(h, _mm_movehl_ps(h, h));
    h = _mm_add_ss(h, _mm_movehdup_ps(h));
    s = _mm_cvtss_f32(h);
#endif
    for (; i < n; ++i)
        s += a[i] * b[i];
    return s;
}

void axpy(float* y, float a, const float* x, int n)
{
    int i = 0;
#ifdef LOGITSCOPE_AVX2
    const __m256 va = _mm256_set1_ps(a);
    for (; i + 8 <= n; i += 8)
        _mm256_storeu_ps(y + i, _mm256_fmadd_ps(va, _mm256_loadu_ps(x + i), _mm256_loadu_ps(y + i)));
#endif
    for (; i < n; ++i)
        y[i] += a * x[i];
}

// ---- rotary position embedding ----------------------------------------------------------------

void ropeFrequencies(float* invFreq, int headDim, float theta, const RopeScaling& scaling)
{
    const int half = headDim / 2;
    for (int i = 0; i < half; ++i) {
        // As torch: base ** (arange(0, D, 2).float() / D), then 1.0 / that, all in fp32.
        const float e = float(2 * i) / float(headDim);
        const float p = float(std::pow(double(theta), double(e)));
        invFreq[i] = 1.0f / p;
    }
    if (scaling.type == RopeScaling::Type::Linear) {
        for (int i = 0; i < half; ++i)
            invFreq[i] /= scaling.factor;
    } else if (scaling.type == RopeScaling::Type::Llama3) {
        const float factor = scaling.factor;
        const float low = scaling.lowFreqFactor, high = scaling.highFreqFactor;
        const float old = float(scaling.originalContext);
        const double lowWavelen = double(scaling.originalContext) / low;
        const double highWavelen = double(scaling.originalContext) / high;
        for (int i = 0; i < half; ++i) {
            const float inv = invFreq[i];
            const float wavelen = float(2.0 * std::numbers::pi) / inv;
            float scaled = wavelen > lowWavelen ? inv / factor : inv;
            const float smooth = (old / wavelen - low) / (high - low);
            const float smoothed = (1.0f - smooth) * scaled / factor + smooth * scaled;
            const bool medium = !(wavelen < highWavelen) && !(wavelen > lowWavelen);
            invFreq[i] = medium ? smoothed : scaled;
        }
    }
    for (int i = 0; i < half; ++i) {
        if (scaling.rounding == RopeScaling::Rounding::Fp16)
            invFreq[i] = fp16ToFp32(fp32ToFp16(invFreq[i]));
        else if (scaling.rounding == RopeScaling::Rounding::Bf16)
            invFreq[i] = bf16ToFp32(fp32ToBf16(invFreq[i]));
    }
}

void ropeAngles(float* cosSin, int headDim, int pos, const float* invFreq)
{
    const int half = headDim / 2;
    for (int i = 0; i < half; ++i) {
        const float angle = float(pos) * invFreq[i]; // fp32 product, as HF's position x inv_freq
        cosSin[i] = std::cos(angle);
        cosSin[half + i] = std::sin(angle);
    }
}

void ropeRotate(float* x, int nHeads, int headDim, const float* cosSin, RopeLayout layout)
{
    const int half = headDim / 2;
    const float* cs = cosSin;
    const float* sn = cosSin + half;
    for (int h = 0; h < nHeads; ++h) {
        float* v = x + size_t(h) * headDim;
        for (int i = 0; i < half; ++i) {
            const int a = layout == RopeLayout::Interleaved ? 2 * i : i;
            const int b = layout == RopeLayout::Interleaved ? 2 * i + 1 : i + half;
            const float x0 = v[a], x1 = v[b];
            v[a] = x0 * cs[i] - x1 * sn[i];
            v[b] = x1 * cs[i] + x0 * sn[i];
        }
    }
}

void rope(float* x, int nHeads, int headDim, int pos, const float* invFreq, RopeLayout layout)
{
    float cosSin[1024];
    ropeAngles(cosSin, headDim, pos, invFreq);
    ropeRotate(x, nHeads, headDim, cosSin, layout);
}

void rope(float* x, int nHeads, int headDim, int pos, float theta, RopeLayout layout, const RopeScaling& scaling)
{
    float invFreq[256];
    ropeFrequencies(invFreq, headDim, theta, scaling);
    rope(x, nHeads, headDim, pos, invFreq, layout);
}

// ---- embeddings ---------------------------------------------------------------------------------

void embeddingGather(float* out, const TensorView& table, const int32_t* ids, int T)
{
    const int64_t C = table.cols();
    const auto* base = static_cast<const uint8_t*>(table.data);
    const size_t rowBytes = dtypeBytes(table.type, C);
    for (int t = 0; t < T; ++t)
        dequantize(table.type, base + size_t(ids[t]) * rowBytes, out + size_t(t) * C, C);
}

// ---- matrix products ----------------------------------------------------------------------------

namespace {

constexpr int kSmallBatch = 16;  // up to this many input rows: stream the weights (decode kernels)
constexpr int kTileRows = 64;    // weight rows converted to fp32 per sgemm call (prefill)
using detail::kPrefetchBytes;

// Rows [r0, r1) of w times every input row, generic path: dequantize one weight row, then dot.
void rowsGeneric(float* out, int outStride, const float* x, int T, const TensorView& w, int r0, int r1)
{
    const int K = int(w.cols());
    thread_local std::vector<float> row;
    row.resize(size_t(K));
    const auto* base = static_cast<const uint8_t*>(w.data);
    const size_t rowBytes = dtypeBytes(w.type, K);
    for (int r = r0; r < r1; ++r) {
        const float* wr;
        if (w.type == DType::F32) {
            wr = reinterpret_cast<const float*>(base + size_t(r) * rowBytes);
        } else {
            dequantize(w.type, base + size_t(r) * rowBytes, row.data(), K);
            wr = row.data();
        }
        for (int t = 0; t < T; ++t)
            out[size_t(t) * outStride + r] = dot(wr, x + size_t(t) * K, K);
    }
}

#ifdef LOGITSCOPE_AVX2

inline float hsum(__m256 v)
{
    __m128 h = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    h = _mm_add_ps(h, _mm_movehl_ps(h, h));
    h = _mm_add_ss(h, _mm_movehdup_ps(h));
    return _mm_cvtss_f32(h);
}

// Eight weights as fp32, for each plain element type.
struct LoadF32 {
    using Elem = float;
    static __m256 load(const float* p) { return _mm256_loadu_ps(p); }
    static float scalar(const float* p) { return *p; }
};
struct LoadF16 {
    using Elem = uint16_t;
    static __m256 load(const uint16_t* p) { return _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p))); }
    static float scalar(const uint16_t* p) { return fp16ToFp32(*p); }
};
struct LoadBF16 {
    using Elem = uint16_t;
    static __m256 load(const uint16_t* p)
    {
        const __m256i v = _mm256_cvtepu16_epi32(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p)));
        return _mm256_castsi256_ps(_mm256_slli_epi32(v, 16));
    }
    static float scalar(const uint16_t* p) { return bf16ToFp32(*p); }
};

// TT input rows at once; each weight row is read once and applied to all of them.
// U independent accumulators per input row hide the FMA latency when TT is small.
template <class L, int TT>
void rowsPlain(float* out, int outStride, const float* x, const TensorView& w, int r0, int r1)
{
    constexpr int U = TT == 1 ? 4 : TT == 2 ? 2 : 1;
    const int K = int(w.cols());
    const auto* base = static_cast<const typename L::Elem*>(w.data);
    for (int r = r0; r < r1; ++r) {
        const typename L::Elem* wr = base + size_t(r) * K;
        __m256 acc[TT][U];
        for (int t = 0; t < TT; ++t)
            for (int u = 0; u < U; ++u)
                acc[t][u] = _mm256_setzero_ps();
        int k = 0;
        for (; k + 8 * U <= K; k += 8 * U) {
            _mm_prefetch(reinterpret_cast<const char*>(wr + k) + kPrefetchBytes, _MM_HINT_T0);
            for (int u = 0; u < U; ++u) {
                const __m256 wv = L::load(wr + k + 8 * u);
                for (int t = 0; t < TT; ++t)
                    acc[t][u] = _mm256_fmadd_ps(wv, _mm256_loadu_ps(x + size_t(t) * K + k + 8 * u), acc[t][u]);
            }
        }
        for (; k + 8 <= K; k += 8) {
            const __m256 wv = L::load(wr + k);
            for (int t = 0; t < TT; ++t)
                acc[t][0] = _mm256_fmadd_ps(wv, _mm256_loadu_ps(x + size_t(t) * K + k), acc[t][0]);
        }
        for (int t = 0; t < TT; ++t) {
            __m256 a = acc[t][0];
            for (int u = 1; u < U; ++u)
                a = _mm256_add_ps(a, acc[t][u]);
            float s = hsum(a);
            for (int kk = k; kk < K; ++kk)
                s += L::scalar(wr + kk) * x[size_t(t) * K + kk];
            out[size_t(t) * outStride + r] = s;
        }
    }
}

// Q8_0: blocks of an fp16 scale and 32 int8 values.
template <int TT>
void rowsQ8(float* out, int outStride, const float* x, const TensorView& w, int r0, int r1)
{
    const int K = int(w.cols());
    const int nb = K / 32;
    const auto* base = static_cast<const uint8_t*>(w.data);
    for (int r = r0; r < r1; ++r) {
        const uint8_t* wr = base + size_t(r) * nb * 34;
        __m256 acc[TT];
        for (int t = 0; t < TT; ++t)
            acc[t] = _mm256_setzero_ps();
        for (int b = 0; b < nb; ++b) {
            const uint8_t* blk = wr + size_t(b) * 34;
            _mm_prefetch(reinterpret_cast<const char*>(blk) + kPrefetchBytes, _MM_HINT_T0);
            uint16_t dh;
            std::memcpy(&dh, blk, 2);
            const __m256 d = _mm256_set1_ps(_cvtsh_ss(dh));
            __m256 q[4];
            for (int g = 0; g < 4; ++g)
                q[g] = _mm256_cvtepi32_ps(
                    _mm256_cvtepi8_epi32(_mm_loadl_epi64(reinterpret_cast<const __m128i*>(blk + 2 + 8 * g))));
            // d · Σ q·x per block: the scale once per 32 weights, not once per 8.
            for (int t = 0; t < TT; ++t) {
                const float* xt = x + size_t(t) * K + b * 32;
                __m256 s = _mm256_mul_ps(q[0], _mm256_loadu_ps(xt));
                for (int g = 1; g < 4; ++g)
                    s = _mm256_fmadd_ps(q[g], _mm256_loadu_ps(xt + 8 * g), s);
                acc[t] = _mm256_fmadd_ps(d, s, acc[t]);
            }
        }
        for (int t = 0; t < TT; ++t)
            out[size_t(t) * outStride + r] = hsum(acc[t]);
    }
}

template <int TT>
void rowsFixed(float* out, int outStride, const float* x, const TensorView& w, int r0, int r1)
{
    switch (w.type) {
    case DType::F32: rowsPlain<LoadF32, TT>(out, outStride, x, w, r0, r1); return;
    case DType::F16: rowsPlain<LoadF16, TT>(out, outStride, x, w, r0, r1); return;
    case DType::BF16: rowsPlain<LoadBF16, TT>(out, outStride, x, w, r0, r1); return;
    case DType::Q8_0: rowsQ8<TT>(out, outStride, x, w, r0, r1); return;
    case DType::I32: rowsGeneric(out, outStride, x, TT, w, r0, r1); return;
    default: detail::rowsBlocks(out, outStride, x, TT, w, r0, r1); return; // the other block formats
    }
}

#endif

// Rows [r0, r1) of w against T <= kSmallBatch input rows.
void rowsSmall(float* out, int outStride, const float* x, int T, const TensorView& w, int r0, int r1)
{
#ifdef LOGITSCOPE_AVX2
    {
        const int K = int(w.cols());
        int t = 0;
        // Groups of up to four input rows keep the accumulators in registers.
        while (t < T) {
            const int n = std::min(4, T - t);
            float* o = out + size_t(t) * outStride;
            const float* xt = x + size_t(t) * K;
            switch (n) {
            case 1: rowsFixed<1>(o, outStride, xt, w, r0, r1); break;
            case 2: rowsFixed<2>(o, outStride, xt, w, r0, r1); break;
            case 3: rowsFixed<3>(o, outStride, xt, w, r0, r1); break;
            default: rowsFixed<4>(o, outStride, xt, w, r0, r1); break;
            }
            t += n;
        }
        return;
    }
#endif
    rowsGeneric(out, outStride, x, T, w, r0, r1);
}

// Rows [r0, r1) of w as fp32 into dst (row-major, K columns).
void convertRows(float* dst, const TensorView& w, int r0, int r1)
{
    const int K = int(w.cols());
    const auto* base = static_cast<const uint8_t*>(w.data);
    const size_t rowBytes = dtypeBytes(w.type, K);
    const size_t n = size_t(r1 - r0) * K;
    const uint8_t* src = base + size_t(r0) * rowBytes;
#ifdef LOGITSCOPE_AVX2
    if (w.type == DType::F16) {
        const auto* h = reinterpret_cast<const uint16_t*>(src);
        size_t i = 0;
        for (; i + 8 <= n; i += 8)
            _mm256_storeu_ps(dst + i, LoadF16::load(h + i));
        for (; i < n; ++i)
            dst[i] = fp16ToFp32(h[i]);
        return;
    }
#endif
    dequantize(w.type, src, dst, int64_t(n));
}

// Rows [r0, r1) of w against T input rows through sgemm: out(T, r0..r1) = x(T, K) · w[r0..r1]ᵀ.
void rowsTile(float* out, int outStride, const float* x, int T, const TensorView& w, int r0, int r1)
{
    const int K = int(w.cols());
    const float* wt;
    thread_local std::vector<float> tile;
    if (w.type == DType::F32) {
        wt = static_cast<const float*>(w.data) + size_t(r0) * K;
    } else {
        tile.resize(size_t(r1 - r0) * K);
        convertRows(tile.data(), w, r0, r1);
        wt = tile.data();
    }
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, T, r1 - r0, K, 1.0f, x, K, wt, K, 0.0f, out + r0,
                outStride);
}

} // namespace

namespace {

// Decode (T <= kSmallBatch): the jobs' rows, concatenated, split into one contiguous range per thread.
// Each owner streams its range front to back, claiming ~64 KiB of weights at a time; a thread that
// finishes takes pieces off the back of the others' ranges. Owners keep one warm stream each, and
// nobody waits for a slow thread's last big chunk (the loop ends within one piece of each other).
class StreamingSplit {
public:
    StreamingSplit(std::span<const MatmulJob> jobs, const float* x, int T, int threads)
        : m_jobs(jobs), m_x(x), m_T(T), m_threads(threads)
    {
        int rows = 0;
        for (size_t j = 0; j < jobs.size(); ++j) {
            m_first[j] = rows;
            rows += int(jobs[j].w->rows());
        }
        m_first[jobs.size()] = rows;
        const TensorView& w = *jobs[0].w; // every job multiplies the same x: same K, and one dtype in practice
        m_piece = int(std::max<size_t>(4, (64 * 1024) / std::max<size_t>(dtypeBytes(w.type, w.cols()), 1)));
        m_ranges = std::make_unique<Range[]>(size_t(threads));
        for (int t = 0; t < threads; ++t)
            m_ranges[size_t(t)].fb.store(pack(int(int64_t(rows) * t / threads), int(int64_t(rows) * (t + 1) / threads)),
                                         std::memory_order_relaxed);
    }

    // Task `owner`: its own range from the front, then the others' from the back.
    void run(int owner)
    {
        int r0, r1;
        while (claim(owner, true, r0, r1))
            rows(r0, r1);
        for (int k = 1; k < m_threads; ++k)
            while (claim((owner + k) % m_threads, false, r0, r1))
                rows(r0, r1);
    }

private:
    struct alignas(64) Range {
        std::atomic<uint64_t> fb{0}; // front (low 32 bits) and back (high 32 bits) of the unclaimed rows
    };
    static uint64_t pack(int f, int b) { return uint64_t(uint32_t(f)) | uint64_t(uint32_t(b)) << 32; }
    static void unpack(uint64_t v, int& f, int& b)
    {
        f = int(uint32_t(v));
        b = int(uint32_t(v >> 32));
    }

    // Takes up to one piece off the front (the owner) or the back (a helper) of range t.
    bool claim(int t, bool front, int& r0, int& r1)
    {
        std::atomic<uint64_t>& fb = m_ranges[size_t(t)].fb;
        uint64_t cur = fb.load(std::memory_order_relaxed);
        int f, b;
        do {
            unpack(cur, f, b);
            if (f >= b)
                return false;
            r0 = front ? f : std::max(f, b - m_piece);
            r1 = front ? std::min(b, f + m_piece) : b;
        } while (!fb.compare_exchange_weak(cur, front ? pack(r1, b) : pack(f, r0), std::memory_order_relaxed));
        return true;
    }

    // Concatenated rows [g0, g1), job by job.
    void rows(int g0, int g1)
    {
        for (size_t j = 0; j < m_jobs.size() && g0 < g1; ++j) {
            const int lo = std::max(g0, m_first[j]), hi = std::min(g1, m_first[j + 1]);
            if (lo >= hi)
                continue;
            const MatmulJob& job = m_jobs[j];
            const int N = m_first[j + 1] - m_first[j], r0 = lo - m_first[j], r1 = hi - m_first[j];
            rowsSmall(job.out, N, m_x, m_T, *job.w, r0, r1);
            if (job.bias)
                for (int t = 0; t < m_T; ++t)
                    add(job.out + size_t(t) * N + r0, job.out + size_t(t) * N + r0, job.bias + r0, r1 - r0);
        }
    }

    std::span<const MatmulJob> m_jobs;
    const float* m_x;
    int m_T, m_threads, m_piece = 0;
    int m_first[9] = {};
    std::unique_ptr<Range[]> m_ranges;
};

} // namespace

void matmulMany(std::span<const MatmulJob> jobs, const float* x, int T, ThreadPool* pool)
{
    if (jobs.empty() || T <= 0)
        return;
    if (jobs.size() > 8)
        throw std::invalid_argument("matmulMany: at most 8 matrices share one input");
    static const bool blasSingleThreaded = [] {
        openblas_set_num_threads(1); // our pool does the threading; OpenBLAS runs inside each task
        return true;
    }();
    (void)blasSingleThreaded;

    // Work too small to be worth waking the other threads (tiny test models) runs here.
    double macs = 0;
    for (const MatmulJob& j : jobs)
        macs += double(j.w->rows()) * double(j.w->cols()) * T;
    if (macs < 65536)
        pool = nullptr;
    const int threads = pool ? pool->size() : 1;
    if (T <= kSmallBatch) {
        StreamingSplit split(jobs, x, T, threads);
        if (pool)
            pool->parallelFor(threads, [&](int task, int) { split.run(task); });
        else
            split.run(0);
        return;
    }
    // Prefill: few, large tiles per matrix (each sgemm call re-packs x, so fewer calls cost less, but
    // keep 2 per thread); tasks index the concatenation.
    struct Part {
        int firstTask = 0, chunk = 0, rows = 0;
    };
    Part parts[8];
    int tasks = 0;
    for (size_t j = 0; j < jobs.size(); ++j) {
        const int N = int(jobs[j].w->rows());
        const int chunk =
            std::min(kTileRows * 4, std::max(kTileRows, ((N + threads * 2 - 1) / (threads * 2) + 15) / 16 * 16));
        parts[j] = {tasks, chunk, N};
        tasks += (N + chunk - 1) / chunk;
    }
    auto body = [&](int task, int) {
        size_t j = 0;
        while (j + 1 < jobs.size() && task >= parts[j + 1].firstTask)
            ++j;
        const Part& p = parts[j];
        const int r0 = (task - p.firstTask) * p.chunk;
        const int r1 = std::min(p.rows, r0 + p.chunk);
        const MatmulJob& job = jobs[j];
        rowsTile(job.out, p.rows, x, T, *job.w, r0, r1);
        if (job.bias)
            for (int t = 0; t < T; ++t)
                add(job.out + size_t(t) * p.rows + r0, job.out + size_t(t) * p.rows + r0, job.bias + r0, r1 - r0);
    };
    if (pool)
        pool->parallelFor(tasks, body);
    else
        for (int t = 0; t < tasks; ++t)
            body(t, 0);
}

void matmul(float* out, const float* x, const TensorView& w, const float* bias, int T, ThreadPool* pool)
{
    const MatmulJob job{out, &w, bias};
    matmulMany(std::span<const MatmulJob>(&job, 1), x, T, pool);
}

void matvec(float* out, const float* x, const TensorView& w, const float* bias, ThreadPool* pool)
{
    matmul(out, x, w, bias, 1, pool);
}

std::vector<float> logSoftmax(std::span<const float> x)
{
    std::vector<float> out(x.size());
    logSoftmax(out.data(), x.data(), int(x.size()));
    return out;
}

void logSoftmax(float* out, const float* x, int n)
{
    float mx = -std::numeric_limits<float>::infinity();
    for (int i = 0; i < n; ++i)
        mx = std::max(mx, x[i]);
    double sum = 0;
    for (int i = 0; i < n; ++i)
        sum += std::exp(double(x[i] - mx));
    const float lse = mx + float(std::log(sum));
    for (int i = 0; i < n; ++i)
        out[i] = x[i] - lse;
}

} // namespace logitscope::ops

