// Measurement sweeps run on the worker with their own KvCache on the session's model and a fresh
// backend of the same kind (the user's session and its cache are left alone):
//  - contextSweep: for each prompt length L, prefill L tokens and time the decode step at that length (median of 5);
//    with the attention-score memory L² × heads × 4 bytes per layer next to it (the course's claim:
//    scores grow with L², per-token time with L).
//  - throughputSweep: B = 1, 2, 4 … sequences forked from one prompt and decoded together in one
//    batched forward per step; aggregate tokens/s against the time each step (each token) takes.
// Deterministic inputs (seeded random ids, argmax continuation); no Qt, no widgets. Each point is
// handed to `onPoint` as soon as it is measured; a set `cancel` flag ends the sweep (throws Cancelled).
#pragma once

#include <QList>
#include <QString>
#include <QMetaType>

#include <atomic>
#include <functional>
#include <memory>

namespace logitscope {
class Backend;
class Model;
} // namespace logitscope

namespace logitscope::gui {

struct ContextPoint {
    int length = 0;
    double prefillMs = 0;
    double decodeMs = 0;                 // one decode step with `length` positions cached (median)
    double decodeLowMs = 0, decodeHighMs = 0; // its spread: the quartiles of the samples
    int decodeSamples = 0;
    quint64 attentionScoreBytes = 0;     // L² × heads × 4, one layer
    quint64 kvBytes = 0;                 // L × bytes per token
};

struct ThroughputPoint {
    int sequences = 0;
    double msPerStep = 0;                // one batched decode step = the time per token each sequence sees
    double tokensPerSecond = 0;          // sequences × steps / seconds, all sequences together
};

// 64, 128, 256 … up to and including maxLength (clamped to the context length, minus the decode step).
QList<int> contextSweepLengths(int contextLength, int maxLength = 0);
// 1, 2, 4 … maxSequences.
QList<int> throughputSweepSizes(int maxSequences = 32);

// Empty when the decode medians grow with L (a step down smaller than the two points' spreads counts as
// level); else a sentence that says where they did not and that the machine was too noisy for the claim.
QString contextSweepNoise(const QList<ContextPoint>& points);

void contextSweep(const logitscope::Model& model, logitscope::Backend& backend, const QList<int>& lengths,
                  const std::atomic<bool>* cancel, const std::function<void(const ContextPoint&)>& onPoint);
void throughputSweep(const logitscope::Model& model, logitscope::Backend& backend, const QList<int>& sizes,
                     int promptTokens, int steps, const std::atomic<bool>* cancel,
                     const std::function<void(const ThroughputPoint&)>& onPoint);

} // namespace logitscope::gui

Q_DECLARE_METATYPE(logitscope::gui::ContextPoint)
Q_DECLARE_METATYPE(logitscope::gui::ThroughputPoint)
