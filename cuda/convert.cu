// convert: fp32 -> fp16 (rotated queries into the cuBLAS prefill attention). No CPU twin: the CPU
// stays in fp32 where the GPU feeds fp16 into cuBLAS.
#include "cuda_common.cuh"
#include "gpu_ops.h"

namespace logitscope::gpu {

// ---- kernels --------------------------------------------------------------------------------------

namespace {

__global__ void convertKernel(__half* out, const float* x, long long n)
{
    const long long i = (long long)blockIdx.x * blockDim.x + threadIdx.x;
    if (i < n)
        out[i] = __float2half(x[i]);
}

} // namespace

// ---- launchers ------------------------------------------------------------------------------------

void convert(__half* out, const float* x, int n, cudaStream_t stream)
{
    if (n <= 0)
        return;
    convertKernel<<<unsigned(ceilDiv(n, 256)), 256, 0, stream>>>(out, x, n);
    CUDA_CHECK_LAUNCH();
}

} // namespace logitscope::gpu
