// matmul / matmulMany: out (T, N) fp32 = x (T, K) fp16 · wᵀ (+ bias) (+= out with accumulate).
// Twin of ops::matmul / ops::matmulMany. Small T (decode, up to kGemvMaxRows rows): a mat-vec kernel,
// one warp per weight row reading the row once with 16-byte loads for all T input rows; larger T:
// cuBLAS GemmEx, fp16 inputs, fp32 output and CUBLAS_COMPUTE_32F. bench_cuda compares the two.
// matmulSiluMul fuses the SwiGLU gate/up pair and the activation into one mat-vec launch.
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

} // namespace

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
