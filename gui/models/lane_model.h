// LaneModel: the session's lanes (the root and every branch) for the branch selector.
#pragma once

#include "models/snapshots.h"

#include <QAbstractListModel>
#include <QMap>

namespace logitscope::gui {

class LaneModel : public QAbstractListModel {
    Q_OBJECT
public:
    enum Roles { LaneIdRole = Qt::UserRole + 1, ParentRole, ForkStepRole, FinishedRole };
    using QAbstractListModel::QAbstractListModel;

    int rowCount(const QModelIndex& parent = {}) const override;
    QVariant data(const QModelIndex& index, int role = Qt::DisplayRole) const override;

    void setLanes(const LaneList& lanes);
    // Names the side-by-side lanes as their table does ("Lane A", ...), by engine lane id.
    void setComparisonNames(const QMap<int, QString>& names);
    int rowOfLane(int lane) const;           // -1 when absent
    static QString describe(const logitscope::LaneInfo& lane);

private:
    LaneList m_lanes;
    QMap<int, QString> m_names;
};

} // namespace logitscope::gui
