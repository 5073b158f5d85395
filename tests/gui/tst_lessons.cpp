// Lessons: every bundled lesson parses, plays through all its steps on the bundled model and every check it
// claims holds (skipped only where a part needs ../shared, e.g. the second tokenizer); malformed lesson
// files fail with a message naming the field; the runner drives the controller and the panel renders it.
#include "models/inference_controller.h"
#include "models/lesson.h"
#include "models/lesson_player.h"
#include "models/lesson_runner.h"
#include "models/model_locator.h"
#include "panels/lessons_panel.h"

#include <QApplication>
#include <QDir>
#include <QSignalSpy>
#include <QtTest>

using namespace logitscope::gui;

namespace {

QString lessonsDir()
{
    return QStringLiteral(LOGITSCOPE_SOURCE_DIR "/resources/lessons");
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
            if (o.check.status == CheckResult::Status::Skipped) {
                // Only comparisons with the optional second tokenizer may be skipped.
                QVERIFY2(lesson.steps[size_t(o.index)].check.args.dump().find("second") != std::string::npos,
                         qPrintable(where + " skipped: " + QString::fromStdString(o.check.detail)));
                qInfo("%s skipped: %s", qPrintable(where), o.check.detail.c_str());
                continue;
            }
            QVERIFY2(o.check.passed(), qPrintable(where + " check failed: " + QString::fromStdString(o.check.detail)));
        }
        QVERIFY2(checks > 0, "a bundled lesson should claim at least one observation");
    }

    void temperatureLanesDifferInEntropy()
    {
        // The temperature lesson's central claim, checked independently of its own "check" entries.
        const QString model = findDefaultModel();
        if (model.isEmpty())
            QSKIP("no bundled model");
        LessonPlayer player(loadLessonFile(QDir(lessonsDir()).filePath(QStringLiteral("04-temperature.json")).toStdString()),
                            model.toStdString());
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
