// gelu: GPT-2's tanh approximation ("gelu_new"), fp32 in, fp16 out. Twin of ops::gelu.
#include "cuda_common.cuh"
#include "gpu_ops.h"

namespace logitscope::gpu {

// ---- kernels --------------------------------------------------------------------------------------

namespace {

__global__ void geluKernel(__half* out, const float* x, long long n)
{
    const long long i = (long long)blockIdx.x * blockDim.x + threadIdx.x;
    if (i >= n)
        return;
    const float k = 0.7978845608028654f; // sqrt(2 / pi)
    const float v = x[i];
    out[i] = __float2half(0.5f * v * (1.0f + tanhf(k * (v + 0.044715f * v * v * v))));
}

} // namespace

// ---- launchers ------------------------------------------------------------------------------------

void gelu(__half* out, const float* x, int n, cudaStream_t stream)
{
    if (n <= 0)
        return;
    geluKernel<<<unsigned(ceilDiv(n, 256)), 256, 0, stream>>>(out, x, n);
    CUDA_CHECK_LAUNCH();
}

} // namespace logitscope::gpu
