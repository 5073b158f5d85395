// HubPull against fake_hub.py (127.0.0.1 only): the cache layout it writes, reuse, resume after a dropped
// connection, checksum and size checks, cancel, and the message for 401, 404 and an unreachable endpoint.
#include "hub_cache.h"
#include "hub_pull.h"

#include <QCryptographicHash>
#include <QDir>
#include <QFile>
#include <QFileInfo>
#include <QJsonDocument>
#include <QJsonObject>
#include <QProcess>
#include <QRandomGenerator>
#include <QSignalSpy>
#include <QStandardPaths>
#include <QTcpServer>
#include <QTemporaryDir>
#include <QtTest>

#include <functional>

using namespace logitscope::hub;

namespace {

const QString kCommit = "0123456789abcdef0123456789abcdef01234567";

struct Outcome {
    bool finished = false;
    bool cancelled = false;
    QString failure;
    PullResult result;
    QStringList notices;
    int progressSignals = 0;
    PullProgress lastProgress;
};

QByteArray sha256File(const QString& path)
{
    QFile f(path);
    if (!f.open(QIODevice::ReadOnly))
        return {};
    QCryptographicHash h(QCryptographicHash::Sha256);
    h.addData(&f);
    return h.result().toHex();
}

} // namespace

class TestHubPull : public QObject {
    Q_OBJECT

private:
    QProcess m_server;
    std::unique_ptr<QTemporaryDir> m_dir;
    QString m_logPath;
    int m_port = 0;

    void startServer(const QStringList& extra = {})
    {
        m_server.setProgram(PYTHON3);
        m_server.setArguments(QStringList{FAKE_HUB_SCRIPT, "--log", m_logPath} + extra);
        m_server.start();
        QVERIFY2(m_server.waitForStarted(10000), "cannot start python3 fake_hub.py");
        QTRY_VERIFY_WITH_TIMEOUT(m_server.canReadLine(), 10000);
        const QList<QByteArray> ports = m_server.readLine().trimmed().split(' ');
        QCOMPARE(ports.size(), 2);
        m_port = ports[0].toInt();
        QVERIFY(m_port > 0);
    }

    QString cacheDir() const { return m_dir->path() + "/hub"; }

    PullRequest request(const QString& repo) const
    {
        PullRequest r;
        r.repoId = repo;
        r.env.endpoint = QUrl(QString("http://127.0.0.1:%1").arg(m_port));
        r.env.cacheDir = cacheDir();
        r.env.token.clear();
        r.retryDelayMs = 10;
        return r;
    }

    Outcome pull(const PullRequest& r, const std::function<void(HubPull&, const PullProgress&)>& onProgress = {})
    {
        HubPull puller;
        Outcome o;
        bool done = false;
        connect(&puller, &HubPull::pullFinished, this, [&](const PullResult& result) { o.finished = done = true, o.result = result; });
        connect(&puller, &HubPull::pullFailed, this, [&](const QString& message) { o.failure = message, done = true; });
        connect(&puller, &HubPull::pullCancelled, this, [&] { o.cancelled = done = true; });
        connect(&puller, &HubPull::noticeAvailable, this, [&](const QString& message) { o.notices << message; });
        connect(&puller, &HubPull::progressAvailable, this, [&](const PullProgress& p) {
            ++o.progressSignals;
            o.lastProgress = p;
            if (onProgress)
                onProgress(puller, p);
        });
        puller.start(r);
        // Nothing arrives before start() returns.
        if (done)
            qWarning("a pull signal arrived inside start()");
        QTest::qWaitFor([&] { return done; }, 30000);
        return o;
    }

    QList<QJsonObject> requests() const
    {
        QList<QJsonObject> out;
        QFile f(m_logPath);
        if (f.open(QIODevice::ReadOnly))
            for (const QByteArray& line : f.readAll().split('\n'))
                if (!line.trimmed().isEmpty())
                    out << QJsonDocument::fromJson(line).object();
        return out;
    }

private slots:
    void initTestCase()
    {
        if (!QFileInfo(PYTHON3).isExecutable())
            QSKIP("python3 not found: the fake Hub server cannot run");
    }

    void init()
    {
        m_dir = std::make_unique<QTemporaryDir>();
        QVERIFY(m_dir->isValid());
        m_logPath = m_dir->path() + "/requests.log";
        startServer();
    }

    void cleanup()
    {
        m_server.kill();
        m_server.waitForFinished(5000);
    }

    void pullWritesTheHfCacheLayout()
    {
        const Outcome o = pull(request("tiny/model"));
        QVERIFY2(o.finished, qPrintable(o.failure));
        const QString repo = cacheDir() + "/models--tiny--model";
        QCOMPARE(o.result.commit, kCommit);
        QCOMPARE(o.result.snapshotPath, repo + "/snapshots/" + kCommit);
        // config, tokenizer and weights; not the README.
        QStringList names;
        for (const PullFile& f : o.result.files)
            names << f.name;
        QCOMPARE(names, (QStringList{"config.json", "tokenizer.json", "model.safetensors"}));
        QCOMPARE(o.result.downloadedBytes, o.result.totalBytes);

        // refs/main holds the commit.
        QFile ref(repo + "/refs/main");
        QVERIFY(ref.open(QIODevice::ReadOnly));
        QCOMPARE(QString::fromLatin1(ref.readAll()), kCommit);

        // Every snapshot file is a relative symlink into blobs/<etag>; the LFS blob is named by its sha256.
        for (const PullFile& f : o.result.files) {
            const QString link = o.result.snapshotPath + '/' + f.name;
            const QFileInfo info(link);
            QVERIFY2(info.isSymLink(), qPrintable(link));
            QCOMPARE(QFile::symLinkTarget(link), QFileInfo(repo + "/blobs/" + f.etag).canonicalFilePath());
            QCOMPARE(QString::fromStdString(std::filesystem::read_symlink(link.toStdString()).string()),
                     "../../blobs/" + f.etag);
            QCOMPARE(info.size(), f.size);
        }
        const PullFile& weights = o.result.files.last();
        QVERIFY(weights.lfs);
        QCOMPARE(weights.size, 300000);
        QCOMPARE(sha256File(repo + "/blobs/" + weights.etag), weights.etag.toLatin1());
        QVERIFY(!o.result.files.first().lfs);
        QCOMPARE(o.result.files.first().etag.size(), 40); // git sha1 ETag
        QVERIFY(QDir(repo + "/blobs").entryList({"*.incomplete"}, QDir::Files).isEmpty());

        // Progress ends at the total.
        QVERIFY(o.progressSignals > 0);
        QCOMPARE(o.lastProgress.bytes, o.result.totalBytes);
        QCOMPARE(o.lastProgress.total, o.result.totalBytes);
        QCOMPARE(o.lastProgress.fileCount, 3);
    }

    void secondPullReusesTheBlobs()
    {
        QVERIFY(pull(request("tiny/model")).finished);
        const auto before = requests();
        const int getsBefore = int(std::count_if(before.begin(), before.end(), [](const QJsonObject& r) { return r["port"] == "cdn"; }));
        const Outcome again = pull(request("tiny/model"));
        QVERIFY2(again.finished, qPrintable(again.failure));
        QCOMPARE(again.result.downloadedBytes, 0);
        for (const PullFile& f : again.result.files)
            QVERIFY(f.cached);
        const auto log = requests();
        QCOMPARE(int(std::count_if(log.begin(), log.end(), [](const QJsonObject& r) { return r["port"] == "cdn"; })),
                 getsBefore);
    }

    void tokenGoesToTheHubButNotToTheStorageHost()
    {
        PullRequest r = request("tiny/private");
        r.env.token = "secret-token";
        r.env.tokenSource = "HF_TOKEN";
        const Outcome o = pull(r);
        QVERIFY2(o.finished, qPrintable(o.failure));
        int hub = 0, cdn = 0;
        for (const QJsonObject& req : requests()) {
            if (req["port"] == "hub") {
                QCOMPARE(req["auth"].toString(), QString("Bearer secret-token"));
                ++hub;
            } else {
                QVERIFY2(req["auth"].isNull(), "the token was sent to the storage host");
                ++cdn;
            }
        }
        QVERIFY(hub >= 4);
        QCOMPARE(cdn, 1);
    }

    void unauthorizedSaysToSetHfToken()
    {
        const Outcome o = pull(request("tiny/private"));
        QVERIFY(!o.finished);
        QCOMPARE(o.failure, QString("tiny/private: HTTP 401 Unauthorized from http://127.0.0.1:%1 - the repository does not "
                                    "exist, or it is private or gated and needs a token: set HF_TOKEN to an access token "
                                    "from http://127.0.0.1:%1/settings/tokens").arg(m_port));
        PullRequest wrong = request("tiny/private");
        wrong.env.token = "expired";
        wrong.env.tokenSource = "HF_TOKEN";
        QCOMPARE(pull(wrong).failure, QString("tiny/private: HTTP 401 Unauthorized from http://127.0.0.1:%1 - the token "
                                              "(from HF_TOKEN) was refused, or the repository does not exist").arg(m_port));
        QVERIFY(!QFileInfo::exists(cacheDir() + "/models--tiny--private/snapshots"));
    }

    void missingRepositoryAndRevisionAre404()
    {
        QCOMPARE(pull(request("tiny/nothing")).failure,
                 QString("tiny/nothing: repository not found on http://127.0.0.1:%1 (HTTP 404) - check the name, "
                         "e.g. HuggingFaceTB/SmolLM2-135M-Instruct").arg(m_port));
        PullRequest r = request("tiny/model");
        r.revision = "v9";
        QCOMPARE(pull(r).failure, QString("tiny/model: revision 'v9' not found (HTTP 404)"));
    }

    void badRepoIdIsRefusedBeforeAnyRequest()
    {
        QCOMPARE(pull(request("../etc")).failure,
                 QString("repository id '../etc' is not valid (letters, digits, '-', '_' and '.'; no '--' or '..')"));
        QVERIFY(requests().isEmpty());
    }

    void unreachableEndpoint()
    {
        QTcpServer probe;
        QVERIFY(probe.listen(QHostAddress::LocalHost));
        const quint16 port = probe.serverPort();
        probe.close(); // nothing listens there now
        PullRequest r = request("tiny/model");
        r.env.endpoint = QUrl(QString("http://127.0.0.1:%1").arg(port));
        const QString failure = pull(r).failure;
        QVERIFY2(failure.startsWith(QString("cannot reach http://127.0.0.1:%1: ").arg(port)), qPrintable(failure));
        QVERIFY2(failure.endsWith("(check the network, or HF_ENDPOINT)"), qPrintable(failure));
    }

    void droppedConnectionIsResumedWithRange()
    {
        const Outcome o = pull(request("tiny/flaky"));
        QVERIFY2(o.finished, qPrintable(o.failure));
        QCOMPARE(o.notices.size(), 1);
        QVERIFY2(o.notices[0].startsWith("model.safetensors: connection lost after 100000 of 300000 bytes ("),
                 qPrintable(o.notices[0]));
        QVERIFY2(o.notices[0].endsWith("); resuming with HTTP Range, try 1 of 3"), qPrintable(o.notices[0]));
        QStringList ranges;
        for (const QJsonObject& req : requests())
            if (req["port"] == "cdn")
                ranges << req["range"].toString();
        QCOMPARE(ranges, (QStringList{"", "bytes=100000-"}));
        const PullFile& weights = o.result.files.last();
        QCOMPARE(sha256File(cacheDir() + "/models--tiny--flaky/blobs/" + weights.etag), weights.etag.toLatin1());
        QCOMPARE(o.result.downloadedBytes, o.result.totalBytes);
    }

    void droppedConnectionWithoutRetriesKeepsThePartForTheNextPull()
    {
        PullRequest r = request("tiny/flaky");
        r.retries = 0;
        const Outcome first = pull(r);
        QVERIFY(!first.finished);
        const QString repo = cacheDir() + "/models--tiny--flaky";
        const QStringList parts = QDir(repo + "/blobs").entryList({"*.incomplete"}, QDir::Files);
        QCOMPARE(parts.size(), 1);
        const QString part = repo + "/blobs/" + parts[0];
        QVERIFY2(first.failure.startsWith("tiny/flaky: model.safetensors: connection lost after 100000 of 300000 bytes ("),
                 qPrintable(first.failure));
        QVERIFY2(first.failure.endsWith("); the part received is kept in " + part + " - pull again to resume"),
                 qPrintable(first.failure));
        QCOMPARE(QFileInfo(part).size(), 100000);
        // Nothing looks complete: no blob under the final name, no snapshot link, no ref.
        QVERIFY(!QFileInfo::exists(part.chopped(11)));
        QVERIFY(!QFileInfo::exists(repo + "/snapshots/" + kCommit + "/model.safetensors"));
        QVERIFY(!QFileInfo::exists(repo + "/refs/main"));

        const Outcome second = pull(r);
        QVERIFY2(second.finished, qPrintable(second.failure));
        QCOMPARE(second.notices, QStringList{"model.safetensors: resuming at 100.0 kB of 300.0 kB"});
        QCOMPARE(requests().last()["range"].toString(), QString("bytes=100000-"));
        QCOMPARE(second.result.downloadedBytes, 200000);
        QVERIFY(!QFileInfo::exists(part));
        QCOMPARE(sha256File(part.chopped(11)), second.result.files.last().etag.toLatin1());
    }

    void wrongChecksumIsDiscarded()
    {
        const Outcome o = pull(request("tiny/corrupt"));
        QVERIFY(!o.finished);
        QVERIFY2(o.failure.startsWith("tiny/corrupt: model.safetensors: SHA-256 mismatch: the Hub published "), qPrintable(o.failure));
        QVERIFY2(o.failure.endsWith("; the download was discarded"), qPrintable(o.failure));
        const QString repo = cacheDir() + "/models--tiny--corrupt";
        const QStringList blobs = QDir(repo + "/blobs").entryList(QDir::Files);
        QCOMPARE(blobs.size(), 2); // config.json and tokenizer.json only: no weights, no .incomplete
        for (const QString& b : blobs)
            QVERIFY(!b.endsWith(".incomplete"));
        QVERIFY(!QFileInfo::exists(repo + "/snapshots/" + kCommit + "/model.safetensors"));
        QVERIFY(!QFileInfo::exists(repo + "/refs/main"));
    }

    void ggufRepositoryNeedsAChoice()
    {
        QCOMPARE(pull(request("tiny/gguf")).failure,
                 QString("tiny/gguf has no safetensors weights; choose one GGUF file with --include, e.g. --include "
                         "'m-Q8_0.gguf' (files: m-Q8_0.gguf, m-F16.gguf)"));
        PullRequest r = request("tiny/gguf");
        r.includes = QStringList{"*Q8_0.gguf"};
        const Outcome o = pull(r);
        QVERIFY2(o.finished, qPrintable(o.failure));
        QCOMPARE(o.result.files.size(), 1);
        QCOMPARE(o.result.files[0].name, QString("m-Q8_0.gguf"));
        QCOMPARE(QFileInfo(o.result.snapshotPath + "/m-Q8_0.gguf").size(), 50000);
        r.includes = QStringList{"*Q4_K_M.gguf"};
        QCOMPARE(pull(r).failure, QString("--include '*Q4_K_M.gguf' matches no file in tiny/gguf (files: m-Q8_0.gguf, "
                                          "m-F16.gguf, README.md)"));
    }

    void cancelLeavesOnlyAnIncompletePart()
    {
        // A server that sends the weights slowly, and a cancel as soon as they start arriving.
        cleanup();
        startServer({"--chunk-delay-ms", "5"});
        const Outcome o = pull(request("tiny/model"), [](HubPull& puller, const PullProgress& p) {
            if (p.file == "model.safetensors" && p.fileBytes > 0 && p.fileBytes < p.fileTotal)
                puller.cancel();
        });
        QVERIFY(o.cancelled);
        QVERIFY(!o.finished);
        const QString repo = cacheDir() + "/models--tiny--model";
        QVERIFY(!QFileInfo::exists(repo + "/snapshots/" + kCommit + "/model.safetensors"));
        QVERIFY(!QFileInfo::exists(repo + "/refs/main"));
        for (const QString& b : QDir(repo + "/blobs").entryList(QDir::Files))
            QVERIFY2(b.size() == 40 || b.endsWith(".incomplete"), qPrintable(b)); // small files, or the part
        // The next pull completes it.
        const Outcome again = pull(request("tiny/model"));
        QVERIFY2(again.finished, qPrintable(again.failure));
        QVERIFY(QDir(repo + "/blobs").entryList({"*.incomplete"}, QDir::Files).isEmpty());
    }

    void busyBlobLockIsReported()
    {
        // Another program (here: this test) holds the lock huggingface_hub would hold.
        HubCache cache(cacheDir());
        const Outcome listing = pull(request("tiny/model"));
        QVERIFY(listing.finished);
        const PullFile weights = listing.result.files.last();
        QFile::remove(cache.blobPath("tiny/model", weights.etag));
        BlobLock held;
        QCOMPARE(held.tryLock(cache.lockPath("tiny/model", weights.etag)), QString());
        const Outcome o = pull(request("tiny/model"));
        QCOMPARE(o.failure, "tiny/model: model.safetensors: another program is downloading the same file (lock " +
                                cache.lockPath("tiny/model", weights.etag) + " is held)");
    }
};

QTEST_GUILESS_MAIN(TestHubPull)
#include "tst_hub_pull.moc"
