// Measuring the machine's memory bandwidth: the yardstick for memory-bound decode (`bench`, tests).
// Not a full STREAM suite: one multithreaded streaming read, the access pattern of a matvec.
#pragma once

#include <cstddef>

namespace logitscope {

// Read bandwidth in GB/s (1e9 bytes per second), best of `passes` sums over a `bytes` buffer,
// using `threads` threads (0 = hardware concurrency). Touches the whole buffer first.
double measureMemoryBandwidth(int threads = 0, size_t bytes = size_t(1) << 30, int passes = 5);

} // namespace logitscope
