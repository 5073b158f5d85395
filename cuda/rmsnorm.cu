// rmsnorm: out = x / sqrt(mean(x^2) + eps) * w, one block per row; fp32 in, fp16 out (GEMM input).
// Twin of ops::rmsnorm. Not fused with the residual add: the add is folded into the previous
// matmul (accumulate), which is where it saves a pass over x.
#include "cuda_common.cuh"
#include "gpu_ops.h"

namespace logitscope::gpu {

// ---- kernels --------------------------------------------------------------------------------------

namespace {

__global__ void rmsnormKernel(__half* out, const float* x, const float* w, int n, float eps)
{
    __shared__ float scratch[32];
    const float* xr = x + size_t(blockIdx.x) * n;
    __half* o = out + size_t(blockIdx.x) * n;
    float ss = 0.0f;
    for (int i = threadIdx.x; i < n; i += blockDim.x)
        ss += xr[i] * xr[i];
    ss = blockSum(ss, scratch);
    const float inv = rsqrtf(ss / float(n) + eps);
    for (int i = threadIdx.x; i < n; i += blockDim.x)
        o[i] = __float2half(w[i] * (xr[i] * inv));
}

} // namespace

// ---- launchers ------------------------------------------------------------------------------------

void rmsnorm(__half* out, const float* x, const float* w, int n, float eps, cudaStream_t stream, int rows)
{
    if (rows <= 0 || n <= 0)
        return;
    rmsnormKernel<<<rows, n >= 1024 ? 512 : 256, 0, stream>>>(out, x, w, n, eps);
    CUDA_CHECK_LAUNCH();
}

} // namespace logitscope::gpu
