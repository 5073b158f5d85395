// Memory bandwidth: every thread sums its slice of a large buffer with wide loads; the best pass wins.
#include "model/bandwidth.h"

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

float sumSlice(const float* p, size_t n)
{
#if defined(__AVX2__)
    __m256 a0 = _mm256_setzero_ps(), a1 = a0, a2 = a0, a3 = a0;
    size_t i = 0;
    for (; i + 32 <= n; i += 32) {
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
    float s = 0.0f;
    for (size_t i = 0; i < n; ++i)
        s += p[i];
    return s;
#endif
}

} // namespace

double measureMemoryBandwidth(int threads, size_t bytes, int passes)
{
    ThreadPool pool(threads);
    const size_t n = bytes / sizeof(float) / 1024 * 1024;
    std::unique_ptr<float[], void (*)(void*)> buf(static_cast<float*>(std::aligned_alloc(64, n * sizeof(float))),
                                                  std::free);
    if (!buf)
        return 0.0;
    const int tasks = pool.size() * 16;
    const size_t per = n / size_t(tasks);
    pool.parallelFor(tasks, [&](int t, int) {
        for (size_t i = size_t(t) * per; i < size_t(t + 1) * per; ++i)
            buf[i] = float(i & 7);
    });
    std::vector<float> sinks(static_cast<size_t>(tasks));
    double best = 0.0;
    for (int p = 0; p < std::max(1, passes); ++p) {
        const auto t0 = std::chrono::steady_clock::now();
        // Each thread reads contiguous slices (one per task), like rows of a matvec.
        pool.parallelFor(tasks, [&](int t, int) { sinks[size_t(t)] += sumSlice(buf.get() + size_t(t) * per, per); });
        const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
        best = std::max(best, double(per) * tasks * sizeof(float) / s / 1e9);
    }
    volatile float keep = sinks[0];
    (void)keep;
    return best;
}

} // namespace logitscope
