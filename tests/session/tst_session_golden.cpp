// The Session against Hugging Face transformers on the reference model: beam search (three settings
// per prompt: identical sequences in the same order, scores within 1e-3) and greedy decoding (ids and
// raw top-10 log-probabilities within 2e-3, up to the first EOS, where the Session stops), for the
// Hugging Face folder and the GGUF file alike, with the reference's RoPE arithmetic and with exact RoPE.
#include "decoding/session.h"
#include "model/backend.h"
#include "model/model.h"
#include "reference_json.h"

#include <QtTest>

#include <fstream>
#include <nlohmann/json.hpp>

using namespace logitscope;

namespace {

// The reference was made on a model whose RoPE frequencies were rounded to fp16 (see tests/model's
// golden test and RopeScaling::rounding). Loaded the same way, the Session must reproduce it: every
// beam hypothesis in the same order with its score within 1e-3, greedy ids identical and log-probs
// within 2e-3. With exact frequencies (the default) the later greedy steps drift by up to 5.3e-3, so
// that variant is held to 1e-2 and may lose a hypothesis, or flip an argmax, at a near tie.
constexpr float kLogprobTol = 2e-3f;
constexpr float kExactGreedyTol = 1e-2f;

std::shared_ptr<const Model> loadReferenceModel(const QString& path, bool referenceRope)
{
    LoadOptions o;
    if (referenceRope)
        o.ropeRounding = RopeScaling::Rounding::Fp16;
    return Model::load(test::sharedPath(path.toStdString()), o);
}

const nlohmann::json& reference() { return test::llamaReference(); }

// generate() right-pads shorter hypotheses with the pad id, which is EOS (2) for this model:
// everything after the first EOS is padding.
std::vector<int32_t> unpadded(std::vector<int32_t> ids)
{
    const auto eos = std::find(ids.begin(), ids.end(), 2);
    if (eos != ids.end())
        ids.erase(eos + 1, ids.end());
    return ids;
}

// Follows `ids` down the beam tree to the step where its prefix stopped being a running beam, and
// returns how far its cumulative log-prob was below the weakest beam kept at that step (-1 when the
// prefix is not among the recorded candidates at all).
double prunedGap(const BeamTree& tree, const std::vector<int32_t>& ids)
{
    int node = 0;
    for (size_t s = 0; s < ids.size(); ++s) {
        int next = -1;
        for (int n = 0; n < int(tree.nodes.size()); ++n)
            if (tree.nodes[size_t(n)].parent == node && tree.nodes[size_t(n)].token == ids[s])
                next = n;
        if (next < 0)
            return -1;
        const BeamNode& c = tree.nodes[size_t(next)];
        if (c.fate != BeamFate::Kept) {
            float weakestKept = 0;
            bool any = false;
            for (const BeamNode& k : tree.nodes)
                if (k.step == c.step && k.fate == BeamFate::Kept) {
                    weakestKept = any ? std::min(weakestKept, k.cumulative) : k.cumulative;
                    any = true;
                }
            return any ? double(weakestKept - c.cumulative) : -1;
        }
        node = next;
    }
    return -1;
}

} // namespace

class TestSessionGolden : public QObject {
    Q_OBJECT

private slots:
    void beamSearch_data()
    {
        QTest::addColumn<QString>("model");
        QTest::addColumn<bool>("referenceRope");
        for (bool rounded : {true, false}) {
            const char* rope = rounded ? "fp16-rounded RoPE" : "exact RoPE";
            QTest::addRow("safetensors, %s", rope) << "models/ref-llama-spm" << rounded;
            QTest::addRow("gguf, %s", rope) << "models/ref-llama-spm.gguf" << rounded;
        }
    }

    void beamSearch()
    {
        QFETCH(QString, model);
        QFETCH(bool, referenceRope);
        REQUIRE_SHARED("reference/ref-llama-spm.hf.json");
        REQUIRE_SHARED(model.toStdString());
        auto m = loadReferenceModel(model, referenceRope);
        Session s(m, createBackend(m, "cpu", 2));
        int cases = 0, matched = 0, nearTies = 0;
        for (const auto& prompt : reference()["per_prompt"]) {
            const std::vector<int32_t> ids = prompt["prompt_ids"].get<std::vector<int32_t>>();
            for (const auto& b : prompt["beam"]) {
                SamplingParams p;
                p.greedy = true;
                p.numBeams = b["num_beams"].get<int>();
                p.numReturnSequences = p.numBeams;
                p.lengthPenalty = b["length_penalty"].get<double>();
                p.maxNewTokens = b["max_new_tokens"].get<int>();
                const auto& es = b["early_stopping"];
                p.earlyStopping = es.is_boolean() ? (es.get<bool>() ? EarlyStopping::True : EarlyStopping::False)
                                                  : EarlyStopping::Never;
                s.prefill(ids, p);
                const BeamResult r = s.beamSearch(p);
                const auto& want = b["sequences"];
                const auto& scores = b["scores"];
                const QString where = QString("%1 beams=%2 lp=%3 es=%4").arg(QString::fromStdString(prompt["prompt"]))
                                          .arg(p.numBeams).arg(p.lengthPenalty).arg(QString::fromStdString(es.dump()));
                QCOMPARE(int(r.hypotheses.size()), int(want.size()));
                for (size_t k = 0; k < want.size(); ++k) {
                    const std::vector<int32_t> ref = unpadded(want[k].get<std::vector<int32_t>>());
                    const auto same = std::find_if(r.hypotheses.begin(), r.hypotheses.end(),
                                                   [&](const BeamHypothesis& h) { return h.ids == ref; });
                    if (same != r.hypotheses.end()) {
                        // Found: the same length-penalised score.
                        QVERIFY2(std::fabs(same->score - scores[k].get<double>()) < 1e-3,
                                 qPrintable(where + QString(" score %1 vs %2").arg(same->score).arg(scores[k].get<double>())));
                        ++matched;
                        continue;
                    }
                    // Not found: only with exact RoPE, where the search may drop a prefix in a near-tie, a
                    // gap smaller than the measured HF-vs-exact discrepancy of per-step log-probs (5e-3).
                    QVERIFY2(!referenceRope, qPrintable(where + QString(" hypothesis %1 missing").arg(k)));
                    const double gap = prunedGap(r.tree, ref);
                    QVERIFY2(gap >= 0 && gap < 1e-2, qPrintable(where + QString(" hypothesis %1 pruned with gap %2").arg(k).arg(gap)));
                    ++nearTies;
                }
                if (referenceRope || !es.is_boolean() || !es.get<bool>()) // no near-ties: exact order
                    for (size_t k = 0; k < want.size(); ++k)
                        QVERIFY2(r.hypotheses[k].ids == unpadded(want[k].get<std::vector<int32_t>>()), qPrintable(where));
                ++cases;
            }
        }
        QCOMPARE(cases, 12);
        qInfo("beam hypotheses identical to Hugging Face: %d; lost in near-ties: %d", matched, nearTies);
        QVERIFY(matched >= 3 * nearTies);
        if (referenceRope)
            QCOMPARE(nearTies, 0);
        // Beams shared the prompt's KV blocks and every beam sequence was released afterwards.
        QCOMPARE(s.kvStats().sequences, 2);
    }

    void greedyMatchesReference_data() { beamSearch_data(); }

    void greedyMatchesReference()
    {
        QFETCH(QString, model);
        QFETCH(bool, referenceRope);
        REQUIRE_SHARED("reference/ref-llama-spm.hf.json");
        REQUIRE_SHARED(model.toStdString());
        const float greedyTol = referenceRope ? kLogprobTol : kExactGreedyTol;
        auto m = loadReferenceModel(model, referenceRope);
        Session s(m, createBackend(m, "cpu", 2));
        for (const auto& prompt : reference()["per_prompt"]) {
            const std::vector<int32_t> ids = s.tokenize(prompt["prompt"].get<std::string>());
            QCOMPARE(ids, prompt["prompt_ids"].get<std::vector<int32_t>>());
            SamplingParams p;
            p.greedy = true;
            p.maxNewTokens = 32;
            const PrefillRecord pre = s.prefill(ids, p);
            const auto& wantLp = prompt["prompt_logprobs"];
            QCOMPARE(pre.promptScores.size(), ids.size());
            QVERIFY(!pre.promptScores[0].scored());
            double nll = 0;
            for (size_t t = 1; t < ids.size(); ++t) {
                QVERIFY(std::fabs(pre.promptScores[t].logprob - wantLp[t - 1].get<float>()) < 2e-3f);
                nll -= wantLp[t - 1].get<double>();
            }
            // The prompt's perplexity, from the reference's log-probs.
            const double wantPpl = std::exp(nll / double(ids.size() - 1));
            QVERIFY2(std::fabs(promptPerplexity(pre.promptScores) / wantPpl - 1) < 2e-3,
                     qPrintable(QString("perplexity %1 vs %2").arg(promptPerplexity(pre.promptScores)).arg(wantPpl)));
            int steps = 0;
            for (const auto& g : prompt["greedy"]) {
                const StepRecord r = s.step(0);
                if (r.chosen != g["id"].get<int32_t>()) {
                    // Only a near-tie in the reference may flip the argmax, and only with exact RoPE.
                    QVERIFY2(!referenceRope, qPrintable(QString("step %1: %2 vs %3").arg(steps).arg(r.chosen)
                                                            .arg(g["id"].get<int32_t>())));
                    const float gap = g["top10"][0][1].get<float>() - g["top10"][1][1].get<float>();
                    QVERIFY2(gap < 2e-3f, qPrintable(QString("step %1: %2 vs %3, reference gap %4").arg(steps)
                                                         .arg(r.chosen).arg(g["id"].get<int32_t>()).arg(gap)));
                    break;
                }
                // Each of the reference's top 10 is among ours (near-equal ones may swap places)
                // with its log-probability.
                for (size_t k = 0; k < 10; ++k) {
                    const int32_t id = g["top10"][k][0].get<int32_t>();
                    const auto it = std::find_if(r.rawTop.begin(), r.rawTop.end(), [&](const TokenLogprob& t) { return t.id == id; });
                    QVERIFY2(it != r.rawTop.end(), qPrintable(QString("step %1: token %2 missing from the top").arg(steps).arg(id)));
                    QVERIFY(std::fabs(it->logprob - g["top10"][k][1].get<float>()) < greedyTol);
                }
                ++steps;
                if (s.finished(0)) {
                    QVERIFY(r.finish == FinishReason::Eos || (r.finish == FinishReason::Length && steps == 32));
                    break;
                }
            }
            QVERIFY(steps > 5);
        }
    }
};

QTEST_GUILESS_MAIN(TestSessionGolden)
#include "tst_session_golden.moc"
