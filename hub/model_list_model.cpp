// The model browser's table.
#include "model_list_model.h"

#include "size_text.h"

namespace logitscope::hub {

ModelListModel::ModelListModel(QObject* parent) : QAbstractTableModel(parent) {}

void ModelListModel::setModels(const QList<DiscoveredModel>& models)
{
    beginResetModel();
    m_models = models;
    endResetModel();
}

const DiscoveredModel* ModelListModel::modelAt(int row) const
{
    return row >= 0 && row < m_models.size() ? &m_models[row] : nullptr;
}

int ModelListModel::rowCount(const QModelIndex& parent) const
{
    return parent.isValid() ? 0 : int(m_models.size());
}

int ModelListModel::columnCount(const QModelIndex& parent) const
{
    return parent.isValid() ? 0 : ColumnCount;
}

QVariant ModelListModel::data(const QModelIndex& index, int role) const
{
    if (!checkIndex(index, CheckIndexOption::IndexIsValid | CheckIndexOption::ParentIsInvalid))
        return {};
    const DiscoveredModel& m = m_models[index.row()];
    if (role == PathRole)
        return m.path;
    if (role == ProblemRole)
        return m.problem;
    if (role == Qt::ToolTipRole) {
        QString tip = m.path;
        if (m.layers > 0)
            tip += QString("\n%1 layers, %2 KV heads x %3 head_dim, context %4; KV cache %5 per token (fp32)")
                       .arg(m.layers).arg(m.kvHeads).arg(m.headDim).arg(m.contextLength).arg(sizeText(m.kvBytesPerToken));
        if (m.neededBytes > 0)
            tip += "\nneeds about " + sizeText(m.neededBytes) + " (weights + KV cache for 4096 tokens)";
        if (!m.problem.isEmpty())
            tip += "\nCannot be opened: " + m.problem;
        return tip;
    }
    if (role != Qt::DisplayRole && role != SortRole)
        return {};
    const bool sort = role == SortRole;
    switch (index.column()) {
    case Name: return m.name;
    case Source: return QString::fromLatin1(modelSourceName(m.source));
    case Architecture: return m.architecture.isEmpty() ? QString("?") : m.architecture;
    case Quantisation: return m.quantisation;
    case Size: return sort ? QVariant(m.weightBytes) : QVariant(sizeText(m.weightBytes));
    case Memory:
        if (sort)
            return m.neededBytes;
        if (!m.problem.isEmpty())
            return QString("cannot open");
        return m.fit == MemoryFit::Unknown ? QString("?")
                                           : QString(memoryFitName(m.fit)) + " (" + sizeText(m.neededBytes) + ")";
    case Path: return m.path;
    default: return {};
    }
}

QVariant ModelListModel::headerData(int section, Qt::Orientation orientation, int role) const
{
    if (orientation != Qt::Horizontal || role != Qt::DisplayRole)
        return {};
    static const char* names[] = {"Name", "Source", "Architecture", "Weights", "Size", "Memory", "Path"};
    return section >= 0 && section < ColumnCount ? QString(names[section]) : QVariant();
}

} // namespace logitscope::hub
