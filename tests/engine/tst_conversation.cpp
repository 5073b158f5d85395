// Unit tests of conversations (engine/tokenizer/conversation.h): validation errors name the message index
// and field, the messages-file formats, rendering through the model's template (the bundled model's, a
// ChatML one with output checked against @huggingface/jinja 0.5.13), tool_use template selection, BOS
// handling, and the family fallback with a notice naming the construct. No ../shared needed.
#include "common/error.h"
#include "tokenizer/conversation.h"
#include "tokenizer/tokenizer.h"

#include <nlohmann/json.hpp>

#include <QDir>
#include <QFile>
#include <QTemporaryDir>
#include <QtTest>

#include <fstream>

using namespace logitscope;
using ojson = nlohmann::ordered_json;

namespace {

const char* const kSmolLM2 =
    "{% for message in messages %}{% if loop.first and messages[0]['role'] != 'system' %}{{ '<|im_start|>system\\nYou are a helpful AI assistant named SmolLM, trained by Hugging Face<|im_end|>\\n' }}{% endif %}{{'<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>' + '\\n'}}{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}";

std::string errorOf(const std::string& file)
{
    try {
        parseConversation(ojson::parse(file), "chat.json");
    } catch (const Error& e) {
        return e.what();
    }
    return "";
}

std::string bundledModel() { return std::string(LOGITSCOPE_SOURCE_DIR) + "/resources/models/logitscope-brown"; }

// A copy of the bundled model's tokenizer files with another tokenizer_config.json chat_template.
std::string tokenizerWithTemplate(const QTemporaryDir& tmp, const ojson& chatTemplate)
{
    const QString dir = tmp.path();
    for (const char* f : {"tokenizer.model", "special_tokens_map.json", "generation_config.json", "config.json"})
        QFile::copy(QString::fromStdString(bundledModel() + "/" + f), dir + "/" + f);
    std::ifstream in(bundledModel() + "/tokenizer_config.json");
    ojson cfg = ojson::parse(in);
    cfg["chat_template"] = chatTemplate;
    std::ofstream(dir.toStdString() + "/tokenizer_config.json") << cfg.dump();
    return dir.toStdString();
}

} // namespace

class TestConversation : public QObject {
    Q_OBJECT
private slots:
    void validationNamesIndexAndField_data()
    {
        QTest::addColumn<QString>("file");
        QTest::addColumn<QString>("expected");
        QTest::newRow("not a list") << R"({"messages": {"role": "user"}})" << "chat.json: messages: must be a list, not an object";
        QTest::newRow("empty") << R"([])" << "chat.json: messages: the list is empty";
        QTest::newRow("no messages key") << R"({"tools": []})" << "chat.json: messages: missing";
        QTest::newRow("message not object") << R"([{"role": "user", "content": "a"}, "hi"])" << "chat.json: messages[1]: must be an object";
        QTest::newRow("role missing") << R"([{"content": "a"}])" << "chat.json: messages[0].role: missing";
        QTest::newRow("role type") << R"([{"role": 3, "content": "a"}])" << "chat.json: messages[0].role: must be a string, not a number";
        QTest::newRow("role unknown") << R"([{"role": "user", "content": "a"}, {"role": "bot", "content": "b"}])" << "chat.json: messages[1].role: 'bot' is not a role";
        QTest::newRow("content missing") << R"([{"role": "user"}])" << "chat.json: messages[0].content: missing";
        QTest::newRow("content number") << R"([{"role": "user", "content": 5}])" << "chat.json: messages[0].content: must be a string or a list of parts, not a number";
        QTest::newRow("part without type") << R"([{"role": "user", "content": [{"text": "a"}]}])" << "chat.json: messages[0].content[0].type: missing";
        QTest::newRow("text part without text") << R"([{"role": "user", "content": [{"type": "text"}]}])" << "chat.json: messages[0].content[0].text:";
        QTest::newRow("tool calls on user") << R"([{"role": "user", "content": "a", "tool_calls": []}])" << "chat.json: messages[0].tool_calls: only an assistant";
        QTest::newRow("tool call without name") << R"([{"role": "user", "content": "a"}, {"role": "assistant", "tool_calls": [{"function": {"arguments": {}}}]}])" << "chat.json: messages[1].tool_calls[0].function.name: missing";
        QTest::newRow("tools not list") << R"({"messages": [{"role": "user", "content": "a"}], "tools": {"a": 1}})" << "chat.json: tools: must be a list";
        QTest::newRow("generation prompt type") << R"({"messages": [{"role": "user", "content": "a"}], "add_generation_prompt": "yes"})" << "chat.json: add_generation_prompt: must be true or false";
    }
    void validationNamesIndexAndField()
    {
        QFETCH(QString, file);
        QFETCH(QString, expected);
        const QString got = QString::fromStdString(errorOf(file.toStdString()));
        QVERIFY2(got.startsWith(expected), qPrintable(got));
    }

    void fileFormats()
    {
        const ChatConversation a = parseConversation(ojson::parse(R"([{"role": "user", "content": "hi"}])"), "a.json");
        QCOMPARE(int(a.messages.size()), 1);
        QVERIFY(a.addGenerationPrompt);
        QVERIFY(a.tools.is_null());
        const ChatConversation b = parseConversation(ojson::parse(
            R"({"messages": [{"role": "user", "content": "hi"}, {"role": "assistant", "content": null, "tool_calls": [{"type": "function", "function": {"name": "f", "arguments": {"x": 1}}}]}],
                "tools": [{"type": "function", "function": {"name": "f"}}], "add_generation_prompt": false, "enable_thinking": false})"), "b.json");
        QVERIFY(!b.addGenerationPrompt);
        QCOMPARE(int(b.tools.size()), 1);
        QCOMPARE(b.vars["enable_thinking"], ojson(false));
    }

    // Expected text: @huggingface/jinja 0.5.13 rendering the SmolLM2-Instruct template on these messages.
    void rendersTheTemplate()
    {
        ChatConversation c;
        c.messages = ojson::parse(R"([{"role": "user", "content": "Hi!"}, {"role": "assistant", "content": "Hello."}, {"role": "user", "content": "Bye"}])");
        const ChatRendering r = renderConversation(kSmolLM2, c, {"<|im_start|>", "<|im_end|>", "", ""}, false);
        QVERIFY2(r.notice.empty(), r.notice.c_str());
        QVERIFY(r.fromTemplate);
        QCOMPARE(QString::fromStdString(r.family), QStringLiteral("chatml"));
        QCOMPARE(QString::fromStdString(r.endOfTurn), QStringLiteral("<|im_end|>"));
        QCOMPARE(QString::fromStdString(r.text), QStringLiteral(
            "<|im_start|>system\nYou are a helpful AI assistant named SmolLM, trained by Hugging Face<|im_end|>\n"
            "<|im_start|>user\nHi!<|im_end|>\n<|im_start|>assistant\nHello.<|im_end|>\n<|im_start|>user\nBye<|im_end|>\n"
            "<|im_start|>assistant\n"));
        c.addGenerationPrompt = false;
        const ChatRendering n = renderConversation(kSmolLM2, c, {}, false);
        QVERIFY(QString::fromStdString(n.text).endsWith(QStringLiteral("Bye<|im_end|>\n")));
    }

    void fallsBackToTheFamilyWithANotice()
    {
        ChatConversation c;
        c.messages = ojson::parse(R"([{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Hi!"}])");
        const std::string tmpl = "{% include 'header.jinja' %}{% for m in messages %}<|im_start|>{{ m.role }}{% endfor %}";
        const ChatRendering r = renderConversation(tmpl, c, {}, false, "model X chat template");
        QVERIFY(!r.fromTemplate);
        QCOMPARE(QString::fromStdString(r.text), QStringLiteral("<|im_start|>system\nBe brief.<|im_end|>\n<|im_start|>user\nHi!<|im_end|>\n<|im_start|>assistant\n"));
        QVERIFY2(r.notice.find("include") != std::string::npos && r.notice.find("model X chat template") != std::string::npos
                     && r.notice.find("chatml family") != std::string::npos && r.notice.find('\n') == std::string::npos,
                 r.notice.c_str());
        // A template that raises (Gemma's alternation check) falls back too, naming the message.
        const ChatRendering g = renderConversation("<start_of_turn>{{ raise_exception('Conversation roles\\nmust alternate') }}", c, {}, false);
        QVERIFY2(g.notice.find("Conversation roles must alternate") != std::string::npos, g.notice.c_str()); // one line
        QCOMPARE(QString::fromStdString(g.text), QStringLiteral("<start_of_turn>user\nBe brief.\n\nHi!<end_of_turn>\n<start_of_turn>model\n"));
        // No template: the raw text.
        const ChatRendering raw = renderConversation("", c, {}, false);
        QCOMPARE(QString::fromStdString(raw.text), QStringLiteral("Be brief.\n\nHi!"));
        QVERIFY(raw.notice.find("no chat template") != std::string::npos);
    }

    void tokenizerPassesSpecialTokensAndStripsBos()
    {
        const auto tok = loadTokenizerFromFolder(bundledModel());
        ChatConversation c;
        c.messages = ojson::parse(R"([{"role": "system", "content": "S"}, {"role": "user", "content": "The jury"}, {"role": "assistant", "content": "said"}])");
        const ChatRendering r = tok->renderConversation(c);
        QVERIFY2(r.notice.empty(), r.notice.c_str());
        // The template writes "{{ bos_token }}" first; encode() adds BOS itself, so the text leaves it out.
        QCOMPARE(QString::fromStdString(r.text), QStringLiteral("The jury said"));
        QCOMPARE(QString::fromStdString(r.endOfTurn), QStringLiteral("</s>"));
        const auto ids = tok->encode(r.text);
        QCOMPARE(ids.front(), tok->bos());
        QCOMPARE(int(std::count(ids.begin(), ids.end(), tok->bos())), 1);
    }

    void toolUseTemplateIsPickedWithTools()
    {
        QTemporaryDir tmp;
        const std::string dir = tokenizerWithTemplate(tmp, ojson::parse(
            R"([{"name": "default", "template": "D{{ messages[0].content }}"}, {"name": "tool_use", "template": "T{{ tools[0].function.name }}"}])"));
        const auto tok = loadTokenizerFromFolder(dir);
        ChatConversation c;
        c.messages = ojson::parse(R"([{"role": "user", "content": "x"}])");
        QCOMPARE(QString::fromStdString(tok->renderConversation(c).text), QStringLiteral("Dx"));
        c.tools = ojson::parse(R"([{"type": "function", "function": {"name": "get_weather"}}])");
        QCOMPARE(QString::fromStdString(tok->renderConversation(c).text), QStringLiteral("Tget_weather"));
    }

    void chatTemplateJinjaFileTakesPrecedence()
    {
        QTemporaryDir tmp;
        const std::string dir = tokenizerWithTemplate(tmp, "config{{ messages[0].content }}");
        std::ofstream(dir + "/chat_template.jinja") << "file:{{ messages[0].content }}\n";
        const auto tok = loadTokenizerFromFolder(dir);
        ChatConversation c;
        c.messages = ojson::parse(R"([{"role": "user", "content": "x"}])");
        QCOMPARE(QString::fromStdString(tok->renderConversation(c).text), QStringLiteral("file:x"));
    }
};

QTEST_GUILESS_MAIN(TestConversation)
#include "tst_conversation.moc"
