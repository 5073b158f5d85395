// The logit lens through Session on the reference model (../shared): every step's last-layer lens is the
// model's real output distribution (same top-5, log-probs within 1e-5), layer 0 matches a hand computation,
// rewinds, forks and branches keep the lens of the forward pass behind each step, and with the option off
// nothing is captured.
#include "lens_test_support.h"

#include "decoding/session.h"
#include "model/backend.h"
#include "model/logit_lens.h"
#include "shared_data.h"

#include <QtTest>

using namespace logitscope;

namespace {

std::shared_ptr<const Model> referenceModel()
{
    static std::shared_ptr<const Model> model = Model::load(test::sharedPath("models/ref-llama-spm.gguf"));
    return model;
}

SessionOptions lensOn()
{
    SessionOptions o;
    o.logitLens = true;
    return o;
}

SamplingParams greedy(int maxNew)
{
    SamplingParams p;
    p.greedy = true;
    p.maxNewTokens = maxNew;
    return p;
}

SamplingParams sampled(uint64_t seed, int maxNew)
{
    SamplingParams p;
    p.topK = 40;
    p.seed = seed;
    p.maxNewTokens = maxNew;
    return p;
}

// The last layer's lens is the step's raw distribution; the chosen token's rank/prob agree with it.
void checkStep(const StepRecord& r, int layers)
{
    QCOMPARE(int(r.lens.size()), layers);
    QCOMPARE(int(r.lensChosenRank.size()), layers);
    QCOMPARE(int(r.lensChosenProb.size()), layers);
    for (const auto& layer : r.lens)
        QCOMPARE(int(layer.size()), 5);
    const auto& last = r.lens.back();
    for (size_t i = 0; i < last.size(); ++i) {
        QCOMPARE(last[i].id, r.rawTop[i].id);
        QVERIFY2(std::fabs(last[i].logprob - r.rawTop[i].logprob) < 1e-5,
                 qPrintable(QString("step %1 rank %2: lens %3, model %4")
                                .arg(r.step).arg(i).arg(last[i].logprob).arg(r.rawTop[i].logprob)));
    }
    QVERIFY(std::fabs(std::log(r.lensChosenProb.back()) - r.chosenLogprob) < 1e-5);
    int rank = 0;
    while (rank < int(r.rawTop.size()) && r.rawTop[size_t(rank)].id != r.chosen)
        ++rank;
    if (rank < int(r.rawTop.size()))
        QCOMPARE(r.lensChosenRank.back(), rank);
    for (int l = 0; l < layers; ++l) {
        QVERIFY(r.lensChosenRank[size_t(l)] >= 0);
        QVERIFY(r.lensChosenProb[size_t(l)] >= 0 && r.lensChosenProb[size_t(l)] <= 1);
        // A top-5 entry's probability is at least the chosen token's when the chosen token ranks below it.
        if (r.lensChosenRank[size_t(l)] < 5)
            QCOMPARE(r.lens[size_t(l)][size_t(r.lensChosenRank[size_t(l)])].id, r.chosen);
    }
}

// Two records of the same step's distribution (the chosen token may differ when one was forced).
void sameLens(const StepRecord& a, const StepRecord& b, bool sameChoice = true)
{
    QCOMPARE(a.lens.size(), b.lens.size());
    for (size_t l = 0; l < a.lens.size(); ++l)
        for (size_t i = 0; i < a.lens[l].size(); ++i) {
            QCOMPARE(a.lens[l][i].id, b.lens[l][i].id);
            QVERIFY(std::fabs(a.lens[l][i].logprob - b.lens[l][i].logprob) < 1e-4);
        }
    if (sameChoice)
        QCOMPARE(a.lensChosenRank, b.lensChosenRank);
}

} // namespace

class TestLensSession : public QObject {
    Q_OBJECT

private slots:
    void init() { REQUIRE_SHARED("models/ref-llama-spm.gguf"); }

    void lastLayerIsTheOutput_data()
    {
        QTest::addColumn<bool>("promptLogprobs");
        QTest::newRow("prompt log-probs") << true; // the prefill's head runs over every prompt row
        QTest::newRow("last row only") << false;
    }
    void lastLayerIsTheOutput()
    {
        QFETCH(bool, promptLogprobs);
        auto m = referenceModel();
        SessionOptions o = lensOn();
        o.promptLogprobs = promptLogprobs;
        Session s(m, createBackend(m, "cpu", 2), o);
        s.prefill(s.tokenize("The capital of France is"), greedy(12));
        QCOMPARE(int(s.currentResidual(0).size()), m->config().layers * m->config().hidden);
        int steps = 0;
        while (!s.finished(0)) {
            const StepRecord r = s.step(0);
            checkStep(r, m->config().layers);
            QCOMPARE(r.lensChosenRank.back(), 0); // greedy
            ++steps;
        }
        QVERIFY(steps > 3);
    }

    void sampledLanesAndForcedTokens()
    {
        auto m = referenceModel();
        Session s(m, createBackend(m, "cpu", 2), lensOn());
        s.prefill(s.tokenize("Once upon a time"), sampled(11, 10));
        const int lane = s.fork(0);
        for (const StepRecord& r : s.stepLanes({0, lane}))
            checkStep(r, m->config().layers);
        const StepRecord f = s.force(0, 5);
        checkStep(f, m->config().layers);
        QCOMPARE(f.chosen, 5);
    }

    void rewindAndBranchKeepTheLens()
    {
        auto m = referenceModel();
        Session s(m, createBackend(m, "cpu", 2), lensOn());
        s.prefill(s.tokenize("He said that the"), sampled(7, 16));
        std::vector<StepRecord> first;
        for (int i = 0; i < 6; ++i)
            first.push_back(s.step(0));
        // Rewind restores the logits by re-running a forward pass: the residual comes back with them.
        s.rewind(0, 3);
        const StepRecord again = s.step(0);
        QCOMPARE(again.chosen, first[3].chosen);
        sameLens(again, first[3]);
        // Back to the prompt: the first step's lens is the prefill's.
        s.rewind(0, int(s.generatedIds(0).size()));
        sameLens(s.step(0), first[0]);
        // A branch forces another token at a past step; its lens is that of the distribution it overrode.
        const StepRecord b = s.branch(0, 0, first[0].lens[0][1].id);
        checkStep(b, m->config().layers);
        sameLens(b, first[0], false);
        s.rewind(0, int(s.generatedIds(0).size()));
        for (int i = 0; i < 3; ++i)
            s.step(0);
        const StepRecord b2 = s.branch(0, 2, 9);
        QCOMPARE(b2.step, 2);
        checkStep(b2, m->config().layers);
        sameLens(b2, first[2], false);
        QCOMPARE(b2.chosen, 9);
    }

    void offCostsNothing()
    {
        auto m = referenceModel();
        Session s(m, createBackend(m, "cpu", 2));
        QVERIFY(!s.options().logitLens);
        s.prefill(s.tokenize("The capital of France is"), greedy(4));
        QVERIFY(s.currentResidual(0).empty());
        while (!s.finished(0)) {
            const StepRecord r = s.step(0);
            QVERIFY(r.lens.empty());
            QVERIFY(r.lensChosenRank.empty());
            QVERIFY(r.lensChosenProb.empty());
            QCOMPARE(r.lensMs, 0.0);
            QVERIFY(s.currentResidual(0).empty());
        }
    }

    void switchedOnMidway()
    {
        auto m = referenceModel();
        Session s(m, createBackend(m, "cpu", 2));
        s.prefill(s.tokenize("Once upon a time"), sampled(3, 8));
        QVERIFY(s.step(0).lens.empty());
        SessionOptions o = s.options();
        o.logitLens = true;
        s.setOptions(o);
        QVERIFY(s.step(0).lens.empty()); // its logits came from a forward pass without the lens
        checkStep(s.step(0), m->config().layers);
        o.logitLens = false;
        s.setOptions(o);
        QVERIFY(s.step(0).lens.empty());
        QVERIFY(s.currentResidual(0).empty());
    }

    void layer0ByHand()
    {
        // The reference model's layer 0 residual for <s>, computed from the formulas in double precision,
        // and its lens re-projected by a naive norm + head.
        auto m = referenceModel();
        const ModelConfig& c = m->config();
        CpuBackend backend(m, 2);
        KvCache cache(c.kvBytesPerToken(4));
        const int seq = cache.createSequence();
        const int32_t bos = m->tokenizer().bos();
        const SequenceOutput out = test::forwardOnce(backend, cache, seq, {bos}, false, true);
        const std::vector<double> want = test::handLayer0(*m, bos);
        double worst = 0, scale = 0;
        for (int i = 0; i < c.hidden; ++i) {
            worst = std::max(worst, std::fabs(double(out.residual[size_t(i)]) - want[size_t(i)]));
            scale = std::max(scale, std::fabs(want[size_t(i)]));
        }
        QVERIFY2(worst <= 1e-5 * std::max(1.0, scale), qPrintable(QString("max |diff| %1 (scale %2)").arg(worst).arg(scale)));

        LogitLens lens(m, 2);
        std::vector<float> logits(size_t(c.vocabSize));
        lens.project(out.residual.data(), 1, logits.data());
        const std::vector<double> naive = test::naiveProject(*m, out.residual.data());
        double worstLogit = 0;
        for (int v = 0; v < c.vocabSize; ++v)
            worstLogit = std::max(worstLogit, std::fabs(double(logits[size_t(v)]) - naive[size_t(v)]));
        QVERIFY2(worstLogit < 1e-4, qPrintable(QString("max |logit diff| %1").arg(worstLogit)));
    }
};

QTEST_GUILESS_MAIN(TestLensSession)
#include "tst_lens_session.moc"
