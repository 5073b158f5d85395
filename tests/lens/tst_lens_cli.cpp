// logitscope-cli end to end on the reference model (../shared): `generate --logit-lens --json` gives every
// step a "lens" of top-5 {"id", "logprob"} per layer whose last layer is the step's own top-5, nothing
// without the flag; `embeddings` finds the token itself first; bad combinations exit 2.
#include "cli_process.h"
#include "shared_data.h"

#include <QtTest>

#include <nlohmann/json.hpp>

namespace {

using Result = logitscope::test::CliResult;

Result cli(const QStringList& args) { return logitscope::test::runCli(args); }

QString model() { return QString::fromStdString(logitscope::test::sharedPath("models/ref-llama-spm.gguf")); }

} // namespace

class TestLensCli : public QObject {
    Q_OBJECT

private slots:
    void init() { REQUIRE_SHARED("models/ref-llama-spm.gguf"); }

    void generateWithLens()
    {
        const Result r = cli({"generate", "--model", model(), "--prompt", "The capital of France is", "--greedy",
                              "--max-new-tokens", "5", "--logit-lens", "--json"});
        QVERIFY2(r.code == 0, qPrintable(r.err));
        const auto j = nlohmann::json::parse(r.out.toStdString());
        const auto& steps = j["steps"];
        QCOMPARE(int(steps.size()), 5);
        for (const auto& step : steps) {
            const auto& lens = step["lens"];
            QVERIFY(lens.is_array());
            QCOMPARE(int(lens.size()), 6); // the reference model's layers
            for (const auto& layer : lens) {
                QCOMPARE(int(layer.size()), 5);
                for (const auto& t : layer) {
                    QCOMPARE(int(t.size()), 2);
                    QVERIFY(t["id"].is_number_integer());
                    QVERIFY(t["logprob"].is_number());
                    QVERIFY(t["logprob"].get<double>() <= 0);
                }
            }
            for (size_t k = 0; k < 5; ++k) {
                QCOMPARE(lens.back()[k]["id"], step["top"][k]["id"]);
                QVERIFY(std::fabs(lens.back()[k]["logprob"].get<double>() - step["top"][k]["logprob"].get<double>()) < 1e-5);
            }
            QCOMPARE(int(step["lens_rank"].size()), 6);
            QCOMPARE(step["lens_rank"].back().get<int>(), 0); // greedy
            QCOMPARE(int(step["lens_prob"].size()), 6);
        }
    }

    void generateWithoutLens()
    {
        const Result r = cli({"generate", "--model", model(), "--prompt", "Hello", "--greedy", "--max-new-tokens", "2",
                              "--json"});
        QVERIFY2(r.code == 0, qPrintable(r.err));
        const auto j = nlohmann::json::parse(r.out.toStdString());
        for (const auto& step : j["steps"])
            QVERIFY(!step.contains("lens"));
    }

    void lensWithBeamsIsRejected()
    {
        const Result r = cli({"generate", "--model", model(), "--prompt", "Hello", "--beams", "2", "--logit-lens"});
        QCOMPARE(r.code, 2);
        QVERIFY2(r.err.contains("--logit-lens"), qPrintable(r.err));
    }

    void embeddings()
    {
        Result r = cli({"embeddings", "--model", model(), "--id", "100", "--json"});
        QVERIFY2(r.code == 0, qPrintable(r.err));
        const auto j = nlohmann::json::parse(r.out.toStdString());
        QCOMPARE(j["id"].get<int>(), 100);
        QCOMPARE(j["tied_to_head"].get<bool>(), false);
        QCOMPARE(int(j["neighbours"].size()), 10);
        QCOMPARE(j["neighbours"][0]["id"].get<int>(), 100);
        QCOMPARE(j["neighbours"][0]["cosine"].get<double>(), 1.0);
        QCOMPARE(int(j["row"].size()), j["dim"].get<int>());
        QVERIFY(j["norm"].get<double>() > 0);
        QVERIFY(!j.contains("position_embedding")); // llama: rotary positions, nothing added to the row

        // --token with the piece as stored finds the same id; the text view prints the neighbours.
        const QString piece = QString::fromStdString(j["piece"].get<std::string>());
        r = cli({"embeddings", "--model", model(), "--token", piece, "--k", "3"});
        QVERIFY2(r.code == 0, qPrintable(r.err));
        QVERIFY2(r.out.contains("token     100"), qPrintable(r.out));
        QVERIFY(r.out.contains("a separate matrix"));

        r = cli({"embeddings", "--model", model(), "--id", "1", "--token", "the"});
        QCOMPARE(r.code, 2);
        r = cli({"embeddings", "--model", model(), "--id", "999999"});
        QCOMPARE(r.code, 2);
        QVERIFY2(r.err.contains("--id"), qPrintable(r.err));
        r = cli({"embeddings", "--model", model(), "--token", "The capital of France"});
        QCOMPARE(r.code, 2);
        QVERIFY2(r.err.contains("--token"), qPrintable(r.err));
    }
};

QTEST_GUILESS_MAIN(TestLensCli)
#include "tst_lens_cli.moc"
