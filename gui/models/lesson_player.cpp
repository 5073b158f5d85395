// Playing a lesson on an engine Session, measuring, and checking what the lesson claims.
#include "models/lesson_player.h"

#include "common/error.h"
#include "model/backend.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <set>
#include <sstream>

namespace logitscope::gui {

using nlohmann::json;
namespace fs = std::filesystem;

namespace {

double nowMs()
{
    using namespace std::chrono;
    return duration<double, std::milli>(steady_clock::now().time_since_epoch()).count();
}

std::string fmt(double v, int decimals = 2)
{
    std::ostringstream s;
    s.setf(std::ios::fixed);
    s.precision(decimals);
    s << v;
    return s.str();
}

std::string bytesText(double bytes)
{
    const char* units[] = {"B", "KiB", "MiB", "GiB"};
    int u = 0;
    while (bytes >= 1024 && u < 3) {
        bytes /= 1024;
        ++u;
    }
    return fmt(bytes, u == 0 ? 0 : 1) + " " + units[u];
}

bool compare(double a, const std::string& op, double b)
{
    if (op == "<") return a < b;
    if (op == "<=") return a <= b;
    if (op == ">") return a > b;
    if (op == ">=") return a >= b;
    if (op == "==") return a == b;
    return a != b;
}

int intArg(const json& j, const char* key, int fallback)
{
    auto it = j.find(key);
    return it != j.end() && it->is_number() ? it->get<int>() : fallback;
}
double numArg(const json& j, const char* key, double fallback)
{
    auto it = j.find(key);
    return it != j.end() && it->is_number() ? it->get<double>() : fallback;
}
std::string strArg(const json& j, const char* key, const std::string& fallback)
{
    auto it = j.find(key);
    return it != j.end() && it->is_string() ? it->get<std::string>() : fallback;
}

CheckResult pass(std::string detail) { return {CheckResult::Status::Pass, std::move(detail)}; }
CheckResult fail(std::string detail) { return {CheckResult::Status::Fail, std::move(detail)}; }
CheckResult verdict(bool ok, std::string detail) { return ok ? pass(std::move(detail)) : fail(std::move(detail)); }
CheckResult skipped(std::string detail) { return {CheckResult::Status::Skipped, std::move(detail)}; }

int utf8Length(const std::string& s)
{
    int n = 0;
    for (unsigned char c : s)
        n += (c & 0xC0) != 0x80;
    return n;
}

int wordCount(const std::string& s)
{
    std::istringstream in(s);
    std::string w;
    int n = 0;
    while (in >> w)
        ++n;
    return n;
}

// The snapshot after a named stage: "raw", "final" (after every stage) or a stage name ("top_p").
const logitscope::StageSnapshot* stageOf(const logitscope::SampleResult& r, const std::string& name)
{
    if (r.stages.empty())
        return nullptr;
    if (name == "raw")
        return &r.stages.front();
    if (name == "final" || name.empty())
        return &r.stages.back();
    for (const auto& s : r.stages)
        if (s.name == name)
            return &s;
    return nullptr;
}

std::string settingsSummary(const logitscope::SamplingParams& p)
{
    std::ostringstream s;
    if (p.numBeams > 1)
        s << "beams " << p.numBeams << ", length_penalty " << fmt(p.lengthPenalty, 1);
    else if (p.isGreedy())
        s << "greedy";
    else
        s << "T " << fmt(p.temperature, 2);
    if (p.topK) s << ", top_k " << p.topK;
    if (p.topP < 1) s << ", top_p " << fmt(p.topP, 2);
    if (p.minP > 0) s << ", min_p " << fmt(p.minP, 2);
    if (p.presencePenalty != 0) s << ", presence " << fmt(p.presencePenalty, 1);
    if (p.frequencyPenalty != 0) s << ", frequency " << fmt(p.frequencyPenalty, 1);
    if (p.repetitionPenalty != 1) s << ", repetition " << fmt(p.repetitionPenalty, 2);
    if (p.minNewTokens) s << ", min " << p.minNewTokens;
    s << ", max " << p.maxNewTokens;
    for (const auto& stop : p.stop)
        s << ", stop \"" << stop << "\"";
    return s.str();
}

int repeats(const std::vector<int32_t>& ids)
{
    return int(ids.size()) - int(std::set<int32_t>(ids.begin(), ids.end()).size());
}

} // namespace

std::string lessonHtmlEscape(const std::string& text)
{
    std::string out;
    for (unsigned char c : text) {
        switch (c) {
        case '<': out += "&lt;"; break;
        case '>': out += "&gt;"; break;
        case '&': out += "&amp;"; break;
        case '"': out += "&quot;"; break;
        case '\n': out += "\\n"; break;
        default:
            if (c < 0x20) {
                char buf[8];
                std::snprintf(buf, sizeof buf, "\\x%02X", c);
                out += buf;
            } else {
                out += char(c);
            }
        }
    }
    return out;
}

const char* checkStatusName(CheckResult::Status status)
{
    switch (status) {
    case CheckResult::Status::Pass: return "pass";
    case CheckResult::Status::Fail: return "fail";
    case CheckResult::Status::Skipped: return "skipped";
    }
    return "?";
}

LessonPlayer::LessonPlayer(Lesson lesson, std::string modelPath, std::shared_ptr<const logitscope::Model> model)
    : m_lesson(std::move(lesson)), m_modelPath(std::move(modelPath)), m_model(std::move(model))
{
    restart();
}

LessonPlayer::~LessonPlayer() = default;

void LessonPlayer::restart()
{
    m_next = 0;
    m_prompt = m_lesson.prompt;
    m_laneIds.clear();
    m_laneLabels.clear();
    m_laneSettings.clear();
    m_laneParams.clear();
    for (const auto& l : m_lesson.lanes) {
        m_laneLabels.push_back(l.label);
        m_laneSettings.push_back(l.settings);
        m_laneParams.push_back(l.params);
    }
    m_tokenizations.clear();
    m_beams.clear();
    m_contextSweep.clear();
    m_throughputSweep.clear();
    m_recompute.reset();
    m_lastReport.clear();
    m_session.reset();
}

void LessonPlayer::ensureModel()
{
    if (!m_model) {
        if (m_modelPath.empty())
            throw LessonError(m_lesson.source, "model", "no model: the bundled default model was not found");
        try {
            m_model = logitscope::Model::load(m_modelPath);
        } catch (const std::exception& e) {
            throw LessonError(m_lesson.source, "model", std::string("cannot load ") + m_modelPath + ": " + e.what());
        }
    }
    if (!m_session) {
        logitscope::SessionOptions options;
        bool attention = false;
        for (const auto& s : m_lesson.steps)
            attention |= s.panel == "attention" || (s.hasCheck && s.check.kind.rfind("attention", 0) == 0);
        options.captureAttention = attention;
        options.topCandidates = 20;
        m_session = std::make_unique<logitscope::Session>(m_model, logitscope::createBackend(m_model, "cpu"), options);
    }
}

logitscope::Session& LessonPlayer::lab()
{
    ensureModel();
    if (!m_lab) {
        logitscope::SessionOptions options;
        options.promptLogprobs = false;
        options.topCandidates = 1;
        m_lab = std::make_unique<logitscope::Session>(m_model, logitscope::createBackend(m_model, "cpu"), options);
    }
    return *m_lab;
}

int LessonPlayer::laneId(int lessonLane) const
{
    if (lessonLane < 0 || lessonLane >= int(m_laneIds.size()))
        throw logitscope::Error("no lane " + std::to_string(lessonLane) + " (the lesson has "
                                + std::to_string(m_laneIds.size()) + " lanes so far; did a \"prefill\" step run?)");
    return m_laneIds[size_t(lessonLane)];
}

std::string LessonPlayer::laneLabel(int lessonLane) const
{
    return lessonLane >= 0 && lessonLane < int(m_laneLabels.size()) ? m_laneLabels[size_t(lessonLane)]
                                                                     : "lane " + std::to_string(lessonLane);
}

const logitscope::SamplingParams& LessonPlayer::laneParams(int lessonLane) const
{
    return m_laneParams.at(size_t(lessonLane));
}

StepOutcome LessonPlayer::playNext()
{
    StepOutcome out;
    if (done())
        return out;
    out.index = m_next;
    const LessonStep& step = m_lesson.steps[size_t(m_next)];
    ++m_next;
    ensureModel();
    try {
        act(step);
    } catch (const std::exception& e) {
        out.error = std::string(lessonActionName(step.action)) + ": " + e.what();
    }
    if (step.hasCheck) {
        out.hasCheck = true;
        if (!out.error.empty()) {
            out.check = fail("the step failed: " + out.error);
        } else {
            try {
                out.check = evaluate(step.check);
            } catch (const std::exception& e) {
                out.check = fail(std::string("cannot evaluate: ") + e.what());
            }
        }
    }
    try {
        // "show-panel" runs nothing: it keeps showing what the previous step measured.
        out.reportHtml = step.action == LessonAction::ShowPanel && !m_lastReport.empty() ? m_lastReport : report(step);
    } catch (const std::exception& e) {
        out.reportHtml = lessonHtmlEscape(e.what());
    }
    m_lastReport = out.reportHtml;
    return out;
}

// ---- actions -----------------------------------------------------------------------------------

void LessonPlayer::prefill(const json& args)
{
    m_prompt = strArg(args, "prompt", m_prompt);
    auto& s = *m_session;
    const auto ids = s.tokenize(m_prompt);
    s.prefill(ids, m_laneParams.at(0));
    m_laneIds = {0};
    for (const auto& lane : s.lanes())
        if (lane.kind == logitscope::LaneKind::Root)
            m_laneIds = {lane.id};
    for (size_t i = 1; i < m_laneParams.size(); ++i) {
        const int id = s.fork(m_laneIds[0]);
        s.setSampling(id, m_laneParams[i]);
        m_laneIds.push_back(id);
    }
}

void LessonPlayer::stepAll(const json& args)
{
    auto& s = *m_session;
    std::vector<int> lanes;
    if (args.contains("lane"))
        lanes.push_back(laneId(args["lane"].get<int>()));
    else
        for (int id : m_laneIds)
            lanes.push_back(id);
    std::erase_if(lanes, [&](int id) { return s.finished(id); });
    if (!lanes.empty())
        s.stepLanes(lanes);
}

void LessonPlayer::act(const LessonStep& step)
{
    auto& s = *m_session;
    const json& args = step.args;
    switch (step.action) {
    case LessonAction::Prefill:
        prefill(args);
        return;
    case LessonAction::Step:
        if (!s.hasPrompt())
            prefill({});
        else
            stepAll(args);
        return;
    case LessonAction::Steps:
        if (!s.hasPrompt())
            prefill({});
        for (int i = 0; i < step.count; ++i)
            stepAll(args);
        return;
    case LessonAction::Rewind:
        for (size_t i = 0; i < m_laneIds.size(); ++i) {
            if (args.contains("lane") && args["lane"].get<size_t>() != i)
                continue;
            const int n = std::min<int>(step.count, int(s.history(m_laneIds[i]).size()));
            if (n > 0)
                s.rewind(m_laneIds[i], n);
        }
        return;
    case LessonAction::Set: {
        if (args.contains("prompt"))
            m_prompt = args["prompt"].get<std::string>();
        if (!args.contains("settings"))
            return;
        for (size_t i = 0; i < m_laneParams.size(); ++i) {
            if (args.contains("lane") && args["lane"].get<size_t>() != i)
                continue;
            m_laneSettings[i] = mergeSettings(m_laneSettings[i], args["settings"]);
            m_laneParams[i] = logitscope::samplingParamsFromJson(mergeSettings(m_lesson.settings, m_laneSettings[i]));
            if (i < m_laneIds.size())
                s.setSampling(m_laneIds[i], m_laneParams[i]);
        }
        return;
    }
    case LessonAction::Fork: {
        if (!s.hasPrompt())
            prefill({});
        const int from = intArg(args, "from", 0);
        const json settings = mergeSettings(m_laneSettings.at(size_t(from)), args.value("settings", json::object()));
        const auto params = logitscope::samplingParamsFromJson(mergeSettings(m_lesson.settings, settings));
        const int id = s.fork(laneId(from));
        s.setSampling(id, params);
        m_laneIds.push_back(id);
        m_laneLabels.push_back(strArg(args, "label", "lane " + std::to_string(m_laneIds.size() - 1)));
        m_laneSettings.push_back(settings);
        m_laneParams.push_back(params);
        return;
    }
    case LessonAction::Beam: {
        if (!s.hasPrompt())
            prefill({});
        json settings = mergeSettings(m_lesson.settings, args.value("settings", json::object()));
        if (!settings.contains("num_beams"))
            settings["num_beams"] = 4;
        BeamRun run;
        run.params = logitscope::samplingParamsFromJson(settings);
        run.label = strArg(args, "label", "beams " + std::to_string(run.params.numBeams));
        run.result = s.beamSearch(run.params);
        for (const auto& h : run.result.hypotheses)
            run.texts.push_back(s.model().tokenizer().decode(h.ids));
        m_beams.push_back(std::move(run));
        return;
    }
    case LessonAction::Tokenize:
        m_tokenizations.push_back(tokenize(args["text"].get<std::string>()));
        return;
    case LessonAction::Recompute: {
        auto& l = lab();
        const int n = intArg(args, "tokens", 24);
        logitscope::SamplingParams p;
        p.greedy = true;
        p.minNewTokens = n + 1;
        p.maxNewTokens = n + 1;
        const auto prompt = l.tokenize(m_prompt);
        RecomputeResult r;
        r.tokens = n;
        l.prefill(prompt, p);
        const double t0 = nowMs();
        for (int i = 0; i < n; ++i)
            l.step(0);
        r.cachedMs = nowMs() - t0;
        // Without a cache every new token means reading the whole sequence again.
        const auto generated = l.generatedIds(0);
        std::vector<int32_t> ids = prompt;
        const double t1 = nowMs();
        for (int i = 0; i < n; ++i) {
            ids.push_back(generated[size_t(i)]);
            l.prefill(ids, p);
        }
        r.recomputeMs = nowMs() - t1;
        m_recompute = r;
        return;
    }
    case LessonAction::SweepContext: {
        auto& l = lab();
        const auto& cfg = l.model().config();
        const int decode = intArg(args, "decode", 8);
        auto text = l.tokenize(m_prompt, false);
        if (text.empty())
            text = l.tokenize("the", false);
        const size_t perToken = cfg.kvBytesPerToken(l.backend().kvElementBytes());
        m_contextSweep.clear();
        for (const auto& v : args["lengths"]) {
            const int length = v.get<int>();
            if (length + decode + 1 > cfg.contextLength)
                continue;
            std::vector<int32_t> ids = l.tokenize("");
            while (int(ids.size()) < length)
                ids.push_back(text[ids.size() % text.size()]);
            logitscope::SamplingParams p;
            p.greedy = true;
            p.minNewTokens = decode + 1;
            p.maxNewTokens = decode + 1;
            ContextSweepRow row;
            row.length = length;
            row.prefillMs = 1e300;
            std::vector<double> perStep;
            for (int repeat = 0; repeat < 2; ++repeat) {   // best of two: less noise from other programs
                const auto rec = l.prefill(ids, p);
                row.prefillMs = std::min(row.prefillMs, rec.ms);
                for (int i = 0; i < decode; ++i)
                    perStep.push_back(l.step(0).forwardMs);
            }
            std::sort(perStep.begin(), perStep.end());
            row.decodeMsPerToken = perStep[perStep.size() / 2];
            row.scoreBytes = uint64_t(cfg.heads) * uint64_t(length) * uint64_t(length) * 4;
            row.kvBytes = uint64_t(length) * perToken;
            m_contextSweep.push_back(row);
        }
        return;
    }
    case LessonAction::SweepThroughput: {
        auto& l = lab();
        const int tokens = intArg(args, "tokens", 12);
        const auto prompt = l.tokenize(m_prompt);
        m_throughputSweep.clear();
        for (const auto& v : args["batches"]) {
            const int batch = v.get<int>();
            logitscope::SamplingParams p;
            p.greedy = true;
            p.minNewTokens = tokens + 2;
            p.maxNewTokens = tokens + 2;
            l.prefill(prompt, p);
            std::vector<int> lanes = {0};
            for (int i = 1; i < batch; ++i)
                lanes.push_back(l.fork(0));
            l.stepLanes(lanes);   // warm-up: the first step also allocates the lanes' private blocks
            const double t0 = nowMs();
            for (int i = 0; i < tokens; ++i)
                l.stepLanes(lanes);
            const double ms = nowMs() - t0;
            ThroughputRow row;
            row.batch = batch;
            row.msPerStep = ms / tokens;
            row.tokensPerSecond = 1000.0 * batch * tokens / ms;
            row.perSequenceTokensPerSecond = 1000.0 * tokens / ms;
            m_throughputSweep.push_back(row);
        }
        return;
    }
    case LessonAction::ShowPanel:
        return;
    }
}

const logitscope::Tokenizer* LessonPlayer::secondTokenizer(std::string* note)
{
    if (!m_tokBTried) {
        m_tokBTried = true;
        if (!m_lesson.hasTokenizerB) {
            m_tokBNote = "the lesson names no second tokenizer";
        } else {
            const fs::path base = fs::path(m_lesson.source).parent_path();
            const char* shared = std::getenv("LOGITSCOPE_SHARED_DIR");
            std::string tried;
            for (const auto& candidate : m_lesson.tokenizerB.paths) {
                fs::path p;
                if (candidate.rfind("$SHARED/", 0) == 0) {
                    if (!shared || !*shared)
                        continue;
                    p = fs::path(shared) / candidate.substr(8);
                } else {
                    p = fs::path(candidate).is_absolute() ? fs::path(candidate) : base / candidate;
                }
                tried += (tried.empty() ? "" : ", ") + p.lexically_normal().string();
                std::error_code ec;
                if (!fs::exists(p, ec))
                    continue;
                try {
                    m_tokB = logitscope::loadTokenizerFile(p.string());
                    break;
                } catch (const std::exception& e) {
                    m_tokBNote = e.what();
                }
            }
            if (!m_tokB && m_tokBNote.empty())
                m_tokBNote = "not found (looked for " + (tried.empty() ? std::string("nothing: set LOGITSCOPE_SHARED_DIR") : tried)
                             + "); open a tokenizer file to compare";
        }
    }
    if (note)
        *note = m_tokBNote;
    return m_tokB.get();
}

TokenizeResult LessonPlayer::tokenize(const std::string& text)
{
    ensureModel();
    TokenizeResult r;
    r.text = text;
    r.words = wordCount(text);
    r.characters = utf8Length(text);
    r.bytes = int(text.size());
    auto split = [&](const logitscope::Tokenizer& tok, TokenSplit& out) {
        logitscope::EncodeOptions opt;
        opt.addSpecial = false;
        out.ids = tok.encode(text, opt);
        out.available = true;
        for (auto id : out.ids)
            out.pieces.push_back(tok.tokenBytes(id));
    };
    r.model.label = "this model (" + m_model->tokenizer().kind() + ", " + std::to_string(m_model->tokenizer().vocabSize())
                    + " tokens)";
    split(m_model->tokenizer(), r.model);
    std::string note;
    r.second.label = m_lesson.hasTokenizerB ? m_lesson.tokenizerB.label : "second tokenizer";
    if (const auto* tok = secondTokenizer(&note)) {
        r.second.label += " (" + tok->kind() + ", " + std::to_string(tok->vocabSize()) + " tokens)";
        split(*tok, r.second);
    } else {
        r.second.note = note;
    }
    return r;
}

logitscope::StepRecord LessonPlayer::previewOf(int lessonLane) const
{
    const int id = laneId(lessonLane);
    if (m_session->finished(id)) {
        const auto& h = m_session->history(id);
        if (h.empty())
            throw logitscope::Error("lane " + std::to_string(lessonLane) + " finished without a token");
        return h.back();
    }
    return m_session->preview(id);
}

int LessonPlayer::throughputKnee() const
{
    // The smallest number of sequences that already reaches 90 % of the best total tokens/s measured:
    // beyond it more sequences mostly make each one slower.
    double best = 0;
    for (const auto& r : m_throughputSweep)
        best = std::max(best, r.tokensPerSecond);
    for (const auto& r : m_throughputSweep)
        if (r.tokensPerSecond >= 0.9 * best)
            return r.batch;
    return 0;
}

// ---- checks ------------------------------------------------------------------------------------

CheckResult LessonPlayer::evaluate(const LessonCheck& check)
{
    const json& a = check.args;
    const std::string& k = check.kind;
    const std::string op = strArg(a, "op", ">=");
    const int lane = intArg(a, "lane", 0);
    auto& s = *m_session;
    const auto& cfg = m_model->config();

    if (k == "tokens_compare") {
        const auto r = tokenize(a["text"].get<std::string>());
        auto count = [&](const std::string& what, std::string* note) -> int {
            if (what == "words") return r.words;
            if (what == "characters") return r.characters;
            if (what == "bytes") return r.bytes;
            if (what == "model") return int(r.model.ids.size());
            if (what == "second") {
                if (!r.second.available) {
                    *note = r.second.note;
                    return -1;
                }
                return int(r.second.ids.size());
            }
            throw logitscope::Error("\"" + what + "\": count words, characters, bytes, model or second");
        };
        std::string note;
        const std::string wa = a["a"].get<std::string>(), wb = a["b"].get<std::string>();
        const int ca = count(wa, &note), cb = count(wb, &note);
        if (ca < 0 || cb < 0)
            return skipped("second tokenizer " + note);
        return verdict(compare(ca, op, cb), wa + " " + std::to_string(ca) + " " + op + " " + wb + " " + std::to_string(cb));
    }
    if (k == "prompt_tokens") {
        const int n = int(s.promptIds().size());
        const double v = a["value"].get<double>();
        return verdict(compare(n, op, v), "prompt " + std::to_string(n) + " tokens " + op + " " + fmt(v, 0));
    }
    if (k == "prompt_fits_context") {
        const int n = int(s.promptIds().size()), m = m_laneParams.at(0).maxNewTokens;
        return verdict(n + m <= cfg.contextLength, std::to_string(n) + " prompt + " + std::to_string(m) + " new ≤ "
                                                       + std::to_string(cfg.contextLength) + " context");
    }
    if (k == "tpot_less_than_ttft" || k == "prefill_faster_per_token") {
        const auto m = s.metrics(laneId(lane));
        if (m.generatedTokens < 2)
            return fail("needs at least two generated tokens (has " + std::to_string(m.generatedTokens) + ")");
        if (k == "tpot_less_than_ttft")
            return verdict(m.tpotMs < m.ttftMs, "TPOT " + fmt(m.tpotMs) + " ms < TTFT " + fmt(m.ttftMs) + " ms");
        return verdict(m.prefillTokensPerSecond > m.decodeTokensPerSecond,
                       "prefill " + fmt(m.prefillTokensPerSecond, 0) + " tok/s > decode " + fmt(m.decodeTokensPerSecond, 0)
                           + " tok/s");
    }
    if (k == "attention_heads_differ" || k == "attention_rows_normalised") {
        const auto& h = s.history(laneId(lane));
        if (h.empty() || h.back().attention.empty())
            return fail("no attention captured (step at least once with the attention panel in the lesson)");
        const auto& att = h.back().attention;
        const int L = cfg.layers, H = cfg.heads, n = int(att.size()) / (L * H);
        const int layer = std::clamp(intArg(a, "layer", L - 1), 0, L - 1);
        auto row = [&](int l, int head) { return att.data() + (size_t(l) * H + head) * n; };
        if (k == "attention_rows_normalised") {
            double worst = 0;
            for (int l = 0; l < L; ++l)
                for (int hd = 0; hd < H; ++hd) {
                    double sum = 0;
                    for (int j = 0; j < n; ++j)
                        sum += row(l, hd)[j];
                    worst = std::max(worst, std::abs(sum - 1.0));
                }
            return verdict(worst < 1e-3, std::to_string(L * H) + " rows over " + std::to_string(n)
                                             + " earlier positions, each sums to 1 (largest error " + fmt(worst, 5) + ")");
        }
        double best = 0;
        int ha = 0, hb = 0;
        for (int x = 0; x < H; ++x)
            for (int y = x + 1; y < H; ++y) {
                double d = 0;
                for (int j = 0; j < n; ++j)
                    d += std::abs(row(layer, x)[j] - row(layer, y)[j]);
                if (d > best) {
                    best = d;
                    ha = x;
                    hb = y;
                }
            }
        const double minL1 = numArg(a, "min_l1", 0.2);
        return verdict(best >= minL1, "layer " + std::to_string(layer) + ": heads " + std::to_string(ha) + " and "
                                          + std::to_string(hb) + " differ by L1 " + fmt(best) + " (≥ " + fmt(minL1) + ")");
    }
    if (k == "gqa_group_size") {
        const int v = a["value"].get<int>();
        const int group = cfg.kvHeads > 0 ? cfg.heads / cfg.kvHeads : 0;
        return verdict(group == v, std::to_string(cfg.heads) + " query heads / " + std::to_string(cfg.kvHeads)
                                       + " key-value heads = " + std::to_string(group) + " heads per shared key");
    }
    if (k == "entropy_order") {
        const std::string stage = strArg(a, "stage", "final");
        const bool up = a["direction"] == "increasing";
        std::string detail;
        double prev = 0;
        bool ok = true, first = true;
        for (const auto& l : a["lanes"]) {
            const auto rec = previewOf(l.get<int>());
            const auto* snap = stageOf(rec.sample, stage);
            if (!snap)
                return fail("lane " + std::to_string(l.get<int>()) + " has no stage \"" + stage + "\"");
            if (!first)
                ok &= up ? snap->entropy > prev : snap->entropy < prev;
            detail += (first ? "" : (up ? " < " : " > ")) + laneLabel(l.get<int>()) + " " + fmt(snap->entropy);
            prev = snap->entropy;
            first = false;
        }
        return verdict(ok, "entropy (" + stage + ", nats): " + detail);
    }
    if (k == "entropy" || k == "survivors" || k == "penalised_at_least") {
        const std::string stage = strArg(a, "stage", "final");
        const auto rec = previewOf(lane);
        const auto* snap = stageOf(rec.sample, stage);
        if (!snap)
            return fail("lane " + std::to_string(lane) + " has no stage \"" + stage + "\" in its chain");
        const double v = a["value"].get<double>();
        if (k == "entropy")
            return verdict(compare(snap->entropy, op, v), "entropy after " + stage + " " + fmt(snap->entropy) + " nats " + op
                                                              + " " + fmt(v));
        if (k == "survivors")
            return verdict(compare(snap->survivors, op, v), std::to_string(snap->survivors) + " tokens survive " + stage
                                                                + " (" + op + " " + fmt(v, 0) + ")");
        return verdict(int(snap->penalised.size()) >= v, std::to_string(snap->penalised.size()) + " tokens changed by "
                                                             + stage + " (≥ " + fmt(v, 0) + ")");
    }
    if (k == "survivors_less") {
        const std::string sa = a["stage"].get<std::string>(), sb = a["than_stage"].get<std::string>();
        const int lb = intArg(a, "than_lane", lane);
        const auto ra = previewOf(lane), rb = previewOf(lb);
        const auto *pa = stageOf(ra.sample, sa), *pb = stageOf(rb.sample, sb);
        if (!pa || !pb)
            return fail("stage \"" + (pa ? sb : sa) + "\" is not in that lane's chain");
        return verdict(pa->survivors < pb->survivors, sa + " keeps " + std::to_string(pa->survivors) + " < " + sb + " keeps "
                                                          + std::to_string(pb->survivors));
    }
    if (k == "lanes_differ") {
        std::set<std::vector<int32_t>> outputs;
        std::string detail;
        for (const auto& l : a["lanes"]) {
            const auto ids = s.generatedIds(laneId(l.get<int>()));
            outputs.insert(ids);
            detail += (detail.empty() ? "" : " | ") + laneLabel(l.get<int>()) + ": \"" + s.text(laneId(l.get<int>())) + "\"";
        }
        return verdict(outputs.size() == a["lanes"].size(), detail);
    }
    if (k == "repeats_compare") {
        const int la = a["a"].get<int>(), lb = a["b"].get<int>();
        const int ra = repeats(s.generatedIds(laneId(la))), rb = repeats(s.generatedIds(laneId(lb)));
        return verdict(compare(ra, op, rb), laneLabel(la) + " repeats " + std::to_string(ra) + " tokens " + op + " "
                                                + laneLabel(lb) + " repeats " + std::to_string(rb));
    }
    if (k == "finish_reason") {
        const auto& info = s.lane(laneId(lane));
        const std::string got = logitscope::finishReasonName(info.finish);
        return verdict(got == a["value"].get<std::string>(), laneLabel(lane) + " finished: " + got + " after "
                                                                 + std::to_string(s.history(laneId(lane)).size())
                                                                 + " tokens");
    }
    if (k == "token_count_at_least" || k == "generated_tokens") {
        const int n = int(s.history(laneId(lane)).size());
        const double v = a["value"].get<double>();
        const std::string o = k == "generated_tokens" ? op : ">=";
        return verdict(compare(n, o, v), laneLabel(lane) + ": " + std::to_string(n) + " tokens " + o + " " + fmt(v, 0));
    }
    if (k == "stop_spans_tokens") {
        const auto& h = s.history(laneId(lane));
        if (h.empty() || h.back().finish != logitscope::FinishReason::Stop)
            return fail("the lane did not stop on a stop sequence");
        const auto& last = h.back();
        std::string tail;
        for (size_t i = h.size() >= 3 ? h.size() - 3 : 0; i < h.size(); ++i)
            tail += "[" + h[i].bytes + "]";
        return verdict(last.bytes.find(last.stopString) == std::string::npos,
                       "\"" + last.stopString + "\" matched across the tokens " + tail);
    }
    if (k.rfind("beam_", 0) == 0) {
        if (m_beams.empty())
            return fail("no beam search ran yet");
        const int run = std::clamp(intArg(a, "run", int(m_beams.size()) - 1), 0, int(m_beams.size()) - 1);
        const auto& br = m_beams[size_t(run)];
        if (k == "beam_hypotheses") {
            const std::string of = strArg(a, "of", "hypotheses");
            const double n = of == "nodes" ? br.result.tree.nodes.size() : of == "steps" ? br.result.tree.steps
                                                                                         : br.result.hypotheses.size();
            const double v = a["value"].get<double>();
            return verdict(compare(n, op, v), br.label + ": " + fmt(n, 0) + " " + of + " " + op + " " + fmt(v, 0));
        }
        if (k == "beam_length_order") {
            const bool up = a["direction"] == "increasing";
            std::vector<int> lengths;
            std::string detail;
            for (const auto& r : a["runs"]) {
                const int i = r.get<int>();
                if (i < 0 || i >= int(m_beams.size()) || m_beams[size_t(i)].result.hypotheses.empty())
                    return fail("no beam run " + std::to_string(i));
                lengths.push_back(int(m_beams[size_t(i)].result.hypotheses.front().ids.size()));
                detail += (detail.empty() ? "" : ", ") + m_beams[size_t(i)].label + ": " + std::to_string(lengths.back());
            }
            bool ok = lengths.front() != lengths.back();
            for (size_t i = 1; i < lengths.size(); ++i)
                ok &= up ? lengths[i] >= lengths[i - 1] : lengths[i] <= lengths[i - 1];
            return verdict(ok, "best hypothesis length — " + detail);
        }
        // beam_more_likely_than_sampling
        if (br.result.hypotheses.empty())
            return fail("beam search returned nothing");
        const auto& best = br.result.hypotheses.front();
        const double beamMean = best.cumulative / std::max<size_t>(1, best.ids.size());
        const auto& h = s.history(laneId(lane));
        if (h.empty())
            return fail("the sampling lane generated nothing");
        double sum = 0;
        for (const auto& r : h)
            sum += r.chosenLogprob;
        const double sampleMean = sum / h.size();
        return verdict(beamMean > sampleMean, "mean log p per token: beam " + fmt(beamMean) + " > sampled " + fmt(sampleMean));
    }
    if (k.rfind("kv_", 0) == 0) {
        const auto kv = s.kvStats();
        if (k == "kv_bytes_per_token_formula") {
            const size_t e = s.backend().kvElementBytes();
            const size_t want = 2 * size_t(cfg.layers) * cfg.kvHeads * cfg.headDim * e;
            return verdict(kv.bytesPerToken == want, "2 × " + std::to_string(cfg.layers) + " layers × "
                                                         + std::to_string(cfg.kvHeads) + " kv heads × "
                                                         + std::to_string(cfg.headDim) + " dims × " + std::to_string(e)
                                                         + " bytes = " + std::to_string(want) + " B; cache reports "
                                                         + std::to_string(kv.bytesPerToken) + " B");
        }
        if (k == "kv_shared_blocks_at_least") {
            const double v = a["value"].get<double>();
            return verdict(kv.blocksShared >= v, std::to_string(kv.blocksShared) + " of " + std::to_string(kv.blocksUsed)
                                                     + " blocks shared (≥ " + fmt(v, 0) + ")");
        }
        if (k == "kv_sharing_saves")
            return verdict(kv.bytesUsed < kv.bytesWithoutSharing, bytesText(double(kv.bytesUsed)) + " used < "
                                                                      + bytesText(double(kv.bytesWithoutSharing))
                                                                      + " without sharing");
        const std::string of = strArg(a, "of", "stored");
        const double n = double(of == "logical" ? kv.tokensLogical : kv.tokensStored);
        const double v = a["value"].get<double>();
        return verdict(compare(n, op, v), fmt(n, 0) + " positions " + of + " " + op + " " + fmt(v, 0));
    }
    if (k == "recompute_slower") {
        if (!m_recompute)
            return fail("no \"recompute\" step ran");
        const double factor = numArg(a, "factor", 1.5);
        return verdict(m_recompute->recomputeMs > factor * m_recompute->cachedMs,
                       "without cache " + fmt(m_recompute->recomputeMs, 1) + " ms > " + fmt(factor, 1) + " × with cache "
                           + fmt(m_recompute->cachedMs, 1) + " ms");
    }
    if (k == "sweep_compare" || k == "sweep_monotonic") {
        const std::string sweep = a["sweep"].get<std::string>(), series = a["series"].get<std::string>();
        std::vector<double> values;
        std::vector<int> xs;
        if (sweep == "context") {
            for (const auto& r : m_contextSweep) {
                xs.push_back(r.length);
                if (series == "prefill_ms") values.push_back(r.prefillMs);
                else if (series == "decode_ms") values.push_back(r.decodeMsPerToken);
                else if (series == "score_bytes") values.push_back(double(r.scoreBytes));
                else if (series == "kv_bytes") values.push_back(double(r.kvBytes));
                else throw logitscope::Error("context series: prefill_ms, decode_ms, score_bytes or kv_bytes");
            }
        } else if (sweep == "throughput") {
            for (const auto& r : m_throughputSweep) {
                xs.push_back(r.batch);
                if (series == "tokens_per_second") values.push_back(r.tokensPerSecond);
                else if (series == "ms_per_step") values.push_back(r.msPerStep);
                else if (series == "per_sequence_tokens_per_second") values.push_back(r.perSequenceTokensPerSecond);
                else throw logitscope::Error("throughput series: tokens_per_second, ms_per_step or per_sequence_tokens_per_second");
            }
        } else {
            throw logitscope::Error("sweep must be \"context\" or \"throughput\"");
        }
        if (values.size() < 2)
            return fail("the " + sweep + " sweep has " + std::to_string(values.size()) + " points (needs 2)");
        if (k == "sweep_compare") {
            const double factor = numArg(a, "factor", 1.0);
            // "at": "last" (default) compares the last point, "max" the largest one, with the first point.
            size_t i = values.size() - 1;
            if (strArg(a, "at", "last") == "max")
                i = size_t(std::max_element(values.begin() + 1, values.end()) - values.begin());
            return verdict(compare(values[i], op, factor * values.front()),
                           series + " at " + std::to_string(xs[i]) + ": " + fmt(values[i]) + " " + op + " "
                               + fmt(factor, 2) + " × " + fmt(values.front()) + " at " + std::to_string(xs.front()));
        }
        const bool up = a["direction"] == "increasing";
        bool ok = true;
        std::string detail;
        for (size_t i = 0; i < values.size(); ++i) {
            if (i)
                ok &= up ? values[i] > values[i - 1] : values[i] < values[i - 1];
            detail += (i ? ", " : "") + fmt(values[i], values[i] > 100 ? 0 : 2);
        }
        return verdict(ok, series + " " + a["direction"].get<std::string>() + ": " + detail);
    }
    throw logitscope::Error("unknown check \"" + k + "\"");
}

// ---- report ------------------------------------------------------------------------------------

std::string LessonPlayer::lanesReport(bool withPreview) const
{
    const auto& s = *m_session;
    std::ostringstream h;
    h << "<table border='1' cellspacing='0' cellpadding='3'><tr><th>lane</th><th>settings</th><th>output</th>"
         "<th>tokens</th><th>entropy</th><th>survivors</th><th>next</th></tr>";
    for (int i = 0; i < laneCount(); ++i) {
        const int id = m_laneIds[size_t(i)];
        h << "<tr><td>" << lessonHtmlEscape(laneLabel(i)) << "</td><td>" << lessonHtmlEscape(settingsSummary(m_laneParams[size_t(i)]))
          << "</td><td>" << lessonHtmlEscape(s.text(id)) << "</td><td>" << s.history(id).size();
        const auto& info = s.lane(id);
        if (info.finished)
            h << " (" << logitscope::finishReasonName(info.finish) << ")";
        if (const int r = repeats(s.generatedIds(id)); r > 0)
            h << ", " << r << " repeated";
        h << "</td>";
        if (withPreview && !s.finished(id)) {
            const auto rec = s.preview(id);
            const auto* last = stageOf(rec.sample, "final");
            const auto* raw = stageOf(rec.sample, "raw");
            h << "<td>" << (raw ? fmt(raw->entropy) : "") << " → " << (last ? fmt(last->entropy) : "") << "</td><td>"
              << (raw ? std::to_string(raw->survivors) : "") << " → " << (last ? std::to_string(last->survivors) : "")
              << "</td><td>";
            if (last)
                for (size_t c = 0; c < std::min<size_t>(3, last->top.size()); ++c)
                    h << lessonHtmlEscape(s.model().tokenizer().tokenBytes(last->top[c].id)) << " "
                      << fmt(100.0 * last->top[c].prob, 0) << "%" << (c < 2 ? ", " : "");
            h << "</td>";
        } else {
            h << "<td></td><td></td><td></td>";
        }
        h << "</tr>";
    }
    h << "</table>";
    return h.str();
}

std::string LessonPlayer::report(const LessonStep& step) const
{
    std::ostringstream h;
    const auto* s = m_session.get();
    switch (step.action) {
    case LessonAction::Tokenize: {
        if (m_tokenizations.empty())
            break;
        const auto& t = m_tokenizations.back();
        h << "<p>\"" << lessonHtmlEscape(t.text) << "\": " << t.words << " words, " << t.characters << " characters, "
          << t.bytes << " bytes</p><table border='1' cellspacing='0' cellpadding='3'>";
        for (const TokenSplit* split : {&t.model, &t.second}) {
            h << "<tr><td><b>" << lessonHtmlEscape(split->label) << "</b><br>";
            if (!split->available) {
                h << "</td><td><i>" << lessonHtmlEscape(split->note) << "</i></td></tr>";
                continue;
            }
            h << split->ids.size() << " tokens</td><td>";
            for (const auto& p : split->pieces)
                h << "<span style='background:#e8eefc'>" << lessonHtmlEscape(p) << "</span>&#8203;|";
            h << "</td></tr>";
        }
        h << "</table>";
        break;
    }
    case LessonAction::Beam: {
        if (m_beams.empty())
            break;
        const auto& b = m_beams.back();
        h << "<p>" << lessonHtmlEscape(b.label) << ": " << b.result.tree.nodes.size() << " nodes over "
          << b.result.tree.steps << " steps</p><table border='1' cellspacing='0' cellpadding='3'>"
          << "<tr><th>#</th><th>text</th><th>tokens</th><th>sum log p</th><th>score</th></tr>";
        for (size_t i = 0; i < b.result.hypotheses.size(); ++i) {
            const auto& hyp = b.result.hypotheses[i];
            h << "<tr><td>" << i << "</td><td>" << lessonHtmlEscape(b.texts[i]) << "</td><td>" << hyp.ids.size()
              << "</td><td>" << fmt(hyp.cumulative) << "</td><td>" << fmt(hyp.score, 3) << "</td></tr>";
        }
        h << "</table>";
        break;
    }
    case LessonAction::SweepContext:
        h << "<table border='1' cellspacing='0' cellpadding='3'><tr><th>context L</th><th>prefill ms</th>"
             "<th>ms / new token</th><th>attention scores / layer (H·L²·4 B)</th><th>KV cache</th></tr>";
        for (const auto& r : m_contextSweep)
            h << "<tr><td>" << r.length << "</td><td>" << fmt(r.prefillMs, 1) << "</td><td>" << fmt(r.decodeMsPerToken, 2)
              << "</td><td>" << bytesText(double(r.scoreBytes)) << "</td><td>" << bytesText(double(r.kvBytes)) << "</td></tr>";
        h << "</table>";
        break;
    case LessonAction::SweepThroughput:
        h << "<table border='1' cellspacing='0' cellpadding='3'><tr><th>sequences</th><th>ms / step</th>"
             "<th>tokens/s (all)</th><th>tokens/s (each)</th></tr>";
        for (const auto& r : m_throughputSweep)
            h << "<tr><td>" << r.batch << "</td><td>" << fmt(r.msPerStep, 2) << "</td><td>" << fmt(r.tokensPerSecond, 0)
              << "</td><td>" << fmt(r.perSequenceTokensPerSecond, 0) << "</td></tr>";
        h << "</table><p>The curve bends at about <b>" << throughputKnee() << "</b> sequences on this machine.</p>";
        break;
    case LessonAction::Recompute:
        if (m_recompute)
            h << "<p>" << m_recompute->tokens << " new tokens: <b>" << fmt(m_recompute->cachedMs, 1)
              << " ms</b> with the KV cache, <b>" << fmt(m_recompute->recomputeMs, 1)
              << " ms</b> re-reading the whole sequence for each token (×"
              << fmt(m_recompute->recomputeMs / std::max(1e-9, m_recompute->cachedMs), 1) << ").</p>";
        break;
    default:
        break;
    }
    if (s && s->hasPrompt() && step.action != LessonAction::Tokenize && step.action != LessonAction::SweepContext
        && step.action != LessonAction::SweepThroughput && step.action != LessonAction::Recompute
        && step.action != LessonAction::Beam) {
        h << lanesReport(true);
        const auto m = s->metrics(m_laneIds.empty() ? 0 : m_laneIds[0]);
        h << "<p>prompt " << s->promptIds().size() << " tokens";
        if (m.generatedTokens > 0)
            h << " · TTFT " << fmt(m.ttftMs, 1) << " ms · TPOT " << fmt(m.tpotMs, 2) << " ms · prefill "
              << fmt(m.prefillTokensPerSecond, 0) << " tok/s · decode " << fmt(m.decodeTokensPerSecond, 0) << " tok/s";
        const auto kv = s->kvStats();
        h << " · KV cache " << kv.blocksUsed << " blocks (" << kv.blocksShared << " shared), " << bytesText(double(kv.bytesUsed))
          << " of " << bytesText(double(kv.bytesWithoutSharing)) << " unshared, " << kv.bytesPerToken << " B/token</p>";
    }
    return h.str();
}

} // namespace logitscope::gui
