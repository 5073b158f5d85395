// generate and bench: running the model, as a learner would (steps, top log-probs, traces) and as a
// benchmark would (prefill and decode speed against this machine's memory-bandwidth bound).
#include "commands.h"

#include "common/error.h"
#include "decoding/grammar/gbnf_parser.h"
#include "decoding/grammar/json_schema_grammar.h"
#include "decoding/session.h"
#include "formats/mapped_file.h"
#include "model/bandwidth.h"
#include "model/backend.h"
#include "model/model.h"

#ifdef LOGITSCOPE_HAVE_CUDA
#include "cuda_backend.h"
#endif

#include <nlohmann/json.hpp>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <functional>
#include <iostream>
#include <limits>
#include <random>

namespace logitscope::cli {

namespace {

using Json = nlohmann::ordered_json;

// --- llama.cpp samplers ---
// The options and the settings (JSON keys) they fill, so a bad value is named by its option.
const std::pair<const char*, const char*> kLlamaCppOptions[] = {
    {"logit_bias", "logit-bias"}, {"dry_multiplier", "dry-multiplier"}, {"dry_base", "dry-base"},
    {"dry_allowed_length", "dry-allowed-length"}, {"dry_penalty_last_n", "dry-penalty-last-n"},
    {"dry_sequence_breakers", "dry-sequence-breaker"}, {"xtc_probability", "xtc-probability"},
    {"xtc_threshold", "xtc-threshold"}, {"top_n_sigma", "top-n-sigma"}, {"mirostat", "mirostat"},
    {"mirostat_tau", "mirostat-tau"}, {"mirostat_eta", "mirostat-eta"}, {"dynatemp_range", "dynatemp-range"},
    {"dynatemp_exponent", "dynatemp-exponent"}};

// --logit-bias ID=BIAS or TEXT=BIAS, split at the last '='. A key of digits is a token id; anything else is
// a text (every token of it gets the bias); a key in double quotes is always a text ("42"=1 biases the
// text 42). BIAS is a number, or -inf (or false) to ban.
LogitBias parseLogitBias(const std::string& v)
{
    const size_t eq = v.rfind('=');
    if (eq == std::string::npos || eq == 0 || eq + 1 == v.size())
        throw Error("--logit-bias: expected ID=BIAS or TEXT=BIAS, got '" + v + "'");
    const std::string key = v.substr(0, eq), value = v.substr(eq + 1);
    LogitBias b;
    if (value == "-inf" || value == "false") {
        b.bias = -std::numeric_limits<double>::infinity();
    } else {
        char* end = nullptr;
        b.bias = std::strtod(value.c_str(), &end);
        if (end == value.c_str() || *end || !std::isfinite(b.bias))
            throw Error("--logit-bias: the bias must be a number or -inf, got '" + value + "' in '" + v + "'");
    }
    const bool digits = key.find_first_not_of("0123456789") == std::string::npos;
    if (key.size() >= 2 && key.front() == '"' && key.back() == '"') {
        b.text = key.substr(1, key.size() - 2);
        if (b.text.empty())
            throw Error("--logit-bias: the quoted text is empty in '" + v + "'");
    } else if (digits) {
        if (key.size() > 9)
            throw Error("--logit-bias: token id '" + key + "' is out of range");
        b.id = std::stoi(key);
    } else if (key[0] == '-' && key.size() > 1 && key.find_first_not_of("0123456789", 1) == std::string::npos) {
        throw Error("--logit-bias: token ids are >= 0, got '" + key + "' (quote it, \"" + key + "\"=BIAS, to mean the text)");
    } else {
        b.text = key;
    }
    return b;
}

// --dry-sequence-breaker: \n, \t, \\ and \" stand for a newline, a tab, a backslash and a quote.
std::string unescape(const std::string& s)
{
    std::string out;
    for (size_t i = 0; i < s.size(); ++i) {
        if (s[i] != '\\' || i + 1 == s.size()) {
            out += s[i];
            continue;
        }
        const char c = s[++i];
        out += c == 'n' ? '\n' : c == 't' ? '\t' : c;
    }
    return out;
}

void llamaCppSamplersFromArgs(const Args& a, SamplingParams& p)
{
    for (const std::string& v : a.all("logit-bias"))
        p.logitBias.push_back(parseLogitBias(v));
    p.dryMultiplier = a.number("dry-multiplier", p.dryMultiplier);
    p.dryBase = a.number("dry-base", p.dryBase);
    p.dryAllowedLength = a.integer("dry-allowed-length", p.dryAllowedLength);
    p.dryPenaltyLastN = a.integer("dry-penalty-last-n", p.dryPenaltyLastN);
    const std::vector<std::string> breakers = a.all("dry-sequence-breaker");
    if (!breakers.empty()) {
        p.drySequenceBreakers.clear();
        for (const std::string& b : breakers)
            p.drySequenceBreakers.push_back(unescape(b));
    }
    p.xtcProbability = a.number("xtc-probability", p.xtcProbability);
    p.xtcThreshold = a.number("xtc-threshold", p.xtcThreshold);
    p.topNSigma = a.number("top-n-sigma", p.topNSigma);
    p.mirostat = a.integer("mirostat", p.mirostat);
    p.mirostatTau = a.number("mirostat-tau", p.mirostatTau);
    p.mirostatEta = a.number("mirostat-eta", p.mirostatEta);
    p.dynatempRange = a.number("dynatemp-range", p.dynatempRange);
    p.dynatempExponent = a.number("dynatemp-exponent", p.dynatempExponent);
    try {
        validate(p, -1);
    } catch (const Error& e) {
        const std::string m = e.what();
        for (const auto& [key, option] : kLlamaCppOptions)
            if (m.find("'" + std::string(key) + "'") != std::string::npos)
                throw Error("--" + std::string(option) + ": " + m);
        // any other setting is reported as before, when the session validates it
    }
}

SamplingParams samplingFromArgs(const Args& a)
{
    SamplingParams p;
    p.temperature = a.number("temperature", 1.0);
    p.topK = a.integer("top-k", 0);
    p.topP = a.number("top-p", 1.0);
    p.minP = a.number("min-p", 0.0);
    p.typicalP = a.number("typical-p", 1.0);
    p.repetitionPenalty = a.number("repetition-penalty", 1.0);
    p.presencePenalty = a.number("presence-penalty", 0.0);
    p.frequencyPenalty = a.number("frequency-penalty", 0.0);
    p.noRepeatNgram = a.integer("no-repeat-ngram", 0);
    p.minNewTokens = a.integer("min-new-tokens", 0);
    p.maxNewTokens = a.integer("max-new-tokens", 32);
    p.stop = a.all("stop");
    p.seed = a.u64("seed", 0);
    p.greedy = a.flag("greedy");
    const std::string order = a.str("order", "hf");
    if (order == "hf" || order == "huggingface")
        p.order = SamplerOrder::HuggingFace;
    else if (auto o = samplerOrderFromName(order))
        p.order = *o;
    else
        throw Error("--order: expected hf, vllm or llama.cpp, got '" + order + "'");
    p.numBeams = a.integer("beams", 1);
    p.lengthPenalty = a.number("length-penalty", 1.0);
    const std::string early = a.str("early-stopping", "false");
    if (early == "true")
        p.earlyStopping = EarlyStopping::True;
    else if (early == "false")
        p.earlyStopping = EarlyStopping::False;
    else if (early == "never")
        p.earlyStopping = EarlyStopping::Never;
    else
        throw Error("--early-stopping: expected true, false or never, got '" + early + "'");
    p.numReturnSequences = a.integer("num-return", 1);
    // --- constrained decoding: --grammar FILE.gbnf / --json-schema FILE.json (errors name the file) ---
    for (const char* opt : {"grammar", "json-schema"}) {
        const std::string path = a.str(opt, "");
        if (path.empty())
            continue;
        std::ifstream in(path, std::ios::binary);
        if (!in)
            throw Error("--" + std::string(opt) + ": cannot read '" + path + "'");
        const std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
        if (std::string(opt) == "grammar") {
            parseGbnf(text, path); // "<path>: line L, column C: ..."
            p.grammar = text;
        } else {
            parseGbnf(jsonSchemaToGbnf(text, path), path + " (converted grammar)");
            p.jsonSchema = text;
        }
    }
    llamaCppSamplersFromArgs(a, p);
    return p;
}

Json nullable(double v)
{
    return std::isnan(v) ? Json() : Json(v);
}

// How the prefill rated each prompt token (null for the first, which nothing predicts): TGI's
// decoder_input_details, with the rank and the model's own first choice beside each log-prob.
void putPromptScores(Json& out, const std::vector<PromptTokenScore>& scores)
{
    Json logprobs = Json::array(), ranks = Json::array(), expected = Json::array();
    for (const PromptTokenScore& s : scores) {
        logprobs.push_back(s.scored() ? Json(s.logprob) : Json());
        ranks.push_back(s.scored() ? Json(s.rank) : Json());
        expected.push_back(s.scored() ? Json{{"id", s.expected}, {"logprob", s.expectedLogprob}} : Json());
    }
    out["prompt_logprobs"] = std::move(logprobs);
    out["prompt_ranks"] = std::move(ranks);
    out["prompt_expected"] = std::move(expected);
    out["prompt_perplexity"] = nullable(promptPerplexity(scores));
}

Json attentionJson(const std::vector<float>& att, int L, int H, int T)
{
    Json layers = Json::array();
    for (int l = 0; l < L; ++l) {
        Json heads = Json::array();
        for (int h = 0; h < H; ++h) {
            Json rows = Json::array();
            for (int q = 0; q < T; ++q) {
                const float* r = &att[((size_t(l) * H + h) * T + q) * T];
                rows.push_back(std::vector<float>(r, r + T));
            }
            heads.push_back(std::move(rows));
        }
        layers.push_back(std::move(heads));
    }
    return layers;
}

Json stageJson(const StageSnapshot& s)
{
    Json top = Json::array();
    for (const Candidate& c : s.top)
        top.push_back({{"id", c.id}, {"logit", std::isfinite(c.logit) ? Json(c.logit) : Json()}, {"prob", c.prob}});
    Json out = {{"name", s.name}, {"survivors", s.survivors}, {"entropy", s.entropy}, {"top", top}, {"penalised", s.penalised}};
    if (!s.detail.empty()) // llama.cpp samplers: mirostat's mu and k, dynatemp's T, XTC's draw, DRY's repeats
        out["detail"] = s.detail;
    if (s.name == "grammar") { // constrained decoding: what the grammar removed, and where it stood
        Json forbidden = Json::array();
        for (const Candidate& c : s.forbidden)
            forbidden.push_back({{"id", c.id}, {"prob", c.prob}});
        out["removed_mass"] = s.removedMass;
        out["forbidden"] = std::move(forbidden);
        out["grammar_position"] = s.grammarPosition;
    }
    return out;
}

// "lens": [[{"id", "logprob"}, ... top-k] per layer]
Json lensJson(const StepRecord& r)
{
    Json layers = Json::array();
    for (const std::vector<TokenLogprob>& layer : r.lens) {
        Json top = Json::array();
        for (const TokenLogprob& t : layer)
            top.push_back({{"id", t.id}, {"logprob", t.logprob}});
        layers.push_back(std::move(top));
    }
    return layers;
}

Json traceStep(const StepRecord& r)
{
    Json stages = Json::array();
    for (const StageSnapshot& s : r.sample.stages)
        stages.push_back(stageJson(s));
    Json raw = Json::array();
    for (const TokenLogprob& t : r.rawTop)
        raw.push_back({{"id", t.id}, {"logprob", t.logprob}});
    Json j = {{"step", r.step}, {"position", r.position}, {"id", r.chosen}, {"bytes", r.bytes}, {"text", r.text},
              {"forced", r.forced}, {"logprob", r.chosenLogprob}, {"prob", r.chosenProb}, {"draw", r.sample.draw},
              {"raw_top", raw}, {"stages", stages}, {"forward_ms", r.forwardMs}, {"sample_ms", r.sampleMs},
              {"finish", finishReasonName(r.finish)}};
    if (std::isfinite(r.sample.mirostatMuIn)) { // mirostat: mu before this step and after its choice
        j["mirostat_mu_in"] = r.sample.mirostatMuIn;
        j["mirostat_mu"] = r.sample.mirostatMu;
    }
    if (!r.lens.empty()) {
        j["lens"] = lensJson(r);
        j["lens_rank"] = r.lensChosenRank;
        j["lens_prob"] = r.lensChosenProb;
    }
    return j;
}

Json treeJson(const BeamTree& tree)
{
    Json nodes = Json::array();
    for (const BeamNode& n : tree.nodes)
        nodes.push_back({{"parent", n.parent}, {"token", n.token}, {"step", n.step}, {"rank", n.rank},
                         {"logprob", n.logprob}, {"cumulative", n.cumulative}, {"score", n.score},
                         {"fate", beamFateName(n.fate)}, {"finish", finishReasonName(n.finish)},
                         {"result_rank", n.resultRank}});
    return {{"steps", tree.steps}, {"nodes", nodes}};
}

void writeFile(const std::string& path, const std::string& text)
{
    const std::string tmp = path + ".tmp";
    {
        std::ofstream f(tmp, std::ios::trunc);
        if (!f)
            throw Error("--trace: " + path + ": cannot create file");
        f << text;
        if (!f)
            throw Error("--trace: " + path + ": write failed");
    }
    if (std::rename(tmp.c_str(), path.c_str()) != 0)
        throw Error("--trace: " + path + ": cannot replace file");
}

} // namespace

int cmdGenerate(const Args& args)
{
    const std::string path = args.str("model");
    // --messages FILE.json: the next turn of a conversation, through the model's own chat template.
    const std::string messagesPath = args.str("messages", "");
    const std::string prompt = messagesPath.empty() ? args.str("prompt") : args.str("prompt", "");
    if (!messagesPath.empty() && !prompt.empty())
        throw Error("generate: give --prompt or --messages, not both");
    const std::vector<std::string> vars = args.all("var");
    if (messagesPath.empty() && !vars.empty())
        throw Error("--var: only with --messages (a chat template variable)");
    const bool json = args.flag("json");
    const bool attention = args.flag("attention");
    const bool logitLens = args.flag("logit-lens");
    const bool noChat = args.flag("no-chat-template");
    const std::string system = args.str("system", "");
    const int topLogprobs = args.integer("top-logprobs", 5);
    const std::string tracePath = args.str("trace", "");
    SamplingParams params = samplingFromArgs(args);
    ChatConversation conversation;
    if (!messagesPath.empty()) {
        bool generationPromptSet = false;
        conversation = readMessagesFile(messagesPath, vars, generationPromptSet);
        if (!generationPromptSet)
            conversation.addGenerationPrompt = true;
    }
    if (topLogprobs < 0 || topLogprobs > 1000)
        throw Error("--top-logprobs: expected 0..1000, got " + std::to_string(topLogprobs));
    if (logitLens && params.numBeams > 1)
        throw Error("--logit-lens: shown per sampled step; beam search (--beams " + std::to_string(params.numBeams) +
                    ") has no steps to attach it to");
    auto model = loadModel(args);
    auto backend = openBackend(args, model);
    args.rejectUnknown();
    for (const LogitBias& b : params.logitBias)
        if (b.id >= model->config().vocabSize)
            throw Error("--logit-bias: token id " + std::to_string(b.id) + " is outside the vocabulary (0.." +
                        std::to_string(model->config().vocabSize - 1) + ")");

    const Tokenizer& tok = model->tokenizer();
    std::string text = prompt;
    if (!messagesPath.empty()) {
        const ChatRendering r = tok.renderConversation(conversation);
        if (!r.notice.empty())
            std::fprintf(stderr, "note: %s\n", r.notice.c_str());
        text = r.text;
        // Stop at the template's end of turn even when the vocabulary does not list it as an EOS id.
        const int32_t eot = r.endOfTurn.empty() ? -1 : tok.findToken(r.endOfTurn);
        if (!r.endOfTurn.empty() && (eot < 0 || !tok.isEos(eot)))
            params.stop.push_back(r.endOfTurn);
    } else if (!noChat && !tok.chatTemplate().empty()) {
        const ChatRendering r = tok.renderChat(system, prompt);
        if (!r.notice.empty())
            std::fprintf(stderr, "note: %s\n", r.notice.c_str());
        text = r.text;
    }
    SessionOptions opt;
    opt.captureAttention = attention;
    opt.logitLens = logitLens;
    opt.topCandidates = std::max(topLogprobs, 20);
    Session session(model, std::move(backend), opt);
    const std::vector<int32_t> ids = session.tokenize(text);
    const PrefillRecord pre = session.prefill(ids, params);

    Json out;
    out["model"] = {{"name", model->name()}, {"weights", model->dtypeSummary()}, {"weight_bytes", model->weightBytes()}};
    out["prompt_ids"] = ids;
    putPromptScores(out, pre.promptScores);
    Json trace;
    if (params.numBeams > 1) {
        const BeamResult beams = session.beamSearch(params);
        Json list = Json::array();
        for (const BeamHypothesis& h : beams.hypotheses)
            list.push_back({{"ids", h.ids}, {"text", tok.decode(h.ids)}, {"score", h.score},
                            {"finish", finishReasonName(h.finish)}});
        out["beams"] = list;
        out["text"] = beams.hypotheses.empty() ? "" : tok.decode(beams.hypotheses.front().ids);
        out["finish_reason"] = beams.hypotheses.empty() ? "length" : finishReasonName(beams.hypotheses.front().finish);
        if (!tracePath.empty())
            out["tree"] = treeJson(beams.tree);
        trace = {{"tree", treeJson(beams.tree)}};
    } else {
        Json steps = Json::array(), traceSteps = Json::array();
        while (!session.finished(0)) {
            const StepRecord r = session.step(0);
            Json top = Json::array();
            for (int i = 0; i < topLogprobs && i < int(r.rawTop.size()); ++i)
                top.push_back({{"id", r.rawTop[size_t(i)].id}, {"logprob", r.rawTop[size_t(i)].logprob}});
            steps.push_back({{"id", r.chosen}, {"text", r.bytes}, {"logprob", r.chosenLogprob}, {"top", top}});
            if (logitLens) {
                // per layer: top-5, and the rank and probability of the token this step chose
                steps.back()["lens"] = lensJson(r);
                steps.back()["lens_rank"] = r.lensChosenRank;
                steps.back()["lens_prob"] = r.lensChosenProb;
            }
            if (!tracePath.empty())
                traceSteps.push_back(traceStep(r));
        }
        if (logitLens && session.history(0).front().lens.empty())
            std::fprintf(stderr, "note: --logit-lens: the %s backend does not capture residual streams yet; no lens recorded\n",
                         session.backend().name().c_str());
        out["steps"] = steps;
        out["text"] = session.text(0);
        out["finish_reason"] = finishReasonName(session.history(0).back().finish);
        trace = {{"steps", traceSteps}};
    }
    const LaneMetrics m = session.metrics(0);
    const KvStats kv = session.kvStats();
    out["metrics"] = {{"ttft_ms", m.ttftMs}, {"tpot_ms", m.tpotMs}, {"prompt_scoring_ms", pre.scoringMs},
                      {"prefill_tok_s", m.prefillTokensPerSecond},
                      {"decode_tok_s", m.decodeTokensPerSecond}, {"kv_bytes", kv.bytesUsed},
                      {"kv_bytes_per_token", kv.bytesPerToken}, {"peak_rss_bytes", peakRssBytes()}};
    if (attention)
        out["attention"] = attentionJson(pre.attention, pre.layers, pre.heads, int(ids.size()));
    if (!tracePath.empty()) {
        trace["model"] = model->path();
        trace["prompt"] = text;
        trace["prompt_ids"] = ids;
        trace["settings"] = nlohmann::json(params);
        writeFile(tracePath, trace.dump(1, ' ', false, nlohmann::json::error_handler_t::replace));
    }
    if (json) {
        std::cout << out.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) << "\n";
        return 0;
    }
    std::printf("%s", text.c_str());
    std::printf("\033[1m%s\033[0m\n", out["text"].get<std::string>().c_str());
    std::fprintf(stderr, "[%s] prompt %zu tokens (perplexity %.2f), TTFT %.1f ms, TPOT %.2f ms (%.1f tok/s), KV %zu bytes\n",
                 out["finish_reason"].get<std::string>().c_str(), ids.size(), promptPerplexity(pre.promptScores),
                 m.ttftMs, m.tpotMs, m.decodeTokensPerSecond, size_t(kv.bytesUsed));
    return 0;
}

int cmdBench(const Args& args)
{
    using Clock = std::chrono::steady_clock;
    const std::string path = args.str("model");
    const int promptTokens = args.integer("prompt-tokens", 512);
    const int genTokens = args.integer("gen-tokens", 128);
    const bool json = args.flag("json");
    auto model = loadModel(args);
    auto backend = openBackend(args, model);
    args.rejectUnknown();
    const ModelConfig& c = model->config();
    if (promptTokens < 1 || genTokens < 1 || promptTokens + genTokens > c.contextLength)
        throw Error("--prompt-tokens/--gen-tokens: " + std::to_string(promptTokens) + " + " + std::to_string(genTokens) +
                    " must be positive and fit the context length " + std::to_string(c.contextLength));

    // Random prompt ids (seeded): the benchmark measures arithmetic, not text.
    std::mt19937 rng(1234);
    std::vector<int32_t> prompt(static_cast<size_t>(promptTokens));
    for (int32_t& id : prompt)
        id = int32_t(rng() % uint32_t(c.vocabSize));

    KvCache kv(c.kvBytesPerToken(backend->kvElementBytes()));
    const int seq = kv.createSequence();
    auto run = [&](std::span<const int32_t> tokens) {
        const int pos0 = kv.length(seq);
        kv.append(seq, int(tokens.size()));
        if (kv.blocksNeeded() > backend->kvBlockCapacity())
            backend->reserveKvBlocks(kv.blocksNeeded());
        SequenceInput in;
        in.tokens = tokens;
        in.pos0 = pos0;
        in.blockTable = kv.blockTable(seq);
        SequenceOutput out;
        backend->forward(std::span<const SequenceInput>(&in, 1), std::span<SequenceOutput>(&out, 1), {});
        return out;
    };
    // Warm-up: one short prefill + decode, then start over.
    run(std::span<const int32_t>(prompt.data(), std::min<size_t>(8, prompt.size())));
    kv.truncate(seq, 0);

    // KV blocks for the whole run up front, so the peak RSS after prefill is the run's own peak.
    kv.append(seq, promptTokens + genTokens);
    backend->reserveKvBlocks(kv.blocksNeeded());
    kv.truncate(seq, 0);

    const auto t0 = Clock::now();
    SequenceOutput out = run(prompt);
    const double prefillMs = std::chrono::duration<double, std::milli>(Clock::now() - t0).count();
    const size_t peakRss = peakRssBytes(); // before the bandwidth probe's own buffer
    // How the mapped weights sit in memory after a full pass over them: 2 MiB pages stream faster
    // (see MappedFile::mapAligned), and the page cache decides, so the report says which it got.
    size_t mappedResident = 0, mappedHuge = 0;
    model->mappedResidency(mappedResident, mappedHuge);

    // Bytes one decode step must read: every weight matrix once, plus the KV cache (mean length).
    size_t weightBytes = model->weightBytes();
    weightBytes -= model->weights().tokenEmbedding.nbytes; // one row is gathered, not the table
    if (c.tiedEmbeddings)
        weightBytes += model->weights().tokenEmbedding.nbytes; // ... unless it is also the LM head
    const double meanCtx = promptTokens + genTokens / 2.0;
    const double kvBytes = meanCtx * double(c.kvBytesPerToken(backend->kvElementBytes()));

    // The yardstick: this machine's memory bandwidth, measured between rounds of decoding, so every
    // round is compared with the bandwidth of its own moment (the reported fraction is the median).
    std::function<double()> probe = [] { return 0.0; };
    std::unique_ptr<BandwidthProbe> cpuProbe;
    if (backend->name() == "cpu") {
        cpuProbe = std::make_unique<BandwidthProbe>(args.integer("threads", 0));
        probe = [&] { return cpuProbe->measure(); };
    }
#ifdef LOGITSCOPE_HAVE_CUDA
    if (auto* cuda = dynamic_cast<CudaBackend*>(backend.get())) {
        probe = [] { return cudaMeasureBandwidth(); };
        weightBytes = cuda->weightBytesPerToken();
    }
#endif
    const double bytesPerToken = double(weightBytes) + kvBytes;
    const int rounds = std::min(genTokens, 8);
    int32_t next = 0;
    double decodeMs = 0;
    std::vector<double> roundBandwidth, roundFraction;
    Json roundsJson = Json::array();
    for (int r = 0; r < rounds; ++r) {
        const double bandwidth = probe();
        const int steps = genTokens / rounds + (r < genTokens % rounds ? 1 : 0);
        double ms = 0;
        for (int i = 0; i < steps; ++i) {
            const auto& l = out.logits;
            next = int32_t(std::max_element(l.end() - c.vocabSize, l.end()) - (l.end() - c.vocabSize));
            const auto s0 = Clock::now();
            out = run(std::span<const int32_t>(&next, 1));
            ms += std::chrono::duration<double, std::milli>(Clock::now() - s0).count();
        }
        decodeMs += ms;
        const double tokS = steps * 1000.0 / ms;
        const double bound = bandwidth * 1e9 / bytesPerToken;
        roundBandwidth.push_back(bandwidth);
        roundFraction.push_back(bound > 0 ? tokS / bound : 0);
        roundsJson.push_back({{"tokens", steps}, {"decode_tok_s", tokS}, {"bandwidth_gb_s", bandwidth},
                              {"fraction_of_bound", roundFraction.back()}});
    }
    const auto median = [](std::vector<double> v) {
        std::sort(v.begin(), v.end());
        return v.size() % 2 ? v[v.size() / 2] : (v[v.size() / 2 - 1] + v[v.size() / 2]) / 2;
    };
    const double bandwidth = median(roundBandwidth);
    const double fraction = median(roundFraction);
    const double boundTokS = bandwidth * 1e9 / bytesPerToken;
    const double tpot = decodeMs / genTokens;
    const double decodeTokS = 1000.0 / tpot;
    Json j = {{"model", path},
              {"device", backend->deviceDescription()},
              {"backend", backend->name()},
              {"prompt_tokens", promptTokens},
              {"gen_tokens", genTokens},
              {"prefill_ms", prefillMs},
              {"prefill_tok_s", promptTokens * 1000.0 / prefillMs},
              {"ttft_ms", prefillMs},
              {"tpot_ms", tpot},
              {"decode_tok_s", decodeTokS},
              {"weight_bytes_per_token", weightBytes},
              {"weight_types", weightTypesJson(*model)},
              {"kv_bytes_per_token_read", kvBytes},
              {"bandwidth_gb_s", bandwidth},
              {"bandwidth_bound_tok_s", boundTokS},
              {"fraction_of_bound", fraction},
              {"rounds", roundsJson},
              {"peak_rss_bytes", peakRss},
              {"mapped_resident_bytes", mappedResident},
              {"mapped_huge_page_bytes", mappedHuge}};
    if (json) {
        std::cout << j.dump() << "\n";
        return 0;
    }
    std::printf("device           %s\n", backend->deviceDescription().c_str());
    std::printf("prefill          %d tokens in %.1f ms = %.1f tok/s (TTFT)\n", promptTokens, prefillMs, promptTokens * 1000.0 / prefillMs);
    std::printf("decode           %d tokens, TPOT %.2f ms = %.1f tok/s\n", genTokens, tpot, decodeTokS);
    std::printf("bytes per token  %.1f MB weights + %.1f MB KV\n", weightBytes / 1e6, kvBytes / 1e6);
    std::printf("weights          %s\n", weightTypesText(*model).c_str());
    if (bandwidth > 0)
        std::printf("bandwidth        %.1f GB/s measured (median of %d probes between decode rounds) -> bound %.1f "
                    "tok/s;\n                 decode at %.0f%% of the bound (median over the rounds, each against its own "
                    "probe)\n",
                    bandwidth, rounds, boundTokS, 100.0 * fraction);
    std::printf("peak RSS         %.1f MB\n", peakRss / 1e6);
    if (mappedResident > 0) {
        std::printf("model file       %.1f MB resident, %.1f MB of it in 2 MiB pages\n", mappedResident / 1e6,
                    mappedHuge / 1e6);
        if (MappedFile::mostlySmallPages(mappedResident, mappedHuge))
            std::printf("note             the page cache holds most of this file in 4 KiB pages, which decode\n"
                        "                 streams 15-20 %% slower; --weights memory copies the matrices into 2 MiB\n"
                        "                 pages (docs/performance.md)\n");
    }
    return 0;
}

} // namespace logitscope::cli
