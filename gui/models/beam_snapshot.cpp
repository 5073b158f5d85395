// BeamSnapshot: copying a beam search result for the UI thread.
#include "models/beam_snapshot.h"

#include "models/vocabulary.h"

#include <algorithm>

namespace logitscope::gui {

std::vector<int> BeamSnapshot::chain(int node) const
{
    std::vector<int> out;
    for (int n = node; n >= 0 && n < int(tree.nodes.size()); n = tree.nodes[size_t(n)].parent)
        out.push_back(n);
    std::reverse(out.begin(), out.end());
    return out;
}

std::vector<int32_t> BeamSnapshot::chainTokens(int node) const
{
    std::vector<int32_t> out;
    for (int n : chain(node))
        if (n != 0)
            out.push_back(tree.nodes[size_t(n)].token);
    return out;
}

int BeamSnapshot::count(logitscope::BeamFate fate, int maxStep) const
{
    int n = 0;
    for (size_t i = 1; i < tree.nodes.size(); ++i)
        if (tree.nodes[i].fate == fate && tree.nodes[i].step <= maxStep)
            ++n;
    return n;
}

BeamSnapshot makeBeamSnapshot(const logitscope::BeamResult& result, const logitscope::SamplingParams& params,
                              const Vocabulary& vocabulary)
{
    BeamSnapshot s;
    s.tree = result.tree;
    s.hypotheses = result.hypotheses;
    s.numBeams = params.numBeams;
    s.lengthPenalty = params.lengthPenalty;
    s.earlyStopping = params.earlyStopping;
    s.maxNewTokens = params.maxNewTokens;
    s.tokenBytes.reserve(qsizetype(s.tree.nodes.size()));
    for (const auto& node : s.tree.nodes) {
        const bool known = node.token >= 0 && vocabulary.isValid();
        s.tokenBytes.append(known ? vocabulary.bytes(node.token) : QByteArray());
        s.pieces.append(known ? vocabulary.piece(node.token) : QString());
    }
    return s;
}

} // namespace logitscope::gui
