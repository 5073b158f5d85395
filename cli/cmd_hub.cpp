// models and pull: the models already on disk, and downloading from the Hugging Face Hub into its cache.
// Both use the hub library (Qt Core + Network) and exist when the CLI is built with it
// (LOGITSCOPE_HAVE_HUB); without Qt they say so and exit 2. `pull` runs a QCoreApplication event loop.
#include "commands.h"

#include "common/error.h"

#ifdef LOGITSCOPE_HAVE_HUB
#include "hub_pull.h"
#include "model_discovery.h"
#include "recent_models.h"
#include "size_text.h"

#include <QCoreApplication>
#include <QFileInfo>

#include <nlohmann/json.hpp>

#include <cstdio>
#include <iostream>
#include <unistd.h>
#endif

#include <string>

namespace logitscope::cli {

#ifdef LOGITSCOPE_HAVE_HUB

namespace {

std::string utf8(const QString& s) { return s.toStdString(); }

nlohmann::ordered_json modelJson(const hub::DiscoveredModel& m)
{
    return {
        {"name", utf8(m.name)},
        {"path", utf8(m.path)},
        {"source", hub::modelSourceName(m.source)},
        {"format", utf8(m.format)},
        {"architecture", utf8(m.architecture)},
        {"quantisation", utf8(m.quantisation)},
        {"parameters", m.parameters},
        {"weight_bytes", m.weightBytes},
        {"layers", m.layers},
        {"kv_heads", m.kvHeads},
        {"head_dim", m.headDim},
        {"context_length", m.contextLength},
        {"kv_bytes_per_token_fp32", m.kvBytesPerToken},
        {"needed_bytes", m.neededBytes},
        {"fits", hub::memoryFitName(m.fit)},
        {"revision", utf8(m.revision)},
        {"problem", m.problem.isEmpty() ? nlohmann::ordered_json(nullptr) : nlohmann::ordered_json(utf8(m.problem))},
    };
}

void printModel(const hub::DiscoveredModel& m)
{
    QString name = m.name;
    if (!m.revision.isEmpty())
        name += " (" + m.revision + ")";
    QString memory = m.problem.isEmpty() ? QString(hub::memoryFitName(m.fit)) : QString("cannot open");
    if (m.problem.isEmpty() && m.neededBytes > 0)
        memory += " (" + hub::sizeText(m.neededBytes) + ")";
    std::printf("%-48s %-9s %-7s %-9s %9s  %s\n", qPrintable(name), hub::modelSourceName(m.source),
                m.architecture.isEmpty() ? "?" : qPrintable(m.architecture), qPrintable(m.quantisation),
                qPrintable(hub::sizeText(m.weightBytes)), qPrintable(memory));
    std::printf("    %s\n", qPrintable(m.path));
    if (!m.problem.isEmpty())
        std::printf("    cannot be opened: %s\n", qPrintable(m.problem));
}

// QCoreApplication needs an argc that outlives it.
int g_argc = 1;
char g_arg0[] = "logitscope-cli";
char* g_argv[] = {g_arg0, nullptr};

} // namespace

void rememberModel(const std::string& path)
{
    hub::RecentModels().add(QString::fromStdString(path));
}

int cmdModels(const Args& args)
{
    const bool json = args.flag("json");
    const bool saveDirs = args.flag("save-dirs");
    const bool noHfCache = args.flag("no-hf-cache");
    const std::vector<std::string> dirs = args.all("dir");
    const int depth = args.integer("depth", 5);
    args.rejectUnknown();
    if (depth < 0)
        throw Error("--depth: expected a non-negative integer, got " + std::to_string(depth));

    hub::RecentModels settings;
    hub::ScanOptions options = hub::ScanOptions::defaults();
    if (noHfCache)
        options.hfCacheDir.clear();
    options.maxDepth = depth;
    options.folders = settings.modelFolders();
    for (const std::string& d : dirs) {
        const QFileInfo info(QString::fromStdString(d));
        if (!info.isDir())
            throw Error("--dir: '" + d + "' is not a folder");
        if (!options.folders.contains(info.absoluteFilePath()))
            options.folders << info.absoluteFilePath();
    }
    if (saveDirs)
        settings.setModelFolders(options.folders);
    const QList<hub::DiscoveredModel> models = hub::scanModels(options);
    QList<hub::DiscoveredModel> recent;
    for (const QString& path : settings.recent())
        recent << hub::describeModel(path, hub::ModelSource::Recent, options.availableBytes);

    if (json) {
        nlohmann::ordered_json j;
        j["hf_cache"] = utf8(options.hfCacheDir);
        j["folders"] = nlohmann::ordered_json::array();
        for (const QString& f : options.folders + options.lmStudioFolders)
            j["folders"].push_back(utf8(f));
        j["available_bytes"] = options.availableBytes;
        j["models"] = nlohmann::ordered_json::array();
        for (const hub::DiscoveredModel& m : models)
            j["models"].push_back(modelJson(m));
        j["recent"] = nlohmann::ordered_json::array();
        for (const hub::DiscoveredModel& m : recent)
            j["recent"].push_back(modelJson(m));
        std::cout << j.dump() << "\n";
        return 0;
    }
    std::printf("Hugging Face cache  %s\n", options.hfCacheDir.isEmpty() ? "(not searched)" : qPrintable(options.hfCacheDir));
    for (const QString& f : options.folders)
        std::printf("folder              %s\n", qPrintable(f));
    for (const QString& f : options.lmStudioFolders)
        std::printf("LM Studio           %s\n", qPrintable(f));
    std::printf("free memory         %s\n\n", options.availableBytes > 0 ? qPrintable(hub::sizeText(options.availableBytes)) : "unknown");
    std::printf("%-48s %-9s %-7s %-9s %9s  %s\n", "NAME", "SOURCE", "ARCH", "WEIGHTS", "SIZE", "MEMORY (weights + KV for 4096 tokens)");
    for (const hub::DiscoveredModel& m : models)
        printModel(m);
    if (models.isEmpty())
        std::printf("(no models found; `logitscope-cli pull HuggingFaceTB/SmolLM2-135M-Instruct` downloads one)\n");
    if (!recent.isEmpty()) {
        std::printf("\nrecently used\n");
        for (const hub::DiscoveredModel& m : recent)
            printModel(m);
    }
    return 0;
}

int cmdPull(const Args& args)
{
    const std::vector<std::string>& positionals = args.positionals();
    if (positionals.size() != 1)
        throw Error(positionals.empty() ? "pull: missing REPO_ID (e.g. HuggingFaceTB/SmolLM2-135M-Instruct)"
                                        : "pull: expected one REPO_ID, got " + std::to_string(positionals.size()));
    const bool json = args.flag("json");
    hub::PullRequest request;
    request.repoId = QString::fromStdString(positionals[0]);
    request.revision = QString::fromStdString(args.str("revision", "main"));
    for (const std::string& g : args.all("include"))
        request.includes << QString::fromStdString(g);
    request.retries = args.integer("retries", 3);
    args.rejectUnknown();
    if (request.retries < 0)
        throw Error("--retries: expected a non-negative integer");

    std::unique_ptr<QCoreApplication> app;
    if (!QCoreApplication::instance())
        app = std::make_unique<QCoreApplication>(g_argc, g_argv);
    const bool tty = ::isatty(STDERR_FILENO);

    hub::HubPull puller;
    QString failure;
    hub::PullResult result;
    QObject::connect(&puller, &hub::HubPull::listingFinished, [&](const QList<hub::PullFile>& files, qint64 total) {
        int cached = 0;
        for (const hub::PullFile& f : files)
            cached += f.cached;
        std::fprintf(stderr, "%s: %lld file%s, %s", qPrintable(request.repoId), (long long)files.size(),
                     files.size() == 1 ? "" : "s", qPrintable(hub::sizeText(total)));
        if (cached)
            std::fprintf(stderr, " (%d already in the cache)", cached);
        std::fprintf(stderr, "\n");
    });
    QObject::connect(&puller, &hub::HubPull::progressAvailable, [&](const hub::PullProgress& p) {
        if (!tty)
            return;
        const int percent = p.total > 0 ? int(100 * p.bytes / p.total) : 0;
        std::fprintf(stderr, "\r\033[K[%3d%%] %s of %s  %s  file %d/%d %s", percent, qPrintable(hub::sizeText(p.bytes)),
                     qPrintable(hub::sizeText(p.total)), qPrintable(hub::speedText(p.bytesPerSecond)), p.fileIndex,
                     p.fileCount, qPrintable(p.file));
        std::fflush(stderr);
    });
    QObject::connect(&puller, &hub::HubPull::fileFinished, [&](const hub::PullFile& f) {
        std::fprintf(stderr, "%s%s %s (%s)\n", tty ? "\r\033[K" : "", f.cached ? "cached    " : "downloaded",
                     qPrintable(f.name), qPrintable(hub::sizeText(f.size)));
    });
    QObject::connect(&puller, &hub::HubPull::noticeAvailable, [&](const QString& message) {
        std::fprintf(stderr, "%snote: %s\n", tty ? "\r\033[K" : "", qPrintable(message));
    });
    QObject::connect(&puller, &hub::HubPull::pullFailed, [&](const QString& message) {
        failure = message;
        QCoreApplication::exit(2);
    });
    QObject::connect(&puller, &hub::HubPull::pullFinished, [&](const hub::PullResult& r) {
        result = r;
        QCoreApplication::exit(0);
    });
    puller.start(request);
    QCoreApplication::exec();
    if (tty)
        std::fprintf(stderr, "\r\033[K");
    if (!failure.isEmpty())
        throw Error(utf8(failure));

    // What Model::load takes: the snapshot folder, or the one GGUF file pulled.
    QString modelPath = result.snapshotPath;
    for (const hub::PullFile& f : result.files)
        if (f.name.endsWith(".gguf")) {
            modelPath = result.snapshotPath + '/' + f.name;
            break;
        }
    if (json) {
        nlohmann::ordered_json files = nlohmann::ordered_json::array();
        for (const hub::PullFile& f : result.files)
            files.push_back({{"name", utf8(f.name)}, {"size", f.size}, {"etag", utf8(f.etag)}, {"lfs", f.lfs}, {"cached", f.cached}});
        nlohmann::ordered_json j = {
            {"repo", utf8(result.repoId)}, {"revision", utf8(result.revision)}, {"commit", utf8(result.commit)},
            {"snapshot", utf8(result.snapshotPath)}, {"model_path", utf8(modelPath)}, {"files", files},
            {"downloaded_bytes", result.downloadedBytes}, {"total_bytes", result.totalBytes},
        };
        std::cout << j.dump() << "\n";
        return 0;
    }
    std::printf("pulled %s (%s = %s): %lld file%s, %s downloaded, %s in all\n", qPrintable(result.repoId),
                qPrintable(result.revision), qPrintable(result.commit.left(12)), (long long)result.files.size(),
                result.files.size() == 1 ? "" : "s",
                qPrintable(hub::sizeText(result.downloadedBytes)), qPrintable(hub::sizeText(result.totalBytes)));
    std::printf("%s\n", qPrintable(modelPath));
    return 0;
}

#else // built without the hub library

void rememberModel(const std::string&) {}

int cmdModels(const Args&)
{
    throw Error("this logitscope-cli was built without Qt 6 Network, so `models` is not available");
}

int cmdPull(const Args&)
{
    throw Error("this logitscope-cli was built without Qt 6 Network, so `pull` is not available");
}

#endif

} // namespace logitscope::cli
