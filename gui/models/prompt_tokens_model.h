// PromptTokensModel: the prompt as the tokenizer split it, one row per token, for the chip view and
// the token count. Filled from PromptTokens results; it never tokenizes anything itself.
#pragma once

#include "models/snapshots.h"

#include <QAbstractListModel>

#include <cstdint>
#include <vector>

namespace logitscope {
class Tokenizer;
}

namespace logitscope::gui {

// The rows for `ids` as `tok` split a text: id, exact bytes, vocabulary piece, special or not. Shared by
// the controller's live tokenization (on a pool thread) and the second tokenizer of the Prompt panel;
// thread-safe like the tokenizer's lookups.
QList<PromptToken> promptTokensFor(const logitscope::Tokenizer& tok, const std::vector<int32_t>& ids);

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
