// The Lessons panel's view of a step: what it measured as a little HTML (lanes table, the two
// tokenizations, beam hypotheses, sweep tables). Rendering only: nothing here runs the engine.
#include "models/lesson_internal.h"

#include <algorithm>
#include <cstdio>
#include <sstream>

namespace logitscope::gui {

using namespace lesson_detail;

namespace {

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
    case LessonAction::KvPrecision:
        if (m_kvPrecision) {
            const auto& k = *m_kvPrecision;
            h << "<p>K/V as fp32: <b>" << k.bytesPerTokenF32 << " B</b> per token; as fp16: <b>" << k.bytesPerTokenF16
              << " B</b>. Over " << k.tokens << " greedy steps the two caches chose the same token "
              << k.sameChoices << " times; the largest change of a next-token probability (top 20) was <b>"
              << fmt(k.maxProbDiff, 5) << "</b> (step " << k.maxDiffStep << ").</p>";
        }
        break;
    case LessonAction::WeightPrecision:
        if (m_weightPrecision) {
            const auto& w = *m_weightPrecision;
            h << "<table border='1' cellspacing='0' cellpadding='3'><tr><th>weights</th><th>MB</th><th>mean KL</th><th>largest KL</th><th>same top token</th>"
                 "<th>prompt perplexity</th></tr>"
              << "<tr><td>" << lessonHtmlEscape(w.weights) << " (as loaded)</td><td>" << fmt(double(w.weightBytes) / 1e6, 1)
              << "</td><td>—</td><td>—</td><td>—</td><td>" << fmt(w.promptPerplexity, 2) << "</td></tr>";
            for (const auto& r : w.rows)
                h << "<tr><td>" << lessonHtmlEscape(r.weights) << "</td><td>" << fmt(double(r.weightBytes) / 1e6, 1)
                  << "</td><td>" << fmt(r.meanKl, 5) << "</td><td>" << fmt(r.maxKl, 5) << "</td><td>" << r.sameChoices
                  << " / " << w.tokens << "</td><td>" << fmt(r.promptPerplexity, 2) << "</td></tr>";
            h << "</table>";
        }
        break;
    default:
        break;
    }
    if (m_prefilledNow && m_lesson.chat) {
        // "chat": true — show the text that was really tokenized, or why it is the raw prompt.
        if (m_promptText.notice.empty())
            h << "<p><b>Chat template</b> (" << lessonHtmlEscape(m_promptText.family) << "): the model read <tt>"
              << lessonHtmlEscape(m_promptText.text) << "</tt></p>";
        else
            h << "<p><b>Note:</b> " << lessonHtmlEscape(m_promptText.notice) << "</p>";
    }
    if (s && s->hasPrompt() && step.action != LessonAction::Tokenize && step.action != LessonAction::SweepContext
        && step.action != LessonAction::SweepThroughput && step.action != LessonAction::Recompute
        && step.action != LessonAction::Beam && step.action != LessonAction::KvPrecision
        && step.action != LessonAction::WeightPrecision) {
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
