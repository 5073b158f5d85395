// The KV cache, serving-metrics, side-by-side lanes, session-file, trace and sweep models: pure
// checks on hand-made records, then the same models fed by the worker on a real model (forked lanes
// sharing blocks, lanes that diverge, save → reopen, export → replay, sweep shapes; no timing asserts).
#include "models/generated_tokens_model.h"
#include "models/inference_controller.h"
#include "models/kv_snapshot.h"
#include "models/lane_comparison.h"
#include "models/lane_runner.h"
#include "models/measurements.h"
#include "models/serving_metrics.h"
#include "models/session_file.h"
#include "models/session_store.h"
#include "models/trace_file.h"
#include "models/trace_replay_model.h"
#include "test_model.h"

#include "model/config.h"
#include "model/model.h"

#include <QAbstractItemModelTester>
#include <QStandardItemModel>
#include <QTemporaryDir>
#include <QtTest>

#include <cmath>

using namespace logitscope;
using namespace logitscope::gui;

namespace {

constexpr int kTimeout = 60000;
const QString kPrompt = QStringLiteral("The old man looked at the river and");

StepRecord record(int lane, int step, int32_t chosen, std::vector<std::pair<int32_t, float>> finalTop)
{
    StepRecord r;
    r.lane = lane;
    r.step = step;
    r.chosen = chosen;
    r.bytes = "t" + std::to_string(chosen);
    StageSnapshot raw;
    raw.name = "raw";
    StageSnapshot fin;
    fin.name = "temperature";
    for (auto [id, p] : finalTop) {
        raw.top.push_back({id, std::log(p), p});
        fin.top.push_back({id, std::log(p), p});
        r.rawTop.push_back({id, std::log(p)});
    }
    raw.survivors = fin.survivors = 100;
    r.sample.stages = {raw, fin};
    r.forwardMs = 2.0;
    return r;
}

void loadAndRead(InferenceController& c, const QString& path, SamplingParams params, const QString& weights = {})
{
    QVERIFY(logitscope::test::loadOnCpu(c, path, QStringLiteral("f32"), weights));
    c.setSampling(params);
    c.setPrompt(kPrompt);
    QTRY_VERIFY_WITH_TIMEOUT(c.promptTokenCount() > 0, kTimeout);
    QSignalSpy prefilled(&c, &InferenceController::prefillFinished);
    c.step();
    QTRY_COMPARE_WITH_TIMEOUT(prefilled.count(), 1, kTimeout);
    QTRY_VERIFY_WITH_TIMEOUT(c.preview().has_value() && !c.isBusy(), kTimeout);
}

// Opens a session file and waits until it is restored; its failing fails the test.
void openAndWait(SessionStore& store, const QString& path, QSignalSpy& restored, QSignalSpy& failed)
{
    store.open(path);
    QTRY_VERIFY_WITH_TIMEOUT(restored.count() + failed.count() > 0, kTimeout);
    QVERIFY2(failed.isEmpty(), failed.isEmpty() ? "" : qPrintable(failed.first().first().toString()));
}

SamplingParams longGreedy()
{
    SamplingParams p;
    p.greedy = true;
    p.minNewTokens = 40;
    p.maxNewTokens = 64;
    return p;
}

} // namespace

class TstMeasurements : public QObject {
    Q_OBJECT
private slots:
    // ---- pure -----------------------------------------------------------------------------------
    void kvFormulaForTheReferenceModel()
    {
        // ref-llama-spm on the CPU: 6 layers, 4 KV heads, head dim 32, fp32.
        QCOMPARE(kvBytesPerToken(6, 4, 32, 4), quint64(6144));
        QVERIFY(kvFormulaText(6, 4, 32, 4).contains(QStringLiteral("6,144 bytes per token")));
        QCOMPARE(attentionScoreBytes(128, 8), quint64(128 * 128 * 8 * 4));
        QCOMPARE(formatBytes(6144), QStringLiteral("6.0 KiB"));
    }

    void servingNumbersUseBenchDefinitions()
    {
        StepTimingModel m;
        QAbstractItemModelTester tester(&m, QAbstractItemModelTester::FailureReportingMode::QtTest);
        PrefillRecord pre;
        pre.ids.assign(50, 1);
        pre.ms = 25;
        m.addPrefill(pre);
        for (int i = 0; i < 4; ++i) {
            auto r = record(0, i, 5, {{5, 1.0f}});
            r.forwardMs = 2.0 + i; // 2, 3, 4, 5
            m.addStep(r);
        }
        auto last = record(0, 4, 5, {{5, 1.0f}});
        last.finish = FinishReason::Length; // ended the lane: no forward pass after it
        last.forwardMs = 0;
        m.addStep(last);
        const ServingNumbers n = m.numbers();
        QCOMPARE(n.ttftMs, 25.0);
        QCOMPARE(n.prefillTokensPerSecond, 2000.0);
        QCOMPARE(n.decodeSteps, 4);
        QCOMPARE(n.tpotMs, 3.5);
        QCOMPARE(n.decodeTokensPerSecond, 1000.0 / 3.5);
        QCOMPARE(m.rowCount(), 5);
        QVERIFY(m.data(m.index(0, 0), StepTimingModel::PrefillRole).toBool());
        // a rewind: step 2 comes again and replaces steps 2 and 3
        m.addStep(record(0, 2, 7, {{7, 1.0f}}));
        QCOMPARE(m.rowCount(), 4);
    }

    void laneDivergenceAndKl()
    {
        QList<ComparisonLane> lanes(2);
        lanes[0].lane = 1;
        lanes[1].lane = 2;
        LaneComparisonModel m;
        QAbstractItemModelTester tester(&m, QAbstractItemModelTester::FailureReportingMode::QtTest);
        m.setLanes(lanes);
        m.appendSteps({record(1, 0, 10, {{10, 0.7f}, {11, 0.3f}}), record(2, 0, 10, {{10, 0.7f}, {11, 0.3f}})});
        m.appendSteps({record(1, 1, 12, {{12, 0.9f}, {13, 0.1f}}), record(2, 1, 13, {{12, 0.4f}, {13, 0.6f}})});
        m.appendSteps({record(1, 2, 14, {{14, 1.0f}}), record(2, 2, 15, {{15, 1.0f}})});
        QCOMPARE(m.rowCount(), 3);
        QCOMPARE(m.columnCount(), 4); // step, A, B, KL(B||A)
        QCOMPARE(m.divergenceStep(), 1);
        QVERIFY(m.data(m.index(1, 0), LaneComparisonModel::DivergenceRole).toBool());
        QVERIFY(!m.data(m.index(0, 0), LaneComparisonModel::DivergenceRole).toBool());
        QVERIFY(std::abs(m.kl(1, 0)) < 1e-9);  // identical distributions
        const double expected = 0.4 * std::log(0.4 / 0.9) + 0.6 * std::log(0.6 / 0.1);
        QVERIFY(std::abs(m.kl(1, 1) - expected) < 1e-5);
        QVERIFY(m.kl(1, 2) > 5); // disjoint tops: large (bounded by the floor)
        QCOMPARE(describeDifference(SamplingParams{.temperature = 0.5}, SamplingParams{}), QStringLiteral("temperature 0.5"));
    }

    void sessionDocumentRoundTripAndDamagedFiles()
    {
        SessionDocument doc;
        doc.modelPath = QStringLiteral("/models/x.gguf");
        doc.prompt = QStringLiteral("Hello \"world\"\n");
        doc.settings.temperature = 0.7;
        doc.settings.topK = 40;
        SavedLane root;
        root.tokens = {{5, false}, {6, true}};
        SavedLane branch;
        branch.id = 1;
        branch.kind = QStringLiteral("branch");
        branch.parent = 0;
        branch.forkStep = 1;
        branch.settings.topP = 0.9;
        branch.tokens = {{5, false}, {9, true}, {3, false}};
        doc.lanes = {root, branch};
        doc.currentLane = 1;
        doc.kvType = QStringLiteral("f16");
        doc.weights = QStringLiteral("q4_k_m");
        const QByteArray json = sessionToJson(doc);
        const SessionDocument back = sessionFromJson(json);
        QCOMPARE(back.modelPath, doc.modelPath);
        QCOMPARE(back.kvType, QStringLiteral("f16"));
        QCOMPARE(back.weights, QStringLiteral("q4_k_m"));
        QCOMPARE(back.prompt, doc.prompt);
        QVERIFY(back.settings == doc.settings);
        QCOMPARE(back.lanes.size(), 2);
        QCOMPARE(back.lanes[1].kind, QStringLiteral("branch"));
        QCOMPARE(back.lanes[1].forkStep, 1);
        QCOMPARE(back.lanes[1].tokens.size(), size_t(3));
        QVERIFY(back.lanes[1].tokens[1].forced);
        QCOMPARE(back.currentLane, 1);

        const auto errorOf = [](const QByteArray& text) {
            try {
                sessionFromJson(text);
            } catch (const std::exception& e) {
                return QString::fromUtf8(e.what());
            }
            return QString();
        };
        QVERIFY(errorOf(json.left(json.size() / 2)).contains(QStringLiteral("not valid JSON")));
        QVERIFY(errorOf(QByteArray("\xff\xfe garbage")).contains(QStringLiteral("not valid JSON")));
        QVERIFY(errorOf("").contains(QStringLiteral("empty")));
        QByteArray bad = json;
        bad.replace("\"top_p\": 0.9", "\"top_p\": 7");
        QVERIFY2(errorOf(bad).contains(QStringLiteral("lanes[1].settings")), qPrintable(errorOf(bad)));
        QVERIFY(errorOf(bad).contains(QStringLiteral("top_p")));
        bad = json;
        bad.replace("\"prompt\":", "\"prompt_\":");
        QVERIFY2(errorOf(bad).startsWith(QStringLiteral("prompt: missing")), qPrintable(errorOf(bad)));
        bad = json;
        bad.replace("\"kv_type\": \"f16\"", "\"kv_type\": \"q4\"");
        QVERIFY2(errorOf(bad).contains(QStringLiteral("kv_type")) && errorOf(bad).contains(QStringLiteral("q4")),
                 qPrintable(errorOf(bad)));
        bad = json;
        bad.replace("\"weights\": \"q4_k_m\"", "\"weights\": \"q4_k_mm\"");
        QVERIFY2(errorOf(bad).startsWith(QStringLiteral("weights: unknown weight type 'q4_k_mm'")), qPrintable(errorOf(bad)));
        bad = json;
        bad.replace("\"kind\": \"branch\"", "\"kind\": \"tree\"");
        QVERIFY(errorOf(bad).contains(QStringLiteral("lanes[1].kind")));
        bad = json;
        bad.replace("\"id\": 9", "\"id\": \"nine\"");
        QVERIFY2(errorOf(bad).contains(QStringLiteral("lanes[1].tokens[1].id: expected an integer")), qPrintable(errorOf(bad)));

        // On disk: atomic write, and a truncated file gives a message naming the file.
        QTemporaryDir dir;
        const QString path = dir.filePath(QStringLiteral("s.json"));
        QString error;
        QVERIFY(saveSessionFile(path, doc, &error));
        SessionDocument loaded;
        QVERIFY(loadSessionFile(path, &loaded, &error));
        QCOMPARE(loaded.lanes.size(), 2);
        QFile f(path);
        QVERIFY(f.open(QIODevice::WriteOnly | QIODevice::Truncate));
        f.write(json.left(40));
        f.close();
        QVERIFY(!loadSessionFile(path, &loaded, &error));
        QVERIFY(error.contains(QStringLiteral("s.json")));
        QVERIFY(!loadSessionFile(dir.filePath(QStringLiteral("missing.json")), &loaded, &error));
    }

    void traceRoundTripAndReplay()
    {
        Trace t;
        t.model = QStringLiteral("m.gguf");
        t.prompt = QStringLiteral("Once");
        t.promptIds = {1, 2, 3};
        t.settings.temperature = 0.8;
        t.steps = {record(0, 0, 10, {{10, 0.6f}, {11, 0.4f}}), record(0, 1, 11, {{11, 0.5f}, {12, 0.5f}})};
        t.steps[1].finish = FinishReason::Eos;
        t.steps[0].sample.stages[1].top[1].logit = -std::numeric_limits<float>::infinity(); // masked → null
        const Trace back = traceFromJson(traceToJson(t));
        QCOMPARE(back.model, t.model);
        QCOMPARE(back.promptIds, t.promptIds);
        QVERIFY(back.settings == t.settings);
        QCOMPARE(back.steps.size(), size_t(2));
        QCOMPARE(back.steps[1].chosen, 11);
        QCOMPARE(back.steps[1].finish, FinishReason::Eos);
        QCOMPARE(back.steps[0].sample.stages.size(), size_t(2));
        QVERIFY(std::isinf(back.steps[0].sample.stages[1].top[1].logit));
        QCOMPARE(back.steps[0].rawTop.size(), size_t(2));
        QCOMPARE(back.tokenBytes(11), QByteArray("t11"));

        TraceReplayModel m;
        QAbstractItemModelTester tester(&m, QAbstractItemModelTester::FailureReportingMode::QtTest);
        m.setTrace(back);
        QCOMPARE(m.steps(), 2);
        QCOMPARE(m.rowCount(), 2);
        QVERIFY(m.data(m.index(0, 0), TraceReplayModel::ChosenRole).toBool());
        m.setStep(1);
        QCOMPARE(m.textUpTo(1), QStringLiteral("t10"));
        m.setStep(99);
        QCOMPARE(m.step(), 1);

        try {
            QByteArray bad = traceToJson(t);
            bad.replace("\"prob\": 0.5", "\"prob\": \"x\"");
            traceFromJson(bad);
            QFAIL("accepted a bad trace");
        } catch (const std::exception& e) {
            QVERIFY2(QString::fromUtf8(e.what()).startsWith(QStringLiteral("steps[1]")), e.what());
        }

        // CSV: header row, quoting
        QStandardItemModel table(1, 2);
        table.setHorizontalHeaderLabels({QStringLiteral("token"), QStringLiteral("p")});
        table.setItem(0, 0, new QStandardItem(QStringLiteral("a,\"b\"")));
        table.setItem(0, 1, new QStandardItem(QStringLiteral("0.5")));
        QCOMPARE(tableToCsv(table), QByteArray("token,p\r\n\"a,\"\"b\"\"\",0.5\r\n"));
    }

    void sweepSizes()
    {
        QCOMPARE(throughputSweepSizes(32), (QList<int>{1, 2, 4, 8, 16, 32}));
        QCOMPARE(contextSweepLengths(512), (QList<int>{64, 128, 256, 511}));
        QCOMPARE(contextSweepLengths(512, 200), (QList<int>{64, 128, 199}));
    }

    // ---- on a real model ------------------------------------------------------------------------
    void kvSnapshotAndBlockMapAfterForkingLanes()
    {
        REQUIRE_TEST_MODEL(path);
        InferenceController c;
        Measurements measurements(&c);
        LaneRunner runner(&c);
        KvBlockMapModel map;
        QAbstractItemModelTester t1(&map, QAbstractItemModelTester::FailureReportingMode::QtTest);
        QAbstractItemModelTester t2(runner.model(), QAbstractItemModelTester::FailureReportingMode::QtTest);
        loadAndRead(c, path, longGreedy());
        const auto model = Model::load(path.toStdString());
        const auto& cfg = model->config();

        QSignalSpy kv(&measurements, &Measurements::kvAvailable);
        QTRY_VERIFY_WITH_TIMEOUT(measurements.kv().valid && measurements.kv().stats.sequences >= 2, kTimeout);
        const KvSnapshot first = measurements.kv();
        QCOMPARE(first.stats.bytesPerToken, size_t(kvBytesPerToken(cfg.layers, cfg.kvHeads, cfg.headDim, 4)));
        QCOMPARE(quint64(first.stats.bytesPerToken), c.modelInfo().kvBytesPerToken);
        if (path.contains(QStringLiteral("ref-llama-spm")))
            QCOMPARE(first.stats.bytesPerToken, size_t(6144)); // 2 x 6 x 4 x 32 x 4
        QCOMPARE(first.sequenceLabels.value(0), QStringLiteral("prompt"));
        QVERIFY(first.memory.weights > 0);

        // three lanes forked after the prompt: they share every prompt block
        SamplingParams a = longGreedy();
        SamplingParams b = a;
        b.greedy = false;
        b.temperature = 1.5;
        SamplingParams d = a;
        QSignalSpy started(&runner, &LaneRunner::started);
        runner.start({a, b, d});
        QTRY_COMPARE_WITH_TIMEOUT(started.count(), 1, kTimeout);
        QTRY_COMPARE_WITH_TIMEOUT(c.lanes().size(), size_t(4), kTimeout);
        QTRY_VERIFY_WITH_TIMEOUT(measurements.kv().stats.sequences == 5, kTimeout); // prompt + root + 3 lanes
        map.setSnapshot(measurements.kv());
        const auto& st = map.snapshot().stats;
        QCOMPARE(map.rowCount(), 5);
        QVERIFY(st.blocksShared > 0);
        QVERIFY(map.sharedCells() > 0);
        QCOMPARE(map.distinctBlocks(), st.blocksUsed);
        QVERIFY(st.bytesWithoutSharing > st.bytesUsed);
        QCOMPARE(map.data(map.index(2, 0), KvBlockMapModel::SharedRole).toBool(), true);
        QVERIFY(map.headerData(2, Qt::Vertical).toString().startsWith(QStringLiteral("lane")));

        // step them together: new private blocks appear, the prompt's stay shared
        QSignalSpy finished(&runner, &LaneRunner::finished);
        runner.step(20);
        QTRY_COMPARE_WITH_TIMEOUT(finished.count(), 1, kTimeout);
        QCOMPARE(runner.model()->rowCount(), 20);
        // lanes A and C have the same (greedy) settings and the same random stream: they never diverge
        const auto& lanes = runner.model()->lanes();
        for (int s = 0; s < 20; ++s)
            QCOMPARE(lanes[2].steps[size_t(s)].chosen, lanes[0].steps[size_t(s)].chosen);
        QVERIFY(std::abs(runner.model()->kl(2, 0)) < 1e-6);
        QTRY_VERIFY_WITH_TIMEOUT(measurements.kv().stats.tokensLogical > st.tokensLogical, kTimeout);
        QVERIFY(measurements.kvHistory().size() >= 2);
    }

    void lanesThatDiverge()
    {
        REQUIRE_TEST_MODEL(path);
        InferenceController c;
        LaneRunner runner(&c);
        loadAndRead(c, path, longGreedy());
        // A greedy; B temperature 0.05 (greedy-equivalent at the first step); C very hot, top-p 1.
        SamplingParams a = longGreedy();
        SamplingParams b = a;
        b.greedy = false;
        b.temperature = 0.05;
        b.seed = 7;
        SamplingParams hot = b;
        hot.temperature = 3.0;
        runner.start({a, b, hot});
        QTRY_VERIFY_WITH_TIMEOUT(runner.isActive() && !runner.isBusy(), kTimeout);
        QSignalSpy finished(&runner, &LaneRunner::finished);
        runner.step(24);
        QTRY_COMPARE_WITH_TIMEOUT(finished.count(), 1, kTimeout);
        const auto& lanes = runner.model()->lanes();
        QCOMPARE(lanes[1].steps.front().chosen, lanes[0].steps.front().chosen);
        // the marker sits on the first step where any lane chose differently
        int expected = -1;
        for (size_t s = 0; s < lanes[0].steps.size() && expected < 0; ++s)
            for (int i = 1; i < 3; ++i)
                if (lanes[i].steps[s].chosen != lanes[0].steps[s].chosen) {
                    expected = int(s);
                    break;
                }
        QVERIFY2(expected >= 0, "a temperature-3 lane should leave the greedy path within 24 tokens");
        QCOMPARE(runner.model()->divergenceStep(), expected);
        QVERIFY(runner.model()->data(runner.model()->index(expected, 1), LaneComparisonModel::DivergenceRole).toBool());
        // Greedy's final distribution is the raw softmax; a sharpened (T = 0.05) or flattened (T = 3) one differs.
        QVERIFY(runner.model()->kl(1, 0) > 0.01 && std::isfinite(runner.model()->kl(1, 0)));
        QVERIFY(runner.model()->kl(2, 0) > 0.01 && std::isfinite(runner.model()->kl(2, 0)));
        runner.close();
        QTRY_COMPARE_WITH_TIMEOUT(c.lanes().size(), size_t(1), kTimeout);
    }

    void sessionSaveReopenAndTraceExport()
    {
        REQUIRE_TEST_MODEL(path);
        QTemporaryDir dir;
        const QString sessionPath = dir.filePath(QStringLiteral("session.json"));
        const QString tracePath = dir.filePath(QStringLiteral("trace.json"));
        std::vector<int32_t> rootTokens;
        int32_t branchToken = -1;
        {
            InferenceController c;
            SessionStore store(&c);
            loadAndRead(c, path, longGreedy());
            QSignalSpy steps(&c, &InferenceController::stepAvailable);
            for (int i = 0; i < 4; ++i) {
                c.step();
                QTRY_COMPARE_WITH_TIMEOUT(steps.count(), i + 1, kTimeout);
                QTRY_VERIFY_WITH_TIMEOUT(!c.isBusy(), kTimeout);
            }
            for (int i = 0; i < 4; ++i)
                rootTokens.push_back(c.generatedTokens()->record(i).chosen);
            for (const auto& t : c.generatedTokens()->record(2).rawTop)
                if (t.id != rootTokens[2]) {
                    branchToken = t.id;
                    break;
                }
            c.branch(2, branchToken);
            QTRY_COMPARE_WITH_TIMEOUT(c.lanes().size(), size_t(2), kTimeout);
            QTRY_VERIFY_WITH_TIMEOUT(!c.isBusy(), kTimeout);
            QSignalSpy saved(&store, &SessionStore::saved);
            store.save(sessionPath);
            QTRY_COMPARE_WITH_TIMEOUT(saved.count(), 1, kTimeout);
            QSignalSpy exported(&store, &SessionStore::traceExported);
            store.exportTrace(tracePath);
            QTRY_COMPARE_WITH_TIMEOUT(exported.count(), 1, kTimeout);
        }
        SessionDocument doc;
        QString error;
        QVERIFY2(loadSessionFile(sessionPath, &doc, &error), qPrintable(error));
        QCOMPARE(doc.lanes.size(), 2);
        QCOMPARE(doc.lanes[1].kind, QStringLiteral("branch"));
        QCOMPARE(doc.lanes[1].forkStep, 2);
        QCOMPARE(doc.currentLane, doc.lanes[1].id);

        // The trace (the branch on display) reads back, CLI-shaped
        QByteArray bytes;
        QVERIFY(readFileLimited(tracePath, &bytes, &error));
        const Trace trace = traceFromJson(bytes);
        QCOMPARE(trace.steps.size(), size_t(3));
        QCOMPARE(trace.steps[2].chosen, branchToken);
        QVERIFY(trace.steps[2].forced);
        QVERIFY(!trace.pieces.isEmpty());
        QVERIFY(!trace.promptIds.empty());

        // Reopen in a fresh controller: the same tree, the branch on display
        InferenceController c;
        SessionStore store(&c);
        QSignalSpy restored(&store, &SessionStore::restored);
        QSignalSpy failed(&store, &SessionStore::failed);
        openAndWait(store, sessionPath, restored, failed);
        QTRY_VERIFY_WITH_TIMEOUT(!c.isBusy() && c.generatedCount() == 3, kTimeout);
        QCOMPARE(c.lanes().size(), size_t(2));
        QVERIFY(c.currentLane() != 0);
        QCOMPARE(c.generatedTokens()->record(2).chosen, branchToken);
        QCOMPARE(c.generatedTokens()->record(0).chosen, rootTokens[0]);
        QVERIFY(restored.first().first().toString().contains(QStringLiteral("2 lane")));

        // A damaged file: a message naming the field, the session untouched
        QByteArray text;
        QVERIFY(readFileLimited(sessionPath, &text, &error));
        text.replace("\"fork_step\": 2", "\"fork_step\": -3");
        QVERIFY(writeFileAtomically(sessionPath, text, &error));
        store.open(sessionPath);
        QCOMPARE(failed.count(), 1);
        QVERIFY2(failed.first().first().toString().contains(QStringLiteral("lanes[1].fork_step")),
                 qPrintable(failed.first().first().toString()));
        QCOMPARE(c.generatedCount(), 3);
    }

    // A session saved with requantized weights reopens with the same weights (the model reloaded).
    void sessionKeepsRequantizedWeights()
    {
        REQUIRE_TEST_MODEL(path);
        QTemporaryDir dir;
        const QString sessionPath = dir.filePath(QStringLiteral("session.json"));
        {
            InferenceController c;
            SessionStore store(&c);
            loadAndRead(c, path, longGreedy(), QStringLiteral("q4_0"));
            QSignalSpy saved(&store, &SessionStore::saved);
            store.save(sessionPath);
            QTRY_COMPARE_WITH_TIMEOUT(saved.count(), 1, kTimeout);
        }
        InferenceController c;
        QVERIFY(logitscope::test::loadOnCpu(c, path)); // as stored: the session must reload it
        SessionStore store(&c);
        QSignalSpy restored(&store, &SessionStore::restored);
        QSignalSpy failed(&store, &SessionStore::failed);
        openAndWait(store, sessionPath, restored, failed);
        QCOMPARE(c.modelInfo().requantized, QStringLiteral("q4_0"));
        QVERIFY2(c.modelInfo().dtype.startsWith(QStringLiteral("Q4_0")), qPrintable(c.modelInfo().dtype));
    }

    void sweepsProduceShapedPoints()
    {
        REQUIRE_TEST_MODEL(path);
        InferenceController c;
        Measurements m(&c);
        QVERIFY(logitscope::test::loadOnCpu(c, path));

        QSignalSpy done(&m, &Measurements::sweepFinished);
        QSignalSpy failed(&m, &Measurements::sweepFailed);
        m.runContextSweep(256);
        QTRY_VERIFY_WITH_TIMEOUT(done.count() + failed.count() == 1, kTimeout);
        QVERIFY(failed.isEmpty());
        const auto& points = m.contextPoints();
        QCOMPARE(points.size(), 3); // 64, 128, 255
        for (int i = 1; i < points.size(); ++i) {
            QVERIFY(points[i].length > points[i - 1].length);
            QVERIFY(points[i].attentionScoreBytes > points[i - 1].attentionScoreBytes);
            QVERIFY(points[i].kvBytes > points[i - 1].kvBytes);
        }
        for (const auto& p : points)
            QVERIFY(p.decodeMs > 0 && p.prefillMs > 0);
        QCOMPARE(points[0].attentionScoreBytes, attentionScoreBytes(64, c.modelInfo().heads));

        m.runThroughputSweep(4, 16, 4);
        QTRY_VERIFY_WITH_TIMEOUT(done.count() + failed.count() == 2, kTimeout);
        QVERIFY(failed.isEmpty());
        const auto& tp = m.throughputPoints();
        QCOMPARE(tp.size(), 3); // 1, 2, 4
        for (int i = 0; i < tp.size(); ++i) {
            QCOMPARE(tp[i].sequences, 1 << i);
            QVERIFY(tp[i].tokensPerSecond > 0 && tp[i].msPerStep > 0);
        }

        // cancelled at once: finishes (cancelled) with fewer points
        m.runThroughputSweep(256, 64, 64);
        m.cancelSweep();
        QTRY_VERIFY_WITH_TIMEOUT(done.count() + failed.count() == 3, kTimeout);
        QVERIFY(done.last().at(1).toBool());
        QVERIFY(m.throughputPoints().size() < 9);
    }
};

QTEST_MAIN(TstMeasurements)
#include "tst_measurements.moc"
