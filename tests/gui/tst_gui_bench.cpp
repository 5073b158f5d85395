// Benchmark (label `bench`): the time from a temperature-slider change to the repainted probability
// bars (median and worst of 200 changes), and the UI's frame time while generating at full speed.
// Target: under 16 ms, and the UI never frozen. Also the Prompt panel's second tokenizer, which splits
// on the UI thread: a 20,000-character prompt under 30 ms. Prints the figures; fails when a target is missed.
#include "main_window.h"
#include "models/inference_controller.h"
#include "models/prompt_tokens_model.h"
#include "models/tokenizer_comparison.h"
#include "panels/probability_panel.h"
#include "panels/prompt_panel.h"
#include "panels/sampling_panel.h"
#include "panels/token_chip_view.h"
#include "test_model.h"

#include "model/model.h"
#include "tokenizer/tokenizer.h"

#include <QAction>
#include <QElapsedTimer>
#include <QFile>
#include <QSlider>
#include <QtTest>

#include <algorithm>

using namespace logitscope;
using namespace logitscope::gui;

namespace {

constexpr int kTimeout = 30000;

struct Stats {
    double median = 0, p95 = 0, worst = 0;
};

Stats stats(std::vector<double> v)
{
    Stats s;
    if (v.empty())
        return s;
    std::sort(v.begin(), v.end());
    s.median = v[v.size() / 2];
    s.p95 = v[std::min(v.size() - 1, size_t(v.size() * 0.95))];
    s.worst = v.back();
    return s;
}

} // namespace

class TstGuiBench : public QObject {
    Q_OBJECT
private:
    InferenceController* m_controller = nullptr;
    MainWindow* m_window = nullptr;

private slots:
    void initTestCase()
    {
        QStandardPaths::setTestModeEnabled(true);
        REQUIRE_TEST_MODEL(path);
        m_controller = new InferenceController;
        m_window = new MainWindow(m_controller, MainWindow::Options{false});
        m_window->show();
        QSignalSpy loaded(m_controller, &InferenceController::modelLoadFinished);
        m_controller->loadModel(path, QStringLiteral("cpu"));
        QTRY_COMPARE_WITH_TIMEOUT(loaded.count(), 1, kTimeout);
        qInfo("model: %s on %s", qPrintable(m_controller->modelInfo().name), qPrintable(m_controller->modelInfo().device));
    }

    void cleanupTestCase()
    {
        delete m_window;
        delete m_controller;
    }

    void sliderToRepaintedBars()
    {
        auto* c = m_controller;
        m_window->promptPanel()->setPromptText(QStringLiteral("The old man looked at the river and"));
        QTRY_VERIFY_WITH_TIMEOUT(c->promptTokenCount() > 0, kTimeout);
        c->step();
        QTRY_VERIFY_WITH_TIMEOUT(c->isPrefilled() && c->preview().has_value() && !c->isBusy(), kTimeout);

        QSlider* slider = m_window->samplingPanel()->temperatureSlider();
        ProbabilityPlot* plot = m_window->probabilityPanel()->plot();
        std::vector<double> ms;
        QElapsedTimer clock;
        bool painted = false;
        auto conn = connect(plot, &ProbabilityPlot::painted, this, [&] { painted = true; });
        for (int i = 0; i < 200; ++i) {
            const int v = 20 + (i * 37) % 180; // 0.20 … 1.99, never the same twice in a row
            painted = false;
            clock.start();
            slider->setValue(v == slider->value() ? v + 1 : v);
            while (!painted && clock.elapsed() < 5000)
                QCoreApplication::processEvents(QEventLoop::AllEvents, 1);
            QVERIFY2(painted, "the bars were not repainted");
            ms.push_back(clock.nsecsElapsed() / 1e6);
        }
        disconnect(conn);
        const Stats s = stats(ms);
        qInfo("slider -> repainted bars over 200 changes: median %.2f ms, p95 %.2f ms, worst %.2f ms", s.median, s.p95,
              s.worst);
        QVERIFY2(s.median < 16.0, "median slider-to-bars latency over one frame (16 ms)");
    }

    void secondTokenizerOnLongPrompt()
    {
        // What the panel does on the UI thread when the model's split of a prompt arrives with
        // "Compare with:" on: encode with the second tokenizer, build the rows, lay out the chips.
        QFile guide(QStringLiteral(LOGITSCOPE_SOURCE_DIR "/docs/user-guide.md"));
        QVERIFY(guide.open(QIODevice::ReadOnly));
        QString text = QString::fromUtf8(guide.readAll());
        while (text.size() < 20000)
            text += text;
        text.truncate(20000);
        TokenizerComparison comparison;
        QString error;
        QVERIFY2(comparison.openBundled(&error), qPrintable(error));
        TokenChipView view;
        view.setModel(comparison.tokens());
        view.resize(900, 600);
        view.show();
        std::vector<double> ms, modelMs;
        const auto& modelTok = m_controller->vocabulary().model()->tokenizer();
        for (int i = 0; i < 21; ++i) {
            const QString edited = text.left(text.size() - 1 - i % 2); // as if typing: the text changes each time
            QElapsedTimer clock;
            clock.start();
            comparison.setText(edited, m_controller->vocabulary(), m_controller->promptTokens()->tokens());
            ms.push_back(clock.nsecsElapsed() / 1e6);
            clock.start();
            (void)modelTok.encode(edited.toStdString());
            modelMs.push_back(clock.nsecsElapsed() / 1e6);
        }
        const Stats s = stats(ms), m = stats(modelMs);
        qInfo("second tokenizer on a %lld-character prompt (%d tokens): median %.2f ms, worst %.2f ms on the UI thread "
              "(the model's own tokenizer encodes it in %.2f ms, on a pool thread)",
              qlonglong(text.size()), comparison.tokens()->rowCount(), s.median, s.worst, m.median);
        QVERIFY2(s.median < 30.0, "the second tokenizer takes over 30 ms on a 20,000-character prompt: move it off the UI thread");
    }

    void frameTimeWhileGenerating()
    {
        auto* c = m_controller;
        SamplingParams p = c->sampling();
        p.temperature = 1.0;
        p.minNewTokens = 300;
        p.maxNewTokens = 300;
        c->setSampling(p);
        c->reset();
        QTRY_VERIFY_WITH_TIMEOUT(!c->isBusy(), kTimeout);
        c->run(); // reads the prompt, then runs
        QTRY_VERIFY_WITH_TIMEOUT(c->isRunning(), kTimeout);

        // A 16 ms "vsync" timer repaints the whole window synchronously: its cost is the frame time,
        // and the gap between ticks shows whether the event loop ever stalls.
        std::vector<double> frames, gaps;
        QElapsedTimer sinceLast, total;
        sinceLast.start();
        total.start();
        QTimer vsync;
        vsync.setInterval(16);
        connect(&vsync, &QTimer::timeout, this, [&] {
            gaps.push_back(sinceLast.nsecsElapsed() / 1e6);
            QElapsedTimer f;
            f.start();
            m_window->repaint();
            frames.push_back(f.nsecsElapsed() / 1e6);
            sinceLast.restart();
        });
        vsync.start();
        const int startCount = c->generatedCount();
        while ((c->isRunning() || c->isBusy()) && total.elapsed() < 60000)
            QCoreApplication::processEvents(QEventLoop::AllEvents, 5);
        vsync.stop();
        const int produced = c->generatedCount() - startCount;
        const double seconds = total.elapsed() / 1000.0;
        const Stats f = stats(frames), g = stats(gaps);
        qInfo("while generating %d tokens in %.2f s (%.0f tok/s): frame (full window repaint) median %.2f ms, "
              "p95 %.2f ms, worst %.2f ms; event-loop tick gap median %.2f ms, worst %.2f ms (16 ms timer)",
              produced, seconds, produced / seconds, f.median, f.p95, f.worst, g.median, g.worst);
        QVERIFY(produced > 50);
        // Frame cost depends on the machine's load (a shared CI runner can double it): reported, and
        // flagged when over a frame, but only a frozen event loop fails the test.
        if (f.median >= 16.0)
            qWarning("TARGET MISSED: median frame time %.2f ms is over one 60 Hz frame (16 ms)", f.median);
        QVERIFY2(g.worst < 250.0, "the UI froze (event loop stalled for over 250 ms)");
    }
};

QTEST_MAIN(TstGuiBench)
#include "tst_gui_bench.moc"
