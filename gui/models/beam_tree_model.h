// BeamTreeModel: a BeamSnapshot as a Qt tree (root = the prompt, children = the candidates each node
// proposed), revealed step by step like sampling: only nodes with step <= visibleStep() are rows.
// The tree panel draws from it; tests and the accessibility tree read it. No widgets, no engine calls.
#pragma once

#include "models/beam_snapshot.h"

#include <QAbstractItemModel>

#include <vector>

namespace logitscope::gui {

class BeamTreeModel : public QAbstractItemModel {
    Q_OBJECT
public:
    enum Column { TokenColumn, StepColumn, LogprobColumn, CumulativeColumn, ScoreColumn, FateColumn, ColumnCount };
    enum Role {
        NodeRole = Qt::UserRole + 60, // int, index in tree.nodes
        FateRole,                     // int, logitscope::BeamFate
        WinnerPathRole,               // bool, on the best hypothesis's chain (once fully revealed)
    };

    explicit BeamTreeModel(QObject* parent = nullptr);

    void setSnapshot(const BeamSnapshot& snapshot); // reveals the whole tree
    void clear();
    const BeamSnapshot& snapshot() const { return m_snapshot; }

    // Steps run (0 when empty); visible steps are 0 .. visibleStep().
    int steps() const { return m_snapshot.tree.steps; }
    int visibleStep() const { return m_step; }
    void setVisibleStep(int step);
    bool fullyRevealed() const { return m_step >= steps() - 1; }

    bool isVisible(int node) const;
    bool onWinnerPath(int node) const; // false until the tree is fully revealed
    const std::vector<int>& visibleChildren(int node) const { return m_children[size_t(node)]; }
    int visibleCount() const;
    QString label(int node) const;     // the token as a short label ("·Paris"), "prompt" for the root
    QString text(const std::vector<int>& chain) const; // the nodes' tokens as text, real spaces (root skipped)
    QModelIndex indexForNode(int node, int column = 0) const;

    QModelIndex index(int row, int column, const QModelIndex& parent = {}) const override;
    QModelIndex parent(const QModelIndex& child) const override;
    int rowCount(const QModelIndex& parent = {}) const override;
    int columnCount(const QModelIndex& parent = {}) const override;
    QVariant data(const QModelIndex& index, int role = Qt::DisplayRole) const override;
    QVariant headerData(int section, Qt::Orientation orientation, int role = Qt::DisplayRole) const override;

signals:
    void visibleStepChanged(int step);

private:
    void rebuild();

    BeamSnapshot m_snapshot;
    int m_step = -1;
    std::vector<std::vector<int>> m_children; // (nodes) visible children, best rank first
    std::vector<int> m_row;                   // (nodes) row among the parent's visible children
    std::vector<char> m_winner;               // (nodes) on the winner's chain
};

} // namespace logitscope::gui
