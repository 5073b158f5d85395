// Unit tests of CpuBackend on random tiny models (llama with GQA, qwen2, gpt2; F32/F16/Q8_0 weights):
// prefill against a naive double-precision forward, decode with the paged cache against a full
// recomputation, batched against one-by-one, forks against their parent, plus cancel, memory and factory.
#include "backend_forward.h"
#include "common/error.h"
#include "model/cpu_backend.h"
#include "model/kv_cache.h"
#include "model/model.h"
#include "model/synthetic_model.h"
#include "reference_forward.h"

#include <QtTest>

#include <cmath>
#include <random>

using namespace logitscope;

namespace {

ModelConfig tinyConfig(Architecture arch, bool wide = false)
{
    // Wide enough that matmuls and attention run on the thread pool.
    if (wide)
        return syntheticConfig(arch, 300, 256, 2, 8, arch == Architecture::Gpt2 ? 8 : 4, 512, 256,
                               arch == Architecture::Qwen2);
    // H = 4, Hkv = 2 (GQA) for the llama family; gpt2 has no GQA.
    if (arch == Architecture::Gpt2)
        return syntheticConfig(arch, 97, 32, 2, 4, 4, 128, 128);
    ModelConfig c = syntheticConfig(arch, 97, 32, 2, 4, 2, 96, 512, arch == Architecture::Qwen2);
    if (arch == Architecture::Qwen3)
        c.headDim = c.ropeDims = 16; // like Qwen3's 128-wide heads over a 1024 hidden size: H * D != C
    return c;
}

std::vector<int32_t> randomIds(int n, int vocab, uint32_t seed)
{
    std::mt19937 rng(seed);
    std::uniform_int_distribution<int> d(0, vocab - 1);
    std::vector<int32_t> ids(static_cast<size_t>(n));
    for (auto& id : ids)
        id = d(rng);
    return ids;
}

// One backend and one cache, with the bookkeeping a Session would do around forward().
struct Runner {
    std::shared_ptr<const Model> model;
    KvCache cache;
    CpuBackend backend;

    explicit Runner(std::shared_ptr<const Model> m, int threads = 2, DType kvType = DType::F32)
        : model(m), cache(m->config().kvBytesPerToken(kvType == DType::F16 ? 2 : 4)), backend(m, threads)
    {
        backend.setKvType(kvType);
    }

    SequenceInput prepare(int seq, const std::vector<int32_t>& tokens)
    {
        return test::appendTokens(cache, backend, seq, tokens);
    }

    SequenceOutput run(int seq, const std::vector<int32_t>& tokens, bool allLogits = false, bool capture = false)
    {
        ForwardOptions opt;
        opt.captureAttention = capture;
        return test::forwardOnce(backend, cache, seq, tokens, allLogits, opt);
    }
};

double maxDiff(const float* a, const double* b, size_t n)
{
    double m = 0;
    for (size_t i = 0; i < n; ++i)
        m = std::max(m, std::fabs(double(a[i]) - b[i]));
    return m;
}

double maxDiff(const float* a, const float* b, size_t n)
{
    double m = 0;
    for (size_t i = 0; i < n; ++i)
        m = std::max(m, std::fabs(double(a[i]) - double(b[i])));
    return m;
}

} // namespace

class TstCpuBackend : public QObject {
    Q_OBJECT
private slots:
    void prefillMatchesReference_data();
    void prefillMatchesReference();
    void decodeMatchesPrefill_data();
    void decodeMatchesPrefill();
    void batchedDecodeEqualsOneByOne();
    void logitRowsOfOneSequenceInABatch();
    void forkReproducesParent();
    void cancelAndProgress();
    void reserveRefusesAbsurdSizes();
    void memoryLedger();
    void weightsInMemory();
    void factory();
};

void TstCpuBackend::prefillMatchesReference_data()
{
    QTest::addColumn<int>("arch");
    QTest::addColumn<int>("dtype");
    QTest::addColumn<int>("T");
    QTest::addColumn<bool>("wide");
    QTest::addColumn<int>("kvType");
    for (Architecture a : {Architecture::Llama, Architecture::Qwen2, Architecture::Qwen3, Architecture::Gpt2}) {
        for (DType d : {DType::F32, DType::F16, DType::Q8_0})
            for (int T : {3, 37}) // direct block walk and the gathered sgemm path
                QTest::addRow("%s %s T=%d", architectureName(a), dtypeName(d), T)
                    << int(a) << int(d) << T << false << int(DType::F32);
        QTest::addRow("%s wide BF16 T=40", architectureName(a)) << int(a) << int(DType::BF16) << 40 << true << int(DType::F32);
        // K/V stored as fp16: the reference rounds its keys and values the same way.
        for (int T : {3, 37})
            QTest::addRow("%s F16 T=%d, fp16 KV", architectureName(a), T) << int(a) << int(DType::F16) << T << false << int(DType::F16);
        QTest::addRow("%s wide F16 T=40, fp16 KV", architectureName(a)) << int(a) << int(DType::F16) << 40 << true << int(DType::F16);
    }
}

// Every position's logits and the attention probabilities against the double-precision forward.
void TstCpuBackend::prefillMatchesReference()
{
    QFETCH(int, arch);
    QFETCH(int, dtype);
    QFETCH(int, T);
    QFETCH(bool, wide);
    QFETCH(int, kvType);
    ModelConfig c = tinyConfig(Architecture(arch), wide);
    if (arch == int(Architecture::Llama) && dtype == int(DType::F16))
        c.ropeLayout = RopeLayout::Interleaved;
    auto model = SyntheticModelBuilder::build(c, DType(dtype), 7);
    const auto ids = randomIds(T, c.vocabSize, 11);
    const test::ReferenceResult ref = test::referenceForward(*model, ids, kvType == int(DType::F16));

    Runner r(model, 2, DType(kvType));
    const int seq = r.cache.createSequence();
    const SequenceOutput out = r.run(seq, ids, true, true);
    QCOMPARE(out.logits.size(), size_t(T) * c.vocabSize);
    const double dl = maxDiff(out.logits.data(), ref.logits.data(), out.logits.size());
    const double da = maxDiff(out.attention.data(), ref.attention.data(), out.attention.size());
    if (kvType == int(DType::F32)) {
        QVERIFY2(dl < 1e-4, qPrintable(QString("logits differ by %1").arg(dl)));
        QVERIFY2(da < 1e-5, qPrintable(QString("attention differs by %1").arg(da)));
        return;
    }
    // fp16 K/V: an element whose fp32 value sits within the backend's rounding error of an fp16
    // rounding boundary lands one fp16 step from the reference's, so the worst logit is further off;
    // on average the backend must be far closer to the rounded reference than to the unrounded one.
    const test::ReferenceResult exact = test::referenceForward(*model, ids, false);
    auto meanDiff = [&](const std::vector<double>& ref) {
        double s = 0;
        for (size_t i = 0; i < out.logits.size(); ++i)
            s += std::fabs(double(out.logits[i]) - ref[i]);
        return s / double(out.logits.size());
    };
    const double mean = meanDiff(ref.logits), meanExact = meanDiff(exact.logits);
    qInfo("fp16 KV: logits differ by %.2g at most, %.2g on average from the rounded reference (%.2g from "
          "the fp32 one)", dl, mean, meanExact);
    QVERIFY2(dl < 2e-3, qPrintable(QString("logits differ by %1").arg(dl)));
    QVERIFY2(da < 2e-4, qPrintable(QString("attention differs by %1").arg(da)));
    QVERIFY2(mean < meanExact / 3, qPrintable(QString("%1 from the rounded reference, %2 from the fp32 one").arg(mean).arg(meanExact)));
}

void TstCpuBackend::decodeMatchesPrefill_data()
{
    QTest::addColumn<int>("arch");
    QTest::addColumn<int>("threads");
    QTest::addColumn<bool>("wide");
    QTest::addColumn<int>("kvType");
    for (Architecture a : {Architecture::Llama, Architecture::Qwen2, Architecture::Qwen3, Architecture::Gpt2}) {
        for (int threads : {1, 2, 3})
            for (bool wide : {false, true})
                QTest::addRow("%s threads=%d%s", architectureName(a), threads, wide ? " wide" : "")
                    << int(a) << threads << wide << int(DType::F32);
        for (bool wide : {false, true})
            QTest::addRow("%s threads=2%s, fp16 KV", architectureName(a), wide ? " wide" : "")
                << int(a) << 2 << wide << int(DType::F16);
    }
}

// Prompt in two chunks (the second reads cached blocks through the gather path), then one token at a
// time; each step's logits equal those of one full prefill over the whole sequence.
void TstCpuBackend::decodeMatchesPrefill()
{
    QFETCH(int, arch);
    QFETCH(int, threads);
    QFETCH(bool, wide);
    QFETCH(int, kvType);
    const ModelConfig c = tinyConfig(Architecture(arch), wide);
    auto model = SyntheticModelBuilder::build(c, DType::F16, 3);
    const int total = 70;
    const auto ids = randomIds(total, c.vocabSize, 5);

    // fp16 K/V computed by different kernels (one prefill's sgemm, the decode mat-vecs) can round an
    // element to neighbouring fp16 values: wider limits there.
    const bool fp16 = kvType == int(DType::F16);
    const double logitLimit = fp16 ? 2e-3 : 1e-4, attentionLimit = fp16 ? 2e-4 : 1e-5;

    Runner full(model, threads, DType(kvType));
    const int fs = full.cache.createSequence();
    const SequenceOutput all = full.run(fs, ids, true, true);
    const size_t V = size_t(c.vocabSize);

    Runner inc(model, threads, DType(kvType));
    const int s = inc.cache.createSequence();
    const std::vector<int32_t> chunk1(ids.begin(), ids.begin() + 9), chunk2(ids.begin() + 9, ids.begin() + 30);
    SequenceOutput o1 = inc.run(s, chunk1, true);
    QVERIFY(maxDiff(o1.logits.data(), all.logits.data(), 9 * V) < logitLimit);
    SequenceOutput o2 = inc.run(s, chunk2, false, true);
    QCOMPARE(o2.logits.size(), V);
    QVERIFY(maxDiff(o2.logits.data(), all.logits.data() + 29 * V, V) < logitLimit);
    // Captured attention of a continued prompt: (L, H, T, pos0 + T), future keys zero.
    QCOMPARE(o2.attention.size(), size_t(c.layers) * c.heads * 21 * 30);
    for (int t = 0; t < 21; ++t) {
        double sum = 0;
        for (int k = 0; k < 30; ++k) {
            const float p = o2.attention[size_t(t) * 30 + size_t(k)];
            if (k > 9 + t)
                QCOMPARE(p, 0.0f);
            sum += p;
        }
        QVERIFY(std::fabs(sum - 1.0) < 1e-5);
    }
    // Decode steps (keys split into parts and merged once the cache is long enough), with the captured
    // attention row equal to the prefill's row of the same position.
    double worst = 0, worstAttention = 0;
    const size_t L = size_t(c.layers), H = size_t(c.heads);
    for (int p = 30; p < total; ++p) {
        const SequenceOutput o = inc.run(s, {ids[size_t(p)]}, false, true);
        worst = std::max(worst, maxDiff(o.logits.data(), all.logits.data() + size_t(p) * V, V));
        QCOMPARE(o.attention.size(), L * H * size_t(p + 1));
        for (size_t lh = 0; lh < L * H; ++lh)
            worstAttention = std::max(worstAttention, maxDiff(o.attention.data() + lh * size_t(p + 1),
                                                              all.attention.data() + (lh * total + size_t(p)) * total,
                                                              size_t(p + 1)));
    }
    QVERIFY2(worst < logitLimit, qPrintable(QString("decode differs from prefill by %1").arg(worst)));
    QVERIFY2(worstAttention < attentionLimit, qPrintable(QString("decode attention differs from prefill by %1").arg(worstAttention)));
}

// Several sequences of different lengths, one token each per step, in one batch; 5 (streaming
// kernels) and 11 (sgemm tiles) sequences, against each sequence run alone.
void TstCpuBackend::batchedDecodeEqualsOneByOne()
{
    const ModelConfig c = tinyConfig(Architecture::Llama, true);
    auto model = SyntheticModelBuilder::build(c, DType::F16, 9);
    const size_t V = size_t(c.vocabSize);
    for (int n : {5, 11}) {
        Runner batched(model), single(model);
        std::vector<int> bs, ss;
        std::vector<std::vector<int32_t>> prompts;
        for (int i = 0; i < n; ++i) {
            prompts.push_back(randomIds(3 + 4 * i, c.vocabSize, uint32_t(100 + i)));
            bs.push_back(batched.cache.createSequence());
            ss.push_back(single.cache.createSequence());
            batched.run(bs.back(), prompts.back());
            single.run(ss.back(), prompts.back());
        }
        double worst = 0;
        for (int step = 0; step < 6; ++step) {
            std::vector<std::vector<int32_t>> toks(static_cast<size_t>(n));
            std::vector<SequenceInput> ins;
            for (int i = 0; i < n; ++i) {
                toks[size_t(i)] = randomIds(1, c.vocabSize, uint32_t(1000 * step + i));
                ins.push_back(batched.prepare(bs[size_t(i)], toks[size_t(i)]));
            }
            std::vector<SequenceOutput> outs(static_cast<size_t>(n));
            batched.backend.forward(ins, outs, ForwardOptions{});
            for (int i = 0; i < n; ++i) {
                const SequenceOutput o = single.run(ss[size_t(i)], toks[size_t(i)]);
                QCOMPARE(outs[size_t(i)].logits.size(), V);
                worst = std::max(worst, maxDiff(outs[size_t(i)].logits.data(), o.logits.data(), V));
            }
        }
        QVERIFY2(worst < 1e-4, qPrintable(QString("batch of %1 differs by %2").arg(n).arg(worst)));
    }
}

// In a batch of a long prompt that takes every position's logits and a short one that does not: the
// receiver gets the long one's rows in order, in chunks (never the whole (T, V) at once), each equal to
// that prompt's logits computed alone; each output keeps its last row only.
void TstCpuBackend::logitRowsOfOneSequenceInABatch()
{
    const ModelConfig c = tinyConfig(Architecture::Qwen2, false);
    auto model = SyntheticModelBuilder::build(c, DType::F16, 4);
    const size_t V = size_t(c.vocabSize);
    const auto longIds = randomIds(150, c.vocabSize, 21), shortIds = randomIds(7, c.vocabSize, 22);

    Runner alone(model);
    const SequenceOutput want = alone.run(alone.cache.createSequence(), longIds, true);
    const SequenceOutput wantShort = alone.run(alone.cache.createSequence(), shortIds);

    Runner r(model);
    const int a = r.cache.createSequence(), b = r.cache.createSequence();
    std::vector<SequenceInput> ins{r.prepare(a, longIds), r.prepare(b, shortIds)};
    ins[0].blockTable = r.cache.blockTable(a); // b's blocks may have moved a's table
    int next = 0, calls = 0;
    double worst = 0;
    ins[0].allLogits = [&](int t0, int rows, std::span<const float> logits) {
        QCOMPARE(t0, next);
        QVERIFY(rows > 0 && rows < int(longIds.size()));
        QCOMPARE(logits.size(), size_t(rows) * V);
        worst = std::max(worst, maxDiff(logits.data(), want.logits.data() + size_t(t0) * V, logits.size()));
        next = t0 + rows;
        ++calls;
    };
    std::vector<SequenceOutput> outs(2);
    r.backend.forward(ins, outs, ForwardOptions{});
    QCOMPARE(next, int(longIds.size()));
    QVERIFY(calls >= 3);
    QVERIFY2(worst < 1e-4, qPrintable(QString("rows differ by %1").arg(worst)));
    QCOMPARE(outs[0].logits.size(), V);
    QVERIFY(maxDiff(outs[0].logits.data(), want.logits.data() + (longIds.size() - 1) * V, V) < 1e-4);
    QCOMPARE(outs[1].logits.size(), V);
    QVERIFY(maxDiff(outs[1].logits.data(), wantShort.logits.data(), V) < 1e-4);
}

// A fork shares the parent's blocks; appending copies the shared partial block (copyKvBlock), and
// both continue exactly as the parent would.
void TstCpuBackend::forkReproducesParent()
{
    const ModelConfig c = tinyConfig(Architecture::Qwen2);
    auto model = SyntheticModelBuilder::build(c, DType::F32, 21);
    const size_t V = size_t(c.vocabSize);
    const auto prompt = randomIds(21, c.vocabSize, 4); // 21: the second block is partly filled
    const auto tailA = randomIds(5, c.vocabSize, 6), tailB = randomIds(5, c.vocabSize, 8);

    Runner r(model);
    const int parent = r.cache.createSequence();
    r.run(parent, prompt);
    const int child = r.cache.fork(parent);
    QCOMPARE(r.cache.stats().blocksShared, 2);

    for (size_t i = 0; i < tailA.size(); ++i) {
        const SequenceOutput a = r.run(parent, {tailA[i]});
        const SequenceOutput b = r.run(child, {tailB[i]});
        // Fresh recomputations of both continuations.
        for (const auto& [tail, got] : {std::pair{&tailA, &a}, std::pair{&tailB, &b}}) {
            Runner fresh(model);
            const int s = fresh.cache.createSequence();
            std::vector<int32_t> ids = prompt;
            ids.insert(ids.end(), tail->begin(), tail->begin() + ptrdiff_t(i) + 1);
            const SequenceOutput want = fresh.run(s, ids);
            QVERIFY(maxDiff(got->logits.data(), want.logits.data(), V) < 1e-4);
        }
    }
    // Same token on a fork of a fork gives the parent's logits bit for bit.
    const int child2 = r.cache.fork(parent);
    const SequenceOutput a = r.run(parent, {7});
    const SequenceOutput b = r.run(child2, {7});
    QCOMPARE(a.logits, b.logits);
}

void TstCpuBackend::cancelAndProgress()
{
    const ModelConfig c = tinyConfig(Architecture::Llama);
    auto model = SyntheticModelBuilder::build(c, DType::F32, 2);
    Runner r(model);
    const int s = r.cache.createSequence();
    const auto ids = randomIds(10, c.vocabSize, 1);
    const SequenceInput in = r.prepare(s, ids);
    SequenceOutput out;
    std::vector<int> seen;
    ForwardOptions opt;
    opt.progress = [&](int done, int total) {
        QCOMPARE(total, c.layers);
        seen.push_back(done);
    };
    r.backend.forward(std::span<const SequenceInput>(&in, 1), std::span<SequenceOutput>(&out, 1), opt);
    QCOMPARE(seen, (std::vector<int>{1, 2}));

    std::atomic<bool> cancel{true};
    opt.cancel = &cancel;
    QVERIFY_THROWS_EXCEPTION(Cancelled, r.backend.forward(std::span<const SequenceInput>(&in, 1),
                                                          std::span<SequenceOutput>(&out, 1), opt));
}

void TstCpuBackend::reserveRefusesAbsurdSizes()
{
    const ModelConfig c = syntheticConfig(Architecture::Llama, 64, 512, 8, 8, 8, 64);
    auto model = SyntheticModelBuilder::build(c, DType::F16, 1);
    CpuBackend b(model, 1);
    b.reserveKvBlocks(3);
    QCOMPARE(b.kvBlockCapacity(), 3);
    try {
        b.reserveKvBlocks(2000000000); // 2e9 blocks of 1 MiB
        QFAIL("no error");
    } catch (const Error& e) {
        const QString msg = e.what();
        QVERIFY2(msg.contains("KV cache") && msg.contains("MiB"), qPrintable(msg));
    }
    QCOMPARE(b.kvBlockCapacity(), 3); // what was there is kept
}

void TstCpuBackend::memoryLedger()
{
    const ModelConfig c = tinyConfig(Architecture::Llama);
    auto model = SyntheticModelBuilder::build(c, DType::F16, 1);
    CpuBackend b(model, 2);
    b.reserveKvBlocks(4);
    const MemoryLedger m = b.memory();
    QVERIFY(m.weights > 0);
    QCOMPARE(m.kvCache, 4 * size_t(KvCache::kBlockSize) * c.kvBytesPerToken(4));
    QVERIFY(m.deviceTotal > 0 && m.deviceFree > 0 && m.deviceFree <= m.deviceTotal);
    QCOMPARE(b.kvElementBytes(), size_t(4));
    QCOMPARE(b.threads(), 2);
    QVERIFY(b.deviceDescription().find("2 threads") != std::string::npos);

    // fp16 K/V: half the bytes per block; the type is fixed once blocks exist, and only f32/f16 exist.
    CpuBackend h(model, 2);
    QVERIFY_THROWS_EXCEPTION(Error, h.setKvType(DType::Q8_0));
    h.setKvType(DType::F16);
    QCOMPARE(h.kvElementBytes(), size_t(2));
    h.reserveKvBlocks(4);
    QCOMPARE(h.memory().kvCache, 4 * size_t(KvCache::kBlockSize) * c.kvBytesPerToken(2));
    h.setKvType(DType::F16); // unchanged: fine
    QVERIFY_THROWS_EXCEPTION(Error, h.setKvType(DType::F32));
}

// loadWeightsIntoMemory copies the matrices (to huge pages where allowed): the same logits bit for
// bit, the model's own views untouched, the copy counted in the ledger, a second call a no-op.
void TstCpuBackend::weightsInMemory()
{
    for (Architecture a : {Architecture::Llama, Architecture::Qwen2, Architecture::Gpt2}) {
        const ModelConfig c = tinyConfig(a, true);
        auto model = SyntheticModelBuilder::build(c, DType::F16, 21);
        const auto ids = randomIds(20, c.vocabSize, 22);
        Runner mapped(model), copied(model);
        const size_t before = copied.backend.memory().weights;
        copied.backend.loadWeightsIntoMemory();
        copied.backend.loadWeightsIntoMemory();
        QVERIFY(copied.backend.weightsInMemory());
        QVERIFY(!mapped.backend.weightsInMemory());
        QVERIFY(copied.backend.memory().weights > before);
        QCOMPARE(copied.backend.weightBytesPerToken(), mapped.backend.weightBytesPerToken());
        const int sm = mapped.cache.createSequence(), sc = copied.cache.createSequence();
        SequenceOutput om = mapped.run(sm, ids), oc = copied.run(sc, ids);
        for (int step = 0; step < 4; ++step) {
            QCOMPARE(oc.logits, om.logits);
            const int32_t next = int32_t(std::max_element(om.logits.begin(), om.logits.end()) - om.logits.begin());
            om = mapped.run(sm, {next});
            oc = copied.run(sc, {next});
        }
        QCOMPARE(oc.logits, om.logits);
    }
}

void TstCpuBackend::factory()
{
    const ModelConfig c = tinyConfig(Architecture::Llama);
    auto model = SyntheticModelBuilder::build(c, DType::F32, 1);
    const auto names = availableBackends();
    QVERIFY(std::find(names.begin(), names.end(), "cpu") != names.end());
    QCOMPARE(QString::fromStdString(createBackend(model, "cpu", 1)->name()), QString("cpu"));
    QVERIFY_THROWS_EXCEPTION(Error, createBackend(model, "tpu", 1));

    // A registered GPU backend that fails: "auto" falls back with a one-line notice.
    registerBackendFactory("cuda", [](std::shared_ptr<const Model>, int) -> std::unique_ptr<Backend> {
        throw Error("no CUDA device found");
    });
    std::string notice;
    auto b = createBackend(model, "auto", 1, &notice);
    QCOMPARE(QString::fromStdString(b->name()), QString("cpu"));
    QCOMPARE(QString::fromStdString(notice),
             QString("CUDA backend unavailable (no CUDA device found); running on the CPU"));
}

QTEST_APPLESS_MAIN(TstCpuBackend)
#include "tst_cpu_backend.moc"
