// layernorm: out = (x - mean) / sqrt(var + eps) * w + b, one block per row (two passes over x);
// fp32 in, fp16 out. Twin of ops::layernorm (GPT-2).
#include "cuda_common.cuh"
#include "gpu_ops.h"

namespace logitscope::gpu {

// ---- kernels --------------------------------------------------------------------------------------

namespace {

__global__ void layernormKernel(__half* out, const float* x, const float* w, const float* b, int n, float eps)
{
    __shared__ float scratch[32];
    const float* xr = x + size_t(blockIdx.x) * n;
    __half* o = out + size_t(blockIdx.x) * n;
    float s = 0.0f;
    for (int i = threadIdx.x; i < n; i += blockDim.x)
        s += xr[i];
    const float mean = blockSum(s, scratch) / float(n);
    float v = 0.0f;
    for (int i = threadIdx.x; i < n; i += blockDim.x) {
        const float d = xr[i] - mean;
        v += d * d;
    }
    const float inv = rsqrtf(blockSum(v, scratch) / float(n) + eps);
    for (int i = threadIdx.x; i < n; i += blockDim.x)
        o[i] = __float2half((xr[i] - mean) * inv * w[i] + (b ? b[i] : 0.0f));
}

} // namespace

// ---- launchers ------------------------------------------------------------------------------------

void layernorm(__half* out, const float* x, const float* w, const float* b, int n, float eps, cudaStream_t stream,
               int rows)
{
    if (rows <= 0 || n <= 0)
        return;
    layernormKernel<<<rows, n >= 1024 ? 512 : 256, 0, stream>>>(out, x, w, b, n, eps);
    CUDA_CHECK_LAUNCH();
}

} // namespace logitscope::gpu
