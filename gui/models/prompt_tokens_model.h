// PromptTokensModel: the prompt as the tokenizer split it, one row per token, for the chip view and
// the token count. Filled from PromptTokens results; it never tokenizes anything itself. After a prefill
// it also holds how the model rated each token (PrefillRecord::promptScores), shown while the chips are
// the tokens that were scored: in the tooltips, and as the chips' colour when asked.
#pragma once

#include "models/snapshots.h"
#include "models/vocabulary.h"

#include "decoding/prompt_scores.h"

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

    // The scores of a prefill of `ids`; `vocab` names the model's own first choices in the tooltips.
    void setScores(const std::vector<int32_t>& ids, std::vector<logitscope::PromptTokenScore> scores,
                   const Vocabulary& vocab);
    void clearScores();
    // True while the chips are the tokens the scores are of (an edit hides them; undoing it shows them again).
    bool scoresShown() const { return m_scoresShown; }
    const std::vector<logitscope::PromptTokenScore>& scores() const { return m_scores; }
    // One line on the scores shown: how many tokens one pass scored, the perplexity, the least expected
    // token. Empty while none are shown.
    QString scoreSummary() const;
    // Chips coloured by the probability the model gave each token (scored ones), else by position.
    void setProbabilityColours(bool on);
    bool probabilityColours() const { return m_probabilityColours; }

signals:
    void scoresShownChanged(bool shown);

private:
    void updateScoresShown();
    QColor background(int row) const;

    QList<PromptToken> m_tokens;
    std::vector<int32_t> m_scoredIds;
    std::vector<logitscope::PromptTokenScore> m_scores;
    Vocabulary m_vocabulary;
    bool m_scoresShown = false;
    bool m_probabilityColours = false;
};

} // namespace logitscope::gui
