// The Session against Hugging Face transformers on the reference model: beam search (three settings
// per prompt: identical sequences in the same order, scores within 1e-3) and greedy decoding (ids and
// raw top-10 log-probabilities within 2e-3, up to the first EOS, where the Session stops), for the
// Hugging Face folder and the GGUF file alike.
#include "decoding/session.h"
#include "model/backend.h"
#include "model/model.h"
#include "reference_json.h"

#include <QtTest>

#include <fstream>
#include <nlohmann/json.hpp>

using namespace logitscope;

namespace {

const nlohmann::json& reference() { return test::llamaReference(); }

} // namespace

class TestSessionGolden : public QObject {
    Q_OBJECT

private slots:
    void beamSearch_data()
    {
        QTest::addColumn<QString>("model");
        QTest::newRow("safetensors") << "models/ref-llama-spm";
        QTest::newRow("gguf") << "models/ref-llama-spm.gguf";
    }

    void beamSearch()
    {
        QFETCH(QString, model);
        REQUIRE_SHARED("reference/ref-llama-spm.hf.json");
        REQUIRE_SHARED(model.toStdString());
        auto m = Model::load(test::sharedPath(model.toStdString()));
        Session s(m, createBackend(m, "cpu", 2));
        int cases = 0;
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
                    QVERIFY2(r.hypotheses[k].ids == want[k].get<std::vector<int32_t>>(), qPrintable(where + QString(" hypothesis %1").arg(k)));
                    QVERIFY2(std::fabs(r.hypotheses[k].score - scores[k].get<double>()) < 1e-3,
                             qPrintable(where + QString(" score %1 vs %2").arg(r.hypotheses[k].score).arg(scores[k].get<double>())));
                }
                ++cases;
            }
        }
        QCOMPARE(cases, 12);
        // Beams shared the prompt's KV blocks and every beam sequence was released afterwards.
        QCOMPARE(s.kvStats().sequences, 2);
    }

    void greedyMatchesReference_data() { beamSearch_data(); }

    void greedyMatchesReference()
    {
        QFETCH(QString, model);
        REQUIRE_SHARED("reference/ref-llama-spm.hf.json");
        REQUIRE_SHARED(model.toStdString());
        auto m = Model::load(test::sharedPath(model.toStdString()));
        Session s(m, createBackend(m, "cpu", 2));
        for (const auto& prompt : reference()["per_prompt"]) {
            const std::vector<int32_t> ids = s.tokenize(prompt["prompt"].get<std::string>());
            QCOMPARE(ids, prompt["prompt_ids"].get<std::vector<int32_t>>());
            SamplingParams p;
            p.greedy = true;
            p.maxNewTokens = 32;
            const PrefillRecord pre = s.prefill(ids, p);
            const auto& wantLp = prompt["prompt_logprobs"];
            for (size_t t = 1; t < ids.size(); ++t)
                QVERIFY(std::fabs(pre.promptLogprobs[t] - wantLp[t - 1].get<float>()) < 2e-3f);
            int steps = 0;
            for (const auto& g : prompt["greedy"]) {
                const StepRecord r = s.step(0);
                QCOMPARE(r.chosen, g["id"].get<int32_t>());
                for (size_t k = 0; k < 10; ++k) {
                    QCOMPARE(r.rawTop[k].id, g["top10"][k][0].get<int32_t>());
                    QVERIFY(std::fabs(r.rawTop[k].logprob - g["top10"][k][1].get<float>()) < 2e-3f);
                }
                ++steps;
                if (s.finished(0)) {
                    QCOMPARE(r.finish, FinishReason::Eos);
                    break;
                }
            }
            QVERIFY(steps > 5);
        }
    }
};

QTEST_GUILESS_MAIN(TestSessionGolden)
#include "tst_session_golden.moc"
