// Lessons: every bundled lesson parses, plays through all its steps on the bundled model and every check it
// claims holds, without ../shared (lesson 1's second tokenizer is bundled in resources/tokenizers);
// "chat": true wraps the prompt in the model's chat template or says why not; malformed lesson files fail
// with a message naming the field; the runner drives the controller and the panel renders it.
#include "main_window.h"
#include "models/inference_controller.h"
#include "models/lesson.h"
#include "models/lesson_player.h"
#include "models/lesson_runner.h"
#include "models/prompt_tokens_model.h"
#include "models/model_locator.h"
#include "panels/lessons_panel.h"
#include "panels/prompt_panel.h"

#include "common/quantize.h"
#include "decoding/session.h"
#include "model/backend.h"
#include "model/model.h"
#include "tokenizer/byte_bpe_tokenizer.h"

#include <QApplication>
#include <QCheckBox>
#include <QDir>
#include <QFile>
#include <QSignalSpy>
#include <QTemporaryDir>
#include <QtTest>

#include <fstream>

using namespace logitscope;
using namespace logitscope::gui;

namespace {

QString lessonsDir()
{
    return QStringLiteral(LOGITSCOPE_SOURCE_DIR "/resources/lessons");
}

// A bundled lesson, read from resources/lessons.
Lesson bundledLesson(const char* file)
{
    return loadLessonFile(QDir(lessonsDir()).filePath(QString::fromLatin1(file)).toStdString());
}

QString bundledTokenizerPath()
{
    return QStringLiteral(LOGITSCOPE_SOURCE_DIR "/resources/tokenizers/brown-byte-bpe/tokenizer.json");
}

void writeFile(const QString& path, const std::string& text)
{
    std::ofstream out(path.toStdString(), std::ios::binary);
    out << text;
}

// Sets an environment variable for one scope and puts the old value back.
class ScopedEnv {
public:
    ScopedEnv(const char* name, const QByteArray& value)
        : m_name(name), m_had(qEnvironmentVariableIsSet(name)), m_old(qgetenv(name))
    {
        qputenv(name, value);
    }
    ~ScopedEnv()
    {
        if (m_had)
            qputenv(m_name, m_old);
        else
            qunsetenv(m_name);
    }

private:
    const char* m_name;
    bool m_had;
    QByteArray m_old;
};

// A copy of the bundled model (files linked, not copied) whose tokenizer_config.json has `chatTemplate`
// as its template, or none when it is empty.
QString modelWithChatTemplate(const QTemporaryDir& tmp, const QString& name, const std::string& chatTemplate)
{
    const QString model = findDefaultModel();
    const QDir from(model);
    const QString to = tmp.filePath(name);
    QDir().mkpath(to);
    for (const QString& f : from.entryList(QDir::Files)) {
        if (f == QLatin1String("tokenizer_config.json"))
            continue;
        if (!QFile::link(from.filePath(f), QDir(to).filePath(f)))
            return {};
    }
    std::ifstream in(from.filePath(QStringLiteral("tokenizer_config.json")).toStdString());
    nlohmann::json config = nlohmann::json::parse(in);
    if (chatTemplate.empty())
        config.erase("chat_template");
    else
        config["chat_template"] = chatTemplate;
    writeFile(QDir(to).filePath(QStringLiteral("tokenizer_config.json")), config.dump(1));
    return to;
}

const char* const kChatml =
    "{% for message in messages %}{{'<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>' + '\\n'}}"
    "{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}";

// A one-step "chat": true lesson, written to tmp; `model` (relative to the file) may be empty.
QString writeChatLesson(const QTemporaryDir& tmp, const std::string& model)
{
    const QString file = tmp.filePath(QStringLiteral("chat.json"));
    writeFile(file, R"({"id": "chat", "title": "chat", "prompt": "It was the first time that the", "chat": true,)"
                        + (model.empty() ? std::string() : "\"model\": \"" + model + "\",") +
                        R"("settings": {"temperature": 0, "max_new_tokens": 4},
        "steps": [{"action": "prefill", "text": "Read the prompt.", "check": {"kind": "prompt_fits_context"}}]})");
    return file;
}

// Plays the one-step chat lesson on a model; returns the player.
std::unique_ptr<LessonPlayer> playChatLesson(const QTemporaryDir& tmp, const QString& model, StepOutcome& outcome)
{
    const QString file = writeChatLesson(tmp, "");
    auto player = std::make_unique<LessonPlayer>(loadLessonFile(file.toStdString()), model.toStdString());
    outcome = player->playNext();
    return player;
}

std::string parseError(const std::string& text)
{
    try {
        parseLesson(text, "bad.json");
    } catch (const LessonError& e) {
        return e.what();
    }
    return "(no error)";
}

} // namespace

class TestLessons : public QObject {
    Q_OBJECT
private slots:
    void bundledLessonsParse()
    {
        const auto files = lessonFiles(lessonsDir().toStdString());
        QVERIFY2(files.size() >= 11, qPrintable(QStringLiteral("%1 lesson files in %2").arg(files.size()).arg(lessonsDir())));
        QSet<QString> ids;
        for (const auto& f : files) {
            const Lesson l = loadLessonFile(f);   // throws (fails the test) with the field named
            QVERIFY(!l.steps.empty());
            QVERIFY2(!ids.contains(QString::fromStdString(l.id)), l.id.c_str());
            ids.insert(QString::fromStdString(l.id));
        }
    }

    void everyLessonPlaysAndItsChecksHold_data()
    {
        QTest::addColumn<QString>("file");
        for (const auto& f : lessonFiles(lessonsDir().toStdString()))
            QTest::newRow(QFileInfo(QString::fromStdString(f)).baseName().toUtf8().constData())
                << QString::fromStdString(f);
    }
    void everyLessonPlaysAndItsChecksHold()
    {
        QFETCH(QString, file);
        const QString model = findDefaultModel();
        if (model.isEmpty())
            QSKIP("the bundled model resources/models/logitscope-brown is missing");
        const Lesson lesson = loadLessonFile(file.toStdString());
        if (!lesson.model.empty())
            QSKIP("the lesson names its own model; only bundled-model lessons are checked here");
        LessonPlayer player(lesson, model.toStdString());
        int checks = 0;
        while (!player.done()) {
            const StepOutcome o = player.playNext();
            const QString where = QStringLiteral("%1 step %2 (%3)")
                                      .arg(QString::fromStdString(lesson.id))
                                      .arg(o.index + 1)
                                      .arg(lessonActionName(lesson.steps[size_t(o.index)].action));
            QVERIFY2(o.error.empty(), qPrintable(where + ": " + QString::fromStdString(o.error)));
            QVERIFY2(!o.reportHtml.empty() || lesson.steps[size_t(o.index)].action == LessonAction::ShowPanel
                         || lesson.steps[size_t(o.index)].action == LessonAction::Set,
                     qPrintable(where + ": empty report"));
            if (!o.hasCheck)
                continue;
            ++checks;
            // Nothing a bundled lesson claims may be skipped: all it needs is bundled (no ../shared).
            QVERIFY2(o.check.passed(), qPrintable(where + " check " + checkStatusName(o.check.status) + ": "
                                                  + QString::fromStdString(o.check.detail)));
            qInfo("%s: %s", qPrintable(where), o.check.detail.c_str());
        }
        QVERIFY2(checks > 0, "a bundled lesson should claim at least one observation");
    }

    void bundledSecondTokenizerIsByteLevelBpe()
    {
        // resources/tokenizers/brown-byte-bpe (tools/train/train_bpe.py): small, byte-level, lossless.
        const QFileInfo file(bundledTokenizerPath());
        QVERIFY2(file.exists(), qPrintable(file.filePath()));
        QVERIFY2(file.size() < 300 * 1024, qPrintable(QString::number(file.size())));
        const auto tok = logitscope::loadTokenizerFile(file.filePath().toStdString());
        QCOMPARE(QString::fromStdString(tok->kind()), QStringLiteral("byte-bpe"));
        const auto* bpe = dynamic_cast<const logitscope::ByteBpeTokenizer*>(tok.get());
        QVERIFY(bpe && bpe->byteLevel());
        QVERIFY2(tok->vocabSize() >= 2000 && tok->vocabSize() <= 4096, qPrintable(QString::number(tok->vocabSize())));
        QCOMPARE(int(bpe->mergeCount()), tok->vocabSize() - 256 - 1);   // bytes + merges + <|endoftext|>
        QVERIFY(tok->isSpecial(tok->findToken("<|endoftext|>")));
        logitscope::EncodeOptions raw;
        raw.addSpecial = false;
        for (const char* text : {"Zürich €", "The committee members thought the afternoon meeting was extraordinary.",
                                 "Naïve café owners in Zürich paid 1,961 €.", "  two  spaces,\ta tab\nand a line",
                                 "don't 日本語 🙂", ""}) {
            const auto ids = tok->encode(text, raw);
            QCOMPARE(QString::fromStdString(tok->decode(ids)), QString::fromUtf8(text));
        }
        // What lesson 1 says about it: committee -> Ġcomm|ittee, extraordinary -> Ġext|ra|ord|inary, 14 tokens.
        QStringList pieces;
        for (int32_t id : tok->encode("The committee members thought the afternoon meeting was extraordinary.", raw))
            pieces << QString::fromStdString(tok->piece(id));
        QCOMPARE(pieces.join(QLatin1Char('|')),
                 QStringLiteral("The|Ġcomm|ittee|Ġmembers|Ġthought|Ġthe|Ġafternoon|Ġmeeting|Ġwas|Ġext|ra|ord|inary|."));
    }

    void tokenizationLessonComparesWithoutShared()
    {
        const QString model = findDefaultModel();
        if (model.isEmpty())
            QSKIP("no bundled model");
        QTemporaryDir empty;
        QVERIFY(empty.isValid());
        const ScopedEnv noShared("LOGITSCOPE_SHARED_DIR", empty.path().toUtf8());
        const QString source = QDir(lessonsDir()).filePath(QStringLiteral("01-tokenization.json"));
        // The bundled file (tokenizer found beside the lessons) and a copy elsewhere (found through $DATA/).
        const QString copy = empty.filePath(QStringLiteral("my-tokenization.json"));
        QVERIFY(QFile::copy(source, copy));
        for (const QString& file : {source, copy}) {
            LessonPlayer player(loadLessonFile(file.toStdString()), model.toStdString());
            int compared = 0;
            while (!player.done()) {
                const StepOutcome o = player.playNext();
                const LessonStep& step = player.lesson().steps[size_t(o.index)];
                QVERIFY2(o.error.empty(), o.error.c_str());
                if (step.action != LessonAction::Tokenize)
                    continue;
                const TokenizeResult& t = player.tokenizations().back();
                QVERIFY2(t.second.available, qPrintable(file + ": " + QString::fromStdString(t.second.note)));
                QVERIFY2(t.second.label.find("byte-bpe") != std::string::npos, t.second.label.c_str());
                if (o.hasCheck && step.check.args.dump().find("second") != std::string::npos) {
                    ++compared;
                    QVERIFY2(o.check.passed(), qPrintable(QStringLiteral("%1: %2 %3").arg(file, checkStatusName(o.check.status),
                                                                                       QString::fromStdString(o.check.detail))));
                }
            }
            QCOMPARE(compared, 1);
        }
    }

    void chatLessonUsesTheModelsTemplate()
    {
        if (findDefaultModel().isEmpty())
            QSKIP("no bundled model");
        QTemporaryDir tmp;
        QVERIFY(tmp.isValid());
        const QString model = modelWithChatTemplate(tmp, QStringLiteral("chatml"), kChatml);
        QVERIFY(!model.isEmpty());
        StepOutcome o;
        const auto player = playChatLesson(tmp, model, o);
        QVERIFY2(o.error.empty(), o.error.c_str());
        QVERIFY(o.check.passed());
        const std::string templated = "<|im_start|>user\nIt was the first time that the<|im_end|>\n<|im_start|>assistant\n";
        QCOMPARE(QString::fromStdString(player->promptText()), QString::fromStdString(templated));
        QCOMPARE(QString::fromStdString(player->chatFamily()), QStringLiteral("chatml"));
        QVERIFY(player->chatNote().empty());
        // What was read is the templated text, and the panel shows it.
        const auto& tok = player->session()->model().tokenizer();
        QVERIFY(player->session()->promptIds() == tok.encode(templated));
        QVERIFY(player->session()->promptIds().size() > tok.encode("It was the first time that the").size());
        QVERIFY2(o.reportHtml.find("Chat template") != std::string::npos, o.reportHtml.c_str());
        QVERIFY2(o.reportHtml.find(lessonHtmlEscape(templated)) != std::string::npos, o.reportHtml.c_str());
    }

    void chatLessonInTheWindowTicksChatTemplate()
    {
        // In the app the lesson's "chat" reaches the controller and the Prompt panel's checkbox, so the
        // ordinary panels read the same templated prompt as the lesson.
        if (findDefaultModel().isEmpty())
            QSKIP("no bundled model");
        QTemporaryDir tmp;
        QVERIFY(tmp.isValid());
        QVERIFY(!modelWithChatTemplate(tmp, QStringLiteral("chatml"), kChatml).isEmpty());
        const QString file = writeChatLesson(tmp, "chatml");
        InferenceController controller;
        MainWindow window(&controller, MainWindow::Options{false});
        auto* panel = window.findChild<LessonsPanel*>();
        QVERIFY(panel);
        LessonRunner* runner = panel->runner();
        QVERIFY(runner->addLessonFile(file));
        QSignalSpy played(runner, &LessonRunner::stepPlayed);
        runner->start(runner->indexOf(QStringLiteral("chat")));
        QTRY_VERIFY_WITH_TIMEOUT(controller.hasModel() && !runner->busy() && !controller.isBusy(), 60000);
        runner->next();
        QTRY_COMPARE_WITH_TIMEOUT(played.count(), 1, 60000);
        QTRY_VERIFY_WITH_TIMEOUT(controller.isPrefilled() && !runner->busy() && !controller.isBusy(), 60000);
        QVERIFY(controller.chatTemplate());
        QCheckBox* chat = nullptr;
        for (auto* box : window.promptPanel()->findChildren<QCheckBox*>())
            if (box->text() == QLatin1String("Chat template"))
                chat = box;
        QVERIFY(chat && chat->isChecked());
        const auto tok = logitscope::loadTokenizerFromFolder(tmp.filePath(QStringLiteral("chatml")).toStdString());
        const std::string templated = "<|im_start|>user\nIt was the first time that the<|im_end|>\n<|im_start|>assistant\n";
        QTRY_COMPARE_WITH_TIMEOUT(controller.promptTokenCount(), int(tok->encode(templated).size()), 10000);
        QVERIFY(played.last().at(1).toString().contains(QStringLiteral("Chat template")));
    }

    void prefillLessonColoursThePromptByProbability()
    {
        // Lesson 2's second step points at "token-probabilities": the Prompt panel's chips take the colour
        // of the prefill's scores.
        if (findDefaultModel().isEmpty())
            QSKIP("no bundled model");
        InferenceController controller;
        MainWindow window(&controller, MainWindow::Options{false});
        LessonRunner* runner = window.findChild<LessonsPanel*>()->runner();
        QSignalSpy played(runner, &LessonRunner::stepPlayed);
        runner->start(runner->indexOf(QStringLiteral("prefill-decode")));
        QTRY_VERIFY_WITH_TIMEOUT(controller.hasModel() && !runner->busy() && !controller.isBusy(), 60000);
        QVERIFY(!window.promptPanel()->probabilitiesBox()->isChecked());
        for (int step = 1; step <= 2; ++step) {
            runner->next();
            QTRY_COMPARE_WITH_TIMEOUT(played.count(), step, 60000);
            QTRY_VERIFY_WITH_TIMEOUT(!runner->busy() && !controller.isBusy(), 60000);
        }
        QVERIFY(window.promptPanel()->probabilitiesBox()->isChecked());
        QTRY_VERIFY_WITH_TIMEOUT(controller.promptTokens()->scoresShown(), 10000);
        QVERIFY(controller.promptTokens()->probabilityColours());
        QVERIFY(window.promptPanel()->scoreSummary().contains(QStringLiteral("perplexity")));
    }

    void chatLessonWithoutATemplateSaysSo_data()
    {
        QTest::addColumn<QString>("name");
        QTest::addColumn<QString>("chatTemplate");   // "(bundled)": the bundled model as it is
        QTest::addColumn<QString>("note");
        QTest::newRow("no template") << QStringLiteral("plain") << QString() << QStringLiteral("this model has none");
        // The bundled model's template only joins the messages' text: no family Logitscope knows.
        QTest::newRow("unrecognised template") << QStringLiteral("bundled") << QStringLiteral("(bundled)")
                                               << QStringLiteral("does not recognise");
    }
    void chatLessonWithoutATemplateSaysSo()
    {
        QFETCH(QString, name);
        QFETCH(QString, chatTemplate);
        QFETCH(QString, note);
        if (findDefaultModel().isEmpty())
            QSKIP("no bundled model");
        QTemporaryDir tmp;
        QVERIFY(tmp.isValid());
        const QString model = chatTemplate == QLatin1String("(bundled)")
                                  ? findDefaultModel()
                                  : modelWithChatTemplate(tmp, name, chatTemplate.toStdString());
        QVERIFY(!model.isEmpty());
        StepOutcome o;
        const auto player = playChatLesson(tmp, model, o);
        QVERIFY2(o.error.empty(), o.error.c_str());
        QVERIFY(o.check.passed());
        const std::string prompt = "It was the first time that the";
        QCOMPARE(QString::fromStdString(player->promptText()), QString::fromStdString(prompt));   // the raw prompt ...
        QVERIFY(player->session()->promptIds() == player->session()->model().tokenizer().encode(prompt));
        QVERIFY2(QString::fromStdString(player->chatNote()).contains(note), player->chatNote().c_str());   // ... and why
        QVERIFY2(o.reportHtml.find("Note:") != std::string::npos, o.reportHtml.c_str());
        QVERIFY2(o.reportHtml.find(lessonHtmlEscape(player->chatNote())) != std::string::npos, o.reportHtml.c_str());
    }

    void temperatureLanesDifferInEntropy()
    {
        // The temperature lesson's central claim, checked independently of its own "check" entries.
        const QString model = findDefaultModel();
        if (model.isEmpty())
            QSKIP("no bundled model");
        LessonPlayer player(bundledLesson("04-temperature.json"), model.toStdString());
        player.playNext();   // prefill: three lanes at the same step
        QCOMPARE(player.laneCount(), 3);
        LessonCheck up{"entropy_order", {{"kind", "entropy_order"}, {"lanes", {0, 1, 2}}, {"direction", "increasing"}}, ""};
        QVERIFY(player.evaluate(up).passed());
        LessonCheck down{"entropy_order", {{"kind", "entropy_order"}, {"lanes", {0, 1, 2}}, {"direction", "decreasing"}}, ""};
        QCOMPARE(player.evaluate(down).status, CheckResult::Status::Fail);
        LessonCheck raw{"entropy_order",
                        {{"kind", "entropy_order"}, {"lanes", {0, 2}}, {"direction", "increasing"}, {"stage", "raw"}}, ""};
        QCOMPARE(player.evaluate(raw).status, CheckResult::Status::Fail);   // same model output in every lane
    }

    void weightPrecisionTableGivesThePromptsPerplexity()
    {
        // Lesson 12's table: each copy's prompt perplexity is what a Session of that copy computes.
        const QString model = findDefaultModel();
        if (model.isEmpty())
            QSKIP("no bundled model");
        LessonPlayer player(bundledLesson("12-quantization.json"), model.toStdString());
        player.playNext();   // prefill
        player.playNext();   // weight-precision
        QVERIFY(player.weightPrecision().has_value());
        const WeightPrecisionResult& r = *player.weightPrecision();
        const auto base = Model::load(model.toStdString());
        const auto perplexityOf = [&](std::shared_ptr<const Model> m) {
            Session s(m, createBackend(m, "cpu", 1));
            SamplingParams p;
            p.maxNewTokens = 1;
            return promptPerplexity(s.prefill(s.tokenize(player.promptText()), p).promptScores);
        };
        QVERIFY(std::fabs(r.promptPerplexity / perplexityOf(base) - 1) < 1e-4);
        QCOMPARE(r.rows.size(), size_t(3));
        for (const WeightPrecisionRow& row : r.rows) {
            const double want = perplexityOf(Model::requantized(base, weightTypesNamed(row.type)));
            QVERIFY2(std::fabs(row.promptPerplexity / want - 1) < 1e-4,
                     qPrintable(QString("%1: %2 vs %3").arg(QString::fromStdString(row.type)).arg(row.promptPerplexity).arg(want)));
        }
        QVERIFY(r.rows.back().promptPerplexity != r.promptPerplexity); // Q4_0 does change the numbers
    }

    void malformedLessonsNameTheField_data()
    {
        QTest::addColumn<QString>("json");
        QTest::addColumn<QString>("field");
        const QString ok = QStringLiteral(R"("id":"x","title":"t","prompt":"p")");
        QTest::newRow("not json") << QStringLiteral("{") << QStringLiteral("(file)");
        QTest::newRow("no id") << QStringLiteral(R"({"title":"t","prompt":"p","steps":[{"action":"step","text":"s"}]})")
                               << QStringLiteral("id: missing");
        QTest::newRow("no steps") << QStringLiteral("{%1}").arg(ok) << QStringLiteral("steps: missing");
        QTest::newRow("unknown top field") << QStringLiteral(R"({%1,"stepz":[]})").arg(ok) << QStringLiteral("stepz: unknown field");
        QTest::newRow("bad action")
            << QStringLiteral(R"({%1,"steps":[{"action":"jump","text":"s"}]})").arg(ok)
            << QStringLiteral("steps[0].action: unknown action \"jump\"");
        QTest::newRow("steps without count")
            << QStringLiteral(R"({%1,"steps":[{"action":"step","text":"a"},{"action":"steps","text":"s"}]})").arg(ok)
            << QStringLiteral("steps[1].action: \"steps\" needs a count");
        QTest::newRow("bad setting")
            << QStringLiteral(R"({%1,"settings":{"top_p":7},"steps":[{"action":"step","text":"s"}]})").arg(ok)
            << QStringLiteral("settings: sampling setting 'top_p'");
        QTest::newRow("bad lane setting")
            << QStringLiteral(R"({%1,"lanes":[{"label":"a","settings":{"temprature":1}}],"steps":[{"action":"step","text":"s"}]})").arg(ok)
            << QStringLiteral("lanes[0].settings: ");
        QTest::newRow("unknown check")
            << QStringLiteral(R"({%1,"steps":[{"action":"step","text":"s","check":{"kind":"entropy_ordr"}}]})").arg(ok)
            << QStringLiteral("steps[0].check.kind: unknown check \"entropy_ordr\"");
        QTest::newRow("check missing key")
            << QStringLiteral(R"({%1,"steps":[{"action":"step","text":"s","check":{"kind":"entropy_order","lanes":[0,1]}}]})").arg(ok)
            << QStringLiteral("steps[0].check.direction: missing");
        QTest::newRow("bad direction")
            << QStringLiteral(R"({%1,"steps":[{"action":"step","text":"s","check":{"kind":"entropy_order","lanes":[0,1],"direction":"up"}}]})").arg(ok)
            << QStringLiteral("steps[0].check.direction: must be");
        QTest::newRow("bad panel")
            << QStringLiteral(R"({%1,"steps":[{"action":"step","text":"s","panel":"heatmap"}]})").arg(ok)
            << QStringLiteral("steps[0].panel: unknown panel \"heatmap\"");
        QTest::newRow("sweep without lengths")
            << QStringLiteral(R"({%1,"steps":[{"action":"sweep-context","text":"s"}]})").arg(ok)
            << QStringLiteral("steps[0].args.lengths: missing");
        QTest::newRow("weight-precision without types")
            << QStringLiteral(R"({%1,"steps":[{"action":"weight-precision","text":"s"}]})").arg(ok)
            << QStringLiteral("steps[0].args.types: missing");
        QTest::newRow("weight-precision with an unknown type")
            << QStringLiteral(R"({%1,"steps":[{"action":"weight-precision","args":{"types":["q8_0","q3"]},"text":"s"}]})").arg(ok)
            << QStringLiteral("steps[0].args.types[1]: unknown weight type 'q3'");
        QTest::newRow("text missing")
            << QStringLiteral(R"({%1,"steps":[{"action":"step"}]})").arg(ok) << QStringLiteral("steps[0].text: missing");
    }
    void malformedLessonsNameTheField()
    {
        QFETCH(QString, json);
        QFETCH(QString, field);
        const QString message = QString::fromStdString(parseError(json.toStdString()));
        QVERIFY2(message.startsWith(QStringLiteral("bad.json: ")), qPrintable(message));
        QVERIFY2(message.contains(field), qPrintable(QStringLiteral("\"%1\" does not mention \"%2\"").arg(message, field)));
    }

    void runnerDrivesTheControllerAndThePanel()
    {
        const QString model = findDefaultModel();
        if (model.isEmpty())
            QSKIP("no bundled model");
        InferenceController controller;
        LessonRunner runner(&controller);
        QVERIFY(runner.loadDirectory(lessonsDir()) >= 11);
        QVERIFY(runner.loadErrors().isEmpty());
        LessonsPanel panel(&runner);
        const int lesson = runner.indexOf(QStringLiteral("length"));
        QVERIFY(lesson >= 0);
        QSignalSpy played(&runner, &LessonRunner::stepPlayed);
        runner.start(lesson);
        const int steps = int(runner.lessons()[size_t(lesson)].steps.size());
        for (int i = 0; i < steps; ++i) {
            QTRY_VERIFY_WITH_TIMEOUT(!runner.busy() && !controller.isBusy(), 60000);
            runner.next();
            QTRY_COMPARE_WITH_TIMEOUT(played.count(), i + 1, 60000);
            const int status = played.last().at(2).toInt();
            QVERIFY2(status == int(CheckResult::Status::Pass) || status == -1,
                     qPrintable(played.last().at(3).toString() + played.last().at(4).toString()));
        }
        QTRY_VERIFY_WITH_TIMEOUT(!runner.busy() && !controller.isBusy(), 60000);
        // The controller mirrored the lesson: prompt read and lane 0 ("max 8") stepped until it finished.
        QVERIFY(controller.isPrefilled());
        QCOMPARE(controller.prompt(), QStringLiteral("It was the first time that the"));
        QCOMPARE(controller.generatedCount(), 8);
        QVERIFY(panel.checkText().contains(QStringLiteral("✓")));
        // Back replays up to the previous step.
        runner.back();
        QTRY_VERIFY_WITH_TIMEOUT(!runner.busy(), 60000);
        QCOMPARE(runner.currentStep(), steps - 2);
    }
};

int main(int argc, char** argv)
{
    QApplication app(argc, argv);
    TestLessons t;
    return QTest::qExec(&t, argc, argv);
}

#include "tst_lessons.moc"
