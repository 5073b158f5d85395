// The beam search tree as an item model.
#include "models/beam_tree_model.h"

#include "models/token_display.h"
#include "models/token_roles.h"

#include <QFont>

#include <algorithm>
#include <cmath>

namespace logitscope::gui {

BeamTreeModel::BeamTreeModel(QObject* parent) : QAbstractItemModel(parent) {}

void BeamTreeModel::setSnapshot(const BeamSnapshot& snapshot)
{
    beginResetModel();
    m_snapshot = snapshot;
    m_step = std::max(0, snapshot.tree.steps - 1);
    m_winner.assign(m_snapshot.tree.nodes.size(), 0);
    for (int n : m_snapshot.chain(m_snapshot.winner()))
        m_winner[size_t(n)] = 1;
    rebuild();
    endResetModel();
    emit visibleStepChanged(m_step);
}

void BeamTreeModel::clear()
{
    setSnapshot({});
}

void BeamTreeModel::setVisibleStep(int step)
{
    step = std::clamp(step, 0, std::max(0, steps() - 1));
    if (step == m_step)
        return;
    beginResetModel();
    m_step = step;
    rebuild();
    endResetModel();
    emit visibleStepChanged(m_step);
}

void BeamTreeModel::rebuild()
{
    const auto& nodes = m_snapshot.tree.nodes;
    m_children.assign(nodes.size(), {});
    m_row.assign(nodes.size(), 0);
    for (size_t i = 1; i < nodes.size(); ++i)
        if (isVisible(int(i)) && nodes[i].parent >= 0)
            m_children[size_t(nodes[i].parent)].push_back(int(i));
    for (auto& kids : m_children) {
        std::stable_sort(kids.begin(), kids.end(), [&](int a, int b) { return nodes[size_t(a)].rank < nodes[size_t(b)].rank; });
        for (size_t r = 0; r < kids.size(); ++r)
            m_row[size_t(kids[r])] = int(r);
    }
}

bool BeamTreeModel::isVisible(int node) const
{
    if (node < 0 || node >= int(m_snapshot.tree.nodes.size()))
        return false;
    return node == 0 || m_snapshot.tree.nodes[size_t(node)].step <= m_step;
}

bool BeamTreeModel::onWinnerPath(int node) const
{
    return fullyRevealed() && node >= 0 && node < int(m_winner.size()) && m_winner[size_t(node)];
}

int BeamTreeModel::visibleCount() const
{
    int n = 0;
    for (int i = 0; i < int(m_snapshot.tree.nodes.size()); ++i)
        n += isVisible(i) ? 1 : 0;
    return n;
}

QString BeamTreeModel::text(const std::vector<int>& chain) const
{
    QByteArray bytes;
    for (int n : chain)
        if (n != 0)
            bytes += m_snapshot.tokenBytes.value(n).isEmpty() ? m_snapshot.pieces.value(n).toUtf8() : m_snapshot.tokenBytes.value(n);
    return QString::fromUtf8(bytes);
}

QString BeamTreeModel::label(int node) const
{
    if (node == 0)
        return tr("prompt");
    const QByteArray bytes = m_snapshot.tokenBytes.value(node);
    if (bytes.isEmpty())
        return m_snapshot.pieces.value(node);
    return tokenLabel(bytes);
}

QModelIndex BeamTreeModel::indexForNode(int node, int column) const
{
    if (!isVisible(node))
        return {};
    return createIndex(node == 0 ? 0 : m_row[size_t(node)], column, quintptr(node));
}

QModelIndex BeamTreeModel::index(int row, int column, const QModelIndex& parent) const
{
    if (row < 0 || column < 0 || column >= ColumnCount || m_snapshot.tree.nodes.empty())
        return {};
    if (!parent.isValid())
        return row == 0 ? createIndex(0, column, quintptr(0)) : QModelIndex();
    const auto& kids = m_children[size_t(parent.internalId())];
    if (row >= int(kids.size()))
        return {};
    return createIndex(row, column, quintptr(kids[size_t(row)]));
}

QModelIndex BeamTreeModel::parent(const QModelIndex& child) const
{
    if (!child.isValid() || child.internalId() == 0)
        return {};
    const int p = m_snapshot.tree.nodes[size_t(child.internalId())].parent;
    return indexForNode(p, 0);
}

int BeamTreeModel::rowCount(const QModelIndex& parent) const
{
    if (m_snapshot.tree.nodes.empty())
        return 0;
    if (!parent.isValid())
        return 1;
    if (parent.column() != 0)
        return 0;
    return int(m_children[size_t(parent.internalId())].size());
}

int BeamTreeModel::columnCount(const QModelIndex&) const
{
    return ColumnCount;
}

namespace {

QString fateText(const BeamNode& n)
{
    if (n.parent < 0)
        return QObject::tr("root");
    switch (n.fate) {
    case BeamFate::Kept:
        return QObject::tr("kept");
    case BeamFate::Pruned:
        return QObject::tr("pruned");
    case BeamFate::Finished:
        return n.resultRank >= 0 ? QObject::tr("finished (#%1)").arg(n.resultRank + 1) : QObject::tr("finished");
    }
    return {};
}

} // namespace

QVariant BeamTreeModel::data(const QModelIndex& index, int role) const
{
    if (!index.isValid())
        return {};
    const int node = int(index.internalId());
    const BeamNode& n = m_snapshot.tree.nodes[size_t(node)];
    switch (role) {
    case Qt::DisplayRole:
        switch (index.column()) {
        case TokenColumn:
            return label(node);
        case StepColumn:
            return n.step;
        case LogprobColumn:
            return node == 0 ? QVariant() : QVariant(QString::number(n.logprob, 'f', 3));
        case CumulativeColumn:
            return node == 0 ? QVariant() : QVariant(QString::number(n.cumulative, 'f', 3));
        case ScoreColumn:
            return n.fate == BeamFate::Finished && node != 0 ? QVariant(QString::number(n.score, 'f', 4)) : QVariant();
        case FateColumn:
            return fateText(n);
        }
        return {};
    case Qt::FontRole:
        if (node != 0 && (n.fate == BeamFate::Kept || onWinnerPath(node))) {
            QFont f;
            f.setBold(true);
            return f;
        }
        return {};
    case NodeRole:
        return node;
    case FateRole:
        return int(n.fate);
    case WinnerPathRole:
        return onWinnerPath(node);
    case TokenIdRole:
        return n.token;
    case Qt::ToolTipRole:
        if (node == 0)
            return tr("The prompt: every beam starts here.");
        return tr("step %1, rank %2 · log p %3 · cumulative %4%5")
            .arg(n.step)
            .arg(n.rank)
            .arg(n.logprob, 0, 'f', 3)
            .arg(n.cumulative, 0, 'f', 3)
            .arg(n.fate == BeamFate::Finished ? tr(" · score %1 (cumulative / length^%2)").arg(n.score, 0, 'f', 4).arg(m_snapshot.lengthPenalty)
                                              : QString());
    }
    return {};
}

QVariant BeamTreeModel::headerData(int section, Qt::Orientation orientation, int role) const
{
    if (orientation != Qt::Horizontal || role != Qt::DisplayRole)
        return {};
    switch (section) {
    case TokenColumn:
        return tr("Token");
    case StepColumn:
        return tr("Step");
    case LogprobColumn:
        return tr("log p");
    case CumulativeColumn:
        return tr("Cumulative");
    case ScoreColumn:
        return tr("Score");
    case FateColumn:
        return tr("Fate");
    }
    return {};
}

} // namespace logitscope::gui
