// embeddingGather: rows ids[t] of an fp16 (V, C) table into fp32 (T, C). Twin of ops::embeddingGather.
// Ids are read from device memory (so a captured decode graph can be replayed with new tokens);
// the backend validates them on the host before upload.
#include "cuda_common.cuh"
#include "gpu_ops.h"

namespace logitscope::gpu {

// ---- kernels --------------------------------------------------------------------------------------

namespace {

__global__ void embeddingGatherKernel(float* out, const __half* table, int C, const int32_t* ids)
{
    const int t = blockIdx.x;
    const __half* row = table + size_t(ids[t]) * C;
    float* o = out + size_t(t) * C;
    for (int c = threadIdx.x; c < C; c += blockDim.x)
        o[c] = __half2float(row[c]);
}

} // namespace

// ---- launchers ------------------------------------------------------------------------------------

void embeddingGather(float* out, const DeviceMatrix& table, const int32_t* ids, int T, cudaStream_t stream)
{
    if (T <= 0)
        return;
    embeddingGatherKernel<<<T, 256, 0, stream>>>(out, table.data, table.cols, ids);
    CUDA_CHECK_LAUNCH();
}

} // namespace logitscope::gpu
