// CandidateModel: the candidates of the step on display (a table: token, id, raw and final
// probability, what happened to it in the chain). The alternatives list for branching uses it.
#pragma once

#include "models/distribution.h"

#include <QAbstractTableModel>

namespace logitscope::gui {

class CandidateModel : public QAbstractTableModel {
    Q_OBJECT
public:
    enum Column { TokenColumn, IdColumn, RawColumn, FinalColumn, FateColumn, ColumnCount };
    enum Roles { CandidateIdRole = Qt::UserRole + 1, ChosenRole };
    using QAbstractTableModel::QAbstractTableModel;

    int rowCount(const QModelIndex& parent = {}) const override;
    int columnCount(const QModelIndex& parent = {}) const override;
    QVariant data(const QModelIndex& index, int role = Qt::DisplayRole) const override;
    QVariant headerData(int section, Qt::Orientation orientation, int role = Qt::DisplayRole) const override;

    void setDistribution(const Distribution& distribution);
    const Distribution& distribution() const { return m_distribution; }

private:
    Distribution m_distribution;
};

} // namespace logitscope::gui
