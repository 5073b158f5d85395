// Lifecycle of a Session under cancellation: a cancel during a long prefill or during generation
// returns within 100 ms, leaves no KV blocks behind, and the session keeps working afterwards.
// Synthetic random-weight model (no tokenizer, no files); the GUI side of cancellation is tested in tests/gui/.
#include "common/error.h"
#include "decoding/session.h"
#include "model/backend.h"
#include "model/model.h"
#include "model/model_writer.h"
#include "model/synthetic_model.h"

#include <QTemporaryDir>
#include <QtTest>

#include <atomic>
#include <chrono>
#include <thread>

using namespace logitscope;
using Clock = std::chrono::steady_clock;

namespace {

double msBetween(Clock::time_point a, Clock::time_point b)
{
    return std::chrono::duration<double, std::milli>(b - a).count();
}

// Many thin layers: a long prefill, but a short time between two cancellation checks.
std::shared_ptr<const Model> longPrefillModel()
{
    static const auto model = SyntheticModelBuilder::build(
        syntheticConfig(Architecture::Llama, 512, 256, 64, 4, 2, 768, 4096), DType::F32, 3);
    return model;
}

std::vector<int32_t> promptOf(int n)
{
    std::vector<int32_t> ids(static_cast<size_t>(n));
    for (int i = 0; i < n; ++i)
        ids[size_t(i)] = (i * 37 + 11) % 270; // inside both models' vocabularies
    return ids;
}

SamplingParams sampled()
{
    SamplingParams p;
    p.temperature = 0.8;
    p.seed = 5;
    p.maxNewTokens = 1000;
    return p;
}

// Runs f on a worker thread, sets `flag` after `delayMs`, and returns the ms from setting the flag to
// f returning (f must end by throwing Cancelled: `cancelled` says whether it did).
template <typename F>
double cancelAfter(std::atomic<bool>& flag, double delayMs, F&& f, bool& cancelled, double& ranMs)
{
    std::atomic<bool> done{false};
    Clock::time_point finished;
    cancelled = false;
    const auto start = Clock::now();
    std::thread worker([&] {
        try {
            f();
        } catch (const Cancelled&) {
            cancelled = true;
        }
        finished = Clock::now();
        done = true;
    });
    while (!done && msBetween(start, Clock::now()) < delayMs)
        std::this_thread::sleep_for(std::chrono::milliseconds(1));
    const auto set = Clock::now();
    flag = true;
    worker.join();
    ranMs = msBetween(start, finished);
    return done && finished > set ? msBetween(set, finished) : 0.0;
}

} // namespace

class TestLifecycle : public QObject {
    Q_OBJECT

private slots:
    void cancelLongPrefill()
    {
        const auto model = longPrefillModel();
        Session s(model, createBackend(model, "cpu", 2));
        std::atomic<bool> cancel{false};
        s.setCancelFlag(&cancel);
        const auto prompt = promptOf(1024);

        // The whole prefill must take long enough that a cancel lands in its middle (else the test
        // measures nothing); 300 ms leaves the cancel 100 ms to land in.
        const auto t0 = Clock::now();
        s.prefill(prompt, sampled());
        const double fullMs = msBetween(t0, Clock::now());
        qInfo("full prefill of %zu tokens through %d layers: %.0f ms", prompt.size(), model->config().layers, fullMs);
        QVERIFY2(fullMs > 300, qPrintable(QString("prefill took only %1 ms").arg(fullMs)));

        bool cancelled = false;
        double ranMs = 0;
        const double latency = cancelAfter(cancel, fullMs / 3, [&] { s.prefill(prompt, sampled()); }, cancelled, ranMs);
        qInfo("cancel after %.0f ms: returned %.1f ms after the flag was set", ranMs - latency, latency);
        QVERIFY(cancelled);
        QVERIFY2(latency < 100, qPrintable(QString("cancel took %1 ms").arg(latency)));

        // Nothing half-built: no prompt, no lanes, no KV blocks; and the session still works: a new
        // prefill gives what a session that was never cancelled gives.
        QVERIFY(!s.hasPrompt());
        QCOMPARE(s.kvStats().blocksUsed, 0);
        cancel = false;
        s.prefill(promptOf(40), sampled());
        QCOMPARE(int(s.lanes().size()), 1);
        Session fresh(model, createBackend(model, "cpu", 2));
        fresh.prefill(promptOf(40), sampled());
        QCOMPARE(s.kvStats().blocksUsed, fresh.kvStats().blocksUsed);
        QCOMPARE(s.currentLogits(0), fresh.currentLogits(0));
    }

    void cancelDuringGeneration()
    {
        // Stepping decodes tokens, so this model needs a tokenizer: the 270-token GPT-2-style vocabulary
        // of the fuzz seed corpus.
        const std::string vocab = std::string(LOGITSCOPE_SOURCE_DIR) + "/fuzz/corpus/gguf_vocab/gpt2-vocab.gguf";
        QTemporaryDir dir;
        const std::string file = dir.filePath("small.gguf").toStdString();
        writeModel(*SyntheticModelBuilder::build(syntheticConfig(Architecture::Llama, 270, 64, 4, 4, 2, 128, 4096)),
                   ModelFormat::Gguf, file, vocab);
        const auto model = Model::load(file);
        Session s(model, createBackend(model, "cpu", 2));
        std::atomic<bool> cancel{false};
        s.setCancelFlag(&cancel);
        SamplingParams endless = sampled();
        endless.maxNewTokens = 4096 - 64;            // the whole context: far more steps than fit in 300 ms
        endless.minNewTokens = endless.maxNewTokens; // EOS masked: the lane cannot finish before the cancel
        s.prefill(promptOf(64), endless);
        int steps = 0;
        bool cancelled = false;
        double ranMs = 0;
        const double latency = cancelAfter(cancel, 300, [&] {
            for (;;) {
                s.step(0);
                ++steps;
            }
        }, cancelled, ranMs);
        qInfo("generation cancelled after %d steps: returned %.1f ms after the flag was set", steps, latency);
        QVERIFY(cancelled);
        QVERIFY2(latency < 100, qPrintable(QString("cancel took %1 ms").arg(latency)));
        // The cancelled step left no trace: history and KV length agree, and stepping goes on.
        QCOMPARE(int(s.history(0).size()), steps);
        QCOMPARE(s.kvStats().tokensLogical, int64_t(64 + 64 + steps));
        cancel = false;
        s.step(0);
        QCOMPARE(int(s.history(0).size()), steps + 1);
    }
};

QTEST_GUILESS_MAIN(TestLifecycle)
#include "tst_lifecycle.moc"
