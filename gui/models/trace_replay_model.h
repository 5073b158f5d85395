// TraceReplayModel: a loaded trace, scrubbed step by step without a model or a GPU (replay mode).
// The table lists the selected step's raw top candidates with their raw probability and their
// probability after the sampling chain; the text up to the step is kept for the panel to show.
#pragma once

#include "models/trace_file.h"

#include <QAbstractTableModel>

namespace logitscope::gui {

class TraceReplayModel : public QAbstractTableModel {
    Q_OBJECT
public:
    enum Column { RankColumn, TokenColumn, IdColumn, RawColumn, FinalColumn, ColumnCount };
    enum Roles { ChosenRole = Qt::UserRole + 1 };
    using QAbstractTableModel::QAbstractTableModel;

    int rowCount(const QModelIndex& parent = {}) const override;
    int columnCount(const QModelIndex& parent = {}) const override;
    QVariant data(const QModelIndex& index, int role = Qt::DisplayRole) const override;
    QVariant headerData(int section, Qt::Orientation orientation, int role = Qt::DisplayRole) const override;

    void setTrace(const Trace& trace); // selects step 0
    const Trace& trace() const { return m_trace; }
    int steps() const { return int(m_trace.steps.size()); }
    int step() const { return m_step; }
    void setStep(int step);            // clamped
    QString textUpTo(int step) const;  // generated text of steps [0, step)
    QString tokenText(int32_t id) const;

private:
    Trace m_trace;
    int m_step = 0;
};

} // namespace logitscope::gui
