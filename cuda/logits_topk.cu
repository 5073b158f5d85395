// logSoftmaxTopK: per row of logits, the k best ids and their raw log-probabilities, computed on the
// device so a view that needs only the top of the distribution copies k pairs, not the vocabulary.
// k rounds of a block-wide arg-max under a strict (value desc, id asc) order; fine for k <= 256.
// The CPU computes the same inside the sampler chain (no ops.h twin).
#include "cuda_common.cuh"
#include "gpu_ops.h"

namespace logitscope::gpu {

namespace {

constexpr int kThreads = 1024;

// ---- kernels --------------------------------------------------------------------------------------

// a is better than b: larger value, or equal value and smaller id; id -1 means "none".
__device__ __forceinline__ bool better(float av, int ai, float bv, int bi)
{
    if (ai < 0)
        return false;
    if (bi < 0)
        return true;
    return av > bv || (av == bv && ai < bi);
}

// log(sum(exp(x))) of one row, max subtracted; every thread of the block gets it.
__device__ float rowLogSumExp(const float* x, int V, float* scratch)
{
    float m = -INFINITY;
    for (int i = threadIdx.x; i < V; i += blockDim.x)
        m = fmaxf(m, x[i]);
    m = blockMax(m, scratch);
    float s = 0.0f;
    for (int i = threadIdx.x; i < V; i += blockDim.x)
        s += expf(x[i] - m);
    return m + logf(blockSum(s, scratch));
}

__global__ void __launch_bounds__(kThreads)
    logSoftmaxTopKKernel(int32_t* ids, float* logprobs, const float* logits, int V, int k)
{
    __shared__ float scratch[32];
    __shared__ float wv[32];
    __shared__ int wi[32];
    __shared__ float prevV;
    __shared__ int prevI;
    const float* x = logits + size_t(blockIdx.x) * V;
    const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5, warps = blockDim.x >> 5;

    const float lse = rowLogSumExp(x, V, scratch);

    if (threadIdx.x == 0) {
        prevV = INFINITY;
        prevI = -1;
    }
    __syncthreads();
    for (int round = 0; round < k; ++round) {
        const float pv = prevV;
        const int pi = prevI;
        float bv = -INFINITY;
        int bi = -1;
        for (int i = threadIdx.x; i < V; i += blockDim.x) {
            const float v = x[i];
            const bool after = pi < 0 || v < pv || (v == pv && i > pi); // strictly after the previous pick
            if (after && better(v, i, bv, bi)) {
                bv = v;
                bi = i;
            }
        }
#pragma unroll
        for (int o = 16; o > 0; o >>= 1) {
            const float ov = __shfl_xor_sync(0xffffffffu, bv, o);
            const int oi = __shfl_xor_sync(0xffffffffu, bi, o);
            if (better(ov, oi, bv, bi)) {
                bv = ov;
                bi = oi;
            }
        }
        if (lane == 0) {
            wv[warp] = bv;
            wi[warp] = bi;
        }
        __syncthreads();
        if (threadIdx.x == 0) {
            for (int w = 1; w < warps; ++w)
                if (better(wv[w], wi[w], bv, bi)) {
                    bv = wv[w];
                    bi = wi[w];
                }
            ids[size_t(blockIdx.x) * k + round] = bi;
            logprobs[size_t(blockIdx.x) * k + round] = bi >= 0 ? bv - lse : -INFINITY;
            prevV = bv;
            prevI = bi;
        }
        __syncthreads();
        if (prevI < 0) { // fewer than k ids: fill the rest
            for (int r = round + 1 + threadIdx.x; r < k; r += blockDim.x) {
                ids[size_t(blockIdx.x) * k + r] = -1;
                logprobs[size_t(blockIdx.x) * k + r] = -INFINITY;
            }
            return;
        }
    }
}

// grid (rows): where `chosen` stands in each row — how many ids beat it under the same order as the
// top-k (value desc, id asc) and its log-softmax value. The logit lens's chosen-token line.
__global__ void __launch_bounds__(kThreads)
    logprobRankKernel(int32_t* ranks, float* logprobs, const float* logits, int V, int32_t chosen)
{
    __shared__ float scratch[32];
    const float* x = logits + size_t(blockIdx.x) * V;
    const float lse = rowLogSumExp(x, V, scratch);
    const float cv = x[chosen];
    float ahead = 0.0f; // exact in fp32 below 2^24 ids
    for (int i = threadIdx.x; i < V; i += blockDim.x)
        ahead += better(x[i], i, cv, chosen) ? 1.0f : 0.0f;
    ahead = blockSum(ahead, scratch);
    if (threadIdx.x == 0) {
        ranks[blockIdx.x] = int32_t(ahead);
        logprobs[blockIdx.x] = cv - lse;
    }
}

} // namespace

// ---- launchers ------------------------------------------------------------------------------------

void logSoftmaxTopK(int32_t* ids, float* logprobs, const float* logits, int V, int k, cudaStream_t stream, int rows)
{
    if (rows <= 0 || k <= 0)
        return;
    if (k > 256)
        throw Error("logSoftmaxTopK: k must be at most 256");
    logSoftmaxTopKKernel<<<rows, kThreads, 0, stream>>>(ids, logprobs, logits, V, k);
    CUDA_CHECK_LAUNCH();
}

} // namespace logitscope::gpu

namespace logitscope::gpu {

void logprobRank(int32_t* ranks, float* logprobs, const float* logits, int V, int32_t chosen, cudaStream_t stream,
                 int rows)
{
    if (rows <= 0)
        return;
    if (chosen < 0 || chosen >= V)
        throw Error("logprobRank: token id " + std::to_string(chosen) + " outside the vocabulary of " +
                    std::to_string(V));
    logprobRankKernel<<<rows, kThreads, 0, stream>>>(ranks, logprobs, logits, V, chosen);
    CUDA_CHECK_LAUNCH();
}

} // namespace logitscope::gpu
