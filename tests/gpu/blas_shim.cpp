// The two OpenBLAS entry points the engine calls (cblas_sgemm, openblas_set_num_threads), written out
// so the GPU test binaries carry no OpenBLAS: the device host has none, and its static archive would
// add ~25 MiB to each binary. Plain loops with fp32 accumulation, correct for any order/transpose;
// fast enough for the small CPU reference models the GPU tests compare against.
#include <cblas.h>

#include <cstddef>

namespace {

// C (M, N) = alpha * op(A) op(B) + beta * C, everything row-major.
void gemmRowMajor(bool transA, bool transB, int M, int N, int K, float alpha, const float* A, int lda,
                  const float* B, int ldb, float beta, float* C, int ldc)
{
    for (int i = 0; i < M; ++i) {
        float* c = C + size_t(i) * ldc;
        for (int j = 0; j < N; ++j)
            c[j] = beta == 0.0f ? 0.0f : beta * c[j];
        if (!transA && transB) { // rows of A against rows of B: contiguous dot products
            const float* a = A + size_t(i) * lda;
            for (int j = 0; j < N; ++j) {
                const float* b = B + size_t(j) * ldb;
                float acc[8] = {0, 0, 0, 0, 0, 0, 0, 0};
                int k = 0;
                for (; k + 8 <= K; k += 8)
                    for (int u = 0; u < 8; ++u)
                        acc[u] += a[k + u] * b[k + u];
                float s = 0.0f;
                for (; k < K; ++k)
                    s += a[k] * b[k];
                s += ((acc[0] + acc[1]) + (acc[2] + acc[3])) + ((acc[4] + acc[5]) + (acc[6] + acc[7]));
                c[j] += alpha * s;
            }
        } else if (!transA && !transB) { // c += a[k] * row k of B
            const float* a = A + size_t(i) * lda;
            for (int k = 0; k < K; ++k) {
                const float s = alpha * a[k];
                const float* b = B + size_t(k) * ldb;
                for (int j = 0; j < N; ++j)
                    c[j] += s * b[j];
            }
        } else {
            for (int j = 0; j < N; ++j) {
                float s = 0.0f;
                for (int k = 0; k < K; ++k) {
                    const float a = transA ? A[size_t(k) * lda + i] : A[size_t(i) * lda + k];
                    const float b = transB ? B[size_t(j) * ldb + k] : B[size_t(k) * ldb + j];
                    s += a * b;
                }
                c[j] += alpha * s;
            }
        }
    }
}

} // namespace

extern "C" {

void cblas_sgemm(const enum CBLAS_ORDER order, const enum CBLAS_TRANSPOSE transA, const enum CBLAS_TRANSPOSE transB,
                 const blasint M, const blasint N, const blasint K, const float alpha, const float* A, const blasint lda,
                 const float* B, const blasint ldb, const float beta, float* C, const blasint ldc)
{
    const bool ta = transA != CblasNoTrans, tb = transB != CblasNoTrans;
    if (order == CblasRowMajor)
        gemmRowMajor(ta, tb, int(M), int(N), int(K), alpha, A, int(lda), B, int(ldb), beta, C, int(ldc));
    else // column-major C = op(A) op(B) is row-major Cᵀ = op(B)ᵀ op(A)ᵀ
        gemmRowMajor(tb, ta, int(N), int(M), int(K), alpha, B, int(ldb), A, int(lda), beta, C, int(ldc));
}

void openblas_set_num_threads(int) {}

} // extern "C"
