// Unit tests of the CPU ops (model/ops.h) against naive double-precision formulas.
// Not a test of the backend: no model, no cache; see tst_cpu_backend for that.
#include "common/dtype.h"
#include "common/quantize.h"
#include "model/ops.h"
#include "model/thread_pool.h"

#include <QtTest>

#include <cmath>
#include <cstring>
#include <numbers>
#include <random>
#include <vector>

using namespace logitscope;

namespace {

std::vector<float> randomVector(int n, std::mt19937& rng, float amp = 1.0f)
{
    std::uniform_real_distribution<float> d(-amp, amp);
    std::vector<float> v(static_cast<size_t>(n));
    for (float& x : v)
        x = d(rng);
    return v;
}

double maxAbsDiff(const std::vector<float>& a, const std::vector<double>& b)
{
    double m = 0.0;
    for (size_t i = 0; i < a.size(); ++i)
        m = std::max(m, std::fabs(double(a[i]) - b[i]));
    return m;
}

// Random weights in [-1, 1) stored as `type` (quantized through common/quantize.h).
std::vector<uint8_t> randomWeights(DType type, int rows, int cols, std::mt19937& rng)
{
    const int64_t n = int64_t(rows) * cols;
    std::uniform_real_distribution<float> val(-1.0f, 1.0f);
    std::vector<float> values(size_t(n), 0.0f);
    for (float& v : values)
        v = val(rng);
    std::vector<uint8_t> bytes(dtypeBytes(type, n));
    quantize(type, values.data(), bytes.data(), n);
    return bytes;
}

} // namespace

class TstOps : public QObject {
    Q_OBJECT
private slots:
    void norms();
    void activations();
    void softmax();
    void ropeRotateHalf();
    void ropeLayoutsAgree();
    void ropeLinearScaling();
    void ropeLlama3Scaling();
    void ropeFrequencyRounding();
    void matmul_data();
    void matmul();
    void embeddingGather();
    void threadPoolRunsEveryTask();
};

void TstOps::norms()
{
    std::mt19937 rng(1);
    const int n = 77;
    auto x = randomVector(n, rng, 3.0f), w = randomVector(n, rng), b = randomVector(n, rng);
    std::vector<float> out(static_cast<size_t>(n));
    std::vector<double> ref(static_cast<size_t>(n));

    ops::rmsnorm(out.data(), x.data(), w.data(), n, 1e-5f);
    double ss = 0.0;
    for (float v : x)
        ss += double(v) * v;
    for (int i = 0; i < n; ++i)
        ref[size_t(i)] = double(w[size_t(i)]) * x[size_t(i)] / std::sqrt(ss / n + 1e-5);
    QVERIFY(maxAbsDiff(out, ref) < 1e-6);

    ops::layernorm(out.data(), x.data(), w.data(), b.data(), n, 1e-5f);
    double mean = 0.0, var = 0.0;
    for (float v : x)
        mean += v;
    mean /= n;
    for (float v : x)
        var += (v - mean) * (v - mean);
    var /= n;
    for (int i = 0; i < n; ++i)
        ref[size_t(i)] = (x[size_t(i)] - mean) / std::sqrt(var + 1e-5) * w[size_t(i)] + b[size_t(i)];
    QVERIFY(maxAbsDiff(out, ref) < 1e-6);
}

void TstOps::activations()
{
    std::mt19937 rng(2);
    const int n = 101;
    auto g = randomVector(n, rng, 8.0f), u = randomVector(n, rng, 2.0f);
    std::vector<float> out(static_cast<size_t>(n));
    std::vector<double> ref(static_cast<size_t>(n));
    ops::siluMul(out.data(), g.data(), u.data(), n);
    for (int i = 0; i < n; ++i) {
        const double x = g[size_t(i)];
        ref[size_t(i)] = x / (1.0 + std::exp(-x)) * u[size_t(i)];
    }
    QVERIFY(maxAbsDiff(out, ref) < 1e-5);

    ops::gelu(out.data(), g.data(), n);
    for (int i = 0; i < n; ++i) {
        const double x = g[size_t(i)];
        ref[size_t(i)] = 0.5 * x * (1.0 + std::tanh(std::sqrt(2.0 / std::numbers::pi) * (x + 0.044715 * x * x * x)));
    }
    QVERIFY(maxAbsDiff(out, ref) < 1e-5);
}

void TstOps::softmax()
{
    std::mt19937 rng(3);
    const int n = 300;
    auto x = randomVector(n, rng, 30.0f);
    std::vector<double> ref(static_cast<size_t>(n));
    double mx = -1e300, sum = 0.0;
    for (float v : x)
        mx = std::max(mx, double(v));
    for (int i = 0; i < n; ++i)
        sum += ref[size_t(i)] = std::exp(x[size_t(i)] - mx);
    for (double& r : ref)
        r /= sum;
    ops::softmax(x.data(), n);
    QVERIFY(maxAbsDiff(x, ref) < 1e-7);
}

void TstOps::ropeRotateHalf()
{
    std::mt19937 rng(4);
    const int H = 3, D = 16, pos = 37;
    const float theta = 10000.0f;
    auto x = randomVector(H * D, rng);
    auto y = x;
    ops::rope(y.data(), H, D, pos, theta, RopeLayout::RotateHalf, RopeScaling{});
    std::vector<double> ref(x.size());
    for (int h = 0; h < H; ++h)
        for (int i = 0; i < D / 2; ++i) {
            const double a = pos * std::pow(double(theta), -2.0 * i / D);
            const double x0 = x[size_t(h * D + i)], x1 = x[size_t(h * D + i + D / 2)];
            ref[size_t(h * D + i)] = x0 * std::cos(a) - x1 * std::sin(a);
            ref[size_t(h * D + i + D / 2)] = x1 * std::cos(a) + x0 * std::sin(a);
        }
    QVERIFY2(maxAbsDiff(y, ref) < 2e-5, qPrintable(QString::number(maxAbsDiff(y, ref))));
}

// GGUF stores Q/K rows interleaved: rotate-half index i sits at 2i, i + D/2 at 2i + 1.
void TstOps::ropeLayoutsAgree()
{
    std::mt19937 rng(5);
    const int H = 4, D = 32;
    RopeScaling scaling;
    scaling.type = RopeScaling::Type::Llama3;
    scaling.factor = 8.0f;
    scaling.originalContext = 64;
    for (int pos : {0, 1, 15, 500}) {
        auto x = randomVector(H * D, rng);
        std::vector<float> xi(x.size());
        for (int h = 0; h < H; ++h)
            for (int i = 0; i < D / 2; ++i) {
                xi[size_t(h * D + 2 * i)] = x[size_t(h * D + i)];
                xi[size_t(h * D + 2 * i + 1)] = x[size_t(h * D + i + D / 2)];
            }
        ops::rope(x.data(), H, D, pos, 500000.0f, RopeLayout::RotateHalf, scaling);
        ops::rope(xi.data(), H, D, pos, 500000.0f, RopeLayout::Interleaved, scaling);
        for (int h = 0; h < H; ++h)
            for (int i = 0; i < D / 2; ++i) {
                QCOMPARE(xi[size_t(h * D + 2 * i)], x[size_t(h * D + i)]);
                QCOMPARE(xi[size_t(h * D + 2 * i + 1)], x[size_t(h * D + i + D / 2)]);
            }
    }
}

void TstOps::ropeLinearScaling()
{
    const int D = 64;
    RopeScaling s;
    s.type = RopeScaling::Type::Linear;
    s.factor = 4.0f;
    std::vector<float> f(D / 2);
    ops::ropeFrequencies(f.data(), D, 10000.0f, s);
    for (int i = 0; i < D / 2; ++i) {
        const double ref = std::pow(10000.0, -2.0 * i / D) / 4.0;
        QVERIFY(std::fabs(f[size_t(i)] - ref) <= 1e-6 * ref);
    }
}

// Rounded frequencies are exactly the fp32 ones rounded to the half type (what model.to(dtype) does to
// transformers' inv_freq buffer), and differ from them.
void TstOps::ropeFrequencyRounding()
{
    const int D = 64;
    std::vector<float> exact(D / 2), f16(D / 2), b16(D / 2);
    RopeScaling s;
    ops::ropeFrequencies(exact.data(), D, 10000.0f, s);
    s.rounding = RopeScaling::Rounding::Fp16;
    ops::ropeFrequencies(f16.data(), D, 10000.0f, s);
    s.rounding = RopeScaling::Rounding::Bf16;
    ops::ropeFrequencies(b16.data(), D, 10000.0f, s);
    int differ = 0;
    for (int i = 0; i < D / 2; ++i) {
        QCOMPARE(f16[size_t(i)], fp16ToFp32(fp32ToFp16(exact[size_t(i)])));
        QCOMPARE(b16[size_t(i)], bf16ToFp32(fp32ToBf16(exact[size_t(i)])));
        QVERIFY(std::fabs(f16[size_t(i)] - exact[size_t(i)]) <= exact[size_t(i)] * 0x1p-11f);
        differ += f16[size_t(i)] != exact[size_t(i)] ? 1 : 0;
    }
    QVERIFY(differ > D / 4);
}

// Llama 3.1's settings, computed by hand from the definition of _compute_llama3_parameters.
void TstOps::ropeLlama3Scaling()
{
    const int D = 128;
    const double theta = 500000.0, factor = 8.0, low = 1.0, high = 4.0, old = 8192.0;
    RopeScaling s;
    s.type = RopeScaling::Type::Llama3;
    s.factor = float(factor);
    s.lowFreqFactor = float(low);
    s.highFreqFactor = float(high);
    s.originalContext = int(old);
    std::vector<float> f(D / 2);
    ops::ropeFrequencies(f.data(), D, float(theta), s);
    int untouched = 0, divided = 0, smoothed = 0;
    for (int i = 0; i < D / 2; ++i) {
        const double inv = std::pow(theta, -2.0 * i / D);
        const double wavelen = 2.0 * std::numbers::pi / inv;
        double ref;
        if (wavelen < old / high) {
            ref = inv;
            ++untouched;
        } else if (wavelen > old / low) {
            ref = inv / factor;
            ++divided;
        } else {
            const double smooth = (old / wavelen - low) / (high - low);
            ref = (1.0 - smooth) * inv / factor + smooth * inv;
            ++smoothed;
        }
        QVERIFY2(std::fabs(f[size_t(i)] - ref) <= 2e-6 * ref,
                 qPrintable(QString("pair %1: %2 vs %3").arg(i).arg(f[size_t(i)]).arg(ref)));
    }
    // All three regimes are exercised by these settings.
    QVERIFY(untouched > 0 && divided > 0 && smoothed > 0);
}

void TstOps::matmul_data()
{
    QTest::addColumn<int>("type");
    QTest::addColumn<int>("cols");
    QTest::addColumn<int>("T");
    for (DType t : {DType::F32, DType::F16, DType::BF16, DType::Q8_0, DType::Q4_0, DType::Q4_1, DType::Q5_0,
                    DType::Q5_1, DType::Q2_K, DType::Q3_K, DType::Q4_K, DType::Q5_K, DType::Q6_K, DType::IQ4_NL,
                    DType::IQ4_XS}) {
        const int block = dtypeBlockSize(t);
        const QList<int> colsList = block == 256 ? QList<int>{256, 512}
                                    : block == 32 ? QList<int>{96, 576}
                                                  : QList<int>{72, 77, 576};
        for (int cols : colsList)
            for (int T : {1, 2, 3, 5, 8, 9, 16, 17, 70}) // streaming up to 16 rows, sgemm tiles above
                QTest::addRow("%s K=%d T=%d", dtypeName(t), cols, T) << int(t) << cols << T;
    }
}

// matmul over every dtype and both paths (streaming kernels for small T, sgemm tiles for large T),
// against dequantize + a double-precision product.
void TstOps::matmul()
{
    QFETCH(int, type);
    QFETCH(int, cols);
    QFETCH(int, T);
    const DType dt = DType(type);
    std::mt19937 rng(uint32_t(type * 1000 + cols + T));
    const int rows = 131;
    auto bytes = randomWeights(dt, rows, cols, rng);
    TensorView w;
    w.type = dt;
    w.shape = {rows, cols};
    w.data = bytes.data();
    w.nbytes = bytes.size();
    std::vector<float> wf(size_t(rows) * cols);
    dequantize(dt, bytes.data(), wf.data(), int64_t(rows) * cols);
    auto x = randomVector(T * cols, rng);
    auto bias = randomVector(rows, rng);

    std::vector<double> ref(size_t(T) * rows), mag(size_t(T) * rows);
    for (int t = 0; t < T; ++t)
        for (int r = 0; r < rows; ++r) {
            double s = bias[size_t(r)], m = std::fabs(bias[size_t(r)]);
            for (int k = 0; k < cols; ++k) {
                const double p = double(wf[size_t(r) * cols + k]) * x[size_t(t) * cols + k];
                s += p;
                m += std::fabs(p);
            }
            ref[size_t(t) * rows + r] = s;
            mag[size_t(t) * rows + r] = m;
        }
    ThreadPool pool(2);
    for (ThreadPool* p : {static_cast<ThreadPool*>(nullptr), &pool}) {
        std::vector<float> out(size_t(T) * rows, -1.0f);
        ops::matmul(out.data(), x.data(), w, bias.data(), T, p);
        for (size_t i = 0; i < out.size(); ++i)
            QVERIFY2(std::fabs(out[i] - ref[i]) <= 1e-5 * mag[i] + 1e-6,
                     qPrintable(QString("element %1: %2 vs %3").arg(i).arg(out[i]).arg(ref[i])));
    }
    if (T == 1) {
        std::vector<float> out(static_cast<size_t>(rows));
        ops::matvec(out.data(), x.data(), w, nullptr, &pool);
        for (int r = 0; r < rows; ++r)
            QVERIFY(std::fabs(out[size_t(r)] - (ref[size_t(r)] - bias[size_t(r)])) <= 1e-5 * mag[size_t(r)] + 1e-6);
    }
}

void TstOps::embeddingGather()
{
    std::mt19937 rng(9);
    for (DType dt : {DType::F32, DType::F16, DType::BF16, DType::Q8_0}) {
        const int V = 20, C = 64;
        auto bytes = randomWeights(dt, V, C, rng);
        TensorView t;
        t.type = dt;
        t.shape = {V, C};
        t.data = bytes.data();
        t.nbytes = bytes.size();
        std::vector<float> all(size_t(V) * C);
        dequantize(dt, bytes.data(), all.data(), int64_t(V) * C);
        const int32_t ids[] = {3, 19, 0, 3};
        std::vector<float> out(4 * C);
        ops::embeddingGather(out.data(), t, ids, 4);
        for (int i = 0; i < 4; ++i)
            for (int c = 0; c < C; ++c)
                QCOMPARE(out[size_t(i * C + c)], all[size_t(ids[i] * C + c)]);
    }
}

void TstOps::threadPoolRunsEveryTask()
{
    ThreadPool pool(3);
    QCOMPARE(pool.size(), 3);
    for (int round = 0; round < 200; ++round) {
        const int n = round % 37;
        std::vector<std::atomic<int>> hits(static_cast<size_t>(n));
        pool.parallelFor(n, [&](int task, int thread) {
            QVERIFY(thread >= 0 && thread < 3);
            hits[size_t(task)].fetch_add(1);
        });
        for (auto& h : hits)
            QCOMPARE(h.load(), 1);
    }
}

QTEST_APPLESS_MAIN(TstOps)
#include "tst_ops.moc"
