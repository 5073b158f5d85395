// `logitscope-cli pull` and `models` end to end against fake_hub.py on 127.0.0.1: the files land in
// $HF_HOME/hub, `models --json` then lists the snapshot, and a 404 prints one message and exits 2.
// Skips while the CLI lacks the commands (built without Qt Network, or not yet registered).
#include <QDir>
#include <QFileInfo>
#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QProcess>
#include <QTemporaryDir>
#include <QtTest>

class TestCliHub : public QObject {
    Q_OBJECT

private:
    QProcess m_server;
    QTemporaryDir m_dir;
    int m_port = 0;

    static QString cli()
    {
        const QString override = qEnvironmentVariable("LOGITSCOPE_CLI");
        return override.isEmpty() ? QStringLiteral(LOGITSCOPE_CLI) : override;
    }

    struct Run {
        int code = -1;
        QByteArray out, err;
    };

    Run run(const QStringList& args)
    {
        QProcess p;
        QProcessEnvironment env = QProcessEnvironment::systemEnvironment();
        env.insert("HF_HOME", m_dir.path() + "/hf");
        env.insert("HF_ENDPOINT", QString("http://127.0.0.1:%1").arg(m_port));
        env.insert("XDG_CONFIG_HOME", m_dir.path() + "/config");
        env.remove("HF_TOKEN");
        env.remove("HF_HUB_CACHE");
        p.setProcessEnvironment(env);
        p.start(cli(), args);
        p.waitForFinished(60000);
        return {p.exitCode(), p.readAllStandardOutput(), p.readAllStandardError()};
    }

private slots:
    void initTestCase()
    {
        if (!QFileInfo(PYTHON3).isExecutable())
            QSKIP("python3 not found: the fake Hub server cannot run");
        if (run({"pull", "--help-unknown-option"}).err.contains("unknown command"))
            QSKIP("this logitscope-cli has no `pull` command yet");
        m_server.setProgram(PYTHON3);
        m_server.setArguments({FAKE_HUB_SCRIPT, "--log", m_dir.path() + "/requests.log"});
        m_server.start();
        QVERIFY(m_server.waitForStarted(10000));
        QTRY_VERIFY_WITH_TIMEOUT(m_server.canReadLine(), 10000);
        m_port = m_server.readLine().trimmed().split(' ')[0].toInt();
        QVERIFY(m_port > 0);
    }

    void cleanupTestCase()
    {
        m_server.kill();
        m_server.waitForFinished(5000);
    }

    void pullThenList()
    {
        const Run pull = run({"pull", "tiny/model", "--json"});
        QVERIFY2(pull.code == 0, pull.err.constData());
        const QJsonObject j = QJsonDocument::fromJson(pull.out).object();
        const QString snapshot = m_dir.path() + "/hf/hub/models--tiny--model/snapshots/0123456789abcdef0123456789abcdef01234567";
        QCOMPARE(j["snapshot"].toString(), snapshot);
        QCOMPARE(j["model_path"].toString(), snapshot);
        QCOMPARE(j["files"].toArray().size(), 3);
        QCOMPARE(j["downloaded_bytes"].toInteger(), j["total_bytes"].toInteger());
        QVERIFY(QFileInfo(snapshot + "/model.safetensors").isSymLink());
        QVERIFY2(pull.err.contains("downloaded model.safetensors (300.0 kB)"), pull.err.constData());

        const Run models = run({"models", "--json"});
        QVERIFY2(models.code == 0, models.err.constData());
        const QJsonObject list = QJsonDocument::fromJson(models.out).object();
        QCOMPARE(list["hf_cache"].toString(), m_dir.path() + "/hf/hub");
        const QJsonArray found = list["models"].toArray();
        QCOMPARE(found.size(), 1);
        QCOMPARE(found[0]["name"].toString(), QString("tiny/model"));
        QCOMPARE(found[0]["source"].toString(), QString("hf-cache"));
        QCOMPARE(found[0]["revision"].toString(), QString("main"));
        QVERIFY(!found[0]["problem"].toString().isEmpty()); // the fake weights are not a safetensors file
    }

    void notFoundExitsTwo()
    {
        const Run r = run({"pull", "tiny/nothing"});
        QCOMPARE(r.code, 2);
        QCOMPARE(QString::fromUtf8(r.err).trimmed(),
                 QString("logitscope-cli pull: tiny/nothing: repository not found on http://127.0.0.1:%1 (HTTP 404) - check "
                         "the name, e.g. HuggingFaceTB/SmolLM2-135M-Instruct").arg(m_port));
        const Run none = run({"pull"});
        QCOMPARE(none.code, 2);
        QVERIFY(none.err.contains("pull: missing REPO_ID"));
    }

    void modelsRemembersFolders()
    {
        QVERIFY(QDir().mkpath(m_dir.path() + "/mine"));
        QCOMPARE(run({"models", "--dir", m_dir.path() + "/mine", "--save-dirs", "--no-hf-cache"}).code, 0);
        const Run again = run({"models", "--json", "--no-hf-cache"});
        const QJsonArray folders = QJsonDocument::fromJson(again.out).object()["folders"].toArray();
        QVERIFY(folders.contains(QJsonValue(m_dir.path() + "/mine")));
        QCOMPARE(run({"models", "--dir", m_dir.path() + "/absent"}).code, 2);
    }
};

QTEST_GUILESS_MAIN(TestCliHub)
#include "tst_cli_hub.moc"
