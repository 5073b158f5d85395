// Unit tests of the GUI's pure pieces: token labels, the bars derived from a hand-made StepRecord,
// and every item model under QAbstractItemModelTester. No engine model is loaded here.
#include "models/candidate_model.h"
#include "models/distribution.h"
#include "models/generated_tokens_model.h"
#include "models/lane_model.h"
#include "models/prompt_tokens_model.h"
#include "models/token_display.h"
#include "models/token_roles.h"

#include <QAbstractItemModelTester>
#include <QtTest>

#include <cmath>

using namespace logitscope;
using namespace logitscope::gui;

namespace {

StageSnapshot stage(const char* name, std::vector<std::pair<int, float>> logits, int survivors,
                    std::vector<int32_t> penalised = {})
{
    StageSnapshot s;
    s.name = name;
    s.survivors = survivors;
    double z = 0;
    for (auto& [id, l] : logits)
        z += std::exp(double(l));
    for (auto& [id, l] : logits)
        s.top.push_back({id, l, float(std::exp(double(l)) / z)});
    s.penalised = std::move(penalised);
    s.entropy = 1.0f;
    return s;
}

// raw -> repetition penalty (lowers 11, masks 14) -> temperature -> top-k 2.
StepRecord handMadeStep()
{
    StepRecord r;
    r.lane = 0;
    r.step = 3;
    r.chosen = 11;
    r.bytes = " b";
    const std::vector<std::pair<int, float>> raw = {{10, 3.0f}, {11, 2.0f}, {12, 1.0f}, {13, 0.5f}, {14, 0.0f}};
    r.sample.stages.push_back(stage("raw", raw, 5));
    r.sample.stages.push_back(stage("repetition_penalty", {{10, 3.0f}, {11, 1.5f}, {12, 1.0f}, {13, 0.5f}}, 4, {11, 14}));
    r.sample.stages.push_back(stage("temperature", {{10, 6.0f}, {11, 3.0f}, {12, 2.0f}, {13, 1.0f}}, 4));
    r.sample.stages.push_back(stage("top_k", {{10, 6.0f}, {11, 3.0f}}, 2));
    for (const auto& c : r.sample.stages[0].top)
        r.rawTop.push_back({c.id, std::log(c.prob)});
    r.sample.chosen = 11;
    r.sample.chosenProb = r.sample.stages.back().top[1].prob;
    r.chosenProb = r.sample.chosenProb;
    r.chosenLogprob = r.rawTop[1].logprob;
    return r;
}

} // namespace

class TstGuiModels : public QObject {
    Q_OBJECT
private slots:
    void tokenLabels()
    {
        QCOMPARE(tokenLabel(" the"), QStringLiteral("·the"));
        QCOMPARE(tokenLabel("a\nb"), QStringLiteral("a↵b"));
        QVERIFY(isCompleteUtf8("h\xC3\xA9"));
        QVERIFY(!isCompleteUtf8("\xE2\x80"));
        QCOMPARE(tokenLabel("\xE2\x80"), QStringLiteral("‹E2 80›"));
        QCOMPARE(hexBytes("\n"), QStringLiteral("0A"));
        QVERIFY(probabilityColor(0.0) != probabilityColor(1.0));
        QCOMPARE(probabilityText(0.312), QStringLiteral("31.2 %"));
        QCOMPARE(probabilityText(0.0047), QStringLiteral("0.47 %"));
        QCOMPARE(probabilityText(0.000023), QStringLiteral("0.0023 %"));
        QCOMPARE(probabilityText(0.0), QStringLiteral("0 %"));
        QCOMPARE(probabilityText(4.7e-10), QStringLiteral("4.7e-08 %"));
        QCOMPARE(probabilityText(std::nan("")), QStringLiteral("—"));
    }

    void distributionFromStages()
    {
        const StepRecord r = handMadeStep();
        const Distribution d = makeDistribution(r, 20, Vocabulary(), false);
        QVERIFY(d.valid);
        QCOMPARE(d.bars.size(), 5);
        QCOMPARE(d.chosen, 11);
        // raw probabilities come from the raw log-probs
        QCOMPARE_LE(std::abs(d.bars[0].rawProb - double(r.sample.stages[0].top[0].prob)), 1e-6);
        // 10 and 11 survive; 11 was lowered by the penalty
        QVERIFY(d.bars[0].removedBy.isEmpty());
        QVERIFY(!d.bars[0].penalised);
        QVERIFY(d.bars[1].removedBy.isEmpty());
        QVERIFY(d.bars[1].penalised);
        QVERIFY(d.bars[1].chosen);
        // 12, 13 cut by top-k; 14 masked by the penalty
        QCOMPARE(d.bars[2].removedBy, QStringLiteral("top-k"));
        QCOMPARE(d.bars[3].removedBy, QStringLiteral("top-k"));
        QCOMPARE(d.bars[4].removedBy, QStringLiteral("repetition-penalty"));
        QVERIFY(d.bars[4].penalised);
        // final probabilities are the last stage's
        const auto& last = r.sample.stages.back().top;
        QCOMPARE_LE(std::abs(d.bars[0].finalProb - double(last[0].prob)), 1e-6);
        QCOMPARE_LE(std::abs(d.bars[1].finalProb - double(last[1].prob)), 1e-6);
        QCOMPARE(d.bars[2].finalProb, 0.0);
        // one cut-off line, between bar 1 and bar 2
        QCOMPARE(d.cuts.size(), 1);
        QCOMPARE(d.cuts[0].stage, QStringLiteral("top-k"));
        QCOMPARE(d.cuts[0].position, 1.5);
        QCOMPARE(d.stages.size(), 4);
        QCOMPARE(d.stages[3].survivors, 2);
    }

    void distributionKeepsChosenOutsideTopK()
    {
        StepRecord r = handMadeStep();
        const Distribution d = makeDistribution(r, 1, Vocabulary(), false);
        QCOMPARE(d.bars.size(), 2); // top-1 plus the chosen token
        QCOMPARE(d.bars[1].id, 11);
        QVERIFY(d.bars[1].chosen);
    }

    void promptTokensModel()
    {
        PromptTokensModel model;
        QAbstractItemModelTester tester(&model, QAbstractItemModelTester::FailureReportingMode::QtTest);
        QList<PromptToken> tokens;
        tokens.append({1, QByteArray(), QStringLiteral("<s>"), true});
        tokens.append({42, QByteArray(" the"), QStringLiteral("▁the"), false});
        tokens.append({7, QByteArray("\xE2"), QStringLiteral("<0xE2>"), false});
        model.setTokens(tokens);
        QCOMPARE(model.rowCount(), 3);
        QCOMPARE(model.index(1, 0).data().toString(), QStringLiteral("·the"));
        QCOMPARE(model.index(1, 0).data(TokenIdRole).toInt(), 42);
        QVERIFY(model.index(2, 0).data(PartialCharacterRole).toBool());
        QVERIFY(model.index(0, 0).data(Qt::ToolTipRole).toString().contains(QStringLiteral("token 1")));

        // Scores of a prefill: shown while the rows are the scored ids, in tooltips, summary and colours.
        QSignalSpy shown(&model, &PromptTokensModel::scoresShownChanged);
        std::vector<PromptTokenScore> scores(3);
        scores[1] = {std::log(0.02f), 5, 9, std::log(0.5f)};
        scores[2] = {std::log(0.25f), 0, 7, std::log(0.25f)};
        model.setScores({1, 42}, scores, Vocabulary()); // not the ids of these scores: ignored
        QVERIFY(!model.scoresShown());
        QVERIFY(model.scoreSummary().isEmpty());
        model.setScores({1, 42, 8}, scores, Vocabulary()); // other ids than the rows
        QVERIFY(!model.scoresShown());
        QCOMPARE(shown.count(), 0);
        model.setScores({1, 42, 7}, scores, Vocabulary());
        QVERIFY(model.scoresShown());
        QCOMPARE(shown.count(), 1);
        const QString summary = model.scoreSummary();
        QVERIFY2(summary.contains(QStringLiteral("2 tokens")) && summary.contains(QStringLiteral("perplexity 14.14")) &&
                     summary.contains(QStringLiteral("least expected: ·the (p = 2.0 %)")),
                 qPrintable(summary));
        QVERIFY(model.index(1, 0).data(Qt::ToolTipRole).toString().contains(QStringLiteral("rank 6")));
        QVERIFY(model.index(2, 0).data(Qt::ToolTipRole).toString().contains(QStringLiteral("first choice")));
        const QColor pastel = model.index(2, 0).data(Qt::BackgroundRole).value<QColor>();
        model.setProbabilityColours(true);
        QCOMPARE(model.index(2, 0).data(Qt::BackgroundRole).value<QColor>(), probabilityColor(0.25));
        QCOMPARE(model.index(0, 0).data(Qt::BackgroundRole).value<QColor>(), QColor(0xdd, 0xdd, 0xdd));
        model.setProbabilityColours(false);
        QCOMPARE(model.index(2, 0).data(Qt::BackgroundRole).value<QColor>(), pastel);
        model.clear();
        QCOMPARE(model.rowCount(), 0);
        QVERIFY(!model.scoresShown());
        QCOMPARE(shown.count(), 2);
    }

    void generatedTokensModel()
    {
        GeneratedTokensModel model;
        QAbstractItemModelTester tester(&model, QAbstractItemModelTester::FailureReportingMode::QtTest);
        StepRecord r = handMadeStep();
        for (int i = 0; i < 4; ++i) {
            r.step = i;
            r.text = "x";
            model.append(r);
        }
        QCOMPARE(model.rowCount(), 4);
        QCOMPARE(model.text(), QStringLiteral("xxxx"));
        QCOMPARE(model.index(2, 0).data(StepRole).toInt(), 2);
        QCOMPARE(model.index(0, 0).data(TokenIdRole).toInt(), 11);
        QVERIFY(model.index(0, 0).data(Qt::BackgroundRole).value<QColor>().isValid());
        model.truncate(2);
        QCOMPARE(model.rowCount(), 2);
        model.truncate(5); // no-op
        QCOMPARE(model.rowCount(), 2);
        model.setHistory({r});
        QCOMPARE(model.rowCount(), 1);
        model.clear();
        QCOMPARE(model.rowCount(), 0);
    }

    void laneModel()
    {
        LaneModel model;
        QAbstractItemModelTester tester(&model, QAbstractItemModelTester::FailureReportingMode::QtTest);
        LaneInfo root;
        LaneInfo branch;
        branch.id = 1;
        branch.kind = LaneKind::Branch;
        branch.parent = 0;
        branch.forkStep = 3;
        model.setLanes({root, branch});
        QCOMPARE(model.rowCount(), 2);
        QCOMPARE(model.rowOfLane(1), 1);
        QCOMPARE(model.rowOfLane(7), -1);
        QVERIFY(model.index(1, 0).data().toString().contains(QStringLiteral("Branch 1")));
        model.setLanes({});
        QCOMPARE(model.rowCount(), 0);
    }

    void candidateModel()
    {
        CandidateModel model;
        QAbstractItemModelTester tester(&model, QAbstractItemModelTester::FailureReportingMode::QtTest);
        const StepRecord r = handMadeStep();
        model.setDistribution(makeDistribution(r, 20, Vocabulary(), true));
        QCOMPARE(model.rowCount(), 5);
        QCOMPARE(model.columnCount(), int(CandidateModel::ColumnCount));
        QCOMPARE(model.index(2, CandidateModel::FateColumn).data().toString(), QStringLiteral("removed by top-k"));
        model.setDistribution(makeDistribution(r, 20, Vocabulary(), false)); // same size: dataChanged
        model.setDistribution(makeDistribution(r, 3, Vocabulary(), false));  // other size: reset
        QCOMPARE(model.rowCount(), 3);
        model.setDistribution({});
        QCOMPARE(model.rowCount(), 0);
    }
};

QTEST_MAIN(TstGuiModels)
#include "tst_gui_models.moc"
