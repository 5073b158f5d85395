// The controller and its worker thread against a real model: load → prefill → step → rewind →
// branch → reset, sampling changes re-drawn from the engine's chain, a corrupt model file, and
// destroying the controller while it generates. Signals are awaited with QSignalSpy / QTRY_*.
#include "models/candidate_model.h"
#include "models/generated_tokens_model.h"
#include "models/inference_controller.h"
#include "models/lane_model.h"
#include "models/measurements.h"
#include "models/prompt_tokens_model.h"
#include "test_model.h"

#include "decoding/session.h"
#include "model/backend.h"
#include "model/model.h"

#include <QAbstractItemModelTester>
#include <QElapsedTimer>
#include <QTemporaryDir>
#include <QtTest>

#include <cmath>

using namespace logitscope;
using namespace logitscope::gui;

namespace {

constexpr int kTimeout = 30000;
const QString kPrompt = QStringLiteral("The old man looked at the river and");

SamplingParams longGreedy()
{
    SamplingParams p;
    p.greedy = true;
    p.minNewTokens = 40; // no EOS before 40 tokens: the steps below never end the lane
    p.maxNewTokens = 64;
    return p;
}

void loadAndRead(InferenceController& c, const QString& path, const SamplingParams& params)
{
    QVERIFY(logitscope::test::loadOnCpu(c, path));
    c.setSampling(params);
    c.setPrompt(kPrompt);
    QTRY_VERIFY_WITH_TIMEOUT(c.promptTokenCount() > 0, kTimeout);
    QSignalSpy prefilled(&c, &InferenceController::prefillFinished);
    QSignalSpy progress(&c, &InferenceController::prefillProgress);
    c.step(); // reads the prompt
    QTRY_COMPARE_WITH_TIMEOUT(prefilled.count(), 1, kTimeout);
    QTRY_VERIFY_WITH_TIMEOUT(c.preview().has_value() && !c.isBusy(), kTimeout);
    // One progress report per layer of the prompt's forward pass, ending at "all layers done".
    QCOMPARE(progress.count(), c.modelInfo().layers);
    QCOMPARE(progress.last().at(0).toInt(), c.modelInfo().layers);
    QCOMPARE(progress.last().at(1).toInt(), c.modelInfo().layers);
}

// With a model loaded: reads kPrompt greedily, then chooses one token.
void readAndStepOnce(InferenceController& c)
{
    c.setSampling(longGreedy());
    c.setPrompt(kPrompt);
    QTRY_VERIFY_WITH_TIMEOUT(c.promptTokenCount() > 0, kTimeout);
    QSignalSpy steps(&c, &InferenceController::stepAvailable);
    c.step(); // reads the prompt
    QTRY_VERIFY_WITH_TIMEOUT(c.isPrefilled() && !c.isBusy(), kTimeout);
    c.step();
    QTRY_COMPARE_WITH_TIMEOUT(steps.count(), 1, kTimeout);
    QTRY_VERIFY_WITH_TIMEOUT(!c.isBusy(), kTimeout);
}

} // namespace

class TstInferenceController : public QObject {
    Q_OBJECT
private slots:
    // The KV cache as fp16: half the bytes per token, reported as such, and the session runs as usual;
    // a reset keeps the choice (a fresh backend like the old one).
    void fp16KvCache()
    {
        REQUIRE_TEST_MODEL(path);
        InferenceController c;
        Measurements measurements(&c);
        QVERIFY(logitscope::test::loadOnCpu(c, path));
        const quint64 fp32Bytes = c.modelInfo().kvBytesPerToken;
        QCOMPARE(c.modelInfo().kvElementBytes, 4);
        QVERIFY(logitscope::test::loadOnCpu(c, path, QStringLiteral("f16")));
        QCOMPARE(c.modelInfo().kvElementBytes, 2);
        QCOMPARE(c.modelInfo().kvBytesPerToken * 2, fp32Bytes);
        readAndStepOnce(c);
        QCOMPARE(c.generatedCount(), 1);
        measurements.requestKv();
        QTRY_VERIFY_WITH_TIMEOUT(measurements.kv().valid && measurements.kv().stats.tokensStored > 0, kTimeout);
        QCOMPARE(measurements.kv().elementBytes, quint64(2));
        QCOMPARE(quint64(measurements.kv().stats.bytesPerToken), c.modelInfo().kvBytesPerToken);

        c.reset();
        QTRY_VERIFY_WITH_TIMEOUT(!c.isBusy() && c.generatedCount() == 0, kTimeout);
        c.setPrompt(kPrompt);
        QTRY_VERIFY_WITH_TIMEOUT(c.promptTokenCount() > 0, kTimeout);
        c.step();
        QTRY_VERIFY_WITH_TIMEOUT(c.isPrefilled() && !c.isBusy(), kTimeout);
        QSignalSpy fresh(&measurements, &Measurements::kvAvailable);
        measurements.requestKv();
        QTRY_VERIFY_WITH_TIMEOUT(fresh.count() > 0, kTimeout);
        QVERIFY(measurements.kv().stats.tokensStored > 0);
        QCOMPARE(measurements.kv().elementBytes, quint64(2)); // still fp16 after the reset
    }

    // The Model panel's Weights choice: the matrices requantized in memory; the model says so, its
    // weights shrink, it generates; an unknown type fails with its name and leaves the controller usable.
    void requantizedWeights()
    {
        REQUIRE_TEST_MODEL(path);
        InferenceController c;
        QVERIFY(logitscope::test::loadOnCpu(c, path));
        const quint64 stored = c.modelInfo().weightBytes;
        QVERIFY(c.modelInfo().requantized.isEmpty());
        QVERIFY(logitscope::test::loadOnCpu(c, path, QStringLiteral("f32"), QStringLiteral("q8_0")));
        QCOMPARE(c.modelInfo().requantized, QStringLiteral("q8_0"));
        // ("Q8_0+F16" for ref-llama-spm: its 688-wide ffn_down rows fit no block format and stay F16)
        QVERIFY2(c.modelInfo().dtype.startsWith(QStringLiteral("Q8_0")), qPrintable(c.modelInfo().dtype));
        QVERIFY(c.modelInfo().name.endsWith(QStringLiteral("(requantized to Q8_0)")));
        QVERIFY(c.modelInfo().weightBytes < stored * 7 / 10);
        QVERIFY2(c.modelInfo().weightTypes.first().startsWith(QStringLiteral("Q8_0: ")) &&
                     c.modelInfo().weightTypes.first().endsWith(QStringLiteral("8.50 bits per value")),
                 qPrintable(c.modelInfo().weightTypes.join(QStringLiteral("; "))));
        readAndStepOnce(c);
        QCOMPARE(c.generatedCount(), 1);

        QSignalSpy failed(&c, &InferenceController::modelLoadFailed);
        c.loadModel(path, QStringLiteral("cpu"), 0, QStringLiteral("f32"), QStringLiteral("q3"));
        QTRY_COMPARE_WITH_TIMEOUT(failed.count(), 1, kTimeout);
        QVERIFY2(failed.first().at(1).toString().contains(QStringLiteral("'q3'")), qPrintable(failed.first().at(1).toString()));
        QTRY_VERIFY_WITH_TIMEOUT(!c.isBusy(), kTimeout);
        QCOMPARE(c.modelInfo().requantized, QStringLiteral("q8_0")); // the loaded model stays
    }

    void loadPrefillStepRewindBranchReset()
    {
        REQUIRE_TEST_MODEL(path);
        InferenceController c;
        QAbstractItemModelTester t1(c.promptTokens(), QAbstractItemModelTester::FailureReportingMode::QtTest);
        QAbstractItemModelTester t2(c.generatedTokens(), QAbstractItemModelTester::FailureReportingMode::QtTest);
        QAbstractItemModelTester t3(c.laneModel(), QAbstractItemModelTester::FailureReportingMode::QtTest);
        QAbstractItemModelTester t4(c.candidates(), QAbstractItemModelTester::FailureReportingMode::QtTest);

        loadAndRead(c, path, longGreedy());
        QVERIFY(c.hasModel());
        QVERIFY(c.modelInfo().contextLength > 0);
        QVERIFY(c.modelInfo().kvBytesPerToken > 0);
        QVERIFY(c.isPrefilled());
        QCOMPARE(c.generatedCount(), 0);
        QVERIFY(c.distribution().valid && c.distribution().preview);
        QCOMPARE(c.candidates()->rowCount(), 20);
        const int wouldChoose = c.preview()->sample.chosen;

        // step x3
        QSignalSpy steps(&c, &InferenceController::stepAvailable);
        for (int i = 0; i < 3; ++i) {
            c.step();
            QTRY_COMPARE_WITH_TIMEOUT(steps.count(), i + 1, kTimeout);
            QTRY_VERIFY_WITH_TIMEOUT(!c.isBusy(), kTimeout);
        }
        QCOMPARE(c.generatedCount(), 3);
        QCOMPARE(c.generatedTokens()->record(0).chosen, wouldChoose); // greedy: the preview's choice
        const auto first = c.generatedTokens()->record(0);

        // rewind one
        c.rewind(1);
        QTRY_COMPARE_WITH_TIMEOUT(c.generatedCount(), 2, kTimeout);
        QTRY_VERIFY_WITH_TIMEOUT(!c.isBusy(), kTimeout);
        // the restored preview is the distribution of step 2 again
        QTRY_VERIFY_WITH_TIMEOUT(c.preview().has_value() && c.preview()->step == 2, kTimeout);

        // branch at step 0 with the second most likely raw token
        int alternative = -1;
        for (const auto& t : first.rawTop)
            if (t.id != first.chosen) {
                alternative = t.id;
                break;
            }
        QVERIFY(alternative >= 0);
        c.branch(0, alternative);
        QTRY_COMPARE_WITH_TIMEOUT(c.lanes().size(), size_t(2), kTimeout);
        QTRY_VERIFY_WITH_TIMEOUT(!c.isBusy(), kTimeout);
        QVERIFY(c.currentLane() != 0);
        QCOMPARE(c.generatedCount(), 1);
        QCOMPARE(c.generatedTokens()->record(0).chosen, alternative);
        QVERIFY(c.generatedTokens()->record(0).forced);
        QCOMPARE(c.laneModel()->rowCount(), 2);

        // back to the original path: its two tokens are still there
        c.selectLane(0);
        QTRY_COMPARE_WITH_TIMEOUT(c.currentLane(), 0, kTimeout);
        QTRY_COMPARE_WITH_TIMEOUT(c.generatedCount(), 2, kTimeout);
        QTRY_VERIFY_WITH_TIMEOUT(!c.isBusy(), kTimeout);
        QCOMPARE(c.generatedTokens()->record(0).chosen, first.chosen);

        // a past step's distribution on click
        c.selectStep(1);
        QCOMPARE(c.distribution().step, 1);
        QVERIFY(!c.distribution().preview);
        c.selectStep(-1);

        // reset
        QSignalSpy reset(&c, &InferenceController::resetFinished);
        c.reset();
        QTRY_COMPARE_WITH_TIMEOUT(reset.count(), 1, kTimeout);
        QTRY_VERIFY_WITH_TIMEOUT(!c.isBusy(), kTimeout);
        QVERIFY(!c.isPrefilled());
        QCOMPARE(c.generatedCount(), 0);
        QCOMPARE(c.laneModel()->rowCount(), 0);
        // and it starts again
        QSignalSpy prefilled(&c, &InferenceController::prefillFinished);
        c.step();
        QTRY_COMPARE_WITH_TIMEOUT(prefilled.count(), 1, kTimeout);
    }

    void samplingChangeMatchesEngineChain()
    {
        REQUIRE_TEST_MODEL(path);
        InferenceController c;
        SamplingParams params;
        params.seed = 7;
        loadAndRead(c, path, params);

        // The same prompt through an engine Session of our own, on this thread.
        auto model = Model::load(path.toStdString());
        Session session(model, createBackend(model, "cpu", 1));
        session.prefill(session.tokenize(kPrompt.toStdString()), params);
        const std::vector<float> logits = session.currentLogits(0);

        for (double t : {0.5, 1.7, 1.0}) {
            params.temperature = t;
            QSignalSpy applied(&c, &InferenceController::samplingApplied);
            QSignalSpy drawn(&c, &InferenceController::distributionAvailable);
            c.setSampling(params);
            QTRY_VERIFY_WITH_TIMEOUT(applied.count() >= 1 && drawn.count() >= 1, kTimeout);

            // softmax(logits / T) over the whole vocabulary
            double mx = -INFINITY;
            for (float l : logits)
                mx = std::max(mx, double(l) / t);
            double z = 0;
            for (float l : logits)
                z += std::exp(double(l) / t - mx);
            session.setSampling(0, params);
            const auto engine = session.preview(0);
            const Distribution& d = c.distribution();
            QVERIFY(d.bars.size() >= 20); // the raw top 20, plus the chosen token when it lies outside
            for (const auto& bar : d.bars) {
                const double expected = std::exp(double(logits[size_t(bar.id)]) / t - mx) / z;
                QVERIFY2(std::abs(bar.finalProb - expected) < 1e-5,
                         qPrintable(QString("T=%1 id %2: bar %3, softmax %4").arg(t).arg(bar.id).arg(bar.finalProb).arg(expected)));
            }
            QCOMPARE(d.chosen, engine.sample.chosen);
        }

        // An invalid value: the engine's message comes back, nothing is applied.
        SamplingParams bad = params;
        bad.topP = 1.5;
        QSignalSpy failed(&c, &InferenceController::samplingFailed);
        c.setSampling(bad);
        QTRY_COMPARE_WITH_TIMEOUT(failed.count(), 1, kTimeout);
        QVERIFY(failed.first().first().toString().contains(QStringLiteral("top_p")));
        QCOMPARE(c.sampling().topP, params.topP);
    }

    void corruptModelFileFails()
    {
        QTemporaryDir dir;
        const QString bad = dir.filePath(QStringLiteral("broken.gguf"));
        QFile f(bad);
        QVERIFY(f.open(QIODevice::WriteOnly));
        f.write("GGUF this is not really a model file at all, just some bytes");
        f.close();

        InferenceController c;
        QSignalSpy failed(&c, &InferenceController::modelLoadFailed);
        c.loadModel(bad, QStringLiteral("cpu"));
        QTRY_COMPARE_WITH_TIMEOUT(failed.count(), 1, kTimeout);
        QVERIFY(!failed.first().at(1).toString().isEmpty());
        QVERIFY(!c.hasModel());
        QVERIFY(!c.isBusy());

        // the controller is still usable
        REQUIRE_TEST_MODEL(path);
        QVERIFY(logitscope::test::loadOnCpu(c, path));
        QVERIFY(c.hasModel());
    }

    void destroyWhileRunning()
    {
        REQUIRE_TEST_MODEL(path);
        auto* c = new InferenceController;
        SamplingParams p;
        p.minNewTokens = 400;
        p.maxNewTokens = 400;
        loadAndRead(*c, path, p);
        c->run();
        QTRY_VERIFY_WITH_TIMEOUT(c->generatedCount() > 5, kTimeout);
        QVERIFY(c->isRunning());
        QElapsedTimer clock;
        clock.start();
        delete c; // cancels, quits and joins the worker thread
        QVERIFY2(clock.elapsed() < 5000, qPrintable(QString("took %1 ms").arg(clock.elapsed())));
    }

    void loadAnotherModelWhileRunning()
    {
        // Opening a model mid-run stops the run between tokens, swaps the session and leaves the
        // controller ready: the new model reads a prompt and steps like the first one did.
        REQUIRE_TEST_MODEL(path);
        InferenceController c;
        SamplingParams p;
        p.minNewTokens = 300;
        p.maxNewTokens = 300;
        loadAndRead(c, path, p);
        c.run();
        QTRY_VERIFY_WITH_TIMEOUT(c.generatedCount() > 3, kTimeout);
        QVERIFY(logitscope::test::loadOnCpu(c, path));
        QTRY_VERIFY_WITH_TIMEOUT(!c.isRunning() && !c.isBusy(), kTimeout);
        QSignalSpy prefilled(&c, &InferenceController::prefillFinished);
        c.setPrompt(kPrompt);
        QTRY_VERIFY_WITH_TIMEOUT(c.promptTokenCount() > 0, kTimeout);
        c.step();
        QTRY_COMPARE_WITH_TIMEOUT(prefilled.count(), 1, kTimeout);
        QTRY_VERIFY_WITH_TIMEOUT(!c.isBusy(), kTimeout);
        QSignalSpy steps(&c, &InferenceController::stepAvailable);
        c.step();
        QTRY_COMPARE_WITH_TIMEOUT(steps.count(), 1, kTimeout);
        QCOMPARE(c.generatedCount(), 1);
    }

    void pauseStopsARun()
    {
        REQUIRE_TEST_MODEL(path);
        InferenceController c;
        SamplingParams p;
        p.minNewTokens = 200;
        p.maxNewTokens = 200;
        loadAndRead(c, path, p);
        QSignalSpy finished(&c, &InferenceController::runFinished);
        c.run();
        QTRY_VERIFY_WITH_TIMEOUT(c.generatedCount() > 3, kTimeout);
        c.pause();
        QTRY_COMPARE_WITH_TIMEOUT(finished.count(), 1, kTimeout);
        QVERIFY(!c.isRunning());
        const int n = c.generatedCount();
        QTest::qWait(100);
        QCOMPARE(c.generatedCount(), n);
        QVERIFY(n < 200);
    }
};

QTEST_MAIN(TstInferenceController)
#include "tst_inference_controller.moc"
