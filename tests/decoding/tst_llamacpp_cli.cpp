// logitscope-cli generate with llama.cpp's samplers: the options reach the chain (the trace lists their
// stages, mirostat's mu carried from step to step, the settings under their llama.cpp names), and bad values
// are named by their option with exit code 2. Not the samplers' arithmetic (tst_llamacpp_samplers).
#include "cli_process.h"

#include <nlohmann/json.hpp>

#include <QTemporaryDir>
#include <QtTest>

#include <set>

using namespace logitscope;

class TestLlamaCppCli : public QObject {
    Q_OBJECT

private slots:
    void optionsReachTheTrace();
    void badValuesNameTheOption_data();
    void badValuesNameTheOption();

private:
    const QString m_model = QStringLiteral(LOGITSCOPE_SOURCE_DIR "/resources/models/logitscope-brown");
};

namespace {
nlohmann::json readTrace(const QString& path)
{
    QFile f(path);
    if (!f.open(QIODevice::ReadOnly))
        return nullptr;
    return nlohmann::json::parse(f.readAll().toStdString(), nullptr, false);
}
} // namespace

void TestLlamaCppCli::optionsReachTheTrace()
{
    QTemporaryDir dir;
    const QString t1 = dir.filePath("mirostat.json");
    auto r = test::runCli({"generate", "--model", m_model, "--prompt", "The jury said", "--order", "llama.cpp",
                           "--mirostat", "2", "--mirostat-tau", "3", "--mirostat-eta", "0.2", "--seed", "1",
                           "--max-new-tokens", "4", "--min-new-tokens", "4", "--logit-bias", "5=-inf", "--trace", t1});
    QCOMPARE(r.code, 0);
    nlohmann::json trace = readTrace(t1);
    QVERIFY(trace.is_object());
    QCOMPARE(trace["settings"]["mirostat"].get<int>(), 2);
    QCOMPARE(trace["settings"]["logit_bias"].dump(), std::string("[[5,false]]"));
    const auto& steps = trace["steps"];
    QCOMPARE(int(steps.size()), 4);
    QCOMPARE(steps[0]["mirostat_mu_in"].get<double>(), 6.0);
    for (size_t i = 0; i < steps.size(); ++i) {
        std::vector<std::string> names;
        for (const auto& s : steps[i]["stages"])
            names.push_back(s["name"].get<std::string>());
        QCOMPARE(names, (std::vector<std::string>{"raw", "logit_bias", "min_new_tokens", "mirostat_v2"}));
        QVERIFY(QString::fromStdString(steps[i]["stages"][3]["detail"].get<std::string>()).startsWith("mu "));
        QVERIFY(steps[i]["id"].get<int>() != 5);
        if (i > 0)
            QCOMPARE(steps[i]["mirostat_mu_in"].get<double>(), steps[i - 1]["mirostat_mu"].get<double>());
    }

    const QString t2 = dir.filePath("chain.json");
    r = test::runCli({"generate", "--model", m_model, "--prompt", "The jury said the jury said the", "--order",
                      "llama.cpp", "--dry-multiplier", "0.8", "--dry-sequence-breaker", "\\n", "--dry-sequence-breaker",
                      ".", "--xtc-probability", "1", "--xtc-threshold", "0.05", "--dynatemp-range", "0.3",
                      "--logit-bias", "\"the\"=-2.5", "--top-k", "40", "--max-new-tokens", "2", "--trace", t2});
    QCOMPARE(r.code, 0);
    trace = readTrace(t2);
    QVERIFY(trace.is_object());
    QCOMPARE(trace["settings"]["dry_sequence_breakers"].get<std::vector<std::string>>(), (std::vector<std::string>{"\n", "."}));
    QCOMPARE(trace["settings"]["logit_bias"].dump(), std::string("[[\"the\",-2.5]]"));
    std::vector<std::string> names;
    for (const auto& s : trace["steps"][0]["stages"])
        names.push_back(s["name"].get<std::string>());
    QCOMPARE(names, (std::vector<std::string>{"raw", "logit_bias", "dry", "top_k", "xtc", "dynatemp"}));
    QVERIFY(!trace["steps"][0]["stages"][1]["penalised"].empty()); // the text's tokens got the bias
}

void TestLlamaCppCli::badValuesNameTheOption_data()
{
    QTest::addColumn<QStringList>("args");
    QTest::addColumn<QString>("message");
    QTest::newRow("dry base") << QStringList{"--dry-base", "0.5"} << "--dry-base: sampling setting 'dry_base' must be >= 1";
    QTest::newRow("mirostat order") << QStringList{"--mirostat", "2"} << "--mirostat: sampling setting 'mirostat' needs order \"llama.cpp\"";
    QTest::newRow("mirostat 3") << QStringList{"--mirostat", "3", "--order", "llama.cpp"} << "--mirostat: sampling setting 'mirostat' must be 0 (off), 1 or 2";
    QTest::newRow("xtc text") << QStringList{"--xtc-probability", "high"} << "--xtc-probability: expected a number";
    QTest::newRow("xtc range") << QStringList{"--xtc-probability", "1.5"} << "--xtc-probability: sampling setting 'xtc_probability' must be in [0, 1]";
    QTest::newRow("bias no =") << QStringList{"--logit-bias", "12"} << "--logit-bias: expected ID=BIAS or TEXT=BIAS, got '12'";
    QTest::newRow("bias value") << QStringList{"--logit-bias", "12=lots"} << "--logit-bias: the bias must be a number or -inf";
    QTest::newRow("bias negative id") << QStringList{"--logit-bias", "-3=1"} << "--logit-bias: token ids are >= 0";
    QTest::newRow("bias vocabulary") << QStringList{"--logit-bias", "99999=1"} << "--logit-bias: token id 99999 is outside the vocabulary";
    QTest::newRow("dry last n") << QStringList{"--dry-penalty-last-n", "-5"} << "--dry-penalty-last-n: sampling setting 'dry_penalty_last_n' must be >= -1";
}

void TestLlamaCppCli::badValuesNameTheOption()
{
    QFETCH(QStringList, args);
    QFETCH(QString, message);
    const auto r = test::runCli(QStringList{"generate", "--model", m_model, "--prompt", "Hi", "--max-new-tokens", "1"} + args);
    QCOMPARE(r.code, 2);
    QVERIFY2(r.err.contains(message), qPrintable(r.err));
}

QTEST_GUILESS_MAIN(TestLlamaCppCli)
#include "tst_llamacpp_cli.moc"
