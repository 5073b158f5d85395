// logitscope: the desktop application. Parses the command line, finds the bundled default model,
// opens the window, or (with --screenshot-dir) renders the window and panels to PNG and exits.
// The command line is parsed and checked before Qt opens a display: --help and bad options work (rc 0 /
// rc 2) on a machine without one.
#include "main_window.h"
#include "models/inference_controller.h"
#include "models/model_locator.h"
#include "panels/lesson_screenshots.h"
#include "panels/lessons_panel.h"
#include "panels/model_panel.h"
#include "panels/prompt_panel.h"
#include "screenshot.h"

#include "common/quantize.h"
#include "model/thread_pool.h"

#include <QApplication>
#include <QCommandLineParser>
#include <QFont>
#include <QTimer>

#include <cstdio>
#include <exception>

namespace {

int refuse(const QString& option, const QString& what)
{
    std::fprintf(stderr, "logitscope: %s: %s\n", qPrintable(option), qPrintable(what));
    return 2;
}

} // namespace

int main(int argc, char** argv)
{
    using namespace logitscope::gui;
    QStringList arguments;
    for (int i = 0; i < argc; ++i)
        arguments << QString::fromLocal8Bit(argv[i]);

    QCommandLineParser parser;
    parser.setApplicationDescription(QStringLiteral("Watch a language model generate text, one token at a time."));
    const QCommandLineOption helpOpt = parser.addHelpOption();
    const QCommandLineOption versionOpt = parser.addVersionOption();
    QCommandLineOption modelOpt(QStringLiteral("model"), QStringLiteral("Open this GGUF file or Hugging Face folder."),
                                QStringLiteral("PATH"));
    QCommandLineOption deviceOpt(QStringLiteral("device"), QStringLiteral("auto (default), cpu or cuda."),
                                 QStringLiteral("DEVICE"), QStringLiteral("auto"));
    QCommandLineOption threadsOpt(QStringLiteral("threads"),
                                  QStringLiteral("CPU threads (default: LOGITSCOPE_THREADS, else every core; at most "
                                                 "4 x the cores)."),
                                  QStringLiteral("N"), QStringLiteral("0"));
    QCommandLineOption shotsOpt(QStringLiteral("screenshot-dir"),
                                QStringLiteral("Render the window and every panel to PNG files in DIR, then exit."),
                                QStringLiteral("DIR"));
    QCommandLineOption promptOpt(QStringLiteral("prompt"), QStringLiteral("Start with this prompt."), QStringLiteral("S"));
    QCommandLineOption stepsOpt(QStringLiteral("steps"), QStringLiteral("Tokens to generate for screenshots (1 to 512, "
                                                                        "default 12)."),
                                QStringLiteral("N"), QStringLiteral("12"));
    QCommandLineOption lessonOpt(QStringLiteral("lesson"),
                                 QStringLiteral("Open lesson ID (its id or number) in the Lessons panel. With "
                                                "--screenshot-dir: play it (or \"all\") and capture every step."),
                                 QStringLiteral("ID"));
    QCommandLineOption kvTypeOpt(QStringLiteral("kv-type"),
                                 QStringLiteral("How the CPU stores keys and values: f32 (default) or f16."),
                                 QStringLiteral("TYPE"), QStringLiteral("f32"));
    QCommandLineOption requantizeOpt(QStringLiteral("requantize"),
                                     QStringLiteral("Run the model's matrices quantized again in memory: q8_0, q6_k, "
                                                    "q5_k_m, q4_k_m, q4_0, q3_k, q2_k, ..."),
                                     QStringLiteral("TYPE"));
    parser.addOption(lessonOpt);
    parser.addOptions({modelOpt, deviceOpt, threadsOpt, kvTypeOpt, requantizeOpt, shotsOpt, promptOpt, stepsOpt});
    // Everything below runs before QApplication: without a display Qt would abort before printing usage.
    if (!parser.parse(arguments)) {
        std::fprintf(stderr, "logitscope: %s\n(logitscope --help lists the options)\n", qPrintable(parser.errorText()));
        return 2;
    }
    if (parser.isSet(helpOpt) || parser.isSet(QStringLiteral("help-all"))) {
        QString help = parser.helpText();
        help.replace(QStringLiteral("<executable_name>"), QStringLiteral("logitscope"));
        std::fputs(qPrintable(help), stdout);
        return 0;
    }
    if (parser.isSet(versionOpt)) {
        std::fputs("logitscope 0.1.0\n", stdout);
        return 0;
    }
    const QString kvType = parser.value(kvTypeOpt), requantize = parser.value(requantizeOpt);
    if (kvType != QLatin1String("f32") && kvType != QLatin1String("f16"))
        return refuse(QStringLiteral("--kv-type"), QStringLiteral("expected f32 or f16, got '%1'").arg(kvType));
    try {
        if (!requantize.isEmpty())
            logitscope::weightTypesNamed(requantize.toStdString());
    } catch (const std::exception& e) {
        return refuse(QStringLiteral("--requantize"), QString::fromUtf8(e.what()));
    }
    bool ok = false;
    const int steps = parser.value(stepsOpt).toInt(&ok);
    if (!ok || steps < 1 || steps > 512)
        return refuse(QStringLiteral("--steps"), QStringLiteral("expected a count from 1 to 512, got '%1'")
                                                     .arg(parser.value(stepsOpt)));
    int threads = 0;
    try {
        const qlonglong requested = parser.value(threadsOpt).toLongLong(&ok);
        if (!ok)
            return refuse(QStringLiteral("--threads"),
                          QStringLiteral("expected a thread count, got '%1'").arg(parser.value(threadsOpt)));
        threads = logitscope::ThreadPool::checkThreadCount(requested, "--threads");
        logitscope::ThreadPool::defaultThreadCount(); // LOGITSCOPE_THREADS, when set
    } catch (const std::exception& e) {
        std::fprintf(stderr, "logitscope: %s\n", e.what());
        return 2;
    }

    QApplication app(argc, argv);
    QApplication::setApplicationName(QStringLiteral("Logitscope"));
    QApplication::setOrganizationName(QStringLiteral("Logitscope"));
    QApplication::setApplicationVersion(QStringLiteral("0.1.0"));

    const bool screenshots = parser.isSet(shotsOpt);
    QFont font = QApplication::font();
    if (font.pointSizeF() > 0 && font.pointSizeF() < 10)
        font.setPointSizeF(10);
    QApplication::setFont(font);

    InferenceController controller;
    controller.setDefaultThreads(threads);
    MainWindow window(&controller, MainWindow::Options{!screenshots});
    QString model = parser.value(modelOpt);
    if (model.isEmpty()) {
        model = findDefaultModel();
        if (model.isEmpty()) // the "no model loaded" state says where the bundled model was looked for
            window.modelPanel()->setDefaultModelCandidates(defaultModelCandidates());
    }
    if (!model.isEmpty())
        controller.loadModel(model, parser.value(deviceOpt), threads, kvType, requantize);

    const QString prompt = parser.isSet(promptOpt) ? parser.value(promptOpt)
                                                   : QStringLiteral("It was the first time that the");
    window.show();

    if (screenshots && parser.isSet(lessonOpt)) {
        auto* shots = new LessonScreenshots(&window, &controller, parser.value(lessonOpt), parser.value(shotsOpt), &window);
        QObject::connect(shots, &LessonScreenshots::finished, &app, [](int code) { QApplication::exit(code); });
        QTimer::singleShot(0, shots, &LessonScreenshots::start);
        return app.exec();
    }
    if (screenshots) {
        auto* director = new ScreenshotDirector(&window, parser.value(shotsOpt), prompt, steps, &window);
        QObject::connect(director, &ScreenshotDirector::finished, &app, [](int code) { QApplication::exit(code); });
        director->start();
        return app.exec();
    }
    if (parser.isSet(promptOpt) || !model.isEmpty())
        window.promptPanel()->setPromptText(prompt);
    if (parser.isSet(lessonOpt)) {
        // Interactively: the lesson opens in its panel, as from the Lessons menu; the user steps through it.
        QString error;
        if (!openLesson(&window, parser.value(lessonOpt), &error))
            return refuse(QStringLiteral("--lesson"), error);
    }
    return app.exec();
}
