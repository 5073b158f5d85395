// KvCache: the bookkeeping of a paged KV cache — fixed 16-token blocks, a block table per sequence,
// reference-counted blocks shared copy-on-write between lanes, beams and branches.
// It holds no K/V numbers: the Backend stores those; this class says which block holds which positions.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <unordered_map>
#include <vector>

namespace logitscope {

struct BlockCopy {
    int src = 0;
    int dst = 0;
    int tokens = 0; // valid positions to copy
};

struct KvStats {
    int blockSize = 0;
    int blocksTotal = 0;     // capacity (allocated storage)
    int blocksUsed = 0;      // referenced by at least one sequence
    int blocksShared = 0;    // referenced by two or more
    int blocksFree = 0;
    int sequences = 0;
    int64_t tokensStored = 0;        // positions held in used blocks (each shared block counted once)
    int64_t tokensLogical = 0;       // sum of sequence lengths (what unshared caches would hold)
    size_t bytesPerToken = 0;        // 2 x L x Hkv x D x element bytes
    size_t bytesUsed = 0;            // blocksUsed x blockSize x bytesPerToken
    size_t bytesWithoutSharing = 0;  // the same sequences with private blocks each
    std::vector<std::vector<int32_t>> blockTables; // per live sequence, in sequence-id order
    std::vector<int> sequenceIds;
    std::vector<int> refCounts;      // per block id (0 = free)
};

class KvCache {
public:
    static constexpr int kBlockSize = 16;

    explicit KvCache(size_t bytesPerToken = 0) : m_bytesPerToken(bytesPerToken) {}

    int createSequence();
    int fork(int seq);        // new sequence sharing every block of seq (refcounts + 1)
    void release(int seq);    // blocks whose count drops to zero return to the free list
    bool contains(int seq) const { return m_seqs.count(seq) != 0; }

    // Makes room for `n` more positions in seq. Blocks are allocated from the free list (growing
    // the pool: `blocksNeeded()` tells the backend how much storage to reserve), and a shared last
    // block that would be written to is replaced by a private copy (returned for the backend to do).
    std::vector<BlockCopy> append(int seq, int n);
    // Drops positions >= length (rewind). Blocks no longer referenced are freed.
    void truncate(int seq, int length);

    int length(int seq) const;
    std::span<const int32_t> blockTable(int seq) const;
    int blocksNeeded() const { return int(m_refs.size()); } // storage the backend must hold
    KvStats stats() const;
    size_t bytesPerToken() const { return m_bytesPerToken; }

private:
    struct Sequence {
        std::vector<int32_t> blocks;
        int length = 0;
    };
    int allocateBlock();
    void dropBlock(int block);
    Sequence& get(int seq);
    const Sequence& get(int seq) const;

    size_t m_bytesPerToken;
    std::unordered_map<int, Sequence> m_seqs;
    std::vector<int> m_refs;     // per block
    std::vector<int> m_free;     // free block ids
    int m_nextSeq = 0;
};

} // namespace logitscope
