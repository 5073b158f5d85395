// Measuring the machine's memory bandwidth: the yardstick for memory-bound decode (`bench`, tests).
// Not a full STREAM suite: one multithreaded streaming read, the access pattern of a matvec.
#pragma once

#include "common/huge_pages.h"

#include <cstddef>
#include <memory>
#include <vector>

namespace logitscope {

class ThreadPool;

// A probe keeps its buffer and threads, so a benchmark can measure between stretches of its own work
// and compare each stretch with the bandwidth of the same moment (shared machines drift by 1.5x
// within minutes). Read bandwidth in GB/s (1e9 bytes per second): the best of `passes` plain and
// `passes` prefetched sums over the buffer (huge pages where the kernel allows).
class BandwidthProbe {
public:
    // threads: 0 = hardware concurrency. Allocates and touches `bytes`; throws Error if it cannot.
    explicit BandwidthProbe(int threads = 0, size_t bytes = size_t(256) << 20);
    ~BandwidthProbe();
    BandwidthProbe(const BandwidthProbe&) = delete;
    BandwidthProbe& operator=(const BandwidthProbe&) = delete;

    double measure(int passes = 2);

private:
    std::unique_ptr<ThreadPool> m_pool;
    HugePageMemory m_memory{nullptr, nullptr};
    float* m_buf = nullptr; // m_memory as floats
    size_t m_floats = 0;
    std::vector<float> m_sinks;
};

} // namespace logitscope
