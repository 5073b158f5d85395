// A saved session: which model (path, device), the prompt, the sampling controls, and every lane —
// root, side-by-side lanes and branches — with its settings and its tokens (forced ones marked), so
// reopening rebuilds the same tree. JSON, written atomically (QSaveFile); reading checks every field
// and names the one that is wrong. Building the document and rebuilding the session from it happen on
// the worker (session_restore.h); this file is the format only.
#pragma once

#include "decoding/sampling_params.h"

#include <QByteArray>
#include <QList>
#include <QString>

#include <vector>

namespace logitscope::gui {

struct SavedToken {
    int32_t id = 0;
    bool forced = false;
};

struct SavedLane {
    int id = 0;
    QString kind = QStringLiteral("root"); // "root", "lane", "branch"
    int parent = -1;
    int forkStep = 0;                        // tokens shared with the parent at the fork
    logitscope::SamplingParams settings;
    std::vector<SavedToken> tokens;          // the lane's whole output, shared prefix included
};

// One lane of the side-by-side comparison: which saved lane, and how many of its steps (from its fork)
// the comparison view held.
struct SavedComparisonLane {
    int lane = 0;
    int steps = 0;
};

struct SessionDocument {
    static constexpr int kVersion = 1;
    QString modelPath;
    QString device = QStringLiteral("auto");
    QString kvType = QStringLiteral("f32"); // how the CPU stores keys and values ("f32" or "f16")
    QString weights;                        // "" as stored, else the type the matrices were requantized to
    QString prompt;
    bool chat = false;
    QString system;
    logitscope::SamplingParams settings;     // the sampling controls
    int currentLane = 0;
    QList<SavedLane> lanes;                  // root first; a lane's parent comes before it
    QList<SavedComparisonLane> comparison;   // the Side-by-side lanes view, A first (empty: none open)
};

QByteArray sessionToJson(const SessionDocument& doc);
// Throws logitscope::Error naming the field ("lanes[1].settings: top_p: ...", "prompt: missing").
SessionDocument sessionFromJson(const QByteArray& text);

// File helpers: false and a message (naming the file and the field) on failure; never throw.
bool saveSessionFile(const QString& path, const SessionDocument& doc, QString* error);
bool loadSessionFile(const QString& path, SessionDocument* doc, QString* error);

} // namespace logitscope::gui
