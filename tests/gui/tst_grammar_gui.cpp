// Constrained decoding in the window (offscreen): a grammar typed into the Sampling panel's Constraint
// box reaches the engine, the bars mark exactly the candidates the grammar forbids (checked against the
// grammar matcher on each token's bytes) with the mass it removed (recomputed from the raw logits over
// the whole vocabulary), the Prompt panel says where the parser stands, the output fits the grammar, a
// broken grammar is reported under the box with its line and column, and every example compiles.
#include "main_window.h"
#include "models/generated_tokens_model.h"
#include "models/inference_controller.h"
#include "panels/probability_panel.h"
#include "panels/prompt_panel.h"
#include "panels/sampling_panel.h"
#include "window_test.h"

#include "decoding/grammar/grammar_matcher.h"
#include "decoding/grammar/grammar_stage.h"
#include "decoding/session.h"
#include "model/backend.h"
#include "model/model.h"

#include <nlohmann/json.hpp>

#include <QAction>
#include <QComboBox>
#include <QPlainTextEdit>
#include <QtTest>

#include <cmath>

using namespace logitscope;
using namespace logitscope::gui;

namespace {

constexpr int kTimeout = 60000;
const QString kPrompt = QStringLiteral("When the committee was asked about the plan, the answer was");
const QString kYesNo = QStringLiteral("root ::= \" \" (\"yes\" | \"no\") \".\"\n");

// Whether the grammar, at its start, allows a token with these bytes.
bool allowedAtStart(const GrammarMatcher& m, const QByteArray& bytes)
{
    if (bytes.isEmpty())
        return false; // control tokens never fit a grammar (EOS only once the text is complete)
    GrammarState state = m.initial();
    return m.advance(state, std::string_view(bytes.constData(), size_t(bytes.size())));
}

} // namespace

class TstGrammarGui : public QObject {
    Q_OBJECT
private slots:
    void initTestCase() { QStandardPaths::setTestModeEnabled(true); }

    void constraintBoxMasksTheBars()
    {
        REQUIRE_TEST_MODEL(path);
        InferenceController controller;
        MainWindow w(&controller, MainWindow::Options{false});
        w.show();
        READ_PROMPT_IN_WINDOW(w, path, kPrompt);
        w.samplingPanel()->setConstraint(SamplingPanel::Constraint::Gbnf, kYesNo);
        QTRY_COMPARE_WITH_TIMEOUT(QString::fromStdString(controller.sampling().grammar), kYesNo, kTimeout);
        ProbabilityPanel* bars = w.probabilityPanel();
        QTRY_VERIFY_WITH_TIMEOUT(bars->shown().grammar.active && !controller.isBusy(), kTimeout);

        // The independent answer: the raw distribution over the whole vocabulary and the grammar matcher.
        SamplingParams params;
        params.grammar = kYesNo.toStdString();
        const auto matcher = compileGrammar(params);
        auto model = Model::load(path.toStdString());
        Session session(model, createBackend(model, "cpu", 1));
        session.prefill(session.tokenize(kPrompt.toStdString()), SamplingParams{});
        const std::vector<float>& logits = session.currentLogits(0);
        const Vocabulary& vocab = controller.vocabulary();
        double mx = -INFINITY;
        for (float l : logits)
            mx = std::max(mx, double(l));
        double z = 0, allowedMass = 0;
        int forbidden = 0;
        for (size_t id = 0; id < logits.size(); ++id) {
            const double p = std::exp(double(logits[id]) - mx);
            z += p;
            if (allowedAtStart(*matcher, vocab.bytes(int(id))))
                allowedMass += p;
            else
                ++forbidden;
        }
        const double removed = 1.0 - allowedMass / z;
        QVERIFY2(removed > 0.5, qPrintable(QString("removed mass %1").arg(removed)));

        const Distribution& d = bars->shown();
        QCOMPARE(d.grammar.forbiddenCount, forbidden);
        QCOMPARE_LE(std::abs(d.grammar.removedMass - removed), 1e-4);
        const QVector<double> hatched = bars->forbiddenValues(), fin = bars->finalValues();
        int marked = 0;
        for (int i = 0; i < d.bars.size(); ++i) {
            const bool allowed = allowedAtStart(*matcher, vocab.bytes(d.bars[i].id));
            QCOMPARE(d.bars[i].forbidden, !allowed);
            QCOMPARE(hatched[i], allowed ? 0.0 : d.bars[i].rawProb);
            if (!allowed) {
                QCOMPARE(fin[i], 0.0);
                ++marked;
            }
        }
        QVERIFY2(marked > 0, "the raw top candidates should include forbidden ones");
        const QString line = bars->grammarText();
        QVERIFY2(line.contains(QString::number(100.0 * removed, 'f', 1) + QLatin1Char('%')), qPrintable(line));
        QVERIFY2(line.contains(QStringLiteral("Parser at")), qPrintable(line));
        QVERIFY2(w.promptPanel()->grammarPosition().contains(QStringLiteral("root")),
                 qPrintable(w.promptPanel()->grammarPosition()));

        // Generating: the output fits the grammar, and the lane ends on EOS once it is complete.
        w.runAction()->trigger();
        QTRY_VERIFY_WITH_TIMEOUT(controller.laneFinished() && !controller.isBusy(), kTimeout);
        const QString text = controller.generatedTokens()->text();
        QVERIFY2(text == QStringLiteral(" yes.") || text == QStringLiteral(" no."), qPrintable(text));
        QVERIFY(matcher->acceptsString(text.toStdString()));

        // Back to no constraint: the grammar stage and its line go away.
        w.samplingPanel()->setConstraint(SamplingPanel::Constraint::None, QString());
        QTRY_VERIFY_WITH_TIMEOUT(controller.sampling().grammar.empty(), kTimeout);
    }

    void brokenGrammarIsReportedUnderTheBox()
    {
        REQUIRE_TEST_MODEL(path);
        InferenceController controller;
        MainWindow w(&controller, MainWindow::Options{false});
        w.show();
        READ_PROMPT_IN_WINDOW(w, path, kPrompt);
        w.samplingPanel()->setConstraint(SamplingPanel::Constraint::Gbnf, QStringLiteral("root ::= \"a\" | [b-"));
        QTRY_VERIFY_WITH_TIMEOUT(!w.samplingPanel()->errorFor(QStringLiteral("grammar")).isEmpty(), kTimeout);
        const QString error = w.samplingPanel()->errorFor(QStringLiteral("grammar"));
        QVERIFY2(error.contains(QStringLiteral("line 1, column")), qPrintable(error));
        QVERIFY(controller.sampling().grammar.empty()); // nothing applied
        w.samplingPanel()->setConstraint(SamplingPanel::Constraint::JsonSchema,
                                         QStringLiteral(R"({"type":"string","format":"date"})"));
        QTRY_VERIFY_WITH_TIMEOUT(w.samplingPanel()->errorFor(QStringLiteral("grammar")).contains(QStringLiteral("'format'")),
                                 kTimeout);
        QVERIFY(controller.sampling().jsonSchema.empty());
        // The session goes on: a good grammar after the bad ones applies.
        w.samplingPanel()->setConstraint(SamplingPanel::Constraint::Gbnf, kYesNo);
        QTRY_COMPARE_WITH_TIMEOUT(QString::fromStdString(controller.sampling().grammar), kYesNo, kTimeout);
        QVERIFY(w.samplingPanel()->errorFor(QStringLiteral("grammar")).isEmpty());
    }

    void everyExampleCompiles()
    {
        REQUIRE_TEST_MODEL(path);
        InferenceController controller;
        MainWindow w(&controller, MainWindow::Options{false});
        w.show();
        READ_PROMPT_IN_WINDOW(w, path, kPrompt);
        auto* examples = w.samplingPanel()->findChild<QComboBox*>(QStringLiteral("constraintExamples"));
        QVERIFY(examples);
        QVERIFY(examples->count() >= 6);
        for (int i = 1; i < examples->count(); ++i) {
            examples->setCurrentIndex(i);
            emit examples->activated(i);
            const std::string text = w.samplingPanel()->constraintEditor()->toPlainText().toStdString();
            QTRY_VERIFY2_WITH_TIMEOUT(controller.sampling().grammar == text || controller.sampling().jsonSchema == text,
                                      qPrintable(examples->itemText(i) + QStringLiteral(": ")
                                                 + w.samplingPanel()->errorFor(QStringLiteral("grammar"))),
                                      kTimeout);
            QVERIFY2(w.samplingPanel()->errorFor(QStringLiteral("grammar")).isEmpty(), qPrintable(examples->itemText(i)));
        }
    }

    void jsonSchemaOutputParsesAndKeepsItsBounds()
    {
        REQUIRE_TEST_MODEL(path);
        InferenceController controller;
        MainWindow w(&controller, MainWindow::Options{false});
        w.show();
        READ_PROMPT_IN_WINDOW(w, path, kPrompt);
        SamplingParams p = controller.sampling();
        p.maxNewTokens = 120;
        p.temperature = 0.9;
        p.seed = 7;
        w.samplingPanel()->setParams(p);
        const QString schema = QStringLiteral(
            R"({"type":"object","properties":{"name":{"type":"string","maxLength":12},)"
            R"("age":{"type":"integer","minimum":18,"maximum":65}},"required":["name","age"]})");
        w.samplingPanel()->setConstraint(SamplingPanel::Constraint::JsonSchema, schema);
        QTRY_VERIFY_WITH_TIMEOUT(!controller.sampling().jsonSchema.empty() && controller.sampling().maxNewTokens == 120,
                                 kTimeout);
        w.runAction()->trigger();
        QTRY_VERIFY_WITH_TIMEOUT(controller.laneFinished() && !controller.isBusy(), kTimeout);
        const std::string text = controller.generatedTokens()->text().toStdString();
        const auto parsed = nlohmann::json::parse(text, nullptr, false);
        QVERIFY2(!parsed.is_discarded() && parsed.is_object(), text.c_str());
        QVERIFY2(parsed["name"].is_string() && parsed["name"].get<std::string>().size() <= 12, text.c_str());
        QVERIFY2(parsed["age"].is_number_integer(), text.c_str());
        const int age = parsed["age"].get<int>();
        QVERIFY2(age >= 18 && age <= 65, text.c_str());
    }
};

QTEST_MAIN(TstGrammarGui)
#include "tst_grammar_gui.moc"
