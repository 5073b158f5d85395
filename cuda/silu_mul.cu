// siluMul: out = silu(gate) * up (SwiGLU), fp32 in, fp16 out (the input of the down projection).
// Twin of ops::siluMul.
#include "cuda_common.cuh"
#include "gpu_ops.h"

namespace logitscope::gpu {

// ---- kernels --------------------------------------------------------------------------------------

namespace {

__global__ void siluMulKernel(__half* out, const float* gate, const float* up, long long n)
{
    const long long i = (long long)blockIdx.x * blockDim.x + threadIdx.x;
    if (i >= n)
        return;
    const float g = gate[i];
    out[i] = __float2half(g / (1.0f + expf(-g)) * up[i]);
}

} // namespace

// ---- launchers ------------------------------------------------------------------------------------

void siluMul(__half* out, const float* gate, const float* up, int n, cudaStream_t stream)
{
    if (n <= 0)
        return;
    siluMulKernel<<<unsigned(ceilDiv(n, 256)), 256, 0, stream>>>(out, gate, up, n);
    CUDA_CHECK_LAUNCH();
}

} // namespace logitscope::gpu
