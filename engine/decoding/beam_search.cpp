// Beam search (see beam_search.h). Follows transformers' vectorised _beam_search step by step:
// _get_top_k_continuations, _get_running_beams_for_next_iteration, _update_finished_beams,
// _check_early_stop_heuristic and _beam_search_has_unfinished_sequences, for a batch of one.
#include "decoding/beam_search.h"

#include "common/error.h"
#include "decoding/fast_exp.h"
#include "decoding/sampler_chain.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>

namespace logitscope {

const char* beamFateName(BeamFate fate)
{
    switch (fate) {
    case BeamFate::Kept: return "kept";
    case BeamFate::Pruned: return "pruned";
    case BeamFate::Finished: return "finished";
    }
    return "kept";
}

namespace {

constexpr float kNegInf = -std::numeric_limits<float>::infinity();

struct Beam {
    int seq = -1;
    bool owned = false;        // forked here (the root sequence is the caller's)
    int node = 0;
    std::vector<int32_t> ids;  // generated so far
    float score = 0;           // cumulative logprob
    std::vector<float> logits; // next-token logits
};

struct Continuation {
    float score;   // beam score + token logprob
    float logprob;
    int beam;
    int32_t token;
};

struct Finished {
    float score;
    int node;
};

// log_softmax in float with a double partition sum.
void logSoftmax(std::span<const float> logits, std::vector<float>& out)
{
    out.resize(logits.size());
    float ref = kNegInf;
    for (float l : logits)
        ref = l > ref ? l : ref;
    double z = 0;
    for (float l : logits)
        z += double(fastExp(l - ref));
    const double logZ = double(ref) + std::log(z);
    for (size_t i = 0; i < logits.size(); ++i)
        out[i] = std::isfinite(logits[i]) ? float(double(logits[i]) - logZ) : kNegInf;
}

float lengthNorm(int len, double lengthPenalty) { return float(std::pow(double(len), lengthPenalty)); }

class SequenceGuard {
public:
    explicit SequenceGuard(BeamHost& host) : m_host(host) {}
    ~SequenceGuard()
    {
        for (int seq : m_owned) {
            try {
                m_host.release(seq);
            } catch (...) {
            }
        }
    }
    void own(int seq) { m_owned.push_back(seq); }
    void release(int seq)
    {
        m_owned.erase(std::find(m_owned.begin(), m_owned.end(), seq));
        m_host.release(seq);
    }
    void releaseAll()
    {
        std::vector<int> owned;
        owned.swap(m_owned);
        for (int seq : owned)
            m_host.release(seq);
    }

private:
    BeamHost& m_host;
    std::vector<int> m_owned;
};

} // namespace

BeamResult runBeamSearch(BeamHost& host, int rootSeq, std::span<const float> rootLogits,
                         std::span<const int32_t> promptIds, const SamplingParams& params,
                         const std::vector<int32_t>& eosIds, const SamplerVocabulary* texts)
{
    validate(params, -1);
    if (rootLogits.empty())
        throw Error("beam search: the root logits are empty");
    const int vocab = int(rootLogits.size());
    const int numBeams = params.numBeams;
    const int nEos = int(eosIds.size());
    const int keepCount = std::max(2, 1 + nEos) * numBeams; // HF beams_to_keep
    const double lp = params.lengthPenalty;
    const EarlyStopping early = params.earlyStopping;

    // Logits processors only (HF applies no warpers when do_sample=False).
    SamplingParams processorParams = params;
    processorParams.greedy = true;
    const SamplerChain processors(processorParams, SamplerChainOptions{0, false});
    const bool anyProcessor = !processors.stageNames().empty();

    BeamResult result;
    BeamTree& tree = result.tree;
    tree.nodes.push_back(BeamNode{}); // root

    SequenceGuard guard(host);
    std::vector<Beam> running(1);
    running[0].seq = rootSeq;
    running[0].logits.assign(rootLogits.begin(), rootLogits.end());

    std::vector<Finished> finished; // best first, at most numBeams
    bool improvable = true;         // HF is_early_stop_heuristic_unsatisfied
    auto isEos = [&eosIds](int32_t t) { return std::find(eosIds.begin(), eosIds.end(), t) != eosIds.end(); };

    std::vector<float> logprobs;
    std::vector<int32_t> order;
    std::vector<Continuation> candidates;
    for (int step = 0;; ++step) {
        const int genLen = step + 1; // new tokens once this step's token is appended
        const bool maxHit = genLen >= params.maxNewTokens;

        // a. The best continuations of every running beam: log_softmax -> processors -> + beam score.
        candidates.clear();
        for (int b = 0; b < int(running.size()); ++b) {
            Beam& beam = running[size_t(b)];
            if (int(beam.logits.size()) != vocab)
                throw Error("beam search: the host returned " + std::to_string(beam.logits.size())
                            + " logits, expected " + std::to_string(vocab));
            logSoftmax(beam.logits, logprobs);
            if (anyProcessor) {
                SamplingContext ctx;
                ctx.promptIds = promptIds;
                ctx.generatedIds = beam.ids;
                ctx.eosIds = eosIds;
                ctx.lane = uint64_t(b);
                ctx.step = uint64_t(step);
                ctx.vocab = texts; // llama.cpp samplers: DRY's breakers, logit_bias texts
                logprobs = processors.processedLogits(logprobs, ctx);
            }
            order.resize(size_t(vocab));
            std::iota(order.begin(), order.end(), 0);
            auto better = [&logprobs](int32_t a, int32_t c) {
                return logprobs[size_t(a)] != logprobs[size_t(c)] ? logprobs[size_t(a)] > logprobs[size_t(c)] : a < c;
            };
            const int take = std::min(keepCount, vocab);
            std::partial_sort(order.begin(), order.begin() + take, order.end(), better);
            for (int i = 0; i < take; ++i) {
                const int32_t t = order[size_t(i)];
                const float lpv = logprobs[size_t(t)];
                if (lpv == kNegInf)
                    break;
                candidates.push_back(Continuation{beam.score + lpv, lpv, b, t});
            }
        }
        std::sort(candidates.begin(), candidates.end(), [](const Continuation& a, const Continuation& c) {
            if (a.score != c.score)
                return a.score > c.score;
            return a.beam != c.beam ? a.beam < c.beam : a.token < c.token;
        });
        if (int(candidates.size()) > keepCount)
            candidates.resize(size_t(keepCount));

        // b. Record every candidate; pick the next running beams (best non-finishing ones).
        const int firstNode = int(tree.nodes.size());
        std::vector<int> nextRunning; // candidate indices
        std::vector<bool> hits(candidates.size());
        for (int r = 0; r < int(candidates.size()); ++r) {
            const Continuation& c = candidates[size_t(r)];
            hits[size_t(r)] = maxHit || isEos(c.token);
            BeamNode node;
            node.parent = running[size_t(c.beam)].node;
            node.token = c.token;
            node.step = step;
            node.rank = r;
            node.logprob = c.logprob;
            node.cumulative = c.score;
            node.score = c.score;
            node.fate = BeamFate::Pruned;
            tree.nodes.push_back(node);
            if (!hits[size_t(r)] && int(nextRunning.size()) < numBeams) {
                nextRunning.push_back(r);
                tree.nodes.back().fate = BeamFate::Kept;
            }
        }

        // c. Finished hypotheses: finishing candidates among the first numBeams ranks, when allowed.
        const bool allFinishedBefore = int(finished.size()) == numBeams;
        const bool canAdd = improvable && !(allFinishedBefore && early == EarlyStopping::True);
        const float norm = lengthNorm(genLen, lp);
        std::vector<Finished> merged = finished;
        for (int r = 0; r < std::min(numBeams, int(candidates.size())); ++r) {
            if (!hits[size_t(r)])
                continue;
            BeamNode& node = tree.nodes[size_t(firstNode + r)];
            node.score = candidates[size_t(r)].score / norm;
            node.finish = isEos(node.token) ? FinishReason::Eos : FinishReason::Length;
            if (canAdd)
                merged.push_back(Finished{node.score, firstNode + r});
        }
        std::stable_sort(merged.begin(), merged.end(), [](const Finished& a, const Finished& c) { return a.score > c.score; });
        if (int(merged.size()) > numBeams)
            merged.resize(size_t(numBeams));
        for (const Finished& f : merged)
            if (f.node >= firstNode)
                tree.nodes[size_t(f.node)].fate = BeamFate::Finished;
        finished = std::move(merged);

        // d. Can the running beams still beat the finished ones? (HF's early-stop heuristic)
        if (!nextRunning.empty()) {
            const int hypotheticalLen = (early == EarlyStopping::Never && lp > 0.0) ? params.maxNewTokens : genLen;
            const float bestRunning = candidates[size_t(nextRunning[0])].score / lengthNorm(hypotheticalLen, lp);
            const float worstFinished = int(finished.size()) == numBeams ? finished.back().score : -1.0e9f;
            improvable = improvable && bestRunning > worstFinished;
        }
        tree.steps = step + 1;
        const bool allFinished = int(finished.size()) == numBeams;
        const bool goOn = improvable && !(allFinished && early == EarlyStopping::True) && !maxHit && !nextRunning.empty();
        if (!goOn)
            break;

        // e. Next running beams: the first child of a forked parent takes over its sequence, the
        // others fork it (before anything is appended); parents without children are released.
        std::vector<Beam> next(nextRunning.size());
        std::vector<std::pair<int, int32_t>> feeds(nextRunning.size());
        for (int b = 0; b < int(running.size()); ++b) {
            Beam& parent = running[size_t(b)];
            bool reused = false;
            for (int k = 0; k < int(nextRunning.size()); ++k) {
                const Continuation& c = candidates[size_t(nextRunning[size_t(k)])];
                if (c.beam != b)
                    continue;
                Beam& child = next[size_t(k)];
                if (parent.owned && !reused) {
                    child.seq = parent.seq;
                    reused = true;
                } else {
                    child.seq = host.fork(parent.seq);
                    guard.own(child.seq);
                }
                child.owned = true;
                child.node = firstNode + nextRunning[size_t(k)];
                child.ids = parent.ids;
                child.ids.push_back(c.token);
                child.score = c.score;
                feeds[size_t(k)] = {child.seq, c.token};
            }
            if (parent.owned && !reused)
                guard.release(parent.seq);
        }
        std::vector<std::vector<float>> logits = host.decode(feeds);
        if (logits.size() != next.size())
            throw Error("beam search: the host returned logits for " + std::to_string(logits.size())
                        + " sequences, expected " + std::to_string(next.size()));
        for (size_t k = 0; k < next.size(); ++k)
            next[k].logits = std::move(logits[k]);
        running = std::move(next);
    }
    guard.releaseAll();

    // The best hypotheses, best first.
    const int count = std::min(params.numReturnSequences, int(finished.size()));
    for (int i = 0; i < count; ++i) {
        BeamHypothesis h;
        h.node = finished[size_t(i)].node;
        h.score = finished[size_t(i)].score;
        BeamNode& last = tree.nodes[size_t(h.node)];
        last.resultRank = i;
        h.cumulative = last.cumulative;
        h.finish = last.finish;
        for (int n = h.node; n > 0; n = tree.nodes[size_t(n)].parent)
            h.ids.push_back(tree.nodes[size_t(n)].token);
        std::reverse(h.ids.begin(), h.ids.end());
        result.hypotheses.push_back(std::move(h));
    }
    return result;
}

} // namespace logitscope
