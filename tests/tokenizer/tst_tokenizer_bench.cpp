// Encode speed: about 1 MB of English text (the licence texts on this machine, else the vector inputs
// repeated) through each tokenizer kind; prints tokens/s on one thread. Label bench: not a normal run.
#include "formats/gguf_reader.h"
#include "shared_data.h"
#include "tokenizer/tokenizer.h"
#include "tokenizer_test_util.h"

#include <QElapsedTimer>
#include <QTemporaryDir>
#include <QtTest>

#include <filesystem>

using namespace logitscope;
using namespace logitscope::test;

class TstTokenizerBench : public QObject {
    Q_OBJECT

private slots:
    void encodeSpeed_data();
    void encodeSpeed();

private:
    static std::string corpus();
};

std::string TstTokenizerBench::corpus()
{
    std::string text;
    std::error_code ec;
    for (const auto& e : std::filesystem::directory_iterator("/usr/share/common-licenses", ec))
        if (e.is_regular_file())
            text += readFile(e.path().string());
    if (text.size() < 10000 && haveShared("tokenizer-vectors/ggml-vocab-gpt-2.gguf.inp"))
        for (const auto& s : readVectorInputs(sharedPath("tokenizer-vectors/ggml-vocab-gpt-2.gguf.inp")))
            text += s + "\n";
    const std::string base = text;
    while (!base.empty() && text.size() < (1u << 20))
        text += base;
    return text;
}

void TstTokenizerBench::encodeSpeed_data()
{
    QTest::addColumn<QString>("vocab");
    QTest::addColumn<bool>("viaJson");
    QTest::newRow("gpt-2 (gguf)") << "gpt-2" << false;
    QTest::newRow("gpt-2 (tokenizer.json)") << "gpt-2" << true;
    QTest::newRow("starcoder") << "starcoder" << false;
    QTest::newRow("falcon") << "falcon" << false;
    QTest::newRow("llama-spm") << "llama-spm" << false;
}

void TstTokenizerBench::encodeSpeed()
{
    QFETCH(QString, vocab);
    QFETCH(bool, viaJson);
    const std::string rel = "tokenizer-vectors/ggml-vocab-" + vocab.toStdString() + ".gguf";
    REQUIRE_SHARED(rel);
    const GgufFile gguf(sharedPath(rel));
    std::unique_ptr<Tokenizer> tok;
    QTemporaryDir dir;
    if (viaJson) {
        writeFile(dir.path().toStdString() + "/tokenizer.json", tokenizerJsonFromGgufVocab(gguf));
        tok = loadTokenizerFromFolder(dir.path().toStdString());
    } else {
        tok = loadTokenizer(gguf);
    }
    const std::string text = corpus();
    QVERIFY(text.size() >= (1u << 20));

    QElapsedTimer cold;
    cold.start();
    const auto ids = tok->encode(text, {false, false});
    const double coldS = double(cold.nsecsElapsed()) * 1e-9;
    QElapsedTimer warm;
    warm.start();
    const auto again = tok->encode(text, {false, false});
    const double warmS = double(warm.nsecsElapsed()) * 1e-9;
    QCOMPARE(again, ids);
    QCOMPARE(tok->decode(ids, false), text);
    qInfo("%-24s %s: %.2f MB, %zu tokens, first pass %.0f tokens/s, cached %.0f tokens/s", qPrintable(vocab),
        viaJson ? "json" : "gguf", double(text.size()) / 1e6, ids.size(), double(ids.size()) / coldS,
        double(ids.size()) / warmS);
}

QTEST_APPLESS_MAIN(TstTokenizerBench)
#include "tst_tokenizer_bench.moc"
