// The pieces of a pull that need no network: repo id and path checks, glob matching, which files a
// pull chooses, the HF cache layout (links, refs, snapshot listing), the environment, recent models.
#include "file_selection.h"
#include "hub_cache.h"
#include "hub_environment.h"
#include "recent_models.h"
#include "size_text.h"

#include <QDir>
#include <QFile>
#include <QFileInfo>
#include <QTemporaryDir>
#include <QtTest>

#include <filesystem>

using namespace logitscope::hub;

class TestHubCache : public QObject {
    Q_OBJECT

private slots:
    void repoIds()
    {
        QCOMPARE(repoIdProblem("HuggingFaceTB/SmolLM2-135M-Instruct"), QString());
        QCOMPARE(repoIdProblem("gpt2"), QString());
        QCOMPARE(repoIdProblem("TinyLlama/TinyLlama-1.1B-Chat-v1.0"), QString());
        QCOMPARE(repoIdProblem(""), QString("empty repository id (expected ORG/NAME, e.g. HuggingFaceTB/SmolLM2-135M-Instruct)"));
        QCOMPARE(repoIdProblem("a/b/c"), QString("repository id 'a/b/c' has more than one '/' (expected ORG/NAME)"));
        for (const char* bad : {"../x", "org/..", "a--b/c", "org/na me", "/abs", "org/"})
            QVERIFY2(!repoIdProblem(bad).isEmpty(), bad);
    }

    void safePaths()
    {
        QVERIFY(isSafeRepoPath("config.json"));
        QVERIFY(isSafeRepoPath("onnx/model.onnx"));
        for (const char* bad : {"", "/etc/passwd", "../x", "a/../../x", "a//b", "a\\b", "./a"})
            QVERIFY2(!isSafeRepoPath(bad), bad);
        QVERIFY(isSafeRevision("refs/pr/1"));
        QVERIFY(!isSafeRevision("../main"));
        QVERIFY(isCommitHash("0123456789abcdef0123456789abcdef01234567"));
        QVERIFY(!isCommitHash("main"));
    }

    void globs()
    {
        QVERIFY(globMatch("*.gguf", "m-Q8_0.gguf"));
        QVERIFY(globMatch("*Q4_K_M.gguf", "SmolLM2-135M-Instruct-Q4_K_M.gguf"));
        QVERIFY(!globMatch("*Q4_K_M.gguf", "SmolLM2-135M-Instruct-Q4_K_S.gguf"));
        QVERIFY(globMatch("model-0000?-of-00002.safetensors", "model-00001-of-00002.safetensors"));
        QVERIFY(globMatch("*.safetensors", "sub/x.safetensors")); // fnmatch: '*' crosses '/'
        QVERIFY(globMatch("m-[FQ]*.gguf", "m-F16.gguf"));
        QVERIFY(!globMatch("m-[!F]*.gguf", "m-F16.gguf"));
        QVERIFY(globMatch("a.b", "a.b"));
        QVERIFY(!globMatch("a.b", "axb")); // '.' is literal
    }

    void defaultSelection()
    {
        const QStringList sharded = {".gitattributes", "README.md", "config.json", "generation_config.json",
                                     "model-00001-of-00002.safetensors", "model-00002-of-00002.safetensors",
                                     "model.safetensors.index.json", "special_tokens_map.json", "tokenizer.json",
                                     "tokenizer.model", "tokenizer_config.json", "pytorch_model.bin", "onnx/model.onnx",
                                     "onnx/x.safetensors"};
        const FileSelection s = selectFiles("org/m", sharded, {});
        QCOMPARE(s.problem, QString());
        QCOMPARE(s.files, (QStringList{"config.json", "generation_config.json", "special_tokens_map.json", "tokenizer.json",
                                       "tokenizer.model", "tokenizer_config.json", "model.safetensors.index.json",
                                       "model-00001-of-00002.safetensors", "model-00002-of-00002.safetensors"}));
        // Mistral's consolidated.safetensors is skipped when the HF shards are there.
        const FileSelection mistral = selectFiles("m/x", {"config.json", "consolidated.safetensors", "model.safetensors", "tokenizer.json"}, {});
        QCOMPARE(mistral.files, (QStringList{"config.json", "tokenizer.json", "model.safetensors"}));
        QCOMPARE(selectFiles("o/n", {"README.md", "pytorch_model.bin"}, {}).problem,
                 QString("o/n has no weights Logitscope can read (no *.safetensors or *.gguf at the top level)"));
    }

    void includeSelection()
    {
        const QStringList files = {"README.md", "config.json", "a-Q4_K_M.gguf", "a-Q8_0.gguf", "a-F16.gguf"};
        const FileSelection s = selectFiles("o/a-GGUF", files, {"*Q8_0.gguf", "config.json"});
        QCOMPARE(s.files, (QStringList{"config.json", "a-Q8_0.gguf"}));
        QCOMPARE(selectFiles("o/a-GGUF", files, {"*Q2_K*"}).problem,
                 QString("--include '*Q2_K*' matches no file in o/a-GGUF (files: README.md, config.json, a-Q4_K_M.gguf, "
                         "a-Q8_0.gguf, a-F16.gguf)"));
    }

    void layout()
    {
        QTemporaryDir dir;
        HubCache cache(dir.path());
        const QString commit = "0123456789abcdef0123456789abcdef01234567";
        QCOMPARE(HubCache::repoFolderName("HuggingFaceTB/SmolLM2-135M-Instruct"), QString("models--HuggingFaceTB--SmolLM2-135M-Instruct"));
        QCOMPARE(HubCache::repoIdFromFolderName("models--HuggingFaceTB--SmolLM2-135M-Instruct"), QString("HuggingFaceTB/SmolLM2-135M-Instruct"));
        QCOMPARE(HubCache::repoIdFromFolderName("datasets--x--y"), QString());
        QCOMPARE(cache.blobPath("o/n", "abc"), dir.path() + "/models--o--n/blobs/abc");
        QCOMPARE(cache.lockPath("o/n", "abc"), dir.path() + "/.locks/models--o--n/abc.lock");
        QCOMPARE(cache.refPath("o/n", "refs/pr/1"), dir.path() + "/models--o--n/refs/refs/pr/1");

        QVERIFY(QDir().mkpath(dir.path() + "/models--o--n/blobs"));
        QFile blob(cache.blobPath("o/n", "abc"));
        QVERIFY(blob.open(QIODevice::WriteOnly));
        blob.write("hello");
        blob.close();
        QCOMPARE(cache.linkSnapshotFile("o/n", commit, "config.json", "abc"), QString());
        QCOMPARE(cache.linkSnapshotFile("o/n", commit, "sub/dir/x.json", "abc"), QString());
        QCOMPARE(QString::fromStdString(std::filesystem::read_symlink(cache.snapshotFile("o/n", commit, "config.json").toStdString()).string()),
                 QString("../../blobs/abc"));
        QCOMPARE(QString::fromStdString(std::filesystem::read_symlink(cache.snapshotFile("o/n", commit, "sub/dir/x.json").toStdString()).string()),
                 QString("../../../../blobs/abc"));
        QFile through(cache.snapshotFile("o/n", commit, "sub/dir/x.json"));
        QVERIFY(through.open(QIODevice::ReadOnly));
        QCOMPARE(through.readAll(), QByteArray("hello"));
        // Linking again replaces the link.
        QCOMPARE(cache.linkSnapshotFile("o/n", commit, "config.json", "abc"), QString());

        QCOMPARE(cache.resolveRevision("o/n", "main"), QString());
        QCOMPARE(cache.writeRef("o/n", "main", commit), QString());
        QCOMPARE(cache.resolveRevision("o/n", "main"), commit);
        QCOMPARE(cache.resolveRevision("o/n", commit), commit);
        QCOMPARE(cache.writeRef("o/n", commit, commit), QString());
        QVERIFY(!QFileInfo::exists(cache.refPath("o/n", commit))); // a commit needs no ref

        const QList<HubCache::Snapshot> snaps = cache.snapshots();
        QCOMPARE(snaps.size(), 1);
        QCOMPARE(snaps[0].repoId, QString("o/n"));
        QCOMPARE(snaps[0].commit, commit);
        QCOMPARE(snaps[0].refs, QStringList{"main"});
    }

    void blobLockIsExclusive()
    {
        QTemporaryDir dir;
        const QString path = dir.path() + "/.locks/models--o--n/abc.lock";
        BlobLock a, b;
        QCOMPARE(a.tryLock(path), QString());
        QCOMPARE(b.tryLock(path), "another program is downloading the same file (lock " + path + " is held)");
        a.unlock();
        QCOMPARE(b.tryLock(path), QString());
    }

    void environment()
    {
        QTemporaryDir dir;
        qputenv("HF_HOME", dir.path().toUtf8());
        qunsetenv("HF_HUB_CACHE");
        qunsetenv("HF_TOKEN");
        qunsetenv("HF_TOKEN_PATH");
        qputenv("HF_ENDPOINT", "http://127.0.0.1:9/");
        HubEnvironment e = HubEnvironment::fromProcess();
        QCOMPARE(e.endpoint, QUrl("http://127.0.0.1:9"));
        QCOMPARE(e.cacheDir, dir.path() + "/hub");
        QCOMPARE(e.token, QString());
        // huggingface-cli login's token file, then HF_TOKEN over it.
        QFile token(dir.path() + "/token");
        QVERIFY(token.open(QIODevice::WriteOnly));
        token.write("hf_file\n");
        token.close();
        e = HubEnvironment::fromProcess();
        QCOMPARE(e.token, QString("hf_file"));
        QCOMPARE(e.tokenSource, dir.path() + "/token");
        qputenv("HF_TOKEN", "hf_env");
        qputenv("HF_HUB_CACHE", "/tmp/elsewhere");
        e = HubEnvironment::fromProcess();
        QCOMPARE(e.token, QString("hf_env"));
        QCOMPARE(e.tokenSource, QString("HF_TOKEN"));
        QCOMPARE(e.cacheDir, QString("/tmp/elsewhere"));
        qunsetenv("HF_HOME");
        qunsetenv("HF_ENDPOINT");
        qunsetenv("HF_TOKEN");
        qunsetenv("HF_HUB_CACHE");
        qputenv("XDG_CACHE_HOME", dir.path().toUtf8());
        e = HubEnvironment::fromProcess();
        QCOMPARE(e.endpoint, QUrl("https://huggingface.co"));
        QCOMPARE(e.cacheDir, dir.path() + "/huggingface/hub");
        qunsetenv("XDG_CACHE_HOME");
    }

    void recentModels()
    {
        QTemporaryDir dir;
        RecentModels recent(dir.path() + "/settings.ini");
        QVERIFY(recent.recent().isEmpty());
        for (int i = 0; i < 12; ++i)
            recent.add(QString("/m/%1.gguf").arg(i));
        recent.add("/m/5.gguf");
        const QStringList list = recent.recent();
        QCOMPARE(list.size(), RecentModels::kMaxRecent);
        QCOMPARE(list.first(), QString("/m/5.gguf"));
        QCOMPARE(list[1], QString("/m/11.gguf"));
        QCOMPARE(list.count("/m/5.gguf"), 1);
        QVERIFY(!list.contains("/m/0.gguf"));
        recent.remove("/m/5.gguf");
        QCOMPARE(recent.recent().first(), QString("/m/11.gguf"));
        recent.setModelFolders({"/a/b/", "/a/b", "/c"});
        QCOMPARE(recent.modelFolders(), (QStringList{"/a/b", "/c"}));
        // A second instance on the same file (the CLI and the GUI) sees the same lists.
        RecentModels other(dir.path() + "/settings.ini");
        QCOMPARE(other.modelFolders(), (QStringList{"/a/b", "/c"}));
        QCOMPARE(other.recent().first(), QString("/m/11.gguf"));
        other.clear();
        QVERIFY(other.recent().isEmpty());
    }

    void sizes()
    {
        QCOMPARE(sizeText(999), QString("999 B"));
        QCOMPARE(sizeText(100000), QString("100.0 kB"));
        QCOMPARE(sizeText(2200000000), QString("2.20 GB"));
        QCOMPARE(speedText(4500000), QString("4.50 MB/s"));
    }
};

QTEST_GUILESS_MAIN(TestHubCache)
#include "tst_hub_cache.moc"
