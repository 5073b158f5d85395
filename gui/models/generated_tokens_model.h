// GeneratedTokensModel: the current lane's generated tokens, one row per step, each keeping a copy
// of its StepRecord so a click can show that step's distribution without asking the engine.
#pragma once

#include "models/snapshots.h"
#include "models/vocabulary.h"

#include <QAbstractListModel>

namespace logitscope::gui {

class GeneratedTokensModel : public QAbstractListModel {
    Q_OBJECT
public:
    using QAbstractListModel::QAbstractListModel;

    int rowCount(const QModelIndex& parent = {}) const override;
    QVariant data(const QModelIndex& index, int role = Qt::DisplayRole) const override;

    void setVocabulary(const Vocabulary& vocabulary) { m_vocabulary = vocabulary; }
    void append(const logitscope::StepRecord& record);
    void truncate(int length);
    void setHistory(const StepList& history);
    void clear();

    const logitscope::StepRecord& record(int row) const { return m_records[size_t(row)]; }
    const StepList& records() const { return m_records; }
    QString text() const; // the detokenized output so far
    // Which rule ended the lane ("Finished: max length — 64 new tokens", "... stop sequence \"\\n\\n\"",
    // "... end-of-text token"), plain text; empty while the lane can go on.
    QString finishText() const;
    static QString describeFinish(const logitscope::StepRecord& last, int generated);

private:
    Vocabulary m_vocabulary;
    StepList m_records;
};

} // namespace logitscope::gui
