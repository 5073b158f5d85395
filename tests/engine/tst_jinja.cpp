// Unit tests of the Jinja interpreter (engine/tokenizer/jinja): statements, expressions, filters, tests,
// methods and whitespace control against outputs of @huggingface/jinja 0.5.13 (rows without a mark) and of
// Python's jinja2 3.1.6 in transformers' settings (rows marked [jinja2], where the npm package has no such
// filter; booleans print as true/false and lists as JSON, as the npm package prints them); plus limits and
// error messages.
#include "common/error.h"
#include "tokenizer/jinja/jinja.h"

#include <nlohmann/json.hpp>

#include <QtTest>

using namespace logitscope;
using namespace logitscope::jinja;
using ojson = nlohmann::ordered_json;

namespace {

struct Row {
    const char* name;
    const char* tmpl;
    const char* context;
    const char* expected;
};

const Row kRows[] = {
        {"text", R"J(Hello {{ name }}!)J", R"J({"name": "Ann"})J", "Hello Ann!"},
        {"trailing newline dropped", "a\n", R"J({})J", "a"},
        {"if elif else", R"J({% if x > 2 %}big{% elif x == 2 %}two{% else %}small{% endif %})J", R"J({"x": 2})J", "two"},
        {"for loop vars", R"J({% for m in xs %}{{ loop.index }}{{ loop.index0 }}{{ loop.revindex }}{{ loop.revindex0 }}{{ loop.first }}{{ loop.last }}{{ loop.length }};{% endfor %})J", R"J({"xs": ["a", "b"]})J", "1021truefalse2;2110falsetrue2;"},
        {"for prev next", R"J({% for m in xs %}[{{ loop.previtem }}|{{ loop.nextitem }}]{% endfor %})J", R"J({"xs": ["a", "b", "c"]})J", "[|b][a|c][b|]"},
        {"for else", R"J({% for m in xs %}{{ m }}{% else %}empty{% endfor %})J", R"J({"xs": []})J", "empty"},
        {"for if filter", R"J({% for x in xs if x is odd %}{{ x }}{{ loop.length }},{% endfor %})J", R"J({"xs": [1, 2, 3, 4, 5]})J", "13,33,53,"},
        {"for over dict items", R"J({% for k, v in d.items() %}{{ k }}={{ v }};{% endfor %})J", R"J({"d": {"b": 1, "a": 2}})J", "b=1;a=2;"},
        {"for over dict keys", R"J({% for k in d %}{{ k }}{% endfor %})J", R"J({"d": {"b": 1, "a": 2}})J", "ba"},
        {"set does not leak from loop", R"J({% set x = 1 %}{% for i in [1,2] %}{% set x = i %}{% endfor %}{{ x }})J", R"J({})J", "1"},
        {"namespace", R"J({% set ns = namespace(n=0, s='') %}{% for i in [1,2,3] %}{% set ns.n = ns.n + i %}{% set ns.s = ns.s ~ i %}{% endfor %}{{ ns.n }} {{ ns.s }})J", R"J({})J", "6 123"},
        {"set block", R"J({% set x %}a{{ 1 + 1 }}b{% endset %}[{{ x }}])J", R"J({})J", "[a2b]"},
        {"set tuple", R"J({% set a, b = 1, 2 %}{{ a }}{{ b }})J", R"J({})J", "12"},
        {"macro defaults", R"J({% macro f(a, b='B', c=none) %}{{ a }}{{ b }}{{ c }}{% endmacro %}{{ f(1) }}|{{ f(1, 2) }}|{{ f(1, c=3) }})J", R"J({})J", "1B|12|1B3"},
        {"macro recursion", R"J({% macro fact(n) %}{% if n <= 1 %}1{% else %}{{ n }}*{{ fact(n - 1) }}{% endif %}{% endmacro %}{{ fact(4) }})J", R"J({})J", "4*3*2*1"},
        {"arith", R"J({{ 1 + 2 * 3 }} {{ (1 + 2) * 3 }} {{ 7 // 2 }} {{ -7 // 2 }} {{ 7 % 3 }} {{ 2 ** 10 }} {{ 1 / 4 }} {{ 3 - 5 }} {{ 1.5 + 1 }})J", R"J({})J", "7 9 3 -4 1 1024 0.25 -2 2.5"},
        {"comparisons", R"J({{ 1 < 2 }}{{ 2 <= 1 }}{{ 'a' == 'a' }}{{ 'a' != 'b' }}{{ 1 == 1.0 }})J", R"J({})J", "truefalsetruetruetrue"},
        {"in not in", R"J({{ 'a' in 'cat' }}{{ 2 in [1,2] }}{{ 'k' in {'k': 1} }}{{ 3 not in [1,2] }}{{ 'x' not in 'abc' }})J", R"J({})J", "truetruetruetruetrue"},
        {"logic", R"J({{ true and false }}{{ false or 'x' }}{{ not 0 }}{{ not (1 and 0) }})J", R"J({})J", "falsextruetrue"},
        {"ternary", R"J({{ 'yes' if x else 'no' }}{{ 'y' if not x else 'n' }})J", R"J({"x": 1})J", "yesn"},
        {"concat [jinja2]", R"J({{ 'a' ~ 1 ~ none ~ 'b' }}{{ 'x' + 'y' }})J", R"J({})J", "a1Nonebxy"},
        {"slices", R"J({{ xs[1:] }}{{ xs[:-1] }}{{ xs[::-1] }}{{ xs[::2] }}{{ 'hello'[1:3] }}{{ 'abc'[::-1] }}{{ xs[-1] }})J", R"J({"xs": [1, 2, 3, 4]})J", "[2, 3, 4][1, 2, 3][4, 3, 2, 1][1, 3]elcba4"},
        {"member index", R"J({{ m.role }}{{ m['content'] }}{{ m.missing is defined }}{{ xs[0].a }}{{ xs.0.a }})J", R"J({"m": {"role": "user", "content": "hi"}, "xs": [{"a": 5}]})J", "userhifalse55"},
        {"literals", R"J({{ [1, 'a', [true]] }}{{ {'k': 'v', 'n': none} }})J", R"J({})J", "[1, \"a\", [true]]{\"k\": \"v\", \"n\": null}"},
        {"tests [jinja2]", R"J({{ x is defined }}{{ y is undefined }}{{ n is none }}{{ s is string }}{{ 1 is number }}{{ d is mapping }}{{ xs is iterable }}{{ xs is sequence }}{{ t is boolean }}{{ t is true }}{{ t is false }}{{ 3 is equalto 3 }}{{ 3 is eq(4) }}{{ s is not none }})J", R"J({"x": 1, "n": null, "s": "a", "d": {}, "xs": [], "t": true})J", "truetruetruetruetruetruetruetruetruetruefalsetruefalsetrue"},
        {"trim length [jinja2]", "[{{ '  a b \n' | trim }}]{{ 'héllo' | length }}{{ xs | length }}{{ d | length }}{{ xs | count }}", R"J({"xs": [1, 2], "d": {"a": 1}})J", "[a b]5212"},
        {"tojson", "{{ d | tojson }}|{{ d | tojson(indent=2) }}|{{ 'é\"\n' | tojson }}|{{ [] | tojson(indent=4) }}|{{ {} | tojson(indent=4) }}", R"J({"d": {"name": "f", "args": {"x": [1, 2.5, null, true]}}})J", "{\"name\": \"f\", \"args\": {\"x\": [1, 2.5, null, true]}}|{\n  \"name\": \"f\",\n  \"args\": {\n    \"x\": [\n      1,\n      2.5,\n      null,\n      true\n    ]\n  }\n}|\"é\\\"\\n\"|[]|{}"},
        {"tojson sort_keys separators", R"J({{ d | tojson(sort_keys=true) }}{{ d | tojson(separators=(',', ':')) }})J", R"J({"d": {"b": 1, "a": [1, 2]}})J", "{\"a\": [1, 2], \"b\": 1}{\"b\":1,\"a\":[1,2]}"},
        {"selectattr map", R"J({{ ms | selectattr('role', 'equalto', 'user') | map(attribute='content') | join(', ') }}|{{ ms | rejectattr('role', 'equalto', 'user') | list | length }}|{{ ms | selectattr('tool') | list | length }})J", R"J({"ms": [{"role": "user", "content": "a"}, {"role": "assistant", "content": "b", "tool": 1}, {"role": "user", "content": "c"}]})J", "a, c|1|1"},
        {"items filter", R"J({% for k, v in d | items %}{{ k }}{{ v }}{% endfor %})J", R"J({"d": {"x": 1, "y": 2}})J", "x1y2"},
        {"string filters (capitalize as jinja2)", R"J({{ 'ab' | upper }}{{ 'AB' | lower }}{{ 'hello world' | title }}{{ 'hELLO' | capitalize }}{{ 'aXbX' | replace('X', '-') }})J", R"J({})J", "ABabHello WorldHelloa-b-"},
        {"default [jinja2]", R"J({{ x | default('D') }}{{ y | default('D') }}{{ '' | default('E', true) }}{{ z | d('Z') }})J", R"J({"y": "Y"})J", "DYEZ"},
        {"first last list [jinja2]", R"J({{ xs | first }}{{ xs | last }}{{ 'abc' | list }}{{ 'abc' | first }})J", R"J({"xs": [3, 4, 5]})J", "35[\"a\", \"b\", \"c\"]a"},
        {"numbers [jinja2]", R"J({{ '42' | int + 1 }}{{ 3.9 | int }}{{ '2.5' | float }}{{ -3 | abs }}{{ 2.567 | round(2) }}{{ 2.5 | round }}{{ 5 | string }}{{ 'x' | int }})J", R"J({})J", "4332.532.572.050"},
        {"unique reverse sort", R"J({{ [3, 1, 3, 2] | unique | list }}{{ [1, 2, 3] | reverse | list }}{{ [3, 1, 2] | sort }}{{ ['b', 'A', 'c'] | sort }})J", R"J({})J", "[3, 1, 2][3, 2, 1][1, 2, 3][\"A\", \"b\", \"c\"]"},
        {"indent", "{{ 'a\nb\n\nc' | indent(2) }}|{{ 'a\nb' | indent(2, true) }}", R"J({})J", "a\n  b\n\n  c|  a\n  b"},
        {"escape safe [jinja2]", R"J({{ '<a href="x">&</a>' | e }}{{ '<b>' | safe }})J", R"J({})J", "&lt;a href=&#34;x&#34;&gt;&amp;&lt;/a&gt;<b>"},
        {"string methods [jinja2]", "{{ s.startswith('He') }}{{ s.endswith(('x', 'lo')) }}{{ s.split('l') }}{{ ' a  b '.split() }}{{ 'a,b,c'.split(',', 1) }}{{ 'a,b,c'.rsplit(',', 1) }}[{{ '\n\nx\n'.strip('\n') }}][{{ '  x '.lstrip() }}][{{ 'xx'.rstrip('x') }}]{{ s.upper() }}{{ s.lower() }}{{ s.replace('l', 'L', 1) }}{{ 'a b'.title() }}", R"J({"s": "Hello"})J", "truetrue[\"He\", \"\", \"o\"][\"a\", \"b\"][\"a\", \"b,c\"][\"a,b\", \"c\"][x][x ][]HELLOhelloHeLloA B"},
        {"str format [jinja2]", R"J({{ '{} and {}'.format(1, 'b') }}{{ '{name}!'.format(name='N') }})J", R"J({})J", "1 and bN!"},
        {"dict methods", R"J({{ d.keys() | list }}{{ d.values() | list }}{{ d.get('a') }}{{ d.get('z', 'none') }}{{ d.get('z') is none }}{% for k, v in d.items() %}{{ k }}{% endfor %})J", R"J({"d": {"a": 1, "b": 2}})J", "[\"a\", \"b\"][1, 2]1nonetrueab"},
        {"whitespace control", R"J(a  {%- if true -%}  b  {%- endif -%}  c {{- ' d ' -}} e)J", R"J({})J", "abc d e"},
        {"trim and lstrip blocks", "<ul>\n    {% for x in xs %}\n    <li>{{ x }}</li>\n    {% endfor %}\n</ul>\n", R"J({"xs": [1, 2]})J", "<ul>\n    <li>1</li>\n    <li>2</li>\n</ul>"},
        {"comments", R"J(a{# comment #}b {#- strip -#} c)J", R"J({})J", "abc"},
        {"break continue", R"J({% for i in range(10) %}{% if i == 1 %}{% continue %}{% endif %}{% if i == 4 %}{% break %}{% endif %}{{ i }}{% endfor %})J", R"J({})J", "023"},
        {"range", R"J({{ range(3) | list }}{{ range(1, 7, 2) | list }}{{ range(3, 0, -1) | list }})J", R"J({})J", "[0, 1, 2][1, 3, 5][3, 2, 1]"},
        {"filter block", R"J({% filter upper %}abc{{ 'd' }}{% endfilter %})J", R"J({})J", "ABCD"},
        {"print values", R"J({{ true }}{{ false }}{{ none }}{{ undefined_var }}{{ 1.0 }}{{ 2.50 }}{{ [1, 'x', none] }}{{ {'a': true} }})J", R"J({})J", "truefalse1.02.5[1, \"x\", null]{\"a\": true}"},
        {"adjacent strings", R"J({{ 'a' 'b' "c" }})J", R"J({})J", "abc"},
        {"escapes", R"J({{ 'tab\there\u00e9\x41' }})J", R"J({})J", "tab\thereéA"},
        {"generation tag", R"J({% generation %}x{% endgeneration %}y)J", R"J({})J", "xy"},
        {"nested loops", R"J({% for a in [1,2] %}{% for b in ['x','y'] %}{{ loop.index }}{{ a }}{{ b }} {% endfor %}{{ loop.index }}|{% endfor %})J", R"J({})J", "11x 21y 1|12x 22y 2|"},
        {"is not and filters precedence", R"J({{ m.content | trim + '!' }}{{ xs | length > 1 }}{{ not xs | length }})J", R"J({"m": {"content": " hi "}, "xs": [1, 2]})J", "hi!truefalse"},
        {"dict literal in expression", R"J({{ {'a': {'b': 1}}['a']['b'] }}{{ {'x': 1} | tojson }})J", R"J({})J", "1{\"x\": 1}"},
};

std::string render(const std::string& tmpl, const std::string& context = "{}", const Limits& limits = {})
{
    return Template(tmpl, "test.jinja").render(ojson::parse(context), limits);
}

// The message of the JinjaError a template throws ("" when it renders).
std::string failure(const std::string& tmpl, const std::string& context = "{}", const Limits& limits = {})
{
    try {
        render(tmpl, context, limits);
    } catch (const JinjaError& e) {
        return e.what();
    }
    return "";
}

} // namespace

class TestJinja : public QObject {
    Q_OBJECT
private slots:
    void renders_data()
    {
        QTest::addColumn<QString>("tmpl");
        QTest::addColumn<QString>("context");
        QTest::addColumn<QString>("expected");
        for (const Row& r : kRows)
            QTest::newRow(r.name) << QString::fromUtf8(r.tmpl) << QString::fromUtf8(r.context) << QString::fromUtf8(r.expected);
    }
    void renders()
    {
        QFETCH(QString, tmpl);
        QFETCH(QString, context);
        QFETCH(QString, expected);
        std::string got;
        try {
            got = render(tmpl.toStdString(), context.toStdString());
        } catch (const std::exception& e) {
            QFAIL(e.what());
        }
        QCOMPARE(QString::fromStdString(got), expected);
    }

    void raiseExceptionNamesTemplateAndMessage()
    {
        const std::string m = failure("line one\n{{ raise_exception('roles must alternate') }}");
        QVERIFY2(m.find("test.jinja, line 2") != std::string::npos, m.c_str());
        QVERIFY2(m.find("roles must alternate") != std::string::npos, m.c_str());
    }

    void syntaxErrorsNameLineAndConstruct()
    {
        std::string m = failure("{% if x %}\nno end");
        QVERIFY2(m.find("test.jinja") != std::string::npos && m.find("endif") != std::string::npos, m.c_str());
        m = failure("a\n\n{% include 'other.jinja' %}");
        QVERIFY2(m.find("line 3") != std::string::npos && m.find("include") != std::string::npos, m.c_str());
        m = failure("{{ x | no_such_filter }}");
        QVERIFY2(m.find("unknown filter 'no_such_filter'") != std::string::npos, m.c_str());
        m = failure("{{ x is no_such_test }}");
        QVERIFY2(m.find("unknown test 'no_such_test'") != std::string::npos, m.c_str());
        m = failure("{{ 'abc' .nomethod() }}");
        QVERIFY2(m.find("unknown method 'nomethod'") != std::string::npos, m.c_str());
        m = failure("{{ 'unterminated }}");
        QVERIFY2(m.find("unterminated string") != std::string::npos, m.c_str());
        m = failure("{% set x = 1 %}{% endfor %}");
        QVERIFY2(m.find("unexpected {% endfor %}") != std::string::npos, m.c_str());
        m = failure("{{ (((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((((1 }}");
        QVERIFY2(m.find("nesting deeper") != std::string::npos, m.c_str());
        m = failure("{% set x.y = 1 %}");
        QVERIFY2(m.find("only of a namespace") != std::string::npos, m.c_str());
        m = failure("{{ 1 / 0 }}");
        QVERIFY2(m.find("division by zero") != std::string::npos, m.c_str());
    }

    void limitsStopRunawayTemplates()
    {
        Limits small;
        small.maxIterations = 5000;
        small.maxDepth = 20;
        small.maxOutputBytes = 10000;
        std::string m = failure("{% for i in range(100) %}{% for j in range(100) %}{% endfor %}{% endfor %}", "{}", small);
        QVERIFY2(m.find("test.jinja") != std::string::npos && m.find("5000 loop iterations") != std::string::npos, m.c_str());
        m = failure("{% macro f(n) %}{{ f(n + 1) }}{% endmacro %}{{ f(0) }}", "{}", small);
        QVERIFY2(m.find("nested deeper than 20") != std::string::npos, m.c_str());
        m = failure("{% for i in range(900) %}0123456789abcdef{% endfor %}", "{}", small);
        QVERIFY2(m.find("longer than 10000 bytes") != std::string::npos, m.c_str());
        m = failure("{% set ns = namespace(s='xx') %}{% for i in range(40) %}{% set ns.s = ns.s + ns.s %}{% endfor %}", "{}", small);
        QVERIFY2(m.find("longer than 10000 bytes") != std::string::npos, m.c_str());
        m = failure("{{ 'x' * 100000 }}", "{}", small);
        QVERIFY2(m.find("longer than 10000 bytes") != std::string::npos, m.c_str());
        m = failure("{{ range(100000000) | length }}", "{}", small);
        QVERIFY2(m.find("loop iterations") != std::string::npos, m.c_str());
    }

    void deepExpressionsAreRefusedNotOverflowed()
    {
        std::string chain = "{{ 1";
        for (int k = 0; k < 100000; ++k)
            chain += " + 1";
        std::string m = failure(chain + " }}");
        QVERIFY2(m.find("nested deeper than") != std::string::npos, m.c_str());
        std::string filters = "{{ 'a'";
        for (int k = 0; k < 100000; ++k)
            filters += "|trim";
        m = failure(filters + " }}");
        QVERIFY2(m.find("nested deeper than") != std::string::npos, m.c_str());
        QCOMPARE(QString::fromStdString(render("{{ 1" + std::string(" + 1").append(" + 1") + " }}")), QStringLiteral("3"));
    }

    // Mutated real templates: every outcome is text or a JinjaError, never a crash or another exception.
    void mutatedTemplatesNeverCrash()
    {
        const std::string base =
            "{%- set ns = namespace(sys='') -%}{% for m in messages if m.role != 'x' %}{% if loop.first and m['role'] == 'system' %}"
            "{% set ns.sys = m.content | trim %}{% elif m.content is string %}<|im_start|>{{ m.role ~ '\n' + m.content.split('</think>')[-1].lstrip('\n') }}"
            "{%- else %}{{ m.content | map(attribute='text') | join(', ') | tojson(indent=2) }}{% endif %}{% endfor %}"
            "{% macro f(a, b=[1, {'k': 2}][1:]) %}{{ a[::-1] }}{{ b | length }}{% endmacro %}{{ f('abc') }}{{ raise_exception('x') if false }}";
        const std::string context = R"({"messages": [{"role": "system", "content": " s "}, {"role": "user", "content": "a</think>b"}, {"role": "assistant", "content": [{"type": "text", "text": "t"}]}]})";
        QVERIFY(!render(base, context).empty());
        const std::string alphabet = "{}%#-+|.,:()[]'\"~*/=<>!ifnotaend \n";
        uint64_t state = 88172645463325252ull;
        const auto rnd = [&] { state ^= state << 13; state ^= state >> 7; state ^= state << 17; return state; };
        Limits small;
        small.maxIterations = 10000;
        small.maxOutputBytes = 1 << 16;
        int rendered = 0;
        for (int k = 0; k < 3000; ++k) {
            std::string t = base;
            for (int e = 0, edits = 1 + int(rnd() % 4); e < edits; ++e) {
                const size_t at = rnd() % t.size();
                switch (rnd() % 3) {
                case 0: t.erase(at, 1 + rnd() % 3); break;
                case 1: t.insert(at, 1, alphabet[rnd() % alphabet.size()]); break;
                default: t[at] = alphabet[rnd() % alphabet.size()];
                }
            }
            try {
                render(t, context, small);
                ++rendered;
            } catch (const JinjaError&) {
            } catch (const std::exception& ex) {
                QFAIL(qPrintable(QString("not a JinjaError: ") + ex.what() + "\n" + QString::fromStdString(t)));
            }
        }
        QVERIFY(rendered > 0);
    }

    void integerOverflowGoesOnAsFloat()
    {
        // 64-bit overflow is not an error in Jinja (Python's ints grow, JavaScript's are doubles): the result
        // goes on as a float instead of wrapping round (which would also be undefined behaviour here).
        const double big = 9223372036854775807.0;
        for (const char* expr : {"9223372036854775807 + 1", "-9223372036854775807 - 2", "9223372036854775807 * 3"}) {
            const std::string out = render(std::string("{{ ") + expr + " }}");
            QVERIFY2(out.find('-') == std::string::npos || expr[0] == '-', out.c_str());
            QVERIFY2(std::abs(std::stod(out)) >= big, (std::string(expr) + " -> " + out).c_str());
        }
        QCOMPARE(QString::fromStdString(render("{{ (-9223372036854775807 - 1) // -1 > 0 }}")), QStringLiteral("true"));
        QCOMPARE(QString::fromStdString(render("{{ [1, 2][99999999999999999999999] is undefined }}")), QStringLiteral("true"));
    }

    void callBlockAndCaller()
    {
        QCOMPARE(QString::fromStdString(render("{% macro box() %}[{{ caller() }}]{% endmacro %}{% call box() %}in{% endcall %}")),
                 QStringLiteral("[in]"));
    }

    void strftimeNowFormats()
    {
        const std::string s = render("{{ strftime_now('%Y-%m-%d') }}");
        QCOMPARE(int(s.size()), 10);
        QCOMPARE(s[4], '-');
    }

    void contextKeepsKeyOrder()
    {
        QCOMPARE(QString::fromStdString(render("{{ tool | tojson }}", R"({"tool": {"z": 1, "a": {"y": 2, "b": 3}}})")),
                 QStringLiteral(R"({"z": 1, "a": {"y": 2, "b": 3}})"));
    }
};

QTEST_GUILESS_MAIN(TestJinja)
#include "tst_jinja.moc"
