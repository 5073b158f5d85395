// Per-pass timings and bench-style serving numbers.
#include "models/serving_metrics.h"

namespace logitscope::gui {

ServingNumbers servingNumbers(const QList<ForwardTiming>& passes)
{
    ServingNumbers n;
    double decodeMs = 0;
    for (const ForwardTiming& p : passes) {
        if (p.prefill) {
            n.ttftMs = p.ms;
            n.promptTokens = p.tokens;
            n.prefillTokensPerSecond = p.ms > 0 ? p.tokens * 1000.0 / p.ms : 0;
        } else {
            decodeMs += p.ms;
            ++n.decodeSteps;
        }
    }
    if (n.decodeSteps > 0) {
        n.tpotMs = decodeMs / n.decodeSteps;
        n.decodeTokensPerSecond = n.tpotMs > 0 ? 1000.0 / n.tpotMs : 0;
    }
    return n;
}

int StepTimingModel::rowCount(const QModelIndex& parent) const
{
    return parent.isValid() ? 0 : int(m_passes.size());
}

int StepTimingModel::columnCount(const QModelIndex& parent) const
{
    return parent.isValid() ? 0 : ColumnCount;
}

QVariant StepTimingModel::data(const QModelIndex& index, int role) const
{
    if (!checkIndex(index, CheckIndexOption::IndexIsValid | CheckIndexOption::ParentIsInvalid))
        return {};
    const ForwardTiming& p = m_passes[index.row()];
    if (role == PrefillRole)
        return p.prefill;
    if (role == MsRole)
        return p.ms;
    if (role != Qt::DisplayRole)
        return {};
    switch (index.column()) {
    case PhaseColumn:
        return p.prefill ? tr("prefill") : tr("decode");
    case StepColumn:
        return p.prefill ? QVariant(QStringLiteral("—")) : QVariant(p.step);
    case TokensColumn:
        return p.tokens;
    case MsColumn:
        return QString::number(p.ms, 'f', 2);
    case TokensPerSecondColumn:
        return p.ms > 0 ? QString::number(p.tokens * 1000.0 / p.ms, 'f', 1) : QString();
    default:
        return {};
    }
}

QVariant StepTimingModel::headerData(int section, Qt::Orientation orientation, int role) const
{
    if (orientation != Qt::Horizontal || role != Qt::DisplayRole)
        return {};
    switch (section) {
    case PhaseColumn:
        return tr("Phase");
    case StepColumn:
        return tr("Step");
    case TokensColumn:
        return tr("Tokens");
    case MsColumn:
        return tr("Forward ms");
    case TokensPerSecondColumn:
        return tr("tok/s");
    default:
        return {};
    }
}

void StepTimingModel::clear()
{
    beginResetModel();
    m_passes.clear();
    endResetModel();
}

void StepTimingModel::addPrefill(const logitscope::PrefillRecord& record)
{
    beginResetModel();
    m_passes.clear();
    ForwardTiming p;
    p.prefill = true;
    p.tokens = int(record.ids.size());
    p.ms = record.ms;
    m_passes.append(p);
    endResetModel();
}

void StepTimingModel::addStep(const logitscope::StepRecord& record)
{
    // A step index already seen: the lane was rewound; drop that step and what followed.
    int keep = int(m_passes.size());
    for (int i = 0; i < m_passes.size(); ++i)
        if (!m_passes[i].prefill && m_passes[i].step >= record.step) {
            keep = i;
            break;
        }
    if (keep < m_passes.size()) {
        beginRemoveRows({}, keep, int(m_passes.size()) - 1);
        m_passes.resize(keep);
        endRemoveRows();
    }
    if (record.finish != logitscope::FinishReason::None || record.forwardMs <= 0)
        return; // no forward pass ran after the token that ended the lane
    ForwardTiming p;
    p.step = record.step;
    p.tokens = 1;
    p.ms = record.forwardMs;
    p.sampleMs = record.sampleMs;
    beginInsertRows({}, int(m_passes.size()), int(m_passes.size()));
    m_passes.append(p);
    endInsertRows();
}

void StepTimingModel::setHistory(const std::vector<logitscope::StepRecord>& history)
{
    beginResetModel();
    QList<ForwardTiming> kept;
    for (const ForwardTiming& p : m_passes)
        if (p.prefill)
            kept.append(p);
    for (const auto& r : history) {
        if (r.finish != logitscope::FinishReason::None || r.forwardMs <= 0)
            continue;
        ForwardTiming p;
        p.step = r.step;
        p.tokens = 1;
        p.ms = r.forwardMs;
        p.sampleMs = r.sampleMs;
        kept.append(p);
    }
    m_passes = kept;
    endResetModel();
}

} // namespace logitscope::gui
