// The logit lens on random llama / qwen2 / gpt2 models against the CPU reference: the last layer's
// lens is the model's real output distribution, layer 0's residual matches a hand computation,
// every layer's projection matches a naive double-precision norm + head, and with the option off
// no residual is captured at all.
#include "lens_test_support.h"

#include "common/error.h"
#include "model/logit_lens.h"
#include "model/synthetic_model.h"

#include <QtTest>

#include <algorithm>
#include <numeric>
#include <random>

using namespace logitscope;

namespace {

std::shared_ptr<const Model> smallModel(Architecture arch, DType dtype, uint64_t seed = 5)
{
    // V=300, C=64, L=3, H=4, Hkv=2 (gpt2: 4), F=96; qwen2 tied like the small Qwen2 checkpoints.
    const ModelConfig c = syntheticConfig(arch, 300, 64, 3, 4, arch == Architecture::Gpt2 ? 4 : 2, 96, 128,
                                          arch == Architecture::Qwen2);
    return SyntheticModelBuilder::build(c, dtype, seed);
}

std::vector<int32_t> randomIds(int n, int vocab, unsigned seed)
{
    std::mt19937 rng(seed);
    std::vector<int32_t> ids(static_cast<size_t>(n));
    for (int32_t& id : ids)
        id = int32_t(rng() % uint32_t(vocab));
    return ids;
}

// Top-k of a logits row the way Session reports raw log-probs (ties: lower id first).
std::vector<std::pair<int32_t, double>> topOf(const float* logits, int V, int k)
{
    const std::vector<double> lp = test::logSoftmax(logits, V);
    std::vector<int32_t> ids(static_cast<size_t>(V));
    std::iota(ids.begin(), ids.end(), 0);
    std::partial_sort(ids.begin(), ids.begin() + k, ids.end(), [&](int32_t a, int32_t b) {
        return lp[size_t(a)] > lp[size_t(b)] || (lp[size_t(a)] == lp[size_t(b)] && a < b);
    });
    std::vector<std::pair<int32_t, double>> out;
    for (int i = 0; i < k; ++i)
        out.push_back({ids[size_t(i)], lp[size_t(ids[size_t(i)])]});
    return out;
}

void compareLastLayer(const LayerLens& lens, const float* logits, int V)
{
    const auto want = topOf(logits, V, 5);
    QCOMPARE(int(lens.top.size()), 5);
    for (size_t i = 0; i < want.size(); ++i) {
        QCOMPARE(lens.top[i].id, want[i].first);
        QVERIFY2(std::fabs(lens.top[i].logprob - want[i].second) < 1e-5,
                 qPrintable(QString("rank %1: lens %2 vs model %3").arg(i).arg(lens.top[i].logprob).arg(want[i].second)));
    }
}

void addArchRows()
{
    QTest::addColumn<int>("arch");
    QTest::addColumn<int>("dtype");
    for (auto [name, a] : {std::pair{"llama", Architecture::Llama}, std::pair{"qwen2", Architecture::Qwen2},
                           std::pair{"gpt2", Architecture::Gpt2}})
        for (auto [dn, d] : {std::pair{"f32", DType::F32}, std::pair{"f16", DType::F16}, std::pair{"q8_0", DType::Q8_0}})
            QTest::newRow((std::string(name) + "/" + dn).c_str()) << int(a) << int(d);
}

} // namespace

class TestLogitLens : public QObject {
    Q_OBJECT

private slots:
    void lastLayerIsTheOutput_data() { addArchRows(); }
    void lastLayerIsTheOutput()
    {
        QFETCH(int, arch);
        QFETCH(int, dtype);
        auto m = smallModel(Architecture(arch), DType(dtype));
        const ModelConfig& c = m->config();
        const int V = c.vocabSize, C = c.hidden, L = c.layers;
        CpuBackend backend(m, 2);
        KvCache cache(c.kvBytesPerToken(4));
        const int seq = cache.createSequence();
        LogitLens lens(m, 2);

        // Prefill with every position's logits (the sgemm / multi-row head), then three decode steps.
        std::vector<int32_t> tokens = randomIds(11, V, 3);
        for (int step = 0; step < 4; ++step) {
            const bool prefill = step == 0;
            SequenceOutput out = test::forwardOnce(backend, cache, seq, tokens, prefill, true);
            QCOMPARE(out.residual.size(), size_t(L) * C);
            const float* logits = out.logits.data() + out.logits.size() - size_t(V);
            const std::vector<LayerLens> layers = lens.run(out.residual, 5, tokens.back());
            QCOMPARE(int(layers.size()), L);
            compareLastLayer(layers.back(), logits, V);
            if (!prefill) {
                // A decode step's head is the same kernel: the projection is the backend's logits, bit for bit.
                std::vector<float> projected(static_cast<size_t>(V));
                lens.project(&out.residual[size_t(L - 1) * C], 1, projected.data());
                QVERIFY(std::equal(projected.begin(), projected.end(), logits));
            }
            const int32_t next = int32_t(std::max_element(logits, logits + V) - logits);
            tokens = {next};
        }
    }

    void captureChangesNothing_data() { addArchRows(); }
    void captureChangesNothing()
    {
        QFETCH(int, arch);
        QFETCH(int, dtype);
        auto m = smallModel(Architecture(arch), DType(dtype));
        const ModelConfig& c = m->config();
        const std::vector<int32_t> prompt = randomIds(9, c.vocabSize, 8);
        std::vector<float> logits[2];
        for (int capture = 0; capture < 2; ++capture) {
            CpuBackend backend(m, 2);
            KvCache cache(c.kvBytesPerToken(4));
            const int seq = cache.createSequence();
            SequenceOutput out = test::forwardOnce(backend, cache, seq, prompt, true, capture);
            QCOMPARE(out.residual.empty(), !capture);
            out = test::forwardOnce(backend, cache, seq, {7}, false, capture);
            QCOMPARE(out.residual.empty(), !capture);
            logits[capture] = out.logits;
        }
        QVERIFY(logits[0] == logits[1]);
    }

    void offClearsStaleResidual()
    {
        auto m = smallModel(Architecture::Llama, DType::F32);
        const ModelConfig& c = m->config();
        CpuBackend backend(m, 1);
        KvCache cache(c.kvBytesPerToken(4));
        const int seq = cache.createSequence();
        cache.append(seq, 3);
        backend.reserveKvBlocks(cache.blocksNeeded());
        const std::vector<int32_t> tokens = {1, 2, 3};
        SequenceInput in;
        in.tokens = tokens;
        in.blockTable = cache.blockTable(seq);
        SequenceOutput out;
        out.residual.assign(17, 1.0f); // left over from an earlier call
        backend.forward(std::span<const SequenceInput>(&in, 1), std::span<SequenceOutput>(&out, 1), {});
        QVERIFY(out.residual.empty());
    }

    void batchedSequencesGetTheirOwnResidual()
    {
        auto m = smallModel(Architecture::Qwen2, DType::F32);
        const ModelConfig& c = m->config();
        const int C = c.hidden, L = c.layers;
        const std::vector<std::vector<int32_t>> prompts = {randomIds(5, c.vocabSize, 1), randomIds(9, c.vocabSize, 2),
                                                           {}};
        // Each sequence alone.
        std::vector<std::vector<float>> alone;
        for (const auto& p : prompts) {
            CpuBackend backend(m, 2);
            KvCache cache(c.kvBytesPerToken(4));
            const int seq = cache.createSequence();
            alone.push_back(p.empty() ? std::vector<float>() : test::forwardOnce(backend, cache, seq, p, false, true).residual);
        }
        // All three in one batch (the last has no new tokens).
        CpuBackend backend(m, 2);
        KvCache cache(c.kvBytesPerToken(4));
        std::vector<SequenceInput> batch(prompts.size());
        std::vector<int> seqs;
        for (size_t i = 0; i < prompts.size(); ++i) {
            seqs.push_back(cache.createSequence());
            cache.append(seqs.back(), std::max(1, int(prompts[i].size())));
        }
        backend.reserveKvBlocks(cache.blocksNeeded());
        for (size_t i = 0; i < prompts.size(); ++i) {
            batch[i].tokens = prompts[i];
            batch[i].blockTable = cache.blockTable(seqs[i]);
        }
        std::vector<SequenceOutput> out(prompts.size());
        ForwardOptions opt;
        opt.captureResidual = true;
        backend.forward(batch, out, opt);
        for (size_t i = 0; i < prompts.size(); ++i) {
            QCOMPARE(out[i].residual.size(), prompts[i].empty() ? size_t(0) : size_t(L) * C);
            for (size_t j = 0; j < out[i].residual.size(); ++j)
                QVERIFY(std::fabs(out[i].residual[j] - alone[i][j]) < 1e-4f * (1.0f + std::fabs(alone[i][j])));
        }
    }

    void layer0ByHand_data() { addArchRows(); }
    void layer0ByHand()
    {
        QFETCH(int, arch);
        QFETCH(int, dtype);
        auto m = smallModel(Architecture(arch), DType(dtype));
        const ModelConfig& c = m->config();
        const int32_t id = 42;
        CpuBackend backend(m, 2);
        KvCache cache(c.kvBytesPerToken(4));
        const int seq = cache.createSequence();
        const SequenceOutput out = test::forwardOnce(backend, cache, seq, {id}, false, true);
        const std::vector<double> want = test::handLayer0(*m, id);
        double worst = 0, scale = 0;
        for (int i = 0; i < c.hidden; ++i) {
            worst = std::max(worst, std::fabs(double(out.residual[size_t(i)]) - want[size_t(i)]));
            scale = std::max(scale, std::fabs(want[size_t(i)]));
        }
        QVERIFY2(worst <= 1e-5 * std::max(1.0, scale), qPrintable(QString("max |diff| %1 (scale %2)").arg(worst).arg(scale)));
    }

    void everyLayerMatchesNaiveProjection_data() { addArchRows(); }
    void everyLayerMatchesNaiveProjection()
    {
        QFETCH(int, arch);
        QFETCH(int, dtype);
        auto m = smallModel(Architecture(arch), DType(dtype));
        const ModelConfig& c = m->config();
        const int V = c.vocabSize, C = c.hidden, L = c.layers;
        CpuBackend backend(m, 2);
        KvCache cache(c.kvBytesPerToken(4));
        const int seq = cache.createSequence();
        const SequenceOutput out = test::forwardOnce(backend, cache, seq, randomIds(6, V, 4), false, true);
        LogitLens lens(m, 2);
        std::vector<float> logits(size_t(L) * V);
        lens.project(out.residual.data(), L, logits.data());
        const std::vector<LayerLens> layers = lens.run(out.residual, 5);
        for (int l = 0; l < L; ++l) {
            const std::vector<double> want = test::naiveProject(*m, &out.residual[size_t(l) * C]);
            double worst = 0;
            for (int v = 0; v < V; ++v)
                worst = std::max(worst, std::fabs(double(logits[size_t(l) * V + v]) - want[size_t(v)]));
            QVERIFY2(worst < 1e-4, qPrintable(QString("layer %1: max |diff| %2").arg(l).arg(worst)));
            // The run's top-5 is that of the naive logits.
            std::vector<float> wantF(want.begin(), want.end());
            const auto top = topOf(wantF.data(), V, 5);
            for (size_t i = 0; i < top.size(); ++i) {
                QCOMPARE(layers[size_t(l)].top[i].id, top[i].first);
                QVERIFY(std::fabs(layers[size_t(l)].top[i].logprob - top[i].second) < 1e-4);
            }
            QCOMPARE(layers[size_t(l)].chosenRank, -1);
        }
    }

    void chosenRankAndProbability()
    {
        auto m = smallModel(Architecture::Llama, DType::F16);
        const ModelConfig& c = m->config();
        const int V = c.vocabSize, C = c.hidden, L = c.layers;
        CpuBackend backend(m, 2);
        KvCache cache(c.kvBytesPerToken(4));
        const int seq = cache.createSequence();
        const SequenceOutput out = test::forwardOnce(backend, cache, seq, randomIds(4, V, 9), false, true);
        LogitLens lens(m, 1);
        std::vector<float> logits(size_t(L) * V);
        lens.project(out.residual.data(), L, logits.data());
        for (int32_t chosen : {0, 17, 299}) {
            const std::vector<LayerLens> layers = lens.run(out.residual, 5, chosen);
            for (int l = 0; l < L; ++l) {
                const std::vector<double> lp = test::logSoftmax(&logits[size_t(l) * V], V);
                int better = 0;
                for (int v = 0; v < V; ++v)
                    better += lp[size_t(v)] > lp[size_t(chosen)] || (lp[size_t(v)] == lp[size_t(chosen)] && v < chosen);
                QCOMPARE(layers[size_t(l)].chosenRank, better);
                QVERIFY(std::fabs(layers[size_t(l)].chosenLogprob - lp[size_t(chosen)]) < 1e-5);
                if (better < 5)
                    QCOMPARE(layers[size_t(l)].top[size_t(better)].id, chosen);
            }
        }
        // The top token of a layer has rank 0.
        const int32_t top0 = lens.run(out.residual, 1).front().top.front().id;
        QCOMPARE(lens.run(out.residual, 1, top0).front().chosenRank, 0);
        (void)C;
    }

    void badInputIsRejected()
    {
        auto m = smallModel(Architecture::Llama, DType::F32);
        LogitLens lens(m, 1);
        const std::vector<float> ragged(size_t(m->config().hidden) + 3, 0.0f);
        QVERIFY_THROWS_EXCEPTION(Error, lens.run(ragged, 5));
        const std::vector<float> one(size_t(m->config().hidden), 0.5f);
        QVERIFY_THROWS_EXCEPTION(Error, lens.run(one, 5, m->config().vocabSize));
        QCOMPARE(lens.run(one, 5, 3).size(), size_t(1));
    }
};

QTEST_GUILESS_MAIN(TestLogitLens)
#include "tst_logit_lens.moc"
