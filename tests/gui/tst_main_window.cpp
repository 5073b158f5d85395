// The window as a user meets it (offscreen): the temperature slider re-draws the bars with what the
// engine's chain computes, an invalid setting is reported next to its control, a corrupt model file
// shows an error and leaves the window usable, and closing the window mid-generation exits cleanly.
#include "main_window.h"
#include "models/generated_tokens_model.h"
#include "models/inference_controller.h"
#include "panels/model_panel.h"
#include "panels/probability_panel.h"
#include "panels/prompt_panel.h"
#include "panels/sampling_panel.h"
#include "test_model.h"

#include "decoding/session.h"
#include "model/backend.h"
#include "model/model.h"

#include <QAction>
#include <QPlainTextEdit>
#include <QDoubleSpinBox>
#include <QElapsedTimer>
#include <QSlider>
#include <QTemporaryDir>
#include <QtTest>

#include <cmath>

using namespace logitscope;
using namespace logitscope::gui;

namespace {

constexpr int kTimeout = 30000;
const QString kPrompt = QStringLiteral("The old man looked at the river and");

void loadAndRead(MainWindow& w, const QString& path)
{
    auto* c = w.controller();
    QSignalSpy loaded(c, &InferenceController::modelLoadFinished);
    c->loadModel(path, QStringLiteral("cpu"));
    QTRY_COMPARE_WITH_TIMEOUT(loaded.count(), 1, kTimeout);
    w.promptPanel()->setPromptText(kPrompt);
    QTRY_VERIFY_WITH_TIMEOUT(c->promptTokenCount() > 0, kTimeout);
    QTRY_VERIFY_WITH_TIMEOUT(w.stepAction()->isEnabled(), kTimeout);
    w.stepAction()->trigger(); // "Read prompt"
    QTRY_VERIFY_WITH_TIMEOUT(c->isPrefilled() && c->preview().has_value() && !c->isBusy(), kTimeout);
}

} // namespace

class TstMainWindow : public QObject {
    Q_OBJECT
private slots:
    void initTestCase()
    {
        QStandardPaths::setTestModeEnabled(true);
    }

    void temperatureSliderRedrawsBars()
    {
        REQUIRE_TEST_MODEL(path);
        InferenceController controller;
        MainWindow w(&controller, MainWindow::Options{false});
        w.show();
        loadAndRead(w, path);

        auto model = Model::load(path.toStdString());
        Session session(model, createBackend(model, "cpu", 1));
        session.prefill(session.tokenize(kPrompt.toStdString()), SamplingParams{});
        const std::vector<float> logits = session.currentLogits(0);

        ProbabilityPanel* bars = w.probabilityPanel();
        const QVector<double> rawBefore = bars->rawValues();
        QSlider* slider = w.samplingPanel()->temperatureSlider();
        QVERIFY(slider);
        for (int v : {50, 150, 30}) {
            const double t = v / 100.0;
            slider->setValue(v);
            double mx = -INFINITY;
            for (float l : logits)
                mx = std::max(mx, double(l) / t);
            double z = 0;
            for (float l : logits)
                z += std::exp(double(l) / t - mx);
            auto matches = [&] {
                const auto& shown = bars->shown();
                const QVector<double> fin = bars->finalValues();
                // the raw top 20, plus the chosen token when the draw picked one outside them
                if (shown.bars.size() < 20 || fin.size() != shown.bars.size())
                    return false;
                for (int i = 0; i < fin.size(); ++i) {
                    const double expected = std::exp(double(logits[size_t(shown.bars[i].id)]) / t - mx) / z;
                    if (std::abs(fin[i] - expected) > 1e-5)
                        return false;
                }
                return true;
            };
            QTRY_VERIFY_WITH_TIMEOUT(matches(), kTimeout);
            // the raw bars do not move with the temperature
            const QVector<double> raw = bars->rawValues();
            for (int i = 0; i < 20; ++i)
                QCOMPARE_LE(std::abs(raw[i] - rawBefore[i]), 1e-9);
        }
    }

    void invalidSettingShownNextToControl()
    {
        REQUIRE_TEST_MODEL(path);
        InferenceController controller;
        MainWindow w(&controller, MainWindow::Options{false});
        w.show();
        loadAndRead(w, path);
        const double before = controller.sampling().topP;
        const auto topP = w.samplingPanel()->findChildren<QDoubleSpinBox*>();
        QDoubleSpinBox* spin = nullptr;
        for (auto* s : topP)
            if (s->toolTip().contains(QStringLiteral("Nucleus")))
                spin = s;
        QVERIFY(spin);
        spin->setValue(0.0); // top_p must be in (0, 1]
        QTRY_VERIFY_WITH_TIMEOUT(!w.samplingPanel()->errorFor(QStringLiteral("top_p")).isEmpty(), kTimeout);
        QCOMPARE(controller.sampling().topP, before); // nothing applied
        spin->setValue(0.9);
        QTRY_VERIFY_WITH_TIMEOUT(w.samplingPanel()->errorFor(QStringLiteral("top_p")).isEmpty(), kTimeout);
        QCOMPARE(controller.sampling().topP, 0.9);
    }

    void corruptModelShowsErrorAndWindowStaysUsable()
    {
        QTemporaryDir dir;
        const QString bad = dir.filePath(QStringLiteral("broken.gguf"));
        QFile f(bad);
        QVERIFY(f.open(QIODevice::WriteOnly));
        f.write(QByteArray(4096, '\x7f'));
        f.close();

        InferenceController controller;
        MainWindow w(&controller, MainWindow::Options{false});
        w.show();
        controller.loadModel(bad, QStringLiteral("cpu"));
        QTRY_VERIFY_WITH_TIMEOUT(!w.modelPanel()->errorText().isEmpty(), kTimeout);
        QVERIFY(w.isVisible());
        QVERIFY(!controller.isBusy());
        QVERIFY(!w.stepAction()->isEnabled());
        w.stepAction()->trigger(); // harmless without a model
        controller.step();

        REQUIRE_TEST_MODEL(path);
        loadAndRead(w, path);
        QVERIFY(w.modelPanel()->errorText().isEmpty());
        w.stepAction()->trigger();
        QTRY_COMPARE_WITH_TIMEOUT(controller.generatedCount(), 1, kTimeout);
    }

    void shortcutsLeaveTypingAlone()
    {
        REQUIRE_TEST_MODEL(path);
        InferenceController controller;
        MainWindow w(&controller, MainWindow::Options{false});
        w.show();
        QApplication::setActiveWindow(&w);
        QVERIFY(QTest::qWaitForWindowActive(&w));
        loadAndRead(w, path);
        // Space and Backspace typed into the prompt edit the text; they do not step or rewind.
        auto* editor = w.promptPanel()->editor();
        editor->setFocus();
        editor->moveCursor(QTextCursor::End);
        QTest::keyClick(editor, Qt::Key_Space);
        QTest::keyClick(editor, Qt::Key_Backspace);
        QTest::qWait(50);
        QCOMPARE(w.promptPanel()->promptText(), kPrompt);
        QCOMPARE(controller.generatedCount(), 0);
        // Elsewhere, Space steps and Backspace rewinds.
        w.probabilityPanel()->setFocus();
        QTest::keyClick(&w, Qt::Key_Space);
        QTRY_COMPARE_WITH_TIMEOUT(controller.generatedCount(), 1, kTimeout);
        QTRY_VERIFY_WITH_TIMEOUT(!controller.isBusy(), kTimeout);
        QTest::keyClick(&w, Qt::Key_Backspace);
        QTRY_COMPARE_WITH_TIMEOUT(controller.generatedCount(), 0, kTimeout);
    }

    void closeMidGenerationExitsCleanly()
    {
        REQUIRE_TEST_MODEL(path);
        auto* controller = new InferenceController;
        auto* w = new MainWindow(controller, MainWindow::Options{false});
        w->show();
        SamplingParams p;
        p.minNewTokens = 400;
        p.maxNewTokens = 400;
        controller->setSampling(p);
        loadAndRead(*w, path);
        w->runAction()->trigger();
        QTRY_VERIFY_WITH_TIMEOUT(controller->generatedCount() > 5, kTimeout);
        QVERIFY(controller->isRunning());
        QCOMPARE(w->runAction()->text(), QStringLiteral("Pause"));
        QElapsedTimer clock;
        clock.start();
        QVERIFY(w->close());
        delete w;
        delete controller;
        QVERIFY2(clock.elapsed() < 5000, qPrintable(QString("took %1 ms").arg(clock.elapsed())));
    }
};

QTEST_MAIN(TstMainWindow)
#include "tst_main_window.moc"
