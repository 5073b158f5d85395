// Playing a lesson on an engine Session and measuring. The checks are in lesson_checks.cpp, the HTML
// of the Lessons panel in lesson_report.cpp.
#include "models/lesson_player.h"

#include "models/lesson_internal.h"
#include "models/model_locator.h"

#include "common/error.h"
#include "model/backend.h"
#include "model/cpu_backend.h"
#include "model/model.h"
#include "model/ops.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <sstream>

namespace logitscope::gui {

using nlohmann::json;
using namespace lesson_detail;
namespace fs = std::filesystem;

namespace {

// Greedy choices for exactly `tokens` new tokens: what the measuring actions decode with.
logitscope::SamplingParams greedyFor(int tokens)
{
    logitscope::SamplingParams p;
    p.greedy = true;
    p.minNewTokens = tokens;
    p.maxNewTokens = tokens;
    return p;
}

double nowMs()
{
    using namespace std::chrono;
    return duration<double, std::milli>(steady_clock::now().time_since_epoch()).count();
}

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

} // namespace

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
    m_promptText = {};
    m_prefilledNow = false;
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
    m_kvPrecision.reset();
    m_weightPrecision.reset();
    m_lastReport.clear();
    m_session.reset();
}

void LessonPlayer::ensureModel()
{
    if (!m_model) {
        if (m_modelPath.empty())
            throw LessonError(m_lesson.source, "model", "no model: the bundled default model was not found");
        try {
            logitscope::LoadOptions options;
            options.populate = true;
            m_model = logitscope::Model::load(m_modelPath, options);
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
    m_prefilledNow = false;
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
    m_promptText = renderPrompt(m_prompt);
    m_prefilledNow = true;
    const auto ids = s.tokenize(m_promptText.text);
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
        const logitscope::SamplingParams p = greedyFor(n + 1);
        const auto prompt = l.tokenize(renderPrompt(m_prompt).text);
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
    case LessonAction::KvPrecision: {
        // Two fresh sessions on the same model, one storing K/V as fp32 and one as fp16, each reading the
        // prompt and choosing greedily; their raw next-token distributions are compared step by step.
        ensureModel();
        const int n = intArg(args, "tokens", 16);
        const logitscope::SamplingParams p = greedyFor(n + 1);
        logitscope::SessionOptions options;
        options.topCandidates = 20;
        auto f16 = std::make_unique<logitscope::CpuBackend>(m_model);
        f16->setKvType(logitscope::DType::F16);
        logitscope::Session a(m_model, std::make_unique<logitscope::CpuBackend>(m_model), options);
        logitscope::Session b(m_model, std::move(f16), options);
        const auto prompt = a.tokenize(renderPrompt(m_prompt).text);
        a.prefill(prompt, p);
        b.prefill(prompt, p);
        KvPrecisionResult r;
        r.tokens = n;
        r.bytesPerTokenF32 = a.kvStats().bytesPerToken;
        r.bytesPerTokenF16 = b.kvStats().bytesPerToken;
        for (int i = 0; i < n; ++i) {
            const auto sa = a.step(0), sb = b.step(0);
            for (const auto& ta : sa.rawTop)
                for (const auto& tb : sb.rawTop)
                    if (ta.id == tb.id) {
                        const double d = std::fabs(std::exp(double(ta.logprob)) - std::exp(double(tb.logprob)));
                        if (d > r.maxProbDiff) {
                            r.maxProbDiff = d;
                            r.maxDiffStep = i;
                        }
                    }
            r.sameChoices += sa.chosen == sb.chosen;
            if (sa.chosen != sb.chosen)
                break; // different text from here on: the distributions no longer answer the same question
        }
        m_kvPrecision = r;
        return;
    }
    case LessonAction::WeightPrecision: {
        // The original model reads the prompt and chooses greedily; each requantized copy reads the same
        // prompt and is made to take the same tokens, so at every position both answer the same
        // question. KL divergence of the whole distribution, whether the top token agrees, and the prompt's
        // perplexity under each.
        ensureModel();
        const int n = intArg(args, "tokens", 16);
        const logitscope::SamplingParams p = greedyFor(n + 1);
        const logitscope::SessionOptions options;
        logitscope::Session a(m_model, logitscope::createBackend(m_model, "cpu"), options);
        const auto prompt = a.tokenize(renderPrompt(m_prompt).text);
        const double originalPerplexity = logitscope::promptPerplexity(a.prefill(prompt, p).promptScores);
        std::vector<std::vector<float>> original;
        std::vector<int32_t> path;
        for (int i = 0; i < n; ++i) {
            original.push_back(logitscope::ops::logSoftmax(a.currentLogits(0)));
            path.push_back(a.step(0).chosen);
        }
        WeightPrecisionResult r;
        r.tokens = n;
        r.weights = m_model->dtypeSummary();
        r.weightBytes = m_model->weightBytes();
        r.promptPerplexity = originalPerplexity;
        for (const auto& t : args["types"]) {
            WeightPrecisionRow row;
            row.type = t.get<std::string>();
            const auto q = logitscope::Model::requantized(m_model, logitscope::weightTypesNamed(row.type));
            row.weights = q->dtypeSummary();
            row.weightBytes = q->weightBytes();
            logitscope::Session b(q, logitscope::createBackend(q, "cpu"), options);
            row.promptPerplexity = logitscope::promptPerplexity(b.prefill(prompt, p).promptScores);
            for (int i = 0; i < n; ++i) {
                const auto lq = logitscope::ops::logSoftmax(b.currentLogits(0));
                const auto& lp = original[size_t(i)];
                double kl = 0;
                for (size_t v = 0; v < lp.size(); ++v)
                    kl += std::exp(double(lp[v])) * (double(lp[v]) - lq[v]);
                row.meanKl += kl / n;
                row.maxKl = std::max(row.maxKl, kl);
                row.sameChoices += std::max_element(lq.begin(), lq.end()) - lq.begin() == path[size_t(i)];
                b.force(0, path[size_t(i)]);
            }
            r.rows.push_back(row);
        }
        m_weightPrecision = r;
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
            const logitscope::SamplingParams p = greedyFor(decode + 1);
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
        const auto prompt = l.tokenize(renderPrompt(m_prompt).text);
        m_throughputSweep.clear();
        for (const auto& v : args["batches"]) {
            const int batch = v.get<int>();
            const logitscope::SamplingParams p = greedyFor(tokens + 2);
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

logitscope::ChatRendering LessonPlayer::renderPrompt(const std::string& prompt) const
{
    if (!m_lesson.chat)
        return {prompt, "", ""};
    const auto& tok = m_model->tokenizer();
    logitscope::ChatRendering r = tok.renderChat("", prompt);
    if (!r.notice.empty()) {
        // Never a silent difference: say that the lesson asked for the template and did not get it.
        r.text = prompt;
        r.notice = tok.chatTemplate().empty()
                       ? "This lesson asks for the model's chat template, but this model has none: the prompt is read "
                         "as raw text."
                       : "This lesson asks for the model's chat template, but Logitscope does not recognise this "
                         "model's template (it knows ChatML, Llama 2 and 3, Mistral, Zephyr, Phi-3 and Gemma): the "
                         "prompt is read as raw text.";
    }
    return r;
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
            // Each entry names one file or, with "$DATA/", one file in each data folder.
            std::vector<fs::path> files;
            for (const auto& candidate : m_lesson.tokenizerB.paths) {
                if (candidate.rfind("$SHARED/", 0) == 0) {
                    if (shared && *shared)
                        files.push_back(fs::path(shared) / candidate.substr(8));
                } else if (candidate.rfind("$DATA/", 0) == 0) {
                    // "$DATA/" is each bundled data folder (model_locator.h)
                    for (const QString& dir : bundledDataDirectories())
                        files.push_back(fs::path(dir.toStdString()) / candidate.substr(6));
                } else {
                    files.push_back(fs::path(candidate).is_absolute() ? fs::path(candidate) : base / candidate);
                }
            }
            std::string tried;
            for (const auto& p : files) {
                tried += (tried.empty() ? "" : ", ") + p.lexically_normal().string();
                std::error_code ec;
                if (!fs::exists(p, ec))
                    continue;
                try {
                    m_tokB = logitscope::loadTokenizerFile(p.string());
                    m_tokBNote.clear();
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

} // namespace logitscope::gui
