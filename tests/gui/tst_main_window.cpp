// The window as a user meets it (offscreen): the temperature slider re-draws the bars with what the
// engine's chain computes, an invalid setting is reported next to its control, a corrupt model file
// shows an error and leaves the window usable, closing the window mid-generation exits cleanly, and the
// Prompt panel's second tokenizer splits what the model reads as that tokenizer does on its own, and its
// chips carry the prefill's score of every prompt token.
#include "main_window.h"
#include "models/generated_tokens_model.h"
#include "models/inference_controller.h"
#include "models/prompt_tokens_model.h"
#include "models/token_display.h"
#include "models/token_roles.h"
#include "panels/model_panel.h"
#include "panels/probability_panel.h"
#include "panels/prompt_panel.h"
#include "panels/sampling_panel.h"
#include "panels/token_chip_view.h"
#include "window_test.h"

#include "decoding/session.h"
#include "model/backend.h"
#include "model/model.h"
#include "tokenizer/tokenizer.h"

#include <QAction>
#include <QCheckBox>
#include <QComboBox>
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

// The second row of chips holds exactly `ids`, with the tokenizer's pieces.
bool rowsAre(const QAbstractItemModel* rows, const Tokenizer& tok, const std::vector<int32_t>& ids)
{
    if (rows->rowCount() != int(ids.size()))
        return false;
    for (int i = 0; i < rows->rowCount(); ++i) {
        const QModelIndex index = rows->index(i, 0);
        if (index.data(TokenIdRole).toInt() != ids[size_t(i)]
            || index.data(TokenPieceRole).toString() != QString::fromStdString(tok.piece(ids[size_t(i)])))
            return false;
    }
    return true;
}

std::vector<int32_t> textTokens(const Tokenizer& tok, const QString& text)
{
    EncodeOptions options;
    options.addSpecial = false;
    return tok.encode(text.toStdString(), options);
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
        READ_PROMPT_IN_WINDOW(w, path, kPrompt);

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
        READ_PROMPT_IN_WINDOW(w, path, kPrompt);
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
        READ_PROMPT_IN_WINDOW(w, path, kPrompt);
        QVERIFY(w.modelPanel()->errorText().isEmpty());
        w.stepAction()->trigger();
        QTRY_COMPARE_WITH_TIMEOUT(controller.generatedCount(), 1, kTimeout);
    }

    // The Model panel's Weights box reopens the model with its matrices requantized: the weights row
    // says what they became, the bars come back for the same prompt, and "as stored" goes back.
    void weightsBoxRequantizes()
    {
        REQUIRE_TEST_MODEL(path);
        InferenceController controller;
        MainWindow w(&controller, MainWindow::Options{false});
        w.show();
        READ_PROMPT_IN_WINDOW(w, path, kPrompt);
        const QString stored = w.modelPanel()->weightsText();
        QComboBox* box = w.modelPanel()->weightsBox();
        QSignalSpy loaded(&controller, &InferenceController::modelLoadFinished);
        box->setCurrentIndex(box->findData(QStringLiteral("q8_0")));
        QTRY_COMPARE_WITH_TIMEOUT(loaded.count(), 1, kTimeout);
        QCOMPARE(controller.modelInfo().requantized, QStringLiteral("q8_0"));
        QVERIFY2(w.modelPanel()->weightsText().contains(QStringLiteral("Q8_0")), qPrintable(w.modelPanel()->weightsText()));
        QTRY_VERIFY_WITH_TIMEOUT(controller.promptTokenCount() > 0 && w.stepAction()->isEnabled(), kTimeout);
        w.stepAction()->trigger(); // read the same prompt with the requantized weights
        QTRY_VERIFY_WITH_TIMEOUT(controller.isPrefilled() && controller.preview().has_value(), kTimeout);
        box->setCurrentIndex(box->findData(QString()));
        QTRY_COMPARE_WITH_TIMEOUT(loaded.count(), 2, kTimeout);
        QVERIFY(controller.modelInfo().requantized.isEmpty());
        QCOMPARE(w.modelPanel()->weightsText(), stored);
    }

    void shortcutsLeaveTypingAlone()
    {
        REQUIRE_TEST_MODEL(path);
        InferenceController controller;
        MainWindow w(&controller, MainWindow::Options{false});
        w.show();
        QApplication::setActiveWindow(&w);
        QVERIFY(QTest::qWaitForWindowActive(&w));
        READ_PROMPT_IN_WINDOW(w, path, kPrompt);
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

    // After "Read prompt" every prompt chip carries the prefill's score of its token (as a Session of our
    // own computes it), "Probabilities" colours the chips by it, and an edit hides the scores until undone.
    void promptChipsShowThePrefillsScores()
    {
        REQUIRE_TEST_MODEL(path);
        InferenceController controller;
        MainWindow w(&controller, MainWindow::Options{false});
        w.show();
        READ_PROMPT_IN_WINDOW(w, path, kPrompt);
        PromptPanel* panel = w.promptPanel();
        PromptTokensModel* chips = controller.promptTokens();
        QTRY_VERIFY_WITH_TIMEOUT(chips->scoresShown(), kTimeout);

        auto model = Model::load(path.toStdString());
        Session session(model, createBackend(model, "cpu", 1));
        const std::vector<int32_t> ids = session.tokenize(kPrompt.toStdString());
        const PrefillRecord want = session.prefill(ids, SamplingParams{});
        QCOMPARE(chips->rowCount(), int(ids.size()));
        QCOMPARE(chips->scores().size(), ids.size());
        QVERIFY(panel->scoreSummary().contains(QStringLiteral("perplexity")));
        QVERIFY(!chips->index(0, 0).data(Qt::ToolTipRole).toString().contains(QStringLiteral("rank")));
        for (size_t t = 1; t < ids.size(); ++t) {
            const PromptTokenScore& got = chips->scores()[t];
            QVERIFY(std::fabs(got.logprob - want.promptScores[t].logprob) < 1e-4);
            QCOMPARE(got.rank, want.promptScores[t].rank);
            const QString tip = chips->index(int(t), 0).data(Qt::ToolTipRole).toString();
            QVERIFY2(tip.contains(QStringLiteral("rank %1 of %2").arg(got.rank + 1).arg(model->config().vocabSize)),
                     qPrintable(tip));
            QVERIFY(tip.contains(got.rank == 0 ? QStringLiteral("first choice") : QStringLiteral("expected")));
        }

        // Coloured by probability: each scored chip takes its probability's colour; control tokens stay grey.
        const auto colour = [&](int row) { return chips->index(row, 0).data(Qt::BackgroundRole).value<QColor>(); };
        const QColor pastel = colour(1);
        panel->probabilitiesBox()->setChecked(true);
        QCOMPARE(colour(0), QColor(0xdd, 0xdd, 0xdd));
        for (size_t t = 1; t < ids.size(); ++t)
            QCOMPARE(colour(int(t)), probabilityColor(std::exp(double(chips->scores()[t].logprob))));

        // An edit: the chips are other tokens, so no scores (and the panel says how to get them); undone, back.
        panel->setPromptText(kPrompt + QStringLiteral(" then"));
        QTRY_VERIFY_WITH_TIMEOUT(!chips->scoresShown(), kTimeout);
        QVERIFY(panel->scoreSummary().contains(QStringLiteral("Step once")));
        panel->setPromptText(kPrompt);
        QTRY_VERIFY_WITH_TIMEOUT(chips->scoresShown(), kTimeout);
        panel->probabilitiesBox()->setChecked(false);
        QCOMPARE(colour(1), pastel);

        // Reset forgets them.
        w.resetAction()->trigger();
        QTRY_VERIFY_WITH_TIMEOUT(!controller.isBusy(), kTimeout);
        QVERIFY(!chips->scoresShown());
        QVERIFY(panel->scoreSummary().isEmpty());
    }

    void comparesWithASecondTokenizer()
    {
        REQUIRE_TEST_MODEL(path);
        const QString bpePath = QStringLiteral(LOGITSCOPE_SOURCE_DIR "/resources/tokenizers/brown-byte-bpe/tokenizer.json");
        const auto bpe = loadTokenizerFile(bpePath.toStdString());
        InferenceController controller;
        MainWindow w(&controller, MainWindow::Options{false});
        w.show();
        QSignalSpy loaded(&controller, &InferenceController::modelLoadFinished);
        controller.loadModel(path, QStringLiteral("cpu"));
        QTRY_COMPARE_WITH_TIMEOUT(loaded.count(), 1, kTimeout);
        const Tokenizer& modelTok = controller.vocabulary().model()->tokenizer();

        PromptPanel* panel = w.promptPanel();
        QComboBox* combo = panel->compareCombo();
        TokenChipView* second = panel->comparisonChips();
        const QAbstractItemModel* rows = second->model();
        QCOMPARE(combo->currentIndex(), 0); // off by default
        QVERIFY(!second->isVisibleTo(panel));
        QVERIFY(panel->comparisonSummary().isEmpty());

        // On with the bundled BPE, then type: the second row follows the text.
        const int bundled = combo->findText(QStringLiteral("bundled"), Qt::MatchContains);
        QVERIFY(bundled > 0);
        combo->setCurrentIndex(bundled);
        QVERIFY2(panel->comparisonError().isEmpty(), qPrintable(panel->comparisonError()));
        QVERIFY(second->isVisibleTo(panel));
        const QString sentence = QStringLiteral("The committee members thought the afternoon meeting was extraordinary.");
        panel->editor()->setFocus();
        QTest::keyClicks(panel->editor(), sentence);
        QCOMPARE(panel->promptText(), sentence);
        const std::vector<int32_t> ids = textTokens(*bpe, sentence);
        QVERIFY(!ids.empty());
        QTRY_VERIFY_WITH_TIMEOUT(rowsAre(rows, *bpe, ids), kTimeout);
        const QString summary = panel->comparisonSummary();
        const auto modelIds = textTokens(modelTok, sentence);
        QVERIFY2(summary.startsWith(QStringLiteral("this model (")), qPrintable(summary));
        QVERIFY2(summary.contains(QStringLiteral("): %1 tokens · brown-byte-bpe (byte-level BPE, ").arg(modelIds.size())),
                 qPrintable(summary));
        QVERIFY2(summary.contains(QStringLiteral("): %1 tokens · 9 words · %2 bytes").arg(ids.size()).arg(sentence.size())),
                 qPrintable(summary));

        // With the chat template, both rows split the rendered text.
        QSignalSpy tokens(&controller, &InferenceController::promptTokensAvailable);
        panel->setChatTemplate(true);
        QTRY_VERIFY_WITH_TIMEOUT(!tokens.isEmpty(), kTimeout);
        const QString rendered = tokens.last().at(0).value<PromptTokens>().renderedText;
        QTRY_VERIFY_WITH_TIMEOUT(rowsAre(rows, *bpe, textTokens(*bpe, rendered)), kTimeout);
        panel->setChatTemplate(false);
        QTRY_VERIFY_WITH_TIMEOUT(rowsAre(rows, *bpe, ids), kTimeout);

        // "—" hides it.
        combo->setCurrentIndex(0);
        QVERIFY(!second->isVisibleTo(panel));
        QVERIFY(panel->comparisonSummary().isEmpty());

        // A file that is not a tokenizer: the message names it, nothing else changes (off stays off,
        // the bundled BPE stays on).
        QTemporaryDir dir;
        QVERIFY(dir.isValid());
        const QString junk = dir.filePath(QStringLiteral("junk.json"));
        QFile f(junk);
        QVERIFY(f.open(QIODevice::WriteOnly));
        f.write("{\"this is\": \"not a tokenizer\"}\n");
        f.close();
        const int items = combo->count();
        QVERIFY(!panel->compareWith(junk));
        QVERIFY2(panel->comparisonError().contains(QStringLiteral("junk.json")), qPrintable(panel->comparisonError()));
        QCOMPARE(combo->currentIndex(), 0);
        QVERIFY(!second->isVisibleTo(panel));
        combo->setCurrentIndex(bundled);
        QVERIFY(panel->comparisonError().isEmpty());
        QTRY_VERIFY_WITH_TIMEOUT(rowsAre(rows, *bpe, ids), kTimeout);
        for (const QString& bad : {junk, dir.filePath(QStringLiteral("missing.model"))}) {
            QVERIFY(!panel->compareWith(bad));
            QVERIFY2(panel->comparisonError().contains(QFileInfo(bad).fileName()), qPrintable(panel->comparisonError()));
            QCOMPARE(combo->currentIndex(), bundled);
            QCOMPARE(combo->count(), items);
            QVERIFY(second->isVisibleTo(panel));
            QVERIFY(rowsAre(rows, *bpe, ids));
        }

        // A file that opens is remembered in the combo for the session (once).
        const QString model = dir.filePath(QStringLiteral("tokenizer.model"));
        QVERIFY(QFile::copy(QStringLiteral(LOGITSCOPE_SOURCE_DIR "/resources/models/logitscope-brown/tokenizer.model"), model));
        QVERIFY(panel->compareWith(model));
        QVERIFY(panel->comparisonError().isEmpty());
        QCOMPARE(combo->count(), items + 1);
        const int recent = combo->currentIndex();
        QCOMPARE(combo->currentText(), QDir(dir.path()).dirName());
        const auto spm = loadTokenizerFile(model.toStdString());
        QTRY_VERIFY_WITH_TIMEOUT(rowsAre(rows, *spm, textTokens(*spm, sentence)), kTimeout);
        combo->setCurrentIndex(bundled);
        QVERIFY(panel->compareWith(bpePath));
        QCOMPARE(combo->count(), items + 1);
        QCOMPARE(combo->currentIndex(), recent);
        QCOMPARE(combo->currentText(), QStringLiteral("brown-byte-bpe"));
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
        READ_PROMPT_IN_WINDOW(*w, path, kPrompt);
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
