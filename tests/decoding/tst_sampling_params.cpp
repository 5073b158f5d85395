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
        // --- llama.cpp samplers ---
        add("logit_bias neither", "logit_bias", [](SamplingParams& p) { p.logitBias = {{-1, "", 1.0}}; });
        add("logit_bias both", "logit_bias", [](SamplingParams& p) { p.logitBias = {{3, "x", 1.0}}; });
        add("logit_bias nan", "logit_bias", [nan](SamplingParams& p) { p.logitBias = {{3, "", nan}}; });
        add("logit_bias +inf", "logit_bias", [inf](SamplingParams& p) { p.logitBias = {{3, "", inf}}; });
        add("dry_multiplier < 0", "dry_multiplier", [](SamplingParams& p) { p.dryMultiplier = -0.5; });
        add("dry_multiplier nan", "dry_multiplier", [nan](SamplingParams& p) { p.dryMultiplier = nan; });
        add("dry_base < 1", "dry_base", [](SamplingParams& p) { p.dryBase = 0.9; });
        add("dry_allowed_length < 0", "dry_allowed_length", [](SamplingParams& p) { p.dryAllowedLength = -1; });
        add("dry_penalty_last_n < -1", "dry_penalty_last_n", [](SamplingParams& p) { p.dryPenaltyLastN = -2; });
        add("dry breaker empty", "dry_sequence_breakers", [](SamplingParams& p) { p.drySequenceBreakers = {"a", ""}; });
        add("xtc_probability > 1", "xtc_probability", [](SamplingParams& p) { p.xtcProbability = 1.5; });
        add("xtc_threshold < 0", "xtc_threshold", [](SamplingParams& p) { p.xtcThreshold = -0.1; });
        add("top_n_sigma inf", "top_n_sigma", [inf](SamplingParams& p) { p.topNSigma = inf; });
        add("mirostat 3", "mirostat", [](SamplingParams& p) { p.mirostat = 3; p.order = SamplerOrder::LlamaCpp; });
        add("mirostat hf order", "mirostat", [](SamplingParams& p) { p.mirostat = 2; });
        add("mirostat_tau < 0", "mirostat_tau", [](SamplingParams& p) { p.mirostatTau = -1; });
        add("mirostat_eta 0", "mirostat_eta", [](SamplingParams& p) { p.mirostatEta = 0; });
        add("dynatemp_range < 0", "dynatemp_range", [](SamplingParams& p) { p.dynatempRange = -0.2; });
        add("dynatemp_exponent nan", "dynatemp_exponent", [nan](SamplingParams& p) { p.dynatempExponent = nan; });
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

    // --- llama.cpp samplers: llama.cpp's /completion names, -inf as false, defaults not written ---
    void jsonLlamaCppSamplers()
    {
        QVERIFY(!toJson(SamplingParams{}).contains("dry_multiplier")); // old readers see nothing new
        SamplingParams p;
        p.order = SamplerOrder::LlamaCpp;
        p.logitBias = {{15, "", 2.5}, {-1, " jury", -1.0}, {7, "", -std::numeric_limits<double>::infinity()}};
        p.dryMultiplier = 0.8;
        p.dryBase = 2.0;
        p.dryAllowedLength = 3;
        p.dryPenaltyLastN = 64;
        p.drySequenceBreakers = {"\n", "."};
        p.xtcProbability = 0.5;
        p.xtcThreshold = 0.2;
        p.topNSigma = 1.5;
        p.mirostat = 2;
        p.mirostatTau = 4.0;
        p.mirostatEta = 0.2;
        p.dynatempRange = 0.3;
        p.dynatempExponent = 1.5;
        QCOMPARE(QString::fromStdString(validationError(p)), QString());
        const nlohmann::json j = toJson(p);
        QCOMPARE(j.at("logit_bias").dump(), std::string("[[15,2.5],[\" jury\",-1.0],[7,false]]"));
        for (const char* key : {"dry_multiplier", "dry_base", "dry_allowed_length", "dry_penalty_last_n",
                                "dry_sequence_breakers", "xtc_probability", "xtc_threshold", "top_n_sigma", "mirostat",
                                "mirostat_tau", "mirostat_eta", "dynatemp_range", "dynatemp_exponent"})
            QVERIFY2(j.contains(key), key);
        QVERIFY(samplingParamsFromJson(nlohmann::json::parse(j.dump())) == p);
        // A file written before these settings existed reads with them at their defaults.
        const SamplingParams old = samplingParamsFromJson(nlohmann::json::parse("{\"top_k\": 4, \"order\": \"llama.cpp\"}"));
        QCOMPARE(old.dryBase, 1.75);
        QCOMPARE(old.drySequenceBreakers, (std::vector<std::string>{"\n", ":", "\"", "*"}));
        QCOMPARE(old.topNSigma, -1.0);
        QVERIFY(old.logitBias.empty());
    }

    void jsonLlamaCppErrors_data()
    {
        QTest::addColumn<QString>("json");
        QTest::addColumn<QString>("field");
        QTest::newRow("logit_bias object") << "{\"logit_bias\": {\"5\": 1}}" << "logit_bias";
        QTest::newRow("logit_bias triple") << "{\"logit_bias\": [[5, 1, 2]]}" << "logit_bias";
        QTest::newRow("logit_bias true") << "{\"logit_bias\": [[5, true]]}" << "logit_bias";
        QTest::newRow("logit_bias negative id") << "{\"logit_bias\": [[-3, 1]]}" << "logit_bias";
        QTest::newRow("logit_bias float id") << "{\"logit_bias\": [[1.5, 1]]}" << "logit_bias";
        QTest::newRow("breakers string") << "{\"dry_sequence_breakers\": \"\\n\"}" << "dry_sequence_breakers";
        QTest::newRow("breaker entry") << "{\"dry_sequence_breakers\": [\"a\", 2]}" << "dry_sequence_breakers";
        QTest::newRow("mirostat float") << "{\"mirostat\": 1.5}" << "mirostat";
        QTest::newRow("xtc string") << "{\"xtc_probability\": \"high\"}" << "xtc_probability";
    }
    void jsonLlamaCppErrors() { jsonErrors(); }

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
