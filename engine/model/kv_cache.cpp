// Paged KV-cache bookkeeping: block allocation, copy-on-write forks, rewinds and statistics.
#include "model/kv_cache.h"

#include "common/error.h"

#include <algorithm>
#include <map>
#include <string>

namespace logitscope {

KvCache::Sequence& KvCache::get(int seq)
{
    auto it = m_seqs.find(seq);
    if (it == m_seqs.end())
        throw Error("KV cache: no sequence " + std::to_string(seq));
    return it->second;
}

const KvCache::Sequence& KvCache::get(int seq) const
{
    auto it = m_seqs.find(seq);
    if (it == m_seqs.end())
        throw Error("KV cache: no sequence " + std::to_string(seq));
    return it->second;
}

int KvCache::createSequence()
{
    const int id = m_nextSeq++;
    m_seqs.emplace(id, Sequence{});
    return id;
}

int KvCache::fork(int seq)
{
    Sequence copy = get(seq);
    for (int32_t b : copy.blocks)
        ++m_refs[size_t(b)];
    const int id = m_nextSeq++;
    m_seqs.emplace(id, std::move(copy));
    return id;
}

void KvCache::release(int seq)
{
    Sequence& s = get(seq);
    for (int32_t b : s.blocks)
        dropBlock(b);
    m_seqs.erase(seq);
}

int KvCache::allocateBlock()
{
    if (!m_free.empty()) {
        // Lowest free id first keeps the block map compact and deterministic.
        auto it = std::min_element(m_free.begin(), m_free.end());
        const int b = *it;
        m_free.erase(it);
        m_refs[size_t(b)] = 1;
        return b;
    }
    m_refs.push_back(1);
    return int(m_refs.size()) - 1;
}

void KvCache::dropBlock(int block)
{
    if (--m_refs[size_t(block)] == 0)
        m_free.push_back(block);
}

std::vector<BlockCopy> KvCache::append(int seq, int n)
{
    std::vector<BlockCopy> copies;
    Sequence& s = get(seq);
    if (n <= 0)
        return copies;
    // The partly filled last block is written to: it must be private.
    const int filled = s.length % kBlockSize;
    if (filled != 0) {
        int32_t& last = s.blocks.back();
        if (m_refs[size_t(last)] > 1) {
            const int fresh = allocateBlock();
            copies.push_back({last, fresh, filled});
            dropBlock(last);
            last = fresh;
        }
    }
    const int newLength = s.length + n;
    const int blocks = (newLength + kBlockSize - 1) / kBlockSize;
    while (int(s.blocks.size()) < blocks)
        s.blocks.push_back(allocateBlock());
    s.length = newLength;
    return copies;
}

void KvCache::truncate(int seq, int length)
{
    Sequence& s = get(seq);
    if (length < 0 || length > s.length)
        throw Error("KV cache: cannot truncate sequence of length " + std::to_string(s.length) + " to " +
                    std::to_string(length));
    const size_t keep = size_t((length + kBlockSize - 1) / kBlockSize);
    while (s.blocks.size() > keep) {
        dropBlock(s.blocks.back());
        s.blocks.pop_back();
    }
    s.length = length;
}

int KvCache::length(int seq) const { return get(seq).length; }

std::span<const int32_t> KvCache::blockTable(int seq) const { return get(seq).blocks; }

KvStats KvCache::stats() const
{
    KvStats st;
    st.blockSize = kBlockSize;
    st.blocksTotal = int(m_refs.size());
    st.refCounts = m_refs;
    for (int r : m_refs) {
        st.blocksUsed += r > 0;
        st.blocksShared += r > 1;
    }
    st.blocksFree = st.blocksTotal - st.blocksUsed;
    st.sequences = int(m_seqs.size());
    // Positions held per block: the furthest any owner has filled it.
    std::vector<int> held(m_refs.size(), 0);
    std::map<int, const Sequence*> ordered;
    for (const auto& [id, s] : m_seqs)
        ordered.emplace(id, &s);
    for (const auto& [id, s] : ordered) {
        st.tokensLogical += s->length;
        for (size_t i = 0; i < s->blocks.size(); ++i) {
            const int inBlock = std::min(kBlockSize, s->length - int(i) * kBlockSize);
            held[size_t(s->blocks[i])] = std::max(held[size_t(s->blocks[i])], inBlock);
        }
        st.sequenceIds.push_back(id);
        st.blockTables.push_back(s->blocks);
    }
    for (int h : held)
        st.tokensStored += h;
    st.bytesPerToken = m_bytesPerToken;
    st.bytesUsed = size_t(st.blocksUsed) * kBlockSize * m_bytesPerToken;
    size_t unshared = 0;
    for (const auto& [id, s] : ordered)
        unshared += s->blocks.size();
    st.bytesWithoutSharing = unshared * kBlockSize * m_bytesPerToken;
    return st;
}

} // namespace logitscope
