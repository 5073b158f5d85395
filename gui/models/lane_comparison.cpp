// Lane comparison: divergence and KL over the recorded top-N.
#include "models/lane_comparison.h"

#include "models/token_display.h"

#include <QColor>

#include <cmath>
#include <limits>
#include <unordered_map>

namespace logitscope::gui {

namespace {

const logitscope::StageSnapshot* finalStage(const logitscope::SampleResult& r)
{
    return r.stages.empty() ? nullptr : &r.stages.back();
}

} // namespace

double klOverTopN(const logitscope::SampleResult& p, const logitscope::SampleResult& q, int vocabSize)
{
    const auto* ps = finalStage(p);
    const auto* qs = finalStage(q);
    if (!ps || !qs)
        return std::numeric_limits<double>::quiet_NaN();
    std::unordered_map<int32_t, double> pm, qm;
    double pMass = 0, qMass = 0;
    for (const auto& c : ps->top)
        if (c.prob > 0) {
            pm[c.id] = c.prob;
            pMass += c.prob;
        }
    for (const auto& c : qs->top)
        if (c.prob > 0) {
            qm[c.id] = c.prob;
            qMass += c.prob;
        }
    // Leftover mass of each distribution, spread over the tokens outside its recorded top.
    const auto rest = [vocabSize](double mass, size_t recorded, int survivors) {
        const int outside = std::max(1, std::min(vocabSize, survivors > 0 ? survivors : vocabSize) - int(recorded));
        return std::max(1e-9, std::max(0.0, 1.0 - mass) / outside);
    };
    const double pRest = rest(pMass, pm.size(), ps->survivors);
    const double qRest = rest(qMass, qm.size(), qs->survivors);
    std::unordered_map<int32_t, bool> support;
    for (const auto& [id, prob] : pm)
        support[id] = true;
    for (const auto& [id, prob] : qm)
        support[id] = true;
    // Every token of the union, then one bucket for the rest of the vocabulary.
    double kl = 0, pUnion = 0, qUnion = 0;
    for (const auto& [id, unused] : support) {
        const auto pi = pm.find(id);
        const auto qi = qm.find(id);
        const double pv = pi != pm.end() ? pi->second : pRest;
        const double qv = qi != qm.end() ? qi->second : qRest;
        pUnion += pv;
        qUnion += qv;
        if (pv > 0)
            kl += pv * std::log(pv / std::max(qv, 1e-9));
    }
    const double pOther = std::max(0.0, 1.0 - pUnion), qOther = std::max(0.0, 1.0 - qUnion);
    if (pOther > 1e-12)
        kl += pOther * std::log(pOther / std::max(qOther, 1e-9));
    return std::max(0.0, kl);
}

int firstDivergence(const QList<ComparisonLane>& lanes)
{
    if (lanes.size() < 2)
        return -1;
    size_t n = std::numeric_limits<size_t>::max();
    for (const auto& l : lanes)
        n = std::min(n, l.steps.size());
    for (size_t s = 0; s < n; ++s)
        for (int i = 1; i < lanes.size(); ++i)
            if (lanes[i].steps[s].chosen != lanes[0].steps[s].chosen)
                return int(s);
    return -1;
}

QString describeDifference(const logitscope::SamplingParams& p, const logitscope::SamplingParams& base)
{
    const logitscope::SamplingParams defaults;
    const logitscope::SamplingParams& ref = p == base ? defaults : base;
    QStringList parts;
    if (p.isGreedy() && !ref.isGreedy())
        parts << QObject::tr("greedy");
    else if (p.temperature != ref.temperature)
        parts << QObject::tr("temperature %1").arg(p.temperature);
    if (p.topK != ref.topK)
        parts << QObject::tr("top-k %1").arg(p.topK);
    if (p.topP != ref.topP)
        parts << QObject::tr("top-p %1").arg(p.topP);
    if (p.minP != ref.minP)
        parts << QObject::tr("min-p %1").arg(p.minP);
    if (p.repetitionPenalty != ref.repetitionPenalty)
        parts << QObject::tr("repetition penalty %1").arg(p.repetitionPenalty);
    if (p.presencePenalty != ref.presencePenalty)
        parts << QObject::tr("presence %1").arg(p.presencePenalty);
    if (p.frequencyPenalty != ref.frequencyPenalty)
        parts << QObject::tr("frequency %1").arg(p.frequencyPenalty);
    return parts.isEmpty() ? QObject::tr("same settings") : parts.join(QStringLiteral(" · "));
}

int LaneComparisonModel::steps() const
{
    size_t n = 0;
    for (const auto& l : m_lanes)
        n = std::max(n, l.steps.size());
    return int(n);
}

int LaneComparisonModel::rowCount(const QModelIndex& parent) const
{
    return parent.isValid() ? 0 : steps();
}

int LaneComparisonModel::columnCount(const QModelIndex& parent) const
{
    if (parent.isValid() || m_lanes.isEmpty())
        return 0;
    return 1 + int(m_lanes.size()) + int(m_lanes.size()) - 1;
}

double LaneComparisonModel::kl(int laneIndex, int step) const
{
    if (laneIndex <= 0 || laneIndex >= m_lanes.size() || step < 0)
        return std::numeric_limits<double>::quiet_NaN();
    const auto& a = m_lanes[0].steps;
    const auto& b = m_lanes[laneIndex].steps;
    if (size_t(step) >= a.size() || size_t(step) >= b.size())
        return std::numeric_limits<double>::quiet_NaN();
    const int vocab = m_vocabulary.isValid() ? m_vocabulary.size() : 32000;
    return klOverTopN(b[size_t(step)].sample, a[size_t(step)].sample, vocab);
}

QVariant LaneComparisonModel::data(const QModelIndex& index, int role) const
{
    if (!checkIndex(index, CheckIndexOption::IndexIsValid | CheckIndexOption::ParentIsInvalid))
        return {};
    const int step = index.row();
    const int col = index.column();
    const int n = int(m_lanes.size());
    const int divergence = divergenceStep();
    if (role == DivergenceRole)
        return step == divergence;
    if (role == Qt::BackgroundRole && step == divergence)
        return QColor(255, 225, 150);
    if (col == 0)
        return role == Qt::DisplayRole ? QVariant(step) : QVariant();
    if (col <= n) {
        const auto& steps = m_lanes[col - 1].steps;
        if (size_t(step) >= steps.size())
            return {};
        const auto& r = steps[size_t(step)];
        switch (role) {
        case Qt::DisplayRole:
            return QStringLiteral("%1  (%2%)").arg(tokenLabel(QByteArray::fromStdString(r.bytes))).arg(r.chosenProb * 100.0, 0, 'f', 1);
        case TokenIdRole:
            return r.chosen;
        case Qt::ToolTipRole:
            return tr("Token %1, p = %2 after lane %3's settings").arg(r.chosen).arg(r.chosenProb, 0, 'f', 4).arg(laneLetter(col - 1));
        default:
            return {};
        }
    }
    const double v = kl(col - n, step);
    if (role == KlRole)
        return v;
    if (role == Qt::DisplayRole)
        return std::isnan(v) ? QString() : QString::number(v, 'f', 3);
    return {};
}

QVariant LaneComparisonModel::headerData(int section, Qt::Orientation orientation, int role) const
{
    if (orientation != Qt::Horizontal || role != Qt::DisplayRole)
        return {};
    const int n = int(m_lanes.size());
    if (section == 0)
        return tr("Step");
    if (section >= 1 && section <= n)
        return tr("Lane %1").arg(laneLetter(section - 1));
    if (section > n && section < columnCount())
        return tr("KL(%1‖A)").arg(laneLetter(section - n));
    return {};
}

void LaneComparisonModel::setLanes(const QList<ComparisonLane>& lanes)
{
    beginResetModel();
    m_lanes = lanes;
    endResetModel();
}

void LaneComparisonModel::appendSteps(const std::vector<logitscope::StepRecord>& records)
{
    if (records.empty())
        return;
    // Records of one stepLanes call: a row may appear (and the divergence row may move), so reset.
    beginResetModel();
    for (const auto& r : records)
        for (auto& l : m_lanes)
            if (l.lane == r.lane)
                l.steps.push_back(r);
    endResetModel();
}

} // namespace logitscope::gui
