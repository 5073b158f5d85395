// CandidateSet (see candidate_set.h). The full-vocabulary loops (max, softmax statistics, probabilities,
// top-n scans) work on 8-lane vectors (fast_exp.h) so they vectorize without fast-math; selections use a
// small heap or nth_element, never a full sort of the vocabulary.
#include "decoding/candidate_set.h"

#include "decoding/fast_exp.h"

#include <algorithm>
#include <cmath>

namespace logitscope {

namespace {

constexpr float kNegInf = -std::numeric_limits<float>::infinity();

// Logit descending, then id ascending (a functor so the sorts inline it).
struct Better {
    bool operator()(const Candidate& a, const Candidate& b) const
    {
        return a.logit != b.logit ? a.logit > b.logit : a.id < b.id;
    }
};
constexpr Better better{};

// The logits of 8 consecutive candidates as one vector.
inline Float8 load8(const Candidate* c)
{
    return Float8{c[0].logit, c[1].logit, c[2].logit, c[3].logit, c[4].logit, c[5].logit, c[6].logit, c[7].logit};
}

inline double laneSum(Float8 v)
{
    double s = 0;
    for (int k = 0; k < 8; ++k)
        s += double(v[k]);
    return s;
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
    const int need = n - m_sorted;
    if (int64_t(need) * 16 <= int64_t(m_live - m_sorted))
        selectTop(m_sorted, need); // a few out of many: one vectorised scan with a small heap
    else {
        auto first = m_items.begin() + m_sorted;
        auto mid = m_items.begin() + n;
        auto last = m_items.begin() + m_live;
        if (mid < last)
            std::nth_element(first, mid, last, better);
        std::sort(first, mid, better);
    }
    m_sorted = n;
    invalidateOrder();
}

void CandidateSet::selectTop(int from, int need)
{
    // Indices (into m_items) of the best `need` candidates of [from, m_live), as a heap whose front is
    // the worst of them; blocks of 8 that cannot beat it are skipped with one vector compare.
    const Candidate* items = m_items.data();
    auto worseFirst = [items](int32_t a, int32_t b) { return better(items[a], items[b]); };
    std::vector<int32_t>& heap = m_heap;
    heap.clear();
    int i = from;
    for (; i < m_live && int(heap.size()) < need; ++i)
        heap.push_back(i);
    std::make_heap(heap.begin(), heap.end(), worseFirst);
    auto offer = [&](int32_t idx) {
        if (better(items[idx], items[heap.front()])) {
            std::pop_heap(heap.begin(), heap.end(), worseFirst);
            heap.back() = idx;
            std::push_heap(heap.begin(), heap.end(), worseFirst);
        }
    };
    for (; i + 8 <= m_live; i += 8) {
        const Int8 above = load8(items + i) >= (Float8{} + items[heap.front()].logit);
        bool any = false;
        for (int k = 0; k < 8; ++k)
            any = any || above[k] != 0;
        if (!any)
            continue;
        for (int k = 0; k < 8; ++k)
            offer(i + k);
    }
    for (; i < m_live; ++i)
        offer(i);

    // Move them to [from, from + need) in order; whatever sat there takes their old places.
    std::sort(heap.begin(), heap.end());
    m_scratch.clear();
    for (int32_t idx : heap)
        m_scratch.push_back(m_items[size_t(idx)]);
    const int end = from + need;
    size_t out = size_t(std::lower_bound(heap.begin(), heap.end(), end) - heap.begin()); // first index outside
    size_t in = 0;
    for (int pos = from; pos < end; ++pos) {
        if (in < heap.size() && heap[in] == pos) {
            ++in;
            continue;
        }
        m_items[size_t(heap[out++])] = m_items[size_t(pos)]; // an unselected candidate moves out
    }
    std::sort(m_scratch.begin(), m_scratch.end(), better);
    std::copy(m_scratch.begin(), m_scratch.end(), m_items.begin() + from);
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
    Float8 lane = Float8{} + kNegInf;
    int i = 0;
    for (; i + 8 <= n; i += 8) {
        const Float8 x = load8(items + i);
        lane = x > lane ? x : lane;
    }
    float m = kNegInf;
    for (int k = 0; k < 8; ++k)
        m = lane[k] > m ? lane[k] : m;
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
    // 8 float lanes, flushed into doubles every 256 candidates so long sums keep their precision.
    double z = 0, a = 0;
    int i = 0;
    while (i + 8 <= n) {
        Float8 zv{}, av{};
        const int blockEnd = std::min(n - 7, i + 256);
        for (; i < blockEnd; i += 8) {
            const Float8 d = load8(items + i) - ref;
            const Float8 w = fastExp8(d);
            zv += w;
            av += w > 0.0f ? w * d : Float8{};
        }
        z += laneSum(zv);
        a += laneSum(av);
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
    int i = 0;
    for (; i + 8 <= n; i += 8) {
        const Float8 p = fastExp8(load8(items + i) - ref) * inv;
        for (int k = 0; k < 8; ++k)
            items[i + k].prob = p[k];
    }
    for (; i < n; ++i)
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
            const Float8 x = load8(items + i);
            const Float8 edge = Float8{} + out.back().logit;
            const Int8 above = x >= edge;
            bool any = false;
            for (int k = 0; k < 8; ++k)
                any = any || above[k] != 0;
            if (!any)
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
