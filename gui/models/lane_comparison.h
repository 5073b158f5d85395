// Side-by-side lanes: two to four lanes forked from one point (sharing the prompt's KV blocks), each
// with its own sampling settings, stepped together. This holds what the comparison view shows — the
// lanes' settings and records, the first step where they chose differently, and a per-step KL
// divergence of each lane's final distribution from lane A's. Pure computation over copied records.
//
// KL is approximated over the recorded support: the final stage's top-N candidates (SessionOptions::
// topCandidates) of both lanes, plus one bucket for the rest of the vocabulary. A token missing from
// one lane's top-N gets that lane's leftover mass spread evenly over the tokens outside its top-N (at
// least 1e-9); the bucket holds whatever mass the union leaves. With N = 20 and sharp distributions
// this is close to exact; lumping the tail into one bucket underestimates it for flat ones.
#pragma once

#include "decoding/sampling_params.h"
#include "decoding/step_record.h"
#include "models/vocabulary.h"

#include <QAbstractTableModel>
#include <QList>
#include <QString>

namespace logitscope::gui {

struct ComparisonLane {
    int lane = -1;                         // engine lane id
    logitscope::SamplingParams params;
    std::vector<logitscope::StepRecord> steps; // from the fork on
};

// KL(P || Q) in nats between two steps' final distributions, over the union of their recorded tops.
double klOverTopN(const logitscope::SampleResult& p, const logitscope::SampleResult& q, int vocabSize);
// The first step index at which any two lanes chose different tokens; -1 while they all agree.
int firstDivergence(const QList<ComparisonLane>& lanes);
// "temperature 0.7 · top-k 40" — the settings that differ from `base` (all non-defaults when equal).
QString describeDifference(const logitscope::SamplingParams& params, const logitscope::SamplingParams& base);

class LaneComparisonModel : public QAbstractTableModel {
    Q_OBJECT
public:
    enum Roles { DivergenceRole = Qt::UserRole + 1, TokenIdRole, KlRole };
    using QAbstractTableModel::QAbstractTableModel;

    // Columns: step, one token column per lane (A, B, ...), then KL(lane || A) for lanes B, C, ...
    int rowCount(const QModelIndex& parent = {}) const override;
    int columnCount(const QModelIndex& parent = {}) const override;
    QVariant data(const QModelIndex& index, int role = Qt::DisplayRole) const override;
    QVariant headerData(int section, Qt::Orientation orientation, int role = Qt::DisplayRole) const override;

    void setVocabulary(const Vocabulary& vocabulary) { m_vocabulary = vocabulary; }
    void setLanes(const QList<ComparisonLane>& lanes);
    void appendSteps(const std::vector<logitscope::StepRecord>& records); // matched to lanes by id
    void clear() { setLanes({}); }

    const QList<ComparisonLane>& lanes() const { return m_lanes; }
    int divergenceStep() const { return firstDivergence(m_lanes); }
    // KL(lane i || lane 0) at `step`; NaN when either lane has no record there.
    double kl(int laneIndex, int step) const;
    static QString laneLetter(int index) { return QString(QChar('A' + index)); }

private:
    int steps() const;
    QList<ComparisonLane> m_lanes;
    Vocabulary m_vocabulary;
};

} // namespace logitscope::gui
