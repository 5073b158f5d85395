// CandidateSet (see candidate_set.h). The full-vocabulary loops (statistics, probabilities, top-n)
// are written in blocks of 8 independent lanes so the compiler vectorizes them without fast-math.
#include "decoding/candidate_set.h"

#include "decoding/fast_exp.h"

#include <algorithm>
#include <cmath>

namespace logitscope {

namespace {

constexpr float kNegInf = -std::numeric_limits<float>::infinity();

bool better(const Candidate& a, const Candidate& b)
{
    if (a.logit != b.logit)
        return a.logit > b.logit;
    return a.id < b.id;
}

} // namespace

double SoftmaxStats::logPartition() const { return ref + std::log(z); }
double SoftmaxStats::entropy() const { return z > 0 ? std::log(z) - a / z : 0.0; }

void CandidateSet::assign(std::span<const float> logits)
{
    const int n = int(logits.size());
    m_items.resize(size_t(n));
    int masked = 0;
    for (int i = 0; i < n; ++i) {
        const float l = logits[size_t(i)];
        const bool ok = std::isfinite(l);
        m_items[size_t(i)] = Candidate{i, ok ? l : kNegInf, 0.0f};
        masked += ok ? 0 : 1;
    }
    m_live = n;
    m_pendingMasked = masked;
    m_sorted = 0;
    m_identity = true;
    m_positionsValid = false;
    m_statsValid = false;
    m_changedIds.clear();
}

std::span<Candidate> CandidateSet::live()
{
    compact();
    return std::span<Candidate>(m_items.data(), size_t(m_live));
}

void CandidateSet::compact()
{
    if (m_pendingMasked == 0)
        return;
    int w = 0;
    int sortedKept = 0;
    m_scratch.clear();
    for (int i = 0; i < m_live; ++i) {
        if (m_items[size_t(i)].logit != kNegInf) {
            if (i < m_sorted)
                ++sortedKept;
            m_items[size_t(w++)] = m_items[size_t(i)];
        } else {
            m_scratch.push_back(m_items[size_t(i)]);
        }
    }
    std::copy(m_scratch.begin(), m_scratch.end(), m_items.begin() + w);
    m_live = w;
    m_pendingMasked = 0;
    m_sorted = sortedKept;
    invalidateOrder();
}

void CandidateSet::invalidateOrder()
{
    m_identity = false;
    m_positionsValid = false;
}

void CandidateSet::ensurePositions()
{
    if (m_positionsValid)
        return;
    m_positions.assign(m_items.size(), -1);
    for (size_t i = 0; i < m_items.size(); ++i)
        m_positions[size_t(m_items[i].id)] = int32_t(i);
    m_positionsValid = true;
}

Candidate* CandidateSet::find(int32_t id)
{
    if (id < 0 || id >= int32_t(m_items.size()))
        return nullptr;
    if (m_identity)
        return &m_items[size_t(id)];
    ensurePositions();
    return &m_items[size_t(m_positions[size_t(id)])];
}

void CandidateSet::recordChange(Candidate& c, float newLogit)
{
    const float old = c.logit;
    if (old == newLogit)
        return;
    m_changedIds.push_back(c.id);
    m_sorted = 0;
    if (m_statsValid) {
        // Keep z and a exact enough: remove the old term, add the new one (relative to the same ref).
        const double ref = m_stats.ref;
        const double before = m_stats.z;
        if (old != kNegInf) {
            const double w = std::exp(double(old) - ref);
            m_stats.z -= w;
            m_stats.a -= w * (double(old) - ref);
        }
        if (newLogit != kNegInf) {
            const double d = double(newLogit) - ref;
            if (d > 60.0) {
                m_statsValid = false; // would lose precision: recompute on demand
            } else {
                const double w = std::exp(d);
                m_stats.z += w;
                m_stats.a += w * d;
            }
        }
        if (m_statsValid && !(m_stats.z > before * 1e-6))
            m_statsValid = false; // heavy cancellation: recompute on demand
    }
    c.logit = newLogit;
    c.prob = 0;
}

void CandidateSet::setLogit(Candidate& c, float logit)
{
    if (c.logit == kNegInf)
        return; // masked stays masked
    if (!std::isfinite(logit)) {
        mask(c);
        return;
    }
    recordChange(c, logit);
}

void CandidateSet::mask(Candidate& c)
{
    if (c.logit == kNegInf)
        return;
    recordChange(c, kNegInf);
    ++m_pendingMasked;
}

void CandidateSet::sortTop(int n)
{
    compact();
    n = std::min(n, m_live);
    if (n <= m_sorted)
        return;
    auto first = m_items.begin() + m_sorted;
    auto mid = m_items.begin() + n;
    auto last = m_items.begin() + m_live;
    if (mid < last)
        std::nth_element(first, mid, last, better);
    std::sort(first, mid, better);
    m_sorted = n;
    invalidateOrder();
}

void CandidateSet::markReordered(int sortedCount)
{
    m_sorted = std::clamp(sortedCount, 0, m_live);
    invalidateOrder();
}

void CandidateSet::keepFirst(int n)
{
    compact();
    if (n >= m_live)
        return;
    for (int i = n; i < m_live; ++i) {
        m_items[size_t(i)].logit = kNegInf;
        m_items[size_t(i)].prob = 0;
    }
    m_live = n;
    m_sorted = std::min(m_sorted, n);
    m_statsValid = false;
}

void CandidateSet::divideLogits(float t)
{
    Candidate* items = m_items.data();
    const int n = m_live;
    for (int i = 0; i < n; ++i)
        items[i].logit = items[i].logit / t;
    m_statsValid = false;
}

float CandidateSet::maxLogit()
{
    if (m_sorted > 0 && m_pendingMasked == 0)
        return m_items[0].logit;
    const Candidate* items = m_items.data();
    const int n = m_live;
    float lane[8];
    for (float& v : lane)
        v = kNegInf;
    int i = 0;
    for (; i + 8 <= n; i += 8)
        for (int k = 0; k < 8; ++k)
            lane[k] = items[i + k].logit > lane[k] ? items[i + k].logit : lane[k];
    float m = kNegInf;
    for (float v : lane)
        m = v > m ? v : m;
    for (; i < n; ++i)
        m = items[i].logit > m ? items[i].logit : m;
    return m;
}

const SoftmaxStats& CandidateSet::stats()
{
    if (m_statsValid)
        return m_stats;
    const float ref = maxLogit();
    const Candidate* items = m_items.data();
    const int n = m_live;
    double zLane[8] = {}, aLane[8] = {};
    int i = 0;
    for (; i + 8 <= n; i += 8) {
        for (int k = 0; k < 8; ++k) {
            const float d = items[i + k].logit - ref;
            const float w = fastExp(d);
            zLane[k] += double(w);
            aLane[k] += w > 0.0f ? double(w * d) : 0.0;
        }
    }
    double z = 0, a = 0;
    for (int k = 0; k < 8; ++k) {
        z += zLane[k];
        a += aLane[k];
    }
    for (; i < n; ++i) {
        const float d = items[i].logit - ref;
        const float w = fastExp(d);
        z += double(w);
        a += w > 0.0f ? double(w * d) : 0.0;
    }
    m_stats = SoftmaxStats{double(ref), z, a};
    if (!(z > 0))
        m_stats = SoftmaxStats{0.0, 0.0, 0.0};
    m_statsValid = true;
    return m_stats;
}

void CandidateSet::fillProbs()
{
    const SoftmaxStats s = stats();
    const float ref = float(s.ref);
    const float inv = s.z > 0 ? float(1.0 / s.z) : 0.0f;
    Candidate* items = m_items.data();
    const int n = m_live;
    for (int i = 0; i < n; ++i)
        items[i].prob = fastExp(items[i].logit - ref) * inv;
}

std::vector<Candidate> CandidateSet::top(int n)
{
    compact();
    n = std::min(n, m_live);
    std::vector<Candidate> out;
    if (n <= 0)
        return out;
    if (m_sorted >= n) {
        out.assign(m_items.begin(), m_items.begin() + n);
    } else {
        // Scan with a bounded best-first buffer; blocks of 8 are skipped when none beats the threshold.
        out.reserve(size_t(n) + 1);
        const Candidate* items = m_items.data();
        const int count = m_live;
        auto offer = [&](const Candidate& c) {
            if (int(out.size()) == n && !better(c, out.back()))
                return;
            auto pos = std::upper_bound(out.begin(), out.end(), c, better);
            out.insert(pos, c);
            if (int(out.size()) > n)
                out.pop_back();
        };
        int i = 0;
        for (; i < count && int(out.size()) < n; ++i)
            offer(items[i]);
        for (; i + 8 <= count; i += 8) {
            float blockMax = kNegInf;
            for (int k = 0; k < 8; ++k)
                blockMax = items[i + k].logit > blockMax ? items[i + k].logit : blockMax;
            if (blockMax < out.back().logit)
                continue;
            for (int k = 0; k < 8; ++k)
                offer(items[i + k]);
        }
        for (; i < count; ++i)
            offer(items[i]);
    }
    const SoftmaxStats& s = stats();
    for (Candidate& c : out)
        c.prob = s.z > 0 ? float(std::exp(double(c.logit) - s.logPartition())) : 0.0f;
    return out;
}

std::vector<float> CandidateSet::denseLogits() const
{
    std::vector<float> out(m_items.size(), kNegInf);
    for (const Candidate& c : m_items)
        out[size_t(c.id)] = c.logit;
    return out;
}

} // namespace logitscope
