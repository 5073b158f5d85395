// Serving metrics from the records the worker already sends: one row per forward pass (the prefill,
// then every decode step) for the per-step time plot, and TTFT / TPOT / tokens per second computed
// with the definitions of `logitscope-cli bench` (cli/cmd_generate.cpp cmdBench): TTFT = the prefill's
// wall time, TPOT = the mean decode forward time, decode tok/s = 1000 / TPOT, prefill tok/s = prompt
// tokens × 1000 / prefill ms. Pure bookkeeping; it times nothing itself.
#pragma once

#include "decoding/step_record.h"

#include <QAbstractTableModel>
#include <QList>

namespace logitscope::gui {

struct ForwardTiming {
    bool prefill = false;
    int step = -1;      // decode step index (-1 for the prefill)
    int tokens = 0;     // tokens run through the model in this pass
    double ms = 0;      // forward wall time
    double sampleMs = 0;
};

struct ServingNumbers {
    double ttftMs = 0;
    double tpotMs = 0;
    double prefillTokensPerSecond = 0;
    double decodeTokensPerSecond = 0;
    int promptTokens = 0;
    int decodeSteps = 0; // decode forward passes counted in TPOT
};

// bench's definitions over a prefill and the decode steps that ran a forward pass.
ServingNumbers servingNumbers(const QList<ForwardTiming>& passes);

class StepTimingModel : public QAbstractTableModel {
    Q_OBJECT
public:
    enum Column { PhaseColumn, StepColumn, TokensColumn, MsColumn, TokensPerSecondColumn, ColumnCount };
    enum Roles { PrefillRole = Qt::UserRole + 1, MsRole };
    using QAbstractTableModel::QAbstractTableModel;

    int rowCount(const QModelIndex& parent = {}) const override;
    int columnCount(const QModelIndex& parent = {}) const override;
    QVariant data(const QModelIndex& index, int role = Qt::DisplayRole) const override;
    QVariant headerData(int section, Qt::Orientation orientation, int role = Qt::DisplayRole) const override;

    void clear();
    void addPrefill(const logitscope::PrefillRecord& record); // starts over
    // Appends the decode pass this step ran (steps that ended the lane ran none and are skipped);
    // a record with a step index already seen (after a rewind) truncates the list there first.
    void addStep(const logitscope::StepRecord& record);
    void setHistory(const std::vector<logitscope::StepRecord>& history); // keeps the prefill row

    const QList<ForwardTiming>& passes() const { return m_passes; }
    ServingNumbers numbers() const { return servingNumbers(m_passes); }

private:
    QList<ForwardTiming> m_passes;
};

} // namespace logitscope::gui
