// Candidates of one step as a table.
#include "models/candidate_model.h"

#include "models/token_display.h"

#include <QBrush>
#include <QFont>

namespace logitscope::gui {

int CandidateModel::rowCount(const QModelIndex& parent) const
{
    return parent.isValid() ? 0 : int(m_distribution.bars.size());
}

int CandidateModel::columnCount(const QModelIndex& parent) const
{
    return parent.isValid() ? 0 : ColumnCount;
}

QVariant CandidateModel::data(const QModelIndex& index, int role) const
{
    if (!checkIndex(index, CheckIndexOption::IndexIsValid | CheckIndexOption::ParentIsInvalid))
        return {};
    const BarCandidate& c = m_distribution.bars[index.row()];
    switch (role) {
    case Qt::DisplayRole:
        switch (index.column()) {
        case TokenColumn:
            return c.label;
        case IdColumn:
            return c.id;
        case RawColumn:
            return QString::number(100.0 * c.rawProb, 'f', 2) + QLatin1Char('%');
        case FinalColumn:
            return c.finalKnown ? QString::number(100.0 * c.finalProb, 'f', 2) + QLatin1Char('%') : QStringLiteral("< shown");
        case FateColumn:
            if (!c.removedBy.isEmpty())
                return tr("removed by %1").arg(c.removedBy);
            return c.penalised ? tr("kept, penalised") : tr("kept");
        }
        return {};
    case Qt::ToolTipRole:
        return tokenTooltip(c.id, c.bytes, {}) + tr("<br>Double-click to branch: continue with this token instead.");
    case Qt::FontRole:
        if (c.chosen) {
            QFont f;
            f.setBold(true);
            return f;
        }
        return {};
    case Qt::ForegroundRole:
        return c.removedBy.isEmpty() ? QVariant() : QVariant(QBrush(QColor(150, 150, 150)));
    case Qt::TextAlignmentRole:
        return index.column() == TokenColumn || index.column() == FateColumn ? int(Qt::AlignLeft | Qt::AlignVCenter)
                                                                             : int(Qt::AlignRight | Qt::AlignVCenter);
    case CandidateIdRole:
        return c.id;
    case ChosenRole:
        return c.chosen;
    default:
        return {};
    }
}

QVariant CandidateModel::headerData(int section, Qt::Orientation orientation, int role) const
{
    if (orientation != Qt::Horizontal || role != Qt::DisplayRole || section < 0 || section >= ColumnCount)
        return QAbstractTableModel::headerData(section, orientation, role);
    static const char* names[] = {QT_TR_NOOP("Token"), QT_TR_NOOP("Id"), QT_TR_NOOP("Raw"), QT_TR_NOOP("After chain"),
                                  QT_TR_NOOP("Fate")};
    return tr(names[section]);
}

void CandidateModel::setDistribution(const Distribution& distribution)
{
    // Same number of rows: only data changes (cheap while a slider moves); else a reset.
    if (distribution.bars.size() == m_distribution.bars.size() && !m_distribution.bars.isEmpty()) {
        m_distribution = distribution;
        emit dataChanged(index(0, 0), index(rowCount() - 1, ColumnCount - 1));
        return;
    }
    beginResetModel();
    m_distribution = distribution;
    endResetModel();
}

} // namespace logitscope::gui
