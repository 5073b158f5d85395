// llama.cpp parity for the grammar stage: ../shared/peers/llama-server (loopback, one thread) with
// ../shared/models/ref-llama-spm.gguf and a small GBNF grammar, /completion at temperature 0 with
// n_probs and post_sampling_probs: the same greedy constrained tokens and text as Logitscope's, and every
// token llama.cpp gives a non-zero probability after its chain is one Logitscope's grammar stage allows.
// Skips with a message when ../shared or curl is absent; the server is always stopped.
#include "decoding/grammar/grammar_stage.h"
#include "decoding/session.h"
#include "model/backend.h"
#include "model/model.h"
#include "shared_data.h"

#include <nlohmann/json.hpp>

#include <QProcess>
#include <QTcpServer>
#include <QtTest>

using namespace logitscope;

class TestGrammarLlama : public QObject {
    Q_OBJECT

private slots:
    void greedyConstrainedParity();
};

namespace {

QByteArray curl(const QStringList& args)
{
    QProcess p;
    p.start("curl", QStringList{"-s", "--max-time", "60"} + args);
    if (!p.waitForFinished(70000))
        return {};
    return p.readAllStandardOutput();
}

struct ServerGuard {
    QProcess* p;
    ~ServerGuard()
    {
        p->kill(); // by its own handle: only the server this test started
        p->waitForFinished(5000);
    }
};

} // namespace

void TestGrammarLlama::greedyConstrainedParity()
{
    REQUIRE_SHARED("models/ref-llama-spm.gguf");
    REQUIRE_SHARED("peers/llama-server");
    {
        QProcess probe;
        probe.setStandardOutputFile(QProcess::nullDevice());
        probe.start("curl", {"--version"});
        if (!probe.waitForFinished(10000) || probe.exitCode() != 0)
            QSKIP("curl is not available to talk to llama-server");
    }
    // A free loopback port: bind port 0, read it, release it.
    quint16 port = 0;
    {
        QTcpServer probe;
        QVERIFY(probe.listen(QHostAddress::LocalHost, 0));
        port = probe.serverPort();
    }
    QProcess server;
    server.setProcessChannelMode(QProcess::MergedChannels);
    server.start(QString::fromStdString(test::sharedPath("peers/llama-server")),
                 {"-m", QString::fromStdString(test::sharedPath("models/ref-llama-spm.gguf")), "--host", "127.0.0.1",
                  "--port", QString::number(port), "-t", "1", "--threads-http", "2", "-np", "1", "-c", "512"});
    ServerGuard guard{&server};
    QVERIFY2(server.waitForStarted(10000), "llama-server did not start");
    const QString base = QString("http://127.0.0.1:%1").arg(port);
    bool healthy = false;
    for (int i = 0; i < 120 && !healthy; ++i) {
        healthy = curl({base + "/health"}).contains("ok");
        if (!healthy)
            QTest::qWait(250);
    }
    QVERIFY2(healthy, "llama-server never reported /health ok");

    const std::string grammar = "root ::= (\"yes\" | \"no\" | \" it\" | \" that\") [ a-z]*";
    const std::string prompt = "The jury said";
    const int steps = 6;
    nlohmann::json req = {{"prompt", prompt}, {"n_predict", steps}, {"temperature", 0}, {"n_probs", 10},
                          {"post_sampling_probs", true}, {"grammar", grammar}, {"seed", 1}};
    const QByteArray reply = curl({base + "/completion", "-d", QByteArray::fromStdString(req.dump())});
    QVERIFY2(!reply.isEmpty(), "no reply from /completion");
    const nlohmann::json out = nlohmann::json::parse(reply.toStdString());
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
