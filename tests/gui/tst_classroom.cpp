// The rough edges a teacher meets, driven through the real window (offscreen): lanes that keep their own
// settings through step, save, reopen and the trace; T 0 drawn as the greedy limit; finish reasons;
// escaped token text; the View menu; invalid values; Run right after Reset. Not the engine's numbers
// (tests/decoding) nor the lessons' own checks (tst_lessons).
#include "main_window.h"
#include "models/generated_tokens_model.h"
#include "models/inference_controller.h"
#include "models/lane_comparison.h"
#include "models/lane_runner.h"
#include "models/session_file.h"
#include "models/session_store.h"
#include "models/trace_file.h"
#include "models/attention_model.h"
#include "models/token_display.h"
#include "models/embedding_model.h"
#include "models/measurements.h"
#include "models/sweeps.h"
#include "panels/attention_panel.h"
#include "panels/kv_cache_panel.h"
#include "panels/embedding_panel.h"
#include "panels/generated_panel.h"
#include "panels/probability_panel.h"
#include "panels/token_chip_view.h"
#include "models/lesson_runner.h"
#include "panels/lanes_panel.h"
#include "panels/lessons_panel.h"
#include "panels/prompt_panel.h"
#include "panels/sampling_panel.h"
#include "window_test.h"

#include "model/model.h"
#include "tokenizer/tokenizer.h"

#include <qcustomplot.h>

#include <QAction>
#include <QComboBox>
#include <QDockWidget>
#include <QDoubleSpinBox>
#include <QFile>
#include <QLabel>
#include <QLineEdit>
#include <QRegularExpression>
#include <QPaintEvent>
#include <QMessageBox>
#include <QProcess>
#include <QPushButton>
#include <QTimer>
#include <QSlider>
#include <QSpinBox>
#include <QStatusBar>
#include <QTextDocument>
#include <QMenuBar>
#include <QTemporaryDir>
#include <QtTest>

using namespace logitscope;
using namespace logitscope::gui;

namespace {

constexpr int kTimeout = 60000;
const QString kPrompt = QStringLiteral("The old man looked at the river and");

SamplingParams withTemperature(double t, uint64_t seed = 7)
{
    SamplingParams p;
    p.temperature = t;
    p.seed = seed;
    p.maxNewTokens = 64;
    return p;
}

// Steps the window with the toolbar until `n` tokens were generated or the lane finished.
void stepTimes(MainWindow& w, int n)
{
    auto* c = w.controller();
    for (int i = 0; i < n && !c->laneFinished(); ++i) {
        const int before = c->generatedCount();
        QTRY_VERIFY_WITH_TIMEOUT(w.stepAction()->isEnabled() && !c->isBusy(), kTimeout);
        w.stepAction()->trigger();
        QTRY_VERIFY_WITH_TIMEOUT(c->generatedCount() == before + 1 && !c->isBusy(), kTimeout);
    }
}

QString renderedText(const QString& richOrPlain)
{
    QTextDocument doc;
    if (Qt::mightBeRichText(richOrPlain))
        doc.setHtml(richOrPlain);
    else
        doc.setPlainText(richOrPlain);
    return doc.toPlainText();
}

QSpinBox* intControl(SamplingPanel* panel, const QString& tooltipPart)
{
    for (auto* s : panel->findChildren<QSpinBox*>())
        if (s->toolTip().contains(tooltipPart))
            return s;
    return nullptr;
}

// Records the region of every paint event a widget gets.
class PaintRecorder : public QObject {
public:
    explicit PaintRecorder(QWidget* w) { w->installEventFilter(this); }
    QRegion painted;
protected:
    bool eventFilter(QObject*, QEvent* e) override
    {
        if (e->type() == QEvent::Paint)
            painted += static_cast<QPaintEvent*>(e)->region();
        return false;
    }
};

} // namespace

class TstClassroom : public QObject {
    Q_OBJECT
private slots:
    void initTestCase() { QStandardPaths::setTestModeEnabled(true); }

    // Item 1: a lane at T 0.3 keeps T 0.3 when it is brought on display and stepped from the toolbar, in
    // the saved session and the trace; the reopened session has the same tokens (none forced), the same
    // lanes table and the same comparison.
    void laneKeepsItsSettingsThroughStepSaveAndReopen()
    {
        REQUIRE_TEST_MODEL(path);
        QTemporaryDir dir;
        const QString sessionPath = dir.filePath(QStringLiteral("lanes.json"));
        const QString tracePath = dir.filePath(QStringLiteral("trace.json"));
        std::vector<int32_t> laneTokens;
        int laneA = -1, laneB = -1;
        {
            InferenceController controller;
            MainWindow w(&controller, MainWindow::Options{false});
            w.show();
            w.samplingPanel()->setParams(withTemperature(1.0));
            controller.setSampling(withTemperature(1.0));
            READ_PROMPT_IN_WINDOW(w, path, kPrompt);
            QCOMPARE(controller.sampling().temperature, 1.0);

            LanesPanel* lanes = w.lanesPanel();
            lanes->setLaneCount(2);
            lanes->setLaneSettings({withTemperature(0.3), withTemperature(1.5)});
            QSignalSpy started(w.laneRunner(), &LaneRunner::started);
            QTRY_VERIFY_WITH_TIMEOUT(lanes->startButton()->isEnabled(), kTimeout);
            lanes->startButton()->click();
            QTRY_COMPARE_WITH_TIMEOUT(started.count(), 1, kTimeout);
            laneA = started.first().first().value<QList<int>>().at(0);
            laneB = started.first().first().value<QList<int>>().at(1);
            QSignalSpy stepped(w.laneRunner(), &LaneRunner::finished);
            w.laneRunner()->step(16);
            QTRY_COMPARE_WITH_TIMEOUT(stepped.count(), 1, kTimeout);
            QCOMPARE(w.laneRunner()->model()->lanes()[0].steps.size(), size_t(16));

            // Lane A on display, as the Path selector does: the controls show its T 0.3, not the panel's 1.0
            QComboBox* selector = w.generatedPanel()->laneSelector();
            QTRY_VERIFY_WITH_TIMEOUT(selector->count() == 3 && !controller.isBusy(), kTimeout);
            // item 12: one naming — the Path selector calls them as the lanes table does
            QVERIFY2(selector->itemText(1).startsWith(QStringLiteral("Lane A")), qPrintable(selector->itemText(1)));
            QVERIFY2(selector->itemText(2).startsWith(QStringLiteral("Lane B")), qPrintable(selector->itemText(2)));
            controller.selectLane(laneA);
            QTRY_VERIFY_WITH_TIMEOUT(!controller.isBusy() && controller.currentLane() == laneA
                                         && controller.generatedCount() == 16 && controller.preview().has_value(),
                                     kTimeout);
            QTRY_COMPARE_WITH_TIMEOUT(controller.sampling().temperature, 0.3, kTimeout);
            QCOMPARE(w.samplingPanel()->params().temperature, 0.3);
            // the live bars come from the lane's own chain: its temperature stage says 0.3
            QCOMPARE(controller.distribution().valid, true);

            // a toolbar Step on the lane samples with T 0.3
            QSignalSpy steps(&controller, &InferenceController::stepAvailable);
            w.stepAction()->trigger();
            QTRY_COMPARE_WITH_TIMEOUT(steps.count(), 1, kTimeout);
            QTRY_VERIFY_WITH_TIMEOUT(!controller.isBusy(), kTimeout);
            QCOMPARE(controller.generatedCount(), 17);
            for (int i = 0; i < controller.generatedCount(); ++i)
                laneTokens.push_back(controller.generatedTokens()->record(i).chosen);

            QSignalSpy saved(w.sessionStore(), &SessionStore::saved);
            w.sessionStore()->save(sessionPath);
            QTRY_COMPARE_WITH_TIMEOUT(saved.count(), 1, kTimeout);
            QSignalSpy exported(w.sessionStore(), &SessionStore::traceExported);
            w.sessionStore()->exportTrace(tracePath);
            QTRY_COMPARE_WITH_TIMEOUT(exported.count(), 1, kTimeout);
        }
        SessionDocument doc;
        QString error;
        QVERIFY2(loadSessionFile(sessionPath, &doc, &error), qPrintable(error));
        QCOMPARE(doc.lanes.size(), 3);
        QCOMPARE(doc.currentLane, laneA);
        QCOMPARE(doc.settings.temperature, 0.3);
        for (const SavedLane& l : doc.lanes) {
            const double expected = l.id == laneA ? 0.3 : l.id == laneB ? 1.5 : 1.0;
            QCOMPARE(l.settings.temperature, expected);
        }
        QCOMPARE(doc.comparison.size(), 2);
        QCOMPARE(doc.comparison[0].lane, laneA);
        QCOMPARE(doc.comparison[0].steps, 16);
        QByteArray bytes;
        QVERIFY(readFileLimited(tracePath, &bytes, &error));
        QCOMPARE(traceFromJson(bytes).settings.temperature, 0.3);

        // Reopen in a fresh window
        InferenceController controller;
        MainWindow w(&controller, MainWindow::Options{false});
        w.show();
        QSignalSpy restored(w.sessionStore(), &SessionStore::restored);
        QSignalSpy failed(w.sessionStore(), &SessionStore::failed);
        w.sessionStore()->open(sessionPath);
        QTRY_VERIFY_WITH_TIMEOUT(restored.count() + failed.count() > 0, kTimeout);
        QVERIFY2(failed.isEmpty(), failed.isEmpty() ? "" : qPrintable(failed.first().first().toString()));
        const QString message = restored.first().first().toString();
        QVERIFY2(!message.contains(QStringLiteral("sampled differently")), qPrintable(message));
        QTRY_VERIFY_WITH_TIMEOUT(!controller.isBusy() && controller.generatedCount() == 17, kTimeout);
        for (int i = 0; i < 17; ++i) {
            QCOMPARE(controller.generatedTokens()->record(i).chosen, laneTokens[size_t(i)]);
            QVERIFY2(!controller.generatedTokens()->record(i).forced, "a sampled token came back as 'you chose this'");
        }
        QCOMPARE(controller.sampling().temperature, 0.3);
        QCOMPARE(w.samplingPanel()->params().temperature, 0.3);
        const auto& comparison = w.laneRunner()->model()->lanes();
        QCOMPARE(comparison.size(), 2);
        QCOMPARE(comparison[0].steps.size(), size_t(16));
        QCOMPARE(comparison[1].steps.size(), size_t(16));
        for (int s = 0; s < 16; ++s)
            QCOMPARE(comparison[0].steps[size_t(s)].chosen, laneTokens[size_t(s)]);
        const auto table = w.lanesPanel()->laneSettings();
        QCOMPARE(table.size(), 2);
        QCOMPARE(table[0].temperature, 0.3);
        QCOMPARE(table[1].temperature, 1.5);
        QCOMPARE(w.generatedPanel()->laneSelector()->count(), 3);
    }
    // Item 3: T -> 0 is drawn as its limit. At T 0.05 the top bar is nearly 1; at T 0 it is exactly 1,
    // every other bar 0, and the strip ends with a "greedy" stage.
    void temperatureZeroDrawsTheGreedyLimit()
    {
        REQUIRE_TEST_MODEL(path);
        InferenceController controller;
        MainWindow w(&controller, MainWindow::Options{false});
        w.show();
        READ_PROMPT_IN_WINDOW(w, path, kPrompt);
        ProbabilityPanel* bars = w.probabilityPanel();
        QSlider* slider = w.samplingPanel()->temperatureSlider();
        slider->setValue(5); // T 0.05
        QTRY_VERIFY_WITH_TIMEOUT(controller.sampling().temperature == 0.05 && !controller.isBusy()
                                     && bars->finalValues().size() > 1 && bars->finalValues()[0] > 0.5,
                                 kTimeout);
        const QVector<double> sharpBars = bars->finalValues();
        const double sharp = *std::max_element(sharpBars.begin(), sharpBars.end());
        slider->setValue(0); // T 0: greedy
        QTRY_VERIFY_WITH_TIMEOUT(controller.sampling().isGreedy() && !controller.isBusy()
                                     && !bars->shown().stages.isEmpty()
                                     && bars->shown().stages.last().name == QStringLiteral("greedy"),
                                 kTimeout);
        const QVector<double> fin = bars->finalValues();
        int ones = 0;
        for (int i = 0; i < fin.size(); ++i) {
            if (bars->shown().bars[i].chosen) {
                QCOMPARE(fin[i], 1.0);
                ++ones;
            } else {
                QCOMPARE(fin[i], 0.0);
            }
        }
        QCOMPARE(ones, 1);
        QVERIFY(sharp > 0.5 && sharp < 1.0 + 1e-6);
        QCOMPARE(bars->shown().stages.last().survivors, 1);
        QCOMPARE(bars->shown().chosenProb, 1.0);
        // the greedy choice is the raw top token, and stepping takes it
        const int32_t top = bars->shown().bars[0].id;
        QVERIFY(bars->shown().bars[0].chosen);
        stepTimes(w, 1);
        QCOMPARE(controller.generatedTokens()->record(0).chosen, top);
    }

    // Item 5: which rule ended generation — max length, a stop sequence, end-of-text — in the Generated
    // panel and the status bar.
    void finishReasonShown()
    {
        REQUIRE_TEST_MODEL(path);
        InferenceController controller;
        MainWindow w(&controller, MainWindow::Options{false});
        w.show();
        SamplingParams p;
        p.greedy = true;
        p.maxNewTokens = 3;
        w.samplingPanel()->setParams(p);
        controller.setSampling(p);
        READ_PROMPT_IN_WINDOW(w, path, kPrompt);
        QVERIFY(w.generatedPanel()->finishText().isEmpty());
        stepTimes(w, 3);
        QVERIFY(controller.laneFinished());
        QVERIFY2(w.generatedPanel()->finishText().contains(QStringLiteral("max length")), qPrintable(w.generatedPanel()->finishText()));
        QVERIFY2(w.statusText().contains(QStringLiteral("max length")), qPrintable(w.statusText()));
        const QString second = QString::fromStdString(controller.generatedTokens()->record(1).text);

        // Run to a stop sequence: the text the second greedy token released
        if (!second.trimmed().isEmpty()) {
            w.resetAction()->trigger();
            QTRY_VERIFY_WITH_TIMEOUT(!controller.isBusy() && !controller.isPrefilled(), kTimeout);
            p.maxNewTokens = 32;
            p.stop = {second.toStdString()};
            controller.setSampling(p);
            QTRY_COMPARE_WITH_TIMEOUT(controller.sampling().stop.size(), size_t(1), kTimeout);
            w.stepAction()->trigger();
            QTRY_VERIFY_WITH_TIMEOUT(controller.isPrefilled() && !controller.isBusy(), kTimeout);
            w.runAction()->trigger();
            QTRY_VERIFY_WITH_TIMEOUT(controller.laneFinished() && !controller.isBusy(), kTimeout);
            QVERIFY2(w.generatedPanel()->finishText().contains(QStringLiteral("stop sequence")),
                     qPrintable(w.generatedPanel()->finishText()));
            QVERIFY2(w.statusText().contains(QStringLiteral("stop sequence")), qPrintable(w.statusText()));
        }

        // End-of-text: branch the first step with the EOS token
        auto model = Model::load(path.toStdString());
        const int32_t eos = model->tokenizer().eos();
        QVERIFY(eos >= 0);
        controller.branch(0, eos);
        QTRY_VERIFY_WITH_TIMEOUT(!controller.isBusy() && controller.generatedCount() == 1 && controller.laneFinished(),
                                 kTimeout);
        QVERIFY2(w.generatedPanel()->finishText().contains(QStringLiteral("end-of-text")),
                 qPrintable(w.generatedPanel()->finishText()));
        QVERIFY2(w.statusText().contains(QStringLiteral("end-of-text")), qPrintable(w.statusText()));
    }

    // Item 7: token text reaching rich text is escaped: the attention tooltips name "<s>" (or whatever the
    // first token is) as it is, and the self-attention cell of the first token is not drawn white.
    void attentionTooltipsShowTokenTextAsIs()
    {
        REQUIRE_TEST_MODEL(path);
        InferenceController controller;
        MainWindow w(&controller, MainWindow::Options{false});
        w.show();
        for (auto* dock : w.docks())
            if (dock->widget() == w.attentionPanel()) {
                dock->show();
                dock->raise();
            }
        QTRY_VERIFY_WITH_TIMEOUT(controller.capturesAttention(), kTimeout);
        READ_PROMPT_IN_WINDOW(w, path, kPrompt);
        AttentionModel* m = w.attentionPanel()->model();
        QTRY_VERIFY_WITH_TIMEOUT(m->positionCount() > 1 && m->hasRow(0), kTimeout);
        const QString first = m->label(0);
        QVERIFY(!first.isEmpty());
        const QString tip = w.attentionPanel()->hoverText(1, 0);
        QVERIFY2(renderedText(tip).contains(QStringLiteral("“%1”").arg(first)), qPrintable(tip));
        const QString cellTip = m->index(1, 0).data(Qt::ToolTipRole).toString();
        QVERIFY2(renderedText(cellTip).contains(first), qPrintable(cellTip));
        // the same escape on a label that looks like HTML, whatever the model's first token is
        QCOMPARE(renderedText(plainToRich(QStringLiteral("query <s> (0) → key <s> (0)"))),
                 QStringLiteral("query <s> (0) → key <s> (0)"));
        // the first token attends only to itself (1.0): its cell's colour is not the background's white
        auto* map = qobject_cast<QCPColorMap*>(w.attentionPanel()->plot()->plottable(0));
        QVERIFY(map);
        QCOMPARE(m->value(0, 0), 1.0);
        const QRgb full = map->gradient().color(1.0, QCPRange(0, 1));
        QVERIFY2(full != qRgb(255, 255, 255), "attention 1.0 is drawn white");
        QVERIFY(qGray(full) < 250);
    }

    // Item 6: the placeholder disappears as a whole when the first chip arrives (the first repaint
    // covered only the new chip, leaving the placeholder's text behind it).
    void placeholderGoesWithTheFirstChip()
    {
        REQUIRE_TEST_MODEL(path);
        InferenceController controller;
        MainWindow w(&controller, MainWindow::Options{false});
        w.show();
        READ_PROMPT_IN_WINDOW(w, path, kPrompt);
        TokenChipView* chips = w.generatedPanel()->chips();
        QVERIFY(QTest::qWaitForWindowExposed(&w));
        QCoreApplication::processEvents();
        PaintRecorder recorder(chips);
        stepTimes(w, 1);
        QTRY_VERIFY_WITH_TIMEOUT(!recorder.painted.isEmpty(), kTimeout);
        QCoreApplication::processEvents();
        // where the placeholder was drawn: the top rows of the view, across its width
        const QRect placeholder = chips->rect().adjusted(4, 4, -4, 0).intersected(QRect(0, 0, chips->width(), 60));
        QVERIFY2(recorder.painted.contains(placeholder),
                 qPrintable(QStringLiteral("repainted %1 of a %2x%3 view").arg(recorder.painted.boundingRect().width())
                                .arg(chips->width()).arg(chips->height())));
    }

    // Item 12 (legends): no plot's legend lies over its data — the probability bars, the KV-cache chart,
    // the logit lens, the lanes' divergence and the per-step times all put it in a row above the axes.
    void legendsKeepClearOfTheData()
    {
        REQUIRE_TEST_MODEL(path);
        InferenceController controller;
        MainWindow w(&controller, MainWindow::Options{false});
        w.resize(1480, 900);
        w.show();
        READ_PROMPT_IN_WINDOW(w, path, kPrompt);
        w.stepAction()->trigger();
        QTRY_VERIFY_WITH_TIMEOUT(controller.generatedCount() == 1 && !controller.isBusy(), kTimeout);
        int checked = 0;
        for (QCustomPlot* plot : w.findChildren<QCustomPlot*>()) {
            if (!plot->legend || !plot->legend->visible())
                continue;
            // Plots on hidden tabs have no size yet: lay each one out at a modest size of its own.
            plot->setViewport(QRect(0, 0, 520, 320));
            plot->replot(QCustomPlot::rpImmediateRefresh);
            const QRect legend = plot->legend->outerRect();
            const QRect data = plot->axisRect()->rect();
            QString where;
            for (QObject* o = plot; o; o = o->parent())
                if (o->inherits("logitscope::gui::MainWindow") || o->metaObject()->className() != QByteArray("QWidget")) {
                    where = QString::fromLatin1(o->metaObject()->className());
                    if (o != plot)
                        break;
                }
            QVERIFY2(!legend.intersects(data), qPrintable(QStringLiteral("%1: legend (%2,%3 %4x%5) over the data (%6,%7 %8x%9)")
                                                          .arg(where).arg(legend.x()).arg(legend.y()).arg(legend.width())
                                                          .arg(legend.height()).arg(data.x()).arg(data.y()).arg(data.width())
                                                          .arg(data.height())));
            ++checked;
        }
        QVERIFY2(checked >= 5, qPrintable(QString::number(checked)));
    }

    // Item 12 ("would choose" clipped): the chosen / would-choose label stays inside the axes, also over a bar
    // at 100 % (T 0).
    void chosenLabelStaysInsideThePlot()
    {
        REQUIRE_TEST_MODEL(path);
        InferenceController controller;
        MainWindow w(&controller, MainWindow::Options{false});
        w.resize(1480, 900);
        w.show();
        READ_PROMPT_IN_WINDOW(w, path, kPrompt);
        for (double t : {1.0, 0.0}) {
            SamplingParams p = controller.sampling();
            p.temperature = t;
            w.samplingPanel()->setParams(p);
            controller.setSampling(p);
            QTRY_VERIFY_WITH_TIMEOUT(controller.sampling().temperature == t && !controller.isBusy(), kTimeout);
            QCustomPlot* plot = w.probabilityPanel()->plot();
            QCPItemText* mark = nullptr;
            for (int i = 0; i < plot->itemCount(); ++i)
                if (auto* text = qobject_cast<QCPItemText*>(plot->item(i)); text && text->objectName() == QLatin1String("chosenMark"))
                    mark = text;
            QVERIFY(mark);
            QTRY_VERIFY_WITH_TIMEOUT(mark->visible() && mark->text() == QStringLiteral("would choose"), kTimeout);
            plot->replot(QCustomPlot::rpImmediateRefresh);
            const QRect data = plot->axisRect()->rect().adjusted(-1, -1, 1, 1);
            const QPoint a = mark->topLeft->pixelPosition().toPoint(), b = mark->bottomRight->pixelPosition().toPoint();
            QVERIFY2(data.contains(a) && data.contains(b),
                     qPrintable(QStringLiteral("T %1: label (%2,%3)-(%4,%5) outside the axes (%6,%7 %8x%9)").arg(t)
                                    .arg(a.x()).arg(a.y()).arg(b.x()).arg(b.y()).arg(data.x()).arg(data.y())
                                    .arg(data.width()).arg(data.height())));
        }
    }

    // Item 8: every dock — also the KV cache, serving metrics, lanes, replay and lessons — comes back
    // from the View menu after being closed.
    void viewMenuBringsBackEveryDock()
    {
        InferenceController controller;
        MainWindow w(&controller, MainWindow::Options{false});
        w.show();
        QMenu* view = nullptr;
        for (QAction* a : w.menuBar()->actions())
            if (a->text().remove(QLatin1Char('&')) == QLatin1String("View"))
                view = a->menu();
        QVERIFY(view);
        const auto docks = w.findChildren<QDockWidget*>();
        QVERIFY(docks.size() >= 14);
        for (QDockWidget* dock : docks) {
            dock->show();
            dock->close();
            QVERIFY(dock->isHidden());
            QAction* entry = nullptr;
            for (QAction* a : view->actions())
                if (a->text().remove(QLatin1Char('&')) == dock->windowTitle())
                    entry = a;
            QVERIFY2(entry, qPrintable(QStringLiteral("no View entry for %1").arg(dock->windowTitle())));
            QVERIFY(!entry->isChecked());
            entry->trigger();
            QVERIFY2(!dock->isHidden(), qPrintable(dock->windowTitle()));
        }
    }

    // Item 12 (part): a long status-bar error stops before the speed figures instead of running into them.
    void statusBarErrorsKeepClearOfTheSpeedFigures()
    {
        REQUIRE_TEST_MODEL(path);
        InferenceController controller;
        MainWindow w(&controller, MainWindow::Options{false});
        w.show();
        READ_PROMPT_IN_WINDOW(w, path, kPrompt);
        stepTimes(w, 1); // the speed figures appear
        const QString error = QStringLiteral("Could not open /a/very/long/path/").repeated(12) + QStringLiteral("model.gguf");
        emit controller.statusMessage(error);
        QCoreApplication::processEvents();
        QLabel* status = nullptr;
        QLabel* speed = nullptr;
        for (auto* l : w.statusBar()->findChildren<QLabel*>()) {
            if (l->text() == error)
                status = l;
            else if (l->text().contains(QStringLiteral("tok/s")))
                speed = l;
        }
        QVERIFY(status && speed);
        QTRY_VERIFY_WITH_TIMEOUT(speed->isVisible() && speed->width() > 0, kTimeout);
        QVERIFY2(status->geometry().right() < speed->geometry().left(),
                 qPrintable(QStringLiteral("status ends at %1, speed starts at %2")
                                .arg(status->geometry().right()).arg(speed->geometry().left())));
        QCOMPARE(status->toolTip(), error);
        QVERIFY(speed->sizeHint().width() <= speed->width());
    }

    // Item 11: one rule for invalid values: max new tokens 0 is refused with a message next to the
    // control, as top-p 0 is.
    void maxNewTokensZeroGetsAMessage()
    {
        REQUIRE_TEST_MODEL(path);
        InferenceController controller;
        MainWindow w(&controller, MainWindow::Options{false});
        w.show();
        READ_PROMPT_IN_WINDOW(w, path, kPrompt);
        QSpinBox* maxNew = intControl(w.samplingPanel(), QStringLiteral("Generation stops after"));
        QVERIFY(maxNew);
        const int before = controller.sampling().maxNewTokens;
        maxNew->setValue(0);
        QCOMPARE(maxNew->value(), 0); // accepted by the control, refused by the engine
        QTRY_VERIFY_WITH_TIMEOUT(!w.samplingPanel()->errorFor(QStringLiteral("max_new_tokens")).isEmpty(), kTimeout);
        QVERIFY(w.samplingPanel()->errorFor(QStringLiteral("max_new_tokens")).contains(QStringLiteral("at least 1")));
        QCOMPARE(controller.sampling().maxNewTokens, before);
        maxNew->setValue(5);
        QTRY_VERIFY_WITH_TIMEOUT(w.samplingPanel()->errorFor(QStringLiteral("max_new_tokens")).isEmpty(), kTimeout);
        QCOMPARE(controller.sampling().maxNewTokens, 5);
    }

    // Item 13: the command line is checked before Qt needs a display: --help prints usage (rc 0) and bad
    // values are refused (rc 2) with no display at all; --lesson without --screenshot-dir opens the lesson.
    void commandLineWithoutADisplay()
    {
#ifndef LOGITSCOPE_GUI_BINARY
        QSKIP("the logitscope binary is not built");
#else
        const auto run = [](const QStringList& args, const QString& threadsEnv = {}) {
            QProcess p;
            QProcessEnvironment env = QProcessEnvironment::systemEnvironment();
            env.remove(QStringLiteral("DISPLAY"));
            env.remove(QStringLiteral("WAYLAND_DISPLAY"));
            env.remove(QStringLiteral("QT_QPA_PLATFORM"));
            if (!threadsEnv.isEmpty())
                env.insert(QStringLiteral("LOGITSCOPE_THREADS"), threadsEnv);
            p.setProcessEnvironment(env);
            p.start(QStringLiteral(LOGITSCOPE_GUI_BINARY), args);
            p.waitForFinished(30000);
            return std::make_tuple(p.exitStatus() == QProcess::NormalExit ? p.exitCode() : -1,
                                   QString::fromUtf8(p.readAllStandardOutput()), QString::fromUtf8(p.readAllStandardError()));
        };
        auto [rc, out, err] = run({QStringLiteral("--help")});
        QCOMPARE(rc, 0);
        QVERIFY2(out.startsWith(QStringLiteral("Usage: logitscope")), qPrintable(out + err));
        QVERIFY(out.contains(QStringLiteral("--lesson")) && out.contains(QStringLiteral("--threads")));
        std::tie(rc, out, err) = run({QStringLiteral("--steps"), QStringLiteral("abc")});
        QCOMPARE(rc, 2);
        QVERIFY2(err.contains(QStringLiteral("--steps: expected a count")), qPrintable(err));
        std::tie(rc, out, err) = run({QStringLiteral("--threads"), QStringLiteral("100000")});
        QCOMPARE(rc, 2);
        QVERIFY2(err.contains(QStringLiteral("--threads: at most")), qPrintable(err));
        std::tie(rc, out, err) = run({}, QStringLiteral("100000"));
        QCOMPARE(rc, 2);
        QVERIFY2(err.contains(QStringLiteral("LOGITSCOPE_THREADS: at most")), qPrintable(err));
        std::tie(rc, out, err) = run({QStringLiteral("--bogus")});
        QCOMPARE(rc, 2);
        QVERIFY2(err.contains(QStringLiteral("bogus")), qPrintable(err));
#endif
    }

    void lessonOpensInteractively()
    {
        InferenceController controller;
        MainWindow w(&controller, MainWindow::Options{false});
        w.show();
        auto* runner = w.findChild<LessonRunner*>();
        QVERIFY(runner);
        if (runner->lessons().empty())
            QSKIP("no lessons found (set LOGITSCOPE_LESSONS_DIR)");
        QString error;
        QVERIFY(!openLesson(&w, QStringLiteral("no-such-lesson"), &error));
        QVERIFY2(error.contains(QString::fromStdString(runner->lessons().front().id)), qPrintable(error));
        const QString id = QString::fromStdString(runner->lessons().back().id);
        QVERIFY2(openLesson(&w, id, &error), qPrintable(error));
        QCOMPARE(runner->currentLesson(), int(runner->lessons().size()) - 1);
        QVERIFY(!w.findChild<QDockWidget*>(QStringLiteral("dock.lessons"))->isHidden());
        QVERIFY(openLesson(&w, QStringLiteral("1"), &error));
        QCOMPARE(runner->currentLesson(), 0);
        QTRY_VERIFY_WITH_TIMEOUT(!runner->busy(), kTimeout);
    }

    // Item 2: a lesson with lanes drives the real lanes dock, Path selector and bars (lane A on display),
    // asks before replacing the user's output, and gives it back — prompt, settings, tokens — when the
    // Lessons panel is closed.
    void lessonDrivesTheRealLanesAndGivesBackTheUsersWork()
    {
        REQUIRE_TEST_MODEL(path);
        InferenceController controller;
        MainWindow w(&controller, MainWindow::Options{false});
        w.show();
        auto* lessons = w.findChild<LessonRunner*>();
        QVERIFY(lessons);
        if (lessons->indexOf(QStringLiteral("temperature")) < 0)
            QSKIP("the temperature lesson is not there (set LOGITSCOPE_LESSONS_DIR)");
        SamplingParams mine = withTemperature(0.8, 3);
        w.samplingPanel()->setParams(mine);
        controller.setSampling(mine);
        const QString myPrompt = QStringLiteral("The jury said");
        READ_PROMPT_IN_WINDOW(w, path, myPrompt);
        stepTimes(w, 3);
        std::vector<int32_t> myTokens;
        for (int i = 0; i < 3; ++i)
            myTokens.push_back(controller.generatedTokens()->record(i).chosen);

        const auto answer = [](QMessageBox::StandardButton button) {
            auto* timer = new QTimer;
            QObject::connect(timer, &QTimer::timeout, timer, [timer, button] {
                if (auto* box = qobject_cast<QMessageBox*>(QApplication::activeModalWidget())) {
                    box->button(button)->click();
                    timer->deleteLater();
                }
            });
            timer->start(20);
        };
        QString error;
        answer(QMessageBox::No);
        QVERIFY(!openLesson(&w, QStringLiteral("temperature"), &error));
        QCOMPARE(controller.generatedCount(), 3); // kept
        answer(QMessageBox::Yes);
        QSignalSpy started(lessons, &LessonRunner::lessonStarted);
        QVERIFY2(openLesson(&w, QStringLiteral("temperature"), &error), qPrintable(error));
        QTRY_COMPARE_WITH_TIMEOUT(started.count(), 1, kTimeout);

        lessons->next(); // prefill: three lanes at T 0.3, 1.0, 1.5
        QTRY_VERIFY_WITH_TIMEOUT(!lessons->busy() && w.laneRunner()->isActive() && !controller.isBusy(), kTimeout);
        const auto& comparison = w.laneRunner()->model()->lanes();
        QCOMPARE(comparison.size(), 3);
        QCOMPARE(comparison[0].params.temperature, 0.3);
        QCOMPARE(comparison[2].params.temperature, 1.5);
        QTRY_COMPARE_WITH_TIMEOUT(controller.currentLane(), comparison[0].lane, kTimeout);
        QTRY_COMPARE_WITH_TIMEOUT(controller.sampling().temperature, 0.3, kTimeout);
        QCOMPARE(w.generatedPanel()->laneSelector()->count(), 4);
        QDockWidget* lanesDock = w.findChild<QDockWidget*>(QStringLiteral("dock.lanes"));
        QVERIFY(lanesDock && lanesDock->isVisible());
        QCOMPARE(w.lanesPanel()->laneSettings()[1].temperature, 1.0);

        lessons->next(); // show-panel probabilities
        QTRY_VERIFY_WITH_TIMEOUT(!lessons->busy(), kTimeout);
        lessons->next(); // steps 24: the lanes and the main view (lane A) advance together
        QTRY_VERIFY_WITH_TIMEOUT(!lessons->busy() && !w.laneRunner()->isBusy() && !controller.isBusy(), kTimeout);
        QTRY_COMPARE_WITH_TIMEOUT(controller.generatedCount(), int(w.laneRunner()->model()->lanes()[0].steps.size()), kTimeout);
        QVERIFY(controller.generatedCount() > 3);
        for (int i = 0; i < controller.generatedCount(); ++i)
            QCOMPARE(controller.generatedTokens()->record(i).chosen, w.laneRunner()->model()->lanes()[0].steps[size_t(i)].chosen);

        // Closing the Lessons panel gives the user's work back
        w.findChild<QDockWidget*>(QStringLiteral("dock.lessons"))->close();
        QTRY_VERIFY_WITH_TIMEOUT(!controller.isBusy() && controller.prompt() == myPrompt && controller.generatedCount() == 3
                                     && controller.modelInfo().path == path,
                                 kTimeout);
        for (int i = 0; i < 3; ++i)
            QCOMPARE(controller.generatedTokens()->record(i).chosen, myTokens[size_t(i)]);
        QTRY_COMPARE_WITH_TIMEOUT(controller.sampling().temperature, 0.8, kTimeout);
        QCOMPARE(w.samplingPanel()->params().temperature, 0.8);
        QVERIFY(!w.laneRunner()->isActive());
    }

    // Item 2, lesson 7: the steps about the second, third and fourth lane bring that lane on display (step 5
    // says end-of-text is masked: the bars are lane D's, min new tokens 40).
    void lessonStepsShowTheLaneTheyTalkAbout()
    {
        InferenceController controller;
        MainWindow w(&controller, MainWindow::Options{false});
        w.show();
        auto* lessons = w.findChild<LessonRunner*>();
        QVERIFY(lessons);
        if (lessons->indexOf(QStringLiteral("length")) < 0 || findDefaultModel().isEmpty())
            QSKIP("the length lesson or the bundled model is not there");
        QString error;
        QSignalSpy started(lessons, &LessonRunner::lessonStarted);
        QVERIFY2(openLesson(&w, QStringLiteral("length"), &error), qPrintable(error));
        QTRY_COMPARE_WITH_TIMEOUT(started.count(), 1, kTimeout);
        for (int i = 0; i < 5; ++i) {
            lessons->next();
            QTRY_VERIFY_WITH_TIMEOUT(!lessons->busy() && !w.laneRunner()->isBusy() && !controller.isBusy(), kTimeout);
            if (i == 0)
                QCOMPARE(w.laneRunner()->model()->lanes().size(), 4);
            if (i >= 2) {
                const int lane = w.laneRunner()->model()->lanes()[i - 1].lane;
                QTRY_COMPARE_WITH_TIMEOUT(controller.currentLane(), lane, kTimeout);
            }
        }
        QTRY_COMPARE_WITH_TIMEOUT(controller.sampling().minNewTokens, 40, kTimeout);
        QCOMPARE(w.samplingPanel()->params().minNewTokens, 40);
    }

    // Item 10: looking up a word the tokenizer splits says so and lists its pieces (it used to show the
    // first piece as if it were the word).
    void embeddingLookupOfASplitWordSaysSo()
    {
        REQUIRE_TEST_MODEL(path);
        InferenceController controller;
        MainWindow w(&controller, MainWindow::Options{false});
        w.show();
        QVERIFY(logitscope::test::loadOnCpu(controller, path));
        auto model = Model::load(path.toStdString());
        EncodeOptions options;
        options.addSpecial = false;
        QString split, whole;
        std::vector<int32_t> pieces;
        for (const char* word : {"Monday", "Wednesday", "photosynthesis", "unbelievably", "the", "a", "and"}) {
            const auto ids = model->tokenizer().encode(word, options);
            if (ids.size() > 1 && split.isEmpty()) {
                split = QString::fromLatin1(word);
                pieces = ids;
            }
            if (ids.size() == 1 && whole.isEmpty())
                whole = QString::fromLatin1(word);
        }
        QVERIFY(!split.isEmpty() && !whole.isEmpty());
        EmbeddingPanel* panel = w.embeddingPanel();
        QSignalSpy answered(panel->service(), &EmbeddingService::embeddingAvailable);
        panel->searchBox()->setText(split);
        emit panel->searchBox()->returnPressed();
        QTRY_VERIFY_WITH_TIMEOUT(panel->selectedToken() == pieces.front() && panel->infoText().contains(QStringLiteral("norm")),
                                 kTimeout);
        const QString info = renderedText(panel->infoText());
        QVERIFY2(info.contains(QStringLiteral("is not one token")), qPrintable(info));
        QVERIFY2(info.contains(QStringLiteral("%1 pieces").arg(pieces.size())), qPrintable(info));
        for (int32_t id : pieces)
            QVERIFY2(info.contains(QStringLiteral("id %1").arg(id)), qPrintable(info));
        panel->searchBox()->setText(whole);
        emit panel->searchBox()->returnPressed();
        const int32_t wholeId = model->tokenizer().encode(whole.toStdString(), options).front();
        QTRY_VERIFY_WITH_TIMEOUT(panel->infoText().contains(QStringLiteral("(id %1").arg(wholeId)), kTimeout);
        QVERIFY(!renderedText(panel->infoText()).contains(QStringLiteral("is not one token")));
    }

    // Item 9: the context-length sweep measures each decode time as the median of at least 15 steps, and
    // when the medians still do not grow with L the panel says the run was too noisy instead of the claim.
    void contextSweepSaysWhenItIsTooNoisy()
    {
        auto point = [](int length, double median, double low, double high) {
            ContextPoint p;
            p.length = length;
            p.decodeMs = median;
            p.decodeLowMs = low;
            p.decodeHighMs = high;
            p.decodeSamples = 15;
            return p;
        };
        // the run: 1.0 -> 0.6 -> 1.4 -> 1.0 ms with tight spreads
        const QList<ContextPoint> noisy = {point(64, 1.0, 0.95, 1.05), point(128, 0.6, 0.55, 0.65),
                                           point(256, 1.4, 1.3, 1.5), point(512, 1.0, 0.9, 1.1)};
        const QString message = contextSweepNoise(noisy);
        QVERIFY2(message.contains(QStringLiteral("too noisy")) && message.contains(QStringLiteral("L = 128")), qPrintable(message));
        QVERIFY(contextSweepNoise({point(64, 0.5, 0.45, 0.55), point(128, 0.6, 0.5, 0.7), point(256, 0.9, 0.8, 1.0)}).isEmpty());
        // a dip inside the spread is level, not a contradiction
        QVERIFY(contextSweepNoise({point(64, 0.50, 0.40, 0.60), point(128, 0.48, 0.40, 0.60)}).isEmpty());

        REQUIRE_TEST_MODEL(path);
        InferenceController controller;
        MainWindow w(&controller, MainWindow::Options{false});
        w.show();
        QVERIFY(logitscope::test::loadOnCpu(controller, path));
        QSignalSpy done(w.measurements(), &Measurements::sweepFinished);
        w.measurements()->runContextSweep(256);
        QTRY_COMPARE_WITH_TIMEOUT(done.count(), 1, kTimeout);
        const auto& points = w.measurements()->contextPoints();
        QVERIFY(points.size() >= 2);
        for (const auto& p : points) {
            QVERIFY(p.decodeSamples >= 15);
            QVERIFY(p.decodeLowMs <= p.decodeMs && p.decodeMs <= p.decodeHighMs);
        }
        const QString status = w.kvCachePanel()->sweepStatusText();
        QCOMPARE(status, contextSweepNoise(points).isEmpty()
                             ? QStringLiteral("Done: %1 lengths (each decode time the median of at least 15 steps).").arg(points.size())
                             : contextSweepNoise(points));
    }

    // Item 14: the user guide's KV example is the bundled model's figure, as the app computes it.
    void userGuideKvExampleMatchesTheApp()
    {
        const QString model = findDefaultModel();
        if (model.isEmpty())
            QSKIP("the bundled model is not there");
        QFile guide(QStringLiteral(LOGITSCOPE_SOURCE_DIR "/docs/user-guide.md"));
        QVERIFY(guide.open(QIODevice::ReadOnly));
        const QString text = QString::fromUtf8(guide.readAll()).simplified();
        const QRegularExpression re(QStringLiteral("= ([0-9,]+) bytes per token"));
        const auto m = re.match(text);
        QVERIFY2(m.hasMatch(), "no 'N bytes per token' example in docs/user-guide.md");
        InferenceController controller;
        QVERIFY(logitscope::test::loadOnCpu(controller, model));
        QCOMPARE(m.captured(1).remove(QLatin1Char(',')).toLongLong(), qint64(controller.modelInfo().kvBytesPerToken));
    }

    // Item 4: Run right after Reset reads the prompt and generates (one press).
    void runRightAfterResetGenerates()
    {
        REQUIRE_TEST_MODEL(path);
        InferenceController controller;
        MainWindow w(&controller, MainWindow::Options{false});
        w.show();
        SamplingParams p;
        p.greedy = true;
        p.maxNewTokens = 6;
        w.samplingPanel()->setParams(p);
        controller.setSampling(p);
        READ_PROMPT_IN_WINDOW(w, path, kPrompt);
        stepTimes(w, 2);
        QTRY_VERIFY_WITH_TIMEOUT(w.resetAction()->isEnabled(), kTimeout);
        w.resetAction()->trigger();
        QTRY_VERIFY_WITH_TIMEOUT(!controller.isBusy() && !controller.isPrefilled() && w.runAction()->isEnabled(), kTimeout);
        QCOMPARE(controller.generatedCount(), 0);
        w.runAction()->trigger(); // one press: reads the prompt, then generates
        QTRY_VERIFY_WITH_TIMEOUT(controller.laneFinished() && !controller.isBusy(), kTimeout);
        QCOMPARE(controller.generatedCount(), 6);

        // Reset in the middle of a fast run whose records pile up (the UI busy for a moment): the run's
        // late "finished" must not cancel the next Run.
        p.maxNewTokens = 400;
        controller.setSampling(p);
        w.resetAction()->trigger();
        QTRY_VERIFY_WITH_TIMEOUT(!controller.isBusy() && w.runAction()->isEnabled(), kTimeout);
        w.runAction()->trigger();
        QTRY_VERIFY_WITH_TIMEOUT(controller.generatedCount() > 0, kTimeout);
        QThread::msleep(300); // the worker runs ahead and waits on back-pressure
        controller.reset();
        QTRY_VERIFY_WITH_TIMEOUT(!controller.isBusy() && w.runAction()->isEnabled(), kTimeout);
        QCOMPARE(controller.generatedCount(), 0);
        w.runAction()->trigger();
        QTRY_VERIFY_WITH_TIMEOUT(controller.laneFinished() && !controller.isBusy(), kTimeout);
        QVERIFY(controller.generatedCount() > 0);
        controller.pause();
        QTRY_VERIFY_WITH_TIMEOUT(!controller.isBusy(), kTimeout);
    }
};

QTEST_MAIN(TstClassroom)
#include "tst_classroom.moc"
