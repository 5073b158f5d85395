// Scanning folders for models and describing each from its metadata.
#include "model_discovery.h"

#include "hub_cache.h"
#include "hub_environment.h"

#include "common/error.h"
#include "formats/gguf_reader.h"
#include "formats/safetensors_reader.h"
#include "model/config.h"
#include "model/config_loader.h"

#include <QDir>
#include <QDirIterator>
#include <QFile>
#include <QFileInfo>
#include <QRegularExpression>
#include <QSet>

#include <nlohmann/json.hpp>

#include <algorithm>
#include <fstream>
#include <map>

namespace logitscope::hub {

const char* modelSourceName(ModelSource s)
{
    switch (s) {
    case ModelSource::HfCache: return "hf-cache";
    case ModelSource::Folder: return "folder";
    case ModelSource::LmStudio: return "lm-studio";
    case ModelSource::Recent: return "recent";
    }
    return "?";
}

const char* memoryFitName(MemoryFit f)
{
    switch (f) {
    case MemoryFit::Unknown: return "unknown";
    case MemoryFit::Fits: return "fits";
    case MemoryFit::Tight: return "tight";
    case MemoryFit::TooBig: return "too big";
    }
    return "?";
}

qint64 availableMemoryBytes()
{
    QFile f("/proc/meminfo");
    if (!f.open(QIODevice::ReadOnly))
        return -1;
    for (const QByteArray& line : f.readAll().split('\n')) { // /proc files have no size: read, not atEnd()
        if (line.startsWith("MemAvailable:")) {
            const QList<QByteArray> parts = line.simplified().split(' ');
            if (parts.size() >= 2)
                return parts[1].toLongLong() * 1024;
        }
    }
    return -1;
}

qint64 neededBytes(qint64 weightBytes, qint64 kvBytesPerToken, int contextLength)
{
    const qint64 tokens = std::min<qint64>(contextLength > 0 ? contextLength : 4096, 4096);
    return weightBytes + kvBytesPerToken * tokens + (qint64(64) << 20);
}

MemoryFit memoryFit(qint64 needed, qint64 available)
{
    if (available <= 0 || needed <= 0)
        return MemoryFit::Unknown;
    if (needed <= available * 8 / 10)
        return MemoryFit::Fits;
    return needed <= available ? MemoryFit::Tight : MemoryFit::TooBig;
}

ScanOptions ScanOptions::defaults()
{
    ScanOptions o;
    o.hfCacheDir = HubEnvironment::fromProcess().cacheDir;
    o.lmStudioFolders = lmStudioModelDirs();
    o.availableBytes = availableMemoryBytes();
    return o;
}

namespace {

// "Q4_K+F32" from bytes per dtype, most bytes first.
QString dtypeSummary(const std::map<std::string, qint64>& bytes)
{
    std::vector<std::pair<qint64, std::string>> order;
    for (const auto& [name, n] : bytes)
        order.emplace_back(n, name);
    std::sort(order.rbegin(), order.rend());
    QStringList names;
    for (const auto& [n, name] : order)
        names << QString::fromStdString(name);
    return names.join('+');
}

void fillFromConfig(DiscoveredModel& m, const ModelConfig& c)
{
    m.architecture = architectureName(c.arch);
    m.layers = c.layers;
    m.kvHeads = c.kvHeads;
    m.headDim = c.headDim;
    m.contextLength = c.contextLength;
    m.kvBytesPerToken = qint64(c.kvBytesPerToken(4));
}

void describeGguf(DiscoveredModel& m)
{
    m.format = "gguf";
    m.weightBytes = QFileInfo(m.path).size();
    static const QRegularExpression split("-(\\d{5})-of-(\\d{5})\\.gguf$");
    if (const auto s = split.match(m.path); s.hasMatch() && s.captured(2).toInt() > 1) {
        m.problem = "split GGUF (" + s.captured(2) + " parts) is not supported: merge it with `llama-gguf-split --merge`";
        return;
    }
    try {
        const GgufFile g(m.path.toStdString());
        m.architecture = QString::fromStdString(g.getString("general.architecture", "?"));
        std::map<std::string, qint64> bytes;
        for (const TensorView& t : g.tensors()) {
            if (t.shape.size() >= 2)
                bytes[dtypeName(t.type)] += qint64(t.nbytes);
            m.parameters += t.elements();
        }
        m.quantisation = dtypeSummary(bytes);
        fillFromConfig(m, configFromGguf(g));
    } catch (const Error& e) {
        m.problem = QString::fromStdString(e.what());
    } catch (const std::exception& e) {
        m.problem = QString::fromStdString(e.what());
    }
}

void describeHfFolder(DiscoveredModel& m)
{
    m.format = "safetensors";
    const QDir dir(m.path);
    const std::string configPath = dir.filePath("config.json").toStdString();
    try {
        std::ifstream in(configPath);
        if (!in)
            throw Error(configPath + ": cannot be read (a broken link: the download may be incomplete)");
        nlohmann::json j = nlohmann::json::parse(in, nullptr, false);
        if (j.is_discarded())
            throw Error(configPath + ": not valid JSON");
        if (j.is_object() && j.contains("model_type") && j["model_type"].is_string())
            m.architecture = QString::fromStdString(j["model_type"].get<std::string>());
        fillFromConfig(m, configFromHfJson(j, configPath));
    } catch (const std::exception& e) {
        m.problem = QString::fromStdString(e.what());
    }
    // Weights: the shards an index names, else every *.safetensors.
    QStringList shards;
    QFile index(dir.filePath("model.safetensors.index.json"));
    if (index.open(QIODevice::ReadOnly)) {
        const nlohmann::json j = nlohmann::json::parse(index.readAll().toStdString(), nullptr, false);
        if (j.is_object() && j.contains("weight_map") && j["weight_map"].is_object())
            for (const auto& [tensor, file] : j["weight_map"].items())
                if (file.is_string() && !shards.contains(QString::fromStdString(file.get<std::string>())))
                    shards << QString::fromStdString(file.get<std::string>());
    }
    if (shards.isEmpty())
        shards = dir.entryList({"*.safetensors"}, QDir::Files | QDir::System, QDir::Name); // System: broken links too
    if (shards.isEmpty()) {
        if (m.problem.isEmpty())
            m.problem = "no *.safetensors weights in " + m.path;
        return;
    }
    std::map<std::string, qint64> bytes;
    for (const QString& shard : shards) {
        const QFileInfo info(dir.filePath(shard));
        if (!info.exists()) {
            if (m.problem.isEmpty())
                m.problem = "missing weight file " + info.filePath() + " (the download may be incomplete)";
            continue;
        }
        m.weightBytes += info.size();
        try {
            const SafetensorsFile st(info.filePath().toStdString());
            for (const TensorView& t : st.tensors()) {
                if (t.shape.size() >= 2)
                    bytes[dtypeName(t.type)] += qint64(t.nbytes);
                m.parameters += t.elements();
            }
        } catch (const std::exception& e) {
            if (m.problem.isEmpty())
                m.problem = QString::fromStdString(e.what());
        }
    }
    m.quantisation = dtypeSummary(bytes);
    if (m.problem.isEmpty() && !dir.exists("tokenizer.json") && !dir.exists("tokenizer.model"))
        m.problem = "no tokenizer (tokenizer.json or tokenizer.model) in " + m.path;
}

bool isHfFolder(const QDir& dir)
{
    return dir.exists("config.json") && !dir.entryList({"*.safetensors"}, QDir::Files).isEmpty();
}

// *.gguf files and Hugging Face folders below `root`, at most `maxDepth` levels down, hidden folders skipped.
void walk(const QString& root, int depth, int maxDepth, QStringList& ggufs, QStringList& hfFolders)
{
    const QDir dir(root);
    if (isHfFolder(dir))
        hfFolders << dir.absolutePath();
    static const QRegularExpression laterPart("-(\\d{5})-of-\\d{5}\\.gguf$");
    for (const QFileInfo& f : dir.entryInfoList({"*.gguf"}, QDir::Files, QDir::Name)) {
        const auto part = laterPart.match(f.fileName());
        if (!part.hasMatch() || part.captured(1).toInt() == 1) // a split file is listed once, by its first part
            ggufs << f.absoluteFilePath();
    }
    if (depth >= maxDepth)
        return;
    for (const QFileInfo& sub : dir.entryInfoList(QDir::Dirs | QDir::NoDotAndDotDot, QDir::Name))
        if (!sub.isSymLink())
            walk(sub.absoluteFilePath(), depth + 1, maxDepth, ggufs, hfFolders);
}

} // namespace

DiscoveredModel describeModel(const QString& path, ModelSource source, qint64 availableBytes)
{
    DiscoveredModel m;
    const QFileInfo info(path);
    m.path = info.absoluteFilePath();
    m.source = source;
    m.name = info.fileName();
    if (info.isDir())
        describeHfFolder(m);
    else if (info.isFile() && path.endsWith(".gguf", Qt::CaseInsensitive))
        describeGguf(m);
    else if (info.isFile() && info.fileName() == "config.json") {
        m.path = info.absolutePath();
        m.name = QFileInfo(m.path).fileName();
        describeHfFolder(m);
    } else
        m.problem = info.exists() ? path + " is neither a .gguf file nor a folder with config.json" : path + " does not exist";
    if (m.weightBytes > 0) {
        m.neededBytes = neededBytes(m.weightBytes, m.kvBytesPerToken, m.contextLength);
        m.fit = memoryFit(m.neededBytes, availableBytes);
    }
    return m;
}

QList<DiscoveredModel> scanModels(const ScanOptions& options)
{
    QList<DiscoveredModel> out;
    QSet<QString> seen;
    auto add = [&](DiscoveredModel m, const QString& name, const QString& revision) {
        const QString key = QFileInfo(m.path).canonicalFilePath();
        if (seen.contains(key.isEmpty() ? m.path : key))
            return;
        seen.insert(key.isEmpty() ? m.path : key);
        if (!name.isEmpty() && name != ".")
            m.name = name;
        m.revision = revision;
        out << m;
    };

    if (!options.hfCacheDir.isEmpty()) {
        for (const HubCache::Snapshot& s : HubCache(options.hfCacheDir).snapshots()) {
            const QDir dir(s.path);
            const QString revision = s.refs.isEmpty() ? s.commit.left(8) : s.refs.join(',');
            const QStringList ggufs = dir.entryList({"*.gguf"}, QDir::Files, QDir::Name);
            for (const QString& g : ggufs)
                add(describeModel(dir.filePath(g), ModelSource::HfCache, options.availableBytes), s.repoId + '/' + g, revision);
            if (dir.exists("config.json") && (ggufs.isEmpty() || !dir.entryList({"*.safetensors"}, QDir::Files).isEmpty()))
                add(describeModel(s.path, ModelSource::HfCache, options.availableBytes), s.repoId, revision);
        }
    }
    auto scanFolders = [&](const QStringList& roots, ModelSource source) {
        for (const QString& root : roots) {
            QStringList ggufs, hfFolders;
            walk(root, 0, options.maxDepth, ggufs, hfFolders);
            for (const QString& f : hfFolders)
                add(describeModel(f, source, options.availableBytes), QDir(root).relativeFilePath(f), {});
            for (const QString& g : ggufs)
                add(describeModel(g, source, options.availableBytes), QDir(root).relativeFilePath(g), {});
        }
    };
    scanFolders(options.folders, ModelSource::Folder);
    scanFolders(options.lmStudioFolders, ModelSource::LmStudio);
    return out;
}

} // namespace logitscope::hub
