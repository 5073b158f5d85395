// SamplerChain (see sampler_chain.h): builds the stage list, runs it with snapshots, chooses a token.
#include "decoding/sampler_chain.h"

#include "decoding/grammar/grammar_stage.h"
#include "decoding/philox.h"
#include "decoding/sampler_stages.h"
#include "decoding/sampler_stages_llamacpp.h"

#include <algorithm>
#include <cmath>
#include <limits>

namespace logitscope {

namespace {

constexpr float kNegInf = -std::numeric_limits<float>::infinity();

enum class StageId {
    Repetition, NoRepeatNgram, MinNewTokens, PresenceFrequency, Temperature, TopK, TopP, MinP, Typical,
    // --- llama.cpp samplers ---
    LogitBias, Dry, Xtc, TopNSigma, PlainTemperature, Mirostat,
};

std::vector<StageId> stageOrder(const SamplingParams& p)
{
    using S = StageId;
    switch (p.order) {
    case SamplerOrder::HuggingFace:
        return {S::LogitBias, S::Repetition, S::NoRepeatNgram, S::MinNewTokens, S::PresenceFrequency, S::Dry,
                S::Temperature, S::TopK, S::TopP, S::MinP, S::Typical, S::TopNSigma, S::Xtc};
    case SamplerOrder::Vllm:
        return {S::LogitBias, S::MinNewTokens, S::NoRepeatNgram, S::Repetition, S::PresenceFrequency, S::Dry,
                S::Temperature, S::MinP, S::TopK, S::TopP, S::Typical, S::TopNSigma, S::Xtc};
    case SamplerOrder::LlamaCpp:
        // common_sampler_init at c392e50: logit-bias first; then mirostat's own chain, top-n-sigma's own
        // chain, or the configurable list (penalties, dry, top_k, typ_p, top_p, min_p, xtc, temperature).
        if (p.mirostat != 0)
            return {S::LogitBias, S::MinNewTokens, S::NoRepeatNgram, S::PlainTemperature, S::Mirostat};
        if (p.topNSigma > 0)
            return {S::LogitBias, S::MinNewTokens, S::NoRepeatNgram, S::TopK, S::PlainTemperature, S::TopNSigma};
        return {S::LogitBias, S::MinNewTokens, S::NoRepeatNgram, S::Repetition, S::PresenceFrequency, S::Dry,
                S::TopK, S::Typical, S::TopP, S::MinP, S::Xtc, S::Temperature};
    }
    return {};
}

std::unique_ptr<SamplerStage> makeStage(StageId id, const SamplingParams& p)
{
    switch (id) {
    case StageId::Repetition:
        if (p.repetitionPenalty != 1.0)
            return std::make_unique<RepetitionPenaltyStage>(float(p.repetitionPenalty));
        break;
    case StageId::NoRepeatNgram:
        if (p.noRepeatNgram > 0)
            return std::make_unique<NoRepeatNgramStage>(p.noRepeatNgram);
        break;
    case StageId::MinNewTokens:
        if (p.minNewTokens > 0)
            return std::make_unique<MinNewTokensStage>(p.minNewTokens);
        break;
    case StageId::PresenceFrequency:
        if (p.presencePenalty != 0.0 || p.frequencyPenalty != 0.0)
            return std::make_unique<PresenceFrequencyStage>(float(p.presencePenalty), float(p.frequencyPenalty));
        break;
    case StageId::Temperature:
        if (p.dynatempRange > 0.0 && p.temperature > 0.0) // --- llama.cpp samplers: dynatemp replaces it ---
            return std::make_unique<DynatempStage>(float(p.temperature), float(p.dynatempRange),
                                                   float(p.dynatempExponent));
        [[fallthrough]];
    case StageId::PlainTemperature:
        if (p.temperature != 1.0 && p.temperature > 0.0)
            return std::make_unique<TemperatureStage>(float(p.temperature));
        break;
    case StageId::TopK:
        if (p.topK > 0)
            return std::make_unique<TopKStage>(p.topK);
        break;
    case StageId::TopP:
        if (p.topP < 1.0)
            return std::make_unique<TopPStage>(p.topP);
        break;
    case StageId::MinP:
        if (p.minP > 0.0)
            return std::make_unique<MinPStage>(p.minP);
        break;
    case StageId::Typical:
        if (p.typicalP < 1.0)
            return std::make_unique<TypicalPStage>(p.typicalP);
        break;
    // --- llama.cpp samplers ---
    case StageId::LogitBias:
        if (!p.logitBias.empty())
            return std::make_unique<LogitBiasStage>(p.logitBias);
        break;
    case StageId::Dry:
        if (p.dryMultiplier != 0.0 && p.dryPenaltyLastN != 0)
            return std::make_unique<DryStage>(float(p.dryMultiplier), float(p.dryBase), p.dryAllowedLength,
                                              p.dryPenaltyLastN, p.drySequenceBreakers);
        break;
    case StageId::Xtc:
        if (p.xtcProbability > 0.0 && p.xtcThreshold <= 0.5)
            return std::make_unique<XtcStage>(float(p.xtcProbability), float(p.xtcThreshold), p.seed);
        break;
    case StageId::TopNSigma:
        if (p.topNSigma > 0.0)
            return std::make_unique<TopNSigmaStage>(float(p.topNSigma));
        break;
    case StageId::Mirostat:
        if (p.mirostat == 1 || p.mirostat == 2)
            return std::make_unique<MirostatStage>(p.mirostat, float(p.mirostatTau), float(p.mirostatEta));
        break;
    }
    return nullptr;
}

} // namespace

SamplerChain::SamplerChain(const SamplingParams& params, SamplerChainOptions options)
    : m_params(params), m_options(options), m_greedy(params.isGreedy())
{
    // --- constrained decoding: the grammar stage runs first, whatever the order ---
    if (hasGrammar(params))
        m_stages.push_back(std::make_unique<GrammarStage>());
    // --- end constrained decoding ---
    for (StageId id : stageOrder(params)) {
        std::unique_ptr<SamplerStage> stage = makeStage(id, params);
        if (stage && !(m_greedy && stage->isWarper())) {
            if (id == StageId::Mirostat)
                m_mirostat = static_cast<const MirostatStage*>(stage.get());
            m_stages.push_back(std::move(stage));
        }
    }
}

SamplerChain::~SamplerChain() = default;
SamplerChain::SamplerChain(SamplerChain&&) noexcept = default;
SamplerChain& SamplerChain::operator=(SamplerChain&&) noexcept = default;

std::vector<std::string> SamplerChain::stageNames() const
{
    std::vector<std::string> names;
    for (const auto& s : m_stages)
        names.emplace_back(s->name());
    return names;
}

StageSnapshot SamplerChain::snapshot(std::string_view name, const StageSnapshot* previous, bool reuseTopIds) const
{
    StageSnapshot snap;
    snap.name = std::string(name);
    snap.survivors = m_set.survivors();
    const SoftmaxStats& st = m_set.stats();
    snap.entropy = float(st.entropy());
    const int n = std::max(0, m_options.snapshotTop);
    if (reuseTopIds && previous && int(previous->top.size()) == std::min(n, snap.survivors)) {
        // An order-preserving stage (temperature): same ids, new logits and probabilities.
        const double logZ = st.logPartition();
        snap.top.reserve(previous->top.size());
        for (const Candidate& old : previous->top) {
            const Candidate* c = m_set.find(old.id);
            snap.top.push_back(Candidate{c->id, c->logit, float(std::exp(double(c->logit) - logZ))});
        }
    } else {
        snap.top = m_set.top(n);
    }
    snap.penalised = m_set.changes();
    return snap;
}

void SamplerChain::run(std::span<const float> logits, const SamplingContext& ctx,
                       std::vector<StageSnapshot>* snapshots) const
{
    m_set.assign(logits);
    if (snapshots) {
        snapshots->clear();
        snapshots->reserve(m_stages.size() + 1);
        snapshots->push_back(snapshot("raw", nullptr, false));
    }
    for (const auto& stage : m_stages) {
        m_set.clearChanges();
        stage->apply(m_set, ctx);
        if (snapshots) {
            snapshots->push_back(snapshot(stage->name(), &snapshots->back(), stage->preservesOrder()));
            if (const auto* g = dynamic_cast<const GrammarStage*>(stage.get())) // constrained decoding
                g->annotate(snapshots->back(), m_options.snapshotTop);
            snapshots->back().detail = stage->detail(); // llama.cpp samplers: mu, T, the XTC draw
        }
    }
    m_set.clearChanges();
}

SampleResult SamplerChain::sample(std::span<const float> logits, const SamplingContext& ctx) const
{
    SampleResult result;
    result.greedy = m_greedy;
    run(logits, ctx, m_options.recordStages ? &result.stages : nullptr);
    const int n = m_set.survivors();
    if (n == 0)
        return result; // every token masked: nothing to choose (chosen stays -1)
    const SoftmaxStats& st = m_set.stats();
    const double logZ = st.logPartition();
    std::span<Candidate> live = m_set.live();
    const Candidate* chosen = nullptr;
    if (m_greedy) {
        for (const Candidate& c : live)
            if (!chosen || c.logit > chosen->logit || (c.logit == chosen->logit && c.id < chosen->id))
                chosen = &c;
    } else {
        const float u = philoxUniform(m_params.seed, ctx.lane, ctx.step);
        result.draw = u;
        m_set.fillProbs();
        live = m_set.live();
        // Walk the survivors in ascending id order (independent of how the stages ordered them).
        const bool sparse = int64_t(n) * 16 < int64_t(m_set.vocabSize());
        int32_t pickId = -1;
        if (sparse) {
            m_drawScratch.clear();
            for (const Candidate& c : live)
                m_drawScratch.emplace_back(c.id, c.prob);
            std::sort(m_drawScratch.begin(), m_drawScratch.end());
            double total = 0;
            for (const auto& e : m_drawScratch)
                total += double(e.second);
            const double target = double(u) * total;
            double cum = 0;
            for (const auto& e : m_drawScratch) {
                cum += double(e.second);
                pickId = e.first;
                if (cum > target && e.second > 0)
                    break;
            }
        } else {
            m_denseScratch.assign(size_t(m_set.vocabSize()), 0.0f);
            for (const Candidate& c : live)
                m_denseScratch[size_t(c.id)] = c.prob;
            double total = 0;
            for (float p : m_denseScratch)
                total += double(p);
            const double target = double(u) * total;
            double cum = 0;
            for (size_t id = 0; id < m_denseScratch.size(); ++id) {
                const float p = m_denseScratch[id];
                if (p <= 0)
                    continue;
                cum += double(p);
                pickId = int32_t(id);
                if (cum > target)
                    break;
            }
        }
        chosen = m_set.find(pickId);
    }
    result.chosen = chosen->id;
    result.chosenLogprob = float(double(chosen->logit) - logZ);
    result.chosenProb = float(std::exp(double(chosen->logit) - logZ));
    if (m_mirostat) { // --- llama.cpp samplers: mu follows the surprise of the chosen token ---
        result.mirostatMuIn = m_mirostat->startMu(ctx);
        result.mirostatMu = m_mirostat->nextMu(result.mirostatMuIn, result.chosenProb);
    }
    return result;
}

float SamplerChain::mirostatMuAfter(const SampleResult& result, float prob) const
{
    if (!m_mirostat || !std::isfinite(result.mirostatMuIn))
        return std::numeric_limits<float>::quiet_NaN();
    return m_mirostat->nextMu(result.mirostatMuIn, prob);
}

std::vector<float> SamplerChain::processedLogits(std::span<const float> logits, const SamplingContext& ctx) const
{
    run(logits, ctx, nullptr);
    return m_set.denseLogits();
}

std::vector<float> SamplerChain::processedLogprobs(std::span<const float> logits, const SamplingContext& ctx) const
{
    run(logits, ctx, nullptr);
    std::vector<float> out = m_set.denseLogits();
    if (m_set.survivors() == 0)
        return out;
    const double logZ = m_set.stats().logPartition();
    for (float& v : out)
        if (v != kNegInf)
            v = float(double(v) - logZ);
    return out;
}

} // namespace logitscope
