// The context-length and throughput sweeps (Backend + KvCache directly, like `logitscope-cli bench`).
#include "models/sweeps.h"

#include <QObject>

#include "common/error.h"
#include "model/backend.h"
#include "model/config.h"
#include "model/kv_cache.h"
#include "model/model.h"
#include "models/kv_snapshot.h"

#include <algorithm>
#include <chrono>
#include <random>
#include <span>
#include <vector>

namespace logitscope::gui {

namespace {

using Clock = std::chrono::steady_clock;

double msSince(Clock::time_point t0)
{
    return std::chrono::duration<double, std::milli>(Clock::now() - t0).count();
}

void checkCancel(const std::atomic<bool>* cancel)
{
    if (cancel && cancel->load())
        throw logitscope::Cancelled();
}

std::vector<int32_t> randomIds(int n, int vocab, unsigned seed)
{
    std::mt19937 rng(seed);
    std::vector<int32_t> ids(size_t(std::max(0, n)));
    for (int32_t& id : ids)
        id = int32_t(rng() % uint32_t(vocab));
    return ids;
}

int32_t argmaxLast(const std::vector<float>& logits, int vocab)
{
    if (logits.size() < size_t(vocab))
        return 0;
    const auto first = logits.end() - vocab;
    return int32_t(std::max_element(first, logits.end()) - first);
}

// Runs one forward over `seqs`, each appending its tokens; returns each sequence's output.
std::vector<logitscope::SequenceOutput> run(logitscope::Backend& backend, logitscope::KvCache& kv, const std::vector<int>& seqs,
                                            const std::vector<std::vector<int32_t>>& tokens, const std::atomic<bool>* cancel)
{
    std::vector<logitscope::SequenceInput> in(seqs.size());
    for (size_t i = 0; i < seqs.size(); ++i) {
        const int pos0 = kv.length(seqs[i]);
        for (const auto& copy : kv.append(seqs[i], int(tokens[i].size()))) {
            if (kv.blocksNeeded() > backend.kvBlockCapacity())
                backend.reserveKvBlocks(kv.blocksNeeded());
            backend.copyKvBlock(copy.src, copy.dst, copy.tokens);
        }
        in[i].tokens = tokens[i];
        in[i].pos0 = pos0;
    }
    if (kv.blocksNeeded() > backend.kvBlockCapacity())
        backend.reserveKvBlocks(kv.blocksNeeded());
    for (size_t i = 0; i < seqs.size(); ++i)
        in[i].blockTable = kv.blockTable(seqs[i]);
    std::vector<logitscope::SequenceOutput> out(seqs.size());
    logitscope::ForwardOptions options;
    options.cancel = cancel;
    backend.forward(in, out, options);
    return out;
}

} // namespace

QList<int> contextSweepLengths(int contextLength, int maxLength)
{
    const int top = std::max(2, (maxLength > 0 ? std::min(maxLength, contextLength) : contextLength) - 1);
    QList<int> out;
    for (int l = 64; l < top; l *= 2)
        out.append(l);
    if (out.isEmpty() || out.back() != top)
        out.append(top);
    return out;
}

QList<int> throughputSweepSizes(int maxSequences)
{
    QList<int> out;
    for (int b = 1; b <= std::max(1, maxSequences); b *= 2)
        out.append(b);
    return out;
}

void contextSweep(const logitscope::Model& model, logitscope::Backend& backend, const QList<int>& lengths,
                  const std::atomic<bool>* cancel, const std::function<void(const ContextPoint&)>& onPoint)
{
    const auto& cfg = model.config();
    const quint64 perToken = cfg.kvBytesPerToken(backend.kvElementBytes());
    // Warm-up: the first forward pays for allocations the measured ones should not.
    {
        logitscope::KvCache kv(perToken);
        const int seq = kv.createSequence();
        run(backend, kv, {seq}, {randomIds(8, cfg.vocabSize, 7)}, cancel);
    }
    for (int length : lengths) {
        checkCancel(cancel);
        if (length < 1 || length + 1 > cfg.contextLength)
            continue;
        logitscope::KvCache kv(perToken);
        const int seq = kv.createSequence();
        const auto t0 = Clock::now();
        auto out = run(backend, kv, {seq}, {randomIds(length, cfg.vocabSize, 1234)}, cancel);
        ContextPoint p;
        p.length = length;
        p.prefillMs = msSince(t0);
        // One decode step takes well under a millisecond on small models: the median of many, each
        // the same step at L (the cache rewound in between), keeps interrupted steps from bending the
        // curve — at least 15 samples and 30 ms of them (at most 201); the quartiles give the spread.
        constexpr int kMinSamples = 15, kMaxSamples = 201;
        constexpr double kMinTotalMs = 30;
        std::vector<double> steps;
        double total = 0;
        const int32_t next = argmaxLast(out[0].logits, cfg.vocabSize);
        while (int(steps.size()) < kMaxSamples && (int(steps.size()) < kMinSamples || total < kMinTotalMs)) {
            checkCancel(cancel);
            kv.truncate(seq, length);
            const auto t1 = Clock::now();
            run(backend, kv, {seq}, {{next}}, cancel);
            steps.push_back(msSince(t1));
            total += steps.back();
        }
        std::sort(steps.begin(), steps.end());
        p.decodeMs = steps[steps.size() / 2];
        p.decodeLowMs = steps[steps.size() / 4];
        p.decodeHighMs = steps[steps.size() * 3 / 4];
        p.decodeSamples = int(steps.size());
        p.attentionScoreBytes = attentionScoreBytes(length, cfg.heads);
        p.kvBytes = quint64(length) * perToken;
        onPoint(p);
    }
}

QString contextSweepNoise(const QList<ContextPoint>& points)
{
    for (int i = 1; i < points.size(); ++i) {
        const ContextPoint& a = points[i - 1];
        const ContextPoint& b = points[i];
        const double spread = std::max(a.decodeHighMs - a.decodeLowMs, 0.0) + std::max(b.decodeHighMs - b.decodeLowMs, 0.0);
        if (a.decodeMs - b.decodeMs > spread)
            return QObject::tr("This run is too noisy for the claim: one decode step took %1 ms at L = %2 but %3 ms at "
                               "L = %4 (median of %5 steps, quartiles %6–%7 ms). Something else used the cores; run "
                               "the sweep again.")
                .arg(a.decodeMs, 0, 'f', 3)
                .arg(a.length)
                .arg(b.decodeMs, 0, 'f', 3)
                .arg(b.length)
                .arg(b.decodeSamples)
                .arg(b.decodeLowMs, 0, 'f', 3)
                .arg(b.decodeHighMs, 0, 'f', 3);
    }
    return {};
}

void throughputSweep(const logitscope::Model& model, logitscope::Backend& backend, const QList<int>& sizes,
                     int promptTokens, int steps, const std::atomic<bool>* cancel,
                     const std::function<void(const ThroughputPoint&)>& onPoint)
{
    const auto& cfg = model.config();
    const quint64 perToken = cfg.kvBytesPerToken(backend.kvElementBytes());
    promptTokens = std::clamp(promptTokens, 1, std::max(1, cfg.contextLength - steps - 1));
    steps = std::max(1, std::min(steps, cfg.contextLength - promptTokens - 1));
    {
        logitscope::KvCache kv(perToken); // warm-up, as for the context sweep
        const int seq = kv.createSequence();
        run(backend, kv, {seq}, {randomIds(8, cfg.vocabSize, 7)}, cancel);
    }
    for (int b : sizes) {
        checkCancel(cancel);
        if (b < 1)
            continue;
        // One prompt, read once; B sequences fork it (sharing its blocks) and decode together.
        logitscope::KvCache kv(perToken);
        const int prompt = kv.createSequence();
        auto out = run(backend, kv, {prompt}, {randomIds(promptTokens, cfg.vocabSize, 99)}, cancel);
        const int32_t first = argmaxLast(out[0].logits, cfg.vocabSize);
        std::vector<int> seqs;
        std::vector<std::vector<int32_t>> tokens;
        for (int i = 0; i < b; ++i) {
            seqs.push_back(kv.fork(prompt));
            tokens.push_back({int32_t((first + i) % cfg.vocabSize)}); // distinct continuations
        }
        run(backend, kv, seqs, tokens, cancel); // warm-up step at this batch size
        for (size_t i = 0; i < seqs.size(); ++i)
            tokens[i] = {argmaxLast(out[0].logits, cfg.vocabSize)};
        const auto t0 = Clock::now();
        for (int s = 0; s < steps; ++s) {
            checkCancel(cancel);
            auto o = run(backend, kv, seqs, tokens, cancel);
            for (size_t i = 0; i < seqs.size(); ++i)
                tokens[i] = {argmaxLast(o[i].logits, cfg.vocabSize)};
        }
        const double ms = msSince(t0);
        ThroughputPoint p;
        p.sequences = b;
        p.msPerStep = ms / steps;
        p.tokensPerSecond = ms > 0 ? b * steps * 1000.0 / ms : 0;
        onPoint(p);
    }
}

} // namespace logitscope::gui
