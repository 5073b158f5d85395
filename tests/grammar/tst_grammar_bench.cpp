// Benchmark (label bench, not a pass/fail timing): masking a whole vocabulary with a grammar through the
// token trie, at states along a JSON text, against the naive token-by-token check it replaces.
#include "decoding/grammar/grammar_stage.h"
#include "decoding/sampling_params.h"
#include "model/model.h"
#include "shared_data.h"

#include <QtTest>

#include <chrono>

using namespace logitscope;

class TestGrammarBench : public QObject {
    Q_OBJECT

private slots:
    void maskCost();
};

void TestGrammarBench::maskCost()
{
    const std::string path = test::haveShared("models/ref-llama-spm.gguf")
                                 ? test::sharedPath("models/ref-llama-spm.gguf")
                                 : std::string(LOGITSCOPE_SOURCE_DIR) + "/resources/models/logitscope-brown";
    auto model = Model::load(path);
    auto vocab = GrammarVocabulary::fromTokenizer(model->tokenizer());
    SamplingParams p;
    p.jsonSchema = R"({"type":"object","properties":{"name":{"type":"string"},"tags":{"type":"array","items":{"type":"string"}},
        "n":{"type":"number"}},"required":["name","tags","n"]})";
    auto matcher = compileGrammar(p);
    const std::string text = R"({"name": "Ann Smith", "tags": ["a b", "c"], "n": -12.5e3})";
    using Clock = std::chrono::steady_clock;
    double trieMs = 0, naiveMs = 0;
    size_t allowedTotal = 0;
    GrammarState s = matcher->initial();
    for (size_t i = 0; i <= text.size(); ++i) {
        auto t0 = Clock::now();
        const std::vector<uint8_t> mask = vocab->allowed(*matcher, s);
        trieMs += std::chrono::duration<double, std::milli>(Clock::now() - t0).count();
        t0 = Clock::now();
        size_t naive = 0;
        for (int32_t id = 0; id < vocab->size(); ++id) {
            GrammarState t = s;
            naive += !vocab->bytes[size_t(id)].empty() && matcher->advance(t, vocab->bytes[size_t(id)]);
        }
        naiveMs += std::chrono::duration<double, std::milli>(Clock::now() - t0).count();
        size_t count = 0;
        for (size_t id = 0; id < mask.size(); ++id)
            count += mask[id] && !vocab->isEos[id];
        QCOMPARE(count, naive);
        allowedTotal += count;
        if (i < text.size())
            QVERIFY(matcher->advance(s, text.substr(i, 1)));
    }
    const double steps = double(text.size() + 1);
    qInfo("%s: vocabulary %d, trie %zu nodes; per step: trie mask %.3f ms, token-by-token %.3f ms, %.0f tokens allowed on average",
          path.c_str(), vocab->size(), vocab->trie.nodeCount(), trieMs / steps, naiveMs / steps, double(allowedTotal) / steps);
}

QTEST_APPLESS_MAIN(TestGrammarBench)
#include "tst_grammar_bench.moc"
