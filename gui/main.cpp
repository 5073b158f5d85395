// logitscope: the desktop application. Parses the command line, finds the bundled default model,
// opens the window, or (with --screenshot-dir) renders the window and panels to PNG and exits.
#include "main_window.h"
#include "models/inference_controller.h"
#include "models/model_locator.h"
#include "panels/lesson_screenshots.h"
#include "panels/model_panel.h"
#include "panels/prompt_panel.h"
#include "screenshot.h"

#include "common/quantize.h"

#include <QApplication>
#include <QCommandLineParser>
#include <QFont>
#include <QTimer>

#include <cstdio>
#include <exception>

int main(int argc, char** argv)
{
    using namespace logitscope::gui;
    QApplication app(argc, argv);
    QApplication::setApplicationName(QStringLiteral("Logitscope"));
    QApplication::setOrganizationName(QStringLiteral("Logitscope"));
    QApplication::setApplicationVersion(QStringLiteral("0.1.0"));

    QCommandLineParser parser;
    parser.setApplicationDescription(QStringLiteral("Watch a language model generate text, one token at a time."));
    parser.addHelpOption();
    parser.addVersionOption();
    QCommandLineOption modelOpt(QStringLiteral("model"), QStringLiteral("Open this GGUF file or Hugging Face folder."),
                                QStringLiteral("PATH"));
    QCommandLineOption deviceOpt(QStringLiteral("device"), QStringLiteral("auto (default), cpu or cuda."),
                                 QStringLiteral("DEVICE"), QStringLiteral("auto"));
    QCommandLineOption shotsOpt(QStringLiteral("screenshot-dir"),
                                QStringLiteral("Render the window and every panel to PNG files in DIR, then exit."),
                                QStringLiteral("DIR"));
    QCommandLineOption promptOpt(QStringLiteral("prompt"), QStringLiteral("Start with this prompt."), QStringLiteral("S"));
    QCommandLineOption stepsOpt(QStringLiteral("steps"), QStringLiteral("Tokens to generate for screenshots (default 12)."),
                                QStringLiteral("N"), QStringLiteral("12"));
    QCommandLineOption lessonOpt(QStringLiteral("lesson"),
                                 QStringLiteral("With --screenshot-dir: play lesson ID (or \"all\") and capture every step."),
                                 QStringLiteral("ID"));
    QCommandLineOption kvTypeOpt(QStringLiteral("kv-type"),
                                 QStringLiteral("How the CPU stores keys and values: f32 (default) or f16."),
                                 QStringLiteral("TYPE"), QStringLiteral("f32"));
    QCommandLineOption requantizeOpt(QStringLiteral("requantize"),
                                     QStringLiteral("Run the model's matrices quantized again in memory: q8_0, q6_k, "
                                                    "q5_k_m, q4_k_m, q4_0, q3_k, q2_k, ..."),
                                     QStringLiteral("TYPE"));
    parser.addOption(lessonOpt);
    parser.addOptions({modelOpt, deviceOpt, kvTypeOpt, requantizeOpt, shotsOpt, promptOpt, stepsOpt});
    parser.process(app);
    const QString kvType = parser.value(kvTypeOpt), requantize = parser.value(requantizeOpt);
    if (kvType != QLatin1String("f32") && kvType != QLatin1String("f16")) {
        std::fprintf(stderr, "logitscope: --kv-type: expected f32 or f16, got '%s'\n", qPrintable(kvType));
        return 2;
    }
    try {
        if (!requantize.isEmpty())
            logitscope::weightTypesNamed(requantize.toStdString());
    } catch (const std::exception& e) {
        std::fprintf(stderr, "logitscope: --requantize: %s\n", e.what());
        return 2;
    }

    const bool screenshots = parser.isSet(shotsOpt);
    QFont font = QApplication::font();
    if (font.pointSizeF() > 0 && font.pointSizeF() < 10)
        font.setPointSizeF(10);
    QApplication::setFont(font);

    InferenceController controller;
    MainWindow window(&controller, MainWindow::Options{!screenshots});
    QString model = parser.value(modelOpt);
    if (model.isEmpty()) {
        model = findDefaultModel();
        if (model.isEmpty()) // the "no model loaded" state says where the bundled model was looked for
            window.modelPanel()->setDefaultModelCandidates(defaultModelCandidates());
    }
    if (!model.isEmpty())
        controller.loadModel(model, parser.value(deviceOpt), 0, kvType, requantize);

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
        auto* director = new ScreenshotDirector(&window, parser.value(shotsOpt), prompt, parser.value(stepsOpt).toInt(),
                                                &window);
        QObject::connect(director, &ScreenshotDirector::finished, &app, [](int code) { QApplication::exit(code); });
        director->start();
        return app.exec();
    }
    if (parser.isSet(promptOpt) || !model.isEmpty())
        window.promptPanel()->setPromptText(prompt);
    return app.exec();
}
