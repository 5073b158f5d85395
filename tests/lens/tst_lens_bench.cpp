// Lens and embeddings benchmark (label bench), 2 threads (LOGITSCOPE_BENCH_THREADS): a random 50k x 2k F16
// embedding matrix — building the index (every row's norm) and top-10 nearest-neighbour queries — and the
// logit lens's cost per decode step on a random SmolLM2-135M-shaped F16 model.
// Prints milliseconds; asserts only that the answers are sane (timings depend on the machine's load).
#include "lens_test_support.h"

#include "model/embeddings.h"
#include "model/logit_lens.h"
#include "model/synthetic_model.h"

#include <QtTest>

#include <chrono>

using namespace logitscope;

namespace {

double msSince(std::chrono::steady_clock::time_point t0)
{
    return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
}

int benchThreads()
{
    const int n = qEnvironmentVariableIntValue("LOGITSCOPE_BENCH_THREADS");
    return n > 0 ? n : 2;
}

} // namespace

class TstLensBench : public QObject {
    Q_OBJECT
private slots:
    void embeddingsFiftyThousandByTwoThousand()
    {
        const int threads = benchThreads();
        // One small layer: only the (tied) embedding matrix matters here.
        const ModelConfig c = syntheticConfig(Architecture::Llama, 50000, 2048, 1, 16, 16, 64, 2048, true);
        auto model = SyntheticModelBuilder::build(c, DType::F16, 1);

        auto t0 = std::chrono::steady_clock::now();
        EmbeddingIndex index(model, threads);
        const double buildMs = msSince(t0);
        double firstMs = 0, total = 0;
        const int queries = 5;
        for (int i = 0; i < queries; ++i) {
            const int32_t id = int32_t(i * 9973 % c.vocabSize);
            t0 = std::chrono::steady_clock::now();
            const std::vector<Neighbour> near = index.nearest(id, 10);
            const double ms = msSince(t0);
            if (i == 0)
                firstMs = ms;
            total += ms;
            QCOMPARE(near.front().id, id);
            QCOMPARE(int(near.size()), 10);
        }
        std::printf("embeddings 50000 x 2048 F16, %d threads: build %.1f ms, first query %.1f ms, "
                    "mean query %.1f ms, build + query %.1f ms\n",
                    threads, buildMs, firstMs, total / queries, buildMs + firstMs);
    }

    void lensSmolLm2Shape()
    {
        const int threads = benchThreads();
        // SmolLM2-135M: C=576, L=30, H=9, Hkv=3, F=1536, V=49152, tied embeddings.
        const ModelConfig c = syntheticConfig(Architecture::Llama, 49152, 576, 30, 9, 3, 1536, 2048, true);
        auto model = SyntheticModelBuilder::build(c, DType::F16, 1);
        CpuBackend backend(model, threads);
        KvCache cache(c.kvBytesPerToken(4));
        const int seq = cache.createSequence();
        std::vector<int32_t> prompt(32);
        for (size_t i = 0; i < prompt.size(); ++i)
            prompt[i] = int32_t(i * 131 % size_t(c.vocabSize));
        test::forwardOnce(backend, cache, seq, prompt, false, false);
        LogitLens lens(model, threads);
        const int steps = 8;
        double plain = 0, captured = 0, projected = 0;
        for (int i = 0; i < steps; ++i) {
            auto t0 = std::chrono::steady_clock::now();
            test::forwardOnce(backend, cache, seq, {int32_t(100 + i)}, false, false);
            plain += msSince(t0);
            t0 = std::chrono::steady_clock::now();
            const SequenceOutput out = test::forwardOnce(backend, cache, seq, {int32_t(200 + i)}, false, true);
            captured += msSince(t0);
            t0 = std::chrono::steady_clock::now();
            const std::vector<LayerLens> layers = lens.run(out.residual, 5, 7);
            projected += msSince(t0);
            QCOMPARE(int(layers.size()), c.layers);
        }
        std::printf("logit lens, SmolLM2-135M shape F16, %d threads: decode step %.2f ms, with residual capture "
                    "%.2f ms, lens projection (30 layers, top-5 + rank) %.2f ms\n",
                    threads, plain / steps, captured / steps, projected / steps);
    }
};

QTEST_GUILESS_MAIN(TstLensBench)
#include "tst_lens_bench.moc"
