// Lanes as rows.
#include "models/lane_model.h"

namespace logitscope::gui {

int LaneModel::rowCount(const QModelIndex& parent) const
{
    return parent.isValid() ? 0 : int(m_lanes.size());
}

QString LaneModel::describe(const logitscope::LaneInfo& l)
{
    QString s;
    switch (l.kind) {
    case logitscope::LaneKind::Root:
        s = tr("Main path");
        break;
    case logitscope::LaneKind::Branch:
        s = tr("Branch %1 (from path %2 at token %3)").arg(l.id).arg(l.parent).arg(l.forkStep + 1);
        break;
    case logitscope::LaneKind::Lane:
        s = tr("Lane %1 (copy of %2)").arg(l.id).arg(l.parent);
        break;
    }
    if (l.finished)
        s += tr(" — finished");
    return s;
}

QVariant LaneModel::data(const QModelIndex& index, int role) const
{
    if (!checkIndex(index, CheckIndexOption::IndexIsValid | CheckIndexOption::ParentIsInvalid))
        return {};
    const auto& l = m_lanes[size_t(index.row())];
    switch (role) {
    case Qt::DisplayRole:
        if (m_names.contains(l.id)) // one naming with the Side-by-side lanes table
            return tr("%1 (side-by-side lane %2)%3")
                .arg(m_names.value(l.id))
                .arg(l.id)
                .arg(l.finished ? tr(" — finished") : QString());
        return describe(l);
    case Qt::ToolTipRole:
        return tr("Each branch keeps its own continuation; pick one to return to it.");
    case LaneIdRole:
        return l.id;
    case ParentRole:
        return l.parent;
    case ForkStepRole:
        return l.forkStep;
    case FinishedRole:
        return l.finished;
    default:
        return {};
    }
}

void LaneModel::setLanes(const LaneList& lanes)
{
    beginResetModel();
    m_lanes = lanes;
    endResetModel();
}

void LaneModel::setComparisonNames(const QMap<int, QString>& names)
{
    beginResetModel();
    m_names = names;
    endResetModel();
}

int LaneModel::rowOfLane(int lane) const
{
    for (size_t i = 0; i < m_lanes.size(); ++i)
        if (m_lanes[i].id == lane)
            return int(i);
    return -1;
}

} // namespace logitscope::gui
