// Lesson checks: what a step claims ("entropy grows with T", "the cache saves bytes by sharing"), verified
// on what the step just measured. One function, LessonPlayer::evaluate; the keys each check needs are
// validated when the lesson file is read (lesson.cpp). Not the measuring itself (lesson_player.cpp).
#include "models/lesson_internal.h"

#include "common/error.h"
#include "decoding/grammar/grammar_matcher.h"
#include "decoding/grammar/grammar_stage.h"
#include "model/backend.h"

#include <algorithm>
#include <cmath>
#include <set>

namespace logitscope::gui {

using nlohmann::json;
using namespace lesson_detail;

namespace {

bool compare(double a, const std::string& op, double b)
{
    if (op == "<") return a < b;
    if (op == "<=") return a <= b;
    if (op == ">") return a > b;
    if (op == ">=") return a >= b;
    if (op == "==") return a == b;
    return a != b;
}

} // namespace

const char* checkStatusName(CheckResult::Status status)
{
    switch (status) {
    case CheckResult::Status::Pass: return "pass";
    case CheckResult::Status::Fail: return "fail";
    case CheckResult::Status::Skipped: return "skipped";
    }
    return "?";
}

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
    if (k == "prompt_scored") {
        // One prefill pass rated every prompt token after the first, and better than a uniform guess.
        const auto& scores = s.lastPrefill().promptScores;
        const int n = int(s.promptIds().size());
        const int scored = int(std::count_if(scores.begin(), scores.end(),
                                             [](const logitscope::PromptTokenScore& t) { return t.scored(); }));
        const double ppl = logitscope::promptPerplexity(scores);
        return verdict(n > 1 && scored == n - 1 && ppl < cfg.vocabSize,
                       std::to_string(scored) + " of " + std::to_string(std::max(0, n - 1)) +
                           " prompt tokens after the first scored by the prefill; perplexity " + fmt(ppl, 1) + " < " +
                           std::to_string(cfg.vocabSize) + " (a uniform guess)");
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
    // --- constrained decoding ---
    if (k == "grammar_removed_mass") {
        const auto rec = previewOf(lane);
        const auto* snap = stageOf(rec.sample, "grammar");
        if (!snap)
            return fail(laneLabel(lane) + " has no grammar stage (no grammar or json_schema in its settings)");
        const double v = a["value"].get<double>();
        return verdict(compare(snap->removedMass, op, v), "the grammar removed " + fmt(100.0 * snap->removedMass, 1)
                                                              + " % of the probability (" + op + " " + fmt(100.0 * v, 1)
                                                              + " %) at " + snap->grammarPosition);
    }
    if (k == "grammar_accepts_output") {
        const auto& params = s.sampling(laneId(lane));
        if (!logitscope::hasGrammar(params))
            return fail(laneLabel(lane) + " has no grammar");
        const std::string text = s.text(laneId(lane));
        return verdict(logitscope::compileGrammar(params)->acceptsString(text),
                       laneLabel(lane) + "'s output re-parsed by its grammar as a whole: \"" + text + "\"");
    }
    if (k == "output_is_json") {
        const std::string text = s.text(laneId(lane));
        const json parsed = json::parse(text, nullptr, false);
        return verdict(!parsed.is_discarded(), laneLabel(lane) + "'s output " + (parsed.is_discarded() ? "does not parse" : "parses")
                                                   + " as JSON: " + text);
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
    if (k == "kv_fp16_halves" || k == "kv_fp16_close") {
        if (!m_kvPrecision)
            return fail("no \"kv-precision\" step ran");
        const auto& r = *m_kvPrecision;
        if (k == "kv_fp16_halves")
            return verdict(r.bytesPerTokenF16 * 2 == r.bytesPerTokenF32,
                           std::to_string(r.bytesPerTokenF16) + " B/token in fp16 × 2 = " + std::to_string(r.bytesPerTokenF32)
                               + " B/token in fp32");
        const double limit = a["value"].get<double>();
        return verdict(r.maxProbDiff <= limit && r.sameChoices == r.tokens,
                       "largest probability change " + fmt(r.maxProbDiff, 5) + " ≤ " + fmt(limit, 5) + ", same greedy token at "
                           + std::to_string(r.sameChoices) + " of " + std::to_string(r.tokens) + " steps");
    }
    if (k.rfind("weights_", 0) == 0) {
        if (!m_weightPrecision)
            return fail("no \"weight-precision\" step ran");
        const auto& r = *m_weightPrecision;
        const auto mb = [](size_t bytes) { return fmt(double(bytes) / 1e6, 1) + " MB"; };
        if (k == "weights_shrink") {
            bool ok = !r.rows.empty();
            size_t prev = r.weightBytes;
            std::string text = r.weights + " " + mb(r.weightBytes);
            for (const auto& row : r.rows) {
                ok = ok && row.weightBytes < prev;
                prev = row.weightBytes;
                text += " > " + row.weights + " " + mb(row.weightBytes);
            }
            return verdict(ok, text);
        }
        if (k == "weights_kl_grows") {
            bool ok = r.rows.size() >= 2;
            std::string text;
            for (size_t i = 0; i < r.rows.size(); ++i) {
                ok = ok && (i == 0 || r.rows[i].meanKl > r.rows[i - 1].meanKl);
                text += (i ? " < " : "mean KL ") + r.rows[i].weights + " " + fmt(r.rows[i].meanKl, 5);
            }
            return verdict(ok, text);
        }
        const std::string type = a["type"].get<std::string>();
        const auto row = std::find_if(r.rows.begin(), r.rows.end(), [&](const auto& x) { return x.type == type; });
        if (row == r.rows.end())
            return fail("the \"weight-precision\" step did not try \"" + type + "\"");
        const double limit = a["value"].get<double>();
        if (k == "weights_kl_below")
            return verdict(row->meanKl < limit, row->weights + ": mean KL " + fmt(row->meanKl, 6) + " < " + fmt(limit, 6)
                                                    + " (largest " + fmt(row->maxKl, 6) + ")");
        const double share = double(row->sameChoices) / std::max(1, r.tokens);
        return verdict(share >= limit, row->weights + ": same top token at " + std::to_string(row->sameChoices) + " of "
                                           + std::to_string(r.tokens) + " positions (" + fmt(share, 2) + " ≥ " + fmt(limit, 2) + ")");
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

} // namespace logitscope::gui
