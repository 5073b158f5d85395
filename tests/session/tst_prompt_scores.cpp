// Prompt scores: what a prefill says about every prompt token (its log-probability given the tokens before
// it, its rank, the model's own first choice) on the bundled model, against the same logits computed
// row by row and scored here in double precision; the perplexity by hand; a prompt longer than one
// LM-head chunk; the switch that turns scoring off; and sliding-window perplexity against Hugging Face's
// recipe written out here, window by window.
#include "common/error.h"
#include "decoding/perplexity.h"
#include "decoding/prompt_scores.h"
#include "decoding/session.h"
#include "model/backend.h"
#include "model/model.h"
#include "backend_forward.h"

#include <QtTest>

#include <cmath>

using namespace logitscope;

namespace {

std::shared_ptr<const Model> bundledModel()
{
    static std::shared_ptr<const Model> model =
        Model::load(std::string(LOGITSCOPE_SOURCE_DIR) + "/resources/models/logitscope-brown");
    return model;
}

// A prompt of more than two LM-head chunks (64 rows each), so scores cross chunk boundaries.
std::vector<int32_t> longPrompt(const Session& s)
{
    std::string text;
    for (int i = 0; i < 12; ++i)
        text += "The jury said that the city had been taken by surprise, and the mayor agreed. ";
    return s.tokenize(text);
}

} // namespace

class TestPromptScores : public QObject {
    Q_OBJECT

private slots:
    void scoresMatchTheLogitsOfEveryPosition()
    {
        auto model = bundledModel();
        Session s(model, createBackend(model, "cpu", 2));
        const std::vector<int32_t> ids = longPrompt(s);
        QVERIFY2(ids.size() > 130, qPrintable(QString::number(ids.size())));
        SamplingParams p;
        p.greedy = true;
        const PrefillRecord pre = s.prefill(ids, p);
        QCOMPARE(pre.promptScores.size(), ids.size());
        QVERIFY(!pre.promptScores[0].scored());
        QVERIFY(std::isnan(pre.promptScores[0].logprob));

        // Every position's logits again, from a backend of our own, and each token scored here.
        const int V = model->config().vocabSize;
        auto backend = createBackend(model, "cpu", 2);
        KvCache cache(model->config().kvBytesPerToken(backend->kvElementBytes()));
        const SequenceOutput all = test::forwardOnce(*backend, cache, cache.createSequence(), ids, true);
        QCOMPARE(all.logits.size(), ids.size() * size_t(V));
        int firstChoices = 0;
        for (size_t t = 1; t < ids.size(); ++t) {
            const float* row = &all.logits[(t - 1) * size_t(V)];
            int best = 0;
            for (int v = 1; v < V; ++v)
                if (row[v] > row[best])
                    best = v;
            const double mx = row[best];
            double sum = 0;
            for (int v = 0; v < V; ++v)
                sum += std::exp(double(row[v]) - mx);
            const double lse = mx + std::log(sum);
            int rank = 0;
            for (int v = 0; v < V; ++v)
                rank += row[v] > row[ids[t]];
            const PromptTokenScore& got = pre.promptScores[t];
            QVERIFY2(got.scored(), qPrintable(QString("token %1").arg(t)));
            QVERIFY2(std::fabs(got.logprob - (double(row[ids[t]]) - lse)) < 1e-4,
                     qPrintable(QString("token %1: %2 vs %3").arg(t).arg(got.logprob).arg(double(row[ids[t]]) - lse)));
            QCOMPARE(got.rank, rank);
            QCOMPARE(got.expected, int32_t(best));
            QVERIFY(std::fabs(got.expectedLogprob - (double(row[best]) - lse)) < 1e-4);
            QVERIFY(got.expectedLogprob >= got.logprob);
            firstChoices += got.rank == 0;
        }
        // A trained model: some tokens are its first choice, and it beats a uniform guess (perplexity V) by far.
        QVERIFY(firstChoices > 0);
        QVERIFY2(promptPerplexity(pre.promptScores) < V / 8.0, qPrintable(QString::number(promptPerplexity(pre.promptScores))));
    }

    void scoringLeavesTheNextTokenAlone()
    {
        // The prompt's next-token logits are computed before (and apart from) every row's: the same bits with
        // scoring and without, and the same tokens follow.
        auto model = bundledModel();
        SessionOptions scoring, plain;
        plain.promptLogprobs = false;
        Session a(model, createBackend(model, "cpu", 2), scoring), b(model, createBackend(model, "cpu", 2), plain);
        const std::vector<int32_t> ids = longPrompt(a);
        SamplingParams p;
        p.greedy = true;
        p.maxNewTokens = 4;
        p.minNewTokens = 4;
        const PrefillRecord pa = a.prefill(ids, p), pb = b.prefill(ids, p);
        QVERIFY(pb.promptScores.empty());
        // Scoring is timed apart from the prefill (a server's TTFT does not include it).
        QVERIFY(pa.scoringMs > 0);
        QCOMPARE(pb.scoringMs, 0.0);
        QCOMPARE(a.currentLogits(0), b.currentLogits(0));
        for (int i = 0; i < 4; ++i) {
            const StepRecord ra = a.step(0), rb = b.step(0);
            QCOMPARE(ra.chosen, rb.chosen);
            QVERIFY(std::fabs(ra.chosenLogprob - rb.chosenLogprob) < 1e-4);
        }
    }

    void perplexityByHand()
    {
        std::vector<PromptTokenScore> s(3);
        QVERIFY(std::isnan(promptPerplexity(s)));
        s[1].logprob = -1;
        s[1].rank = 0;
        s[2].logprob = -3;
        s[2].rank = 7;
        QCOMPARE(promptPerplexity(s), std::exp(2.0));
    }

    void scoringRowsThatDoNotFitIsAnError()
    {
        std::vector<PromptTokenScore> scores(3);
        const std::vector<int32_t> ids{1, 2, 3};
        const std::vector<float> logits(2 * 5, 0.0f);
        QVERIFY_THROWS_EXCEPTION(Error, scorePromptRows(scores, ids, 2, 2, logits, 5));
        QVERIFY_THROWS_EXCEPTION(Error, scorePromptRows(scores, ids, 0, 2, std::span<const float>(logits).first(9), 5));
        // Two rows of equal logits: every token ties for first place (rank 0), log p = -log 5.
        scorePromptRows(scores, ids, 0, 2, logits, 5);
        QVERIFY(!scores[0].scored());
        QCOMPARE(scores[1].rank, 0);
        QCOMPARE(scores[2].rank, 0);
        QVERIFY(std::fabs(scores[2].logprob + std::log(5.0f)) < 1e-6);
    }

    void perplexityOfOneWindowIsThePrompts()
    {
        auto model = bundledModel();
        Session s(model, createBackend(model, "cpu", 2));
        const std::vector<int32_t> ids = s.tokenize("The jury said that the city had been taken by surprise.");
        const PerplexityResult r = evaluatePerplexity(s, ids, 100, 50);
        QCOMPARE(r.windows, 1);
        QCOMPARE(r.tokens, int(ids.size()) - 1);
        SamplingParams p;
        p.maxNewTokens = 1;
        QCOMPARE(r.perplexity(), promptPerplexity(s.prefill(ids, p).promptScores));
    }

    void slidingWindows_data()
    {
        QTest::addColumn<int>("window");
        QTest::addColumn<int>("stride");
        QTest::newRow("overlapping") << 64 << 24;
        QTest::newRow("short stride") << 40 << 3;
        QTest::newRow("disjoint (stride = window)") << 50 << 50;
        QTest::newRow("one window longer than the text") << 500 << 100;
    }

    // Hugging Face's loop ("Perplexity of fixed-length models"): windows start every `stride`; each one's
    // targets are its last (end - previous end) tokens, the window's first token never one of them.
    void slidingWindows()
    {
        QFETCH(int, window);
        QFETCH(int, stride);
        auto model = bundledModel();
        Session s(model, createBackend(model, "cpu", 2)), ref(model, createBackend(model, "cpu", 2));
        const std::vector<int32_t> ids = longPrompt(s);
        const int n = int(ids.size());
        std::vector<int> windowsSeen;
        const PerplexityResult r =
            evaluatePerplexity(s, ids, window, stride, [&](const PerplexityResult& so_far) { windowsSeen.push_back(so_far.windows); });

        SamplingParams p;
        p.maxNewTokens = 1;
        double nll = 0;
        int tokens = 0, windows = 0, prevEnd = 0;
        for (int begin = 0; begin < n; begin += stride) {
            const int end = std::min(begin + window, n), targets = end - prevEnd;
            const PrefillRecord pre = ref.prefill(std::vector<int32_t>(ids.begin() + begin, ids.begin() + end), p);
            for (int t = std::max(1, end - begin - targets); t < end - begin; ++t) {
                nll -= pre.promptScores[size_t(t)].logprob;
                ++tokens;
            }
            ++windows;
            prevEnd = end;
            if (end == n)
                break;
        }
        QCOMPARE(r.windows, windows);
        QCOMPARE(int(windowsSeen.size()), windows);
        QCOMPARE(r.tokens, tokens);
        // Every token once, except a window's first when the windows do not overlap.
        QCOMPARE(tokens, stride < window ? n - 1 : n - windows);
        QVERIFY2(std::fabs(r.nllSum - nll) < 1e-9 * nll, qPrintable(QString("%1 vs %2").arg(r.nllSum).arg(nll)));
        QVERIFY(std::isfinite(r.standardError()) && r.standardError() > 0);
    }

    void perplexityStandardErrorByHand()
    {
        PerplexityResult r;
        QVERIFY(std::isnan(r.perplexity()));
        r.tokens = 2;
        r.nllSum = 1 + 3;
        r.nllSquares = 1 + 9;
        // mean 2, sample variance 2: e² · √(2 / 2)
        QVERIFY(std::fabs(r.standardError() - std::exp(2.0)) < 1e-12);
    }

    void perplexitySettingsThatDoNotFit()
    {
        auto model = bundledModel();
        const int context = model->config().contextLength;
        Session s(model, createBackend(model, "cpu", 1));
        const std::vector<int32_t> ids = longPrompt(s);
        const auto message = [&](std::span<const int32_t> text, int window, int stride) {
            try {
                evaluatePerplexity(s, text, window, stride);
            } catch (const Error& e) {
                return QString::fromStdString(e.what());
            }
            return QString();
        };
        QVERIFY(message(ids, context, 10).contains(QStringLiteral("window")));
        QVERIFY(message(ids, 1, 1).contains(QStringLiteral("window")));
        QVERIFY(message(ids, 64, 0).contains(QStringLiteral("stride")));
        QVERIFY(message(ids, 64, 65).contains(QStringLiteral("stride")));
        QVERIFY(message(std::span<const int32_t>(ids).first(1), 64, 32).contains(QStringLiteral("at least 2")));
        SessionOptions off;
        off.promptLogprobs = false;
        Session quiet(model, createBackend(model, "cpu", 1), off);
        QVERIFY_THROWS_EXCEPTION(Error, evaluatePerplexity(quiet, ids, 64, 32));
    }
};

QTEST_GUILESS_MAIN(TestPromptScores)
#include "tst_prompt_scores.moc"
