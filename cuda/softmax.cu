// softmax: in place, per row, x = exp(x - max) / sum, fp32 throughout. Twin of ops::softmax.
// (The attention kernels have their own masked softmax inside; this is the general op.)
#include "cuda_common.cuh"
#include "gpu_ops.h"

namespace logitscope::gpu {

// ---- kernels --------------------------------------------------------------------------------------

namespace {

__global__ void softmaxKernel(float* x, int n)
{
    __shared__ float scratch[32];
    float* r = x + size_t(blockIdx.x) * n;
    float m = -INFINITY;
    for (int i = threadIdx.x; i < n; i += blockDim.x)
        m = fmaxf(m, r[i]);
    m = blockMax(m, scratch);
    float s = 0.0f;
    for (int i = threadIdx.x; i < n; i += blockDim.x) {
        const float e = expf(r[i] - m);
        r[i] = e;
        s += e;
    }
    const float inv = 1.0f / blockSum(s, scratch);
    for (int i = threadIdx.x; i < n; i += blockDim.x)
        r[i] *= inv;
}

} // namespace

// ---- launchers ------------------------------------------------------------------------------------

void softmax(float* x, int n, cudaStream_t stream, int rows)
{
    if (rows <= 0 || n <= 0)
        return;
    softmaxKernel<<<rows, 256, 0, stream>>>(x, n);
    CUDA_CHECK_LAUNCH();
}

} // namespace logitscope::gpu
