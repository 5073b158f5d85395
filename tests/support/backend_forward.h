// For tests that drive a Backend directly, without a Session: append tokens to one sequence of a
// KvCache (the backend's blocks reserved, copy-on-write copies made) and run one forward of it.
// No Qt, so the GPU tests use it too.
#pragma once

#include "model/backend.h"
#include "model/kv_cache.h"

#include <span>
#include <stdexcept>
#include <string>
#include <vector>

namespace logitscope::test {

// `tokens` appended to sequence `seq`: the forward input for them.
inline SequenceInput appendTokens(KvCache& cache, Backend& backend, int seq, const std::vector<int32_t>& tokens)
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
    return in;
}

// One forward call of `tokens` appended to sequence `seq`. With allLogits, out.logits holds every new
// position's logits (T, V), collected from the rows the backend hands over in order.
inline SequenceOutput forwardOnce(Backend& backend, KvCache& cache, int seq, const std::vector<int32_t>& tokens,
                                  bool allLogits = false, const ForwardOptions& options = {})
{
    SequenceInput in = appendTokens(cache, backend, seq, tokens);
    std::vector<float> all;
    int next = 0; // the row the backend must hand over next
    if (allLogits)
        in.allLogits = [&](int t0, int rows, std::span<const float> logits) {
            if (t0 != next || rows <= 0 || logits.size() % size_t(rows) != 0)
                throw std::logic_error("logit rows out of order: [" + std::to_string(t0) + ", " +
                                       std::to_string(t0 + rows) + ") after " + std::to_string(next));
            all.insert(all.end(), logits.begin(), logits.end());
            next = t0 + rows;
        };
    SequenceOutput out;
    backend.forward(std::span<const SequenceInput>(&in, 1), std::span<SequenceOutput>(&out, 1), options);
    if (allLogits) {
        if (next != int(tokens.size()))
            throw std::logic_error("logit rows: " + std::to_string(next) + " of " + std::to_string(tokens.size()));
        out.logits = std::move(all);
    }
    return out;
}

} // namespace logitscope::test
