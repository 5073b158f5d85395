// Helpers shared by every CUDA file of the backend: error checks that throw logitscope::Error,
// ceilDiv, and (in device code) warp/block reductions. Not a kernel library: ops live one per .cu.
// Safe to include from host-only .cpp files; the device helpers are compiled only by nvcc.
#pragma once

#include "common/error.h"

#include <cuda_runtime_api.h>

#include <cstddef>
#include <string>

namespace logitscope::gpu {

// Clears the (non-sticky) error state and throws. Sticky errors (a faulting kernel) leave the
// context unusable; the message says so, so the user knows to restart rather than retry.
[[noreturn]] inline void throwCudaError(cudaError_t e, const char* what, const char* file, int line)
{
    (void)cudaGetLastError();
    std::string msg = std::string("CUDA error: ") + cudaGetErrorString(e) + " (" + what + " at " + file + ":" +
                      std::to_string(line) + ")";
    throw Error(msg);
}

template <class A, class B>
constexpr A ceilDiv(A a, B b)
{
    return (a + A(b) - 1) / A(b);
}

inline size_t alignUp(size_t n, size_t a) { return (n + a - 1) / a * a; }

} // namespace logitscope::gpu

#define CUDA_CHECK(call)                                                                  \
    do {                                                                                  \
        const cudaError_t cudaCheckResult = (call);                                       \
        if (cudaCheckResult != cudaSuccess)                                               \
            ::logitscope::gpu::throwCudaError(cudaCheckResult, #call, __FILE__, __LINE__); \
    } while (0)

// After a kernel launch: launch-configuration errors surface here (execution errors at the next sync).
#define CUDA_CHECK_LAUNCH() CUDA_CHECK(cudaGetLastError())

#ifdef __CUDACC__

namespace logitscope::gpu {

__device__ __forceinline__ float warpSum(float v)
{
#pragma unroll
    for (int o = 16; o > 0; o >>= 1)
        v += __shfl_xor_sync(0xffffffffu, v, o);
    return v;
}

__device__ __forceinline__ float warpMax(float v)
{
#pragma unroll
    for (int o = 16; o > 0; o >>= 1)
        v = fmaxf(v, __shfl_xor_sync(0xffffffffu, v, o));
    return v;
}

// Sum over the whole block (blockDim.x a multiple of 32, at most 1024). Every thread gets the result.
// `scratch` holds 32 floats of shared memory; the call synchronises the block twice.
__device__ __forceinline__ float blockSum(float v, float* scratch)
{
    const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5, warps = blockDim.x >> 5;
    v = warpSum(v);
    __syncthreads(); // scratch may still be read by a previous reduction
    if (lane == 0)
        scratch[warp] = v;
    __syncthreads();
    v = lane < warps ? scratch[lane] : 0.0f;
    return warpSum(v);
}

__device__ __forceinline__ float blockMax(float v, float* scratch)
{
    const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5, warps = blockDim.x >> 5;
    v = warpMax(v);
    __syncthreads();
    if (lane == 0)
        scratch[warp] = v;
    __syncthreads();
    v = lane < warps ? scratch[lane] : -INFINITY;
    return warpMax(v);
}

// RoPE for one element: element d of a head whose pair partner is read through `at`; both layouts
// (Interleaved pairs (2i, 2i+1), RotateHalf pairs (i, i + D/2)). Same float operations as ropeKernel.
template <class At>
__device__ __forceinline__ float ropeElement(At at, int d, int headDim, float pos, const float* invFreq,
                                             bool interleaved)
{
    const int half = headDim / 2;
    const int i = interleaved ? d / 2 : d % half;
    const bool first = interleaved ? (d % 2 == 0) : (d < half);
    const int a = interleaved ? 2 * i : i;
    const int b = interleaved ? 2 * i + 1 : i + half;
    float sn, cs;
    sincosf(pos * invFreq[i], &sn, &cs);
    const float x0 = at(a), x1 = at(b);
    return first ? x0 * cs - x1 * sn : x1 * cs + x0 * sn;
}

} // namespace logitscope::gpu

#endif
