// logitscope-cli generate --grammar / --json-schema: a constrained run whose output the grammar accepts,
// and bad files (syntax error, unsupported keyword, missing file) named with line and column, exit code 2.
#include "cli_process.h"

#include <QTemporaryDir>
#include <QtTest>

using namespace logitscope;

class TestGrammarCli : public QObject {
    Q_OBJECT

private slots:
    void constrainedRunAndBadFiles();
};

namespace {
QString write(const QTemporaryDir& dir, const QString& name, const QByteArray& text)
{
    QFile f(dir.filePath(name));
    f.open(QIODevice::WriteOnly);
    f.write(text);
    return f.fileName();
}
} // namespace

void TestGrammarCli::constrainedRunAndBadFiles()
{
    QTemporaryDir dir;
    const QString model = QStringLiteral(LOGITSCOPE_SOURCE_DIR "/resources/models/logitscope-brown");
    const QString ok = write(dir, "yes.gbnf", "root ::= (\"yes\" | \"no\") \".\"\n");
    const auto run = test::runCli({"generate", "--model", model, "--prompt", "Hi", "--grammar", ok, "--trace",
                                   dir.filePath("trace.json")});
    QCOMPARE(run.code, 0);
    QVERIFY2(run.out.contains("yes.") || run.out.contains("no."), qPrintable(run.out));
    QFile trace(dir.filePath("trace.json"));
    QVERIFY(trace.open(QIODevice::ReadOnly));
    const QByteArray t = trace.readAll();
    QVERIFY(t.contains("\"removed_mass\"") && t.contains("\"grammar_position\""));

    const QString bad = write(dir, "bad.gbnf", "root ::= \"{\" body\nbody ::= [a-z\n");
    auto r = test::runCli({"generate", "--model", model, "--prompt", "Hi", "--grammar", bad});
    QCOMPARE(r.code, 2);
    QVERIFY2(r.err.contains(bad + ": line 2, column 10: unterminated character class"), qPrintable(r.err));
    const QString schema = write(dir, "s.json", "{\"type\":\"object\",\"properties\":{\"a\":{\"type\":\"integer\",\"multipleOf\":2}}}");
    r = test::runCli({"generate", "--model", model, "--prompt", "Hi", "--json-schema", schema});
    QCOMPARE(r.code, 2);
    QVERIFY2(r.err.contains(schema + ": at #/properties/a: keyword 'multipleOf' is not supported"), qPrintable(r.err));
    const QString broken = write(dir, "b.json", "{\"type\": ");
    r = test::runCli({"generate", "--model", model, "--prompt", "Hi", "--json-schema", broken});
    QCOMPARE(r.code, 2);
    QVERIFY2(r.err.contains(broken + ": not valid JSON"), qPrintable(r.err));
    r = test::runCli({"generate", "--model", model, "--prompt", "Hi", "--grammar", dir.filePath("missing.gbnf")});
    QCOMPARE(r.code, 2);
    QVERIFY2(r.err.contains("--grammar: cannot read"), qPrintable(r.err));
}

QTEST_GUILESS_MAIN(TestGrammarCli)
#include "tst_grammar_cli.moc"
