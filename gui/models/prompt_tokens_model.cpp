// Prompt tokens as rows.
#include "models/prompt_tokens_model.h"

#include "models/token_display.h"
#include "models/token_roles.h"

#include "tokenizer/tokenizer.h"

#include <QColor>

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
    case Qt::ToolTipRole:
        return tokenTooltip(t.id, t.bytes, t.piece);
    case Qt::BackgroundRole: {
        // Neighbouring tokens get different pastel hues so the boundaries are easy to see.
        static const QColor hues[] = {QColor(0xcf, 0xe8, 0xfc), QColor(0xfd, 0xe2, 0xc4), QColor(0xd4, 0xf2, 0xd2),
                                      QColor(0xf6, 0xd5, 0xf0), QColor(0xfb, 0xf3, 0xc0)};
        if (t.special || t.bytes.isEmpty())
            return QColor(0xdd, 0xdd, 0xdd); // control tokens (BOS, chat markers)
        return hues[index.row() % 5];
    }
    case Qt::ForegroundRole:
        return QColor(20, 20, 20);
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

void PromptTokensModel::setTokens(const QList<PromptToken>& tokens)
{
    beginResetModel();
    m_tokens = tokens;
    endResetModel();
}

void PromptTokensModel::clear()
{
    setTokens({});
}

} // namespace logitscope::gui
