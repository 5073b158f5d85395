// Op parity: every CUDA op against its CPU twin (engine/model/ops.h) or, for the ops without one
// (paged KV, attention, top-k), against a plain double-precision loop here. A table of cases, each
// with its own NMSE limit (5e-4 for fp16 matmuls and attention, 1e-6 for fp32 softmax, ...).
// `--quick` runs a smaller table (for compute-sanitizer). Exit 77 without a device.
#include "gpu_test_support.h"

#include "cublas_loader.h"
#include "gpu_ops.h"

#include "model/ops.h"

#include <cstring>
#include <functional>
#include <numeric>
#include <string>

using namespace logitscope;
using namespace logitscope::test;
namespace g = logitscope::gpu;

namespace {

struct Case {
    std::string name;
    double limit;                 // largest acceptable error
    std::function<double()> run;  // returns the error (NMSE unless the name says otherwise)
};

cudaStream_t gStream = nullptr;
g::GemmContext gGemm;

// ---- norms, rope, activations, softmax ------------------------------------------------------------

double caseRmsnorm(int rows, int n, uint32_t seed)
{
    std::mt19937 rng(seed);
    const auto x = randomFloats(size_t(rows) * n, rng, -3, 3), w = randomFloats(size_t(n), rng, 0.5f, 1.5f);
    std::vector<float> want(x.size());
    for (int r = 0; r < rows; ++r)
        ops::rmsnorm(&want[size_t(r) * n], &x[size_t(r) * n], w.data(), n, 1e-5f);
    DeviceArray<float> dx(x), dw(w);
    DeviceArray<uint16_t> out(x.size());
    g::rmsnorm(reinterpret_cast<__half*>(out.get()), dx.get(), dw.get(), n, 1e-5f, gStream, rows);
    return nmse(fromHalf(out.download()), want);
}

double caseLayernorm(int rows, int n, uint32_t seed)
{
    std::mt19937 rng(seed);
    const auto x = randomFloats(size_t(rows) * n, rng, -3, 5), w = randomFloats(size_t(n), rng, 0.5f, 1.5f),
               b = randomFloats(size_t(n), rng);
    std::vector<float> want(x.size());
    for (int r = 0; r < rows; ++r)
        ops::layernorm(&want[size_t(r) * n], &x[size_t(r) * n], w.data(), b.data(), n, 1e-5f);
    DeviceArray<float> dx(x), dw(w), db(b);
    DeviceArray<uint16_t> out(x.size());
    g::layernorm(reinterpret_cast<__half*>(out.get()), dx.get(), dw.get(), db.get(), n, 1e-5f, gStream, rows);
    return nmse(fromHalf(out.download()), want);
}

double caseRope(int nHeads, int D, RopeLayout layout, RopeScaling scaling, float theta, std::vector<int32_t> pos)
{
    std::mt19937 rng(7);
    const int rows = int(pos.size());
    auto x = randomFloats(size_t(rows) * nHeads * D, rng);
    std::vector<float> invFreq(size_t(D / 2));
    ops::ropeFrequencies(invFreq.data(), D, theta, scaling);
    DeviceArray<float> dx(x), df(invFreq);
    DeviceArray<int32_t> dp(pos);
    g::rope(dx.get(), nHeads, D, dp.get(), df.get(), layout, gStream, rows);
    for (int r = 0; r < rows; ++r)
        ops::rope(&x[size_t(r) * nHeads * D], nHeads, D, pos[size_t(r)], invFreq.data(), layout);
    return nmse(dx.download(), x);
}

double caseSiluMul(int n)
{
    std::mt19937 rng(3);
    const auto a = randomFloats(size_t(n), rng, -6, 6), b = randomFloats(size_t(n), rng, -2, 2);
    std::vector<float> want(a.size());
    ops::siluMul(want.data(), a.data(), b.data(), n);
    DeviceArray<float> da(a), db(b);
    DeviceArray<uint16_t> out(a.size());
    g::siluMul(reinterpret_cast<__half*>(out.get()), da.get(), db.get(), n, gStream);
    return nmse(fromHalf(out.download()), want);
}

double caseGelu(int n)
{
    std::mt19937 rng(4);
    const auto a = randomFloats(size_t(n), rng, -6, 6);
    std::vector<float> want(a.size());
    ops::gelu(want.data(), a.data(), n);
    DeviceArray<float> da(a);
    DeviceArray<uint16_t> out(a.size());
    g::gelu(reinterpret_cast<__half*>(out.get()), da.get(), n, gStream);
    return nmse(fromHalf(out.download()), want);
}

double caseSoftmax(int rows, int n)
{
    std::mt19937 rng(5);
    auto x = randomFloats(size_t(rows) * n, rng, -10, 10);
    DeviceArray<float> dx(x);
    g::softmax(dx.get(), n, gStream, rows);
    for (int r = 0; r < rows; ++r)
        ops::softmax(&x[size_t(r) * n], n);
    return nmse(dx.download(), x);
}

double caseAdd(int n)
{
    std::mt19937 rng(6);
    const auto a = randomFloats(size_t(n), rng), b = randomFloats(size_t(n), rng);
    std::vector<float> want(a.size());
    ops::add(want.data(), a.data(), b.data(), n);
    DeviceArray<float> da(a), db(b), out(a.size());
    g::add(out.get(), da.get(), db.get(), n, gStream);
    return nmse(out.download(), want);
}

double caseEmbedding(int V, int C, int T)
{
    std::mt19937 rng(8);
    const auto table = toHalf(randomFloats(size_t(V) * C, rng));
    const auto ids = randomIds(size_t(T), V, rng);
    TensorView tv;
    tv.name = "table";
    tv.type = DType::F16;
    tv.shape = {V, C};
    tv.data = table.data();
    tv.nbytes = table.size() * 2;
    std::vector<float> want(size_t(T) * C);
    ops::embeddingGather(want.data(), tv, ids.data(), T);
    DeviceArray<uint16_t> dt(table);
    DeviceArray<int32_t> di(ids);
    DeviceArray<float> out(want.size());
    g::embeddingGather(out.get(), g::DeviceMatrix{reinterpret_cast<const __half*>(dt.get()), V, C}, di.get(), T,
                       gStream);
    return nmse(out.download(), want);
}

// ---- matrix products -----------------------------------------------------------------------------

TensorView halfView(const std::vector<uint16_t>& w, int N, int K)
{
    TensorView tv;
    tv.name = "w";
    tv.type = DType::F16;
    tv.shape = {N, K};
    tv.data = w.data();
    tv.nbytes = w.size() * 2;
    return tv;
}

double caseMatmul(int T, int N, int K, bool bias, bool accumulate, bool gemv)
{
    std::mt19937 rng(uint32_t(T * 131 + N * 7 + K));
    const auto w = toHalf(randomFloats(size_t(N) * K, rng, -0.05f, 0.05f));
    const auto x = halfRounded(randomFloats(size_t(T) * K, rng));
    const auto b = randomFloats(size_t(N), rng);
    const auto base = randomFloats(size_t(T) * N, rng);
    std::vector<float> want(size_t(T) * N);
    const TensorView tv = halfView(w, N, K);
    ops::matmul(want.data(), x.data(), tv, bias ? b.data() : nullptr, T);
    if (accumulate)
        for (size_t i = 0; i < want.size(); ++i)
            want[i] += base[i];
    DeviceArray<uint16_t> dw(w), dx(toHalf(x));
    DeviceArray<float> db(b), out(base);
    g::GemmContext ctx = gGemm;
    ctx.gemv = gemv;
    g::matmul(out.get(), reinterpret_cast<const __half*>(dx.get()),
              g::DeviceMatrix{reinterpret_cast<const __half*>(dw.get()), N, K}, bias ? db.get() : nullptr, T, ctx,
              accumulate);
    return nmse(out.download(), want);
}

// q, k, v from one input in one launch; the error is the worst of the three.
double caseMatmulMany(int T, int K)
{
    std::mt19937 rng(99);
    const int Ns[3] = {512, 128, 128};
    const auto x = halfRounded(randomFloats(size_t(T) * K, rng));
    DeviceArray<uint16_t> dx(toHalf(x));
    std::vector<std::vector<uint16_t>> ws;
    std::vector<std::vector<float>> bs;
    for (int j = 0; j < 3; ++j) {
        ws.push_back(toHalf(randomFloats(size_t(Ns[j]) * K, rng, -0.05f, 0.05f)));
        bs.push_back(randomFloats(size_t(Ns[j]), rng));
    }
    DeviceArray<uint16_t> w0(ws[0]), w1(ws[1]), w2(ws[2]);
    DeviceArray<float> b0(bs[0]), b1(bs[1]), b2(bs[2]);
    DeviceArray<float> o0(size_t(T) * Ns[0]), o1(size_t(T) * Ns[1]), o2(size_t(T) * Ns[2]);
    const DeviceArray<uint16_t>* wd[3] = {&w0, &w1, &w2};
    const DeviceArray<float>* bd[3] = {&b0, &b1, &b2};
    DeviceArray<float>* od[3] = {&o0, &o1, &o2};
    g::DeviceMatrix m[3];
    g::MatmulJob jobs[3];
    for (int j = 0; j < 3; ++j) {
        m[j] = g::DeviceMatrix{reinterpret_cast<const __half*>(wd[j]->get()), Ns[j], K};
        jobs[j] = g::MatmulJob{od[j]->get(), &m[j], j == 1 ? nullptr : bd[j]->get()};
    }
    g::matmulMany(jobs, reinterpret_cast<const __half*>(dx.get()), T, gGemm);
    double worst = 0;
    for (int j = 0; j < 3; ++j) {
        std::vector<float> want(size_t(T) * Ns[j]);
        const TensorView tv = halfView(ws[size_t(j)], Ns[j], K);
        ops::matmul(want.data(), x.data(), tv, j == 1 ? nullptr : bs[size_t(j)].data(), T);
        worst = std::max(worst, nmse(od[j]->download(), want));
    }
    return worst;
}

// SwiGLU: silu(x gateᵀ) * (x upᵀ + bias), fused for T <= 4 with gemv, unfused otherwise.
double caseMatmulSiluMul(int T, int F, int K, bool gemv)
{
    std::mt19937 rng(uint32_t(T * 17 + F));
    const auto wg = toHalf(randomFloats(size_t(F) * K, rng, -0.05f, 0.05f));
    const auto wu = toHalf(randomFloats(size_t(F) * K, rng, -0.05f, 0.05f));
    const auto x = halfRounded(randomFloats(size_t(T) * K, rng));
    const auto b = randomFloats(size_t(F), rng);
    std::vector<float> gate(size_t(T) * F), up(size_t(T) * F), want(size_t(T) * F);
    ops::matmul(gate.data(), x.data(), halfView(wg, F, K), nullptr, T);
    ops::matmul(up.data(), x.data(), halfView(wu, F, K), b.data(), T);
    ops::siluMul(want.data(), gate.data(), up.data(), T * F);
    DeviceArray<uint16_t> dg(wg), du(wu), dx(toHalf(x)), out(want.size());
    DeviceArray<float> db(b), sg(want.size()), su(want.size());
    g::GemmContext ctx = gGemm;
    ctx.gemv = gemv;
    g::matmulSiluMul(reinterpret_cast<__half*>(out.get()), reinterpret_cast<const __half*>(dx.get()),
                     g::DeviceMatrix{reinterpret_cast<const __half*>(dg.get()), F, K},
                     g::DeviceMatrix{reinterpret_cast<const __half*>(du.get()), F, K}, db.get(), T, ctx, sg.get(),
                     su.get());
    return nmse(fromHalf(out.download()), want);
}

// RMSNorm folded into the mat-vec (decode) against ops::rmsnorm in fp32 then ops::matmul: q/k/v-like jobs
// (or one LM-head-like job) and SwiGLU. gemv off / T > 4: the rmsnorm + plain path. Error: worst NMSE.
double caseMatmulRmsNorm(int T, int K, std::vector<int> Ns, bool gemv, bool siluMul)
{
    std::mt19937 rng(uint32_t(T * 31 + K + int(Ns.size()) * 1000 + (siluMul ? 7 : 0)));
    const auto x = randomFloats(size_t(T) * K, rng, -3, 3), nw = randomFloats(size_t(K), rng, 0.5f, 1.5f);
    std::vector<float> xn(x.size());
    for (int t = 0; t < T; ++t)
        ops::rmsnorm(&xn[size_t(t) * K], &x[size_t(t) * K], nw.data(), K, 1e-5f);
    DeviceArray<float> dx(x), dnw(nw);
    DeviceArray<uint16_t> scratch(x.size());
    g::GemmContext ctx = gGemm;
    ctx.gemv = gemv;
    auto* xb = reinterpret_cast<__half*>(scratch.get());
    const int J = int(Ns.size());
    std::vector<std::vector<uint16_t>> ws;
    std::vector<std::vector<float>> bs;
    for (int j = 0; j < J; ++j) {
        ws.push_back(toHalf(randomFloats(size_t(Ns[size_t(j)]) * K, rng, -0.05f, 0.05f)));
        bs.push_back(randomFloats(size_t(Ns[size_t(j)]), rng));
    }
    std::vector<std::unique_ptr<DeviceArray<uint16_t>>> dws;
    std::vector<std::unique_ptr<DeviceArray<float>>> dbs, outs;
    std::vector<g::DeviceMatrix> m(static_cast<size_t>(J));
    for (int j = 0; j < J; ++j) {
        dws.push_back(std::make_unique<DeviceArray<uint16_t>>(ws[size_t(j)]));
        dbs.push_back(std::make_unique<DeviceArray<float>>(bs[size_t(j)]));
        m[size_t(j)] = g::DeviceMatrix{reinterpret_cast<const __half*>(dws.back()->get()), Ns[size_t(j)], K};
    }
    if (siluMul) { // jobs 0, 1: gate (no bias), up (bias)
        const int F = Ns[0];
        std::vector<float> gate(size_t(T) * F), up(size_t(T) * F), want(size_t(T) * F);
        ops::matmul(gate.data(), xn.data(), halfView(ws[0], F, K), nullptr, T);
        ops::matmul(up.data(), xn.data(), halfView(ws[1], F, K), bs[1].data(), T);
        ops::siluMul(want.data(), gate.data(), up.data(), T * F);
        DeviceArray<uint16_t> out(want.size());
        DeviceArray<float> sg(want.size()), su(want.size());
        g::matmulSiluMulRmsNorm(reinterpret_cast<__half*>(out.get()), dx.get(), dnw.get(), 1e-5f, xb, m[0], m[1],
                                dbs[1]->get(), T, ctx, sg.get(), su.get());
        return nmse(fromHalf(out.download()), want);
    }
    std::vector<g::MatmulJob> jobs;
    for (int j = 0; j < J; ++j) {
        outs.push_back(std::make_unique<DeviceArray<float>>(size_t(T) * Ns[size_t(j)]));
        jobs.push_back(g::MatmulJob{outs.back()->get(), &m[size_t(j)], j == 1 ? nullptr : dbs[size_t(j)]->get()});
    }
    g::matmulManyRmsNorm(jobs, dx.get(), dnw.get(), 1e-5f, xb, T, ctx);
    double worst = 0;
    for (int j = 0; j < J; ++j) {
        std::vector<float> want(size_t(T) * Ns[size_t(j)]);
        ops::matmul(want.data(), xn.data(), halfView(ws[size_t(j)], Ns[size_t(j)], K),
                    j == 1 ? nullptr : bs[size_t(j)].data(), T);
        worst = std::max(worst, nmse(outs[size_t(j)]->download(), want));
    }
    return worst;
}

// ---- paged KV cache and attention ----------------------------------------------------------------

// A paged cache with random contents and a random block order for each sequence.
struct PagedFixture {
    int L = 2, layer = 1, Hkv, D, blocks;
    std::vector<uint16_t> storage;           // (blocks, L, 2, Hkv, 16, D)
    std::vector<std::vector<int32_t>> tables; // per sequence
    size_t blockElems;

    PagedFixture(int kvHeads, int headDim, const std::vector<int>& lens, uint32_t seed) : Hkv(kvHeads), D(headDim)
    {
        std::mt19937 rng(seed);
        int total = 0;
        for (int len : lens)
            total += (len + 15) / 16;
        blocks = total + 3;
        blockElems = size_t(L) * 2 * Hkv * 16 * D;
        storage = toHalf(randomFloats(size_t(blocks) * blockElems, rng));
        std::vector<int32_t> ids(static_cast<size_t>(blocks));
        std::iota(ids.begin(), ids.end(), 0);
        std::shuffle(ids.begin(), ids.end(), rng);
        size_t next = 0;
        for (int len : lens) {
            std::vector<int32_t> t;
            for (int b = 0; b < (len + 15) / 16; ++b)
                t.push_back(ids[next++]);
            tables.push_back(t);
        }
    }
    g::PagedKvLayer view(__half* base) const
    {
        g::PagedKvLayer p;
        p.base = base;
        p.blockStride = blockElems;
        p.keyOffset = (size_t(layer) * 2 + 0) * Hkv * 16 * D;
        p.valueOffset = (size_t(layer) * 2 + 1) * Hkv * 16 * D;
        p.kvHeads = Hkv;
        p.headDim = D;
        return p;
    }
    float key(int seq, int h, int s, int d) const { return at(seq, 0, h, s, d); }
    float value(int seq, int h, int s, int d) const { return at(seq, 1, h, s, d); }
    float at(int seq, int kv, int h, int s, int d) const
    {
        const int block = tables[size_t(seq)][size_t(s / 16)];
        return fp16ToFp32(storage[size_t(block) * blockElems + ((size_t(layer) * 2 + kv) * Hkv + h) * 16 * D +
                                  size_t(s % 16) * D + d]);
    }
};

// One query row of head h over keys [0, S): the probabilities and the output (double precision).
void referenceRow(const PagedFixture& f, int seq, int h, int G, const float* q, int S, std::vector<double>& p,
                  std::vector<double>& o)
{
    const int kvh = h / G, D = f.D;
    p.assign(size_t(S), 0.0);
    double m = -1e300;
    for (int s = 0; s < S; ++s) {
        double dot = 0;
        for (int d = 0; d < D; ++d)
            dot += double(q[d]) * f.key(seq, kvh, s, d);
        p[size_t(s)] = dot / std::sqrt(double(D));
        m = std::max(m, p[size_t(s)]);
    }
    double sum = 0;
    for (double& x : p) {
        x = std::exp(x - m);
        sum += x;
    }
    for (double& x : p)
        x /= sum;
    o.assign(size_t(D), 0.0);
    for (int s = 0; s < S; ++s)
        for (int d = 0; d < D; ++d)
            o[size_t(d)] += p[size_t(s)] * f.value(seq, kvh, s, d);
}

// Decode attention over B sequences of lengths `lens`; `captureError` selects what is returned.
// With rope, the kernel rotates q at position len - 1 as it loads it (the reference rotates with ops::rope).
double caseAttentionDecode(int H, int Hkv, int D, std::vector<int> lens, int splits, bool captureError,
                           bool withRope = false, RopeLayout layout = RopeLayout::RotateHalf)
{
    const int B = int(lens.size()), G = H / Hkv;
    PagedFixture f(Hkv, D, lens, uint32_t(H * 1000 + D + B));
    std::mt19937 rng(11);
    const auto q = randomFloats(size_t(B) * H * D, rng, -2, 2);
    std::vector<float> invFreq(size_t(D / 2));
    ops::ropeFrequencies(invFreq.data(), D, 10000.0f, RopeScaling{});
    std::vector<float> qRef = q;
    if (withRope)
        for (int b = 0; b < B; ++b)
            ops::rope(&qRef[size_t(b) * H * D], H, D, lens[size_t(b)] - 1, invFreq.data(), layout);
    DeviceArray<float> dFreq(invFreq);
    const int maxBlocks = 64;
    std::vector<int32_t> tables(size_t(B) * maxBlocks, 0);
    for (int b = 0; b < B; ++b)
        std::copy(f.tables[size_t(b)].begin(), f.tables[size_t(b)].end(), tables.begin() + size_t(b) * maxBlocks);
    const int stride = 1024;
    DeviceArray<uint16_t> kv(f.storage);
    DeviceArray<float> dq(q);
    DeviceArray<int32_t> dt(tables), dl(std::vector<int32_t>(lens.begin(), lens.end()));
    DeviceArray<float> maxes(size_t(B) * H * g::kMaxDecodeSplits), sums(maxes.size()),
        outputs(size_t(B) * H * g::kMaxDecodeSplits * D), capture(size_t(B) * H * stride);
    DeviceArray<uint16_t> out(size_t(B) * H * D);
    g::DecodeAttentionScratch scratch{maxes.get(), sums.get(), outputs.get(), splits};
    g::attentionDecode(reinterpret_cast<__half*>(out.get()), dq.get(), f.view(reinterpret_cast<__half*>(kv.get())),
                       dt.get(), maxBlocks, dl.get(), B, H, scratch, capture.get(), size_t(H) * stride, stride, gStream,
                       withRope ? dFreq.get() : nullptr, layout);
    const auto gotOut = fromHalf(out.download());
    const auto gotCap = capture.download();
    std::vector<float> wantOut, gotOutRows, wantCap, gotCapRows;
    std::vector<double> p, o;
    for (int b = 0; b < B; ++b)
        for (int h = 0; h < H; ++h) {
            referenceRow(f, b, h, G, &qRef[(size_t(b) * H + h) * D], lens[size_t(b)], p, o);
            for (int d = 0; d < D; ++d) {
                wantOut.push_back(float(o[size_t(d)]));
                gotOutRows.push_back(gotOut[(size_t(b) * H + h) * D + d]);
            }
            for (int s = 0; s < lens[size_t(b)]; ++s) {
                wantCap.push_back(float(p[size_t(s)]));
                gotCapRows.push_back(gotCap[(size_t(b) * H + h) * stride + s]);
            }
        }
    return captureError ? nmse(gotCapRows, wantCap) : nmse(gotOutRows, wantOut);
}

// Prefill attention: Tq queries at positions qPos0.. over gathered keys, causal.
double caseAttentionPrefill(int H, int Hkv, int D, int Tq, int qPos0, bool captureError)
{
    const int S = qPos0 + Tq, G = H / Hkv;
    PagedFixture f(Hkv, D, {S}, uint32_t(S * 7 + H));
    std::mt19937 rng(12);
    const auto q = halfRounded(randomFloats(size_t(Tq) * H * D, rng, -2, 2));
    DeviceArray<uint16_t> kv(f.storage), keys(size_t(Hkv) * S * D), values(size_t(Hkv) * S * D), dq(toHalf(q)),
        out(size_t(Tq) * H * D), probs(size_t(H) * Tq * S);
    DeviceArray<int32_t> dt(f.tables[0]);
    DeviceArray<float> scores(size_t(H) * Tq * S);
    const int stride = S + 5; // exercises the zero padding of the capture rows
    DeviceArray<float> capture(size_t(H) * Tq * stride);
    g::kvCacheGather(reinterpret_cast<__half*>(keys.get()), reinterpret_cast<__half*>(values.get()),
                     f.view(reinterpret_cast<__half*>(kv.get())), dt.get(), S, gStream);
    g::attentionPrefill(reinterpret_cast<__half*>(out.get()), reinterpret_cast<const __half*>(dq.get()),
                        reinterpret_cast<const __half*>(keys.get()), reinterpret_cast<const __half*>(values.get()), Tq,
                        qPos0, H, Hkv, D, scores.get(), reinterpret_cast<__half*>(probs.get()), capture.get(), stride,
                        gGemm);
    const auto gotOut = fromHalf(out.download());
    const auto gotCap = capture.download();
    std::vector<float> wantOut, wantCap;
    std::vector<double> p, o;
    for (int i = 0; i < Tq; ++i)
        for (int h = 0; h < H; ++h) {
            referenceRow(f, 0, h, G, &q[(size_t(i) * H + h) * D], qPos0 + i + 1, p, o);
            for (int d = 0; d < D; ++d)
                wantOut.push_back(float(o[size_t(d)]));
        }
    for (int h = 0; h < H; ++h)
        for (int i = 0; i < Tq; ++i) {
            referenceRow(f, 0, h, G, &q[(size_t(i) * H + h) * D], qPos0 + i + 1, p, o);
            for (int s = 0; s < stride; ++s)
                wantCap.push_back(s < int(p.size()) ? float(p[size_t(s)]) : 0.0f);
        }
    return captureError ? nmse(gotCap, wantCap) : nmse(gotOut, wantOut);
}

// kvCacheWrite then kvCacheGather: the fp16-rounded rows come back where the tables say (max abs error).
// With rope, keys are rotated on the way in; then the error is an NMSE (sincos may differ by an ulp).
double caseKvRoundTrip(int Hkv, int D, int T, int pos0, bool withRope = false,
                       RopeLayout layout = RopeLayout::RotateHalf)
{
    const int S = pos0 + T;
    PagedFixture f(Hkv, D, {S}, 21);
    std::mt19937 rng(22);
    const auto kIn = randomFloats(size_t(T) * Hkv * D, rng), v = randomFloats(size_t(T) * Hkv * D, rng);
    std::vector<int32_t> pos(static_cast<size_t>(T));
    std::iota(pos.begin(), pos.end(), pos0);
    std::vector<float> invFreq(size_t(D / 2));
    ops::ropeFrequencies(invFreq.data(), D, 10000.0f, RopeScaling{});
    std::vector<float> k = kIn;
    if (withRope)
        for (int t = 0; t < T; ++t)
            ops::rope(&k[size_t(t) * Hkv * D], Hkv, D, pos[size_t(t)], invFreq.data(), layout);
    DeviceArray<float> dFreq(invFreq);
    DeviceArray<uint16_t> kv(f.storage), keys(size_t(Hkv) * S * D), values(size_t(Hkv) * S * D);
    DeviceArray<float> dk(kIn), dv(v);
    DeviceArray<int32_t> dp(pos), dt(f.tables[0]);
    const g::PagedKvLayer view = f.view(reinterpret_cast<__half*>(kv.get()));
    g::kvCacheWrite(view, dk.get(), dv.get(), dp.get(), dt.get(), 0, T, gStream, withRope ? dFreq.get() : nullptr,
                    layout);
    g::kvCacheGather(reinterpret_cast<__half*>(keys.get()), reinterpret_cast<__half*>(values.get()), view, dt.get(), S,
                     gStream);
    const auto gk = fromHalf(keys.download()), gv = fromHalf(values.download());
    std::vector<float> want, got;
    for (int h = 0; h < Hkv; ++h)
        for (int s = 0; s < S; ++s)
            for (int d = 0; d < D; ++d) {
                const size_t gi = (size_t(h) * S + s) * D + d;
                const bool fresh = s >= pos0;
                const size_t ri = (size_t(s - pos0) * Hkv + h) * D + d;
                want.push_back(fresh ? fp16ToFp32(fp32ToFp16(k[fresh ? ri : 0])) : f.key(0, h, s, d));
                got.push_back(gk[gi]);
                want.push_back(fresh ? fp16ToFp32(fp32ToFp16(v[fresh ? ri : 0])) : f.value(0, h, s, d));
                got.push_back(gv[gi]);
            }
    return withRope ? nmse(got, want) : maxAbs(got, want);
}

// ---- logits top-k --------------------------------------------------------------------------------

// Mismatched ids plus log-probability error beyond 1e-4 (0 when all agree).
double caseTopK(int rows, int V, int k)
{
    std::mt19937 rng(31);
    auto x = randomFloats(size_t(rows) * V, rng, -8, 8);
    for (int r = 0; r < rows; ++r) // ties: equal values must come out lower id first
        for (int i = 0; i < 5; ++i)
            x[size_t(r) * V + size_t(100 + 7 * i)] = 9.5f;
    DeviceArray<float> dx(x), lp(size_t(rows) * k);
    DeviceArray<int32_t> ids(size_t(rows) * k);
    g::logSoftmaxTopK(ids.get(), lp.get(), dx.get(), V, k, gStream, rows);
    const auto gi = ids.download();
    const auto gl = lp.download();
    double bad = 0;
    for (int r = 0; r < rows; ++r) {
        const auto ls = logSoftmax(&x[size_t(r) * V], V);
        std::vector<int> order(static_cast<size_t>(V));
        std::iota(order.begin(), order.end(), 0);
        const float* xr = &x[size_t(r) * V];
        std::stable_sort(order.begin(), order.end(), [&](int a, int b) { return xr[a] > xr[b]; });
        for (int i = 0; i < k; ++i) {
            const size_t at = size_t(r) * k + i;
            if (gi[at] != order[size_t(i)])
                bad += 1;
            else if (std::fabs(gl[at] - ls[size_t(order[size_t(i)])]) > 1e-4)
                bad += 1;
        }
    }
    return bad;
}

} // namespace

int main(int argc, char** argv)
{
    std::setvbuf(stdout, nullptr, _IOLBF, 0); // keep what was printed if the process dies
    requireDevice();
    const bool quick = argc > 1 && std::strcmp(argv[1], "--quick") == 0;
    if (cudaStreamCreate(&gStream) != cudaSuccess)
        SKIP_TEST("cannot create a stream");
    cublasHandle_t handle = nullptr;
    try {
        const g::CublasApi& api = g::cublasApi();
        CUBLAS_CHECK(api.create(&handle));
        CUBLAS_CHECK(api.setStream(handle, gStream));
        std::printf("cuBLAS: %s\n", api.library);
    } catch (const Error& e) {
        std::fprintf(stderr, "cuBLAS unavailable: %s\n", e.what());
        return 1;
    }
    gGemm = g::GemmContext{gStream, handle, true};

    RopeScaling none;
    RopeScaling llama3;
    llama3.type = RopeScaling::Type::Llama3;
    llama3.factor = 8.0f;
    llama3.lowFreqFactor = 1.0f;
    llama3.highFreqFactor = 4.0f;
    llama3.originalContext = 8192;
    RopeScaling linear;
    linear.type = RopeScaling::Type::Linear;
    linear.factor = 4.0f;

    std::vector<Case> cases = {
        {"rmsnorm rows=1 n=2048", 1e-5, [] { return caseRmsnorm(1, 2048, 1); }},
        {"rmsnorm rows=5 n=576", 1e-5, [] { return caseRmsnorm(5, 576, 2); }},
        {"rmsnorm rows=3 n=100", 1e-5, [] { return caseRmsnorm(3, 100, 3); }},
        {"layernorm rows=4 n=768", 1e-5, [] { return caseLayernorm(4, 768, 4); }},
        {"layernorm rows=1 n=2048", 1e-5, [] { return caseLayernorm(1, 2048, 5); }},
        {"rope rotate-half D=64", 1e-9, [=] { return caseRope(8, 64, RopeLayout::RotateHalf, none, 10000.0f, {0, 1, 17, 1999}); }},
        {"rope interleaved D=32", 1e-9, [=] { return caseRope(4, 32, RopeLayout::Interleaved, none, 10000.0f, {3, 511}); }},
        {"rope llama3 D=128", 1e-9, [=] { return caseRope(4, 128, RopeLayout::RotateHalf, llama3, 500000.0f, {5, 4097, 30000}); }},
        {"rope linear interleaved D=64", 1e-9, [=] { return caseRope(2, 64, RopeLayout::Interleaved, linear, 10000.0f, {100, 8000}); }},
        {"siluMul n=5632", 1e-6, [] { return caseSiluMul(5632); }},
        {"gelu n=3072", 1e-6, [] { return caseGelu(3072); }},
        {"softmax rows=3 n=32000", 1e-6, [] { return caseSoftmax(3, 32000); }},
        {"softmax rows=2 n=17", 1e-6, [] { return caseSoftmax(2, 17); }},
        {"add n=1000", 1e-12, [] { return caseAdd(1000); }},
        {"embeddingGather V=1000 C=256 T=7", 1e-12, [] { return caseEmbedding(1000, 256, 7); }},
        {"matmul gemv T=1 2048x2048", 5e-4, [] { return caseMatmul(1, 2048, 2048, false, false, true); }},
        {"matmul gemv T=2 576x576 bias", 5e-4, [] { return caseMatmul(2, 576, 576, true, false, true); }},
        {"matmul gemv T=3 688x256 accumulate", 5e-4, [] { return caseMatmul(3, 688, 256, false, true, true); }},
        {"matmul gemv T=4 256x5632 bias+accumulate", 5e-4, [] { return caseMatmul(4, 256, 5632, true, true, true); }},
        {"matmul gemv scalar T=2 97x100", 5e-4, [] { return caseMatmul(2, 97, 100, true, false, true); }},
        {"matmul cublas T=1 2048x2048", 5e-4, [] { return caseMatmul(1, 2048, 2048, false, false, false); }},
        {"matmul cublas T=5 300x256 bias", 5e-4, [] { return caseMatmul(5, 300, 256, true, false, true); }},
        {"matmul cublas T=64 512x1024 accumulate", 5e-4, [] { return caseMatmul(64, 512, 1024, false, true, true); }},
        {"matmul cublas T=300 768x2048 bias+accumulate", 5e-4, [] { return caseMatmul(300, 768, 2048, true, true, true); }},
        {"matmulMany gemv T=1 q/k/v", 5e-4, [] { return caseMatmulMany(1, 256); }},
        {"matmulMany gemv T=4 q/k/v", 5e-4, [] { return caseMatmulMany(4, 576); }},
        {"matmulMany cublas T=9 q/k/v", 5e-4, [] { return caseMatmulMany(9, 256); }},
        {"matmulSiluMul fused T=1 5632x2048", 5e-4, [] { return caseMatmulSiluMul(1, 5632, 2048, true); }},
        {"matmulSiluMul fused T=3 1536x576", 5e-4, [] { return caseMatmulSiluMul(3, 1536, 576, true); }},
        {"matmulSiluMul cublas T=6 688x256", 5e-4, [] { return caseMatmulSiluMul(6, 688, 256, true); }},
        {"matmulSiluMul unfused T=2 688x256", 5e-4, [] { return caseMatmulSiluMul(2, 688, 256, false); }},
        // fp32 normed input: only accumulation order differs from the CPU (fused), fp16 xb otherwise
        {"matmulManyRmsNorm fused T=1 q/k/v K=2048", 1e-6, [] { return caseMatmulRmsNorm(1, 2048, {2048, 256, 256}, true, false); }},
        {"matmulManyRmsNorm fused T=4 q/k/v K=576", 1e-6, [] { return caseMatmulRmsNorm(4, 576, {576, 192, 192}, true, false); }},
        {"matmulManyRmsNorm fused T=2 head 32000x256", 1e-6, [] { return caseMatmulRmsNorm(2, 256, {32000}, true, false); }},
        {"matmulManyRmsNorm fallback T=6 q/k/v", 5e-4, [] { return caseMatmulRmsNorm(6, 256, {256, 64, 64}, true, false); }},
        {"matmulManyRmsNorm no-gemv T=1 K=100 (scalar)", 5e-4, [] { return caseMatmulRmsNorm(1, 100, {97}, false, false); }},
        {"matmulSiluMulRmsNorm fused T=1 5632x2048", 1e-6, [] { return caseMatmulRmsNorm(1, 2048, {5632, 5632}, true, true); }},
        {"matmulSiluMulRmsNorm fused T=3 1536x576", 1e-6, [] { return caseMatmulRmsNorm(3, 576, {1536, 1536}, true, true); }},
        {"matmulSiluMulRmsNorm fallback T=5 688x256", 5e-4, [] { return caseMatmulRmsNorm(5, 256, {688, 688}, true, true); }},
        {"kv write+gather Hkv=2 D=64 T=20 pos0=13 (max abs)", 0.0, [] { return caseKvRoundTrip(2, 64, 20, 13); }},
        {"kv write+gather+rope rotate-half Hkv=2 D=64", 1e-7, [] { return caseKvRoundTrip(2, 64, 20, 13, true); }},
        {"kv write+gather+rope interleaved Hkv=4 D=32", 1e-7, [] { return caseKvRoundTrip(4, 32, 5, 40, true, RopeLayout::Interleaved); }},
        {"kv write+gather Hkv=4 D=32 T=1 pos0=0 (max abs)", 0.0, [] { return caseKvRoundTrip(4, 32, 1, 0); }},
        {"attentionDecode H=8 Hkv=2 D=64 lens 1,37,700", 5e-4, [] { return caseAttentionDecode(8, 2, 64, {1, 37, 700}, 11, false); }},
        {"attentionDecode capture H=8 Hkv=2 D=64", 1e-8, [] { return caseAttentionDecode(8, 2, 64, {1, 37, 700}, 11, true); }},
        {"attentionDecode H=9 Hkv=3 D=64 splits=32", 5e-4, [] { return caseAttentionDecode(9, 3, 64, {129, 16, 17}, 32, false); }},
        {"attentionDecode H=32 Hkv=4 D=64 splits=1", 5e-4, [] { return caseAttentionDecode(32, 4, 64, {300}, 1, false); }},
        {"attentionDecode H=14 Hkv=2 D=64 (G=7)", 5e-4, [] { return caseAttentionDecode(14, 2, 64, {64, 65, 1000}, 8, false); }},
        {"attentionDecode H=16 Hkv=1 D=128 (G=16)", 5e-4, [] { return caseAttentionDecode(16, 1, 128, {250, 3}, 16, false); }},
        {"attentionDecode H=8 Hkv=8 D=32 capture", 1e-8, [] { return caseAttentionDecode(8, 8, 32, {5, 900}, 20, true); }},
        // Head dims that do not divide the 128-thread block (the bundled model has D=40).
        {"attentionDecode H=8 Hkv=4 D=40", 5e-4, [] { return caseAttentionDecode(8, 4, 40, {1, 37, 500}, 11, false); }},
        {"attentionDecode capture H=8 Hkv=4 D=40", 1e-8, [] { return caseAttentionDecode(8, 4, 40, {9, 300}, 11, true); }},
        {"attentionDecode+rope rotate-half H=8 Hkv=4 D=40", 5e-4, [] { return caseAttentionDecode(8, 4, 40, {3, 333}, 11, false, true); }},
        {"attentionDecode H=12 Hkv=4 D=80", 5e-4, [] { return caseAttentionDecode(12, 4, 80, {64, 700}, 16, false); }},
        {"attentionDecode H=6 Hkv=2 D=96", 5e-4, [] { return caseAttentionDecode(6, 2, 96, {200, 17}, 8, false); }},
        // D=80 idles the most threads in P·V (48 of 128); larger groups use the MAXG 8 and 16 builds.
        {"attentionDecode capture H=8 Hkv=2 D=80", 1e-8, [] { return caseAttentionDecode(8, 2, 80, {5, 450}, 11, true); }},
        {"attentionDecode H=32 Hkv=4 D=80 (G=8)", 5e-4, [] { return caseAttentionDecode(32, 4, 80, {129, 700}, 16, false); }},
        {"attentionDecode H=16 Hkv=1 D=40 (G=16)", 5e-4, [] { return caseAttentionDecode(16, 1, 40, {250, 3}, 16, false); }},
        {"attentionDecode H=48 Hkv=4 D=96 (G=12)", 5e-4, [] { return caseAttentionDecode(48, 4, 96, {33, 640}, 8, false); }},
        {"attentionDecode capture H=6 Hkv=2 D=96", 1e-8, [] { return caseAttentionDecode(6, 2, 96, {17, 300}, 8, true); }},
        {"attentionDecode+rope interleaved H=12 Hkv=4 D=80", 5e-4, [] { return caseAttentionDecode(12, 4, 80, {3, 333}, 11, false, true, RopeLayout::Interleaved); }},
        {"attentionDecode+rope rotate-half H=6 Hkv=2 D=96", 5e-4, [] { return caseAttentionDecode(6, 2, 96, {3, 333}, 11, false, true); }},
        {"attentionPrefill H=8 Hkv=4 D=40 Tq=37 pos0=13", 5e-4, [] { return caseAttentionPrefill(8, 4, 40, 37, 13, false); }},
        {"attentionDecode+rope rotate-half H=8 Hkv=2 D=64", 5e-4, [] { return caseAttentionDecode(8, 2, 64, {3, 333}, 11, false, true); }},
        {"attentionDecode+rope interleaved H=4 Hkv=4 D=128", 5e-4, [] { return caseAttentionDecode(4, 4, 128, {77, 1000}, 11, false, true, RopeLayout::Interleaved); }},
        {"attentionPrefill H=8 Hkv=2 D=64 Tq=37 pos0=0", 5e-4, [] { return caseAttentionPrefill(8, 2, 64, 37, 0, false); }},
        {"attentionPrefill H=8 Hkv=2 D=64 Tq=37 pos0=50", 5e-4, [] { return caseAttentionPrefill(8, 2, 64, 37, 50, false); }},
        {"attentionPrefill capture Tq=20 pos0=13", 1e-6, [] { return caseAttentionPrefill(8, 2, 64, 20, 13, true); }},
        {"attentionPrefill H=12 Hkv=12 D=64 Tq=130", 5e-4, [] { return caseAttentionPrefill(12, 12, 64, 130, 0, false); }},
        {"attentionPrefill H=16 Hkv=2 D=128 Tq=3 pos0=40", 5e-4, [] { return caseAttentionPrefill(16, 2, 128, 3, 40, false); }},
        {"logSoftmaxTopK V=32000 k=20 (mismatches)", 0.0, [] { return caseTopK(2, 32000, 20); }},
        {"logSoftmaxTopK V=10 k=10 (mismatches)", 0.0, [] { return caseTopK(1, 10, 10); }},
    };
    if (quick) { // a few of each kind, for compute-sanitizer
        const char* keep[] = {"rmsnorm rows=5", "layernorm rows=4", "rope llama3", "softmax rows=3", "embeddingGather",
                              "matmul gemv T=4", "matmul gemv scalar", "matmul cublas T=5", "matmulMany gemv T=4",
                              "matmulSiluMul fused T=3", "matmulManyRmsNorm fused T=4", "matmulSiluMulRmsNorm fused T=3",
                              "kv write+gather+rope interleaved", "attentionDecode H=8 Hkv=2",
                              "attentionDecode H=14", "attentionDecode+rope interleaved", "attentionPrefill capture",
                              "attentionDecode H=8 Hkv=4 D=40", "attentionDecode H=12 Hkv=4 D=80",
                              "attentionDecode capture H=8 Hkv=2 D=80",
                              "logSoftmaxTopK V=32000"};
        std::vector<Case> some;
        for (const Case& c : cases)
            for (const char* k : keep)
                if (c.name.rfind(k, 0) == 0) {
                    some.push_back(c);
                    break;
                }
        cases = some;
    }

    for (const Case& c : cases) {
        double err = std::numeric_limits<double>::infinity();
        std::string failure;
        try {
            err = c.run();
        } catch (const std::exception& e) {
            failure = e.what();
        }
        const bool ok = failure.empty() && err <= c.limit;
        std::printf("%-4s %-52s error %.3e  limit %.1e%s%s\n", ok ? "ok" : "FAIL", c.name.c_str(), err, c.limit,
                    failure.empty() ? "" : "  ", failure.c_str());
        CHECK_MSG(ok, "%s", c.name.c_str());
    }
    g::cublasApi().destroy(handle);
    cudaStreamDestroy(gStream);
    return TEST_RESULT();
}
