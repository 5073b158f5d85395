// Golden tokenizer tests: llama.cpp's vocabulary vectors (ids produced by Hugging Face tokenizers),
// decode round trips, the reference model's prompt ids from both its HF folder and its GGUF, and a
// byte-level tokenizer.json written from the GPT-2 GGUF vocabulary. Skips without ../shared.
#include "formats/gguf_reader.h"
#include "shared_data.h"
#include "tokenizer/tokenizer.h"
#include "tokenizer_test_util.h"

#include <nlohmann/json.hpp>

#include <QTemporaryDir>
#include <QtTest>

using namespace logitscope;
using namespace logitscope::test;

namespace {

QString idsToString(const std::vector<int32_t>& ids)
{
    QStringList s;
    for (int32_t id : ids)
        s << QString::number(id);
    return s.join(' ');
}

QString quoted(const std::string& s) { return QString::fromUtf8(nlohmann::json(s).dump(-1, ' ', true).c_str()); }

// The reference file is Python's json output, which writes -Infinity / NaN; those fields are not used here.
nlohmann::json readPythonJson(const std::string& path)
{
    std::string text = readFile(path);
    for (const std::string bad : {"-Infinity", "Infinity", "NaN"})
        for (size_t p = text.find(bad); p != std::string::npos; p = text.find(bad, p))
            text.replace(p, bad.size(), "null");
    return nlohmann::json::parse(text);
}

} // namespace

class TstTokenizerVectors : public QObject {
    Q_OBJECT

private slots:
    void vectors_data();
    void vectors();
    void referencePromptIds_data();
    void referencePromptIds();
    void hfFolderMatchesGgufGpt2();
};

void TstTokenizerVectors::vectors_data()
{
    QTest::addColumn<QString>("name");
    QTest::addColumn<QString>("kind");
    QTest::newRow("llama-spm") << "llama-spm" << "sentencepiece";
    QTest::newRow("phi-3") << "phi-3" << "sentencepiece";
    QTest::newRow("gpt-2") << "gpt-2" << "byte-bpe";
    QTest::newRow("starcoder") << "starcoder" << "byte-bpe";
    QTest::newRow("falcon") << "falcon" << "byte-bpe";
}

// Every input encodes to exactly the expected ids (no BOS/EOS, special-token text not parsed), and
// decodes back to itself: byte-level BPE is lossless; SentencePiece's decode() drops the dummy-prefix
// space it added, so the round trip is exact there too.
void TstTokenizerVectors::vectors()
{
    QFETCH(QString, name);
    QFETCH(QString, kind);
    const std::string rel = "tokenizer-vectors/ggml-vocab-" + name.toStdString() + ".gguf";
    REQUIRE_SHARED(rel);
    const GgufFile gguf(sharedPath(rel));
    const auto tok = loadTokenizer(gguf);
    QCOMPARE(QString::fromStdString(tok->kind()), kind);

    const auto inputs = readVectorInputs(sharedPath(rel + ".inp"));
    const auto expected = readVectorOutputs(sharedPath(rel + ".out"));
    QVERIFY(!inputs.empty());
    QCOMPARE(inputs.size(), expected.size());

    const EncodeOptions raw{false, false};
    int pass = 0, roundTrips = 0;
    QStringList failures;
    for (size_t i = 0; i < inputs.size(); ++i) {
        const auto ids = tok->encode(inputs[i], raw);
        if (ids == expected[i])
            ++pass;
        else if (failures.size() < 5)
            failures << QString("input %1 %2:\n  got      %3\n  expected %4").arg(i).arg(quoted(inputs[i]),
                            idsToString(ids), idsToString(expected[i]));
        if (tok->decode(ids, false) == inputs[i])
            ++roundTrips;
        else if (failures.size() < 5)
            failures << QString("input %1 %2 does not round-trip: %3").arg(i).arg(quoted(inputs[i]),
                            quoted(tok->decode(ids, false)));
    }
    qInfo("%s: %d/%zu inputs match, %d/%zu round-trip", qPrintable(name), pass, inputs.size(), roundTrips, inputs.size());
    if (!failures.isEmpty())
        qWarning("%s", qPrintable(failures.join('\n')));
    QCOMPARE(pass, int(inputs.size()));
    QCOMPARE(roundTrips, int(inputs.size()));
}

void TstTokenizerVectors::referencePromptIds_data()
{
    QTest::addColumn<QString>("source");
    QTest::newRow("hf-folder") << "models/ref-llama-spm";
    QTest::newRow("tokenizer.model") << "models/ref-llama-spm/tokenizer.model";
    QTest::newRow("gguf") << "models/ref-llama-spm.gguf";
}

void TstTokenizerVectors::referencePromptIds()
{
    QFETCH(QString, source);
    REQUIRE_SHARED("reference/ref-llama-spm.hf.json");
    REQUIRE_SHARED(source.toStdString());
    std::unique_ptr<Tokenizer> tok;
    if (source.endsWith(".gguf")) {
        const GgufFile gguf(sharedPath(source.toStdString()));
        tok = loadTokenizer(gguf);
    } else if (source.endsWith(".model")) {
        tok = loadTokenizerFile(sharedPath(source.toStdString()));
    } else {
        tok = loadTokenizerFromFolder(sharedPath(source.toStdString()));
    }
    QCOMPARE(QString::fromStdString(tok->kind()), QString("sentencepiece"));
    QCOMPARE(tok->bos(), 1);
    QCOMPARE(tok->eos(), 2);
    QCOMPARE(tok->unk(), 0);
    QVERIFY(tok->addBos());
    QVERIFY(!tok->addEos());

    const auto ref = readPythonJson(sharedPath("reference/ref-llama-spm.hf.json"));
    int n = 0;
    for (const auto& p : ref.at("per_prompt")) {
        const std::string prompt = p.at("prompt").get<std::string>();
        const auto expected = p.at("prompt_ids").get<std::vector<int32_t>>();
        const auto ids = tok->encode(prompt);
        QVERIFY2(ids == expected, qPrintable(QString("%1: got %2, expected %3").arg(quoted(prompt), idsToString(ids),
                                                 idsToString(expected))));
        QCOMPARE(tok->decode(ids), prompt);
        ++n;
    }
    QVERIFY(n > 0);
}

// A Hugging Face folder with a byte-level tokenizer.json, written from the GPT-2 GGUF vocabulary,
// tokenizes every GPT-2 vector input exactly like the GGUF vocabulary (and like the expected ids).
void TstTokenizerVectors::hfFolderMatchesGgufGpt2()
{
    const std::string rel = "tokenizer-vectors/ggml-vocab-gpt-2.gguf";
    REQUIRE_SHARED(rel);
    const GgufFile gguf(sharedPath(rel));
    const auto fromGguf = loadTokenizer(gguf);

    QTemporaryDir dir;
    QVERIFY(dir.isValid());
    const std::string folder = dir.path().toStdString();
    writeFile(folder + "/tokenizer.json", tokenizerJsonFromGgufVocab(gguf));
    const auto fromFolder = loadTokenizerFromFolder(folder);
    QCOMPARE(QString::fromStdString(fromFolder->kind()), QString("byte-bpe"));
    QCOMPARE(fromFolder->vocabSize(), fromGguf->vocabSize());

    const auto inputs = readVectorInputs(sharedPath(rel + ".inp"));
    const auto expected = readVectorOutputs(sharedPath(rel + ".out"));
    const EncodeOptions raw{false, false};
    int same = 0;
    for (size_t i = 0; i < inputs.size(); ++i) {
        const auto a = fromFolder->encode(inputs[i], raw);
        const auto b = fromGguf->encode(inputs[i], raw);
        QVERIFY2(a == b, qPrintable(QString("input %1 %2: folder %3, gguf %4").arg(i).arg(quoted(inputs[i]),
                                        idsToString(a), idsToString(b))));
        QVERIFY(a == expected[i]);
        ++same;
    }
    qInfo("gpt-2 tokenizer.json folder vs GGUF: %d/%zu inputs identical", same, inputs.size());
    // Special-token text is one token in both when parsed.
    const auto a = fromFolder->encode("<|endoftext|>Hi", {false, true});
    QCOMPARE(a.front(), int32_t(50256));
    QCOMPARE(a, fromGguf->encode("<|endoftext|>Hi", {false, true}));
}

QTEST_APPLESS_MAIN(TstTokenizerVectors)
#include "tst_tokenizer_vectors.moc"
