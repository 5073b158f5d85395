// logitscope-cli chat-template and generate --messages: the rendered prompt and its ids (checked against
// `tokenize` and against @huggingface/jinja's SmolLM2 rendering), --add-generation-prompt, --var, the
// tool_use template, and bad files named with the field, exit code 2. Uses the bundled model only.
#include "cli_process.h"

#include <nlohmann/json.hpp>

#include <QTemporaryDir>
#include <QtTest>

using namespace logitscope;
using ojson = nlohmann::ordered_json;

namespace {

QString write(const QTemporaryDir& dir, const QString& name, const QByteArray& text)
{
    QFile f(dir.filePath(name));
    f.open(QIODevice::WriteOnly);
    f.write(text);
    return f.fileName();
}

const QString kModel = QStringLiteral(LOGITSCOPE_SOURCE_DIR "/resources/models/logitscope-brown");

const char* const kSmolConfig = R"({"bos_token": "<|im_start|>", "eos_token": "<|im_end|>", "chat_template": "{% for message in messages %}{% if loop.first and messages[0]['role'] != 'system' %}{{ '<|im_start|>system\nYou are a helpful AI assistant named SmolLM, trained by Hugging Face<|im_end|>\n' }}{% endif %}{{'<|im_start|>' + message['role'] + '\n' + message['content'] + '<|im_end|>' + '\n'}}{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %}"})";

} // namespace

class TestChatCli : public QObject {
    Q_OBJECT
private slots:
    void rendersTheModelsTemplateWithIds()
    {
        QTemporaryDir dir;
        const QString m = write(dir, "m.json", R"([{"role": "system", "content": "ignored"}, {"role": "user", "content": "The jury"}, {"role": "assistant", "content": "said"}])");
        auto r = test::runCli({"chat-template", "--model", kModel, "--messages", m, "--json"});
        QCOMPARE(r.code, 0);
        const ojson j = ojson::parse(r.out.toStdString());
        QCOMPARE(j["text"].get<std::string>(), std::string("<s>The jury said")); // the template writes bos_token
        QCOMPARE(j["template"].get<std::string>(), std::string("model"));
        // The ids are what `tokenize` gives for the same words with BOS added: one BOS, not two.
        auto t = test::runCli({"tokenize", "--model", kModel, "--text", "The jury said", "--json"});
        QCOMPARE(t.code, 0);
        const ojson tj = ojson::parse(t.out.toStdString());
        QCOMPARE(j["ids"], tj["ids"]);
        // Plain output is the prompt itself.
        r = test::runCli({"chat-template", "--model", kModel, "--messages", m});
        QCOMPARE(r.code, 0);
        QCOMPARE(r.out, QStringLiteral("<s>The jury said\n"));
    }

    // Expected text: @huggingface/jinja 0.5.13 on SmolLM2-Instruct's template.
    void tokenizerConfigGenerationPromptAndVars()
    {
        QTemporaryDir dir;
        const QString cfg = write(dir, "tokenizer_config.json", kSmolConfig);
        const QString m = write(dir, "m.json", R"([{"role": "user", "content": "Hi!"}])");
        auto r = test::runCli({"chat-template", "--tokenizer-config", cfg, "--messages", m});
        QCOMPARE(r.code, 0);
        QCOMPARE(r.out, QStringLiteral("<|im_start|>system\nYou are a helpful AI assistant named SmolLM, trained by Hugging Face<|im_end|>\n<|im_start|>user\nHi!<|im_end|>\n"));
        r = test::runCli({"chat-template", "--tokenizer-config", cfg, "--messages", m, "--add-generation-prompt", "--json"});
        QCOMPARE(r.code, 0);
        const ojson j = ojson::parse(r.out.toStdString());
        QVERIFY(QString::fromStdString(j["text"].get<std::string>()).endsWith("<|im_start|>user\nHi!<|im_end|>\n<|im_start|>assistant\n"));
        QCOMPARE(j["end_of_turn"].get<std::string>(), std::string("<|im_end|>"));
        QVERIFY(!j.contains("ids")); // no tokenizer next to the config

        const QString think = write(dir, "think.json", R"({"chat_template": [{"name": "default", "template": "{{ messages[0].content }}{% if enable_thinking is defined and enable_thinking is false %}<think></think>{% endif %}|{{ mode }}"}, {"name": "tool_use", "template": "tools:{{ tools | map(attribute='function.name') | join(',') }}"}]})");
        r = test::runCli({"chat-template", "--tokenizer-config", think, "--messages", m, "--var", "enable_thinking=false", "--var", "mode=fast"});
        QCOMPARE(r.code, 0);
        QCOMPARE(r.out, QStringLiteral("Hi!<think></think>|fast\n"));
        const QString withTools = write(dir, "tools.json", R"({"messages": [{"role": "user", "content": "Hi!"}], "tools": [{"type": "function", "function": {"name": "get_weather"}}, {"type": "function", "function": {"name": "search"}}]})");
        r = test::runCli({"chat-template", "--tokenizer-config", think, "--messages", withTools});
        QCOMPARE(r.code, 0);
        QCOMPARE(r.out, QStringLiteral("tools:get_weather,search\n"));
    }

    void templateItCannotRunFallsBackWithANotice()
    {
        QTemporaryDir dir;
        const QString cfg = write(dir, "c.json", R"({"chat_template": "{% include 'x' %}<|im_start|>"})");
        const QString m = write(dir, "m.json", R"([{"role": "user", "content": "Hi!"}])");
        const auto r = test::runCli({"chat-template", "--tokenizer-config", cfg, "--messages", m, "--add-generation-prompt"});
        QCOMPARE(r.code, 0);
        QCOMPARE(r.out, QStringLiteral("<|im_start|>user\nHi!<|im_end|>\n<|im_start|>assistant\n"));
        QVERIFY2(r.err.startsWith("note: the chat template could not be run") && r.err.contains("include") && r.err.count('\n') == 1, qPrintable(r.err));
    }

    void badFilesNameTheField()
    {
        QTemporaryDir dir;
        const QString good = write(dir, "good.json", R"([{"role": "user", "content": "Hi"}])");
        struct Bad {
            const char* file;
            const char* text;
            const char* message;
        };
        const Bad bad[] = {
            {"role.json", R"([{"role": "user", "content": "a"}, {"role": "robot", "content": "b"}])", "role.json: messages[1].role: 'robot' is not a role"},
            {"content.json", R"({"messages": [{"role": "user", "content": {"x": 1}}]})", "content.json: messages[0].content: must be a string or a list of parts"},
            {"broken.json", R"([{"role": )", "broken.json: not valid JSON"},
            {"calls.json", R"([{"role": "assistant", "tool_calls": [{"function": {}}]}])", "calls.json: messages[0].tool_calls[0].function.name: missing"},
        };
        for (const Bad& b : bad) {
            const QString f = write(dir, b.file, b.text);
            const auto r = test::runCli({"chat-template", "--model", kModel, "--messages", f});
            QCOMPARE(r.code, 2);
            QVERIFY2(r.err.contains(b.message), qPrintable(r.err));
        }
        auto r = test::runCli({"chat-template", "--model", kModel, "--messages", dir.filePath("missing.json")});
        QCOMPARE(r.code, 2);
        QVERIFY2(r.err.contains("--messages: cannot read"), qPrintable(r.err));
        const QString cfg = write(dir, "cfg.json", R"({"chat_template": 42})");
        r = test::runCli({"chat-template", "--tokenizer-config", cfg, "--messages", good});
        QCOMPARE(r.code, 2);
        QVERIFY2(r.err.contains("cfg.json: chat_template: must be a string"), qPrintable(r.err));
        r = test::runCli({"chat-template", "--model", kModel, "--messages", good, "--var", "novalue"});
        QCOMPARE(r.code, 2);
        QVERIFY2(r.err.contains("--var: expected NAME=VALUE"), qPrintable(r.err));
        r = test::runCli({"generate", "--model", kModel, "--messages", good, "--prompt", "x"});
        QCOMPARE(r.code, 2);
        QVERIFY2(r.err.contains("--prompt or --messages"), qPrintable(r.err));
    }

    void generateNextTurn()
    {
        QTemporaryDir dir;
        const QString m = write(dir, "m.json", R"([{"role": "user", "content": "The jury said"}])");
        const auto r = test::runCli({"generate", "--model", kModel, "--messages", m, "--greedy", "--max-new-tokens", "6", "--json"});
        QCOMPARE(r.code, 0);
        const ojson j = ojson::parse(r.out.toStdString());
        const auto t = test::runCli({"tokenize", "--model", kModel, "--text", "The jury said", "--json"});
        QCOMPARE(j["prompt_ids"], ojson::parse(t.out.toStdString())["ids"]); // one BOS, the template's text
        QVERIFY(j["steps"].size() >= 1);
        const auto p = test::runCli({"generate", "--model", kModel, "--prompt", "The jury said", "--no-chat-template", "--greedy", "--max-new-tokens", "6", "--json"});
        QCOMPARE(ojson::parse(p.out.toStdString())["text"], j["text"]); // same prompt ids, same greedy text
    }
};

QTEST_GUILESS_MAIN(TestChatCli)
#include "tst_chat_cli.moc"
