// rope: rotates each head's pairs by pos * invFreq[i], in place on fp32 q or k rows, both layouts
// (Interleaved: pairs (2i, 2i+1); RotateHalf: pairs (i, i + D/2)). Twin of ops::rope (the invFreq form);
// the frequencies, llama3 / linear scaling included, come from ops::ropeFrequencies on the host.
#include "cuda_common.cuh"
#include "gpu_ops.h"

namespace logitscope::gpu {

// ---- kernels --------------------------------------------------------------------------------------

namespace {

// One thread per (row, head, pair).
__global__ void ropeKernel(float* x, int nHeads, int headDim, const int32_t* pos, const float* invFreq,
                           bool interleaved, int rows)
{
    const int half = headDim / 2;
    const long long total = (long long)rows * nHeads * half;
    const long long idx = (long long)blockIdx.x * blockDim.x + threadIdx.x;
    if (idx >= total)
        return;
    const int i = int(idx % half);
    const long long rh = idx / half; // row * nHeads + head
    const int row = int(rh / nHeads);
    float* v = x + rh * headDim;
    const float angle = float(pos[row]) * invFreq[i]; // fp32 product, as the CPU and HF
    float sn, cs;
    sincosf(angle, &sn, &cs);
    const int a = interleaved ? 2 * i : i;
    const int b = interleaved ? 2 * i + 1 : i + half;
    const float x0 = v[a], x1 = v[b];
    v[a] = x0 * cs - x1 * sn;
    v[b] = x1 * cs + x0 * sn;
}

} // namespace

// ---- launchers ------------------------------------------------------------------------------------

void rope(float* x, int nHeads, int headDim, const int32_t* pos, const float* invFreq, RopeLayout layout,
          cudaStream_t stream, int rows)
{
    const long long total = (long long)rows * nHeads * (headDim / 2);
    if (total <= 0)
        return;
    const int threads = 256;
    ropeKernel<<<unsigned(ceilDiv(total, threads)), threads, 0, stream>>>(x, nHeads, headDim, pos, invFreq,
                                                                          layout == RopeLayout::Interleaved, rows);
    CUDA_CHECK_LAUNCH();
}

} // namespace logitscope::gpu
