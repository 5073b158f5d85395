// attentionDecode: one query row per sequence over the paged KV cache, split-K (flash-decoding):
// grid (splits, Hkv, B); each block takes a range of keys for one kv head and all its query heads
// (GQA: the keys are read once per group), runs an online softmax over 128-key tiles and writes a
// partial (max, sum, output); a combine kernel merges the splits and normalises the captured scores.
// Grid and shapes are fixed for a batch size; lengths and block tables come from device memory, so
// the launch can live in a replayed CUDA graph. The query's RoPE is applied as it is loaded (one launch
// fewer per layer). Mirrors CpuBackend::attendDirect (no ops.h twin).
#include "cuda_common.cuh"
#include "gpu_ops.h"

#include "model/kv_cache.h"

#include <algorithm>

namespace logitscope::gpu {

namespace {

constexpr int kThreads = 128;     // threads per split block
constexpr int kTile = kThreads;   // keys per tile: one key per thread in the score phase
constexpr int kBlock = KvCache::kBlockSize;

// The keys [s0, s1) of `split`: equal chunks rounded up to whole 16-key blocks.
__device__ __forceinline__ void splitRange(int len, int splits, int split, int& s0, int& s1)
{
    int chunk = (len + splits - 1) / splits;
    chunk = (chunk + kBlock - 1) / kBlock * kBlock;
    s0 = split * chunk;
    s1 = min(len, s0 + chunk);
}

// ---- kernels --------------------------------------------------------------------------------------

template <int D, int MAXG>
__global__ void __launch_bounds__(kThreads)
    attentionSplitKernel(const float* q, PagedKvLayer kv, const int32_t* tables, int tableStride,
                         const int32_t* seqLens, int H, float scale, DecodeAttentionScratch scratch, float* capture,
                         size_t captureBatchStride, int captureStride, const float* invFreq, bool interleaved)
{
    static_assert(D <= kThreads && D % 8 == 0, "head dim: a multiple of 8, at most the block");
    constexpr int KS = kThreads / D; // key subsets of the P·V phase; threads past KS * D sit it out
    __shared__ float qs[MAXG * D];       // scaled queries of the group
    __shared__ float ps[MAXG * kTile];   // scores, then probabilities, of one tile; finally the reduction
    __shared__ float mRun[MAXG], lRun[MAXG], alphaS[MAXG];

    const int split = blockIdx.x, g = blockIdx.y, b = blockIdx.z;
    const int splits = gridDim.x, Hkv = gridDim.y;
    const int G = H / Hkv;
    const int tid = threadIdx.x;
    const int len = seqLens[b];
    int s0, s1;
    splitRange(len, splits, split, s0, s1);
    const size_t part0 = (size_t(b) * H + size_t(g) * G) * splits + split; // + j * splits for head j

    if (s0 >= s1) { // nothing to do: an empty partial the combine step weighs by zero
        for (int j = tid; j < G; j += kThreads) {
            scratch.maxes[part0 + size_t(j) * splits] = -INFINITY;
            scratch.sums[part0 + size_t(j) * splits] = 0.0f;
        }
        for (int i = tid; i < G * D; i += kThreads)
            scratch.outputs[(part0 + size_t(i / D) * splits) * D + i % D] = 0.0f;
        return;
    }

    const float* qb = q + size_t(b) * H * D + size_t(g) * G * D;
    for (int i = tid; i < MAXG * D; i += kThreads) {
        float qv = 0.0f;
        if (i < G * D) {
            if (invFreq) { // RoPE on load, at the query's position len - 1
                const float* head = qb + (i / D) * D;
                qv = ropeElement([head](int e) { return head[e]; }, i % D, D, float(len - 1), invFreq, interleaved);
            } else {
                qv = qb[i];
            }
        }
        qs[i] = qv * scale;
    }
    if (tid < MAXG) {
        mRun[tid] = -INFINITY;
        lRun[tid] = 0.0f;
        alphaS[tid] = 0.0f;
    }
    const int32_t* table = tables + size_t(b) * tableStride;
    const __half* kBase = kv.base + kv.keyOffset + size_t(g) * kBlock * D;
    const __half* vBase = kv.base + kv.valueOffset + size_t(g) * kBlock * D;
    const int d = tid % D, ks = tid / D;
    float acc[MAXG];
#pragma unroll
    for (int j = 0; j < MAXG; ++j)
        acc[j] = 0.0f;
    __syncthreads();

    for (int t0 = s0; t0 < s1; t0 += kTile) {
        const int n = min(kTile, s1 - t0);
        // scores of this tile: thread tid takes key t0 + tid for every head of the group
        {
            float s[MAXG];
#pragma unroll
            for (int j = 0; j < MAXG; ++j)
                s[j] = 0.0f;
            if (tid < n) {
                const int key = t0 + tid;
                const int block = table[key / kBlock];
                const uint4* kp =
                    reinterpret_cast<const uint4*>(kBase + size_t(block) * kv.blockStride + size_t(key % kBlock) * D);
#pragma unroll
                for (int c = 0; c < D / 8; ++c) {
                    const uint4 k4 = kp[c];
                    const __half2* kh = reinterpret_cast<const __half2*>(&k4);
                    float kf[8];
#pragma unroll
                    for (int i = 0; i < 4; ++i) {
                        const float2 f = __half22float2(kh[i]);
                        kf[2 * i] = f.x;
                        kf[2 * i + 1] = f.y;
                    }
#pragma unroll
                    for (int j = 0; j < MAXG; ++j) {
                        if (j < G) {
                            const float* qj = qs + j * D + c * 8;
#pragma unroll
                            for (int i = 0; i < 8; ++i)
                                s[j] = fmaf(kf[i], qj[i], s[j]);
                        }
                    }
                }
            }
#pragma unroll
            for (int j = 0; j < MAXG; ++j) {
                if (j < G) {
                    ps[j * kTile + tid] = tid < n ? s[j] : -INFINITY;
                    if (capture && tid < n)
                        capture[size_t(b) * captureBatchStride + size_t(g * G + j) * captureStride + t0 + tid] = s[j];
                }
            }
        }
        __syncthreads();
        // online softmax statistics, one warp per head
        {
            const int warp = tid >> 5, lane = tid & 31;
            for (int j = warp; j < G; j += kThreads / 32) {
                float m = -INFINITY;
                for (int i = lane; i < kTile; i += 32)
                    m = fmaxf(m, ps[j * kTile + i]);
                m = warpMax(m);
                const float mNew = fmaxf(mRun[j], m); // finite: the tile has at least one key
                float sum = 0.0f;
                for (int i = lane; i < kTile; i += 32) {
                    const float e = expf(ps[j * kTile + i] - mNew);
                    ps[j * kTile + i] = e;
                    sum += e;
                }
                sum = warpSum(sum);
                if (lane == 0) {
                    const float alpha = expf(mRun[j] - mNew);
                    alphaS[j] = alpha;
                    lRun[j] = lRun[j] * alpha + sum;
                    mRun[j] = mNew;
                }
            }
        }
        __syncthreads();
        // acc = acc * alpha + p · V, thread (ks, d) over keys ks, ks + KS, ...
#pragma unroll
        for (int j = 0; j < MAXG; ++j)
            if (j < G)
                acc[j] *= alphaS[j];
        for (int i = ks; ks < KS && i < n; i += KS) {
            const int key = t0 + i;
            const int block = table[key / kBlock];
            const float v = __half2float(vBase[size_t(block) * kv.blockStride + size_t(key % kBlock) * D + d]);
#pragma unroll
            for (int j = 0; j < MAXG; ++j)
                if (j < G)
                    acc[j] = fmaf(ps[j * kTile + i], v, acc[j]);
        }
        __syncthreads();
    }

    // Sum the KS partial outputs through shared memory: ps holds (KS, MAXG, D) = kThreads * MAXG floats.
#pragma unroll
    for (int j = 0; j < MAXG; ++j)
        if (j < G && ks < KS)
            ps[(ks * MAXG + j) * D + d] = acc[j];
    __syncthreads();
    for (int i = tid; i < G * D; i += kThreads) {
        const int j = i / D, dd = i % D;
        float o = 0.0f;
#pragma unroll
        for (int k = 0; k < KS; ++k)
            o += ps[(k * MAXG + j) * D + dd];
        scratch.outputs[(part0 + size_t(j) * splits) * D + dd] = o;
    }
    if (tid < G) {
        scratch.maxes[part0 + size_t(tid) * splits] = mRun[tid];
        scratch.sums[part0 + size_t(tid) * splits] = lRun[tid];
    }
}

// grid (H, B): merges the splits of one (sequence, head); normalises its captured scores in place.
__global__ void attentionCombineKernel(__half* out, DecodeAttentionScratch scratch, const int32_t* seqLens, int H,
                                       int D, float* capture, size_t captureBatchStride, int captureStride)
{
    const int h = blockIdx.x, b = blockIdx.y;
    const int splits = scratch.splits;
    const size_t base = (size_t(b) * H + h) * splits;
    float M = -INFINITY;
    for (int s = 0; s < splits; ++s)
        M = fmaxf(M, scratch.maxes[base + s]);
    float L = 0.0f;
    for (int s = 0; s < splits; ++s)
        L += scratch.sums[base + s] * expf(scratch.maxes[base + s] - M);
    const float invL = 1.0f / L;
    for (int d = threadIdx.x; d < D; d += blockDim.x) {
        float o = 0.0f;
        for (int s = 0; s < splits; ++s)
            o += scratch.outputs[(base + s) * D + d] * expf(scratch.maxes[base + s] - M);
        out[(size_t(b) * H + h) * D + d] = __float2half(o * invL);
    }
    if (capture) {
        const int len = seqLens[b];
        float* row = capture + size_t(b) * captureBatchStride + size_t(h) * captureStride;
        for (int k = threadIdx.x; k < len; k += blockDim.x)
            row[k] = expf(row[k] - M) * invL;
    }
}

// ---- launchers ------------------------------------------------------------------------------------

template <int D, int MAXG>
void launchSplit(const float* q, const PagedKvLayer& kv, const int32_t* tables, int tableStride,
                 const int32_t* seqLens, int B, int H, const DecodeAttentionScratch& scratch, float* capture,
                 size_t captureBatchStride, int captureStride, cudaStream_t stream, const float* invFreq,
                 bool interleaved)
{
    const dim3 grid(unsigned(scratch.splits), unsigned(kv.kvHeads), unsigned(B));
    const float scale = 1.0f / sqrtf(float(D));
    attentionSplitKernel<D, MAXG><<<grid, kThreads, 0, stream>>>(q, kv, tables, tableStride, seqLens, H, scale,
                                                                 scratch, capture, captureBatchStride, captureStride,
                                                                 invFreq, interleaved);
    CUDA_CHECK_LAUNCH();
}

template <int D>
void launchSplitForGroup(int G, const float* q, const PagedKvLayer& kv, const int32_t* tables, int tableStride,
                         const int32_t* seqLens, int B, int H, const DecodeAttentionScratch& scratch, float* capture,
                         size_t captureBatchStride, int captureStride, cudaStream_t stream, const float* invFreq,
                         bool interleaved)
{
    if (G <= 4)
        launchSplit<D, 4>(q, kv, tables, tableStride, seqLens, B, H, scratch, capture, captureBatchStride,
                          captureStride, stream, invFreq, interleaved);
    else if (G <= 8)
        launchSplit<D, 8>(q, kv, tables, tableStride, seqLens, B, H, scratch, capture, captureBatchStride,
                          captureStride, stream, invFreq, interleaved);
    else
        launchSplit<D, 16>(q, kv, tables, tableStride, seqLens, B, H, scratch, capture, captureBatchStride,
                           captureStride, stream, invFreq, interleaved);
}

} // namespace

bool decodeHeadDimSupported(int D)
{
    for (int d : kDecodeHeadDims)
        if (d == D)
            return true;
    return false;
}

std::string decodeHeadDimsText()
{
    std::string s;
    for (int d : kDecodeHeadDims)
        s += (s.empty() ? "" : ", ") + std::to_string(d);
    return s;
}

int decodeAttentionSplits(int B, int kvHeads, int multiprocessors)
{
    const int want = ceilDiv(2 * std::max(multiprocessors, 1), std::max(B * kvHeads, 1));
    return std::clamp(want, 1, kMaxDecodeSplits);
}

void attentionDecode(__half* out, const float* q, const PagedKvLayer& kv, const int32_t* tables, int tableStride,
                     const int32_t* seqLens, int B, int nHeads, const DecodeAttentionScratch& scratch, float* capture,
                     size_t captureBatchStride, int captureStride, cudaStream_t stream, const float* invFreq,
                     RopeLayout layout)
{
    const bool interleaved = layout == RopeLayout::Interleaved;
    if (B <= 0)
        return;
    const int D = kv.headDim, G = nHeads / kv.kvHeads;
    if (G > kMaxGroup || G * kv.kvHeads != nHeads || scratch.splits < 1 || scratch.splits > kMaxDecodeSplits)
        throw Error("attentionDecode: unsupported head grouping");
    switch (D) {
#define LOGITSCOPE_DECODE_HEAD_DIM(dim)                                                                       \
    case dim:                                                                                                 \
        launchSplitForGroup<dim>(G, q, kv, tables, tableStride, seqLens, B, nHeads, scratch, capture,          \
                                 captureBatchStride, captureStride, stream, invFreq, interleaved);            \
        break;
        LOGITSCOPE_DECODE_HEAD_DIM(32)
        LOGITSCOPE_DECODE_HEAD_DIM(40)
        LOGITSCOPE_DECODE_HEAD_DIM(64)
        LOGITSCOPE_DECODE_HEAD_DIM(80)
        LOGITSCOPE_DECODE_HEAD_DIM(96)
        LOGITSCOPE_DECODE_HEAD_DIM(128)
#undef LOGITSCOPE_DECODE_HEAD_DIM
    default:
        throw Error("attentionDecode: head dimension " + std::to_string(D) + " is not supported (" +
                    decodeHeadDimsText() + ")");
    }
    attentionCombineKernel<<<dim3(unsigned(nHeads), unsigned(B)), 128, 0, stream>>>(
        out, scratch, seqLens, nHeads, D, capture, captureBatchStride, captureStride);
    CUDA_CHECK_LAUNCH();
}

} // namespace logitscope::gpu
