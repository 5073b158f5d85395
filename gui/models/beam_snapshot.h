// BeamSnapshot: one finished beam search as a value the worker hands to the UI thread — the engine's
// whole BeamTree and hypotheses copied, plus each node's token bytes and the settings that made it.
// Not a view model: BeamTreeModel (beam_tree_model.h) interprets it for the tree panel.
#pragma once

#include "decoding/beam_search.h"
#include "decoding/sampling_params.h"

#include <QByteArray>
#include <QList>
#include <QMetaType>
#include <QStringList>

#include <climits>
#include <vector>

namespace logitscope::gui {

class Vocabulary;

struct BeamSnapshot {
    logitscope::BeamTree tree;                          // nodes[0] is the root (the prompt)
    std::vector<logitscope::BeamHypothesis> hypotheses; // best first
    QList<QByteArray> tokenBytes;                       // (nodes) exact bytes of each node's token; root empty
    QStringList pieces;                                 // (nodes) vocabulary entries (names control tokens like </s>)
    int numBeams = 0;
    double lengthPenalty = 1.0;
    logitscope::EarlyStopping earlyStopping = logitscope::EarlyStopping::False;
    int maxNewTokens = 0;
    double ms = 0;                                      // wall time of the search

    bool valid() const { return !tree.nodes.empty(); }
    int winner() const { return hypotheses.empty() ? -1 : hypotheses.front().node; }
    // Node indices from the root to `node`, root first.
    std::vector<int> chain(int node) const;
    // The tokens along chain(node), root excluded.
    std::vector<int32_t> chainTokens(int node) const;
    // Nodes with this fate proposed at steps <= maxStep.
    int count(logitscope::BeamFate fate, int maxStep = INT_MAX) const;
};

// Copies a BeamResult; token bytes come from the vocabulary (the worker's model).
BeamSnapshot makeBeamSnapshot(const logitscope::BeamResult& result, const logitscope::SamplingParams& params,
                              const Vocabulary& vocabulary);

} // namespace logitscope::gui

Q_DECLARE_METATYPE(logitscope::gui::BeamSnapshot)
