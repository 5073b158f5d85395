// Golden test: the CPU backend against Hugging Face transformers on the trained ref-llama-spm model,
// loaded both from its HF folder (rotate-half RoPE) and from llama.cpp's GGUF (interleaved Q/K rows).
// Uses the reference's prompt ids directly, so it depends on the loader but not on the tokenizer.
#include "backend_forward.h"
#include "model/cpu_backend.h"
#include "model/kv_cache.h"
#include "model/model.h"
#include "shared_data.h"

#include <QtTest>
#include <nlohmann/json.hpp>

#include <cmath>
#include <fstream>
#include <iterator>
#include <string>

using namespace logitscope;

namespace {

const char* kReference = "reference/ref-llama-spm.hf.json";

// Tolerances. The reference was made by transformers on a model cast wholesale to fp16 and back, which
// rounds RoPE's inverse frequencies to fp16 (RopeScaling::rounding). Loaded with that rounding the
// backend reproduces it to ~1e-5 in log-probabilities and ~1e-6 in attention, and must meet the issue's
// limits: ids identical, log-probabilities within 2e-3, attention within 1e-4. With exact fp32
// frequencies (the default, as llama.cpp and from_pretrained(dtype=...) compute them) the rotation
// angles differ slightly and the numbers drift with position: up to 6.5e-4 on prompts, 5.3e-3 on the
// later greedy steps, 2.3e-4 in attention (measured), so that variant gets wider limits and accepts a
// greedy flip at a near tie.
constexpr double kLogprobTol = 2e-3;      // every log-probability, reference arithmetic
constexpr double kAttentionTol = 1e-4;    // attention probabilities, reference arithmetic
constexpr double kExactGreedyTol = 1e-2;  // exact RoPE: greedy top-10 (positions up to 45)
constexpr double kExactAttentionTol = 5e-4;
constexpr double kTieGap = 2e-3;          // exact RoPE: HF top-1/top-2 gap below which either token is accepted

std::vector<double> logSoftmax(const float* x, size_t n)
{
    double mx = -1e300;
    for (size_t i = 0; i < n; ++i)
        mx = std::max(mx, double(x[i]));
    double sum = 0;
    for (size_t i = 0; i < n; ++i)
        sum += std::exp(double(x[i]) - mx);
    const double lse = mx + std::log(sum);
    std::vector<double> out(n);
    for (size_t i = 0; i < n; ++i)
        out[i] = double(x[i]) - lse;
    return out;
}

// Python's json writes -Infinity (masked scores in `processors`); JSON has no such number.
nlohmann::json loadReference(const std::string& path)
{
    std::ifstream f(path);
    std::string text((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
    for (size_t at; (at = text.find("Infinity")) != std::string::npos;)
        text.replace(at, 8, "1e300");
    for (size_t at; (at = text.find("NaN")) != std::string::npos;)
        text.replace(at, 3, "null");
    return nlohmann::json::parse(text);
}

int argmax(const std::vector<double>& v) { return int(std::max_element(v.begin(), v.end()) - v.begin()); }

// Appends tokens to seq and runs the backend, attention captured if asked.
SequenceOutput run(KvCache& cache, CpuBackend& backend, int seq, const std::vector<int32_t>& tokens, bool allLogits,
                   bool capture)
{
    ForwardOptions opt;
    opt.captureAttention = capture;
    return test::forwardOnce(backend, cache, seq, tokens, allLogits, opt);
}

} // namespace

class TstGoldenLlama : public QObject {
    Q_OBJECT
private slots:
    void matchesTransformers_data();
    void matchesTransformers();
};

void TstGoldenLlama::matchesTransformers_data()
{
    QTest::addColumn<QString>("modelPath");
    QTest::addColumn<bool>("referenceRope"); // RoPE frequencies rounded to fp16 as the reference's were
    for (const char* path : {"models/ref-llama-spm", "models/ref-llama-spm.gguf"})
        for (bool rounded : {true, false})
            QTest::addRow("%s, %s", path, rounded ? "fp16-rounded RoPE (the reference's arithmetic)" : "exact RoPE")
                << path << rounded;
}

void TstGoldenLlama::matchesTransformers()
{
    QFETCH(QString, modelPath);
    QFETCH(bool, referenceRope);
    REQUIRE_SHARED(kReference);
    REQUIRE_SHARED(modelPath.toStdString());
    const double greedyTol = referenceRope ? kLogprobTol : kExactGreedyTol;
    const double attentionTol = referenceRope ? kAttentionTol : kExactAttentionTol;
    const nlohmann::json ref = loadReference(test::sharedPath(kReference));
    LoadOptions options;
    if (referenceRope)
        options.ropeRounding = RopeScaling::Rounding::Fp16;
    auto model = Model::load(test::sharedPath(modelPath.toStdString()), options);
    const int V = model->config().vocabSize, L = model->config().layers, H = model->config().heads;
    CpuBackend backend(model, 2);

    double errPrompt = 0, errTop20 = 0, errGreedy = 0, errAtt = 0, errLast = 0;
    int nearTies = 0;
    for (size_t p = 0; p < ref["per_prompt"].size(); ++p) {
        const auto& pp = ref["per_prompt"][p];
        const std::vector<int32_t> ids = pp["prompt_ids"].get<std::vector<int32_t>>();
        const int T = int(ids.size());
        KvCache cache(model->config().kvBytesPerToken(4));
        const int seq = cache.createSequence();
        const SequenceOutput out = run(cache, backend, seq, ids, true, p == 0);
        QCOMPARE(out.logits.size(), size_t(T) * V);

        // Log-probability of every prompt token given the ones before it.
        const auto& plp = pp["prompt_logprobs"];
        QCOMPARE(int(plp.size()), T - 1);
        for (int t = 1; t < T; ++t) {
            const auto lp = logSoftmax(out.logits.data() + size_t(t - 1) * V, size_t(V));
            errPrompt = std::max(errPrompt, std::fabs(lp[size_t(ids[size_t(t)])] - plp[size_t(t - 1)].get<double>()));
        }
        std::vector<double> last = logSoftmax(out.logits.data() + size_t(T - 1) * V, size_t(V));
        for (const auto& e : pp["last_top20"])
            errTop20 = std::max(errTop20, std::fabs(last[e[0].get<size_t>()] - e[1].get<double>()));
        QCOMPARE(argmax(last), pp["last_top20"][0][0].get<int>());

        if (p == 0) {
            const auto& att = pp["attentions"]; // [layer][head][q][k]
            QCOMPARE(out.attention.size(), size_t(L) * H * T * T);
            for (int l = 0; l < L; ++l)
                for (int h = 0; h < H; ++h)
                    for (int q = 0; q < T; ++q)
                        for (int k = 0; k < T; ++k)
                            errAtt = std::max(errAtt, std::fabs(double(out.attention[((size_t(l) * H + h) * T + q) * T + k]) -
                                                                att[size_t(l)][size_t(h)][size_t(q)][size_t(k)].get<double>()));
            const std::vector<float> want = pp["last_logits"].get<std::vector<float>>();
            QCOMPARE(int(want.size()), V);
            const auto wantLp = logSoftmax(want.data(), want.size());
            for (int i = 0; i < V; ++i)
                errLast = std::max(errLast, std::fabs(last[size_t(i)] - wantLp[size_t(i)]));
        }

        // 32 greedy steps, no EOS stop, fed HF's ids: each step's argmax and top-10 log-probabilities.
        // At a near tie (HF's top two closer than kTieGap) either of the two is accepted.
        for (const auto& step : pp["greedy"]) {
            const int want = step["id"].get<int>();
            const int next = argmax(last);
            const auto& top = step["top10"];
            const bool nearTie = !referenceRope && top[0][1].get<double>() - top[1][1].get<double>() < kTieGap;
            if (next != want) {
                qInfo("prompt %d step %d: argmax %d, HF %d (HF gap %.2e)", int(p), int(cache.length(seq) - T), next, want,
                      top[0][1].get<double>() - top[1][1].get<double>());
                QVERIFY2(nearTie && next == top[1][0].get<int>(), "greedy token differs from HF's");
                ++nearTies;
            }
            double stepErr = 0;
            for (const auto& e : top)
                stepErr = std::max(stepErr, std::fabs(last[e[0].get<size_t>()] - e[1].get<double>()));
            errGreedy = std::max(errGreedy, stepErr);
            const SequenceOutput o = run(cache, backend, seq, {want}, false, false);
            last = logSoftmax(o.logits.data(), size_t(V));
        }
    }
    qInfo("%s: max |error| prompt logprobs %.2e, last top20 %.2e, greedy top10 %.2e, attention %.2e, "
          "last logits (log-softmax) %.2e; greedy near-ties resolved the other way: %d",
          qPrintable(modelPath), errPrompt, errTop20, errGreedy, errAtt, errLast, nearTies);
    QVERIFY2(errPrompt < kLogprobTol, "prompt log-probabilities");
    QVERIFY2(errTop20 < kLogprobTol, "last top-20");
    QVERIFY2(errGreedy < greedyTol, "greedy top-10");
    QVERIFY2(errAtt < attentionTol, "attention probabilities");
    QVERIFY2(errLast < kLogprobTol, "last logits");
}

QTEST_APPLESS_MAIN(TstGoldenLlama)
#include "tst_golden_llama.moc"
