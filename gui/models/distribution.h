// Distribution: what the probability bars draw for one step, derived from a StepRecord — the raw
// top-k, each candidate's probability after the sampling chain, which stage removed it (top-k,
// top-p, min-p, a penalty...), where each truncation stage cut, and the chosen token.
// Pure computation over copied records; it neither samples nor calls the engine.
#pragma once

#include "decoding/step_record.h"
#include "models/vocabulary.h"

#include <QList>
#include <QString>

namespace logitscope::gui {

struct BarCandidate {
    int32_t id = 0;
    QByteArray bytes;
    QString label;             // tokenLabel(bytes)
    double rawProb = 0;        // softmax of the unprocessed logits
    double finalProb = 0;      // after the whole chain (0 when removed)
    bool finalKnown = true;    // false when the candidate fell outside the recorded top of the last stage
    bool penalised = false;    // a penalty stage lowered its logit
    QString removedBy;         // stage that removed it; empty when it survives
    bool forbidden = false;    // removed by the grammar stage (constrained decoding)
    bool chosen = false;
};

// Constrained decoding: what the grammar stage did to this step (the "grammar" StageSnapshot).
struct GrammarView {
    bool active = false;        // the lane has a grammar
    double removedMass = 0;     // probability mass the grammar masked, of the distribution it received
    int forbiddenCount = 0;     // candidates masked (survivors before − after)
    QString position;           // where the grammar's parser stood when this token was sampled
    QList<QPair<QString, double>> forbidden; // the most likely masked candidates: label, prob before the mask
};

struct CutOff {
    QString stage;
    double position = 0;       // x between two bars (bars sit at 0, 1, 2, ...)
};

struct StageSummary {
    QString name;
    int survivors = 0;
    double entropy = 0;
    QList<double> top;         // probabilities of the recorded top candidates, best first
    QString detail;            // the stage's state in one line ("mu 9.87, k 35", "T 0.83"; grammar: mass removed)
};

struct Distribution {
    bool valid = false;
    int lane = 0;
    int step = 0;
    bool preview = false;       // "would choose" (nothing committed yet)
    int32_t chosen = -1;
    QString chosenLabel;
    double chosenProb = 0;      // after the chain
    double chosenRawProb = 0;
    QList<BarCandidate> bars;   // raw top-k order, best first (the chosen token appended if outside)
    QList<CutOff> cuts;
    QList<StageSummary> stages;
    GrammarView grammar;
};

// Builds the bars for the first `k` raw candidates of `record`.
Distribution makeDistribution(const logitscope::StepRecord& record, int k, const Vocabulary& vocabulary,
                              bool preview);

// Stage-name helpers (the chain names its stages; these recognise the families).
bool isPenaltyStage(const QString& stage);
bool isGrammarStage(const QString& stage);
QString prettyStageName(const QString& stage);

} // namespace logitscope::gui
