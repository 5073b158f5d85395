// SamplingParams: validate() rejects every out-of-range setting with a message naming it; JSON round trip
// and JSON errors naming the key.
#include "common/error.h"
#include "decoding/sampling_params.h"

#include <QtTest>

#include <nlohmann/json.hpp>

#include <cmath>
#include <functional>
#include <limits>

using namespace logitscope;

namespace {

// Runs validate() and returns the Error message ("" when it passed).
std::string validationError(const SamplingParams& p, int context = 4096)
{
    try {
        validate(p, context);
    } catch (const Error& e) {
        return e.what();
    }
    return {};
}

std::string jsonError(const nlohmann::json& j)
{
    try {
        (void)samplingParamsFromJson(j);
    } catch (const Error& e) {
        return e.what();
    }
    return {};
}

} // namespace

class TstSamplingParams : public QObject {
    Q_OBJECT
private slots:
    void defaultsAreValid()
    {
        SamplingParams p;
        QCOMPARE(QString::fromStdString(validationError(p)), QString());
        QCOMPARE(p.temperature, 1.0);
        QCOMPARE(p.topK, 0);
        QCOMPARE(p.topP, 1.0);
        QCOMPARE(p.maxNewTokens, 64);
        QCOMPARE(p.numBeams, 1);
        QVERIFY(!p.isGreedy());
        p.temperature = 0;
        QVERIFY(p.isGreedy());
    }

    void rejections_data()
    {
        QTest::addColumn<int>("which");
        QTest::addColumn<QString>("field");
        const double nan = std::numeric_limits<double>::quiet_NaN();
        const double inf = std::numeric_limits<double>::infinity();
        m_cases.clear();
        auto add = [this](const char* row, const char* field, std::function<void(SamplingParams&)> edit) {
            m_cases.push_back(edit);
            QTest::newRow(row) << int(m_cases.size() - 1) << QString(field);
        };
        add("negative temperature", "temperature", [](SamplingParams& p) { p.temperature = -0.1; });
        add("nan temperature", "temperature", [nan](SamplingParams& p) { p.temperature = nan; });
        add("inf temperature", "temperature", [inf](SamplingParams& p) { p.temperature = inf; });
        add("top_k < 0", "top_k", [](SamplingParams& p) { p.topK = -1; });
        add("top_p 0", "top_p", [](SamplingParams& p) { p.topP = 0; });
        add("top_p > 1", "top_p", [](SamplingParams& p) { p.topP = 1.01; });
        add("top_p nan", "top_p", [nan](SamplingParams& p) { p.topP = nan; });
        add("min_p < 0", "min_p", [](SamplingParams& p) { p.minP = -0.01; });
        add("min_p > 1", "min_p", [](SamplingParams& p) { p.minP = 1.5; });
        add("min_p nan", "min_p", [nan](SamplingParams& p) { p.minP = nan; });
        add("typical_p 0", "typical_p", [](SamplingParams& p) { p.typicalP = 0; });
        add("typical_p > 1", "typical_p", [](SamplingParams& p) { p.typicalP = 2; });
        add("repetition 0", "repetition_penalty", [](SamplingParams& p) { p.repetitionPenalty = 0; });
        add("repetition < 0", "repetition_penalty", [](SamplingParams& p) { p.repetitionPenalty = -1; });
        add("repetition nan", "repetition_penalty", [nan](SamplingParams& p) { p.repetitionPenalty = nan; });
        add("presence > 2", "presence_penalty", [](SamplingParams& p) { p.presencePenalty = 2.5; });
        add("presence nan", "presence_penalty", [nan](SamplingParams& p) { p.presencePenalty = nan; });
        add("frequency < -2", "frequency_penalty", [](SamplingParams& p) { p.frequencyPenalty = -3; });
        add("ngram < 0", "no_repeat_ngram_size", [](SamplingParams& p) { p.noRepeatNgram = -2; });
        add("max_new 0", "max_new_tokens", [](SamplingParams& p) { p.maxNewTokens = 0; });
        add("max_new past context", "max_new_tokens", [](SamplingParams& p) { p.maxNewTokens = 5000; });
        add("min_new < 0", "min_new_tokens", [](SamplingParams& p) { p.minNewTokens = -1; });
        add("min_new > max_new", "min_new_tokens", [](SamplingParams& p) { p.minNewTokens = 65; });
        add("empty stop", "stop", [](SamplingParams& p) { p.stop = {"ok", ""}; });
        add("beams 0", "num_beams", [](SamplingParams& p) { p.numBeams = 0; });
        add("beams 65", "num_beams", [](SamplingParams& p) { p.numBeams = 65; });
        add("length penalty nan", "length_penalty", [nan](SamplingParams& p) { p.lengthPenalty = nan; });
        add("num_return 0", "num_return_sequences", [](SamplingParams& p) { p.numReturnSequences = 0; });
        add("num_return > beams", "num_return_sequences", [](SamplingParams& p) {
            p.numBeams = 2;
            p.numReturnSequences = 3;
        });
    }
    void rejections()
    {
        QFETCH(int, which);
        QFETCH(QString, field);
        SamplingParams p;
        m_cases[size_t(which)](p);
        const QString message = QString::fromStdString(validationError(p));
        QVERIFY2(!message.isEmpty(), "validate() accepted it");
        QVERIFY2(message.contains("'" + field + "'"), qPrintable(message));
    }

    void edgesAccepted()
    {
        SamplingParams p;
        p.temperature = 0;
        p.topP = 1.0;
        p.minP = 1.0;
        p.typicalP = 1.0;
        p.presencePenalty = -2;
        p.frequencyPenalty = 2;
        p.maxNewTokens = 100;
        p.minNewTokens = 100;
        p.numBeams = 64;
        p.numReturnSequences = 64;
        QCOMPARE(QString::fromStdString(validationError(p, 100)), QString());
        QCOMPARE(QString::fromStdString(validationError(p, -1)), QString()); // context unknown
        QVERIFY(!validationError(p, 99).empty());
    }

    void jsonRoundTrip()
    {
        SamplingParams p;
        p.temperature = 0.7;
        p.topK = 40;
        p.topP = 0.95;
        p.minP = 0.02;
        p.typicalP = 0.9;
        p.repetitionPenalty = 1.2;
        p.presencePenalty = 0.5;
        p.frequencyPenalty = -0.25;
        p.noRepeatNgram = 3;
        p.minNewTokens = 2;
        p.maxNewTokens = 200;
        p.stop = {"\n\n", "END"};
        p.seed = 0xfedcba9876543210ull;
        p.greedy = true;
        p.order = SamplerOrder::LlamaCpp;
        p.numBeams = 4;
        p.lengthPenalty = 0.6;
        p.earlyStopping = EarlyStopping::Never;
        p.numReturnSequences = 3;
        const nlohmann::json j = toJson(p);
        QCOMPARE(QString::fromStdString(j.at("order").get<std::string>()), QString("llama.cpp"));
        QCOMPARE(QString::fromStdString(j.at("early_stopping").get<std::string>()), QString("never"));
        QVERIFY(samplingParamsFromJson(nlohmann::json::parse(j.dump())) == p);
        // ADL conversions.
        const SamplingParams q = j.get<SamplingParams>();
        QVERIFY(q == p);
        nlohmann::json k = q;
        QCOMPARE(k, j);
        p.earlyStopping = EarlyStopping::True;
        QVERIFY(toJson(p).at("early_stopping").get<bool>());
    }

    void jsonPartialAndForms()
    {
        const SamplingParams p = samplingParamsFromJson(nlohmann::json::parse("{\"top_k\": 5, \"stop\": \"###\", \"top_p\": 1}"));
        QCOMPARE(p.topK, 5);
        QCOMPARE(p.topP, 1.0);
        QCOMPARE(p.stop.size(), size_t(1));
        QCOMPARE(QString::fromStdString(p.stop[0]), QString("###"));
        QCOMPARE(p.temperature, 1.0); // default kept
        QCOMPARE(samplingParamsFromJson(nlohmann::json::parse("{\"top_k\": 3.0}")).topK, 3);
        QCOMPARE(samplingParamsFromJson(nlohmann::json::parse("{\"early_stopping\": false}")).earlyStopping,
                 EarlyStopping::False);
    }

    void jsonErrors_data()
    {
        QTest::addColumn<QString>("json");
        QTest::addColumn<QString>("field");
        QTest::newRow("string temperature") << "{\"temperature\": \"hot\"}" << "temperature";
        QTest::newRow("fractional top_k") << "{\"top_k\": 2.5}" << "top_k";
        QTest::newRow("bool top_k") << "{\"top_k\": true}" << "top_k";
        QTest::newRow("negative seed") << "{\"seed\": -1}" << "seed";
        QTest::newRow("float seed") << "{\"seed\": 1.5}" << "seed";
        QTest::newRow("stop number") << "{\"stop\": 5}" << "stop";
        QTest::newRow("stop entry") << "{\"stop\": [\"a\", 1]}" << "stop";
        QTest::newRow("order name") << "{\"order\": \"pytorch\"}" << "order";
        QTest::newRow("early stopping") << "{\"early_stopping\": \"sometimes\"}" << "early_stopping";
        QTest::newRow("greedy string") << "{\"greedy\": \"yes\"}" << "greedy";
        QTest::newRow("unknown key") << "{\"top_q\": 0.5}" << "top_q";
        QTest::newRow("huge int") << "{\"num_beams\": 99999999999}" << "num_beams";
    }
    void jsonErrors()
    {
        QFETCH(QString, json);
        QFETCH(QString, field);
        const QString message = QString::fromStdString(jsonError(nlohmann::json::parse(json.toStdString())));
        QVERIFY2(!message.isEmpty(), "accepted");
        QVERIFY2(message.contains("'" + field + "'"), qPrintable(message));
        QVERIFY(!jsonError(nlohmann::json::array()).empty());
    }

    void orderNames()
    {
        for (SamplerOrder o : {SamplerOrder::HuggingFace, SamplerOrder::Vllm, SamplerOrder::LlamaCpp})
            QCOMPARE(samplerOrderFromName(samplerOrderName(o)), std::optional<SamplerOrder>(o));
        QVERIFY(!samplerOrderFromName("hf"));
    }

private:
    std::vector<std::function<void(SamplingParams&)>> m_cases;
};

QTEST_APPLESS_MAIN(TstSamplingParams)
#include "tst_sampling_params.moc"
