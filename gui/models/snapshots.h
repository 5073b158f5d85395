// Value types that cross from the inference worker's thread to the UI thread, and their meta-type
// registration. They own their data (copies of engine records); none points into engine buffers.
// Not a place for behaviour: models and panels interpret them.
#pragma once

#include "decoding/session.h"
#include "decoding/step_record.h"

#include <QList>
#include <QMetaType>
#include <QString>
#include <QStringList>

#include <memory>
#include <vector>

namespace logitscope::gui {

// What the Model panel shows about the loaded model (copied once after loading).
struct ModelInfo {
    QString path;
    QString name;
    QString format;          // "gguf" or "safetensors"
    QString architecture;    // "llama", "qwen2", "qwen3", "gpt2"
    QString dtype;           // e.g. "F16", "Q4_K+Q6_K"
    QString requantized;     // "" when the weights run as stored, else what they were requantized to ("q4_k_m")
    QStringList weightTypes; // "Q4_K: 432.6 MB, 4.50 bits per value", most bytes first (Model::weightTypes)
    QString device;          // backend description, e.g. "CPU (AMD EPYC, 2 threads)"
    QString backend;         // "cpu" or "cuda"
    QString backendNotice;   // why "auto" fell back to the CPU, if it did
    qint64 parameters = 0;
    quint64 weightBytes = 0;
    quint64 kvBytesPerToken = 0;
    int kvElementBytes = 4;  // 4 (fp32) or 2 (fp16): how the backend stores keys and values
    int contextLength = 0;
    int slidingWindow = 0;    // the context was limited to the model's sliding attention window (config.h)
    int vocabSize = 0;
    int layers = 0;
    int heads = 0;
    int kvHeads = 0;
    int hidden = 0;
    bool valid() const { return !path.isEmpty(); }
    // The KV-cache choice this load made: "f16" when the CPU stores keys and values as fp16, else "f32"
    // (a GPU's fp16 is not a choice). What loadModel's kvType and a saved session's kv_type take.
    QString kvType() const
    {
        return backend == QLatin1String("cpu") && kvElementBytes == 2 ? QStringLiteral("f16") : QStringLiteral("f32");
    }
};

// One token of the prompt as the tokenizer split it (live tokenization while typing).
struct PromptToken {
    int32_t id = 0;
    QByteArray bytes;  // exact bytes of the token (may be part of a UTF-8 character)
    QString piece;     // the vocabulary entry (e.g. "▁the", "<0xE2>", "<s>")
    bool special = false; // BOS, EOS, chat markers: text the model reads but nobody typed
};

struct PromptTokens {
    quint64 generation = 0;   // which edit produced it (stale results are dropped)
    QString renderedText;     // the text actually tokenized (after the chat template, if on)
    QString templateNotice;   // chat template family or why none was used
    QList<PromptToken> tokens;
    QString error;
};

// The immutable model, handed to the UI thread after loading for read-only lookups (token bytes,
// live tokenization): Model is const and its tokenizer's encode() is thread-safe.
using ModelHandle = std::shared_ptr<const logitscope::Model>;
using LaneList = std::vector<logitscope::LaneInfo>;
using StepList = std::vector<logitscope::StepRecord>;

// Registers every type above (and the engine records) for queued signal/slot connections.
void registerMetaTypes();

} // namespace logitscope::gui

Q_DECLARE_METATYPE(logitscope::gui::ModelInfo)
Q_DECLARE_METATYPE(logitscope::gui::PromptTokens)
Q_DECLARE_METATYPE(logitscope::gui::ModelHandle)
Q_DECLARE_METATYPE(logitscope::gui::LaneList)
Q_DECLARE_METATYPE(logitscope::gui::StepList)
Q_DECLARE_METATYPE(logitscope::StepRecord)
Q_DECLARE_METATYPE(logitscope::PrefillRecord)
Q_DECLARE_METATYPE(logitscope::SamplingParams)
Q_DECLARE_METATYPE(logitscope::LaneMetrics)
