// LogitLensModel: one step's logit lens (StepRecord::lens) as a table — rows are layers (0 = first),
// columns that layer's top tokens best first, each cell carrying its probability — plus where the token
// actually chosen stood at every layer (rank and probability) for the line plot. Fed from copied step
// records; it never runs the lens itself (the worker turns SessionOptions::logitLens on).
#pragma once

#include "models/snapshots.h"
#include "models/vocabulary.h"

#include <QAbstractTableModel>

#include <vector>

namespace logitscope::gui {

class LogitLensModel : public QAbstractTableModel {
    Q_OBJECT
public:
    explicit LogitLensModel(QObject* parent = nullptr);

    void setVocabulary(const Vocabulary& vocabulary) { m_vocabulary = vocabulary; }
    // The step to show; a record without a lens (captured while the lens was off) empties the table.
    void setRecord(const logitscope::StepRecord& record);
    void clear();

    bool hasLens() const { return !m_lens.empty(); }
    int step() const { return m_step; }
    int32_t chosen() const { return m_chosen; }
    QString chosenLabel() const;
    int layers() const { return int(m_lens.size()); }
    int32_t topId(int layer, int rank) const;
    double probability(int layer, int rank) const;
    const std::vector<int>& chosenRanks() const { return m_chosenRank; }
    const std::vector<float>& chosenProbabilities() const { return m_chosenProb; }
    // The layer from which on the chosen token stays each layer's top-1; -1 if never (e.g. sampled).
    int settlesAt() const;
    QString tokenText(int32_t id) const;

    int rowCount(const QModelIndex& parent = {}) const override;
    int columnCount(const QModelIndex& parent = {}) const override;
    QVariant data(const QModelIndex& index, int role = Qt::DisplayRole) const override;
    QVariant headerData(int section, Qt::Orientation orientation, int role = Qt::DisplayRole) const override;

private:
    Vocabulary m_vocabulary;
    std::vector<std::vector<logitscope::TokenLogprob>> m_lens; // (L) top-k per layer
    std::vector<int> m_chosenRank;                              // (L)
    std::vector<float> m_chosenProb;                            // (L)
    int m_columns = 0;
    int m_step = -1;
    int32_t m_chosen = -1;
};

} // namespace logitscope::gui
