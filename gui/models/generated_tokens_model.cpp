// Generated tokens as rows.
#include "models/generated_tokens_model.h"

#include "models/token_display.h"
#include "models/token_roles.h"

#include <cmath>

namespace logitscope::gui {

int GeneratedTokensModel::rowCount(const QModelIndex& parent) const
{
    return parent.isValid() ? 0 : int(m_records.size());
}

QVariant GeneratedTokensModel::data(const QModelIndex& index, int role) const
{
    if (!checkIndex(index, CheckIndexOption::IndexIsValid | CheckIndexOption::ParentIsInvalid))
        return {};
    const auto& r = m_records[size_t(index.row())];
    const QByteArray bytes(r.bytes.data(), qsizetype(r.bytes.size()));
    switch (role) {
    case Qt::DisplayRole:
        return bytes.isEmpty() ? m_vocabulary.piece(r.chosen) : tokenLabel(bytes);
    case Qt::ToolTipRole: {
        QString tip = tokenTooltip(r.chosen, bytes, m_vocabulary.piece(r.chosen));
        tip += QStringLiteral("<br>step %1 · position %2").arg(r.step).arg(r.position);
        tip += QStringLiteral("<br>probability after sampling: <b>%1%</b> · raw: %2%")
                   .arg(100.0 * r.chosenProb, 0, 'f', 1)
                   .arg(100.0 * std::exp(double(r.chosenLogprob)), 0, 'f', 1);
        if (r.forced)
            tip += QStringLiteral("<br><i>chosen by you (branch)</i>");
        tip += QStringLiteral("<br>Click to see this step's distribution and branch from it.");
        return tip;
    }
    case Qt::BackgroundRole:
        return probabilityColor(r.chosenProb);
    case Qt::ForegroundRole:
        return textColorOn(probabilityColor(r.chosenProb));
    case TokenIdRole:
        return r.chosen;
    case TokenBytesRole:
        return bytes;
    case TokenPieceRole:
        return m_vocabulary.piece(r.chosen);
    case ProbabilityRole:
        return double(r.chosenProb);
    case RawProbabilityRole:
        return std::exp(double(r.chosenLogprob));
    case StepRole:
        return r.step;
    case ForcedRole:
        return r.forced;
    case PartialCharacterRole:
        return !bytes.isEmpty() && !isCompleteUtf8(bytes);
    default:
        return {};
    }
}

void GeneratedTokensModel::append(const logitscope::StepRecord& record)
{
    const int row = int(m_records.size());
    beginInsertRows({}, row, row);
    m_records.push_back(record);
    endInsertRows();
}

void GeneratedTokensModel::truncate(int length)
{
    const int n = int(m_records.size());
    if (length >= n)
        return;
    length = std::max(0, length);
    beginRemoveRows({}, length, n - 1);
    m_records.resize(size_t(length));
    endRemoveRows();
}

void GeneratedTokensModel::setHistory(const StepList& history)
{
    beginResetModel();
    m_records = history;
    endResetModel();
}

void GeneratedTokensModel::clear()
{
    setHistory({});
}

QString GeneratedTokensModel::text() const
{
    std::string s;
    for (const auto& r : m_records)
        s += r.text;
    return QString::fromUtf8(s.data(), qsizetype(s.size()));
}

} // namespace logitscope::gui

namespace logitscope::gui {

QString GeneratedTokensModel::describeFinish(const logitscope::StepRecord& last, int generated)
{
    switch (last.finish) {
    case logitscope::FinishReason::None:
        return {};
    case logitscope::FinishReason::Length:
        return tr("Finished: max length — %n new token(s), the Max new tokens setting.", nullptr, generated);
    case logitscope::FinishReason::Stop:
        return tr("Finished: stop sequence \"%1\" appeared in the text.")
            .arg(QString::fromStdString(last.stopString).replace(QLatin1Char('\n'), QStringLiteral("\\n")));
    case logitscope::FinishReason::Eos:
        return tr("Finished: the model chose its end-of-text token (EOS).");
    case logitscope::FinishReason::Context:
        return tr("Finished: the context window is full.");
    }
    return {};
}

QString GeneratedTokensModel::finishText() const
{
    if (m_records.empty())
        return {};
    return describeFinish(m_records.back(), int(m_records.size()));
}

} // namespace logitscope::gui
