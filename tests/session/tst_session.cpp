// Session properties: stepping in one go or in parts gives the same tokens, rewind + replay with the
// same seed reproduces them, forks and branches share the KV cache and free it when the last owner goes,
// and bad settings are rejected without being half-applied.
#include "common/error.h"
#include "decoding/session.h"
#include "model/backend.h"
#include "model/model.h"
#include "model/model_writer.h"
#include "model/synthetic_model.h"
#include "shared_data.h"

#include <QtTest>

using namespace logitscope;

namespace {

std::shared_ptr<const Model> referenceModel()
{
    static std::shared_ptr<const Model> model = Model::load(test::sharedPath("models/ref-llama-spm.gguf"));
    return model;
}

SamplingParams sampled(uint64_t seed, int maxNew = 24)
{
    SamplingParams p;
    p.temperature = 1.0;
    p.topK = 50;
    p.seed = seed;
    p.maxNewTokens = maxNew;
    return p;
}

std::vector<int32_t> run(Session& s, int lane, int n)
{
    std::vector<int32_t> ids;
    for (int i = 0; i < n && !s.finished(lane); ++i)
        ids.push_back(s.step(lane).chosen);
    return ids;
}

QString errorOf(const std::function<void()>& f)
{
    try {
        f();
    } catch (const Error& e) {
        return QString::fromStdString(e.what());
    }
    return QString();
}

} // namespace

class TestSession : public QObject {
    Q_OBJECT

private slots:
    void init() { REQUIRE_SHARED("models/ref-llama-spm.gguf"); }

    void partsEqualWhole()
    {
        auto m = referenceModel();
        Session a(m, createBackend(m, "cpu", 2));
        const auto prompt = a.tokenize("Once upon a time");
        a.prefill(prompt, sampled(42));
        const auto whole = run(a, 0, 4);
        Session b(m, createBackend(m, "cpu", 2));
        b.prefill(prompt, sampled(42));
        auto parts = run(b, 0, 3);
        const auto last = run(b, 0, 1);
        parts.insert(parts.end(), last.begin(), last.end());
        QCOMPARE(parts, whole);
    }

    void rewindReplayReproduces()
    {
        auto m = referenceModel();
        Session s(m, createBackend(m, "cpu", 2));
        s.prefill(s.tokenize("He said that the"), sampled(7));
        const auto first = run(s, 0, 10);
        const std::vector<float> logitsAfter = s.currentLogits(0);
        s.rewind(0, int(first.size()) - 3);
        QCOMPARE(int(s.generatedIds(0).size()), 3);
        QCOMPARE(s.kvStats().tokensLogical, int64_t(s.promptIds().size() * 2 + 3)); // prompt seq + lane
        auto replay = std::vector<int32_t>(first.begin(), first.begin() + 3);
        const auto more = run(s, 0, int(first.size()) - 3);
        replay.insert(replay.end(), more.begin(), more.end());
        QCOMPARE(replay, first);
        // The logits after the replay are those of the first run.
        const std::vector<float>& again = s.currentLogits(0);
        QCOMPARE(again.size(), logitsAfter.size());
        for (size_t i = 0; i < again.size(); ++i)
            QVERIFY(std::fabs(again[i] - logitsAfter[i]) < 1e-4f);
        // Rewinding to the prompt restores the prefill's distribution.
        s.rewind(0, int(s.generatedIds(0).size()));
        QCOMPARE(run(s, 0, 1).front(), first.front());
        QCOMPARE(errorOf([&] { s.rewind(0, 5); }), QString("rewind: cannot go back 5 tokens; lane 0 has 1"));
    }

    void forkSharesAndFrees()
    {
        auto m = referenceModel();
        Session s(m, createBackend(m, "cpu", 2));
        const auto prompt = s.tokenize("In the morning, the jury said that the city of Atlanta was");
        s.prefill(prompt, sampled(3));
        run(s, 0, 5);
        const KvStats before = s.kvStats();
        const int lane = s.fork(0);
        const KvStats shared = s.kvStats();
        QCOMPARE(shared.blocksUsed, before.blocksUsed);         // nothing copied
        QVERIFY(shared.blocksShared >= before.blocksShared);
        QVERIFY(shared.bytesWithoutSharing > shared.bytesUsed);
        // A forked lane's first step equals the parent's (same seed, same settings).
        const int32_t a = s.step(0).chosen;
        const int32_t b = s.step(lane).chosen;
        QCOMPARE(b, a);
        s.closeLane(lane);
        const KvStats after = s.kvStats();
        QCOMPARE(after.sequences, 2); // the prompt and the root lane
        // Blocks held only by the closed lane are free again: the same as a session that never forked.
        Session t(m, createBackend(m, "cpu", 2));
        t.prefill(prompt, sampled(3));
        run(t, 0, 6);
        QCOMPARE(after.blocksUsed, t.kvStats().blocksUsed);
        QCOMPARE(after.bytesUsed, t.kvStats().bytesUsed);
        QCOMPARE(errorOf([&] { s.closeLane(0); }), QString("lane 0: the root lane cannot be closed"));
    }

    void branchKeepsSibling()
    {
        auto m = referenceModel();
        Session s(m, createBackend(m, "cpu", 2));
        SamplingParams p;
        p.greedy = true;
        p.maxNewTokens = 20;
        s.prefill(s.tokenize("The capital of France is"), p);
        const auto original = run(s, 0, 6);
        // Take the second-best raw candidate at step 2.
        const StepRecord& at2 = s.history(0)[2];
        const int32_t alt = at2.rawTop[1].id;
        QVERIFY(alt != original[2]);
        const StepRecord r = s.branch(0, 2, alt);
        QVERIFY(r.forced);
        QCOMPARE(r.chosen, alt);
        QCOMPARE(r.step, 2);
        QCOMPARE(r.rawTop.front().id, at2.rawTop.front().id); // the same distribution as the original step
        const int child = r.lane;
        QCOMPARE(s.lane(child).kind, LaneKind::Branch);
        QCOMPARE(s.generatedIds(child), (std::vector<int32_t>{original[0], original[1], alt}));
        QCOMPARE(s.generatedIds(0), original); // the sibling is untouched
        // The branch goes on from its own token: greedy from scratch with the same forced prefix agrees.
        const auto cont = run(s, child, 3);
        Session t(m, createBackend(m, "cpu", 2));
        t.prefill(t.tokenize("The capital of France is"), p);
        run(t, 0, 2);
        t.force(0, alt);
        QCOMPARE(run(t, 0, 3), cont);
    }

    void branchAfterFinishedLane()
    {
        // A lane that ended (max_new_tokens) never forwarded its last token; branching at the step
        // after it must first run that token, so the branch equals forcing the same path by hand.
        auto m = referenceModel();
        Session s(m, createBackend(m, "cpu", 2));
        SamplingParams p;
        p.greedy = true;
        p.maxNewTokens = 4;
        s.prefill(s.tokenize("The capital of France is"), p);
        const auto first = run(s, 0, 4);
        QVERIFY(s.finished(0));
        p.maxNewTokens = 10;
        s.setSampling(0, p);
        const StepRecord r = s.branch(0, 4, 300);
        Session t(m, createBackend(m, "cpu", 2));
        t.prefill(t.tokenize("The capital of France is"), p);
        for (int32_t id : first)
            t.force(0, id);
        const StepRecord want = t.force(0, 300);
        QCOMPARE(r.position, want.position);
        QCOMPARE(r.rawTop.front().id, want.rawTop.front().id);
        QVERIFY(std::fabs(r.chosenLogprob - want.chosenLogprob) < 1e-4f);
        QCOMPARE(run(s, r.lane, 3), run(t, 0, 3));
    }

    void invalidSettingsNotApplied()
    {
        auto m = referenceModel();
        Session s(m, createBackend(m, "cpu", 1));
        s.prefill(s.tokenize("Once upon a time"), sampled(1));
        SamplingParams bad = sampled(1);
        bad.topP = 1.5;
        QVERIFY(errorOf([&] { s.setSampling(0, bad); }).contains("top_p"));
        QCOMPARE(s.sampling(0).topP, 1.0);
        bad = sampled(1);
        bad.temperature = -1;
        QVERIFY(errorOf([&] { s.setSampling(0, bad); }).contains("temperature"));
        bad = sampled(1);
        bad.maxNewTokens = 100000;
        QVERIFY(errorOf([&] { s.setSampling(0, bad); }).contains("max_new_tokens"));
        QCOMPARE(s.sampling(0), sampled(1));
        QVERIFY(errorOf([&] { s.force(0, 999999); }).contains("outside the vocabulary"));
    }

    void previewMatchesStep()
    {
        auto m = referenceModel();
        Session s(m, createBackend(m, "cpu", 1));
        s.prefill(s.tokenize("Once upon a time"), sampled(11));
        for (int i = 0; i < 5; ++i) {
            const StepRecord preview = s.preview(0);
            const StepRecord step = s.step(0);
            QCOMPARE(step.chosen, preview.chosen);
            QCOMPARE(step.sample.stages.size(), preview.sample.stages.size());
        }
        // Moving temperature changes the preview, not the state.
        SamplingParams hot = sampled(11);
        hot.temperature = 1.5;
        hot.topK = 0;
        s.setSampling(0, hot);
        const float hotEntropy = s.preview(0).sample.stages.back().entropy;
        hot.temperature = 0.3;
        s.setSampling(0, hot);
        const float coldEntropy = s.preview(0).sample.stages.back().entropy;
        QVERIFY2(coldEntropy < hotEntropy, qPrintable(QString("%1 vs %2").arg(coldEntropy).arg(hotEntropy)));
        QCOMPARE(int(s.generatedIds(0).size()), 5);
    }

    void stopSequencesAndLength()
    {
        auto m = referenceModel();
        Session s(m, createBackend(m, "cpu", 1));
        SamplingParams p;
        p.greedy = true;
        p.maxNewTokens = 30;
        s.prefill(s.tokenize("The capital of France is"), p);
        run(s, 0, 30);
        const std::string full = s.text(0); // " a source of dignity to prove that the Board ..."
        QVERIFY(full.find("dignity to") != std::string::npos);
        // A stop string that spans tokens ("ty to" crosses "dignity" / " to").
        p.stop = {"ty to"};
        s.prefill(s.tokenize("The capital of France is"), p);
        run(s, 0, 30);
        QCOMPARE(s.history(0).back().finish, FinishReason::Stop);
        QCOMPARE(s.history(0).back().stopString, std::string("ty to"));
        QCOMPARE(s.text(0), full.substr(0, full.find("ty to")));
        // max_new_tokens
        p.stop.clear();
        p.maxNewTokens = 3;
        s.prefill(s.tokenize("The capital of France is"), p);
        QCOMPARE(int(run(s, 0, 10).size()), 3);
        QCOMPARE(s.history(0).back().finish, FinishReason::Length);
        QVERIFY(errorOf([&] { s.step(0); }).contains("has finished (length)"));
    }

    void prefillReportsProgress()
    {
        auto m = referenceModel();
        Session s(m, createBackend(m, "cpu", 1));
        std::vector<std::pair<int, int>> calls;
        s.setProgress([&](int done, int total) { calls.emplace_back(done, total); });
        s.prefill(s.tokenize("Once upon a time"), sampled(1));
        QCOMPARE(int(calls.size()), m->config().layers);
        QCOMPARE(calls.back(), std::make_pair(m->config().layers, m->config().layers));
        QCOMPARE(calls.front().first, 1);
    }

    void contextFull()
    {
        auto m = referenceModel();
        Session s(m, createBackend(m, "cpu", 2));
        std::vector<int32_t> prompt(508, 300);
        prompt[0] = 1;
        SamplingParams p;
        p.greedy = true;
        p.maxNewTokens = 4;
        p.minNewTokens = 4; // EOS masked, so only the context can end it
        s.prefill(prompt, p);
        run(s, 0, 10);
        QCOMPARE(s.history(0).back().finish, FinishReason::Context);
        QCOMPARE(int(s.generatedIds(0).size()), 4);
    }
};

QTEST_GUILESS_MAIN(TestSession)
#include "tst_session.moc"
