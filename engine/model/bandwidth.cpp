// Memory bandwidth: every thread sums its slice of a large buffer with wide loads; the best pass wins.
// Passes alternate between plain loads and loads with software prefetch 4 KiB ahead, and the buffer
// asks for transparent huge pages, so the figure is the most this machine's memory gives a streaming
// read, not what one access pattern happens to get (a low yardstick would flatter the decode ratio).
#include "model/bandwidth.h"

#include "common/huge_pages.h"
#include "model/thread_pool.h"

#include <algorithm>
#include <chrono>
#include <cstring>
#include <memory>
#include <vector>

#if defined(__AVX2__)
#include <immintrin.h>
#endif

namespace logitscope {

namespace {

float sumSlice(const float* p, size_t n, bool prefetch)
{
#if defined(__AVX2__)
    __m256 a0 = _mm256_setzero_ps(), a1 = a0, a2 = a0, a3 = a0;
    size_t i = 0;
    for (; i + 32 <= n; i += 32) {
        if (prefetch) {
            _mm_prefetch(reinterpret_cast<const char*>(p + i) + 4096, _MM_HINT_T0);
            _mm_prefetch(reinterpret_cast<const char*>(p + i) + 4096 + 64, _MM_HINT_T0);
        }
        a0 = _mm256_add_ps(a0, _mm256_load_ps(p + i));
        a1 = _mm256_add_ps(a1, _mm256_load_ps(p + i + 8));
        a2 = _mm256_add_ps(a2, _mm256_load_ps(p + i + 16));
        a3 = _mm256_add_ps(a3, _mm256_load_ps(p + i + 24));
    }
    alignas(32) float lanes[8];
    _mm256_store_ps(lanes, _mm256_add_ps(_mm256_add_ps(a0, a1), _mm256_add_ps(a2, a3)));
    float s = 0.0f;
    for (float v : lanes)
        s += v;
    for (; i < n; ++i)
        s += p[i];
    return s;
#else
    (void)prefetch;
    float s = 0.0f;
    for (size_t i = 0; i < n; ++i)
        s += p[i];
    return s;
#endif
}

} // namespace

BandwidthProbe::BandwidthProbe(int threads, size_t bytes)
    : m_pool(std::make_unique<ThreadPool>(threads))
{
    m_floats = bytes / sizeof(float) / 1024 * 1024;
    m_memory = allocateHugePages(m_floats * sizeof(float), "bandwidth probe");
    m_buf = reinterpret_cast<float*>(m_memory.get());
    const int tasks = m_pool->size() * 16;
    const size_t per = m_floats / size_t(tasks);
    m_pool->parallelFor(tasks, [&](int t, int) {
        for (size_t i = size_t(t) * per; i < size_t(t + 1) * per; ++i)
            m_buf[i] = float(i & 7);
    });
    m_sinks.resize(size_t(tasks));
}

BandwidthProbe::~BandwidthProbe() = default;

double BandwidthProbe::measure(int passes)
{
    const int tasks = int(m_sinks.size());
    const size_t per = m_floats / size_t(tasks);
    double best = 0.0;
    for (int p = 0; p < 2 * std::max(1, passes); ++p) {
        const bool prefetch = p % 2 == 1;
        const auto t0 = std::chrono::steady_clock::now();
        // Each thread reads contiguous slices (one per task), like rows of a matvec.
        m_pool->parallelFor(tasks, [&](int t, int) {
            m_sinks[size_t(t)] += sumSlice(m_buf + size_t(t) * per, per, prefetch);
        });
        const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
        best = std::max(best, double(per) * tasks * sizeof(float) / s / 1e9);
    }
    volatile float keep = m_sinks[0];
    (void)keep;
    return best;
}

} // namespace logitscope
