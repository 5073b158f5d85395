// add: out = a + b (fp32), the residual add. Twin of ops::add.
#include "cuda_common.cuh"
#include "gpu_ops.h"

namespace logitscope::gpu {

// ---- kernels --------------------------------------------------------------------------------------

namespace {

__global__ void addKernel(float* out, const float* a, const float* b, long long n)
{
    const long long i = (long long)blockIdx.x * blockDim.x + threadIdx.x;
    if (i < n)
        out[i] = a[i] + b[i];
}

} // namespace

// ---- launchers ------------------------------------------------------------------------------------

void add(float* out, const float* a, const float* b, int n, cudaStream_t stream)
{
    if (n <= 0)
        return;
    addKernel<<<unsigned(ceilDiv(n, 256)), 256, 0, stream>>>(out, a, b, n);
    CUDA_CHECK_LAUNCH();
}

} // namespace logitscope::gpu
