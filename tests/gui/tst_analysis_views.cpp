// The analysis views' models and their reaction to engine snapshots: the attention matrix (shapes,
// mean over heads by hand, GQA groups, the memory window), the beam tree from the reference beam
// settings (winner chain = best hypothesis; HF's golden sequence on the reference model), the logit
// lens table (last layer's top-1 = the step's raw top-1), embedding neighbours (self first), and the
// panels built on them. Every item model runs under QAbstractItemModelTester.
#include "models/attention_model.h"
#include "models/beam_tree_model.h"
#include "models/embedding_model.h"
#include "models/generated_tokens_model.h"
#include "models/inference_controller.h"
#include "models/logit_lens_model.h"
#include "models/token_roles.h"
#include "panels/attention_panel.h"
#include "panels/beam_tree_panel.h"
#include "panels/embedding_panel.h"
#include "panels/logit_lens_panel.h"
#include "test_model.h"

#include "model/model.h"
#include "tokenizer/tokenizer.h"

#include <QAbstractItemModelTester>
#include <QComboBox>
#include <QSlider>
#include <QGraphicsScene>
#include <QTemporaryDir>
#include <QFile>
#include <QtTest>

#include <cmath>

using namespace logitscope;
using namespace logitscope::gui;

namespace {

constexpr int kTimeout = 60000;
const auto kFail = QAbstractItemModelTester::FailureReportingMode::QtTest;

// (L, H, T, T) with a recognisable causal pattern: row q of head h spreads over keys 0..q.
PrefillRecord handMadePrefill(int L, int H, int T)
{
    PrefillRecord r;
    r.layers = L;
    r.heads = H;
    for (int t = 0; t < T; ++t)
        r.ids.push_back(10 + t);
    r.attention.assign(size_t(L) * H * T * T, 0.0f);
    for (int l = 0; l < L; ++l)
        for (int h = 0; h < H; ++h)
            for (int q = 0; q < T; ++q) {
                // weight (1 + h + l) on the diagonal, 1 elsewhere, normalised
                const float diag = float(1 + h + l);
                const float total = diag + float(q);
                for (int k = 0; k <= q; ++k)
                    r.attention[((size_t(l) * H + h) * T + q) * T + k] = (k == q ? diag : 1.0f) / total;
            }
    return r;
}

void loadAndRead(InferenceController& c, const QString& path, const QString& prompt, const SamplingParams& params)
{
    QVERIFY(logitscope::test::loadOnCpu(c, path));
    c.setSampling(params);
    c.setPrompt(prompt);
    QTRY_VERIFY_WITH_TIMEOUT(c.promptTokenCount() > 0, kTimeout);
    QSignalSpy prefilled(&c, &InferenceController::prefillFinished);
    c.step();
    QTRY_COMPARE_WITH_TIMEOUT(prefilled.count(), 1, kTimeout);
    QTRY_VERIFY_WITH_TIMEOUT(c.preview().has_value() && !c.isBusy(), kTimeout);
}

void stepN(InferenceController& c, int n)
{
    for (int i = 0; i < n; ++i) {
        const int before = c.generatedCount();
        c.step();
        QTRY_VERIFY_WITH_TIMEOUT(c.generatedCount() == before + 1 && !c.isBusy(), kTimeout);
    }
}

} // namespace

class TstAnalysisViews : public QObject {
    Q_OBJECT
private slots:
    void attentionShapesMeanAndGroups()
    {
        AttentionModel m;
        QAbstractItemModelTester tester(&m, kFail);
        const int L = 2, H = 4, Hkv = 2, T = 5;
        m.setShape(L, H, Hkv);
        QCOMPARE(m.kvGroup(0), 0);
        QCOMPARE(m.kvGroup(1), 0);
        QCOMPARE(m.kvGroup(2), 1);
        QCOMPARE(m.kvGroup(3), 1);
        QCOMPARE(m.headLabel(3), QStringLiteral("head 3 · KV 1"));
        QCOMPARE(m.headLabel(-1), QStringLiteral("mean over heads"));

        const PrefillRecord r = handMadePrefill(L, H, T);
        m.setPrefill(r, {"a", "b", "c", "d", "e"});
        QCOMPARE(m.rowCount(), T);
        QCOMPARE(m.columnCount(), T);
        QCOMPARE(m.headerData(2, Qt::Horizontal).toString(), QStringLiteral("c"));
        m.setLayer(1);
        m.setHead(2);
        // layer 1, head 2, query 3: diagonal 4/7, others 1/7; nothing above the diagonal.
        QVERIFY(std::abs(m.value(3, 3) - 4.0 / 7) < 1e-6);
        QVERIFY(std::abs(m.value(3, 0) - 1.0 / 7) < 1e-6);
        QCOMPARE(m.value(3, 4), 0.0);
        // Mean over heads by hand: diag weights 2..5 for layer 1 at query 3 -> mean of d/(d+3).
        m.setHead(-1);
        double hand = 0;
        for (int h = 0; h < H; ++h)
            hand += double(2 + h) / (2 + h + 3);
        hand /= H;
        QVERIFY(std::abs(m.value(3, 3) - hand) < 1e-6);
        for (int q = 0; q < T; ++q) { // every row is a distribution
            double sum = 0;
            for (double v : m.row(q))
                sum += v;
            QVERIFY2(std::abs(sum - 1) < 1e-5, qPrintable(QString::number(sum)));
        }
        QCOMPARE(m.data(m.index(3, 3), AttentionModel::ValueRole).toDouble(), m.value(3, 3));

        // A decode step: its attention is the query row of position - 1 over `position` keys.
        StepRecord s;
        s.step = 0;
        s.position = T;
        s.bytes = "f";
        s.attention.assign(size_t(L) * H * T, 1.0f / T);
        m.appendStep(s);
        QCOMPARE(m.positionCount(), T + 1); // the new token is labelled; its own row comes with the next step
        QVERIFY(!m.hasRow(T));
        QCOMPARE(m.label(T), QStringLiteral("f"));
        StepRecord s2 = s;
        s2.step = 1;
        s2.position = T + 1;
        s2.bytes = "g";
        s2.attention.assign(size_t(L) * H * (T + 1), 1.0f / (T + 1));
        m.appendStep(s2);
        QVERIFY(m.hasRow(T));
        QVERIFY(std::abs(m.value(T, 0) - 1.0 / (T + 1)) < 1e-6);
        // Rewind to one step: the row of position T goes again.
        m.setSteps({s});
        QVERIFY(!m.hasRow(T));
        QCOMPARE(m.positionCount(), T + 1);
    }

    void attentionWindowBoundsMemory()
    {
        AttentionModel m;
        QAbstractItemModelTester tester(&m, kFail);
        m.setShape(1, 1, 1);
        QCOMPARE(m.window(), AttentionModel::kMaxPositions);
        m.setShape(80, 64, 8); // a big model: fewer positions so the copy stays within the budget
        QVERIFY(m.window() < AttentionModel::kMaxPositions);
        QVERIFY(qint64(80) * 64 * m.window() * m.window() <= AttentionModel::kFloatBudget);
        m.setShape(1, 2, 2);
        const int steps = AttentionModel::kMaxPositions + 40;
        PrefillRecord r = handMadePrefill(1, 2, 3);
        m.setPrefill(r, {"a", "b", "c"});
        for (int i = 0; i < steps; ++i) {
            StepRecord s;
            s.step = i;
            s.position = 3 + i;
            s.bytes = "x";
            s.attention.assign(size_t(2) * s.position, 1.0f / s.position);
            m.appendStep(s);
        }
        QCOMPARE(m.positionCount(), AttentionModel::kMaxPositions);
        QCOMPARE(m.last(), 3 + steps - 1);
        QVERIFY(!m.hasRow(m.first() - 1));
    }

    void attentionFromEngine()
    {
        REQUIRE_TEST_MODEL(path);
        InferenceController c;
        AttentionPanel panel(&c);
        QAbstractItemModelTester tester(panel.model(), kFail);
        c.setCaptureAttention(true);
        SamplingParams p;
        p.greedy = true;
        p.minNewTokens = 8;
        loadAndRead(c, path, QStringLiteral("The capital of France is"), p);
        AttentionModel* m = panel.model();
        const int T = m->promptLength();
        QVERIFY(T > 1);
        QCOMPARE(m->layers(), c.modelInfo().layers);
        QCOMPARE(m->positionCount(), T);
        for (int q = 0; q < T; ++q) {
            QVERIFY(m->hasRow(q));
            double sum = 0;
            for (double v : m->row(q))
                sum += v;
            QVERIFY2(std::abs(sum - 1) < 1e-3, qPrintable(QString("row %1 sums to %2").arg(q).arg(sum)));
        }
        stepN(c, 2);
        QCOMPARE(m->positionCount(), T + 2);
        QVERIFY(m->hasRow(T)); // the first generated token's row came with the second step
        QVERIFY(!m->hasRow(T + 1));
        c.selectStep(0);
        QCOMPARE(panel.selectedQuery(), T);
        QVERIFY(panel.detailText().contains(QStringLiteral("attended most to")));
        QVERIFY(panel.describeCell(T, 0).contains(QStringLiteral("attention")));
        // GQA labels follow the model's config.
        QCOMPARE(panel.headSelector()->count(), c.modelInfo().heads + 1);
        // Rewind: the newest row goes with its step.
        c.rewind(1);
        QTRY_VERIFY_WITH_TIMEOUT(!c.isBusy() && c.generatedCount() == 1, kTimeout);
        QVERIFY(!m->hasRow(T));
    }

    void beamTreeFromReferenceSettings()
    {
        REQUIRE_TEST_MODEL(path);
        InferenceController c;
        BeamTreePanel panel(&c);
        QAbstractItemModelTester tester(panel.model(), kFail);
        QVERIFY(logitscope::test::loadOnCpu(c, path));
        c.setPrompt(QStringLiteral("The capital of France is"));
        QTRY_VERIFY_WITH_TIMEOUT(c.promptTokenCount() > 0, kTimeout);
        panel.setBeamSettings(4, 1.0, EarlyStopping::True, 16);
        QSignalSpy finished(&c, &InferenceController::beamSearchFinished);
        QSignalSpy failed(&c, &InferenceController::beamSearchFailed);
        panel.runSearch(); // reads the prompt first
        QTRY_VERIFY_WITH_TIMEOUT(finished.count() + failed.count() == 1, kTimeout);
        QVERIFY2(failed.isEmpty(), failed.isEmpty() ? "" : qPrintable(failed.first().first().toString()));
        QTRY_VERIFY_WITH_TIMEOUT(!c.isBusy(), kTimeout);

        const BeamSnapshot& s = panel.model()->snapshot();
        QVERIFY(s.valid());
        QCOMPARE(int(s.hypotheses.size()), 4);
        QCOMPARE(int(s.tokenBytes.size()), int(s.tree.nodes.size()));
        const int winner = s.winner();
        QVERIFY(winner > 0);
        QCOMPARE(s.chainTokens(winner), s.hypotheses.front().ids);
        QCOMPARE(s.tree.nodes[size_t(winner)].fate, BeamFate::Finished);
        QCOMPARE(s.tree.nodes[size_t(winner)].resultRank, 0);
        // Counts by fate: every node has one; at most numBeams kept per step; something was pruned.
        const int kept = s.count(BeamFate::Kept), pruned = s.count(BeamFate::Pruned), fin = s.count(BeamFate::Finished);
        QCOMPARE(kept + pruned + fin, int(s.tree.nodes.size()) - 1);
        QVERIFY(pruned > 0);
        QVERIFY(fin >= 4); // early stopping True: stops once numBeams hypotheses finished
        for (int step = 0; step < s.tree.steps; ++step)
            QVERIFY(s.count(BeamFate::Kept, step) - (step ? s.count(BeamFate::Kept, step - 1) : 0) <= 4);
        if (path.contains(QStringLiteral("ref-llama-spm"))) {
            // Hugging Face transformers' beam search on the same checkpoint (shared/reference/ref-llama-spm.hf.json).
            const std::vector<int32_t> hf{261, 266, 492, 324, 278, 293, 611, 418, 346, 830, 346, 261, 523, 1991, 1981, 278};
            QCOMPARE(s.chainTokens(winner), hf);
            QVERIFY(std::abs(s.hypotheses.front().score - (-1.072588f)) < 1e-3f);
        }

        // The hypotheses read as text, with real spaces (issue 25 item 12), exactly as the tokenizer decodes them.
        BeamTreeModel* m = panel.model();
        // (decoded after the prompt: a SentencePiece decode of the ids alone drops their first leading space)
        const Tokenizer& tok = c.vocabulary().model()->tokenizer();
        std::vector<int32_t> ids = tok.encode("The capital of France is");
        const std::string before = tok.decode(ids);
        ids.insert(ids.end(), s.hypotheses.front().ids.begin(), s.hypotheses.front().ids.end());
        const std::string decoded = tok.decode(ids).substr(before.size());
        QCOMPARE(m->text(s.chain(winner)), QString::fromStdString(decoded));
        QVERIFY2(panel.summaryText().contains(QString::fromStdString(decoded).toHtmlEscaped()), qPrintable(panel.summaryText()));

        // The tree model: the root, and the winner path reachable through indexes.
        QCOMPARE(m->rowCount(), 1);
        QVERIFY(m->fullyRevealed());
        for (int n : s.chain(winner)) {
            const QModelIndex idx = m->indexForNode(n);
            QVERIFY(idx.isValid());
            QCOMPARE(idx.data(BeamTreeModel::NodeRole).toInt(), n);
            QVERIFY(idx.data(BeamTreeModel::WinnerPathRole).toBool());
        }
        QCOMPARE(m->visibleCount(), int(s.tree.nodes.size()));
        // Stepping through: only step-0 candidates under the root, no winner yet.
        m->setVisibleStep(0);
        QCOMPARE(panel.stepSlider()->value(), 0);
        QCOMPARE(m->rowCount(m->index(0, 0)), 1 + s.count(BeamFate::Kept, 0) + s.count(BeamFate::Pruned, 0) +
                                                      s.count(BeamFate::Finished, 0) - 1);
        QVERIFY(!m->onWinnerPath(winner));
        panel.stepSlider()->setValue(panel.stepSlider()->maximum());
        QVERIFY(m->fullyRevealed());
        QVERIFY(!panel.scene()->items().isEmpty());

        QTemporaryDir dir;
        QVERIFY(panel.exportTo(dir.filePath("tree.png")));
        QVERIFY(panel.exportTo(dir.filePath("tree.pdf")));
        QVERIFY(QFileInfo(dir.filePath("tree.pdf")).size() > 1000);
        QVERIFY(panel.exportTo(dir.filePath("tree.svg")));
        QFile svg(dir.filePath("tree.svg"));
        QVERIFY(svg.open(QIODevice::ReadOnly));
        const QByteArray xml = svg.readAll();
        QVERIFY(xml.contains("<svg") && xml.contains("</svg>"));
    }

    void logitLensFollowsSteps()
    {
        REQUIRE_TEST_MODEL(path);
        InferenceController c;
        LogitLensPanel panel(&c);
        QAbstractItemModelTester tester(panel.model(), kFail);
        c.setLogitLens(true);
        SamplingParams p;
        p.greedy = true;
        p.minNewTokens = 8;
        loadAndRead(c, path, QStringLiteral("The capital of France is"), p);
        stepN(c, 3);
        LogitLensModel* m = panel.model();
        const auto& last = c.generatedTokens()->record(2);
        QVERIFY(!last.lens.empty());
        QCOMPARE(m->step(), 2);
        QCOMPARE(m->rowCount(), c.modelInfo().layers);
        QCOMPARE(m->columnCount(), 5);
        QCOMPARE(m->topId(m->layers() - 1, 0), last.rawTop.front().id); // the last layer is the model's output
        QCOMPARE(m->topId(m->layers() - 1, 0), last.chosen);              // greedy
        QCOMPARE(m->chosenRanks().back(), 0);
        QVERIFY(m->settlesAt() >= 0);
        QVERIFY(m->index(0, 0).data(ProbabilityRole).toDouble() > 0);
        // Clicking a past token shows its lens; rewinding follows.
        c.selectStep(0);
        QCOMPARE(m->step(), 0);
        QCOMPARE(m->chosen(), c.generatedTokens()->record(0).chosen);
        c.selectStep(-1);
        c.rewind(1);
        QTRY_VERIFY_WITH_TIMEOUT(!c.isBusy() && c.generatedCount() == 2, kTimeout);
        QCOMPARE(m->step(), 1);
        // Lens off: new steps carry none.
        c.setLogitLens(false);
        stepN(c, 2);
        QVERIFY(c.generatedTokens()->record(3).lens.empty());
        QVERIFY(!m->hasLens());
    }

    void embeddingNeighboursSelfFirst()
    {
        REQUIRE_TEST_MODEL(path);
        InferenceController c;
        EmbeddingPanel panel(&c);
        QAbstractItemModelTester tester(panel.neighbours(), kFail);
        QVERIFY(logitscope::test::loadOnCpu(c, path));
        QSignalSpy answered(panel.service(), &EmbeddingService::embeddingAvailable);
        const int id = std::min(300, c.modelInfo().vocabSize - 1);
        panel.selectToken(id, 2);
        QTRY_COMPARE_WITH_TIMEOUT(answered.count(), 1, kTimeout);
        const auto s = answered.first().first().value<EmbeddingSnapshot>();
        QVERIFY(s.valid());
        QCOMPARE(s.row.size(), c.modelInfo().hidden);
        QVERIFY(s.norm > 0);
        QCOMPARE(s.neighbours.size(), 10);
        QCOMPARE(s.neighbours.first().id, id);
        QVERIFY(std::abs(s.neighbours.first().cosine - 1.0f) < 1e-5f);
        for (int i = 1; i < s.neighbours.size(); ++i)
            QVERIFY(s.neighbours[i].cosine <= s.neighbours[i - 1].cosine + 1e-6f);
        QCOMPARE(panel.neighbours()->rowCount(), 10);
        QCOMPARE(panel.neighbours()->index(0, NeighbourModel::RankColumn).data().toString(), QStringLiteral("self"));
        QVERIFY(panel.infoText().contains(QString::number(id)));
    }
};

QTEST_MAIN(TstAnalysisViews)
#include "tst_analysis_views.moc"
