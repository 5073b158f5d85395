// Every sampler stage on small hand-made distributions (expected values worked out in the comments,
// compared to 1e-5), penalties with known counts, the three stage orders, snapshots, greedy and seeded
// choices, and the partial-sort stages against a brute-force full sort on larger random vocabularies.
#include "decoding/fast_exp.h"
#include "decoding/philox.h"
#include "decoding/sampler_chain.h"
#include "sampler_check.h"

#include <QtTest>

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>
#include <random>

using namespace logitscope;

// fastExp8 is called here without AVX: fine, it has internal linkage (see fast_exp.h).
#pragma GCC diagnostic ignored "-Wpsabi"

namespace {

constexpr float kNegInf = -std::numeric_limits<float>::infinity();

using logitscope::test::logsOf;

// {0.1, 0.2, 0.3, 0.4} as logits.
const std::vector<float> kBase = logsOf({0.1, 0.2, 0.3, 0.4});

SamplingContext context(const std::vector<int32_t>& prompt = {}, const std::vector<int32_t>& generated = {})
{
    static std::vector<int32_t> p, g; // keep the spans alive for the call
    p = prompt;
    g = generated;
    SamplingContext ctx;
    ctx.promptIds = p;
    ctx.generatedIds = g;
    return ctx;
}

using logitscope::test::expectProbs;

SamplingParams params(std::function<void(SamplingParams&)> edit)
{
    SamplingParams p;
    edit(p);
    return p;
}

// HF TopPLogitsWarper in double over a full ascending sort: the set of kept ids.
std::vector<int32_t> bruteTopP(const std::vector<float>& logits, double topP)
{
    const int n = int(logits.size());
    std::vector<int32_t> idx(static_cast<size_t>(n));
    std::iota(idx.begin(), idx.end(), 0);
    std::sort(idx.begin(), idx.end(), [&](int32_t a, int32_t b) { return logits[size_t(a)] < logits[size_t(b)]; });
    double m = *std::max_element(logits.begin(), logits.end()), z = 0;
    for (float l : logits)
        z += std::exp(double(l) - m);
    std::vector<int32_t> kept;
    double cum = 0;
    for (int i = 0; i < n; ++i) {
        cum += std::exp(double(logits[size_t(idx[size_t(i)])]) - m) / z;
        if (!(cum <= 1 - topP) || i == n - 1)
            kept.push_back(idx[size_t(i)]);
    }
    std::sort(kept.begin(), kept.end());
    return kept;
}

// HF TypicalLogitsWarper in double over a full sort.
std::vector<int32_t> bruteTypical(const std::vector<float>& logits, double mass)
{
    const int n = int(logits.size());
    double m = *std::max_element(logits.begin(), logits.end()), z = 0;
    for (float l : logits)
        z += std::exp(double(l) - m);
    const double logZ = m + std::log(z);
    double h = 0;
    for (float l : logits)
        h -= std::exp(double(l) - logZ) * (double(l) - logZ);
    std::vector<double> shifted(static_cast<size_t>(n));
    for (int i = 0; i < n; ++i)
        shifted[size_t(i)] = std::abs(-(double(logits[size_t(i)]) - logZ) - h);
    std::vector<int32_t> idx(static_cast<size_t>(n));
    std::iota(idx.begin(), idx.end(), 0);
    std::stable_sort(idx.begin(), idx.end(), [&](int32_t a, int32_t b) { return shifted[size_t(a)] < shifted[size_t(b)]; });
    double cum = 0;
    int lastInd = 0;
    for (int i = 0; i < n; ++i) {
        cum += std::exp(double(logits[size_t(idx[size_t(i)])]) - logZ);
        if (cum < mass)
            ++lastInd;
    }
    lastInd = std::min(lastInd, n - 1);
    const double edge = shifted[size_t(idx[size_t(lastInd)])];
    std::vector<int32_t> kept;
    for (int i = 0; i < n; ++i)
        if (!(shifted[size_t(i)] > edge) || i == idx[0])
            kept.push_back(i);
    return kept;
}

std::vector<int32_t> keptIds(const std::vector<float>& processed)
{
    std::vector<int32_t> kept;
    for (size_t i = 0; i < processed.size(); ++i)
        if (processed[i] != kNegInf)
            kept.push_back(int32_t(i));
    return kept;
}

std::vector<float> randomLogits(int n, unsigned seed, float scale)
{
    std::mt19937 rng(seed);
    std::normal_distribution<float> normal(0.0f, scale);
    std::vector<float> out(static_cast<size_t>(n));
    for (float& v : out)
        v = normal(rng);
    return out;
}

} // namespace

class TstSamplerChain : public QObject {
    Q_OBJECT
private slots:
    void fastExpAccuracy()
    {
        // Relative error against double exp over the whole useful range; the 8-lane version agrees bit
        // for bit with the scalar one; -inf and anything below -87 give exactly 0.
        double worst = 0;
        for (int i = 0; i <= 167500; ++i) {
            const float x = float(-80.0 + i * 0.001);
            const double rel = std::abs(double(fastExp(x)) / std::exp(double(x)) - 1.0);
            worst = std::max(worst, rel);
        }
        QVERIFY2(worst < 5e-7, qPrintable(QString("worst relative error %1").arg(worst)));
        QCOMPARE(fastExp(kNegInf), 0.0f);
        QCOMPARE(fastExp(-100.0f), 0.0f);
        QCOMPARE(fastExp(0.0f), 1.0f);
        const Float8 x = {-88.0f, -20.5f, -1.0f, -0.1f, 0.0f, 0.3f, 5.25f, kNegInf};
        const Float8 y = fastExp8(x);
        for (int k = 0; k < 8; ++k)
            QCOMPARE(y[k], fastExp(x[k]));
    }

    void rawDistribution()
    {
        SamplerChain chain(SamplingParams{});
        QVERIFY(chain.stageNames().empty());
        expectProbs(chain, kBase, context(), {0.1, 0.2, 0.3, 0.4});
        const SampleResult r = chain.sample(kBase, context());
        QCOMPARE(r.stages.size(), size_t(1));
        const StageSnapshot& raw = r.stages[0];
        QCOMPARE(QString::fromStdString(raw.name), QString("raw"));
        QCOMPARE(raw.survivors, 4);
        // H = -(0.1 ln 0.1 + 0.2 ln 0.2 + 0.3 ln 0.3 + 0.4 ln 0.4) = 1.2798542
        QVERIFY(std::abs(raw.entropy - 1.2798542f) < 1e-5f);
        QCOMPARE(raw.top.size(), size_t(4));
        const int32_t ids[] = {3, 2, 1, 0};
        const float probs[] = {0.4f, 0.3f, 0.2f, 0.1f};
        for (int i = 0; i < 4; ++i) {
            QCOMPARE(raw.top[size_t(i)].id, ids[i]);
            QVERIFY(std::abs(raw.top[size_t(i)].prob - probs[i]) < 1e-6f);
        }
    }

    void temperature()
    {
        // T = 0.5 squares the probabilities: {.01, .04, .09, .16} / .30
        SamplerChain chain(params([](SamplingParams& p) { p.temperature = 0.5; }));
        expectProbs(chain, kBase, context(), {0.01 / 0.3, 0.04 / 0.3, 0.09 / 0.3, 0.16 / 0.3});
        // T = 2 takes square roots: sqrt(p) / sum sqrt(p)
        SamplerChain hot(params([](SamplingParams& p) { p.temperature = 2.0; }));
        const double s = std::sqrt(0.1) + std::sqrt(0.2) + std::sqrt(0.3) + std::sqrt(0.4);
        expectProbs(hot, kBase, context(), {std::sqrt(0.1) / s, std::sqrt(0.2) / s, std::sqrt(0.3) / s, std::sqrt(0.4) / s});
    }

    void topK()
    {
        // k = 2 keeps .3 and .4 -> {0, 0, 3/7, 4/7}
        SamplerChain chain(params([](SamplingParams& p) { p.topK = 2; }));
        expectProbs(chain, kBase, context(), {0, 0, 3.0 / 7, 4.0 / 7});
        // k >= vocabulary keeps all
        SamplerChain wide(params([](SamplingParams& p) { p.topK = 10; }));
        expectProbs(wide, kBase, context(), {0.1, 0.2, 0.3, 0.4});
        // HF keeps ties with the k-th logit: {1, 2, 2, 3} with k = 2 keeps ids 1, 2, 3.
        const std::vector<float> tied = {1, 2, 2, 3};
        const double z = 2 * std::exp(2.0) + std::exp(3.0);
        expectProbs(chain, tied, context(), {0, std::exp(2.0) / z, std::exp(2.0) / z, std::exp(3.0) / z});
    }

    void topP()
    {
        // Ascending cumulative {.1, .3, .6, 1}; p = 0.75 removes cum <= .25 (id 0) -> {0, 2/9, 3/9, 4/9}
        SamplerChain chain(params([](SamplingParams& p) { p.topP = 0.75; }));
        expectProbs(chain, kBase, context(), {0, 2.0 / 9, 3.0 / 9, 4.0 / 9});
        // p = 0.5 removes cum <= .5 (ids 0, 1) -> {0, 0, 3/7, 4/7}
        SamplerChain half(params([](SamplingParams& p) { p.topP = 0.5; }));
        expectProbs(half, kBase, context(), {0, 0, 3.0 / 7, 4.0 / 7});
        // p tiny keeps only the best token
        SamplerChain tiny(params([](SamplingParams& p) { p.topP = 0.01; }));
        expectProbs(tiny, kBase, context(), {0, 0, 0, 1});
    }

    void minP()
    {
        // min_p 0.6: threshold 0.6 * 0.4 = 0.24 keeps .3, .4 -> {0, 0, 3/7, 4/7}
        SamplerChain chain(params([](SamplingParams& p) { p.minP = 0.6; }));
        expectProbs(chain, kBase, context(), {0, 0, 3.0 / 7, 4.0 / 7});
        // min_p 0.4: threshold 0.16 keeps .2, .3, .4 -> {0, 2/9, 3/9, 4/9}
        SamplerChain low(params([](SamplingParams& p) { p.minP = 0.4; }));
        expectProbs(low, kBase, context(), {0, 2.0 / 9, 3.0 / 9, 4.0 / 9});
    }

    void typicalP()
    {
        // H = 1.2798542; |-ln p - H| = {1.02273, 0.32958, 0.07588, 0.36356}
        // typical order: id 2 (.3), id 1 (.2), id 3 (.4), id 0 (.1); cumulative .3, .5, .9, 1.0
        // mass 0.45: one cumulative value below it -> keep ids 2, 1 -> {0, .4, .6, 0}
        SamplerChain chain(params([](SamplingParams& p) { p.typicalP = 0.45; }));
        expectProbs(chain, kBase, context(), {0, 0.4, 0.6, 0});
        // mass 0.6: two below -> keep ids 2, 1, 3 -> {0, 2/9, 3/9, 4/9}
        SamplerChain more(params([](SamplingParams& p) { p.typicalP = 0.6; }));
        expectProbs(more, kBase, context(), {0, 2.0 / 9, 3.0 / 9, 4.0 / 9});
        // mass 0.2: none below -> keep the most typical, id 2
        SamplerChain least(params([](SamplingParams& p) { p.typicalP = 0.2; }));
        expectProbs(least, kBase, context(), {0, 0, 1, 0});
    }

    void repetitionPenalty()
    {
        // prompt {0, 1}, output {1}: id 0 (2.0 -> 2/2 = 1), id 1 (-1 -> -1*2 = -2, once although seen twice)
        SamplerChain chain(params([](SamplingParams& p) { p.repetitionPenalty = 2.0; }));
        const std::vector<float> logits = {2.0f, -1.0f, 0.5f, 1.0f};
        const std::vector<float> out = chain.processedLogits(logits, context({0, 1}, {1}));
        const std::vector<float> expected = {1.0f, -2.0f, 0.5f, 1.0f};
        for (size_t i = 0; i < 4; ++i)
            QCOMPARE(out[i], expected[i]);
        const SampleResult r = chain.sample(logits, context({0, 1}, {1}));
        QCOMPARE(r.stages.size(), size_t(2));
        std::vector<int32_t> pen = r.stages[1].penalised;
        std::sort(pen.begin(), pen.end());
        QCOMPARE(pen, (std::vector<int32_t>{0, 1}));
        // Incrementally updated entropy equals a fresh computation over {1, -2, .5, 1}.
        double z = 0, a = 0;
        for (float l : expected)
            z += std::exp(double(l));
        for (float l : expected)
            a += std::exp(double(l)) / z * (double(l) - std::log(z));
        QVERIFY(std::abs(r.stages[1].entropy - float(-a)) < 1e-5f);
    }

    void presenceFrequency()
    {
        // output {3, 3, 1}; frequency .25, presence .5: id 3: 1 - .5 - .5 = 0; id 1: 1 - .25 - .5 = .25;
        // prompt id 0 is not counted (OpenAI/vLLM count generated tokens only).
        SamplerChain chain(params([](SamplingParams& p) {
            p.presencePenalty = 0.5;
            p.frequencyPenalty = 0.25;
        }));
        const std::vector<float> out = chain.processedLogits(std::vector<float>{1, 1, 1, 1}, context({0}, {3, 3, 1}));
        QCOMPARE(out, (std::vector<float>{1.0f, 0.25f, 1.0f, 0.0f}));
        // Negative penalties reward instead.
        SamplerChain reward(params([](SamplingParams& p) { p.presencePenalty = -1.0; }));
        QCOMPARE(reward.processedLogits(std::vector<float>{1, 1, 1, 1}, context({}, {2})), (std::vector<float>{1, 1, 2, 1}));
    }

    void noRepeatNgram()
    {
        const std::vector<float> flat(6, 0.0f);
        // n = 2, ids {1, 2, 3, 1}: the last token 1 was followed by 2 -> 2 banned
        SamplerChain bigram(params([](SamplingParams& p) { p.noRepeatNgram = 2; }));
        QCOMPARE(keptIds(bigram.processedLogits(flat, context({1, 2, 3}, {1}))), (std::vector<int32_t>{0, 1, 3, 4, 5}));
        // prompt and output together: prompt {1, 2}, output {3, 1, 2}: bigram prefix 2 -> 3 banned
        QCOMPARE(keptIds(bigram.processedLogits(flat, context({1, 2}, {3, 1, 2}))), (std::vector<int32_t>{0, 1, 2, 4, 5}));
        // n = 3, ids {1, 2, 3, 1, 2}: prefix (1, 2) was followed by 3 -> 3 banned
        SamplerChain trigram(params([](SamplingParams& p) { p.noRepeatNgram = 3; }));
        QCOMPARE(keptIds(trigram.processedLogits(flat, context({1, 2, 3, 1, 2}))), (std::vector<int32_t>{0, 1, 2, 4, 5}));
        // too short for a trigram: nothing banned (HF: cur_len + 1 < n)
        QCOMPARE(keptIds(trigram.processedLogits(flat, context({4}))).size(), size_t(6));
        // n = 1 bans every id seen
        SamplerChain unigram(params([](SamplingParams& p) { p.noRepeatNgram = 1; }));
        QCOMPARE(keptIds(unigram.processedLogits(flat, context({0, 4}, {4}))), (std::vector<int32_t>{1, 2, 3, 5}));
    }

    void minNewTokens()
    {
        SamplerChain chain(params([](SamplingParams& p) { p.minNewTokens = 2; }));
        const std::vector<float> flat(6, 0.0f);
        SamplingContext ctx = context({1}, {3});
        ctx.eosIds = {2, 5};
        // 1 generated < 2: both EOS ids masked, the rest share the mass
        expectProbs(chain, flat, ctx, {0.25, 0.25, 0, 0.25, 0.25, 0});
        const SampleResult r = chain.sample(flat, ctx);
        QCOMPARE(r.stages[1].survivors, 4);
        QCOMPARE(r.stages[1].penalised, (std::vector<int32_t>{2, 5}));
        QVERIFY(r.chosen != 2 && r.chosen != 5);
        // 2 generated: nothing masked
        SamplingContext later = context({1}, {3, 4});
        later.eosIds = {2, 5};
        expectProbs(chain, flat, later, {1.0 / 6, 1.0 / 6, 1.0 / 6, 1.0 / 6, 1.0 / 6, 1.0 / 6});
    }

    void maskedTokensConsistent()
    {
        SamplerChain chain(params([](SamplingParams& p) { p.topK = 2; }));
        (void)chain.sample(kBase, context());
        int masked = 0;
        for (const Candidate& c : chain.candidates().all()) {
            if (c.id == 0 || c.id == 1) {
                QCOMPARE(c.logit, kNegInf);
                QCOMPARE(c.prob, 0.0f);
                ++masked;
            } else {
                QVERIFY(std::isfinite(c.logit));
                QVERIFY(c.prob > 0);
            }
        }
        QCOMPARE(masked, 2);
        // Non-finite input logits count as masked from the start.
        SamplerChain plain(SamplingParams{});
        const std::vector<float> withNan = {0.0f, std::numeric_limits<float>::quiet_NaN(), 0.0f, kNegInf};
        expectProbs(plain, withNan, context(), {0.5, 0, 0.5, 0});
        // Everything masked: nothing can be chosen.
        const SampleResult none = plain.sample(std::vector<float>{kNegInf, kNegInf}, context());
        QCOMPARE(none.chosen, -1);
    }

    void stageOrders()
    {
        auto all = [](SamplerOrder order) {
            SamplingParams p;
            p.order = order;
            p.temperature = 0.8;
            p.topK = 40;
            p.topP = 0.9;
            p.minP = 0.05;
            p.typicalP = 0.95;
            p.repetitionPenalty = 1.1;
            p.presencePenalty = 0.1;
            p.noRepeatNgram = 3;
            p.minNewTokens = 1;
            return SamplerChain(p).stageNames();
        };
        using V = std::vector<std::string>;
        QCOMPARE(all(SamplerOrder::HuggingFace), (V{"repetition_penalty", "no_repeat_ngram", "min_new_tokens", "presence_frequency",
                                                    "temperature", "top_k", "top_p", "min_p", "typical_p"}));
        QCOMPARE(all(SamplerOrder::Vllm), (V{"min_new_tokens", "no_repeat_ngram", "repetition_penalty", "presence_frequency",
                                             "temperature", "min_p", "top_k", "top_p", "typical_p"}));
        QCOMPARE(all(SamplerOrder::LlamaCpp), (V{"min_new_tokens", "no_repeat_ngram", "repetition_penalty", "presence_frequency",
                                                 "top_k", "typical_p", "top_p", "min_p", "temperature"}));
    }

    void orderChangesTheResult()
    {
        // min_p 0.3 with temperature 2. HF (temperature first): ratios to the max are sqrt(p / .4) =
        // {.5, .71, .87, 1}, all >= .3, so all four survive. llama.cpp (temperature last): ratios
        // {.25, .5, .75, 1} drop id 0 before the temperature flattens what is left.
        auto make = [](SamplerOrder order) {
            return SamplerChain(params([order](SamplingParams& p) {
                p.order = order;
                p.minP = 0.3;
                p.temperature = 2.0;
            }));
        };
        const double s4 = std::sqrt(0.1) + std::sqrt(0.2) + std::sqrt(0.3) + std::sqrt(0.4);
        expectProbs(make(SamplerOrder::HuggingFace), kBase, context(),
                    {std::sqrt(0.1) / s4, std::sqrt(0.2) / s4, std::sqrt(0.3) / s4, std::sqrt(0.4) / s4});
        const double s3 = std::sqrt(0.2) + std::sqrt(0.3) + std::sqrt(0.4);
        expectProbs(make(SamplerOrder::LlamaCpp), kBase, context(), {0, std::sqrt(0.2) / s3, std::sqrt(0.3) / s3, std::sqrt(0.4) / s3});
    }

    void snapshots()
    {
        // repetition 2 on prompt {3}: 0.4 -> logit ln(.4) * 2 (negative logit is multiplied)
        SamplerChain chain(params([](SamplingParams& p) {
            p.repetitionPenalty = 2.0;
            p.temperature = 0.5;
            p.topK = 2;
        }));
        SamplerChain small(params([](SamplingParams& p) {
            p.repetitionPenalty = 2.0;
            p.temperature = 0.5;
            p.topK = 2;
        }), SamplerChainOptions{2, true});
        const SampleResult r = chain.sample(kBase, context({3}));
        QCOMPARE(r.stages.size(), size_t(4));
        const char* names[] = {"raw", "repetition_penalty", "temperature", "top_k"};
        const int survivors[] = {4, 4, 4, 2};
        for (int i = 0; i < 4; ++i) {
            QCOMPARE(QString::fromStdString(r.stages[size_t(i)].name), QString(names[i]));
            QCOMPARE(r.stages[size_t(i)].survivors, survivors[i]);
            float sum = 0;
            for (const Candidate& c : r.stages[size_t(i)].top)
                sum += c.prob;
            QVERIFY(std::abs(sum - 1.0f) < 1e-5f); // every survivor is in the top 20 here
        }
        // After repetition: logits ln .1, ln .2, ln .3, 2 ln .4 -> p = {.1, .2, .3, .16} / .76
        const StageSnapshot& rep = r.stages[1];
        QCOMPARE(rep.top[0].id, 2);
        QVERIFY(std::abs(rep.top[0].prob - 0.3f / 0.76f) < 1e-5f);
        QCOMPARE(rep.penalised, (std::vector<int32_t>{3}));
        // Temperature 0.5 squares: {.01, .04, .09, .0256} / .1656, same order as before
        const StageSnapshot& temp = r.stages[2];
        QCOMPARE(temp.top[0].id, 2);
        QCOMPARE(temp.top[1].id, 1);
        QVERIFY(std::abs(temp.top[0].prob - 0.09f / 0.1656f) < 1e-5f);
        QVERIFY(std::abs(temp.top[3].prob - 0.01f / 0.1656f) < 1e-5f);
        // Top-2 keeps ids 2, 1: {.09, .04} / .13
        const StageSnapshot& topk = r.stages[3];
        QCOMPARE(topk.top.size(), size_t(2));
        QVERIFY(std::abs(topk.top[0].prob - 0.09f / 0.13f) < 1e-5f);
        QVERIFY(r.chosen == 1 || r.chosen == 2);
        QVERIFY(std::abs(r.chosenProb - (r.chosen == 2 ? 0.09f / 0.13f : 0.04f / 0.13f)) < 1e-5f);
        QVERIFY(std::abs(r.chosenLogprob - std::log(r.chosenProb)) < 1e-5f);
        // Snapshot size is configurable.
        const SampleResult s = small.sample(kBase, context({3}));
        QCOMPARE(s.stages[0].top.size(), size_t(2));
        QCOMPARE(s.stages[2].top.size(), size_t(2));
        // Recording off: no snapshots, same choice.
        SamplerChain quiet(chain.params(), SamplerChainOptions{20, false});
        const SampleResult q = quiet.sample(kBase, context({3}));
        QVERIFY(q.stages.empty());
        QCOMPARE(q.chosen, r.chosen);
    }

    void greedy()
    {
        // Argmax, lowest id on ties; warpers are left out as HF does for do_sample=False.
        SamplerChain chain(params([](SamplingParams& p) {
            p.temperature = 0;
            p.topK = 1;
            p.typicalP = 0.2;
            p.repetitionPenalty = 1.5;
        }));
        QCOMPARE(chain.stageNames(), (std::vector<std::string>{"repetition_penalty"}));
        QVERIFY(chain.greedy());
        const std::vector<float> logits = {1.0f, 3.0f, 3.0f, 2.0f};
        SampleResult r = chain.sample(logits, context());
        QCOMPARE(r.chosen, 1);
        QVERIFY(r.greedy);
        // With id 1 repeated, its logit 3 -> 2, id 2 wins.
        r = chain.sample(logits, context({1}));
        QCOMPARE(r.chosen, 2);
        const double z = std::exp(1.0) + 2 * std::exp(2.0) + std::exp(3.0);
        QVERIFY(std::abs(r.chosenProb - float(std::exp(3.0) / z)) < 1e-5f);
        // The greedy flag does the same at temperature 1.
        SamplerChain flagged(params([](SamplingParams& p) { p.greedy = true; }));
        QCOMPARE(flagged.sample(logits, context()).chosen, 1);
    }

    void seededDraws()
    {
        // Cumulative over ascending ids: {.1, .3, .6, 1.0}; the choice is the first id whose
        // cumulative probability exceeds u = philox(seed, lane, step).
        SamplingParams p;
        p.seed = 1234;
        SamplerChain chain(p);
        const double cum[] = {0.1, 0.3, 0.6, 1.0};
        int counts[4] = {};
        const int n = 20000;
        for (int step = 0; step < n; ++step) {
            SamplingContext ctx = context();
            ctx.lane = 3;
            ctx.step = uint64_t(step);
            const SampleResult r = chain.sample(kBase, ctx);
            const float u = philoxUniform(1234, 3, uint64_t(step));
            QCOMPARE(r.draw, u);
            int expected = 0;
            while (expected < 3 && !(cum[expected] > double(u) + 1e-6))
                ++expected;
            if (std::abs(cum[expected] - double(u)) > 1e-5 && (expected == 0 || std::abs(cum[expected - 1] - double(u)) > 1e-5))
                QCOMPARE(r.chosen, expected);
            ++counts[r.chosen];
        }
        const double probs[] = {0.1, 0.2, 0.3, 0.4};
        for (int i = 0; i < 4; ++i)
            QVERIFY(std::abs(counts[i] / double(n) - probs[i]) < 0.01);
        // Reproducible: a new chain with the same settings makes the same choices.
        SamplerChain again(p);
        for (int step = 0; step < 50; ++step) {
            SamplingContext ctx = context();
            ctx.step = uint64_t(step);
            QCOMPARE(again.sample(kBase, ctx).chosen, chain.sample(kBase, ctx).chosen);
        }
    }

    void drawIndependentOfStageReordering()
    {
        // A top-k that keeps everything reorders the array but must not change the draw.
        const std::vector<float> logits = randomLogits(300, 5, 2.0f);
        SamplingParams a;
        a.seed = 99;
        SamplingParams b = a;
        b.topK = 299; // sorts, keeps all but the worst
        SamplingParams c = a;
        c.minP = 1e-9; // keeps everything, order preserved
        SamplerChain plain(a), sorted(b), kept(c);
        int same = 0;
        for (int step = 0; step < 200; ++step) {
            SamplingContext ctx = context();
            ctx.step = uint64_t(step);
            const int32_t x = plain.sample(logits, ctx).chosen;
            QCOMPARE(kept.sample(logits, ctx).chosen, x);
            same += sorted.sample(logits, ctx).chosen == x ? 1 : 0;
        }
        QVERIFY(same >= 190); // only draws near the dropped token's slice may differ
    }

    void partialSortsMatchFullSort()
    {
        for (int n : {50, 3000, 50000}) {
            for (unsigned seed : {1u, 2u, 3u}) {
                const std::vector<float> logits = randomLogits(n, seed, seed == 3 ? 0.5f : 3.0f);
                for (double topP : {0.5, 0.9, 0.99}) {
                    SamplerChain chain(params([topP](SamplingParams& p) { p.topP = topP; }));
                    QCOMPARE(keptIds(chain.processedLogits(logits, context())), bruteTopP(logits, topP));
                }
                for (double mass : {0.2, 0.9}) {
                    SamplerChain chain(params([mass](SamplingParams& p) { p.typicalP = mass; }));
                    QCOMPARE(keptIds(chain.processedLogits(logits, context())), bruteTypical(logits, mass));
                }
                SamplerChain topk(params([](SamplingParams& p) { p.topK = 37; }));
                QCOMPARE(keptIds(topk.processedLogits(logits, context())).size(), size_t(std::min(n, 37)));
            }
        }
    }

    void candidateSetInvariants()
    {
        // sortTop(k) leaves the true top k (logit desc, id asc) in front and keeps a permutation,
        // through both the heap-selection and the nth_element paths, also when called incrementally.
        for (int n : {10, 1000, 20000}) {
            std::vector<float> logits = randomLogits(n, unsigned(n), 1.0f);
            for (int i = 0; i < n; i += 7)
                logits[size_t(i)] = std::round(logits[size_t(i)] * 4) / 4; // plenty of ties
            std::vector<int32_t> ids(static_cast<size_t>(n));
            std::iota(ids.begin(), ids.end(), 0);
            std::stable_sort(ids.begin(), ids.end(), [&](int32_t a, int32_t b) { return logits[size_t(a)] > logits[size_t(b)]; });
            CandidateSet set;
            set.assign(logits);
            for (int k : {1, 3, 40, 41, 300, n / 2, n}) {
                set.sortTop(k);
                QVERIFY(set.sortedCount() >= std::min(k, n));
                std::span<Candidate> live = set.live();
                QCOMPARE(int(live.size()), n);
                for (int i = 0; i < std::min(k, n); ++i)
                    QCOMPARE(live[size_t(i)].id, ids[size_t(i)]);
                std::vector<int32_t> seen;
                for (const Candidate& c : live) {
                    seen.push_back(c.id);
                    QCOMPARE(c.logit, logits[size_t(c.id)]);
                }
                std::sort(seen.begin(), seen.end());
                for (int i = 0; i < n; ++i)
                    QCOMPARE(seen[size_t(i)], i);
                QCOMPARE(set.find(ids[0])->id, ids[0]);
            }
        }
    }

    void snapshotTopMatchesProcessed()
    {
        const std::vector<float> logits = randomLogits(50000, 21, 3.0f);
        std::vector<int32_t> prompt;
        for (int i = 0; i < 500; ++i)
            prompt.push_back(int32_t((i * 7919) % 50000));
        for (SamplerOrder order : {SamplerOrder::HuggingFace, SamplerOrder::Vllm, SamplerOrder::LlamaCpp}) {
            SamplerChain chain(params([order](SamplingParams& p) {
                p.order = order;
                p.repetitionPenalty = 1.3;
                p.temperature = 0.8;
                p.topK = 200;
                p.topP = 0.9;
                p.minP = 0.01;
            }));
            const SampleResult r = chain.sample(logits, context(prompt));
            const std::vector<float> lp = chain.processedLogprobs(logits, context(prompt));
            std::vector<int32_t> ids(lp.size());
            std::iota(ids.begin(), ids.end(), 0);
            std::stable_sort(ids.begin(), ids.end(), [&](int32_t a, int32_t b) { return lp[size_t(a)] > lp[size_t(b)]; });
            const StageSnapshot& last = r.stages.back();
            QCOMPARE(last.survivors, int(std::count_if(lp.begin(), lp.end(), [](float v) { return std::isfinite(v); })));
            QCOMPARE(int(last.top.size()), std::min(20, last.survivors));
            for (size_t i = 0; i < last.top.size(); ++i) {
                QCOMPARE(last.top[i].id, ids[i]);
                QVERIFY(std::abs(std::log(last.top[i].prob) - lp[size_t(ids[i])]) < 1e-5f);
            }
            QVERIFY(std::isfinite(lp[size_t(r.chosen)]));
            QVERIFY(std::abs(r.chosenLogprob - lp[size_t(r.chosen)]) < 1e-5f);
            // Entropy after each stage equals a direct computation on that stage's survivors (raw here).
            double m = *std::max_element(logits.begin(), logits.end()), z = 0, h = 0;
            for (float l : logits)
                z += std::exp(double(l) - m);
            for (float l : logits) {
                const double q = std::exp(double(l) - m) / z;
                h -= q * std::log(q);
            }
            QVERIFY(std::abs(r.stages[0].entropy - h) < 1e-4);
        }
    }

    void processedLogprobsNormalised()
    {
        const std::vector<float> logits = randomLogits(50000, 9, 4.0f);
        SamplerChain chain(params([](SamplingParams& p) {
            p.temperature = 0.7;
            p.topP = 0.95;
        }));
        const std::vector<float> lp = chain.processedLogprobs(logits, context());
        double total = 0;
        for (float v : lp)
            total += std::exp(double(v));
        QVERIFY(std::abs(total - 1.0) < 1e-5);
    }
};

QTEST_APPLESS_MAIN(TstSamplerChain)
#include "tst_sampler_chain.moc"
