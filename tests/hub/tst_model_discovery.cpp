// Discovery over a fake Hugging Face cache, a folder of GGUF files and an LM Studio-style folder,
// all built in a temporary directory: what each model is described as, and the memory estimate.
#include "hub_cache.h"
#include "model_discovery.h"
#include "model_list_model.h"

#include "common/dtype.h"
#include "formats/gguf_writer.h"

#include <QAbstractItemModelTester>
#include <QDir>
#include <QFile>
#include <QFileInfo>
#include <QTemporaryDir>
#include <QtTest>

using namespace logitscope;
using namespace logitscope::hub;

namespace {

const QString kBrown = QStringLiteral(LOGITSCOPE_SOURCE_DIR "/resources/models/logitscope-brown");
const QString kCommit = "89abcdef0123456789abcdef0123456789abcdef";

// Metadata of Qwen2.5-0.5B and two of its tensors: a Q4_K matrix (rows of 4864 = 19 blocks) and an F32 norm.
void writeQwenGguf(const QString& path, const std::string& arch = "qwen2")
{
    GgufWriter w;
    w.setString("general.architecture", arch);
    w.setString("general.name", "Qwen2.5 0.5B");
    const std::string p = arch + ".";
    w.setU32(p + "embedding_length", 896);
    w.setU32(p + "block_count", 24);
    w.setU32(p + "attention.head_count", 14);
    w.setU32(p + "attention.head_count_kv", 2);
    w.setU32(p + "feed_forward_length", 4864);
    w.setU32(p + "context_length", 32768);
    w.setU32(p + "vocab_size", 151936);
    w.setF32(p + "rope.freq_base", 1000000.0f);
    w.addTensor("blk.0.ffn_down.weight", DType::Q4_K, {896, 4864}, std::vector<uint8_t>(dtypeBytes(DType::Q4_K, 896 * 4864)));
    w.addTensor("blk.0.attn_norm.weight", DType::F32, {896}, std::vector<uint8_t>(896 * 4));
    w.write(path.toStdString());
}

bool copyFile(const QString& from, const QString& to)
{
    QDir().mkpath(QFileInfo(to).absolutePath());
    return QFile::copy(from, to);
}

// models--Logitscope--brown: blobs named by a made-up etag per file, snapshot links, refs/main.
void makeHfCache(const QString& root)
{
    HubCache cache(root);
    int n = 0;
    for (const QString& file : QDir(kBrown).entryList(QDir::Files)) {
        const QString etag = QString("etag%1").arg(n++);
        QVERIFY(copyFile(kBrown + '/' + file, cache.blobPath("Logitscope/brown", etag)));
        QCOMPARE(cache.linkSnapshotFile("Logitscope/brown", kCommit, file, etag), QString());
    }
    QCOMPARE(cache.writeRef("Logitscope/brown", "main", kCommit), QString());
    // A snapshot whose weights never arrived: only config.json.
    QVERIFY(copyFile(kBrown + "/config.json", cache.blobPath("o/partial", "c")));
    QCOMPARE(cache.linkSnapshotFile("o/partial", kCommit, "config.json", "c"), QString());
    QVERIFY(copyFile(kBrown + "/config.json", cache.blobPath("o/partial", "c2")));
    QCOMPARE(cache.linkSnapshotFile("o/partial", kCommit, "model.safetensors", "missing"), QString()); // broken link
}

const DiscoveredModel* byName(const QList<DiscoveredModel>& models, const QString& name)
{
    for (const DiscoveredModel& m : models)
        if (m.name == name)
            return &m;
    return nullptr;
}

} // namespace

class TestModelDiscovery : public QObject {
    Q_OBJECT

private slots:
    void initTestCase()
    {
        if (!QFileInfo::exists(kBrown + "/model.safetensors"))
            QSKIP("resources/models/logitscope-brown is absent");
    }

    void hfCacheSnapshots()
    {
        QTemporaryDir dir;
        makeHfCache(dir.path() + "/hub");
        ScanOptions o;
        o.hfCacheDir = dir.path() + "/hub";
        o.availableBytes = qint64(16) << 30;
        const QList<DiscoveredModel> models = scanModels(o);
        QCOMPARE(models.size(), 2);

        const DiscoveredModel* brown = byName(models, "Logitscope/brown");
        QVERIFY(brown);
        QCOMPARE(brown->source, ModelSource::HfCache);
        QCOMPARE(brown->path, dir.path() + "/hub/models--Logitscope--brown/snapshots/" + kCommit);
        QCOMPARE(brown->revision, QString("main"));
        QCOMPARE(brown->format, QString("safetensors"));
        QCOMPARE(brown->architecture, QString("llama"));
        QCOMPARE(brown->quantisation, QString("F16"));
        QCOMPARE(brown->parameters, 9445440);
        QCOMPARE(brown->weightBytes, 18897016);
        QCOMPARE(brown->layers, 6);
        QCOMPARE(brown->kvHeads, 4);
        QCOMPARE(brown->headDim, 40);
        QCOMPARE(brown->kvBytesPerToken, 2 * 6 * 4 * 40 * 4);
        QCOMPARE(brown->neededBytes, 18897016 + 2 * 6 * 4 * 40 * 4 * 512 + (qint64(64) << 20));
        QCOMPARE(brown->fit, MemoryFit::Fits);
        QCOMPARE(brown->problem, QString());

        const DiscoveredModel* partial = byName(models, "o/partial");
        QVERIFY(partial);
        QCOMPARE(partial->revision, kCommit.left(8)); // no ref names it
        QCOMPARE(partial->problem, "missing weight file " + partial->path + "/model.safetensors (the download may be incomplete)");
    }

    void ggufAndHfFoldersUnderChosenFolders()
    {
        QTemporaryDir dir;
        const QString root = dir.path() + "/models";
        QVERIFY(QDir().mkpath(root + "/qwen/deeper"));
        writeQwenGguf(root + "/qwen/deeper/qwen2.5-0.5b-q4_k.gguf");
        writeQwenGguf(root + "/gemma.gguf", "gemma2");
        writeQwenGguf(root + "/big-00001-of-00002.gguf");
        writeQwenGguf(root + "/big-00002-of-00002.gguf");
        QVERIFY(QDir().mkpath(root + "/.hidden"));
        for (const QString& f : QDir(kBrown).entryList(QDir::Files))
            QVERIFY(copyFile(kBrown + '/' + f, root + "/brown/" + f));
        QFile junk(root + "/notes.txt");
        QVERIFY(junk.open(QIODevice::WriteOnly));
        junk.close();

        const QString lmStudio = dir.path() + "/lmstudio";
        QVERIFY(QDir().mkpath(lmStudio + "/publisher/repo"));
        writeQwenGguf(lmStudio + "/publisher/repo/model-Q4_K.gguf");

        ScanOptions o;
        o.folders = {root, root + "/qwen"}; // the second repeats a model: listed once
        o.lmStudioFolders = {lmStudio};
        o.availableBytes = 1000; // nothing fits
        const QList<DiscoveredModel> models = scanModels(o);
        QStringList names;
        for (const DiscoveredModel& m : models)
            names << m.name;
        QCOMPARE(names, (QStringList{"brown", "big-00001-of-00002.gguf", "gemma.gguf", "qwen/deeper/qwen2.5-0.5b-q4_k.gguf",
                                     "publisher/repo/model-Q4_K.gguf"}));

        const DiscoveredModel* qwen = byName(models, "qwen/deeper/qwen2.5-0.5b-q4_k.gguf");
        QVERIFY(qwen);
        QCOMPARE(qwen->source, ModelSource::Folder);
        QCOMPARE(qwen->format, QString("gguf"));
        QCOMPARE(qwen->problem, QString());
        QCOMPARE(qwen->architecture, QString("qwen2"));
        QCOMPARE(qwen->quantisation, QString("Q4_K"));
        QCOMPARE(qwen->parameters, 896 * 4864 + 896);
        QCOMPARE(qwen->layers, 24);
        QCOMPARE(qwen->kvHeads, 2);
        QCOMPARE(qwen->headDim, 64);
        QCOMPARE(qwen->contextLength, 32768);
        QCOMPARE(qwen->kvBytesPerToken, 2 * 24 * 2 * 64 * 4);
        QCOMPARE(qwen->weightBytes, QFileInfo(qwen->path).size());
        QCOMPARE(qwen->neededBytes, qwen->weightBytes + qint64(2 * 24 * 2 * 64 * 4) * 4096 + (qint64(64) << 20));
        QCOMPARE(qwen->fit, MemoryFit::TooBig);
        QCOMPARE(qwen->problem, QString());

        const DiscoveredModel* gemma = byName(models, "gemma.gguf");
        QVERIFY(gemma);
        QCOMPARE(gemma->architecture, QString("gemma2"));
        QCOMPARE(gemma->problem, gemma->path + ": metadata general.architecture: 'gemma2' is not supported (supported: llama, mistral, qwen2, qwen3, phi3, gpt2)");

        const DiscoveredModel* split = byName(models, "big-00001-of-00002.gguf");
        QVERIFY(split);
        QCOMPARE(split->problem, QString("split GGUF (00002 parts) is not supported: merge it with `llama-gguf-split --merge`"));

        QCOMPARE(byName(models, "brown")->source, ModelSource::Folder);
        QCOMPARE(byName(models, "publisher/repo/model-Q4_K.gguf")->source, ModelSource::LmStudio);

        // A shallower search does not reach qwen/deeper.
        o.maxDepth = 1;
        o.folders = {root};
        o.lmStudioFolders.clear();
        QVERIFY(!byName(scanModels(o), "qwen/deeper/qwen2.5-0.5b-q4_k.gguf"));
    }

    void describeOnePath()
    {
        const DiscoveredModel viaConfig = describeModel(kBrown + "/config.json", ModelSource::Recent, -1);
        QCOMPARE(viaConfig.path, QFileInfo(kBrown).absoluteFilePath());
        QCOMPARE(viaConfig.name, QString("logitscope-brown"));
        QCOMPARE(viaConfig.fit, MemoryFit::Unknown);
        QCOMPARE(describeModel("/nonexistent/x.gguf", ModelSource::Recent, -1).problem, QString("/nonexistent/x.gguf does not exist"));
    }

    void memoryVerdicts()
    {
        QCOMPARE(memoryFit(800, 1000), MemoryFit::Fits);
        QCOMPARE(memoryFit(900, 1000), MemoryFit::Tight);
        QCOMPARE(memoryFit(1001, 1000), MemoryFit::TooBig);
        QCOMPARE(memoryFit(1, -1), MemoryFit::Unknown);
        QVERIFY(availableMemoryBytes() > 0); // Linux /proc/meminfo
        // SmolLM2-135M in BF16: 269 MB of weights + 2 x 30 x 3 x 64 x 4 B = 46,080 B/token x 2048 positions.
        QCOMPARE(neededBytes(269060552, 46080, 2048), 269060552 + 46080 * 2048 + (qint64(64) << 20));
    }

    void listModel()
    {
        QTemporaryDir dir;
        makeHfCache(dir.path() + "/hub");
        ScanOptions o;
        o.hfCacheDir = dir.path() + "/hub";
        ModelListModel model;
        QAbstractItemModelTester tester(&model, QAbstractItemModelTester::FailureReportingMode::QtTest);
        model.setModels(scanModels(o));
        QCOMPARE(model.rowCount(), 2);
        QCOMPARE(model.columnCount(), int(ModelListModel::ColumnCount));
        const QModelIndex name = model.index(0, ModelListModel::Name);
        QCOMPARE(name.data().toString(), QString("Logitscope/brown"));
        QCOMPARE(model.index(0, ModelListModel::Size).data().toString(), QString("18.9 MB"));
        QCOMPARE(model.index(0, ModelListModel::Size).data(ModelListModel::SortRole).toLongLong(), 18897016);
        QCOMPARE(model.index(0, ModelListModel::Memory).data().toString(), QString("?"));
        QCOMPARE(name.data(ModelListModel::PathRole).toString(), model.models()[0].path);
        QCOMPARE(model.index(1, ModelListModel::Memory).data().toString(), QString("cannot open"));
        QVERIFY(model.index(1, 0).data(Qt::ToolTipRole).toString().contains("Cannot be opened: missing weight file"));
        QCOMPARE(model.headerData(ModelListModel::Quantisation, Qt::Horizontal).toString(), QString("Weights"));
        model.setModels({});
        QCOMPARE(model.rowCount(), 0);
    }
};

QTEST_GUILESS_MAIN(TestModelDiscovery)
#include "tst_model_discovery.moc"
