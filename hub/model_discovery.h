// Finding models already on disk: Hugging Face cache snapshots, GGUF files and Hugging Face folders
// under chosen folders, and LM Studio's model folders. Each is described from its metadata alone
// (GGUF header, config.json, safetensors headers) — nothing is loaded — with an estimate of the memory
// it needs and whether that fits in what is free now. Not a loader: Model::load() has the last word.
#pragma once

#include <QList>
#include <QString>
#include <QStringList>

namespace logitscope::hub {

enum class ModelSource { HfCache, Folder, LmStudio, Recent };
const char* modelSourceName(ModelSource s); // "hf-cache", "folder", "lm-studio", "recent"

enum class MemoryFit { Unknown, Fits, Tight, TooBig };
const char* memoryFitName(MemoryFit f);     // "unknown", "fits", "tight", "too big"

struct DiscoveredModel {
    QString path;            // what Model::load() takes: a .gguf file or a folder with config.json
    QString name;            // repo id ("HuggingFaceTB/SmolLM2-135M-Instruct") or file/folder name
    ModelSource source = ModelSource::Folder;
    QString format;          // "gguf" or "safetensors"
    QString architecture;    // "llama", "qwen2", "qwen3", "gpt2", or the file's own name for one not supported
    QString quantisation;    // weight dtypes by bytes, most first: "Q4_K", "BF16", "F16+F32"
    qint64 parameters = 0;   // 0 when unknown
    qint64 weightBytes = 0;  // bytes of the weight files on disk
    int layers = 0, kvHeads = 0, headDim = 0, contextLength = 0;
    qint64 kvBytesPerToken = 0;  // fp32 K and V: 2 x layers x kv_heads x head_dim x 4
    qint64 neededBytes = 0;      // weights + fp32 KV for min(context, 4096) tokens + 64 MiB
    MemoryFit fit = MemoryFit::Unknown;
    QString revision;        // HF cache: refs pointing at this snapshot ("main"), or the commit's first 8 digits
    QString problem;         // why Logitscope cannot open it (empty when it probably can)
};

struct ScanOptions {
    QString hfCacheDir;                 // empty: no HF cache
    QStringList folders;                // searched recursively for *.gguf and HF folders
    QStringList lmStudioFolders;        // the same, labelled LM Studio
    int maxDepth = 5;                   // folder levels below each folder
    qint64 availableBytes = -1;         // -1: unknown (then fit is Unknown)

    // The HF cache from the environment, LM Studio's folders when they exist, and MemAvailable.
    static ScanOptions defaults();
};

// Scans everything ScanOptions names; duplicates (same canonical path) are listed once, first wins.
QList<DiscoveredModel> scanModels(const ScanOptions& options);
// Describes one path (a .gguf file or a folder with config.json); never throws: problems go in .problem.
DiscoveredModel describeModel(const QString& path, ModelSource source, qint64 availableBytes);

// Bytes of memory available to a new program now (Linux MemAvailable); -1 when unknown.
qint64 availableMemoryBytes();
// The estimate used for `fit`, and the verdict for the memory available.
qint64 neededBytes(qint64 weightBytes, qint64 kvBytesPerToken, int contextLength);
MemoryFit memoryFit(qint64 needed, qint64 available);

} // namespace logitscope::hub
