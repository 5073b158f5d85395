// The llama.cpp-semantics stages (logit_bias, DRY, XTC, top-n-sigma, dynatemp, mirostat v1/v2) on small
// hand-made distributions, expected values from the closed forms in the comments, to 1e-5; the stage lists
// of each order; mirostat's mu carried, replayed and rewound in a Session. Not llama.cpp parity (that is
// tst_llamacpp_parity, against the real server).
#include "decoding/philox.h"
#include "decoding/sampler_chain.h"
#include "sampler_check.h"
#include "decoding/sampler_stages_llamacpp.h"
#include "decoding/session.h"
#include "model/backend.h"
#include "model/model.h"
#include "shared_data.h"

#include <QtTest>

#include <cmath>
#include <functional>
#include <limits>

using namespace logitscope;

namespace {

constexpr float kNegInf = -std::numeric_limits<float>::infinity();

using logitscope::test::logsOf;

const std::vector<float> kBase = logsOf({0.1, 0.2, 0.3, 0.4});

struct Ctx {
    std::vector<int32_t> prompt, generated;
    SamplingContext ctx;
    explicit Ctx(std::vector<int32_t> p = {}, std::vector<int32_t> g = {}) : prompt(std::move(p)), generated(std::move(g))
    {
        ctx.promptIds = prompt;
        ctx.generatedIds = generated;
    }
};

std::vector<double> normalized(std::vector<double> w)
{
    double z = 0;
    for (double v : w)
        z += v;
    for (double& v : w)
        v /= z;
    return w;
}

using logitscope::test::expectProbs;

SamplingParams llama(std::function<void(SamplingParams&)> edit)
{
    SamplingParams p;
    p.order = SamplerOrder::LlamaCpp;
    edit(p);
    return p;
}

// A toy vocabulary: one character per token for the single-character texts.
SamplerVocabulary toyVocab(std::vector<std::string> texts)
{
    SamplerVocabulary v;
    v.texts = texts;
    v.encode = [texts](const std::string& s) {
        std::vector<int32_t> ids;
        for (char ch : s)
            for (size_t i = 0; i < texts.size(); ++i)
                if (texts[i] == std::string(1, ch)) {
                    ids.push_back(int32_t(i));
                    break;
                }
        return ids;
    };
    return v;
}

// DRY with the test's own breakers (as id sequences), multiplier 1, base 2.
std::vector<double> dryProbs(const std::vector<int32_t>& ids, int allowed, int lastN, DryStage::Breakers breakers, int V = 6)
{
    DryStage dry(1.0f, 2.0f, allowed, lastN, {});
    dry.setBreakers(std::move(breakers));
    CandidateSet set;
    set.assign(std::vector<float>(size_t(V), 0.0f));
    Ctx c(ids);
    dry.apply(set, c.ctx);
    std::vector<float> l = set.denseLogits();
    std::vector<double> w;
    for (float v : l)
        w.push_back(std::exp(double(v)));
    return normalized(w);
}

void expectNear(const std::vector<double>& got, const std::vector<double>& want)
{
    QCOMPARE(got.size(), want.size());
    for (size_t i = 0; i < got.size(); ++i)
        QVERIFY2(std::abs(got[i] - want[i]) < 1e-5, qPrintable(QString("id %1: %2, expected %3").arg(i).arg(got[i]).arg(want[i])));
}

} // namespace

class TstLlamaCppSamplers : public QObject {
    Q_OBJECT

private slots:
    void logitBias()
    {
        Ctx c;
        // id 0 + ln 2: weights 0.2 0.2 0.3 0.4 (sum 1.1).
        expectProbs(SamplerChain(llama([](SamplingParams& p) { p.logitBias = {{0, "", std::log(2.0)}}; })), kBase, c.ctx,
                    {0.2 / 1.1, 0.2 / 1.1, 0.3 / 1.1, 0.4 / 1.1});
        // Two entries for one id add up: 0.1 * 4 = 0.4 (sum 1.3).
        expectProbs(SamplerChain(llama([](SamplingParams& p) {
                        p.logitBias = {{0, "", std::log(2.0)}, {0, "", std::log(2.0)}};
                    })),
                    kBase, c.ctx, {0.4 / 1.3, 0.2 / 1.3, 0.3 / 1.3, 0.4 / 1.3});
        // -inf bans: 0.1 0.2 0.3 over 0.6.
        expectProbs(SamplerChain(llama([](SamplingParams& p) { p.logitBias = {{3, "", -INFINITY}}; })), kBase, c.ctx,
                    {1.0 / 6, 2.0 / 6, 3.0 / 6, 0});
        // A text: every one of its tokens ("b", "c" = ids 1, 2) gets the bias ln 3: 0.1 0.6 0.9 0.4 over 2.0.
        const SamplerVocabulary v = toyVocab({"a", "b", "c", "d"});
        c.ctx.vocab = &v;
        expectProbs(SamplerChain(llama([](SamplingParams& p) { p.logitBias = {{-1, "bc", std::log(3.0)}}; })), kBase,
                    c.ctx, {0.05, 0.3, 0.45, 0.2});
        // Out-of-vocabulary ids are ignored by the stage (the Session refuses them).
        expectProbs(SamplerChain(llama([](SamplingParams& p) { p.logitBias = {{99, "", 5.0}}; })), kBase, c.ctx,
                    {0.1, 0.2, 0.3, 0.4});
        // Greedy keeps it (a processor, not a warper): the ban moves the argmax to id 2.
        SamplerChain greedy(llama([](SamplingParams& p) {
            p.temperature = 0;
            p.logitBias = {{3, "", -INFINITY}};
        }));
        QCOMPARE(greedy.sample(kBase, c.ctx).chosen, 2);
    }

    void dryRepeatAndBreaker()
    {
        // Uniform logits over 6 ids; text 1 5 2 3 4 1 5 2 3: the end "1 5 2 3" also ends at index 3, a repeat
        // of length 4, so id 4 (what followed it) gets 1 * 2^(4 - 2) = 4: weight e^-4 against five 1s.
        const std::vector<int32_t> ids = {1, 5, 2, 3, 4, 1, 5, 2, 3};
        const double e4 = std::exp(-4.0), e1 = std::exp(-1.0);
        expectNear(dryProbs(ids, 2, -1, {}), normalized({1, 1, 1, 1, e4, 1}));
        // Breaker id 5 two tokens before the end: repeats reach back at most 2 tokens, penalty 2^0 = 1.
        DryStage::Breakers b5;
        b5.emplace(5, std::vector<int32_t>{});
        expectNear(dryProbs(ids, 2, -1, b5), normalized({1, 1, 1, 1, e1, 1}));
        // A two-token breaker "5 2" (head 5, tail 2) ends one token before the end: repeats reach back 1 < 2
        // allowed, no penalty; with allowed length 1, 2^(1 - 1) = 1. "5 9" matches nowhere: no limit.
        DryStage::Breakers b52, b59;
        b52.emplace(5, std::vector<int32_t>{2});
        b59.emplace(5, std::vector<int32_t>{9});
        expectNear(dryProbs(ids, 2, -1, b52), normalized({1, 1, 1, 1, 1, 1}));
        expectNear(dryProbs(ids, 1, -1, b52), normalized({1, 1, 1, 1, e1, 1}));
        expectNear(dryProbs(ids, 2, -1, b59), normalized({1, 1, 1, 1, e4, 1}));
        // Allowed length 3: 2^(4 - 3) = 2.
        expectNear(dryProbs(ids, 3, -1, {}), normalized({1, 1, 1, 1, std::exp(-2.0), 1}));
        // Only the last 4 ids (1 5 2 3): nothing repeats.
        expectNear(dryProbs(ids, 2, 4, {}), normalized({1, 1, 1, 1, 1, 1}));
        // 1 2 5 1 2: "1 2" repeats and 5 followed it, but 5 is a whole breaker: never penalised. Without the
        // breaker it gets 2^(2 - 2) = 1.
        const std::vector<int32_t> ids2 = {1, 2, 5, 1, 2};
        expectNear(dryProbs(ids2, 2, -1, b5), normalized({1, 1, 1, 1, 1, 1}));
        expectNear(dryProbs(ids2, 2, -1, {}), normalized({1, 1, 1, 1, 1, e1}));
        // The penalty lands on the repeated id, in the chain's snapshot too.
        SamplerChain chain(llama([](SamplingParams& p) {
            p.dryMultiplier = 1;
            p.dryBase = 2;
        }));
        Ctx c(ids);
        const SampleResult r = chain.sample(std::vector<float>(6, 0.0f), c.ctx);
        QCOMPARE(r.stages.back().name, std::string("dry"));
        QCOMPARE(r.stages.back().penalised, std::vector<int32_t>{4});
        QVERIFY(!r.stages.back().detail.empty());
    }

    void dryBreakerProcessing()
    {
        // Texts: "a" "b:" "c" ":" "x:y" " d". ":" is inside ids 1, 3, 4 (empty tails). "ca": id 2 ("c") ends
        // with its start, the rest "a" tokenizes to id 0; nothing holds "ca" whole.
        const SamplerVocabulary v = toyVocab({"a", "b:", "c", ":", "x:y", " d"});
        const DryStage::Breakers b = DryStage::processBreakers({":", "ca"}, v);
        QCOMPARE(int(b.size()), 4);
        for (int32_t id : {1, 3, 4}) {
            auto r = b.equal_range(id);
            QVERIFY(r.first != r.second);
            QVERIFY(r.first->second.empty());
        }
        auto r = b.equal_range(2);
        QVERIFY(r.first != r.second);
        QCOMPARE(r.first->second, std::vector<int32_t>{0});
    }

    void xtc()
    {
        Ctx c;
        // Threshold 0.15: 0.4, 0.3, 0.2 are at or above it; all but the least likely of them (0.2) go:
        // 0.1 0.2 over 0.3.
        expectProbs(SamplerChain(llama([](SamplingParams& p) {
                        p.xtcProbability = 1;
                        p.xtcThreshold = 0.15;
                    })),
                    kBase, c.ctx, {1.0 / 3, 2.0 / 3, 0, 0});
        // Threshold 0.35: only 0.4 is above: nothing removed. Threshold above 0.5: the stage is off.
        expectProbs(SamplerChain(llama([](SamplingParams& p) {
                        p.xtcProbability = 1;
                        p.xtcThreshold = 0.35;
                    })),
                    kBase, c.ctx, {0.1, 0.2, 0.3, 0.4});
        QCOMPARE(SamplerChain(llama([](SamplingParams& p) {
                     p.xtcProbability = 1;
                     p.xtcThreshold = 0.6;
                 })).stageNames().size(),
                 size_t(0));
        // Probability 0.5: applied exactly at the steps whose own Philox word (1, not the sampler's 0) is <= 0.5.
        int applied = 0;
        for (uint64_t step = 0; step < 40; ++step) {
            SamplerChain chain(llama([](SamplingParams& p) {
                p.xtcProbability = 0.5;
                p.xtcThreshold = 0.15;
                p.seed = 7;
            }));
            c.ctx.step = step;
            const bool expect = PhiloxDraw(7, 0, step).uniform(1) <= 0.5f;
            const std::vector<float> lp = chain.processedLogprobs(kBase, c.ctx);
            QCOMPARE(lp[3] == kNegInf, expect);
            applied += expect ? 1 : 0;
        }
        QVERIFY(applied > 5 && applied < 35);
    }

    void topNSigma()
    {
        Ctx c;
        // Logits 0 1 2 3: mean 1.5, sigma sqrt(1.25) = 1.118034. n = 1 keeps logits >= 1.882: ids 2, 3.
        const std::vector<float> l = {0, 1, 2, 3};
        const double e = std::exp(1.0);
        expectProbs(SamplerChain(llama([](SamplingParams& p) { p.topNSigma = 1; })), l, c.ctx,
                    {0, 0, 1 / (1 + e), e / (1 + e)});
        // n = 2 keeps logits >= 0.764: ids 1, 2, 3.
        expectProbs(SamplerChain(llama([](SamplingParams& p) { p.topNSigma = 2; })), l, c.ctx,
                    normalized({0, 1, e, e * e}));
        // Its llama.cpp chain: top_k, temperature, top_n_sigma (penalties and other truncations are not used).
        SamplerChain chain(llama([](SamplingParams& p) {
            p.topNSigma = 1;
            p.topK = 40;
            p.topP = 0.9;
            p.temperature = 0.8;
            p.dryMultiplier = 0.5;
        }));
        QCOMPARE(chain.stageNames(), (std::vector<std::string>{"top_k", "temperature", "top_n_sigma"}));
    }

    void dynatemp()
    {
        Ctx c;
        // p = 0.1 0.2 0.3 0.4: H = -sum p ln p, normalised by ln 4; T = Tmin + (Tmax - Tmin) * (H / ln 4)^x;
        // the result is p^(1/T) renormalised.
        const std::vector<double> p = {0.1, 0.2, 0.3, 0.4};
        double H = 0;
        for (double v : p)
            H -= v * std::log(v);
        const double h = H / std::log(4.0);
        auto expected = [&](double T) {
            std::vector<double> w;
            for (double v : p)
                w.push_back(std::pow(v, 1 / T));
            return normalized(w);
        };
        expectProbs(SamplerChain(llama([](SamplingParams& q) { q.dynatempRange = 0.5; })), kBase, c.ctx,
                    expected(0.5 + 1.0 * h));
        expectProbs(SamplerChain(llama([](SamplingParams& q) {
                        q.dynatempRange = 0.5;
                        q.dynatempExponent = 2;
                    })),
                    kBase, c.ctx, expected(0.5 + 1.0 * h * h));
        // t 0.3, range 0.5: Tmin clamps at 0, Tmax 0.8.
        expectProbs(SamplerChain(llama([](SamplingParams& q) {
                        q.temperature = 0.3;
                        q.dynatempRange = 0.5;
                    })),
                    kBase, c.ctx, expected(0.8 * h));
        // It takes temperature's place, last in the llama.cpp order; its snapshot says the temperature.
        SamplerChain chain(llama([](SamplingParams& q) {
            q.dynatempRange = 0.5;
            q.topK = 3;
        }));
        QCOMPARE(chain.stageNames(), (std::vector<std::string>{"top_k", "dynatemp"}));
        const SampleResult r = chain.sample(kBase, c.ctx);
        QVERIFY2(QString::fromStdString(r.stages.back().detail).startsWith("T "), r.stages.back().detail.c_str());
    }

    void mirostatV2()
    {
        Ctx c;
        // tau 1.5: mu starts at 3. Surprises -log2 p: 3.32 (0.1), 2.32, 1.74, 1.32: 0.1 goes; 0.2 0.3 0.4 over 0.9.
        SamplerChain chain(llama([](SamplingParams& p) {
            p.mirostat = 2;
            p.mirostatTau = 1.5;
            p.mirostatEta = 0.1;
            p.seed = 3;
        }));
        QCOMPARE(chain.stageNames(), (std::vector<std::string>{"mirostat_v2"}));
        expectProbs(chain, kBase, c.ctx, {0, 2.0 / 9, 3.0 / 9, 4.0 / 9});
        const SampleResult r = chain.sample(kBase, c.ctx);
        QVERIFY(r.chosen >= 1);
        const double pc = std::vector<double>{0, 2.0 / 9, 3.0 / 9, 4.0 / 9}[size_t(r.chosen)];
        QCOMPARE(r.mirostatMuIn, 3.0f);
        QVERIFY(std::abs(double(r.mirostatMu) - (3.0 - 0.1 * (-std::log2(pc) - 1.5))) < 1e-5);
        QVERIFY2(QString::fromStdString(r.stages.back().detail).contains("mu 3.0000"), r.stages.back().detail.c_str());
        // mu 1 (from the lane): no token has surprise <= 1, the most likely one stays; p = 1 gives surprise 0,
        // so mu becomes 1 - 0.1 * (0 - 1.5) = 1.15.
        c.ctx.mirostatMu = 1.0f;
        expectProbs(chain, kBase, c.ctx, {0, 0, 0, 1});
        const SampleResult r2 = chain.sample(kBase, c.ctx);
        QCOMPARE(r2.chosen, 3);
        QVERIFY(std::abs(double(r2.mirostatMu) - 1.15) < 1e-5);
        // Greedy: no mirostat, no mu.
        SamplerChain greedy(llama([](SamplingParams& p) {
            p.mirostat = 2;
            p.temperature = 0;
        }));
        QVERIFY(greedy.stageNames().empty());
        QVERIFY(std::isnan(greedy.sample(kBase, c.ctx).mirostatMu));
    }

    void mirostatV1()
    {
        Ctx c;
        // Zipf with exponent 2 over V = 200 ids: every ratio p_i / p_{i+1} = ((i+2)/(i+1))^2, so s = 2 exactly,
        // and k = (1 * 2^mu / (1 - 200^-1))^(1/2). tau 5 (mu 10): sqrt(1024 / 0.995) = 32.08: the top 32.
        const int V = 200;
        std::vector<double> zipf;
        for (int i = 0; i < V; ++i)
            zipf.push_back(1.0 / double((i + 1) * (i + 1)));
        const std::vector<float> logits = logsOf(normalized(zipf));
        auto topOf = [&](int k) {
            std::vector<double> w(zipf.begin(), zipf.begin() + k);
            w.resize(size_t(V), 0.0);
            return normalized(w);
        };
        SamplerChain chain(llama([](SamplingParams& p) {
            p.mirostat = 1;
            p.mirostatTau = 5;
            p.mirostatEta = 0.1;
            p.seed = 11;
        }));
        QCOMPARE(chain.stageNames(), (std::vector<std::string>{"mirostat"}));
        const std::vector<double> top32 = topOf(32);
        expectProbs(chain, logits, c.ctx, top32);
        const SampleResult r = chain.sample(logits, c.ctx);
        QVERIFY(r.chosen >= 0 && r.chosen < 32);
        QVERIFY(std::abs(double(r.mirostatMu) - (10.0 - 0.1 * (-std::log2(top32[size_t(r.chosen)]) - 5.0))) < 1e-4);
        QVERIFY2(QString::fromStdString(r.stages.back().detail).contains("k 32"), r.stages.back().detail.c_str());
        // mu 4: sqrt(16 / 0.995) = 4.01: the top 4.
        c.ctx.mirostatMu = 4.0f;
        expectProbs(chain, logits, c.ctx, topOf(4));
        // A flat head (uniform: every ratio 1, s = 0) gives no finite k: everything stays.
        c.ctx.mirostatMu = std::numeric_limits<float>::quiet_NaN();
        expectProbs(chain, std::vector<float>(4, 0.5f), c.ctx, {0.25, 0.25, 0.25, 0.25});
        // With a temperature, llama.cpp's mirostat chain is temperature then mirostat (top_k etc. unused).
        SamplerChain withT(llama([](SamplingParams& p) {
            p.mirostat = 1;
            p.temperature = 0.7;
            p.topK = 5;
            p.minP = 0.1;
            p.logitBias = {{1, "", 1.0}};
        }));
        QCOMPARE(withT.stageNames(), (std::vector<std::string>{"logit_bias", "temperature", "mirostat"}));
    }

    void orders()
    {
        auto all = [](SamplingParams& p) {
            p.logitBias = {{0, "", 1.0}};
            p.dryMultiplier = 0.8;
            p.topK = 40;
            p.xtcProbability = 0.5;
            p.dynatempRange = 0.2;
            p.topNSigma = -1;
        };
        SamplingParams p;
        all(p);
        p.order = SamplerOrder::LlamaCpp;
        QCOMPARE(SamplerChain(p).stageNames(), (std::vector<std::string>{"logit_bias", "dry", "top_k", "xtc", "dynatemp"}));
        p.order = SamplerOrder::HuggingFace;
        p.topNSigma = 1.5;
        QCOMPARE(SamplerChain(p).stageNames(),
                 (std::vector<std::string>{"logit_bias", "dry", "dynatemp", "top_k", "top_n_sigma", "xtc"}));
        p.order = SamplerOrder::Vllm;
        QCOMPARE(SamplerChain(p).stageNames(),
                 (std::vector<std::string>{"logit_bias", "dry", "dynatemp", "top_k", "top_n_sigma", "xtc"}));
        // Greedy: the processors (logit_bias, dry) stay, the warpers go.
        p.temperature = 0;
        QCOMPARE(SamplerChain(p).stageNames(), (std::vector<std::string>{"logit_bias", "dry"}));
    }

    // --- the Session keeps mu per lane: carried from step to step, replayed after a rewind, copied by fork ---
    void sessionCarriesMu()
    {
        REQUIRE_SHARED("models/ref-llama-spm.gguf");
        auto model = Model::load(test::sharedPath("models/ref-llama-spm.gguf"));
        Session s(model, createBackend(model, "cpu", 2));
        SamplingParams p;
        p.order = SamplerOrder::LlamaCpp;
        p.mirostat = 2;
        p.mirostatTau = 3;
        p.seed = 5;
        p.maxNewTokens = 8;
        p.minNewTokens = 8; // no EOS before the fork and the rewind
        s.prefill(s.tokenize("The jury said"), p);
        std::vector<StepRecord> recs;
        for (int i = 0; i < 5; ++i)
            recs.push_back(s.step(0));
        QCOMPARE(recs[0].sample.mirostatMuIn, 6.0f);
        for (int i = 1; i < 5; ++i)
            QCOMPARE(recs[size_t(i)].sample.mirostatMuIn, recs[size_t(i - 1)].sample.mirostatMu);
        const int lane = s.fork(0);
        s.rewind(0, 2);
        const StepRecord again = s.step(0);
        QCOMPARE(again.sample.mirostatMuIn, recs[3].sample.mirostatMuIn);
        QCOMPARE(again.chosen, recs[3].chosen);
        QCOMPARE(s.step(lane).sample.mirostatMuIn, recs[4].sample.mirostatMu);
        // A logit_bias id outside the vocabulary is refused, naming the setting.
        SamplingParams bad = p;
        bad.logitBias = {{model->config().vocabSize, "", 1.0}};
        bool refused = false;
        try {
            s.setSampling(0, bad);
        } catch (const std::exception& e) {
            refused = QString(e.what()).contains("'logit_bias'");
        }
        QVERIFY(refused);
    }
};

QTEST_GUILESS_MAIN(TstLlamaCppSamplers)
#include "tst_llamacpp_samplers.moc"
