// Paged KV cache ops: kvCacheWrite stores new keys/values (fp32 -> fp16) into their 16-token blocks,
// kvCacheGather copies one sequence's keys/values out contiguously (for the cuBLAS prefill attention).
// kvCacheWrite can rotate the keys as it stores them (RoPE fused: one launch fewer per layer).
// The CPU backend does the same inline (CpuBackend::storeKv and attendGemm's gather); no ops.h twin.
// Block tables and positions are read from device memory so a captured decode graph can be replayed.
#include "cuda_common.cuh"
#include "gpu_ops.h"

#include "model/kv_cache.h"

namespace logitscope::gpu {

namespace {

constexpr int kBlock = KvCache::kBlockSize;

// ---- kernels --------------------------------------------------------------------------------------

// One thread per (row, kv head, d).
__global__ void kvCacheWriteKernel(PagedKvLayer kv, const float* k, const float* v, const int32_t* pos,
                                   const int32_t* tables, int tableStride, long long total, const float* invFreq,
                                   bool interleaved)
{
    const long long idx = (long long)blockIdx.x * blockDim.x + threadIdx.x;
    if (idx >= total)
        return;
    const int D = kv.headDim, Hkv = kv.kvHeads;
    const int d = int(idx % D);
    const int h = int((idx / D) % Hkv);
    const long long r = idx / ((long long)D * Hkv);
    const int p = pos[r];
    const int block = tables[r * tableStride + p / kBlock];
    const size_t at = size_t(block) * kv.blockStride + (size_t(h) * kBlock + size_t(p % kBlock)) * D + d;
    float key = k[idx];
    if (invFreq) {
        const float* head = k + (idx - d);
        key = ropeElement([head](int e) { return head[e]; }, d, D, float(p), invFreq, interleaved);
    }
    kv.base[at + kv.keyOffset] = __float2half(key);
    kv.base[at + kv.valueOffset] = __float2half(v[idx]);
}

// One thread per (kv head, position, d).
__global__ void kvCacheGatherKernel(__half* keys, __half* values, PagedKvLayer kv, const int32_t* table, int S,
                                    long long total)
{
    const long long idx = (long long)blockIdx.x * blockDim.x + threadIdx.x;
    if (idx >= total)
        return;
    const int D = kv.headDim;
    const int d = int(idx % D);
    const int s = int((idx / D) % S);
    const int h = int(idx / ((long long)D * S));
    const int block = table[s / kBlock];
    const size_t at = size_t(block) * kv.blockStride + (size_t(h) * kBlock + size_t(s % kBlock)) * D + d;
    keys[idx] = kv.base[at + kv.keyOffset];
    values[idx] = kv.base[at + kv.valueOffset];
}

} // namespace

// ---- launchers ------------------------------------------------------------------------------------

void kvCacheWrite(const PagedKvLayer& kv, const float* k, const float* v, const int32_t* pos, const int32_t* tables,
                  int tableStride, int rows, cudaStream_t stream, const float* invFreq, RopeLayout layout)
{
    const long long total = (long long)rows * kv.kvHeads * kv.headDim;
    if (total <= 0)
        return;
    kvCacheWriteKernel<<<unsigned(ceilDiv(total, 256)), 256, 0, stream>>>(
        kv, k, v, pos, tables, tableStride, total, invFreq, layout == RopeLayout::Interleaved);
    CUDA_CHECK_LAUNCH();
}

void kvCacheGather(__half* keys, __half* values, const PagedKvLayer& kv, const int32_t* table, int S,
                   cudaStream_t stream)
{
    const long long total = (long long)kv.kvHeads * S * kv.headDim;
    if (total <= 0)
        return;
    kvCacheGatherKernel<<<unsigned(ceilDiv(total, 256)), 256, 0, stream>>>(keys, values, kv, table, S, total);
    CUDA_CHECK_LAUNCH();
}

} // namespace logitscope::gpu
