// CpuBackend attention: softmax(q Kᵀ / sqrt(D) + causal mask) V for every sequence and query head.
// Short inputs (decode, a few tokens) walk the block table directly, 16 keys at a time for every query
// head of a kv head's group, the keys split into parts merged afterwards (flash-decoding);
// long inputs (prefill) gather the sequence's K/V contiguously and use sgemm for q Kᵀ and P V.
// Grouped-query attention: query head h reads key/value head h / (H / Hkv).
#include "model/cpu_backend.h"

#include "model/kv_cache.h"
#include "model/ops.h"
#include "model/thread_pool.h"

#include <cblas.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <type_traits>
#include <vector>

#if defined(__AVX2__) && defined(__FMA__)
#include <immintrin.h>
#define LOGITSCOPE_AVX2_ATTENTION 1
#endif

namespace logitscope {

namespace {
constexpr int kDirectMaxT = 4;   // up to this many new tokens: direct block walk
constexpr int kQueryChunk = 32;  // query rows per prefill attention task
constexpr int kMaxKeyParts = 8;  // decode: parts a query row's keys are split into (flash-decoding)

// Keys and values are stored as float (fp32) or uint16_t (fp16, CpuBackend::setKvType); the
// arithmetic is fp32 either way.
inline float toFloat(float x) { return x; }
inline float toFloat(uint16_t x) { return fp16ToFp32(x); }

#ifdef LOGITSCOPE_AVX2_ATTENTION
inline __m256 load8(const float* p) { return _mm256_loadu_ps(p); }
inline __m256 load8(const uint16_t* p) { return _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p))); }

// Eight dot products q·k[j] (j < 8, rows of length D, D a multiple of 8) as one vector of sums.
template <class E>
inline __m256 dot8(const float* q, const E* k, int D)
{
    __m256 acc[8];
    for (int j = 0; j < 8; ++j)
        acc[j] = _mm256_setzero_ps();
    for (int i = 0; i < D; i += 8) {
        const __m256 qv = _mm256_loadu_ps(q + i);
        for (int j = 0; j < 8; ++j)
            acc[j] = _mm256_fmadd_ps(qv, load8(k + size_t(j) * D + i), acc[j]);
    }
    // Transpose-reduce: lane j of the result is the sum of acc[j].
    const __m256 s01 = _mm256_hadd_ps(acc[0], acc[1]), s23 = _mm256_hadd_ps(acc[2], acc[3]);
    const __m256 s45 = _mm256_hadd_ps(acc[4], acc[5]), s67 = _mm256_hadd_ps(acc[6], acc[7]);
    const __m256 s0123 = _mm256_hadd_ps(s01, s23), s4567 = _mm256_hadd_ps(s45, s67);
    const __m256 lo = _mm256_permute2f128_ps(s0123, s4567, 0x20), hi = _mm256_permute2f128_ps(s0123, s4567, 0x31);
    return _mm256_add_ps(lo, hi);
}
#endif

// scores[j] = q·k[j] * scale for n keys (rows of length D).
template <class E>
inline void blockScores(float* scores, const float* q, const E* k, int n, int D, float scale)
{
    int j = 0;
#ifdef LOGITSCOPE_AVX2_ATTENTION
    if (D % 8 == 0)
        for (; j + 8 <= n; j += 8)
            _mm256_storeu_ps(scores + j, _mm256_mul_ps(dot8(q, k + size_t(j) * D, D), _mm256_set1_ps(scale)));
#endif
    for (; j < n; ++j) {
        if constexpr (std::is_same_v<E, float>) {
            scores[j] = ops::dot(q, k + size_t(j) * D, D) * scale;
        } else {
            float d = 0.0f;
            for (int i = 0; i < D; ++i)
                d += q[i] * toFloat(k[size_t(j) * D + i]);
            scores[j] = d * scale;
        }
    }
}

// o += sum_j p[j] v[j] for n value rows of length D; o (D <= 128) stays in registers.
template <class E>
inline void blockWeightedSum(float* o, const float* p, const E* v, int n, int D)
{
#ifdef LOGITSCOPE_AVX2_ATTENTION
    if (D % 8 == 0 && D <= 128) {
        __m256 acc[16];
        const int nv = D / 8;
        for (int i = 0; i < nv; ++i)
            acc[i] = _mm256_loadu_ps(o + 8 * i);
        for (int j = 0; j < n; ++j) {
            const __m256 pj = _mm256_set1_ps(p[j]);
            const E* vj = v + size_t(j) * D;
            for (int i = 0; i < nv; ++i)
                acc[i] = _mm256_fmadd_ps(pj, load8(vj + 8 * i), acc[i]);
        }
        for (int i = 0; i < nv; ++i)
            _mm256_storeu_ps(o + 8 * i, acc[i]);
        return;
    }
#endif
    for (int j = 0; j < n; ++j) {
        if constexpr (std::is_same_v<E, float>) {
            ops::axpy(o, p[j], v + size_t(j) * D, D);
        } else {
            for (int i = 0; i < D; ++i)
                o[i] += p[j] * toFloat(v[size_t(j) * D + i]);
        }
    }
}

// Asks for the bytes at p ahead of use: each (block, layer, head) run of keys or values starts a new
// stretch, where the hardware prefetchers would start cold.
inline void prefetchBytes(const uint8_t* p, size_t bytes)
{
#ifdef LOGITSCOPE_AVX2_ATTENTION
    for (size_t off = 0; off < bytes; off += 64)
        _mm_prefetch(reinterpret_cast<const char*>(p + off), _MM_HINT_T0);
#else
    (void)p, (void)bytes;
#endif
}

template <class F>
void forTasks(ThreadPool& pool, int tasks, double work, F&& fn)
{
    if (work < 65536) {
        for (int t = 0; t < tasks; ++t)
            fn(t, 0);
        return;
    }
    pool.parallelFor(tasks, fn);
}
} // namespace

void CpuBackend::attend(int layer, std::span<const SequenceInput> batch, const std::vector<SeqRows>& rows,
                        std::span<SequenceOutput> out, bool capture)
{
    std::vector<int> direct;
    for (size_t i = 0; i < batch.size(); ++i) {
        if (rows[i].T == 0)
            continue;
        if (rows[i].T <= kDirectMaxT)
            direct.push_back(int(i));
        else
            attendGemm(layer, batch[i], rows[i], out[i], capture);
    }
    if (!direct.empty())
        attendDirect(layer, batch, rows, direct, out, capture);
}

void CpuBackend::attendDirect(int layer, std::span<const SequenceInput> batch, const std::vector<SeqRows>& rows,
                              const std::vector<int>& seqs, std::span<SequenceOutput> out, bool capture)
{
    const int H = m_cfg.heads, Hkv = m_cfg.kvHeads, D = m_cfg.headDim, G = H / Hkv;
    const int qDim = m_cfg.qDim();
    const float scale = float(1.0 / std::sqrt(double(D)));
    constexpr int B = KvCache::kBlockSize;

    // Query rows: (sequence, new token), each seeing S keys.
    struct QueryRow {
        int seq = 0, t = 0, S = 0;
    };
    std::vector<QueryRow> queries;
    double work = 0;
    int maxS = 0;
    for (int i : seqs) {
        const SeqRows& sr = rows[size_t(i)];
        for (int t = 0; t < sr.T; ++t) {
            queries.push_back({i, t, sr.pos0 + t + 1});
            work += double(sr.pos0 + t + 1) * D * H * 2;
            maxS = std::max(maxS, sr.pos0 + t + 1);
        }
    }
    // One task per (query row, kv head, part of the keys): the group's query heads read each K/V block
    // once, and splitting the keys (flash-decoding) keeps both threads busy when there are fewer kv heads
    // than tasks wanted. Parts hold at least 4 blocks (64 keys).
    // Equal parts in a multiple of the thread count where possible, so no thread runs one part more.
    const int units = int(queries.size()) * Hkv, threads = m_pool->size();
    const int most = std::clamp(((maxS + B - 1) / B + 3) / 4, 1, kMaxKeyParts);
    int parts = std::min(most, (4 * threads + units - 1) / units);
    while (parts < most && (units * parts) % threads != 0)
        ++parts;
    const size_t slotFloats = size_t(G) * size_t(D + 2); // per head of the group: output (D), max, sum
    m_attParts.resize(size_t(units) * parts * slotFloats);
    auto partRange = [&](int S, int part, int& b0, int& b1) {
        const int nBlocks = (S + B - 1) / B, per = (nBlocks + parts - 1) / parts;
        b0 = std::min(nBlocks, part * per);
        b1 = std::min(nBlocks, b0 + per);
    };
    auto captureRow = [&](const QueryRow& qr, int h) {
        const SeqRows& sr = rows[size_t(qr.seq)];
        const size_t Sall = size_t(sr.pos0 + sr.T);
        return out[size_t(qr.seq)].attention.data() + ((size_t(layer) * H + size_t(h)) * size_t(sr.T) + size_t(qr.t)) * Sall;
    };

    forTasks(*m_pool, units * parts, work, [&](int task, int) {
        const int part = task % parts, unit = task / parts, kvh = unit % Hkv;
        const QueryRow& qr = queries[size_t(unit / Hkv)];
        const SeqRows& sr = rows[size_t(qr.seq)];
        const std::span<const int32_t> table = batch[size_t(qr.seq)].blockTable;
        float* slot = &m_attParts[(size_t(unit) * parts + size_t(part)) * slotFloats];
        int b0, b1;
        partRange(qr.S, part, b0, b1);
        if (b0 >= b1) { // an empty part: weighed by zero when merged
            for (int j = 0; j < G; ++j) {
                float* sj = slot + size_t(j) * (D + 2);
                std::fill(sj, sj + D, 0.0f);
                sj[D] = -std::numeric_limits<float>::infinity();
                sj[D + 1] = 0.0f;
            }
            return;
        }
        const int k0 = b0 * B, n = std::min(qr.S, b1 * B) - k0;
        thread_local std::vector<float> scores;
        scores.resize(size_t(G) * size_t(n));
        const float* q = &m_q[size_t(sr.row0 + qr.t) * qDim + size_t(kvh) * G * D];
        const size_t eb = kvElementBytes();
        auto keysIn = [&](int b) { return std::min(B, qr.S - b * B); }; // keys of block b
        auto walk = [&](auto element) {
            using E = decltype(element);
            auto head = [&](int b, int kv) { return reinterpret_cast<const E*>(kvHead(table[size_t(b)], layer, kv, kvh)); };
            // scores = q Kᵀ / sqrt(D) for every head of the group, block by block
            for (int b = b0; b < b1; ++b) {
                if (b + 1 < b1)
                    prefetchBytes(kvHead(table[size_t(b + 1)], layer, 0, kvh), size_t(keysIn(b + 1)) * D * eb);
                for (int j = 0; j < G; ++j)
                    blockScores(&scores[size_t(j) * n + size_t(b - b0) * B], q + size_t(j) * D, head(b, 0), keysIn(b), D, scale);
            }
            // softmax within the part (its max and sum kept for the merge), then o = p V
            for (int j = 0; j < G; ++j) {
                float* sj = slot + size_t(j) * (D + 2);
                ops::softmax(&scores[size_t(j) * n], n, sj[D], sj[D + 1]);
                std::fill(sj, sj + D, 0.0f);
            }
            for (int b = b0; b < b1; ++b) {
                if (b + 1 < b1)
                    prefetchBytes(kvHead(table[size_t(b + 1)], layer, 1, kvh), size_t(keysIn(b + 1)) * D * eb);
                for (int j = 0; j < G; ++j)
                    blockWeightedSum(slot + size_t(j) * (D + 2), &scores[size_t(j) * n + size_t(b - b0) * B], head(b, 1), keysIn(b), D);
            }
        };
        if (m_kvType == DType::F16)
            walk(uint16_t{});
        else
            walk(float{});
        if (capture) // the part's probabilities; the merge rescales them to the whole row's
            for (int j = 0; j < G; ++j)
                std::copy_n(&scores[size_t(j) * n], n, captureRow(qr, kvh * G + j) + k0);
    });

    // Merge each (query row, head): part p weighs l_p exp(m_p - M) / L, with M the largest max and
    // L = sum of l_p exp(m_p - M). One part merges to itself exactly.
    for (size_t r = 0; r < queries.size(); ++r) {
        const QueryRow& qr = queries[r];
        const SeqRows& sr = rows[size_t(qr.seq)];
        for (int h = 0; h < H; ++h) {
            const int kvh = h / G, j = h % G;
            const size_t unit = r * size_t(Hkv) + size_t(kvh);
            auto partSlot = [&](int p) { return &m_attParts[(unit * parts + size_t(p)) * slotFloats + size_t(j) * (D + 2)]; };
            float* o = &m_att[size_t(sr.row0 + qr.t) * qDim + size_t(h) * D];
            if (parts == 1) {
                std::copy_n(partSlot(0), D, o);
                continue;
            }
            float M = -std::numeric_limits<float>::infinity();
            for (int p = 0; p < parts; ++p)
                M = std::max(M, partSlot(p)[D]);
            float weights[kMaxKeyParts];
            double L = 0;
            for (int p = 0; p < parts; ++p) {
                const float* sp = partSlot(p);
                weights[p] = sp[D + 1] > 0 ? sp[D + 1] * std::exp(sp[D] - M) : 0.0f;
                L += weights[p];
            }
            std::fill(o, o + D, 0.0f);
            for (int p = 0; p < parts; ++p) {
                weights[p] = float(weights[p] / L);
                ops::axpy(o, weights[p], partSlot(p), D);
            }
            if (capture) {
                float* row = captureRow(qr, h);
                for (int p = 0; p < parts; ++p) {
                    int b0, b1;
                    partRange(qr.S, p, b0, b1);
                    for (int k = b0 * B; k < std::min(qr.S, b1 * B); ++k)
                        row[k] *= weights[p];
                }
            }
        }
    }
}

void CpuBackend::attendGemm(int layer, const SequenceInput& in, const SeqRows& sr, SequenceOutput& out, bool capture)
{
    const int H = m_cfg.heads, Hkv = m_cfg.kvHeads, D = m_cfg.headDim, group = H / Hkv;
    const int qDim = m_cfg.qDim();
    const int S = sr.pos0 + sr.T;
    const float scale = float(1.0 / std::sqrt(double(D)));
    constexpr int B = KvCache::kBlockSize;

    // Gather this sequence's keys and values: (2, Hkv, S, D).
    const size_t headSpan = size_t(S) * D;
    m_kvGather.resize(2 * size_t(Hkv) * headSpan);
    const int nBlocks = (S + B - 1) / B;
    forTasks(*m_pool, 2 * Hkv, double(S) * D * Hkv * 2, [&](int task, int) {
        const int kv = task / Hkv, kvh = task % Hkv;
        float* dst = &m_kvGather[size_t(task) * headSpan];
        for (int b = 0; b < nBlocks; ++b) {
            const int n = std::min(B, S - b * B);
            const uint8_t* src = kvHead(in.blockTable[size_t(b)], layer, kv, kvh);
            if (m_kvType == DType::F16)
                dequantize(DType::F16, src, dst + size_t(b) * B * D, int64_t(n) * D);
            else
                std::memcpy(dst + size_t(b) * B * D, src, size_t(n) * D * sizeof(float));
        }
    });

    // One task per (query head, chunk of query rows).
    const int chunks = (sr.T + kQueryChunk - 1) / kQueryChunk;
    forTasks(*m_pool, H * chunks, double(sr.T) * S * D * H, [&](int task, int) {
        const int h = task / chunks, t0 = (task % chunks) * kQueryChunk;
        const int tc = std::min(kQueryChunk, sr.T - t0);
        const int kvh = h / group;
        const int Sc = sr.pos0 + t0 + tc; // keys visible to the chunk's last query
        const float* K = &m_kvGather[size_t(kvh) * headSpan];
        const float* Vh = &m_kvGather[size_t(Hkv + kvh) * headSpan];
        const float* Q = &m_q[size_t(sr.row0 + t0) * qDim + size_t(h) * D];
        thread_local std::vector<float> P;
        P.resize(size_t(tc) * Sc);
        // P = Q Kᵀ / sqrt(D)                                                    (tc, Sc)
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, tc, Sc, D, scale, Q, qDim, K, D, 0.0f, P.data(), Sc);
        // causal softmax per query row
        for (int j = 0; j < tc; ++j) {
            float* p = &P[size_t(j) * Sc];
            const int visible = sr.pos0 + t0 + j + 1;
            ops::softmax(p, visible);
            std::fill(p + visible, p + Sc, 0.0f);
            if (capture) {
                float* a = out.attention.data() + ((size_t(layer) * H + size_t(h)) * size_t(sr.T) + size_t(t0 + j)) * size_t(S);
                std::copy(p, p + Sc, a);
            }
        }
        // att = P V                                                             (tc, D)
        float* O = &m_att[size_t(sr.row0 + t0) * qDim + size_t(h) * D];
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, tc, D, Sc, 1.0f, P.data(), Sc, Vh, D, 0.0f, O, qDim);
    });
}

} // namespace logitscope
