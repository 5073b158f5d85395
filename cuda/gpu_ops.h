// GPU twins of engine/model/ops.h: the same names and argument order, plus a stream (or a GemmContext
// holding the stream and the cuBLAS handle). Activations are fp32; inputs of matrix products are fp16;
// weights live on the device as fp16 (DeviceMatrix). Also the ops with no single-function CPU twin yet
// (paged-KV writes/gathers and the two attention kernels, mirroring CpuBackend's attention).
// Legend: T tokens (rows), C hidden, V vocabulary, H query heads, Hkv kv heads, D head dim, F ffn.
#pragma once

#include "model/config.h"

#include <cuda_fp16.h>
#include <cuda_runtime_api.h>

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>

struct cublasContext;

namespace logitscope::gpu {

// An (rows, cols) row-major fp16 matrix on the device: (out, in) like the CPU's TensorView.
struct DeviceMatrix {
    const __half* data = nullptr;
    int rows = 0;
    int cols = 0;
};

// What matmul needs to run: the stream, the cuBLAS handle, and whether small T may use the
// mat-vec kernel (gemv) instead of cuBLAS.
struct GemmContext {
    cudaStream_t stream = nullptr;
    cublasContext* cublas = nullptr;
    bool gemv = true;
};

// Rows of x handled by the mat-vec kernel (each weight read once for all of them); more use cuBLAS.
constexpr int kGemvMaxRows = 4;

// ---- norms, activations, softmax (one row of n, or `rows` rows of n each) -----------------------

// out = x / sqrt(mean(x^2) + eps) * w                          x: (rows, n) fp32 -> out: (rows, n) fp16
void rmsnorm(__half* out, const float* x, const float* w, int n, float eps, cudaStream_t stream, int rows = 1);
// out = (x - mean) / sqrt(var + eps) * w + b (b may be null)   x: (rows, n) fp32 -> out: (rows, n) fp16
void layernorm(__half* out, const float* x, const float* w, const float* b, int n, float eps, cudaStream_t stream,
               int rows = 1);
// Rotates every head of x (rows, nHeads, headDim) in place; row r sits at position pos[r] (device).
// invFreq (headDim / 2) on the device, from ops::ropeFrequencies (scaling applied).
void rope(float* x, int nHeads, int headDim, const int32_t* pos, const float* invFreq, RopeLayout layout,
          cudaStream_t stream, int rows = 1);
// out = silu(gate) * up                                          (n) fp32 -> fp16
void siluMul(__half* out, const float* gate, const float* up, int n, cudaStream_t stream);
// out = gelu_tanh(x)                                             (n) fp32 -> fp16
void gelu(__half* out, const float* x, int n, cudaStream_t stream);
// In place, per row: x = exp(x - max) / sum                      (rows, n) fp32
void softmax(float* x, int n, cudaStream_t stream, int rows = 1);
// out = a + b                                                    (n) fp32
void add(float* out, const float* a, const float* b, int n, cudaStream_t stream);
// out = half(x)                                                  (n)
void convert(__half* out, const float* x, int n, cudaStream_t stream);

// out (T, C) fp32 = rows ids[t] (device, validated by the caller) of table (V, C).
void embeddingGather(float* out, const DeviceMatrix& table, const int32_t* ids, int T, cudaStream_t stream);

// ---- matrix products ---------------------------------------------------------------------------

// out (T, N) fp32 = x (T, K) fp16 · wᵀ + bias; with accumulate, out += instead (the residual add).
// T <= kGemvMaxRows uses the mat-vec kernel when ctx.gemv, else cuBLAS (fp16 in, fp32 accumulate).
void matmul(float* out, const __half* x, const DeviceMatrix& w, const float* bias, int T, const GemmContext& ctx,
            bool accumulate = false);

struct MatmulJob {
    float* out = nullptr;             // (T, N)
    const DeviceMatrix* w = nullptr;  // (N, K)
    const float* bias = nullptr;      // (N) or null
};
// Several matrices over the same input (q/k/v, gate/up); one launch of the mat-vec kernel for small T.
void matmulMany(std::span<const MatmulJob> jobs, const __half* x, int T, const GemmContext& ctx);

// out (T, F) fp16 = silu(x · gateᵀ) * (x · upᵀ + upBias): matmulMany(gate, up) then siluMul, fused into
// one mat-vec launch for T <= kGemvMaxRows (each row pair read once); otherwise exactly those two steps,
// with gate/up (T, F) fp32 as scratch.
void matmulSiluMul(__half* out, const __half* x, const DeviceMatrix& gate, const DeviceMatrix& up, const float* upBias,
                   int T, const GemmContext& ctx, float* gateScratch, float* upScratch);

// The same two over rmsnorm(x) (x (T, K) fp32, normWeight (K), eps): for T <= kGemvMaxRows with ctx.gemv
// the norm is folded into the mat-vec kernel (out = rsqrt(mean(x²) + eps) · w (normWeight ∘ x), fp32 all
// the way, no separate norm launch); otherwise exactly rmsnorm(xbScratch (T, K) fp16, x) and then
// matmulMany / matmulSiluMul on xbScratch. x must not be one of the outputs.
void matmulManyRmsNorm(std::span<const MatmulJob> jobs, const float* x, const float* normWeight, float eps,
                       __half* xbScratch, int T, const GemmContext& ctx);
void matmulSiluMulRmsNorm(__half* out, const float* x, const float* normWeight, float eps, __half* xbScratch,
                          const DeviceMatrix& gate, const DeviceMatrix& up, const float* upBias, int T,
                          const GemmContext& ctx, float* gateScratch, float* upScratch);

// ---- paged KV cache ----------------------------------------------------------------------------

// One layer's view of the KV storage. Storage is (blocks, L, 2, Hkv, 16, D) fp16: a block holds every
// layer's keys and values for 16 positions, so a copy-on-write copies one contiguous span.
struct PagedKvLayer {
    __half* base = nullptr;   // block 0
    size_t blockStride = 0;   // elements per block: L * 2 * Hkv * 16 * D
    size_t keyOffset = 0;     // (layer * 2 + 0) * Hkv * 16 * D
    size_t valueOffset = 0;   // (layer * 2 + 1) * Hkv * 16 * D
    int kvHeads = 0;
    int headDim = 0;
};

// Writes rows of k, v (rows, Hkv * D) fp32 into the cache at positions pos[r]; row r's block table is
// tables + r * tableStride (tableStride 0: all rows share one sequence's table). With invFreq, the keys
// are rotated on the way (exactly as rope() would: one pass instead of two).
void kvCacheWrite(const PagedKvLayer& kv, const float* k, const float* v, const int32_t* pos, const int32_t* tables,
                  int tableStride, int rows, cudaStream_t stream, const float* invFreq = nullptr,
                  RopeLayout layout = RopeLayout::RotateHalf);
// Copies positions [0, S) of one sequence into contiguous (Hkv, S, D) fp16 keys and values.
void kvCacheGather(__half* keys, __half* values, const PagedKvLayer& kv, const int32_t* table, int S,
                   cudaStream_t stream);

// ---- attention ---------------------------------------------------------------------------------

// Scratch of the split-K decode attention: per (sequence, head, split) running max, sum and output.
struct DecodeAttentionScratch {
    float* maxes = nullptr;   // (B, H, splits)
    float* sums = nullptr;    // (B, H, splits)
    float* outputs = nullptr; // (B, H, splits, D)
    int splits = 1;
};
constexpr int kMaxDecodeSplits = 32;
constexpr int kMaxGroup = 16; // query heads per kv head
// Head dimensions the decode attention kernel is instantiated for (the switch in attention_decode.cu).
constexpr int kDecodeHeadDims[] = {32, 40, 64, 80, 96, 128};
bool decodeHeadDimSupported(int D);
std::string decodeHeadDimsText(); // "32, 40, 64, ..." for messages

// One query row per sequence over its paged keys: out (B, H*D) fp16 = softmax(q kᵀ / sqrt(D)) v,
// q (B, H*D) fp32 (rotated on load when invFreq is not null, as rope() at position seqLens - 1),
// seqLens (B) keys per sequence (device; the query sits at position seqLens - 1),
// tables + b * tableStride its block table. Split-K over the keys (flash-decoding): every split
// handles a range of keys and a second kernel combines them. When capture is not null it receives
// the probabilities: capture + b * captureBatchStride + h * captureStride + key.
void attentionDecode(__half* out, const float* q, const PagedKvLayer& kv, const int32_t* tables, int tableStride,
                     const int32_t* seqLens, int B, int nHeads, const DecodeAttentionScratch& scratch, float* capture,
                     size_t captureBatchStride, int captureStride, cudaStream_t stream, const float* invFreq = nullptr,
                     RopeLayout layout = RopeLayout::RotateHalf);
// Splits worth launching for B sequences of Hkv heads on a device with `multiprocessors` SMs.
int decodeAttentionSplits(int B, int kvHeads, int multiprocessors);

// Tq query rows of one sequence (absolute positions qPos0 ..) over contiguous keys/values (Hkv, S, D),
// S = qPos0 + Tq, causal: out (Tq, H*D) fp16, q (Tq, H*D) fp16. Uses cuBLAS for q kᵀ and p v with the
// scores in `scores` (H, Tq, S) fp32 and `probs` (H, Tq, S) fp16. When capture is not null the
// probabilities go to capture (H, Tq, captureStride), zero beyond each row's causal limit.
void attentionPrefill(__half* out, const __half* q, const __half* keys, const __half* values, int Tq, int qPos0,
                      int nHeads, int kvHeads, int headDim, float* scores, __half* probs, float* capture,
                      int captureStride, const GemmContext& ctx);

// ---- logits ------------------------------------------------------------------------------------

// Per row of logits (rows, V): the k most likely ids (best first; ties: lower id first) and their
// log-softmax values. ids, logprobs: (rows, k) on the device. k <= 256.
void logSoftmaxTopK(int32_t* ids, float* logprobs, const float* logits, int V, int k, cudaStream_t stream,
                    int rows = 1);
// Per row of logits (rows, V): how many ids rank above `chosen` (same order as logSoftmaxTopK) and
// chosen's log-softmax value. ranks, logprobs: (rows) on the device.
void logprobRank(int32_t* ranks, float* logprobs, const float* logits, int V, int32_t chosen, cudaStream_t stream,
                 int rows = 1);

} // namespace logitscope::gpu
