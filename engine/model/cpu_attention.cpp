// CpuBackend attention: softmax(q Kᵀ / sqrt(D) + causal mask) V for every sequence and query head.
// Short inputs (decode, a few tokens) walk the block table directly, 16 keys of one head at a time;
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
#include <vector>

#if defined(__AVX2__) && defined(__FMA__)
#include <immintrin.h>
#define LOGITSCOPE_AVX2_ATTENTION 1
#endif

namespace logitscope {

namespace {
constexpr int kDirectMaxT = 4;   // up to this many new tokens: direct block walk
constexpr int kQueryChunk = 32;  // query rows per prefill attention task

// Runs fn(task, thread) for every task, on the pool when the work (multiply-adds) is worth it.
#ifdef LOGITSCOPE_AVX2_ATTENTION
// Eight dot products q·k[j] (j < 8, rows of length D, D a multiple of 8) as one vector of sums.
inline __m256 dot8(const float* q, const float* k, int D)
{
    __m256 acc[8];
    for (int j = 0; j < 8; ++j)
        acc[j] = _mm256_setzero_ps();
    for (int i = 0; i < D; i += 8) {
        const __m256 qv = _mm256_loadu_ps(q + i);
        for (int j = 0; j < 8; ++j)
            acc[j] = _mm256_fmadd_ps(qv, _mm256_loadu_ps(k + size_t(j) * D + i), acc[j]);
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
inline void blockScores(float* scores, const float* q, const float* k, int n, int D, float scale)
{
    int j = 0;
#ifdef LOGITSCOPE_AVX2_ATTENTION
    if (D % 8 == 0)
        for (; j + 8 <= n; j += 8)
            _mm256_storeu_ps(scores + j, _mm256_mul_ps(dot8(q, k + size_t(j) * D, D), _mm256_set1_ps(scale)));
#endif
    for (; j < n; ++j)
        scores[j] = ops::dot(q, k + size_t(j) * D, D) * scale;
}

// o += sum_j p[j] v[j] for n value rows of length D; o (D <= 128) stays in registers.
inline void blockWeightedSum(float* o, const float* p, const float* v, int n, int D)
{
#ifdef LOGITSCOPE_AVX2_ATTENTION
    if (D % 8 == 0 && D <= 128) {
        __m256 acc[16];
        const int nv = D / 8;
        for (int i = 0; i < nv; ++i)
            acc[i] = _mm256_loadu_ps(o + 8 * i);
        for (int j = 0; j < n; ++j) {
            const __m256 pj = _mm256_set1_ps(p[j]);
            const float* vj = v + size_t(j) * D;
            for (int i = 0; i < nv; ++i)
                acc[i] = _mm256_fmadd_ps(pj, _mm256_loadu_ps(vj + 8 * i), acc[i]);
        }
        for (int i = 0; i < nv; ++i)
            _mm256_storeu_ps(o + 8 * i, acc[i]);
        return;
    }
#endif
    for (int j = 0; j < n; ++j)
        ops::axpy(o, p[j], v + size_t(j) * D, D);
}

// Asks for n floats at p ahead of use: each (block, layer, head) run of keys or values is its own
// 4 KiB stretch, where the hardware prefetchers would start cold.
inline void prefetchFloats(const float* p, int n)
{
#ifdef LOGITSCOPE_AVX2_ATTENTION
    const char* c = reinterpret_cast<const char*>(p);
    for (size_t off = 0; off < size_t(n) * sizeof(float); off += 64)
        _mm_prefetch(c + off, _MM_HINT_T0);
#else
    (void)p, (void)n;
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
    const int H = m_cfg.heads, D = m_cfg.headDim, group = m_cfg.heads / m_cfg.kvHeads;
    const int qDim = m_cfg.qDim(), L = m_cfg.layers;
    const float scale = float(1.0 / std::sqrt(double(D)));
    constexpr int B = KvCache::kBlockSize;

    // One task per (sequence, query head).
    double work = 0;
    for (int i : seqs)
        work += double(rows[size_t(i)].T) * (rows[size_t(i)].pos0 + rows[size_t(i)].T) * D * H * 2;
    forTasks(*m_pool, int(seqs.size()) * H, work, [&](int task, int) {
        const int i = seqs[size_t(task / H)];
        const int h = task % H, kvh = h / group;
        const SeqRows& sr = rows[size_t(i)];
        const std::span<const int32_t> table = batch[size_t(i)].blockTable;
        thread_local std::vector<float> scores;
        for (int t = 0; t < sr.T; ++t) {
            const int S = sr.pos0 + t + 1; // keys visible to this query
            scores.resize(size_t(S));
            const float* q = &m_q[size_t(sr.row0 + t) * qDim + size_t(h) * D];
            // scores = q Kᵀ / sqrt(D)
            for (int b = 0; b * B < S; ++b) {
                if ((b + 1) * B < S)
                    prefetchFloats(kvHead(table[size_t(b + 1)], layer, 0, kvh), std::min(B, S - (b + 1) * B) * D);
                blockScores(&scores[size_t(b * B)], q, kvHead(table[size_t(b)], layer, 0, kvh), std::min(B, S - b * B), D,
                            scale);
            }
            ops::softmax(scores.data(), S);
            // att = scores V
            float* o = &m_att[size_t(sr.row0 + t) * qDim + size_t(h) * D];
            std::fill(o, o + D, 0.0f);
            for (int b = 0; b * B < S; ++b) {
                if ((b + 1) * B < S)
                    prefetchFloats(kvHead(table[size_t(b + 1)], layer, 1, kvh), std::min(B, S - (b + 1) * B) * D);
                blockWeightedSum(o, &scores[size_t(b * B)], kvHead(table[size_t(b)], layer, 1, kvh), std::min(B, S - b * B), D);
            }
            if (capture) {
                const int Sall = sr.pos0 + sr.T;
                float* a = out[size_t(i)].attention.data() +
                           ((size_t(layer) * H + size_t(h)) * size_t(sr.T) + size_t(t)) * size_t(Sall);
                std::copy(scores.begin(), scores.end(), a);
            }
        }
    });
    (void)L;
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
            std::memcpy(dst + size_t(b) * B * D, kvHead(in.blockTable[size_t(b)], layer, kv, kvh),
                        size_t(n) * D * sizeof(float));
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
