// Golden: Hugging Face logits processors on the reference model's real logits (../shared reference JSON,
// `processors`): same number of surviving tokens and the top-50 log-probabilities within 1e-4, masked
// (-Infinity) entries masked here too, and the same ranking of the finite ones.
#include "decoding/sampler_chain.h"

#include "shared_data.h"

#include <QtTest>

#include <nlohmann/json.hpp>

#include <cmath>
#include <fstream>
#include <functional>
#include <limits>
#include <map>
#include <numeric>
#include <sstream>

using namespace logitscope;

namespace {

const char* kReference = "reference/ref-llama-spm.hf.json";

// Python's json writes -Infinity / NaN, which JSON does not have: read them as null.
nlohmann::json readPythonJson(const std::string& path)
{
    std::ifstream in(path, std::ios::binary);
    std::stringstream buffer;
    buffer << in.rdbuf();
    std::string text = buffer.str();
    for (const char* word : {"-Infinity", "Infinity", "NaN"}) {
        const std::string w = word;
        for (size_t pos = text.find(w); pos != std::string::npos; pos = text.find(w, pos))
            text.replace(pos, w.size(), "null");
    }
    return nlohmann::json::parse(text);
}

// The settings behind each case name in the reference file.
const std::map<std::string, std::function<void(SamplingParams&)>>& cases()
{
    static const std::map<std::string, std::function<void(SamplingParams&)>> table = {
        {"temperature_0.7", [](SamplingParams& p) { p.temperature = 0.7; }},
        {"temperature_1.5", [](SamplingParams& p) { p.temperature = 1.5; }},
        {"top_k_20", [](SamplingParams& p) { p.topK = 20; }},
        {"top_p_0.9", [](SamplingParams& p) { p.topP = 0.9; }},
        {"min_p_0.05", [](SamplingParams& p) { p.minP = 0.05; }},
        {"typical_p_0.9", [](SamplingParams& p) { p.typicalP = 0.9; }},
        {"repetition_penalty_1.3", [](SamplingParams& p) { p.repetitionPenalty = 1.3; }},
        {"no_repeat_ngram_2", [](SamplingParams& p) { p.noRepeatNgram = 2; }},
        {"chain_rep1.2_temp0.8_topk40_topp0.95_minp0.02",
         [](SamplingParams& p) {
             p.repetitionPenalty = 1.2;
             p.temperature = 0.8;
             p.topK = 40;
             p.topP = 0.95;
             p.minP = 0.02;
         }},
    };
    return table;
}

} // namespace

class TstSamplerGolden : public QObject {
    Q_OBJECT
private slots:
    void initTestCase()
    {
        REQUIRE_SHARED(kReference);
        m_ref = readPythonJson(test::sharedPath(kReference));
        m_logits = m_ref.at("per_prompt").at(0).at("last_logits").get<std::vector<float>>();
        m_prev = m_ref.at("processors").at("prev_ids").get<std::vector<int32_t>>();
        QCOMPARE(m_prev, m_ref.at("per_prompt").at(0).at("prompt_ids").get<std::vector<int32_t>>());
    }

    void everyCaseKnown()
    {
        int known = 0;
        for (auto it = m_ref.at("processors").begin(); it != m_ref.at("processors").end(); ++it) {
            if (it.key() == "prev_ids")
                continue;
            QVERIFY2(cases().count(it.key()), qPrintable("reference case without settings here: " + QString::fromStdString(it.key())));
            ++known;
        }
        QCOMPARE(known, int(cases().size()));
    }

    void rawMatchesLastTop20()
    {
        SamplerChain chain(SamplingParams{});
        SamplingContext ctx;
        ctx.promptIds = m_prev;
        const std::vector<float> lp = chain.processedLogprobs(m_logits, ctx);
        for (const auto& e : m_ref.at("per_prompt").at(0).at("last_top20"))
            QVERIFY(std::abs(lp[size_t(e.at(0).get<int>())] - e.at(1).get<float>()) < 1e-4f);
    }

    void processors_data()
    {
        QTest::addColumn<QString>("name");
        for (const auto& [name, edit] : cases())
            QTest::newRow(name.c_str()) << QString::fromStdString(name);
    }
    void processors()
    {
        QFETCH(QString, name);
        const nlohmann::json& expected = m_ref.at("processors").at(name.toStdString());
        SamplingParams params;
        cases().at(name.toStdString())(params);
        SamplerChain chain(params);
        SamplingContext ctx;
        ctx.promptIds = m_prev;
        const std::vector<float> lp = chain.processedLogprobs(m_logits, ctx);

        int kept = 0;
        for (float v : lp)
            kept += std::isfinite(v) ? 1 : 0;
        QCOMPARE(kept, expected.at("kept").get<int>());

        // Our ranking of the processed distribution (logprob descending, id ascending).
        std::vector<int32_t> order(lp.size());
        std::iota(order.begin(), order.end(), 0);
        std::stable_sort(order.begin(), order.end(), [&lp](int32_t a, int32_t b) { return lp[size_t(a)] > lp[size_t(b)]; });

        const nlohmann::json& top = expected.at("top50");
        QCOMPARE(int(top.size()), 50);
        float worst = 0;
        for (int rank = 0; rank < int(top.size()); ++rank) {
            const int32_t id = top[size_t(rank)].at(0).get<int32_t>();
            const nlohmann::json& value = top[size_t(rank)].at(1);
            if (value.is_null()) { // -Infinity in the reference: masked here too
                QVERIFY2(lp[size_t(id)] == -std::numeric_limits<float>::infinity(),
                         qPrintable(QString("id %1 should be masked, logprob %2").arg(id).arg(lp[size_t(id)])));
                continue;
            }
            const float want = value.get<float>();
            const float diff = std::abs(lp[size_t(id)] - want);
            worst = std::max(worst, diff);
            QVERIFY2(diff < 1e-4f, qPrintable(QString("rank %1 id %2: %3 vs HF %4").arg(rank).arg(id).arg(lp[size_t(id)]).arg(want)));
            // Same id at this rank, unless HF's neighbours tie with it (within 1e-5).
            if (order[size_t(rank)] != id) {
                const float ours = lp[size_t(order[size_t(rank)])];
                QVERIFY2(std::abs(ours - want) < 1e-5f,
                         qPrintable(QString("rank %1: id %2 here, id %3 in HF").arg(rank).arg(order[size_t(rank)]).arg(id)));
            }
        }
        qInfo("%s: kept %d, max |dlogprob| %.2e", qPrintable(name), kept, double(worst));
    }

private:
    nlohmann::json m_ref;
    std::vector<float> m_logits;
    std::vector<int32_t> m_prev;
};

QTEST_APPLESS_MAIN(TstSamplerGolden)
#include "tst_sampler_golden.moc"
