// matmul / matmulMany: out (T, N) fp32 = x (T, K) fp16 · wᵀ (+ bias) (+= out with accumulate).
// Twin of ops::matmul / ops::matmulMany. Small T (decode, up to kGemvMaxRows rows): a mat-vec kernel,
// one warp per weight row reading the row once with 16-byte loads for all T input rows; larger T:
// cuBLAS GemmEx, fp16 inputs, fp32 output and CUBLAS_COMPUTE_32F. bench_cuda compares the two.
// matmulSiluMul fuses the SwiGLU gate/up pair and the activation into one mat-vec launch;
// matmulManyRmsNorm / matmulSiluMulRmsNorm also fold the preceding RMSNorm into the mat-vec (decode).
#include "cublas_loader.h"
#include "cuda_common.cuh"
#include "gpu_ops.h"

#include <cstdint>

namespace logitscope::gpu {

namespace {

constexpr int kGemvWarps = 8;   // rows per block
constexpr int kGemvUnroll = 4;  // 16-byte weight loads in flight per lane
constexpr int kMaxJobs = 3;

// Up to three matrices with the same K, their rows concatenated over the grid.
struct GemvJobs {
    float* out[kMaxJobs] = {};
    const __half* w[kMaxJobs] = {};
    const float* bias[kMaxJobs] = {};
    int rowEnd[kMaxJobs] = {}; // cumulative row counts
    int count = 0;
    int totalRows = 0;
    int K = 0;
    bool accumulate = false;
};

// ---- kernels --------------------------------------------------------------------------------------

// Picks the job holding grid row `row` without indexing the parameter arrays dynamically.
struct JobRow {
    float* out;
    const __half* w;
    const float* bias;
    int r, N;
};

__device__ __forceinline__ JobRow findRow(const GemvJobs& jobs, int row)
{
    if (row < jobs.rowEnd[0])
        return {jobs.out[0], jobs.w[0], jobs.bias[0], row, jobs.rowEnd[0]};
    if (jobs.count < 3 || row < jobs.rowEnd[1])
        return {jobs.out[1], jobs.w[1], jobs.bias[1], row - jobs.rowEnd[0], jobs.rowEnd[1] - jobs.rowEnd[0]};
    return {jobs.out[2], jobs.w[2], jobs.bias[2], row - jobs.rowEnd[1], jobs.rowEnd[2] - jobs.rowEnd[1]};
}

template <int B>
__device__ __forceinline__ void gemvStore(const GemvJobs& jobs, const JobRow& jr, float (&acc)[B])
{
#pragma unroll
    for (int b = 0; b < B; ++b)
        acc[b] = warpSum(acc[b]);
    if ((threadIdx.x & 31) == 0) {
        const float bias = jr.bias ? jr.bias[jr.r] : 0.0f;
#pragma unroll
        for (int b = 0; b < B; ++b) {
            float* o = jr.out + size_t(b) * jr.N + jr.r;
            *o = (jobs.accumulate ? *o : 0.0f) + acc[b] + bias;
        }
    }
}

// K % 8 == 0 and 16-byte aligned rows: each lane reads 8 halves at a time.
template <int B>
__global__ void __launch_bounds__(kGemvWarps * 32) gemvKernel(GemvJobs jobs, const __half* x)
{
    const int row = blockIdx.x * kGemvWarps + (threadIdx.x >> 5);
    const int lane = threadIdx.x & 31;
    if (row >= jobs.totalRows)
        return;
    const JobRow jr = findRow(jobs, row);
    const int K = jobs.K, groups = K / 8;
    const uint4* wr = reinterpret_cast<const uint4*>(jr.w + size_t(jr.r) * K);
    float acc[B];
#pragma unroll
    for (int b = 0; b < B; ++b)
        acc[b] = 0.0f;
    for (int g0 = lane; g0 < groups; g0 += 32 * kGemvUnroll) {
        uint4 wv[kGemvUnroll];
#pragma unroll
        for (int u = 0; u < kGemvUnroll; ++u) {
            const int g = g0 + u * 32;
            wv[u] = g < groups ? __ldg(wr + g) : make_uint4(0, 0, 0, 0);
        }
#pragma unroll
        for (int u = 0; u < kGemvUnroll; ++u) {
            const int g = g0 + u * 32;
            if (g < groups) {
                const __half2* wh = reinterpret_cast<const __half2*>(&wv[u]);
                float2 wf[4];
#pragma unroll
                for (int i = 0; i < 4; ++i)
                    wf[i] = __half22float2(wh[i]);
#pragma unroll
                for (int b = 0; b < B; ++b) {
                    const uint4 xv = __ldg(reinterpret_cast<const uint4*>(x + size_t(b) * K) + g);
                    const __half2* xh = reinterpret_cast<const __half2*>(&xv);
#pragma unroll
                    for (int i = 0; i < 4; ++i) {
                        const float2 xf = __half22float2(xh[i]);
                        acc[b] = fmaf(wf[i].x, xf.x, acc[b]);
                        acc[b] = fmaf(wf[i].y, xf.y, acc[b]);
                    }
                }
            }
        }
    }
    gemvStore<B>(jobs, jr, acc);
}

// Any K and alignment: one half at a time.
template <int B>
__global__ void __launch_bounds__(kGemvWarps * 32) gemvScalarKernel(GemvJobs jobs, const __half* x)
{
    const int row = blockIdx.x * kGemvWarps + (threadIdx.x >> 5);
    const int lane = threadIdx.x & 31;
    if (row >= jobs.totalRows)
        return;
    const JobRow jr = findRow(jobs, row);
    const int K = jobs.K;
    const __half* wr = jr.w + size_t(jr.r) * K;
    float acc[B];
#pragma unroll
    for (int b = 0; b < B; ++b)
        acc[b] = 0.0f;
    for (int k = lane; k < K; k += 32) {
        const float wv = __half2float(wr[k]);
#pragma unroll
        for (int b = 0; b < B; ++b)
            acc[b] = fmaf(wv, __half2float(x[size_t(b) * K + k]), acc[b]);
    }
    gemvStore<B>(jobs, jr, acc);
}

// SwiGLU fused into the mat-vec: one warp per row pair (gate row r, up row r), out = silu(g) * (u + bias).
template <int B>
__global__ void __launch_bounds__(kGemvWarps * 32)
    gemvSiluMulKernel(__half* out, const __half* gate, const __half* up, const float* upBias, const __half* x, int N,
                      int K)
{
    constexpr int U = kGemvUnroll / 2; // two rows: the same bytes in flight as the plain kernel
    const int row = blockIdx.x * kGemvWarps + (threadIdx.x >> 5);
    const int lane = threadIdx.x & 31;
    if (row >= N)
        return;
    const int groups = K / 8;
    const uint4* gr = reinterpret_cast<const uint4*>(gate + size_t(row) * K);
    const uint4* ur = reinterpret_cast<const uint4*>(up + size_t(row) * K);
    float accG[B], accU[B];
#pragma unroll
    for (int b = 0; b < B; ++b) {
        accG[b] = 0.0f;
        accU[b] = 0.0f;
    }
    for (int g0 = lane; g0 < groups; g0 += 32 * U) {
        uint4 gv[U], uv[U];
#pragma unroll
        for (int u = 0; u < U; ++u) {
            const int g = g0 + u * 32;
            gv[u] = g < groups ? __ldg(gr + g) : make_uint4(0, 0, 0, 0);
            uv[u] = g < groups ? __ldg(ur + g) : make_uint4(0, 0, 0, 0);
        }
#pragma unroll
        for (int u = 0; u < U; ++u) {
            const int g = g0 + u * 32;
            if (g < groups) {
                const __half2* gh = reinterpret_cast<const __half2*>(&gv[u]);
                const __half2* uh = reinterpret_cast<const __half2*>(&uv[u]);
                float2 gf[4], uf[4];
#pragma unroll
                for (int i = 0; i < 4; ++i) {
                    gf[i] = __half22float2(gh[i]);
                    uf[i] = __half22float2(uh[i]);
                }
#pragma unroll
                for (int b = 0; b < B; ++b) {
                    const uint4 xv = __ldg(reinterpret_cast<const uint4*>(x + size_t(b) * K) + g);
                    const __half2* xh = reinterpret_cast<const __half2*>(&xv);
#pragma unroll
                    for (int i = 0; i < 4; ++i) {
                        const float2 xf = __half22float2(xh[i]);
                        accG[b] = fmaf(gf[i].x, xf.x, accG[b]);
                        accG[b] = fmaf(gf[i].y, xf.y, accG[b]);
                        accU[b] = fmaf(uf[i].x, xf.x, accU[b]);
                        accU[b] = fmaf(uf[i].y, xf.y, accU[b]);
                    }
                }
            }
        }
    }
#pragma unroll
    for (int b = 0; b < B; ++b) {
        accG[b] = warpSum(accG[b]);
        accU[b] = warpSum(accU[b]);
    }
    if (lane == 0) {
        const float bias = upBias ? upBias[row] : 0.0f;
#pragma unroll
        for (int b = 0; b < B; ++b) {
            const float g = accG[b];
            out[size_t(b) * N + row] = __float2half(g / (1.0f + expf(-g)) * (accU[b] + bias));
        }
    }
}

// ---- RMSNorm fused into the mat-vec (decode): x (B, K) fp32 residual rows, nw (K) the norm weight ----
// out row = rsqrt(mean(x²) + eps) · Σ_k w_k (nw_k x_k). Every warp reads the whole of its x rows anyway, so
// the sum of squares costs no extra pass; the normed input is never rounded to fp16.

// Eight consecutive fp32 values from a 16-byte aligned address.
__device__ __forceinline__ void load8(float (&v)[8], const float* p)
{
    const float4 a = __ldg(reinterpret_cast<const float4*>(p));
    const float4 b = __ldg(reinterpret_cast<const float4*>(p) + 1);
    v[0] = a.x; v[1] = a.y; v[2] = a.z; v[3] = a.w;
    v[4] = b.x; v[5] = b.y; v[6] = b.z; v[7] = b.w;
}

// ss (B) partial sums of squares of this lane: every lane ends with the row's 1 / rms.
template <int B>
__device__ __forceinline__ void rmsScale(float (&ss)[B], int K, float eps)
{
#pragma unroll
    for (int b = 0; b < B; ++b)
        ss[b] = rsqrtf(warpSum(ss[b]) / float(K) + eps);
}

// K % 8 == 0, x / nw / weight rows 16-byte aligned. x must not alias any job's output.
template <int B>
__global__ void __launch_bounds__(kGemvWarps * 32)
    gemvRmsNormKernel(GemvJobs jobs, const float* __restrict__ x, const float* __restrict__ nw, float eps)
{
    const int row = blockIdx.x * kGemvWarps + (threadIdx.x >> 5);
    const int lane = threadIdx.x & 31;
    if (row >= jobs.totalRows)
        return;
    const JobRow jr = findRow(jobs, row);
    const int K = jobs.K, groups = K / 8;
    const uint4* wr = reinterpret_cast<const uint4*>(jr.w + size_t(jr.r) * K);
    float acc[B], ss[B];
#pragma unroll
    for (int b = 0; b < B; ++b) {
        acc[b] = 0.0f;
        ss[b] = 0.0f;
    }
    for (int g0 = lane; g0 < groups; g0 += 32 * kGemvUnroll) {
        uint4 wv[kGemvUnroll];
#pragma unroll
        for (int u = 0; u < kGemvUnroll; ++u) {
            const int g = g0 + u * 32;
            wv[u] = g < groups ? __ldg(wr + g) : make_uint4(0, 0, 0, 0);
        }
#pragma unroll
        for (int u = 0; u < kGemvUnroll; ++u) {
            const int g = g0 + u * 32;
            if (g < groups) {
                const __half2* wh = reinterpret_cast<const __half2*>(&wv[u]);
                float wf[8], nf[8];
#pragma unroll
                for (int i = 0; i < 4; ++i) {
                    const float2 f = __half22float2(wh[i]);
                    wf[2 * i] = f.x;
                    wf[2 * i + 1] = f.y;
                }
                load8(nf, nw + size_t(g) * 8);
#pragma unroll
                for (int b = 0; b < B; ++b) {
                    float xf[8];
                    load8(xf, x + size_t(b) * K + size_t(g) * 8);
#pragma unroll
                    for (int i = 0; i < 8; ++i) {
                        ss[b] = fmaf(xf[i], xf[i], ss[b]);
                        acc[b] = fmaf(wf[i], nf[i] * xf[i], acc[b]);
                    }
                }
            }
        }
    }
    rmsScale<B>(ss, K, eps);
#pragma unroll
    for (int b = 0; b < B; ++b)
        acc[b] *= ss[b];
    gemvStore<B>(jobs, jr, acc);
}

// SwiGLU over the normed input: out = silu(g) * (u + bias) with g, u the gate/up rows times rmsnorm(x).
template <int B>
__global__ void __launch_bounds__(kGemvWarps * 32)
    gemvRmsNormSiluMulKernel(__half* out, const __half* gate, const __half* up, const float* upBias,
                             const float* __restrict__ x, const float* __restrict__ nw, float eps, int N, int K)
{
    constexpr int U = kGemvUnroll / 2;
    const int row = blockIdx.x * kGemvWarps + (threadIdx.x >> 5);
    const int lane = threadIdx.x & 31;
    if (row >= N)
        return;
    const int groups = K / 8;
    const uint4* gr = reinterpret_cast<const uint4*>(gate + size_t(row) * K);
    const uint4* ur = reinterpret_cast<const uint4*>(up + size_t(row) * K);
    float accG[B], accU[B], ss[B];
#pragma unroll
    for (int b = 0; b < B; ++b) {
        accG[b] = 0.0f;
        accU[b] = 0.0f;
        ss[b] = 0.0f;
    }
    for (int g0 = lane; g0 < groups; g0 += 32 * U) {
        uint4 gv[U], uv[U];
#pragma unroll
        for (int u = 0; u < U; ++u) {
            const int g = g0 + u * 32;
            gv[u] = g < groups ? __ldg(gr + g) : make_uint4(0, 0, 0, 0);
            uv[u] = g < groups ? __ldg(ur + g) : make_uint4(0, 0, 0, 0);
        }
#pragma unroll
        for (int u = 0; u < U; ++u) {
            const int g = g0 + u * 32;
            if (g < groups) {
                const __half2* gh = reinterpret_cast<const __half2*>(&gv[u]);
                const __half2* uh = reinterpret_cast<const __half2*>(&uv[u]);
                float gf[8], uf[8], nf[8];
#pragma unroll
                for (int i = 0; i < 4; ++i) {
                    const float2 a = __half22float2(gh[i]), c = __half22float2(uh[i]);
                    gf[2 * i] = a.x;
                    gf[2 * i + 1] = a.y;
                    uf[2 * i] = c.x;
                    uf[2 * i + 1] = c.y;
                }
                load8(nf, nw + size_t(g) * 8);
#pragma unroll
                for (int b = 0; b < B; ++b) {
                    float xf[8];
                    load8(xf, x + size_t(b) * K + size_t(g) * 8);
#pragma unroll
                    for (int i = 0; i < 8; ++i) {
                        const float xn = nf[i] * xf[i];
                        ss[b] = fmaf(xf[i], xf[i], ss[b]);
                        accG[b] = fmaf(gf[i], xn, accG[b]);
                        accU[b] = fmaf(uf[i], xn, accU[b]);
                    }
                }
            }
        }
    }
    rmsScale<B>(ss, K, eps);
#pragma unroll
    for (int b = 0; b < B; ++b) {
        accG[b] = warpSum(accG[b]) * ss[b];
        accU[b] = warpSum(accU[b]) * ss[b];
    }
    if (lane == 0) {
        const float bias = upBias ? upBias[row] : 0.0f;
#pragma unroll
        for (int b = 0; b < B; ++b) {
            const float g = accG[b];
            out[size_t(b) * N + row] = __float2half(g / (1.0f + expf(-g)) * (accU[b] + bias));
        }
    }
}

// out (T, N) += bias (N)
__global__ void addBiasKernel(float* out, const float* bias, int N, long long total)
{
    const long long i = (long long)blockIdx.x * blockDim.x + threadIdx.x;
    if (i < total)
        out[i] += bias[i % N];
}

// ---- launchers ------------------------------------------------------------------------------------

bool aligned16(const void* p) { return (reinterpret_cast<uintptr_t>(p) & 15) == 0; }

template <int B>
void launchGemv(const GemvJobs& jobs, const __half* x, bool vectorised, cudaStream_t stream)
{
    const int rows = jobs.totalRows;
    const unsigned blocks = unsigned(ceilDiv(rows, kGemvWarps));
    if (vectorised)
        gemvKernel<B><<<blocks, kGemvWarps * 32, 0, stream>>>(jobs, x);
    else
        gemvScalarKernel<B><<<blocks, kGemvWarps * 32, 0, stream>>>(jobs, x);
    CUDA_CHECK_LAUNCH();
}

void gemv(const GemvJobs& jobs, const __half* x, int T, cudaStream_t stream)
{
    bool vectorised = jobs.K % 8 == 0 && aligned16(x);
    for (int j = 0; j < jobs.count; ++j)
        vectorised = vectorised && aligned16(jobs.w[j]);
    switch (T) {
    case 1: launchGemv<1>(jobs, x, vectorised, stream); break;
    case 2: launchGemv<2>(jobs, x, vectorised, stream); break;
    case 3: launchGemv<3>(jobs, x, vectorised, stream); break;
    default: launchGemv<4>(jobs, x, vectorised, stream); break;
    }
}

void gemm(float* out, const __half* x, const DeviceMatrix& w, const float* bias, int T, const GemmContext& ctx,
          bool accumulate)
{
    const CublasApi& api = cublasApi();
    const float alpha = 1.0f, beta = accumulate ? 1.0f : 0.0f;
    // Row-major out (T, N) = x (T, K) wᵀ is column-major outᵀ (N, T) = w (N, K) · xᵀ (K, T):
    // w row-major (N, K) is column-major (K, N) with ld K, hence OP_T.
    CUBLAS_CHECK(api.gemmEx(ctx.cublas, CUBLAS_OP_T, CUBLAS_OP_N, w.rows, T, w.cols, &alpha, w.data, CUDA_R_16F,
                            w.cols, x, CUDA_R_16F, w.cols, &beta, out, CUDA_R_32F, w.rows, CUBLAS_COMPUTE_32F,
                            CUBLAS_GEMM_DEFAULT));
    if (bias) {
        const long long total = (long long)T * w.rows;
        addBiasKernel<<<unsigned(ceilDiv(total, 256)), 256, 0, ctx.stream>>>(out, bias, w.rows, total);
        CUDA_CHECK_LAUNCH();
    }
}

// The fused kernels need K % 8 == 0 and 16-byte aligned x, norm weight and weight rows.
bool rmsNormFusable(const float* x, const float* normWeight, int K, int T, const GemmContext& ctx)
{
    return ctx.gemv && T >= 1 && T <= kGemvMaxRows && K % 8 == 0 && aligned16(x) && aligned16(normWeight);
}

} // namespace

void matmulManyRmsNorm(std::span<const MatmulJob> jobs, const float* x, const float* normWeight, float eps,
                       __half* xbScratch, int T, const GemmContext& ctx)
{
    if (jobs.empty() || T <= 0)
        return;
    const int K = jobs[0].w->cols;
    bool fused = rmsNormFusable(x, normWeight, K, T, ctx) && jobs.size() <= size_t(kMaxJobs);
    for (const MatmulJob& j : jobs)
        fused = fused && j.w->cols == K && aligned16(j.w->data) && j.out != x;
    if (!fused) {
        rmsnorm(xbScratch, x, normWeight, K, eps, ctx.stream, T);
        matmulMany(jobs, xbScratch, T, ctx);
        return;
    }
    GemvJobs g;
    int rows = 0;
    for (const MatmulJob& j : jobs) {
        g.out[g.count] = j.out;
        g.w[g.count] = j.w->data;
        g.bias[g.count] = j.bias;
        rows += j.w->rows;
        g.rowEnd[g.count] = rows;
        ++g.count;
    }
    g.totalRows = rows;
    g.K = K;
    const unsigned blocks = unsigned(ceilDiv(rows, kGemvWarps));
    switch (T) {
    case 1: gemvRmsNormKernel<1><<<blocks, kGemvWarps * 32, 0, ctx.stream>>>(g, x, normWeight, eps); break;
    case 2: gemvRmsNormKernel<2><<<blocks, kGemvWarps * 32, 0, ctx.stream>>>(g, x, normWeight, eps); break;
    case 3: gemvRmsNormKernel<3><<<blocks, kGemvWarps * 32, 0, ctx.stream>>>(g, x, normWeight, eps); break;
    default: gemvRmsNormKernel<4><<<blocks, kGemvWarps * 32, 0, ctx.stream>>>(g, x, normWeight, eps); break;
    }
    CUDA_CHECK_LAUNCH();
}

void matmulSiluMulRmsNorm(__half* out, const float* x, const float* normWeight, float eps, __half* xbScratch,
                          const DeviceMatrix& gate, const DeviceMatrix& up, const float* upBias, int T,
                          const GemmContext& ctx, float* gateScratch, float* upScratch)
{
    if (T <= 0)
        return;
    const int N = gate.rows, K = gate.cols;
    const bool fused = rmsNormFusable(x, normWeight, K, T, ctx) && up.rows == N && up.cols == K &&
                       aligned16(gate.data) && aligned16(up.data);
    if (!fused) {
        rmsnorm(xbScratch, x, normWeight, K, eps, ctx.stream, T);
        matmulSiluMul(out, xbScratch, gate, up, upBias, T, ctx, gateScratch, upScratch);
        return;
    }
    const unsigned blocks = unsigned(ceilDiv(N, kGemvWarps));
    const __half* g = gate.data;
    const __half* u = up.data;
    switch (T) {
    case 1: gemvRmsNormSiluMulKernel<1><<<blocks, kGemvWarps * 32, 0, ctx.stream>>>(out, g, u, upBias, x, normWeight, eps, N, K); break;
    case 2: gemvRmsNormSiluMulKernel<2><<<blocks, kGemvWarps * 32, 0, ctx.stream>>>(out, g, u, upBias, x, normWeight, eps, N, K); break;
    case 3: gemvRmsNormSiluMulKernel<3><<<blocks, kGemvWarps * 32, 0, ctx.stream>>>(out, g, u, upBias, x, normWeight, eps, N, K); break;
    default: gemvRmsNormSiluMulKernel<4><<<blocks, kGemvWarps * 32, 0, ctx.stream>>>(out, g, u, upBias, x, normWeight, eps, N, K); break;
    }
    CUDA_CHECK_LAUNCH();
}

void matmul(float* out, const __half* x, const DeviceMatrix& w, const float* bias, int T, const GemmContext& ctx,
            bool accumulate)
{
    if (T <= 0 || w.rows <= 0)
        return;
    if (ctx.gemv && T <= kGemvMaxRows) {
        GemvJobs jobs;
        jobs.out[0] = out;
        jobs.w[0] = w.data;
        jobs.bias[0] = bias;
        jobs.rowEnd[0] = w.rows;
        jobs.count = 1;
        jobs.totalRows = w.rows;
        jobs.K = w.cols;
        jobs.accumulate = accumulate;
        gemv(jobs, x, T, ctx.stream);
        return;
    }
    gemm(out, x, w, bias, T, ctx, accumulate);
}

void matmulSiluMul(__half* out, const __half* x, const DeviceMatrix& gate, const DeviceMatrix& up, const float* upBias,
                   int T, const GemmContext& ctx, float* gateScratch, float* upScratch)
{
    if (T <= 0)
        return;
    const bool fused = ctx.gemv && T <= kGemvMaxRows && gate.rows == up.rows && gate.cols == up.cols &&
                       gate.cols % 8 == 0 && aligned16(x) && aligned16(gate.data) && aligned16(up.data);
    if (!fused) {
        const MatmulJob jobs[2] = {{gateScratch, &gate, nullptr}, {upScratch, &up, upBias}};
        matmulMany(jobs, x, T, ctx);
        siluMul(out, gateScratch, upScratch, T * gate.rows, ctx.stream);
        return;
    }
    const unsigned blocks = unsigned(ceilDiv(gate.rows, kGemvWarps));
    const int N = gate.rows, K = gate.cols;
    switch (T) {
    case 1: gemvSiluMulKernel<1><<<blocks, kGemvWarps * 32, 0, ctx.stream>>>(out, gate.data, up.data, upBias, x, N, K); break;
    case 2: gemvSiluMulKernel<2><<<blocks, kGemvWarps * 32, 0, ctx.stream>>>(out, gate.data, up.data, upBias, x, N, K); break;
    case 3: gemvSiluMulKernel<3><<<blocks, kGemvWarps * 32, 0, ctx.stream>>>(out, gate.data, up.data, upBias, x, N, K); break;
    default: gemvSiluMulKernel<4><<<blocks, kGemvWarps * 32, 0, ctx.stream>>>(out, gate.data, up.data, upBias, x, N, K); break;
    }
    CUDA_CHECK_LAUNCH();
}

void matmulMany(std::span<const MatmulJob> jobs, const __half* x, int T, const GemmContext& ctx)
{
    if (jobs.empty() || T <= 0)
        return;
    bool together = ctx.gemv && T <= kGemvMaxRows && jobs.size() <= size_t(kMaxJobs);
    for (const MatmulJob& j : jobs)
        together = together && j.w->cols == jobs[0].w->cols;
    if (!together) {
        for (const MatmulJob& j : jobs)
            matmul(j.out, x, *j.w, j.bias, T, ctx);
        return;
    }
    GemvJobs g;
    int rows = 0;
    for (const MatmulJob& j : jobs) {
        g.out[g.count] = j.out;
        g.w[g.count] = j.w->data;
        g.bias[g.count] = j.bias;
        rows += j.w->rows;
        g.rowEnd[g.count] = rows;
        ++g.count;
    }
    g.totalRows = rows;
    g.K = jobs[0].w->cols;
    gemv(g, x, T, ctx.stream);
}

} // namespace logitscope::gpu
