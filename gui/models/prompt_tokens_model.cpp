// Prompt tokens as rows.
#include "models/prompt_tokens_model.h"

#include "models/token_display.h"
#include "models/token_roles.h"

#include "tokenizer/tokenizer.h"

#include <QColor>

#include <cmath>

namespace logitscope::gui {

QList<PromptToken> promptTokensFor(const logitscope::Tokenizer& tok, const std::vector<int32_t>& ids)
{
    QList<PromptToken> out;
    out.reserve(qsizetype(ids.size()));
    for (int32_t id : ids) {
        PromptToken t;
        t.id = id;
        const std::string b = tok.tokenBytes(id);
        t.bytes = QByteArray(b.data(), qsizetype(b.size()));
        t.piece = QString::fromStdString(tok.piece(id));
        t.special = tok.isSpecial(id);
        out.append(t);
    }
    return out;
}

int PromptTokensModel::rowCount(const QModelIndex& parent) const
{
    return parent.isValid() ? 0 : int(m_tokens.size());
}

QVariant PromptTokensModel::data(const QModelIndex& index, int role) const
{
    if (!checkIndex(index, CheckIndexOption::IndexIsValid | CheckIndexOption::ParentIsInvalid))
        return {};
    const PromptToken& t = m_tokens[index.row()];
    switch (role) {
    case Qt::DisplayRole:
        return t.bytes.isEmpty() ? t.piece : tokenLabel(t.bytes);
    case Qt::ToolTipRole: {
        QString tip = tokenTooltip(t.id, t.bytes, t.piece);
        if (!m_scoresShown)
            return tip;
        const logitscope::PromptTokenScore& s = m_scores[size_t(index.row())];
        if (!s.scored())
            return tip + tr("<br>The first token: nothing comes before it to predict it from.");
        tip += tr("<br>given the text before it: <b>p = %1</b> (log p = %2), rank %3 of %4")
                   .arg(probabilityText(std::exp(double(s.logprob))))
                   .arg(double(s.logprob), 0, 'f', 2)
                   .arg(s.rank + 1)
                   .arg(m_vocabulary.size());
        if (s.rank == 0)
            return tip + tr("<br>the model's first choice here");
        const QByteArray expected = m_vocabulary.bytes(s.expected);
        return tip + tr("<br>the model expected <tt>%1</tt> (p = %2)")
                         .arg((expected.isEmpty() ? m_vocabulary.piece(s.expected) : tokenLabel(expected)).toHtmlEscaped())
                         .arg(probabilityText(std::exp(double(s.expectedLogprob))));
    }
    case Qt::BackgroundRole:
        return background(index.row());
    case Qt::ForegroundRole:
        return textColorOn(background(index.row()));
    case TokenIdRole:
        return t.id;
    case TokenBytesRole:
        return t.bytes;
    case TokenPieceRole:
        return t.piece;
    case PartialCharacterRole:
        return !t.bytes.isEmpty() && !isCompleteUtf8(t.bytes);
    default:
        return {};
    }
}

QColor PromptTokensModel::background(int row) const
{
    const PromptToken& t = m_tokens[row];
    if (t.special || t.bytes.isEmpty())
        return QColor(0xdd, 0xdd, 0xdd); // control tokens (BOS, chat markers)
    if (m_probabilityColours && m_scoresShown) {
        const logitscope::PromptTokenScore& s = m_scores[size_t(row)];
        return s.scored() ? probabilityColor(std::exp(double(s.logprob))) : QColor(0xee, 0xee, 0xee);
    }
    // Neighbouring tokens get different pastel hues so the boundaries are easy to see.
    static const QColor hues[] = {QColor(0xcf, 0xe8, 0xfc), QColor(0xfd, 0xe2, 0xc4), QColor(0xd4, 0xf2, 0xd2),
                                  QColor(0xf6, 0xd5, 0xf0), QColor(0xfb, 0xf3, 0xc0)};
    return hues[row % 5];
}

void PromptTokensModel::setTokens(const QList<PromptToken>& tokens)
{
    beginResetModel();
    m_tokens = tokens;
    updateScoresShown();
    endResetModel();
}

void PromptTokensModel::clear()
{
    setTokens({});
}

void PromptTokensModel::setScores(const std::vector<int32_t>& ids, std::vector<logitscope::PromptTokenScore> scores,
                                  const Vocabulary& vocab)
{
    beginResetModel();
    m_scoredIds = scores.size() == ids.size() ? ids : std::vector<int32_t>();
    m_scores = m_scoredIds.empty() ? std::vector<logitscope::PromptTokenScore>() : std::move(scores);
    m_vocabulary = vocab;
    updateScoresShown();
    endResetModel();
}

void PromptTokensModel::clearScores()
{
    setScores({}, {}, {});
}

QString PromptTokensModel::scoreSummary() const
{
    if (!m_scoresShown)
        return {};
    int scored = 0, least = -1;
    for (size_t t = 0; t < m_scores.size(); ++t)
        if (m_scores[t].scored()) {
            ++scored;
            if (least < 0 || m_scores[t].logprob < m_scores[size_t(least)].logprob)
                least = int(t);
        }
    if (scored == 0)
        return tr("One token: nothing before it to predict it from, so the prefill scored nothing.");
    const double ppl = logitscope::promptPerplexity(m_scores);
    return tr("Prefill scored %1 in one pass · perplexity %2 (mean log p %3) · least expected: %4 (p = %5)")
        .arg(scored == 1 ? tr("1 token") : tr("%1 tokens").arg(scored))
        .arg(ppl, 0, 'f', ppl < 100 ? 2 : 1)
        .arg(-std::log(ppl), 0, 'f', 2)
        .arg(tokenLabel(m_tokens[least].bytes.isEmpty() ? m_tokens[least].piece.toUtf8() : m_tokens[least].bytes))
        .arg(probabilityText(std::exp(double(m_scores[size_t(least)].logprob))));
}

void PromptTokensModel::setProbabilityColours(bool on)
{
    if (on == m_probabilityColours)
        return;
    beginResetModel();
    m_probabilityColours = on;
    endResetModel();
}

void PromptTokensModel::updateScoresShown()
{
    bool shown = !m_scores.empty() && m_scoredIds.size() == size_t(m_tokens.size());
    for (qsizetype i = 0; shown && i < m_tokens.size(); ++i)
        shown = m_tokens[i].id == m_scoredIds[size_t(i)];
    if (shown == m_scoresShown)
        return;
    m_scoresShown = shown;
    emit scoresShownChanged(shown);
}

} // namespace logitscope::gui
