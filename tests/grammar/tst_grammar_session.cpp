// Constrained decoding end to end on real models: many seeds x several JSON Schemas on the bundled model
// (and fewer on the reference model when ../shared is present), every output parsed by nlohmann::json,
// checked against its schema (json_check.h) and re-read by the grammar; GBNF grammars likewise; the
// grammar state across rewind, branch and fork; a grammar that allows nothing; refused settings.
#include "common/error.h"
#include "decoding/grammar/gbnf_parser.h"
#include "decoding/grammar/grammar_stage.h"
#include "decoding/session.h"
#include "json_check.h"
#include "model/backend.h"
#include "model/model.h"
#include "shared_data.h"

#include <QtTest>

using namespace logitscope;

class TestGrammarSession : public QObject {
    Q_OBJECT

private slots:
    void seedsTimesSchemasBundled();
    void seedsTimesSchemasReference();
    void gbnfOutputsReparse();
    void rewindBranchForkRestoreTheState();
    void grammarAllowsNothing();
    void refusedSettingsChangeNothing();
};

namespace {

std::shared_ptr<const Model> bundledModel()
{
    static std::shared_ptr<const Model> model =
        Model::load(std::string(LOGITSCOPE_SOURCE_DIR) + "/resources/models/logitscope-brown");
    return model;
}

std::shared_ptr<const Model> referenceModel()
{
    static std::shared_ptr<const Model> model = Model::load(test::sharedPath("models/ref-llama-spm.gguf"));
    return model;
}

QString errorOf(const std::function<void()>& f)
{
    try {
        f();
    } catch (const Error& e) {
        return QString::fromStdString(e.what());
    }
    return QString();
}

// Schemas whose every sentence is short (bounded strings, arrays and numbers), so a sampled output always
// completes within the token budget and must end with EOS.
const std::vector<std::string> kSchemas = {
    R"({"type":"object","properties":{"name":{"type":"string","minLength":1,"maxLength":8},
        "age":{"type":"integer"},"member":{"type":"boolean"}},"required":["name","age"]})",
    R"({"type":"array","items":{"enum":["red","green","blue"]},"minItems":1,"maxItems":3})",
    R"({"anyOf":[{"type":"null"},{"type":"object","properties":{"x":{"type":"number"},"tag":{"const":"pt"}},
        "required":["x","tag"]}]})",
    R"({"$defs":{"pt":{"type":"object","properties":{"x":{"type":"integer"},"y":{"type":["integer","null"]}},
        "required":["x","y"]}},"type":"array","items":{"$ref":"#/$defs/pt"},"maxItems":2})",
    R"({"type":"object","properties":{"code":{"type":"string","pattern":"^[a-z]{2,4}-\\d{1,3}$"},
        "note":{"type":"string","maxLength":4}},"required":["code"],"additionalProperties":false})",
};

struct Outcome {
    std::string text;
    FinishReason finish = FinishReason::None;
};

Outcome generate(Session& s, const std::string& prompt, SamplingParams p)
{
    const auto ids = s.tokenize(prompt);
    p.maxNewTokens = std::min(400, s.model().config().contextLength - int(ids.size()) - 1);
    s.prefill(ids, p);
    Outcome o;
    while (!s.finished(0))
        o.finish = s.step(0).finish;
    o.text = s.text(0);
    return o;
}

void checkSchemas(const std::shared_ptr<const Model>& model, int seeds)
{
    Session s(model, createBackend(model, "cpu", 2));
    int checked = 0;
    for (size_t k = 0; k < kSchemas.size(); ++k) {
        const nlohmann::json schema = nlohmann::json::parse(kSchemas[k]);
        SamplingParams p;
        p.jsonSchema = kSchemas[k];
        const auto acceptor = compileGrammar(p);
        for (int seed = 0; seed < seeds; ++seed) {
            p.seed = uint64_t(seed);
            p.temperature = seed % 3 == 2 ? 0.0 : 1.0 + 0.25 * (seed % 2); // greedy and two temperatures
            const Outcome o = generate(s, "The record, as JSON:", p);
            const QString where = QString("schema %1, seed %2: %3").arg(k).arg(seed).arg(QString::fromStdString(o.text));
            QVERIFY2(o.finish == FinishReason::Eos, qPrintable("did not end with EOS: " + where));
            nlohmann::json value;
            try {
                value = nlohmann::json::parse(o.text);
            } catch (const nlohmann::json::parse_error& e) {
                QFAIL(qPrintable(QString("not JSON (%1): %2").arg(e.what(), where)));
            }
            const std::string bad = test::schemaViolation(value, schema, schema);
            QVERIFY2(bad.empty(), qPrintable(QString::fromStdString(bad) + " in " + where));
            QVERIFY2(acceptor->acceptsString(o.text), qPrintable("the grammar does not re-read " + where));
            ++checked;
        }
    }
    QCOMPARE(checked, int(kSchemas.size()) * seeds);
}

} // namespace

void TestGrammarSession::seedsTimesSchemasBundled() { checkSchemas(bundledModel(), 12); }

void TestGrammarSession::seedsTimesSchemasReference()
{
    REQUIRE_SHARED("models/ref-llama-spm.gguf");
    checkSchemas(referenceModel(), 3);
}

void TestGrammarSession::gbnfOutputsReparse()
{
    auto m = bundledModel();
    Session s(m, createBackend(m, "cpu", 2));
    const std::vector<std::string> grammars = {
        "root ::= (\"- \" item){1,3}\nitem ::= [a-z ]{1,12} \"\\n\"",
        "root ::= expr \"=\" num\nexpr ::= num ([-+*] num){0,3}\nnum ::= [1-9] [0-9]?",
        "root ::= \"The \" (\"cat\" | \"dog\" | \"caf\xC3\xA9\") \" sat\" [.!]",
    };
    for (const std::string& g : grammars) {
        SamplingParams p;
        p.grammar = g;
        const GrammarMatcher acceptor(parseGbnf(g));
        for (int seed = 0; seed < 6; ++seed) {
            p.seed = uint64_t(seed);
            const Outcome o = generate(s, "Once upon a time", p);
            QVERIFY2(o.finish == FinishReason::Eos, o.text.c_str());
            QVERIFY2(acceptor.acceptsString(o.text), o.text.c_str());
        }
    }
}

void TestGrammarSession::rewindBranchForkRestoreTheState()
{
    auto m = bundledModel();
    Session s(m, createBackend(m, "cpu", 2));
    SamplingParams p;
    p.jsonSchema = kSchemas[0];
    p.seed = 5;
    p.maxNewTokens = 100;
    s.prefill(s.tokenize("JSON:"), p);
    std::vector<std::string> positions{s.grammarPosition(0)};
    std::vector<int32_t> first;
    for (int i = 0; i < 8 && !s.finished(0); ++i) {
        first.push_back(s.step(0).chosen);
        positions.push_back(s.grammarPosition(0));
    }
    QVERIFY(first.size() >= 4);
    s.rewind(0, 3);
    QCOMPARE(s.grammarPosition(0), positions[first.size() - 3]);
    std::vector<int32_t> again = s.generatedIds(0);
    for (size_t i = again.size(); i < first.size(); ++i)
        again.push_back(s.step(0).chosen);
    QCOMPARE(again, first); // same seed, same state: the same tokens
    // A fork carries the state; a branch to a forbidden token is refused and adds no lane.
    const int f = s.fork(0);
    QCOMPARE(s.grammarPosition(f), s.grammarPosition(0));
    const size_t lanes = s.lanes().size();
    const int32_t eos = m->tokenizer().eos();
    const QString err = errorOf([&] { s.branch(0, 1, eos); });
    QVERIFY2(err.contains("forbidden by the grammar"), qPrintable(err));
    QCOMPARE(s.lanes().size(), lanes);
    // A branch to an allowed token restores the state of that step, then takes the token.
    const StepRecord r = s.branch(0, 1, first[1]);
    QCOMPARE(s.grammarPosition(r.lane), positions[2]);
}

void TestGrammarSession::grammarAllowsNothing()
{
    auto m = bundledModel();
    Session s(m, createBackend(m, "cpu", 2));
    SamplingParams p;
    p.grammar = "root ::= \"a\" [^\\x00-\\U0010FFFF]"; // after "a" no character at all fits
    p.temperature = 0;
    s.prefill(s.tokenize("Hello"), p);
    const int32_t a = m->tokenizer().findToken("a");
    QVERIFY(a >= 0);
    s.force(0, a);
    const int other = s.fork(0);
    const QString previewErr = errorOf([&] { s.preview(0); });
    QVERIFY2(previewErr.contains("the grammar allows nothing here"), qPrintable(previewErr));
    const QString err = errorOf([&] { s.stepLanes({0, other}); });
    QVERIFY2(err.contains("the grammar allows nothing here"), qPrintable(err));
    QCOMPARE(s.generatedIds(0).size(), size_t(1)); // nothing half-applied
    QCOMPARE(s.generatedIds(other).size(), size_t(1));
    // The session stays usable: drop the grammar and go on.
    SamplingParams free = p;
    free.grammar.clear();
    s.setSampling(0, free);
    QCOMPARE(s.step(0).step, 1);
}

void TestGrammarSession::refusedSettingsChangeNothing()
{
    auto m = bundledModel();
    Session s(m, createBackend(m, "cpu", 2));
    SamplingParams p;
    p.temperature = 0;
    s.prefill(s.tokenize("Hello"), p);
    s.step(0);
    s.step(0);
    SamplingParams g = p;
    g.grammar = "root ::= \"{\" [a-z]* \"}\"";
    const QString err = errorOf([&] { s.setSampling(0, g); });
    QVERIFY2(err.contains("does not fit it"), qPrintable(err));
    QCOMPARE(s.sampling(0), p);
    QCOMPARE(s.grammarPosition(0), std::string());
    g.grammar = "root ::= [a-z";
    QCOMPARE(errorOf([&] { s.setSampling(0, g); }), QString("grammar: line 1, column 10: unterminated character class"));
    SamplingParams beams;
    beams.numBeams = 2;
    beams.grammar = "root ::= \"x\"";
    QVERIFY(errorOf([&] { s.beamSearch(beams); }).contains("beam search does not take a grammar"));
}

QTEST_APPLESS_MAIN(TestGrammarSession)
#include "tst_grammar_session.moc"
