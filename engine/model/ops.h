// CPU ops of the transformer forward pass: plain functions over fp32 arrays (weights as TensorViews).
// The CUDA backend mirrors each one with the same name and argument order (plus a stream).
// Not a tensor library: no shapes are checked here beyond what the arguments say; callers own buffers.
#pragma once

#include "formats/tensor_view.h"
#include "model/config.h"

#include <cstdint>
#include <span>
#include <vector>

namespace logitscope {

class ThreadPool;

namespace ops {

// out = x / sqrt(mean(x^2) + eps) * w                                   x, w, out: (n)
void rmsnorm(float* out, const float* x, const float* w, int n, float eps);
// out = (x - mean) / sqrt(var + eps) * w + b                            x, w, b, out: (n)
void layernorm(float* out, const float* x, const float* w, const float* b, int n, float eps);

// Inverse frequencies of the D/2 rotated pairs, theta^(-2i/D) in fp32, then scaled exactly as
// Hugging Face's rope initialisers do (linear: / factor; llama3: _compute_llama3_parameters), then
// rounded as scaling.rounding says.
void ropeFrequencies(float* invFreq, int headDim, float theta, const RopeScaling& scaling);
// Rotates every head of x (nHeads, headDim) in place for position pos.
// Interleaved rotates pairs (2i, 2i+1); RotateHalf rotates pairs (i, i + D/2); pair i turns by pos * invFreq[i].
void rope(float* x, int nHeads, int headDim, int pos, float theta, RopeLayout layout, const RopeScaling& scaling);
void rope(float* x, int nHeads, int headDim, int pos, const float* invFreq, RopeLayout layout);
// The same in two halves, so one position's angles serve q and k of every layer:
// cosSin (headDim) = cos(pos * invFreq[i]) for i < D/2, then the sines.
void ropeAngles(float* cosSin, int headDim, int pos, const float* invFreq);
void ropeRotate(float* x, int nHeads, int headDim, const float* cosSin, RopeLayout layout);

// out[i] = x[i] rounded to fp16 (nearest even, as torch's .half())                  (n)
void toFp16(uint16_t* out, const float* x, int n);

// out = silu(gate) * up (SwiGLU)                                        (n)
void siluMul(float* out, const float* gate, const float* up, int n);
// out = 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3)))  — GPT-2's "gelu_new"   (n)
void gelu(float* out, const float* x, int n);
// In place: x = exp(x - max) / sum                                      (n)
void softmax(float* x, int n);
// The same, reporting the max and the sum of exp(x - max) it normalised by (split-K attention merges
// partial softmaxes with them).
void softmax(float* x, int n, float& max, float& sum);
// out = x - log(sum(exp(x))), max subtracted, the sum in double          (n)
void logSoftmax(float* out, const float* x, int n);
// The same into a new row: a whole vocabulary's raw log-probabilities                     (n)
std::vector<float> logSoftmax(std::span<const float> x);
// out = a + b (residual)                                                (n)
void add(float* out, const float* a, const float* b, int n);

// out (T, C) = rows ids[t] of table (V, C), any dtype, converted to fp32.
void embeddingGather(float* out, const TensorView& table, const int32_t* ids, int T);

// out (T, N) = x (T, K) · wᵀ + bias, with w an (N, K) matrix of any dtype and fp32 accumulation.
// bias (N) may be null. pool may be null (single-threaded).
// Small T reads each weight byte once (SIMD kernels per dtype); large T converts weight tiles to
// fp32 and calls sgemm.
void matmul(float* out, const float* x, const TensorView& w, const float* bias, int T, ThreadPool* pool = nullptr);
// out (N) = w (N, K) · x (K) + bias.
void matvec(float* out, const float* x, const TensorView& w, const float* bias, ThreadPool* pool = nullptr);

// Several matrices applied to the same input in one parallel pass (q/k/v, gate/up).
struct MatmulJob {
    float* out = nullptr;          // (T, N)
    const TensorView* w = nullptr; // (N, K)
    const float* bias = nullptr;   // (N) or null
};
void matmulMany(std::span<const MatmulJob> jobs, const float* x, int T, ThreadPool* pool = nullptr);

// Dot product of n fp32 values (AVX2 when built for it).
float dot(const float* a, const float* b, int n);
// y += a * x                                                            (n)
void axpy(float* y, float a, const float* x, int n);

} // namespace ops
} // namespace logitscope
