// GBNF parsing (every construct of the documented syntax, errors with line and column, undefined rules,
// left recursion), the matcher over bytes (tokens spanning several symbols, tokens ending mid-character),
// the trie mask against a token-by-token check, JSON Schema conversion, and the grammar stage in the chain.
#include "common/error.h"
#include "decoding/grammar/gbnf_parser.h"
#include "decoding/grammar/grammar_stage.h"
#include "decoding/grammar/json_schema_grammar.h"
#include "decoding/sampler_chain.h"
#include "decoding/sampling_params.h"

#include <nlohmann/json.hpp>

#include <QtTest>

#include <cmath>
#include <optional>
#include <random>

using namespace logitscope;

class TestGrammar : public QObject {
    Q_OBJECT

private slots:
    void literalsAlternativesGroups();
    void repetitions();
    void classesAndEscapes();
    void commentsAndLineBreaks();
    void exampleGrammars();
    void syntaxErrorsNameLineAndColumn();
    void undefinedRule();
    void leftRecursion();
    void tokensSpanningSymbols();
    void partialUtf8Tokens();
    void trieMaskMatchesTokenByTokenCheck();
    void stageMasksAndReportsRemovedMass();
    void settingsCarryTheGrammar();
    void integerBoundsSpellOutTheRange();
    void jsonSchemaConversion();
};



namespace {

GrammarMatcher matcherOf(const std::string& gbnf) { return GrammarMatcher(parseGbnf(gbnf, "test.gbnf")); }

QString errorOf(const std::function<void()>& f)
{
    try {
        f();
    } catch (const Error& e) {
        return QString::fromStdString(e.what());
    }
    return QString();
}

// A JSON grammar written for these tests (the shape of llama.cpp's json.gbnf, not its text).
const char* kJson = R"(# JSON values
root   ::= object
value  ::= object | array | string | number | ("true" | "false" | "null") ws

object ::=
  "{" ws (
    string ":" ws value
    ("," ws string ":" ws value)*
  )? "}" ws

array  ::= "[" ws ( value ("," ws value)* )? "]" ws
string ::= "\"" ( [^"\\\x7F\x00-\x1F] | "\\" (["\\/bfnrt] | "u" [0-9a-fA-F]{4}) )* "\"" ws
number ::= ("-"? ([0-9] | [1-9] [0-9]{0,15})) ("." [0-9]+)? ([eE] [-+]? [0-9]{1,3})? ws
ws ::= | " " | "\n" [ \t]{0,20}
)";

// Arithmetic, written for these tests.
const char* kArithmetic = R"G(root  ::= (expr "=" ws term "\n")+
expr  ::= term ([-+*/] term)*
term  ::= ident | num | "(" ws expr ")" ws
ident ::= [a-z] [a-z0-9_]* ws
num   ::= [0-9]+ ws
ws    ::= [ \t\n]*
)G";

} // namespace

void TestGrammar::literalsAlternativesGroups()
{
    auto m = matcherOf("root ::= \"ab\" (\"c\" | \"de\") x\nx ::= \"!\" | ");
    QVERIFY(m.acceptsString("abc!"));
    QVERIFY(m.acceptsString("abde"));
    QVERIFY(!m.acceptsString("abd"));
    QVERIFY(!m.acceptsString("ab"));
    QVERIFY(!m.acceptsString("abc!!"));
}

void TestGrammar::repetitions()
{
    auto m = matcherOf("root ::= \"a\"{2,3} \"b\"{2} \"c\"{1,} \"d\"{,2} \"e\"* \"f\"+ \"g\"?");
    QVERIFY(m.acceptsString("aabbcf"));
    QVERIFY(m.acceptsString("aaabbcccddeeeffg"));
    QVERIFY(!m.acceptsString("abbcf"));    // a{2,3}
    QVERIFY(!m.acceptsString("aaaabbcf")); // a{2,3}
    QVERIFY(!m.acceptsString("aabcf"));    // b{2}
    QVERIFY(!m.acceptsString("aabbf"));    // c{1,}
    QVERIFY(!m.acceptsString("aabbcdddf")); // d{,2}
    QVERIFY(!m.acceptsString("aabbc"));    // f+
    // A repetition applies to a whole string literal and to a group.
    auto w = matcherOf("root ::= \"ab\"{2} (\"x\" \"y\")*");
    QVERIFY(w.acceptsString("ababxyxy"));
    QVERIFY(!w.acceptsString("abbxy"));
}

void TestGrammar::classesAndEscapes()
{
    auto m = matcherOf("root ::= [a-cx] [^0-9\\n] [\\x41-\\x43] \"\\u00e9\" [\\U0001F600-\\U0001F64F] [\\]\\-] . \"\\t\\\"\\\\\"");
    QVERIFY(m.acceptsString("a!B\xC3\xA9\xF0\x9F\x98\x80]\xE6\x97\xA5\t\"\\"));
    QVERIFY(m.acceptsString("x-C\xC3\xA9\xF0\x9F\x98\x8A-z\t\"\\"));
    QVERIFY(!m.acceptsString("d!B\xC3\xA9\xF0\x9F\x98\x80]z\t\"\\"));  // [a-cx]
    QVERIFY(!m.acceptsString("a5B\xC3\xA9\xF0\x9F\x98\x80]z\t\"\\"));  // [^0-9\n]
    QVERIFY(!m.acceptsString("a\nB\xC3\xA9\xF0\x9F\x98\x80]z\t\"\\")); // [^0-9\n]
    QVERIFY(!m.acceptsString("a!B\xC3\xA9\xF0\x9F\x99\x90]z\t\"\\"));  // U+1F650 is past the range
    // Characters written directly in UTF-8.
    auto h = matcherOf("root ::= [ぁ-ゟ]+");
    QVERIFY(h.acceptsString("\xE3\x81\x82\xE3\x81\x84"));
    QVERIFY(!h.acceptsString("\xE3\x82\xA2")); // katakana
}

void TestGrammar::commentsAndLineBreaks()
{
    auto m = matcherOf("# leading comment\nroot ::= (  # a group over lines\n  \"a\"\n  \"b\" ) |\n  \"c\" # trailing\n\n# end\n");
    QVERIFY(m.acceptsString("ab"));
    QVERIFY(m.acceptsString("c"));
    QVERIFY(!m.acceptsString("a"));
}

void TestGrammar::exampleGrammars()
{
    auto json = matcherOf(kJson);
    QVERIFY(json.acceptsString("{\"a\": [1, -2.5e3, \"x\\u00e9\\n\", true, null], \"b\": {}}"));
    QVERIFY(json.acceptsString("{\n  \"k\": \"v\"\n}"));
    QVERIFY(!json.acceptsString("{\"a\": [1, 2,]}"));
    QVERIFY(!json.acceptsString("{\"a\" 1}"));
    QVERIFY(!json.acceptsString("{\"a\": \"line\nbreak\"}"));
    auto ar = matcherOf(kArithmetic);
    QVERIFY(ar.acceptsString("(1 +x2)*3= y\n"));
    QVERIFY(!ar.acceptsString("1 + = 2\n"));
    auto list = matcherOf("root ::= (\"- \" item)+\nitem ::= [^\\n]+ \"\\n\"");
    QVERIFY(list.acceptsString("- milk\n- eggs\n"));
    QVERIFY(!list.acceptsString("- milk\n-\n"));
    auto chess = matcherOf(R"(root ::= "1. " move " " move "\n" ([1-9] [0-9]? ". " move " " move "\n")+
move ::= (pawn | nonpawn | castle) [+#]?
pawn ::= ([a-h] "x")? [a-h] [1-8] ("=" [NBRQ])?
nonpawn ::= [NBKQR] [a-h]? [1-8]? "x"? [a-h] [1-8]
castle ::= "O-O" "-O"?
)");
    QVERIFY(chess.acceptsString("1. e4 e5\n2. Nf3 Nc6\n3. Bb5 a6\n4. O-O exd4+\n"));
    QVERIFY(!chess.acceptsString("1. e4 e5\n"));
    QVERIFY(!chess.acceptsString("1. e9 e5\n2. Nf3 Nc6\n"));
}

void TestGrammar::syntaxErrorsNameLineAndColumn()
{
    QCOMPARE(errorOf([] { parseGbnf("root ::= \"a\"\nitem ::= [a-z\n", "g.gbnf"); }),
             QString("g.gbnf: line 2, column 10: unterminated character class"));
    QCOMPARE(errorOf([] { parseGbnf("root ::= \"a\" )\n", "g.gbnf"); }),
             QString("g.gbnf: line 1, column 14: unexpected ')'"));
    QCOMPARE(errorOf([] { parseGbnf("root = \"a\"\n", "g.gbnf"); }),
             QString("g.gbnf: line 1, column 6: expected '::=' after the rule name 'root', found '='"));
    QCOMPARE(errorOf([] { parseGbnf("root ::= \"a\n\"", "g.gbnf"); }),
             QString("g.gbnf: line 1, column 10: unterminated string literal"));
    QCOMPARE(errorOf([] { parseGbnf("root ::= \"\\q\"", "g.gbnf"); }),
             QString("g.gbnf: line 1, column 11: unknown escape '\\q'"));
    QCOMPARE(errorOf([] { parseGbnf("root ::= ( \"a\" \n", "g.gbnf"); }),
             QString("g.gbnf: line 1, column 10: this '(' is never closed (found the end of the text)"));
    QCOMPARE(errorOf([] { parseGbnf("root ::= \"a\"{3,1}", "g.gbnf"); }),
             QString("g.gbnf: line 1, column 13: repetition {3,1} has its maximum below its minimum"));
    QCOMPARE(errorOf([] { parseGbnf("root ::= * \"a\"", "g.gbnf"); }),
             QString("g.gbnf: line 1, column 10: '*' has nothing before it to repeat"));
    // Columns count characters, not bytes.
    QCOMPARE(errorOf([] { parseGbnf("root ::= \"é\" ]", "g.gbnf"); }),
             QString("g.gbnf: line 1, column 14: unexpected ']'"));
    QCOMPARE(errorOf([] { parseGbnf("item ::= \"a\"\n", "g.gbnf"); }),
             QString("g.gbnf: the grammar has no 'root' rule (the rule every output must match)"));
    QCOMPARE(errorOf([] { parseGbnf("root ::= \"a\"\nroot ::= \"b\"", "g.gbnf"); }),
             QString("g.gbnf: line 2, column 1: rule 'root' is defined twice (first at line 1)"));
}

void TestGrammar::undefinedRule()
{
    QCOMPARE(errorOf([] { parseGbnf("root ::= item \"x\"\n\nitem ::= \"a\" itme\n", "g.gbnf"); }),
             QString("g.gbnf: line 3, column 14: rule 'itme' is used but never defined"));
}

void TestGrammar::leftRecursion()
{
    // Direct, indirect, and through a rule that can match nothing.
    const QString direct = errorOf([] { parseGbnf("root ::= expr\nexpr ::= expr \"+\" num | num\nnum ::= [0-9]+", "g.gbnf"); });
    QVERIFY2(direct.startsWith("g.gbnf: line 2, column 1: left recursion that can never terminate (expr -> expr"), qPrintable(direct));
    const QString indirect = errorOf([] { parseGbnf("root ::= a\na ::= b \"x\"\nb ::= a | \"y\"", "g.gbnf"); });
    QVERIFY2(indirect.contains("left recursion") && indirect.contains("a -> b -> a"), qPrintable(indirect));
    const QString nullable = errorOf([] { parseGbnf("root ::= a\na ::= ws a \"x\" | \"y\"\nws ::= \" \"*", "g.gbnf"); });
    QVERIFY2(nullable.contains("left recursion"), qPrintable(nullable));
    // Right recursion is fine.
    QVERIFY(matcherOf("root ::= \"x\" root | \"y\"").acceptsString("xxy"));
}

void TestGrammar::tokensSpanningSymbols()
{
    auto m = matcherOf("root ::= \"ab\" [0-9]+ \"c\" tail\ntail ::= \"!\"?");
    GrammarState s = m.initial();
    QVERIFY(m.advance(s, "ab1"));       // a literal and the first digit in one token
    QVERIFY(m.advance(s, "23c!"));      // digits, the literal and the optional tail
    QVERIFY(m.accepting(s));
    GrammarState t = m.initial();
    QVERIFY(!m.advance(t, "abc"));      // [0-9]+ needs one digit
    QVERIFY(t.dead());
}

void TestGrammar::partialUtf8Tokens()
{
    auto m = matcherOf("root ::= \"\xC3\xA9\" \"x\" [^a]");
    GrammarState s = m.initial();
    QVERIFY(m.advance(s, "\xC3"));          // the first byte of é: may still become é
    QCOMPARE(s.partial.remaining, 1);
    QVERIFY(!m.accepting(s));
    GrammarState wrong = s;
    QVERIFY(!m.advance(wrong, "\xA8"));      // è, not é
    QVERIFY(m.advance(s, "\xA9x"));          // completes é, then x
    // A negated class: the lead byte of a 3-byte character may start something outside [^a].
    GrammarState n = s;
    QVERIFY(m.advance(n, "\xE6"));
    QVERIFY(m.advance(n, "\x97\xA5"));
    QVERIFY(m.accepting(n));
    QVERIFY(!m.advance(s, "a"));
    // Bytes that are no UTF-8 at all, or a continuation byte without a lead.
    GrammarState bad = m.initial();
    QVERIFY(!m.advance(bad, "\xA9"));
    // Overlong encodings never stand for the character they spell (E0 80 A2 would be '"').
auto quote = matcherOf("root ::= \"\\\"\" | [\\x80-\\xFF]");
GrammarState ov = quote.initial();
QVERIFY(!quote.advance(ov, "\xE0\x80\xA2"));
GrammarState ov1 = quote.initial();
QVERIFY(!quote.advance(ov1, "\xE0\x80")); // refused as soon as no valid completion is left
GrammarState ov2 = quote.initial();
QVERIFY(!quote.advance(ov2, "\xC0\xA2"));
GrammarState ok2 = quote.initial();
QVERIFY(quote.advance(ok2, "\xC3\xA9") && quote.accepting(ok2));
GrammarState ok3 = quote.initial();
QVERIFY(quote.advance(ok3, "\"") && quote.accepting(ok3));
GrammarState bad2 = matcherOf("root ::= .*").initial();
    QVERIFY(!matcherOf("root ::= .*").advance(bad2, "\xFF"));
    // A 4-byte character in pieces through a class range.
    auto e = matcherOf("root ::= [\\U0001F600-\\U0001F64F]");
    GrammarState p = e.initial();
    QVERIFY(e.advance(p, "\xF0\x9F"));
    QVERIFY(e.advance(p, "\x98"));
    QVERIFY(e.advance(p, "\x80"));
    QVERIFY(e.accepting(p));
    GrammarState q = e.initial();
    QVERIFY(!e.advance(q, "\xF0\x9F\x9A")); // U+1F680.. cannot be in range any more
}

void TestGrammar::trieMaskMatchesTokenByTokenCheck()
{
    // A vocabulary of random byte strings (with UTF-8 fragments) against states along a JSON text.
    std::mt19937 rng(7);
    const std::vector<std::string> alphabet = {"{", "}", "\"", ":", ",", " ", "\n", "a", "b", "1", "-", ".", "e",
                                               "[", "]", "\\", "u", "\xC3", "\xA9", "\xE6\x97", "\xA5", "true", "nu"};
    std::vector<std::string> vocab(3000);
    for (size_t i = 1; i < vocab.size(); ++i) { // id 0 stays empty (a special token)
        const int n = 1 + int(rng() % 4);
        for (int k = 0; k < n; ++k)
            vocab[i] += alphabet[rng() % alphabet.size()];
    }
    GrammarVocabulary v(vocab, {0});
    auto m = matcherOf(kJson);
    const std::string text = "{\"a\xC3\xA9\": [1, -2.5e3, \"x\\u00e9\"], \"b\": true}";
    GrammarState s = m.initial();
    for (size_t cut = 0; cut <= text.size(); ++cut) {
        const std::vector<uint8_t> mask = v.allowed(m, s);
        for (size_t id = 0; id < vocab.size(); ++id) {
            bool expect;
            if (id == 0)
                expect = m.accepting(s);
            else {
                GrammarState t = s;
                expect = m.advance(t, vocab[id]);
            }
            if (bool(mask[id]) != expect)
                QFAIL(qPrintable(QString("after %1 bytes, token %2: trie says %3").arg(cut).arg(id).arg(mask[id])));
        }
        if (cut < text.size())
            QVERIFY(m.advance(s, text.substr(cut, 1)));
    }
    QVERIFY(m.accepting(s));
}

void TestGrammar::stageMasksAndReportsRemovedMass()
{
    // Vocabulary: 0 = EOS, 1 "a", 2 "b", 3 "ab", 4 "c", 5 "\xC3" (half of é), 6 "" (special).
    auto vocab = std::make_shared<GrammarVocabulary>(std::vector<std::string>{"", "a", "b", "ab", "c", "\xC3", ""},
                                                     std::vector<int32_t>{0});
    SamplingParams p;
    p.grammar = "root ::= \"a\" \"b\"? | \"\xC3\xA9\"";
    p.temperature = 0;
    SamplerChain chain(p);
    QCOMPARE(chain.stageNames(), std::vector<std::string>{"grammar"});
    GrammarConstraint g{compileGrammar(p), vocab, {}};
    g.state = g.matcher->initial();
    SamplingContext ctx;
    ctx.eosIds = {0};
    ctx.grammar = &g;
    const std::vector<float> probs = {0.3f, 0.1f, 0.25f, 0.05f, 0.15f, 0.1f, 0.05f};
    std::vector<float> logits;
    for (float q : probs)
        logits.push_back(std::log(q));
    SampleResult r = chain.sample(logits, ctx);
    QCOMPARE(r.stages.size(), size_t(2));
    const StageSnapshot& st = r.stages[1];
    QCOMPARE(st.name, std::string("grammar"));
    QCOMPARE(st.survivors, 3); // "a", "ab", "\xC3"
    QVERIFY(std::abs(st.removedMass - (0.3f + 0.25f + 0.15f + 0.05f)) < 1e-5);
    QCOMPARE(st.forbidden.size(), size_t(4));
    QCOMPARE(st.forbidden[0].id, 0); // EOS first (most likely): the text is not complete yet
    QVERIFY(std::abs(st.forbidden[0].prob - 0.3f) < 1e-5);
    QCOMPARE(r.chosen, 1);
    QVERIFY(!st.grammarPosition.empty());
    // After "a": EOS and "b" are allowed, "a" is not.
    QVERIFY(g.accept(1));
    r = chain.sample(logits, ctx);
    QCOMPARE(r.stages[1].survivors, 2);
    QCOMPARE(r.chosen, 0);
    QVERIFY(!g.allows(1));
    QVERIFY(!g.allows(6)); // a special token never fits a grammar
    // Without a grammar state the stage refuses to run rather than pass everything.
    SamplingContext none;
    QVERIFY(errorOf([&] { chain.sample(logits, none); }).contains("no grammar state"));
}

void TestGrammar::settingsCarryTheGrammar()
{
    SamplingParams p;
    p.grammar = "root ::= \"x\"";
    const SamplingParams back = samplingParamsFromJson(toJson(p));
    QCOMPARE(back.grammar, p.grammar);
    SamplingParams s;
    s.jsonSchema = R"({"type":"integer"})";
    QCOMPARE(samplingParamsFromJson(toJson(s)).jsonSchema, nlohmann::json::parse(s.jsonSchema).dump());
    SamplingParams bad;
    bad.grammar = "root ::= [a-";
    QCOMPARE(errorOf([&] { validate(bad, -1); }), QString("grammar: line 1, column 10: unterminated character class"));
    SamplingParams both = p;
    both.jsonSchema = s.jsonSchema;
    QVERIFY(errorOf([&] { validate(both, -1); }).contains("both set"));
    SamplingParams badSchema;
    badSchema.jsonSchema = R"({"type":"object","properties":{"a":{"type":"string","format":"date"}}})";
    QCOMPARE(errorOf([&] { validate(badSchema, -1); }),
             QString("json_schema: at #/properties/a: keyword 'format' is not supported (supported: type, properties, "
                     "required, additionalProperties, enum, const, items, minItems, maxItems, minLength, maxLength, "
                     "pattern, minimum, maximum, exclusiveMinimum, exclusiveMaximum, $ref, anyOf, oneOf)"));
    SamplingParams numberBounds;
    numberBounds.jsonSchema = R"({"type":"number","minimum":0.5})";
    QCOMPARE(errorOf([&] { validate(numberBounds, -1); }),
             QString("json_schema: at #: keyword 'minimum' does not apply to type 'number'"));
    SamplingParams empty;
    empty.jsonSchema = R"({"type":"integer","minimum":3,"exclusiveMaximum":3})";
    QVERIFY(errorOf([&] { validate(empty, -1); }).contains("no integer lies between the minimum and the maximum"));
}

void TestGrammar::integerBoundsSpellOutTheRange()
{
    // Every integer in [-1200, 1200] (and a few far ones) is accepted exactly when the schema's bounds hold.
    struct Case {
        const char* schema;
        std::optional<long long> lo, hi;
    };
    const Case cases[] = {
        {R"({"type":"integer","minimum":0,"maximum":120})", 0, 120},
        {R"({"type":"integer","minimum":-37,"maximum":1005})", -37, 1005},
        {R"({"type":"integer","minimum":-1000,"maximum":-19})", -1000, -19},
        {R"({"type":"integer","minimum":7})", 7, std::nullopt},
        {R"({"type":"integer","maximum":-3})", std::nullopt, -3},
        {R"({"type":"integer","maximum":250})", std::nullopt, 250},
        {R"({"type":"integer","exclusiveMinimum":9,"exclusiveMaximum":100})", 10, 99},
        {R"({"type":"integer","minimum":2.5,"maximum":10.5})", 3, 10},
        {R"({"type":"integer","minimum":100,"maximum":100})", 100, 100},
    };
    for (const Case& c : cases) {
        auto m = matcherOf(jsonSchemaToGbnf(c.schema));
        for (long long v = -1200; v <= 1200; ++v) {
            const bool inRange = (!c.lo || v >= *c.lo) && (!c.hi || v <= *c.hi);
            const std::string text = std::to_string(v);
            QVERIFY2(m.acceptsString(text) == inRange, qPrintable(QString("%1 on %2").arg(c.schema).arg(v)));
        }
        for (const char* far : {"123456789012", "-98765432109"}) {
            const long long v = std::stoll(far);
            QCOMPARE(m.acceptsString(far), (!c.lo || v >= *c.lo) && (!c.hi || v <= *c.hi));
        }
        QVERIFY(!m.acceptsString("007"));  // no leading zeros
        QVERIFY(!m.acceptsString("-0"));
        QVERIFY(!m.acceptsString("1.0"));
    }
}

void TestGrammar::jsonSchemaConversion()
{
    auto acceptor = [](const char* schema) { return matcherOf(jsonSchemaToGbnf(schema)); };
    auto person = acceptor(R"({"type":"object","properties":{"name":{"type":"string","minLength":1,"maxLength":5},
        "age":{"type":"integer"},"tags":{"type":"array","items":{"enum":["a","b"]},"minItems":1,"maxItems":2},
        "nick":{"type":["string","null"]}},"required":["name","age"]})");
    QVERIFY(person.acceptsString(R"({"name": "Ann", "age": 3})"));
    QVERIFY(person.acceptsString(R"({"name":"Ann","age":-3,"tags":["a","b"],"nick":null})"));
    QVERIFY(person.acceptsString(R"({"name":"Ann","age":3,"nick":"x"})"));
    QVERIFY(!person.acceptsString(R"({"age": 3, "name": "Ann"})"));      // required ones first, in order
    QVERIFY(!person.acceptsString(R"({"name": "", "age": 3})"));         // minLength
    QVERIFY(!person.acceptsString(R"({"name": "Annabel", "age": 3})"));  // maxLength
    QVERIFY(!person.acceptsString(R"({"name": "A", "age": 3.5})"));      // integer
    QVERIFY(!person.acceptsString(R"({"name": "A", "age": 3, "tags": []})"));        // minItems
    QVERIFY(!person.acceptsString(R"({"name": "A", "age": 3, "tags": ["a","a","a"]})")); // maxItems
    QVERIFY(!person.acceptsString(R"({"name": "A", "age": 3, "tags": ["c"]})"));     // enum
    QVERIFY(!person.acceptsString(R"({"name": "A", "age": 3, "extra": 1})"));        // no additional properties
    // $ref to $defs and definitions (recursive), anyOf, const, pattern, additionalProperties true.
    auto tree = acceptor(R"({"$defs":{"node":{"type":"object","properties":{"v":{"const":1},
        "kids":{"type":"array","items":{"$ref":"#/$defs/node"}}},"required":["v"]}},"$ref":"#/$defs/node"})");
    QVERIFY(tree.acceptsString(R"({"v": 1, "kids": [{"v": 1}, {"v": 1, "kids": []}]})"));
    QVERIFY(!tree.acceptsString(R"({"v": 2})"));
    auto any = acceptor(R"({"anyOf":[{"type":"boolean"},{"type":"string","pattern":"^[A-Z]{2}-\\d+(x|y)?$"}]})");
    QVERIFY(any.acceptsString("true"));
    QVERIFY(any.acceptsString("\"AB-12y\""));
    QVERIFY(!any.acceptsString("\"AB-y\""));
    QVERIFY(!any.acceptsString("\"ab-1\""));
    auto open = acceptor(R"({"type":"object","properties":{"id":{"type":"integer"}},"additionalProperties":true})");
    QVERIFY(open.acceptsString(R"({"x": [1, {"y": null}]})"));
    QVERIFY(open.acceptsString(R"({"id": 1, "idx": "s"})"));
    QVERIFY(!open.acceptsString(R"({"id": 1, "id": "s"})")); // an extra key never repeats a declared one
    auto defs = acceptor(R"({"definitions":{"n":{"type":"number"}},"type":"array","items":{"$ref":"#/definitions/n"}})");
    QVERIFY(defs.acceptsString("[1.5e3, -0.25]"));
    QVERIFY(!defs.acceptsString("[01]"));
    // Unsupported and broken schemas are named, never skipped.
    auto err = [](const char* schema) {
        return errorOf([&] { jsonSchemaToGbnf(schema); });
    };
    QVERIFY(err(R"({"type":"string","format":"email"})").contains("keyword 'format' is not supported"));
    QVERIFY(err(R"({"allOf":[{"type":"string"}]})").contains("keyword 'allOf' is not supported"));
    QVERIFY(err(R"({"$ref":"#/$defs/missing"})").contains("'#/$defs/missing' does not name"));
    QVERIFY(err(R"({"type":"string","pattern":"abc"})").contains("only anchored patterns"));
    QVERIFY(err(R"({"type":"object","required":["x"]})").contains("'x' is required but not among the properties"));
    QVERIFY(err(R"({"type":"strin"})").contains("unknown type 'strin'"));
}

QTEST_APPLESS_MAIN(TestGrammar)
#include "tst_grammar.moc"
