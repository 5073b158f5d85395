// CandidateSet: the one array of {id, logit, prob} that every sampler stage edits in place, with the
// bookkeeping that keeps a 50k-token chain cheap: survivors first (masked tokens at the tail with
// logit -inf and prob 0), a known-sorted prefix (partial sorts, never a full sort of the vocabulary),
// an id -> position index, and cached softmax statistics updated incrementally by penalties.
// Not a sampler: stages live in sampler_stages.h, the chain in sampler_chain.h.
#pragma once

#include <cstdint>
#include <limits>
#include <span>
#include <utility>
#include <vector>

namespace logitscope {

struct Candidate {
    int32_t id = 0;
    float logit = 0; // current (processed) logit; -inf when masked
    float prob = 0;  // softmax probability over the survivors; filled where documented, 0 when masked
};

// Softmax statistics of the survivors, relative to a reference logit `ref` (the max when computed):
// z = sum exp(l - ref), a = sum exp(l - ref) * (l - ref). Then log-partition = ref + log z and
// entropy = log z - a / z (nats).
struct SoftmaxStats {
    double ref = 0;
    double z = 0;
    double a = 0;
    double logPartition() const;
    double entropy() const;
};

class CandidateSet {
public:
    // Starts over from a dense logit vector: candidate i has id i, every finite logit survives
    // (non-finite ones are masked).
    void assign(std::span<const float> logits);

    int vocabSize() const { return int(m_items.size()); }
    // Number of survivors (finite logits).
    int survivors() const { return m_live - m_pendingMasked; }

    // The survivors, contiguous at the front (moves tokens masked since the last call to the tail).
    std::span<Candidate> live();
    // Every token: survivors first, then the masked ones. Order is otherwise unspecified.
    std::span<const Candidate> all() const { return m_items; }

    // The candidate with this id, or nullptr when the id is outside the vocabulary.
    Candidate* find(int32_t id);

    // Penalty-style edits: change one candidate's logit / mask it. Both record the id in changes()
    // and keep the cached statistics up to date.
    void setLogit(Candidate& c, float logit);
    void mask(Candidate& c);
    // Ids changed by setLogit()/mask() since clearChanges(), in call order.
    const std::vector<int32_t>& changes() const { return m_changedIds; }
    void clearChanges() { m_changedIds.clear(); }

    // Sorting: afterwards the first min(n, survivors) survivors are sorted by logit (descending; ties by
    // ascending id) and no later survivor has a larger logit.
    void sortTop(int n);
    // How many leading survivors are known sorted in that sense.
    int sortedCount() const { return m_sorted; }
    // For stages that reorder live() themselves: forget the id index and declare how many leading
    // survivors are now sorted by logit (0 when the new order is by something else).
    void markReordered(int sortedCount);

    // Truncations: keep the first n survivors in the current order and mask the rest.
    void keepFirst(int n);
    // Keep the survivors for which keep(candidate) is true (order preserved), mask the rest.
    template <class Keep>
    void keepIf(Keep keep);

    // Rescale every survivor's logit by 1/t (t > 0): order-preserving, statistics invalidated.
    void divideLogits(float t);

    // Softmax statistics of the survivors (computed once, then cached until the logits change).
    const SoftmaxStats& stats();
    // The largest surviving logit.
    float maxLogit();
    // Fills prob of every survivor from stats().
    void fillProbs();

    // Top n survivors by logit (ties by id), best first, with prob from stats(); does not reorder.
    std::vector<Candidate> top(int n);

    // Dense vector indexed by id: processed logits, -inf where masked.
    std::vector<float> denseLogits() const;

private:
    void compact();
    void selectTop(int from, int need);
    void invalidateOrder();
    void ensurePositions();
    void recordChange(Candidate& c, float newLogit);

    std::vector<Candidate> m_items;     // (V) survivors [0, m_live), masked [m_live, V)
    int m_live = 0;                     // end of the survivor region (may hold m_pendingMasked masked)
    int m_pendingMasked = 0;            // masked candidates still inside [0, m_live)
    int m_sorted = 0;                   // leading survivors known sorted by logit
    bool m_identity = true;             // m_items[i].id == i for every i
    bool m_positionsValid = false;
    std::vector<int32_t> m_positions;   // (V) id -> index in m_items when !m_identity
    bool m_statsValid = false;
    SoftmaxStats m_stats;
    std::vector<int32_t> m_changedIds;
    std::vector<Candidate> m_scratch;
    std::vector<int32_t> m_heap;
};

template <class Keep>
void CandidateSet::keepIf(Keep keep)
{
    compact();
    int w = 0;
    int sortedKept = 0; // survivors of the sorted prefix stay sorted and ahead of the rest
    m_scratch.clear();
    for (int i = 0; i < m_live; ++i) {
        if (keep(static_cast<const Candidate&>(m_items[i]))) {
            if (i < m_sorted)
                ++sortedKept;
            m_items[w++] = m_items[i];
        } else {
            m_scratch.push_back(m_items[i]);
        }
    }
    if (w == m_live)
        return;
    for (size_t k = 0; k < m_scratch.size(); ++k) {
        Candidate c = m_scratch[k];
        c.logit = -std::numeric_limits<float>::infinity();
        c.prob = 0;
        m_items[w + int(k)] = c;
    }
    m_live = w;
    m_sorted = sortedKept;
    m_statsValid = false;
    invalidateOrder();
}

} // namespace logitscope
