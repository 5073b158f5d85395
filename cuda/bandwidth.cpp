// cudaMeasureBandwidth: the yardstick `bench --device cuda` divides decode traffic by — a timed
// device-to-device copy (bytes read plus bytes written), like engine/model/bandwidth.h for the CPU.
#include "cuda_backend.h"

#include "cuda_common.cuh"
#include "device_memory.h"

namespace logitscope {

double cudaMeasureBandwidth(size_t bytes)
{
    using namespace gpu;
    int count = 0;
    if (cudaGetDeviceCount(&count) != cudaSuccess || count == 0) {
        (void)cudaGetLastError();
        throw Error("no CUDA device found");
    }
    DeviceBuffer a, b;
    while (true) {
        try {
            a.allocate(bytes, "the bandwidth test");
            b.allocate(bytes, "the bandwidth test");
            break;
        } catch (const Error&) {
            a.release();
            if (bytes <= (size_t(16) << 20))
                throw;
            bytes /= 2;
        }
    }
    cudaEvent_t start = nullptr, stop = nullptr;
    CUDA_CHECK(cudaEventCreate(&start));
    CUDA_CHECK(cudaEventCreate(&stop));
    constexpr int kRepeats = 10;
    float ms = 0.0f;
    try {
        CUDA_CHECK(cudaMemcpy(b.as(), a.as(), bytes, cudaMemcpyDeviceToDevice)); // warm-up
        CUDA_CHECK(cudaEventRecord(start));
        for (int i = 0; i < kRepeats; ++i)
            CUDA_CHECK(cudaMemcpyAsync(i % 2 ? a.as() : b.as(), i % 2 ? b.as() : a.as(), bytes,
                                       cudaMemcpyDeviceToDevice));
        CUDA_CHECK(cudaEventRecord(stop));
        CUDA_CHECK(cudaEventSynchronize(stop));
        CUDA_CHECK(cudaEventElapsedTime(&ms, start, stop));
    } catch (...) {
        cudaEventDestroy(start);
        cudaEventDestroy(stop);
        throw;
    }
    cudaEventDestroy(start);
    cudaEventDestroy(stop);
    return 2.0 * double(bytes) * kRepeats / (double(ms) * 1e-3) / 1e9;
}

} // namespace logitscope
