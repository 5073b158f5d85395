// The logit lens table.
#include "models/logit_lens_model.h"

#include "models/token_display.h"
#include "models/token_roles.h"

#include <QBrush>
#include <QFont>

#include <cmath>

namespace logitscope::gui {

LogitLensModel::LogitLensModel(QObject* parent) : QAbstractTableModel(parent) {}

void LogitLensModel::setRecord(const logitscope::StepRecord& record)
{
    beginResetModel();
    m_lens = record.lens;
    m_chosenRank = record.lensChosenRank;
    m_chosenProb = record.lensChosenProb;
    m_step = record.step;
    m_chosen = record.chosen;
    m_columns = 0;
    for (const auto& layer : m_lens)
        m_columns = std::max(m_columns, int(layer.size()));
    endResetModel();
}

void LogitLensModel::clear()
{
    beginResetModel();
    m_lens.clear();
    m_chosenRank.clear();
    m_chosenProb.clear();
    m_columns = 0;
    m_step = -1;
    m_chosen = -1;
    endResetModel();
}

QString LogitLensModel::tokenText(int32_t id) const
{
    if (!m_vocabulary.isValid())
        return QString::number(id);
    const QByteArray bytes = m_vocabulary.bytes(id);
    return bytes.isEmpty() ? m_vocabulary.piece(id) : tokenLabel(bytes);
}

QString LogitLensModel::chosenLabel() const
{
    return m_chosen < 0 ? QString() : tokenText(m_chosen);
}

int32_t LogitLensModel::topId(int layer, int rank) const
{
    if (layer < 0 || layer >= layers() || rank < 0 || rank >= int(m_lens[size_t(layer)].size()))
        return -1;
    return m_lens[size_t(layer)][size_t(rank)].id;
}

double LogitLensModel::probability(int layer, int rank) const
{
    if (topId(layer, rank) < 0)
        return 0;
    return std::exp(double(m_lens[size_t(layer)][size_t(rank)].logprob));
}

int LogitLensModel::settlesAt() const
{
    int at = -1;
    for (int l = layers() - 1; l >= 0; --l) {
        if (l < int(m_chosenRank.size()) && m_chosenRank[size_t(l)] == 0)
            at = l;
        else
            break;
    }
    return at;
}

int LogitLensModel::rowCount(const QModelIndex& parent) const
{
    return parent.isValid() ? 0 : layers();
}

int LogitLensModel::columnCount(const QModelIndex& parent) const
{
    return parent.isValid() ? 0 : m_columns;
}

QVariant LogitLensModel::data(const QModelIndex& index, int role) const
{
    if (!index.isValid())
        return {};
    const int32_t id = topId(index.row(), index.column());
    if (id < 0)
        return {};
    const double p = probability(index.row(), index.column());
    switch (role) {
    case Qt::DisplayRole:
        return QStringLiteral("%1  %2%").arg(tokenText(id)).arg(p * 100, 0, 'f', p < 0.1 ? 1 : 0);
    case Qt::BackgroundRole:
        return QBrush(probabilityColor(p));
    case Qt::ForegroundRole:
        return QBrush(textColorOn(probabilityColor(p)));
    case Qt::FontRole:
        if (id == m_chosen) {
            QFont f;
            f.setBold(true);
            f.setUnderline(true);
            return f;
        }
        return {};
    case Qt::ToolTipRole:
        return plainToRich(tr("Layer %1 would predict %2 with probability %3%4")
                               .arg(index.row())
                               .arg(tokenText(id))
                               .arg(p, 0, 'f', 4)
                               .arg(id == m_chosen ? tr(" — the token that was chosen") : QString()));
    case TokenIdRole:
        return id;
    case ProbabilityRole:
        return p;
    }
    return {};
}

QVariant LogitLensModel::headerData(int section, Qt::Orientation orientation, int role) const
{
    if (role != Qt::DisplayRole)
        return {};
    if (orientation == Qt::Horizontal)
        return tr("#%1").arg(section + 1);
    if (section == layers() - 1)
        return tr("layer %1 (output)").arg(section);
    return tr("layer %1").arg(section);
}

} // namespace logitscope::gui
