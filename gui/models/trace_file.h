// Traces on disk: the JSON `logitscope-cli generate --trace` writes (model, prompt, prompt_ids,
// settings, steps[] with raw_top and every stage's snapshot), written from the GUI's records and read
// back for replay on a machine without the model or a GPU. The GUI adds one optional key, "pieces"
// ({"id": "token bytes"} for every id the trace mentions), so a replay can label candidates; the CLI's
// traces replay too, with ids for the candidates that never were chosen. Also: any table as CSV, and
// the atomic write (QSaveFile) every export uses.
#pragma once

#include "decoding/sampling_params.h"
#include "decoding/step_record.h"
#include "models/vocabulary.h"

#include <QAbstractItemModel>
#include <QByteArray>
#include <QHash>
#include <QString>

#include <vector>

namespace logitscope::gui {

struct Trace {
    QString model;                            // path of the model that produced it
    QString prompt;                           // the text as tokenized (after any chat template)
    std::vector<int32_t> promptIds;
    logitscope::SamplingParams settings;
    std::vector<logitscope::StepRecord> steps;
    QHash<int32_t, QByteArray> pieces;        // token bytes by id, where known
    QByteArray tokenBytes(int32_t id) const;  // the piece, else the bytes of a step that chose it, else empty
};

// The CLI's shape (cli/cmd_generate.cpp traceStep), plus "pieces" when a vocabulary is given.
QByteArray traceToJson(const Trace& trace, const Vocabulary* vocabulary = nullptr);
// Throws logitscope::Error naming the field ("steps[2].stages[0].top[1].prob: expected a number").
Trace traceFromJson(const QByteArray& text);

// Writes through QSaveFile: the old file stays intact unless the new one was written completely.
bool writeFileAtomically(const QString& path, const QByteArray& bytes, QString* error);
bool readFileLimited(const QString& path, QByteArray* bytes, QString* error, qint64 maxBytes = 256ll << 20);

// Every row and column of `model` (DisplayRole, header row first), RFC 4180 quoting.
QByteArray tableToCsv(const QAbstractItemModel& model);

} // namespace logitscope::gui
