// Session: prefill, lanes, stepping, rewinding and branching over a paged KV cache.
// The prompt lives in one frozen KV sequence; every lane (and every beam) forks from it, so the
// prompt's blocks are stored once however many lanes look at it.
#include "decoding/session.h"

#include "decoding/sampler_stages_llamacpp.h"

#include "common/error.h"
#include "decoding/grammar/grammar_stage.h"
#include "model/ops.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <limits>
#include <numeric>

namespace logitscope {

namespace {

using Clock = std::chrono::steady_clock;

double msSince(Clock::time_point t0)
{
    return std::chrono::duration<double, std::milli>(Clock::now() - t0).count();
}

std::vector<TokenLogprob> topLogprobs(const std::vector<float>& logprobs, int k)
{
    std::vector<int32_t> ids(logprobs.size());
    std::iota(ids.begin(), ids.end(), 0);
    k = std::min<int>(k, int(ids.size()));
    std::partial_sort(ids.begin(), ids.begin() + k, ids.end(), [&](int32_t a, int32_t b) {
        return logprobs[size_t(a)] > logprobs[size_t(b)] || (logprobs[size_t(a)] == logprobs[size_t(b)] && a < b);
    });
    std::vector<TokenLogprob> out;
    out.reserve(size_t(k));
    for (int i = 0; i < k; ++i)
        out.push_back({ids[size_t(i)], logprobs[size_t(ids[size_t(i)])]});
    return out;
}

} // namespace

struct Session::Lane {
    LaneInfo info;
    int seq = -1;                    // KV sequence
    SamplingParams params;
    std::unique_ptr<SamplerChain> chain;
    std::vector<int32_t> generated;
    std::vector<StepRecord> history;
    std::vector<float> logits;       // (V) raw logits for the next choice
    std::vector<float> attention;    // (L, H, pos + 1) attention row of the last forwarded token
    std::vector<float> residual;     // (L, C) residual stream of the last forwarded token (logit lens)
    double lastForwardMs = 0;        // the forward pass that produced `logits`
    StopMatcher stop;
    std::unique_ptr<GrammarConstraint> grammar; // constrained decoding: state after `generated`, or none
};

Session::Session(std::shared_ptr<const Model> model, std::unique_ptr<Backend> backend, SessionOptions options)
    : m_model(std::move(model)), m_backend(std::move(backend)), m_options(options),
      m_kv(m_model->config().kvBytesPerToken(m_backend->kvElementBytes()))
{
}

Session::~Session() = default;

Session::Lane& Session::lane_(int id)
{
    auto it = m_lanes.find(id);
    if (it == m_lanes.end())
        throw Error("no lane " + std::to_string(id));
    return *it->second;
}

const Session::Lane& Session::lane_(int id) const
{
    auto it = m_lanes.find(id);
    if (it == m_lanes.end())
        throw Error("no lane " + std::to_string(id));
    return *it->second;
}

std::vector<int32_t> Session::tokenize(const std::string& text, bool addSpecial, bool parseSpecial) const
{
    return m_model->tokenizer().encode(text, EncodeOptions{addSpecial, parseSpecial});
}

void Session::ensureKvStorage(const std::vector<BlockCopy>& copies)
{
    if (m_kv.blocksNeeded() > m_backend->kvBlockCapacity())
        m_backend->reserveKvBlocks(std::max(m_kv.blocksNeeded(), m_backend->kvBlockCapacity() * 3 / 2));
    for (const BlockCopy& c : copies)
        m_backend->copyKvBlock(c.src, c.dst, c.tokens);
}

std::vector<SequenceOutput> Session::forwardSequences(const std::vector<int>& seqs,
                                                      const std::vector<std::vector<int32_t>>& tokens,
                                                      const LogitRows& allLogits,
                                                      bool capture, bool residual)
{
    std::vector<int> pos0(seqs.size());
    std::vector<BlockCopy> copies;
    for (size_t i = 0; i < seqs.size(); ++i) {
        pos0[i] = m_kv.length(seqs[i]);
        auto c = m_kv.append(seqs[i], int(tokens[i].size()));
        copies.insert(copies.end(), c.begin(), c.end());
    }
    try {
        ensureKvStorage(copies);
        std::vector<SequenceInput> batch(seqs.size());
        for (size_t i = 0; i < seqs.size(); ++i) {
            batch[i].tokens = tokens[i];
            batch[i].pos0 = pos0[i];
            batch[i].blockTable = m_kv.blockTable(seqs[i]);
            batch[i].allLogits = allLogits;
        }
        std::vector<SequenceOutput> out(seqs.size());
        ForwardOptions opt;
        opt.captureAttention = capture;
        opt.captureResidual = residual;
        opt.cancel = m_cancel;
        opt.progress = m_progress;
        m_backend->forward(batch, out, opt);
        // Damaged weights (NaN or infinite scales in a quantized file, say) leave nothing to choose from:
        // say so, rather than let the sampler find no candidate.
        const size_t V = size_t(m_model->config().vocabSize);
        for (const SequenceOutput& o : out)
            if (o.logits.size() >= V && std::none_of(o.logits.end() - long(V), o.logits.end(),
                                                     [](float v) { return std::isfinite(v); }))
                throw Error(m_model->path() + ": the model computed no finite next-token logit (all NaN or infinite): "
                            "its weights are damaged or out of range");
        return out;
    } catch (...) {
        // Nothing half-applied: the positions appended above are dropped again.
        for (size_t i = 0; i < seqs.size(); ++i)
            if (m_kv.contains(seqs[i]))
                m_kv.truncate(seqs[i], pos0[i]);
        throw;
    }
}

PrefillRecord Session::prefill(const std::vector<int32_t>& promptIds, const SamplingParams& settings)
{
    const ModelConfig& cfg = m_model->config();
    if (promptIds.empty())
        throw Error("prompt: empty (nothing to feed the model)");
    if (int(promptIds.size()) >= cfg.contextLength)
        throw Error("prompt: " + std::to_string(promptIds.size()) + " tokens do not fit the context length of " +
                    std::to_string(cfg.contextLength) + " (at least one position must stay free to generate)");
    for (int32_t id : promptIds)
        if (id < 0 || id >= cfg.vocabSize)
            throw Error("prompt: token id " + std::to_string(id) + " is outside the vocabulary (0.." +
                        std::to_string(cfg.vocabSize - 1) + ")");
    validate(settings, cfg.contextLength - int(promptIds.size()));
    checkLogitBias(settings);

    // Start over; a failed prefill leaves an empty session, never a half-built one.
    m_lanes.clear();
    m_kv = KvCache(cfg.kvBytesPerToken(m_backend->kvElementBytes()));
    m_prompt.clear();
    m_prefill = {};

    // Prompt log-probs: the prefill's logits of every position, scored as they come and then dropped.
    std::vector<PromptTokenScore> scores;
    LogitRows scoring;
    if (m_options.promptLogprobs) {
        scores.resize(promptIds.size());
        scoring = [&](int t0, int rows, std::span<const float> logits) {
            scorePromptRows(scores, promptIds, t0, rows, logits, cfg.vocabSize);
        };
    }

    const int promptSeq = m_kv.createSequence();
    const auto t0 = Clock::now();
    std::vector<SequenceOutput> out;
    try {
        out = forwardSequences({promptSeq}, {promptIds}, scoring, m_options.captureAttention, m_options.logitLens);
    } catch (...) {
        m_kv = KvCache(cfg.kvBytesPerToken(m_backend->kvElementBytes()));
        throw;
    }
    const double ms = msSince(t0) - out[0].scoringMs;
    m_prompt = promptIds;
    m_promptSeq = promptSeq;

    const int T = int(promptIds.size());
    PrefillRecord rec;
    rec.ids = promptIds;
    rec.layers = cfg.layers;
    rec.heads = cfg.heads;
    rec.ms = ms;
    rec.scoringMs = out[0].scoringMs;
    rec.tokensPerSecond = ms > 0 ? T * 1000.0 / ms : 0;
    rec.attention = std::move(out[0].attention);
    rec.promptScores = std::move(scores);
    m_promptLogits = std::move(out[0].logits);
    m_prefill = rec;

    auto root = std::make_unique<Lane>();
    root->info.id = m_nextLane = 0;
    root->info.kind = LaneKind::Root;
    root->seq = m_kv.fork(m_promptSeq);
    root->logits = m_promptLogits;
    root->residual = std::move(out[0].residual); // the last prompt position's, as a decode step would give
    root->lastForwardMs = ms;
    if (m_options.captureAttention && !rec.attention.empty()) {
        // The last prompt token's row, as a decode step would have produced it.
        root->attention.resize(size_t(cfg.layers) * cfg.heads * T);
        for (int l = 0; l < cfg.layers; ++l)
            for (int h = 0; h < cfg.heads; ++h)
                std::copy_n(&rec.attention[((size_t(l) * cfg.heads + h) * T + (T - 1)) * T], T,
                            &root->attention[(size_t(l) * cfg.heads + h) * T]);
    }
    m_lanes.emplace(m_nextLane++, std::move(root));
    applySampling(lane_(0), settings);
    return rec;
}

std::unique_ptr<GrammarConstraint> Session::makeGrammar(const Lane& lane, const SamplingParams& params) const
{
    std::shared_ptr<const GrammarMatcher> matcher = compileGrammar(params);
    if (!matcher)
        return nullptr;
    if (!m_grammarVocab)
        m_grammarVocab = GrammarVocabulary::fromTokenizer(m_model->tokenizer());
    auto g = std::make_unique<GrammarConstraint>();
    g->matcher = std::move(matcher);
    g->vocab = m_grammarVocab;
    g->state = g->matcher->initial();
    for (size_t i = 0; i < lane.generated.size(); ++i)
        if (!g->accept(lane.generated[i]))
            throw Error(std::string(params.grammar.empty() ? "json_schema" : "grammar") + ": lane " +
                        std::to_string(lane.info.id) + "'s text so far does not fit it (token " + std::to_string(i) +
                        " is forbidden there); rewind before setting it, since a grammar covers the whole output");
    return g;
}

std::string Session::grammarPosition(int id) const
{
    const Lane& l = lane_(id);
    return l.grammar ? l.grammar->position() : std::string();
}

void Session::applySampling(Lane& lane, const SamplingParams& params)
{
    std::unique_ptr<GrammarConstraint> grammar = makeGrammar(lane, params); // may throw: nothing changed yet
    lane.grammar = std::move(grammar);
    SamplerChainOptions opt;
    opt.snapshotTop = m_options.topCandidates;
    lane.chain = std::make_unique<SamplerChain>(params, opt);
    lane.params = params;
    lane.stop = StopMatcher(params.stop);
    for (const StepRecord& r : lane.history)
        lane.stop.feed(r.bytes);
}

std::vector<LaneInfo> Session::lanes() const
{
    std::vector<LaneInfo> out;
    for (const auto& [id, l] : m_lanes)
        out.push_back(l->info);
    return out;
}

const LaneInfo& Session::lane(int id) const { return lane_(id).info; }

int Session::fork(int from)
{
    const Lane& src = lane_(from);
    auto l = std::make_unique<Lane>();
    l->info = src.info;
    l->info.id = m_nextLane;
    l->info.kind = LaneKind::Lane;
    l->info.parent = from;
    l->info.forkStep = int(src.generated.size());
    l->seq = m_kv.fork(src.seq);
    l->params = src.params;
    l->generated = src.generated;
    l->history = src.history;
    for (StepRecord& r : l->history)
        r.lane = l->info.id;
    l->logits = src.logits;
    l->attention = src.attention;
    l->residual = src.residual;
    l->lastForwardMs = src.lastForwardMs;
    applySampling(*l, src.params);
    m_lanes.emplace(m_nextLane, std::move(l));
    return m_nextLane++;
}

void Session::closeLane(int id)
{
    Lane& l = lane_(id);
    if (l.info.kind == LaneKind::Root)
        throw Error("lane " + std::to_string(id) + ": the root lane cannot be closed");
    m_kv.release(l.seq);
    m_lanes.erase(id);
}

void Session::setSampling(int id, const SamplingParams& params)
{
    Lane& l = lane_(id);
    validate(params, m_model->config().contextLength - int(m_prompt.size()));
    checkLogitBias(params);
    applySampling(l, params);
}

const SamplingParams& Session::sampling(int id) const { return lane_(id).params; }

// --- llama.cpp samplers: logit_bias ids must be in this model's vocabulary ---
void Session::checkLogitBias(const SamplingParams& params) const
{
    const int V = m_model->config().vocabSize;
    for (size_t i = 0; i < params.logitBias.size(); ++i)
        if (params.logitBias[i].id >= V)
            throw Error("sampling setting 'logit_bias' entry " + std::to_string(i) + ": token id " +
                        std::to_string(params.logitBias[i].id) + " is outside the vocabulary (0.." +
                        std::to_string(V - 1) + ")");
}

const SamplerVocabulary* Session::samplerVocabFor(const SamplingParams& p) const
{
    const bool needsTexts = (p.dryMultiplier != 0.0 && p.dryPenaltyLastN != 0) ||
                            std::any_of(p.logitBias.begin(), p.logitBias.end(), [](const LogitBias& b) { return b.id < 0; });
    if (!needsTexts)
        return nullptr;
    if (!m_samplerVocab)
        m_samplerVocab = SamplerVocabulary::fromTokenizer(m_model->tokenizer());
    return m_samplerVocab.get();
}

SamplingContext Session::contextFor(const Lane& l) const
{
    SamplingContext ctx;
    ctx.promptIds = m_prompt;
    ctx.generatedIds = l.generated;
    ctx.eosIds = m_model->tokenizer().eosIds();
    ctx.lane = 0; // one RNG stream for every lane: lanes differ only by their settings
    ctx.step = uint64_t(l.generated.size());
    ctx.grammar = l.grammar.get();
    // --- llama.cpp samplers: token texts when a stage needs them; mu from the lane's last step ---
    ctx.vocab = samplerVocabFor(l.params);
    if (!l.history.empty())
        ctx.mirostatMu = l.history.back().sample.mirostatMu; // NaN when that step had no mirostat: start over
    return ctx;
}

StepRecord Session::preview(int id) const
{
    const Lane& l = lane_(id);
    if (l.info.finished)
        throw Error("lane " + std::to_string(id) + " has finished (" + finishReasonName(l.info.finish) + ")");
    const auto t0 = Clock::now();
    StepRecord rec;
    rec.sample = l.chain->sample(l.logits, contextFor(l));
    rec.sampleMs = msSince(t0);
    if (rec.sample.chosen < 0 && l.grammar)
        throw Error("lane " + std::to_string(id) + ", step " + std::to_string(l.generated.size()) +
                    ": the grammar allows nothing here (" + l.grammar->position() + ")");
    fillRecord(l, rec, rec.sample.chosen, false);
    return rec;
}

void Session::fillRecord(const Lane& l, StepRecord& rec, int32_t token, bool forced) const
{
    const Tokenizer& tok = m_model->tokenizer();
    rec.lane = l.info.id;
    rec.step = int(l.generated.size());
    rec.position = int(m_prompt.size() + l.generated.size());
    rec.chosen = token;
    rec.forced = forced;
    rec.bytes = tok.isSpecial(token) ? std::string() : tok.tokenBytes(token);
    const std::vector<float> lp = ops::logSoftmax(l.logits); // the arithmetic every raw log-prob uses
    rec.chosenLogprob = lp[size_t(token)];
    rec.rawTop = topLogprobs(lp, m_options.topCandidates);
    rec.chosenProb = forced ? 0.0f : rec.sample.chosenProb;
    if (forced) {
        // Where the forced token stands in the processed distribution (0 when the chain removed it).
        const std::vector<float> processed = l.chain->processedLogprobs(l.logits, contextFor(l));
        const float v = processed[size_t(token)];
        rec.chosenProb = std::isfinite(v) ? std::exp(v) : 0.0f;
    }
}

void Session::fillLens(const Lane& l, StepRecord& rec)
{
    // The residual is that of the forward pass behind l.logits; empty when the lens was off for it.
    if (!m_options.logitLens || l.residual.empty())
        return;
    const auto t0 = Clock::now();
    // On the backend's device when it has a lens of its own (only the top-k crosses back), else here.
    std::vector<LayerLens> layers;
    if (!m_backend->logitLens(l.residual, m_options.lensTop, rec.chosen, layers)) {
        if (!m_lens)
            m_lens = std::make_unique<LogitLens>(m_model);
        layers = m_lens->run(l.residual, m_options.lensTop, rec.chosen);
    }
    rec.lens.reserve(layers.size());
    for (const LayerLens& layer : layers) {
        std::vector<TokenLogprob> top;
        top.reserve(layer.top.size());
        for (const LensToken& t : layer.top)
            top.push_back({t.id, t.logprob});
        rec.lens.push_back(std::move(top));
        rec.lensChosenRank.push_back(layer.chosenRank);
        rec.lensChosenProb.push_back(std::exp(layer.chosenLogprob));
    }
    rec.lensMs = msSince(t0);
}

StepRecord Session::step(int id) { return stepLanes({id}).front(); }

StepRecord Session::force(int id, int32_t token)
{
    const int V = m_model->config().vocabSize;
    if (token < 0 || token >= V)
        throw Error("token id " + std::to_string(token) + " is outside the vocabulary (0.." + std::to_string(V - 1) + ")");
    return advance({id}, {token}).front();
}

std::vector<StepRecord> Session::stepLanes(const std::vector<int>& ids)
{
    return advance(ids, {});
}

std::vector<StepRecord> Session::advance(const std::vector<int>& ids, const std::vector<int32_t>& forced)
{
    const int context = m_model->config().contextLength;
    const std::vector<int32_t> eos = m_model->tokenizer().eosIds();
    std::vector<StepRecord> records;
    std::vector<int> toForward;
    std::vector<std::vector<int32_t>> tokens;
    for (size_t i = 0; i < ids.size(); ++i) {
        Lane& l = lane_(ids[i]);
        if (l.info.finished)
            throw Error("lane " + std::to_string(ids[i]) + " has finished (" + finishReasonName(l.info.finish) +
                        "); rewind or reset to continue");
        StepRecord rec;
        const auto t0 = Clock::now();
        int32_t token;
        if (forced.empty()) {
            rec.sample = l.chain->sample(l.logits, contextFor(l));
            token = rec.sample.chosen;
        } else {
            token = forced[i];
            rec.sample = l.chain->sample(l.logits, contextFor(l)); // the distribution the user overrode
            if (std::isfinite(rec.sample.mirostatMuIn)) { // mirostat: mu follows the forced token's surprise
                const std::vector<float> processed = l.chain->processedLogprobs(l.logits, contextFor(l));
                const float v = token >= 0 && token < int(processed.size()) ? processed[size_t(token)] : -INFINITY;
                rec.sample.mirostatMu = l.chain->mirostatMuAfter(rec.sample, std::isfinite(v) ? std::exp(v) : 0.0f);
            }
        }
        rec.sampleMs = msSince(t0);
        // --- constrained decoding: nothing allowed, or a forced token the grammar forbids, ends the step
        // with an error and leaves every lane of this call as it was ---
        if (l.grammar && (token < 0 || !l.grammar->allows(token))) {
            const std::string where = l.grammar->position();
            for (size_t k = 0; k < i; ++k) {
                Lane& done = lane_(ids[k]);
                done.generated.pop_back();
                done.history.pop_back();
                done.info.finished = false;
                done.info.finish = FinishReason::None;
                applySampling(done, done.params);
            }
            const std::string at = "lane " + std::to_string(ids[i]) + ", step " + std::to_string(l.generated.size());
            if (token < 0)
                throw Error(at + ": the grammar allows nothing here (" + where + ")");
            throw Error(at + ": token id " + std::to_string(token) + " is forbidden by the grammar here (" + where + ")");
        }
        fillRecord(l, rec, token, !forced.empty());
        rec.attention = l.attention;
        fillLens(l, rec);

        // Stop rules, in the order a server applies them.
        const StopFeed fed = l.stop.feed(rec.bytes);
        rec.text = fed.text;
        l.generated.push_back(token);
        if (l.grammar)
            l.grammar->accept(token); // allowed (checked above)
        const int generatedCount = int(l.generated.size());
        if (std::find(eos.begin(), eos.end(), token) != eos.end()) {
            rec.finish = FinishReason::Eos;
        } else if (fed.stopped) {
            rec.finish = FinishReason::Stop;
            rec.stopString = l.stop.stopString();
        } else if (int(m_prompt.size()) + generatedCount >= context) {
            rec.finish = FinishReason::Context; // the window is full, whatever max_new_tokens says
        } else if (generatedCount >= l.params.maxNewTokens) {
            rec.finish = FinishReason::Length;
        }
        if (rec.finish != FinishReason::None && rec.finish != FinishReason::Stop)
            rec.text += l.stop.flush();
        if (rec.finish != FinishReason::None) {
            l.info.finished = true;
            l.info.finish = rec.finish;
        } else {
            toForward.push_back(ids[i]);
            tokens.push_back({token});
        }
        l.history.push_back(rec);
        records.push_back(std::move(rec));
    }
    if (!toForward.empty()) {
        std::vector<int> seqs;
        for (int id : toForward)
            seqs.push_back(lane_(id).seq);
        const auto t0 = Clock::now();
        std::vector<SequenceOutput> out;
        try {
            out = forwardSequences(seqs, tokens, {}, m_options.captureAttention, m_options.logitLens);
        } catch (...) {
            // Undo the choices of this step so the lanes stay exactly as they were.
            for (int id : ids) {
                Lane& l = lane_(id);
                l.generated.pop_back();
                l.history.pop_back();
                l.info.finished = false;
                l.info.finish = FinishReason::None;
                applySampling(l, l.params);
            }
            throw;
        }
        const double ms = msSince(t0) / double(toForward.size());
        for (size_t i = 0; i < toForward.size(); ++i) {
            Lane& l = lane_(toForward[i]);
            l.logits = std::move(out[i].logits);
            l.attention = std::move(out[i].attention);
            l.residual = std::move(out[i].residual);
            l.lastForwardMs = ms;
            l.history.back().forwardMs = ms;
            for (StepRecord& r : records)
                if (r.lane == toForward[i])
                    r.forwardMs = ms;
        }
    }
    return records;
}

void Session::restoreLogits(Lane& l)
{
    // Run the lane's last token (again) at its position: the logits that followed it return. A lane
    // that finished never forwarded its last token, so its cache may already stop one position short.
    const int kept = int(m_prompt.size() + l.generated.size());
    const int32_t last = l.generated.empty() ? m_prompt.back() : l.generated.back();
    m_kv.truncate(l.seq, std::min(m_kv.length(l.seq), kept - 1));
    const auto t0 = Clock::now();
    auto out = forwardSequences({l.seq}, {{last}}, {}, m_options.captureAttention, m_options.logitLens);
    l.lastForwardMs = msSince(t0);
    l.logits = std::move(out[0].logits);
    l.attention = std::move(out[0].attention);
    l.residual = std::move(out[0].residual);
}

void Session::rewind(int id, int n)
{
    Lane& l = lane_(id);
    if (n < 0 || n > int(l.generated.size()))
        throw Error("rewind: cannot go back " + std::to_string(n) + " tokens; lane " + std::to_string(id) + " has " +
                    std::to_string(l.generated.size()));
    if (n == 0)
        return;
    const int keep = int(l.generated.size()) - n;
    l.generated.resize(size_t(keep));
    l.history.resize(size_t(keep));
    l.info.finished = false;
    l.info.finish = FinishReason::None;
    restoreLogits(l);
    applySampling(l, l.params); // replays the kept text into a fresh stop matcher
}

StepRecord Session::branch(int id, int step, int32_t token)
{
    const Lane& src = lane_(id);
    if (step < 0 || step > int(src.generated.size()))
        throw Error("branch: lane " + std::to_string(id) + " has no step " + std::to_string(step));
    const int child = fork(id);
    try {
        Lane& l = lane_(child);
        l.info.kind = LaneKind::Branch;
        l.info.forkStep = step;
        if (step < int(l.generated.size()) || l.info.finished) {
            l.generated.resize(size_t(step));
            l.history.resize(size_t(step));
            l.info.finished = false;
            l.info.finish = FinishReason::None;
            restoreLogits(l);
            applySampling(l, l.params);
        }
        return force(child, token);
    } catch (...) {
        closeLane(child);
        throw;
    }
}

std::vector<int32_t> Session::generatedIds(int id) const { return lane_(id).generated; }
bool Session::finished(int id) const { return lane_(id).info.finished; }
const std::vector<StepRecord>& Session::history(int id) const { return lane_(id).history; }
const std::vector<float>& Session::currentLogits(int id) const { return lane_(id).logits; }
const std::vector<float>& Session::currentResidual(int id) const { return lane_(id).residual; }

std::string Session::text(int id) const
{
    const Lane& l = lane_(id);
    return l.stop.text() + (l.info.finished ? std::string() : l.stop.pending());
}

LaneMetrics Session::metrics(int id) const
{
    const Lane& l = lane_(id);
    LaneMetrics m;
    m.promptTokens = int(m_prompt.size());
    m.generatedTokens = int(l.generated.size());
    m.prefillTokensPerSecond = m_prefill.tokensPerSecond;
    if (l.history.empty())
        return m;
    m.ttftMs = m_prefill.ms + l.history.front().sampleMs;
    // Token i (i >= 1) waited for the forward pass of token i-1 and its own sampling.
    double total = 0;
    int n = 0;
    for (size_t i = 1; i < l.history.size(); ++i) {
        total += l.history[i - 1].forwardMs + l.history[i].sampleMs;
        ++n;
    }
    if (n > 0) {
        m.tpotMs = total / n;
        m.decodeTokensPerSecond = m.tpotMs > 0 ? 1000.0 / m.tpotMs : 0;
    }
    return m;
}

KvStats Session::kvStats() const { return m_kv.stats(); }

namespace {

// Beam search's view of the session: KV sequences forked from the prompt.
class SessionBeamHost : public BeamHost {
public:
    explicit SessionBeamHost(std::function<int(int)> fork, std::function<void(int)> release,
                             std::function<std::vector<std::vector<float>>(const std::vector<std::pair<int, int32_t>>&)> decode)
        : m_fork(std::move(fork)), m_release(std::move(release)), m_decode(std::move(decode))
    {
    }
    int fork(int seq) override { return m_fork(seq); }
    void release(int seq) override { m_release(seq); }
    std::vector<std::vector<float>> decode(const std::vector<std::pair<int, int32_t>>& st) override { return m_decode(st); }

private:
    std::function<int(int)> m_fork;
    std::function<void(int)> m_release;
    std::function<std::vector<std::vector<float>>(const std::vector<std::pair<int, int32_t>>&)> m_decode;
};

} // namespace

BeamResult Session::beamSearch(const SamplingParams& params)
{
    if (m_prompt.empty())
        throw Error("beam search: no prompt (prefill first)");
    validate(params, m_model->config().contextLength - int(m_prompt.size()));
    checkLogitBias(params);
    if (hasGrammar(params))
        throw Error("grammar: beam search does not take a grammar (constrained decoding runs in the lanes)");
    if (params.numBeams < 2)
        throw Error("num_beams: beam search needs at least 2 beams, got " + std::to_string(params.numBeams));
    SessionBeamHost host(
        [this](int seq) { return m_kv.fork(seq); }, [this](int seq) { m_kv.release(seq); },
        [this](const std::vector<std::pair<int, int32_t>>& st) {
            std::vector<int> seqs;
            std::vector<std::vector<int32_t>> tokens;
            for (const auto& [seq, tok] : st) {
                seqs.push_back(seq);
                tokens.push_back({tok});
            }
            auto out = forwardSequences(seqs, tokens, {}, false);
            std::vector<std::vector<float>> logits;
            for (SequenceOutput& o : out)
                logits.push_back(std::move(o.logits));
            m_lastBeamKv = m_kv.stats();
            return logits;
        });
    m_lastBeamKv = m_kv.stats();
    return runBeamSearch(host, m_promptSeq, m_promptLogits, m_prompt, params, m_model->tokenizer().eosIds(),
                         samplerVocabFor(params));
}

} // namespace logitscope
