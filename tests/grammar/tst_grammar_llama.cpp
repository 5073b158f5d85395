// llama.cpp parity for the grammar stage: ../shared/peers/llama-server (loopback, one thread) with
// ../shared/models/ref-llama-spm.gguf and a small GBNF grammar, /completion at temperature 0 with
// n_probs and post_sampling_probs: the same greedy constrained tokens and text as Logitscope's, and every
// token llama.cpp gives a non-zero probability after its chain is one Logitscope's grammar stage allows.
// Skips with a message when ../shared or curl is absent; the server is always stopped.
#include "decoding/grammar/grammar_stage.h"
#include "decoding/session.h"
#include "model/backend.h"
#include "model/model.h"
#include "llama_server.h"
#include "shared_data.h"

#include <nlohmann/json.hpp>

#include <QtTest>

using namespace logitscope;

class TestGrammarLlama : public QObject {
    Q_OBJECT

private slots:
    void greedyConstrainedParity();
};

void TestGrammarLlama::greedyConstrainedParity()
{
    test::LlamaServer server;
    START_LLAMA_SERVER(server, "models/ref-llama-spm.gguf");

    const std::string grammar = "root ::= (\"yes\" | \"no\" | \" it\" | \" that\") [ a-z]*";
    const std::string prompt = "The jury said";
    const int steps = 6;
    nlohmann::json req = {{"prompt", prompt}, {"n_predict", steps}, {"temperature", 0}, {"n_probs", 10},
                          {"post_sampling_probs", true}, {"grammar", grammar}, {"seed", 1}};
    const nlohmann::json out = server.post("/completion", req);
    QVERIFY2(out.is_object(), "no reply from /completion");
    const auto& probs = out.at("completion_probabilities");
    QCOMPARE(int(probs.size()), steps);

    auto model = Model::load(test::sharedPath("models/ref-llama-spm.gguf"));
    Session s(model, createBackend(model, "cpu", 2));
    SamplingParams p;
    p.temperature = 0;
    p.grammar = grammar;
    p.maxNewTokens = steps;
    s.prefill(s.tokenize(prompt), p);
    GrammarConstraint g{compileGrammar(p), GrammarVocabulary::fromTokenizer(model->tokenizer()), {}};
    g.state = g.matcher->initial();
    for (int i = 0; i < steps; ++i) {
        const auto& step = probs[size_t(i)];
        for (const auto& c : step.at("top_probs"))
            if (c.at("prob").get<double>() > 0)
                QVERIFY2(g.allows(c.at("id").get<int32_t>()),
                         qPrintable(QString("step %1: llama.cpp keeps token %2, Logitscope's grammar forbids it")
                                        .arg(i).arg(c.at("id").get<int>())));
        const StepRecord r = s.step(0);
        QCOMPARE(r.chosen, step.at("id").get<int32_t>());
        QVERIFY(g.accept(r.chosen));
    }
    QCOMPARE(s.text(0), out.at("content").get<std::string>());
}

QTEST_GUILESS_MAIN(TestGrammarLlama)
#include "tst_grammar_llama.moc"
