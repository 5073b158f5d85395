// attentionPrefill: causal attention of Tq query rows of one sequence over its contiguous keys/values
// (gathered from the paged cache by kvCacheGather). Scores and p·v are cuBLAS strided-batched GEMMs
// per kv head (tensor cores, fp32 accumulate); the masked softmax between them is the one kernel here,
// and it is also what writes the captured T x S probabilities. The backend tiles long prompts into
// query chunks so the (H, Tq, S) scores stay within a fixed scratch. Mirrors CpuBackend::attendGemm.
#include "cublas_loader.h"
#include "cuda_common.cuh"
#include "gpu_ops.h"

#include <cmath>

namespace logitscope::gpu {

namespace {

// ---- kernels --------------------------------------------------------------------------------------

// grid (Tq, H): row i of head h sees keys [0, qPos0 + i].
__global__ void causalSoftmaxKernel(const float* scores, __half* probs, int Tq, int S, int qPos0, float* capture,
                                    int captureStride)
{
    __shared__ float scratch[32];
    const int i = blockIdx.x, h = blockIdx.y;
    const size_t rowAt = (size_t(h) * Tq + i) * S;
    const float* row = scores + rowAt;
    __half* prow = probs + rowAt;
    const int visible = min(S, qPos0 + i + 1);
    float m = -INFINITY;
    for (int k = threadIdx.x; k < visible; k += blockDim.x)
        m = fmaxf(m, row[k]);
    m = blockMax(m, scratch);
    float s = 0.0f;
    for (int k = threadIdx.x; k < visible; k += blockDim.x)
        s += expf(row[k] - m);
    const float inv = 1.0f / blockSum(s, scratch);
    float* crow = capture ? capture + (size_t(h) * Tq + i) * captureStride : nullptr;
    for (int k = threadIdx.x; k < S; k += blockDim.x) {
        const float p = k < visible ? expf(row[k] - m) * inv : 0.0f;
        prow[k] = __float2half(p);
        if (crow)
            crow[k] = p;
    }
    if (crow)
        for (int k = S + threadIdx.x; k < captureStride; k += blockDim.x)
            crow[k] = 0.0f;
}

} // namespace

// ---- launchers ------------------------------------------------------------------------------------

void attentionPrefill(__half* out, const __half* q, const __half* keys, const __half* values, int Tq, int qPos0,
                      int nHeads, int kvHeads, int headDim, float* scores, __half* probs, float* capture,
                      int captureStride, const GemmContext& ctx)
{
    if (Tq <= 0)
        return;
    const CublasApi& api = cublasApi();
    const int H = nHeads, D = headDim, G = nHeads / kvHeads;
    const int S = qPos0 + Tq;
    const long long rowsPerHead = (long long)Tq * S;
    const float scale = float(1.0 / std::sqrt(double(D))), one = 1.0f, zero = 0.0f;

    // scores (h, i, s) = scale * q(i, h) · k(g, s): column-major (S, Tq) per head = K_g (S, D) · Q_hᵀ (D, Tq).
    // K_g row-major (S, D) is column-major (D, S) with ld D -> OP_T; Q_h is column-major (D, Tq), ld H*D.
    for (int g = 0; g < kvHeads; ++g) {
        CUBLAS_CHECK(api.gemmStridedBatchedEx(
            ctx.cublas, CUBLAS_OP_T, CUBLAS_OP_N, S, Tq, D, &scale, keys + size_t(g) * S * D, CUDA_R_16F, D, 0,
            q + size_t(g) * G * D, CUDA_R_16F, H * D, D, &zero, scores + size_t(g) * G * rowsPerHead, CUDA_R_32F, S,
            rowsPerHead, G, CUBLAS_COMPUTE_32F, CUBLAS_GEMM_DEFAULT));
    }
    causalSoftmaxKernel<<<dim3(unsigned(Tq), unsigned(H)), 256, 0, ctx.stream>>>(scores, probs, Tq, S, qPos0,
                                                                                 capture, captureStride);
    CUDA_CHECK_LAUNCH();
    // out (i, h*D + d) = Σ_s p(h, i, s) v(g, s, d): column-major (D, Tq) = V_g (D, S) · P_h (S, Tq).
    for (int g = 0; g < kvHeads; ++g) {
        CUBLAS_CHECK(api.gemmStridedBatchedEx(
            ctx.cublas, CUBLAS_OP_N, CUBLAS_OP_N, D, Tq, S, &one, values + size_t(g) * S * D, CUDA_R_16F, D, 0,
            probs + size_t(g) * G * rowsPerHead, CUDA_R_16F, S, rowsPerHead, &zero, out + size_t(g) * G * D,
            CUDA_R_16F, H * D, D, G, CUBLAS_COMPUTE_32F, CUBLAS_GEMM_DEFAULT));
    }
}

} // namespace logitscope::gpu
