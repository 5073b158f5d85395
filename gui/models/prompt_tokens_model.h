// PromptTokensModel: the prompt as the tokenizer split it, one row per token, for the chip view and
// the token count. Filled from PromptTokens results; it never tokenizes anything itself.
#pragma once

#include "models/snapshots.h"

#include <QAbstractListModel>

namespace logitscope::gui {

class PromptTokensModel : public QAbstractListModel {
    Q_OBJECT
public:
    using QAbstractListModel::QAbstractListModel;

    int rowCount(const QModelIndex& parent = {}) const override;
    QVariant data(const QModelIndex& index, int role = Qt::DisplayRole) const override;

    void setTokens(const QList<PromptToken>& tokens);
    void clear();
    const QList<PromptToken>& tokens() const { return m_tokens; }

private:
    QList<PromptToken> m_tokens;
};

} // namespace logitscope::gui
