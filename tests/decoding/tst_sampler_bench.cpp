// Bench: re-running the whole sampler chain (with every stage snapshot) on a cached 50k-vocabulary logit
// vector, as the GUI does while a slider moves. Prints the median per configuration; the typical chain
// must stay under 1 ms in an optimised build.
#include "decoding/sampler_chain.h"

#include <QtTest>

#include <algorithm>
#include <chrono>
#include <random>

using namespace logitscope;

namespace {

std::vector<float> llmLikeLogits(int vocab, unsigned seed)
{
    // A broad normal body plus a handful of strong candidates, roughly like a real next-token distribution.
    std::mt19937 rng(seed);
    std::normal_distribution<float> body(-2.0f, 2.5f);
    std::vector<float> logits(static_cast<size_t>(vocab));
    for (float& v : logits)
        v = body(rng);
    std::uniform_int_distribution<int> pick(0, vocab - 1);
    for (int i = 0; i < 30; ++i)
        logits[size_t(pick(rng))] = 8.0f + float(i % 7);
    return logits;
}

double medianMs(const SamplerChain& chain, const std::vector<float>& logits, const SamplingContext& ctx, int runs)
{
    std::vector<double> ms;
    static volatile int32_t sink = 0; // keeps the calls from being optimised away
    for (int i = 0; i < runs; ++i) {
        const auto t0 = std::chrono::steady_clock::now();
        const SampleResult r = chain.sample(logits, ctx);
        const auto t1 = std::chrono::steady_clock::now();
        sink = sink + r.chosen;
        ms.push_back(std::chrono::duration<double, std::milli>(t1 - t0).count());
    }
    std::sort(ms.begin(), ms.end());
    return ms[ms.size() / 2];
}

} // namespace

class TstSamplerBench : public QObject {
    Q_OBJECT
private slots:
    void chain50k_data()
    {
        QTest::addColumn<QString>("config");
        QTest::addColumn<bool>("mustBeFast");
        QTest::newRow("hf: rep 1.1, temp 0.8, top-k 40, top-p 0.95, min-p 0.05") << "hf" << true;
        QTest::newRow("vllm: rep 1.1, presence 0.5, temp 0.8, min-p 0.05, top-p 0.95") << "vllm" << false;
        QTest::newRow("llama.cpp: rep 1.1, top-k 40, top-p 0.95, min-p 0.05, temp 0.8") << "llama" << true;
        QTest::newRow("temperature only") << "temp" << false;
        QTest::newRow("typical-p 0.9 on the full vocabulary") << "typical" << false;
        QTest::newRow("greedy with repetition 1.3") << "greedy" << false;
    }
    void chain50k()
    {
        QFETCH(QString, config);
        QFETCH(bool, mustBeFast);
        const int vocab = 50257;
        const std::vector<float> logits = llmLikeLogits(vocab, 11);
        std::vector<int32_t> prompt(300), generated(100);
        std::mt19937 rng(3);
        for (int32_t& id : prompt)
            id = int32_t(rng() % vocab);
        for (int32_t& id : generated)
            id = int32_t(rng() % vocab);
        SamplingParams p;
        if (config == "hf" || config == "llama") {
            p.order = config == "hf" ? SamplerOrder::HuggingFace : SamplerOrder::LlamaCpp;
            p.repetitionPenalty = 1.1;
            p.temperature = 0.8;
            p.topK = 40;
            p.topP = 0.95;
            p.minP = 0.05;
        } else if (config == "vllm") {
            p.order = SamplerOrder::Vllm;
            p.repetitionPenalty = 1.1;
            p.presencePenalty = 0.5;
            p.temperature = 0.8;
            p.topP = 0.95;
            p.minP = 0.05;
        } else if (config == "temp") {
            p.temperature = 0.7;
        } else if (config == "typical") {
            p.typicalP = 0.9;
        } else if (config == "greedy") {
            p.temperature = 0;
            p.repetitionPenalty = 1.3;
        }
        SamplerChain chain(p);
        SamplingContext ctx;
        ctx.promptIds = prompt;
        ctx.generatedIds = generated;
        ctx.eosIds = {2};
        (void)medianMs(chain, logits, ctx, 20); // warm up
        const double median = medianMs(chain, logits, ctx, 300);
        qInfo("sampler chain, vocab %d, %s: median %.3f ms (%zu stages)", vocab, qPrintable(config), median,
              chain.stageNames().size());
#ifdef NDEBUG
        if (mustBeFast)
            QVERIFY2(median < 1.0, qPrintable(QString("median %1 ms").arg(median)));
#else
        Q_UNUSED(mustBeFast);
#endif
    }
};

QTEST_APPLESS_MAIN(TstSamplerBench)
#include "tst_sampler_bench.moc"
