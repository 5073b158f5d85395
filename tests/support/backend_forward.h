// For tests that drive a Backend directly, without a Session: append tokens to one sequence of a
// KvCache (the backend's blocks reserved, copy-on-write copies made) and run one forward of it.
// No Qt, so the GPU tests use it too.
#pragma once

#include "model/backend.h"
#include "model/kv_cache.h"

#include <span>
#include <vector>

namespace logitscope::test {

// `tokens` appended to sequence `seq`: the forward input for them.
inline SequenceInput appendTokens(KvCache& cache, Backend& backend, int seq, const std::vector<int32_t>& tokens,
                                  bool allLogits = false)
{
    const int pos0 = cache.length(seq);
    const auto copies = cache.append(seq, int(tokens.size()));
    backend.reserveKvBlocks(cache.blocksNeeded());
    for (const BlockCopy& c : copies)
        backend.copyKvBlock(c.src, c.dst, c.tokens);
    SequenceInput in;
    in.tokens = tokens;
    in.pos0 = pos0;
    in.blockTable = cache.blockTable(seq);
    in.allLogits = allLogits;
    return in;
}

// One forward call of `tokens` appended to sequence `seq`.
inline SequenceOutput forwardOnce(Backend& backend, KvCache& cache, int seq, const std::vector<int32_t>& tokens,
                                  bool allLogits = false, const ForwardOptions& options = {})
{
    const SequenceInput in = appendTokens(cache, backend, seq, tokens, allLogits);
    SequenceOutput out;
    backend.forward(std::span<const SequenceInput>(&in, 1), std::span<SequenceOutput>(&out, 1), options);
    return out;
}

} // namespace logitscope::test
