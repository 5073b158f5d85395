// llama.cpp parity for the llama.cpp-semantics stages and the grammar stage: ../shared/peers/llama-server
// (c392e50, loopback, one thread) with ../shared/models/ref-llama-spm.gguf. For each sampler, /completion
// with n_predict 1, n_probs = the vocabulary (so every candidate, not only the top 20), post_sampling_probs,
// a fixed seed, `samplers` and that sampler's parameters gives llama.cpp's distribution after its chain;
// Logitscope's llama.cpp-order chain runs on llama.cpp's own raw distribution (all samplers off, every
// probability) so model arithmetic does not enter: same surviving
// candidates, probabilities within 1e-3 (and log-probabilities within 2e-3 above 1e-37). Parameters this
// server does not read (top_n_sigma at c392e50) are skipped, saying so.
// Skips with a message when ../shared or curl is absent.
#include "decoding/grammar/grammar_stage.h"
#include "decoding/sampler_chain.h"
#include "decoding/sampler_stages_llamacpp.h"
#include "model/model.h"
#include "tokenizer/tokenizer.h"
#include "llama_server.h"
#include "shared_data.h"

#include <nlohmann/json.hpp>

#include <QtTest>

#include <cmath>
#include <limits>
#include <map>

using namespace logitscope;

namespace {

constexpr float kNegInf = -std::numeric_limits<float>::infinity();
constexpr double kTolerance = 1e-3;

const char* kPrompt = "The jury said";
// A prompt that repeats itself, for DRY.
const char* kRepeat = "one two three four five, one two three four five, one two three four";

} // namespace

class TstLlamaCppParity : public QObject {
    Q_OBJECT

private slots:
    void initTestCase();
    void samplers_data();
    void samplers();
    void grammar();
    void cleanupTestCase() { m_server.stop(); }

private:
    // llama.cpp's raw next-token distribution for `prompt`, as logits (log p; -inf where p is 0).
    std::vector<float> rawLogits(const std::string& prompt);
    nlohmann::json complete(const std::string& prompt, nlohmann::json extra);
    void compare(const QString& row, const nlohmann::json& top, const SamplerChain& chain,
                 const std::vector<float>& logits, const SamplingContext& ctx);

    test::LlamaServer m_server;
    bool m_started = false;
    std::shared_ptr<const Model> m_model;
    std::shared_ptr<const SamplerVocabulary> m_vocab;
    std::map<std::string, std::vector<float>> m_raw;
};

void TstLlamaCppParity::initTestCase()
{
    START_LLAMA_SERVER(m_server, "models/ref-llama-spm.gguf");
    m_started = true;
    m_model = Model::load(test::sharedPath("models/ref-llama-spm.gguf"));
    m_vocab = SamplerVocabulary::fromTokenizer(m_model->tokenizer());
}

nlohmann::json TstLlamaCppParity::complete(const std::string& prompt, nlohmann::json extra)
{
    nlohmann::json req = {{"prompt", prompt}, {"n_predict", 1}, {"n_probs", 20}, {"post_sampling_probs", true},
                          {"seed", 42}, {"cache_prompt", false}, {"temperature", 1.0}};
    for (auto it = extra.begin(); it != extra.end(); ++it)
        req[it.key()] = it.value();
    return m_server.post("/completion", req);
}

std::vector<float> TstLlamaCppParity::rawLogits(const std::string& prompt)
{
    auto it = m_raw.find(prompt);
    if (it != m_raw.end())
        return it->second;
    const int V = m_model->config().vocabSize;
    const nlohmann::json out = complete(prompt, {{"samplers", nlohmann::json::array()}, {"n_probs", V}});
    std::vector<float> logits(size_t(V), kNegInf);
    if (!out.is_object() || !out.contains("completion_probabilities"))
        return {};
    for (const auto& c : out["completion_probabilities"][0]["top_probs"]) {
        const double p = c.at("prob").get<double>();
        const int id = c.at("id").get<int>();
        if (id >= 0 && id < V && p > 0)
            logits[size_t(id)] = float(std::log(p));
    }
    m_raw.emplace(prompt, logits);
    return logits;
}

void TstLlamaCppParity::compare(const QString& row, const nlohmann::json& top, const SamplerChain& chain,
                                const std::vector<float>& logits, const SamplingContext& ctx)
{
    // llama.cpp lists its whole candidate array (n_probs = V): every survivor, and masked ones with p 0.
    const std::vector<float> lp = chain.processedLogprobs(logits, ctx);
    auto ours = [&lp](size_t id) { return std::isfinite(lp[id]) ? double(float(std::exp(double(lp[id])))) : 0.0; };
    std::vector<double> theirs(lp.size(), 0.0);
    int llamaLive = 0;
    for (const auto& c : top) {
        const size_t id = c.at("id").get<size_t>();
        QVERIFY(id < lp.size());
        theirs[id] = c.at("prob").get<double>();
        llamaLive += theirs[id] > 0 ? 1 : 0;
    }
    int oursLive = 0, changed = 0;
    for (size_t id = 0; id < lp.size(); ++id) {
        const double a = ours(id), b = theirs[id];
        oursLive += a > 0 ? 1 : 0;
        QVERIFY2(std::abs(a - b) < kTolerance, qPrintable(QString("%1: token %2 (%3): llama.cpp %4, Logitscope %5")
                                                              .arg(row).arg(id).arg(QString::fromStdString(m_vocab->texts[id]))
                                                              .arg(b).arg(a)));
        // And in log space down to 1e-37 (penalties and biases move small probabilities by factors; llama.cpp's
        // float probabilities are normal numbers down to 1.2e-38).
        if (b > 1e-37)
            QVERIFY2(std::abs(std::log(a) - std::log(b)) < 2e-3,
                     qPrintable(QString("%1: token %2: log p llama.cpp %3, Logitscope %4").arg(row).arg(id).arg(std::log(b)).arg(std::log(a))));
        const double r = std::isfinite(logits[id]) ? std::exp(double(logits[id])) : 0.0;
        if ((b == 0) != (r == 0) || (b > 1e-37 && std::abs(std::log(b) - std::log(r)) > 1e-2))
            ++changed;
    }
    QVERIFY2(oursLive == llamaLive, qPrintable(QString("%1: %2 candidates survive in llama.cpp, %3 in Logitscope")
                                                   .arg(row).arg(llamaLive).arg(oursLive)));
    QVERIFY2(changed > 0, qPrintable(row + ": llama.cpp's chain left the raw distribution as it was: nothing tested"));
    qInfo("%s: %d survive, %d tokens moved from the raw distribution", qPrintable(row), oursLive, changed);
}

void TstLlamaCppParity::samplers_data()
{
    QTest::addColumn<QString>("prompt");
    QTest::addColumn<QString>("request"); // what llama.cpp gets besides the common fields
    QTest::addColumn<QString>("settings"); // Logitscope's SamplingParams (order llama.cpp)
    QTest::addColumn<QString>("needs");   // a generation_settings key this server must echo, else skip

    auto row = [](const char* name, const char* prompt, nlohmann::json req, nlohmann::json settings, const char* needs = "") {
        QTest::newRow(name) << QString(prompt) << QString::fromStdString(req.dump()) << QString::fromStdString(settings.dump())
                            << QString(needs);
    };
    // DRY on a repetition (the next " five" would extend a 12-token repeat), and with a breaker inside it.
    row("dry", kRepeat, {{"samplers", {"dry"}}, {"dry_multiplier", 0.8}, {"dry_base", 1.75}, {"dry_allowed_length", 2}},
        {{"dry_multiplier", 0.8}, {"dry_base", 1.75}, {"dry_allowed_length", 2}});
    row("dry breaker", kRepeat,
        {{"samplers", {"dry"}}, {"dry_multiplier", 0.8}, {"dry_base", 1.75}, {"dry_sequence_breakers", {"two"}}},
        {{"dry_multiplier", 0.8}, {"dry_base", 1.75}, {"dry_sequence_breakers", {"two"}}});
    row("dry last n", kRepeat,
        {{"samplers", {"dry"}}, {"dry_multiplier", 1.0}, {"dry_base", 2.0}, {"dry_allowed_length", 1}, {"dry_penalty_last_n", 8}},
        {{"dry_multiplier", 1.0}, {"dry_base", 2.0}, {"dry_allowed_length", 1}, {"dry_penalty_last_n", 8}});
    // XTC with probability 1 (always applied), after top_k as in the default chain.
    row("xtc", kPrompt, {{"samplers", {"top_k", "xtc"}}, {"top_k", 40}, {"xtc_probability", 1.0}, {"xtc_threshold", 0.1}},
        {{"top_k", 40}, {"xtc_probability", 1.0}, {"xtc_threshold", 0.1}});
    row("xtc low threshold", kPrompt, {{"samplers", {"xtc"}}, {"xtc_probability", 1.0}, {"xtc_threshold", 0.02}},
        {{"xtc_probability", 1.0}, {"xtc_threshold", 0.02}});
    // Dynamic temperature in temperature's place, over top_k's survivors and over the whole vocabulary.
    row("dynatemp", kPrompt,
        {{"samplers", {"top_k", "temperature"}}, {"top_k", 40}, {"temperature", 0.8}, {"dynatemp_range", 0.5}, {"dynatemp_exponent", 1.5}},
        {{"top_k", 40}, {"temperature", 0.8}, {"dynatemp_range", 0.5}, {"dynatemp_exponent", 1.5}});
    row("dynatemp whole vocabulary", kPrompt, {{"samplers", {"temperature"}}, {"temperature", 1.2}, {"dynatemp_range", 0.6}},
        {{"temperature", 1.2}, {"dynatemp_range", 0.6}});
    // Mirostat's first step (mu = 2 tau); its chain ignores `samplers`.
    row("mirostat v1", kPrompt, {{"mirostat", 1}, {"mirostat_tau", 5.0}, {"mirostat_eta", 0.1}},
        {{"mirostat", 1}, {"mirostat_tau", 5.0}, {"mirostat_eta", 0.1}});
    row("mirostat v1 tau 2", kPrompt, {{"mirostat", 1}, {"mirostat_tau", 2.0}, {"temperature", 0.9}},
        {{"mirostat", 1}, {"mirostat_tau", 2.0}, {"temperature", 0.9}});
    row("mirostat v2", kPrompt, {{"mirostat", 2}, {"mirostat_tau", 4.0}, {"mirostat_eta", 0.1}},
        {{"mirostat", 2}, {"mirostat_tau", 4.0}, {"mirostat_eta", 0.1}});
    row("mirostat v2 tau 2", kPrompt, {{"mirostat", 2}, {"mirostat_tau", 2.0}}, {{"mirostat", 2}, {"mirostat_tau", 2.0}});
    // Logit bias by id (1999 is "," here, the raw favourite: banned with false = -inf), by id (+2) and by text.
    row("logit bias", kPrompt, {{"samplers", nlohmann::json::array()}, {"logit_bias", {{1999, false}, {345, -1.0}, {"the", 2.5}}}},
        {{"logit_bias", {{1999, false}, {345, -1.0}, {"the", 2.5}}}});
    // top-n-sigma (its own llama.cpp chain: top_k, temperature, top_n_sigma).
    row("top n sigma", kPrompt, {{"top_n_sigma", 1.0}, {"top_k", 40}, {"temperature", 1.0}},
        {{"top_n_sigma", 1.0}, {"top_k", 40}}, "top_n_sigma");
}

void TstLlamaCppParity::samplers()
{
    QFETCH(QString, prompt);
    QFETCH(QString, request);
    QFETCH(QString, settings);
    QFETCH(QString, needs);
    const std::string text = prompt.toStdString();
    const std::vector<float> raw = rawLogits(text);
    QVERIFY2(!raw.empty(), "no raw distribution from llama-server");
    nlohmann::json req = nlohmann::json::parse(request.toStdString());
    req["n_probs"] = m_model->config().vocabSize; // the whole candidate array, not just the top 20
    const nlohmann::json out = complete(text, req);
    QVERIFY2(out.is_object() && out.contains("completion_probabilities"), qPrintable("no completion: " + QString::fromStdString(out.dump())));
    if (!needs.isEmpty() && !out.at("generation_settings").contains(needs.toStdString()))
        QSKIP(qPrintable("llama-server c392e50 does not read '" + needs +
                         "' from /completion (its generation_settings do not list it), so there is nothing to compare"));

    nlohmann::json s = nlohmann::json::parse(settings.toStdString());
    s["order"] = "llama.cpp";
    s["seed"] = 42;
    const SamplingParams params = samplingParamsFromJson(s);
    validate(params, -1);
    const SamplerChain chain(params);
    // The ids llama.cpp saw (BOS included): the DRY history. Same tokenization, checked against /tokenize.
    const std::vector<int32_t> ids = m_model->tokenizer().encode(text);
    const nlohmann::json tokenized = m_server.post("/tokenize", {{"content", text}, {"add_special", true}});
    QVERIFY(tokenized.is_object());
    QCOMPARE(tokenized.at("tokens").get<std::vector<int32_t>>(), ids);
    SamplingContext ctx;
    ctx.promptIds = ids;
    ctx.vocab = m_vocab.get();
    compare(QTest::currentDataTag(), out["completion_probabilities"][0]["top_probs"], chain, raw, ctx);
}

void TstLlamaCppParity::grammar()
{
    // A grammar that forbids nearly all of the raw mass, so llama.cpp's unconstrained first draw fails it and
    // it resamples with the grammar first: the distribution it reports is then grammar, then chain (ours).
    const std::string gbnf = "root ::= [ ]? [0-9] [0-9]*";
    SamplingParams params;
    params.order = SamplerOrder::LlamaCpp;
    params.grammar = gbnf;
    params.topK = 40;
    GrammarConstraint g{compileGrammar(params), GrammarVocabulary::fromTokenizer(m_model->tokenizer()), {}};
    g.state = g.matcher->initial();
    const std::vector<float> raw = rawLogits(kPrompt);
    QVERIFY(!raw.empty());
    SamplingContext ctx;
    const std::vector<int32_t> ids = m_model->tokenizer().encode(kPrompt);
    ctx.promptIds = ids;
    ctx.grammar = &g;
    for (int seed = 1; seed <= 8; ++seed) {
        const nlohmann::json out = complete(kPrompt, {{"grammar", gbnf}, {"samplers", {"top_k"}}, {"top_k", 40}, {"seed", seed},
                                                      {"n_probs", m_model->config().vocabSize}});
        QVERIFY(out.is_object() && out.contains("completion_probabilities"));
        const nlohmann::json& top = out["completion_probabilities"][0]["top_probs"];
        bool resampled = true;
        for (const auto& c : top)
            if (c.at("prob").get<double>() > 0 && !g.allows(c.at("id").get<int32_t>()))
                resampled = false; // the first draw passed the grammar: llama.cpp reports the unmasked chain
        if (!resampled)
            continue;
        compare("grammar", top, SamplerChain(params), raw, ctx);
        return;
    }
    QFAIL("llama.cpp's first draw fit the grammar for 8 seeds: the grammar-first distribution was never reported");
}

QTEST_GUILESS_MAIN(TstLlamaCppParity)
#include "tst_llamacpp_parity.moc"
