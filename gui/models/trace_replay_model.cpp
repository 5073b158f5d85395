// Replaying a trace.
#include "models/trace_replay_model.h"

#include "models/token_display.h"

#include <QColor>

#include <cmath>

namespace logitscope::gui {

int TraceReplayModel::rowCount(const QModelIndex& parent) const
{
    if (parent.isValid() || m_trace.steps.empty())
        return 0;
    return int(m_trace.steps[size_t(m_step)].rawTop.size());
}

int TraceReplayModel::columnCount(const QModelIndex& parent) const
{
    return parent.isValid() ? 0 : ColumnCount;
}

QString TraceReplayModel::tokenText(int32_t id) const
{
    const QByteArray b = m_trace.tokenBytes(id);
    return b.isEmpty() ? QStringLiteral("#%1").arg(id) : tokenLabel(b);
}

QVariant TraceReplayModel::data(const QModelIndex& index, int role) const
{
    if (!checkIndex(index, CheckIndexOption::IndexIsValid | CheckIndexOption::ParentIsInvalid))
        return {};
    const auto& rec = m_trace.steps[size_t(m_step)];
    const auto& c = rec.rawTop[size_t(index.row())];
    const bool chosen = c.id == rec.chosen;
    if (role == ChosenRole)
        return chosen;
    if (role == Qt::BackgroundRole)
        return chosen ? QVariant(QColor(255, 225, 150)) : QVariant();
    if (role != Qt::DisplayRole)
        return {};
    switch (index.column()) {
    case RankColumn:
        return index.row() + 1;
    case TokenColumn:
        return tokenText(c.id);
    case IdColumn:
        return c.id;
    case RawColumn:
        return QString::number(std::exp(double(c.logprob)), 'f', 4);
    case FinalColumn: {
        if (rec.sample.stages.empty())
            return {};
        for (const auto& cand : rec.sample.stages.back().top)
            if (cand.id == c.id)
                return QString::number(cand.prob, 'f', 4);
        return QStringLiteral("0 / not recorded");
    }
    default:
        return {};
    }
}

QVariant TraceReplayModel::headerData(int section, Qt::Orientation orientation, int role) const
{
    if (orientation != Qt::Horizontal || role != Qt::DisplayRole)
        return {};
    switch (section) {
    case RankColumn:
        return tr("Rank");
    case TokenColumn:
        return tr("Token");
    case IdColumn:
        return tr("Id");
    case RawColumn:
        return tr("Raw p");
    case FinalColumn:
        return tr("p after sampling");
    default:
        return {};
    }
}

void TraceReplayModel::setTrace(const Trace& trace)
{
    beginResetModel();
    m_trace = trace;
    m_step = 0;
    endResetModel();
}

void TraceReplayModel::setStep(int step)
{
    step = std::clamp(step, 0, std::max(0, steps() - 1));
    if (step == m_step)
        return;
    beginResetModel();
    m_step = step;
    endResetModel();
}

QString TraceReplayModel::textUpTo(int step) const
{
    QByteArray bytes;
    for (int i = 0; i < step && i < steps(); ++i)
        bytes += QByteArray::fromStdString(m_trace.steps[size_t(i)].bytes);
    return QString::fromUtf8(bytes);
}

} // namespace logitscope::gui
