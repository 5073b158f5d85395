// The llama.cpp samplers in the window (offscreen): each control in the Sampling panel reaches the engine
// under its llama.cpp key, the bars then show exactly the distribution the engine's own chain gives for
// those settings on the same logits (an independent Session), mirostat's mu is shown and follows the lane,
// a banned token (logit bias -inf) is drawn as removed by that stage, and bad values are reported next to
// their control with nothing applied.
#include "main_window.h"
#include "models/inference_controller.h"
#include "panels/probability_panel.h"
#include "panels/prompt_panel.h"
#include "panels/sampling_panel.h"
#include "window_test.h"

#include "decoding/session.h"
#include "model/backend.h"
#include "model/model.h"

#include <QAction>
#include <QComboBox>
#include <QDoubleSpinBox>
#include <QLineEdit>
#include <QtTest>

#include <cmath>
#include <functional>
#include <map>

using namespace logitscope;
using namespace logitscope::gui;

namespace {

constexpr int kTimeout = 60000;
const QString kPrompt = QStringLiteral("The old man looked at the river and");

// The engine's answer for `params` on the prompt: id -> probability after the whole chain (its recorded
// top and the token it would choose).
std::map<int32_t, double> engineFinal(const QString& path, const SamplingParams& params, float* muOut = nullptr)
{
    auto model = Model::load(path.toStdString());
    Session session(model, createBackend(model, "cpu", 1));
    session.prefill(session.tokenize(kPrompt.toStdString()), params);
    const StepRecord rec = session.preview(0);
    std::map<int32_t, double> out;
    for (const auto& c : rec.sample.stages.back().top)
        out[c.id] = c.prob;
    out[rec.sample.chosen] = rec.sample.chosenProb; // the draw may pick one beyond the recorded top
    if (muOut)
        *muOut = rec.sample.mirostatMu;
    return out;
}

// "" when the bars' after-chain values equal the engine's for every bar the engine recorded (others are
// 0), else the first difference.
QString barsMismatch(ProbabilityPanel* bars, const std::map<int32_t, double>& expected)
{
    const auto& shown = bars->shown();
    const QVector<double> fin = bars->finalValues();
    if (shown.bars.size() < 10 || fin.size() != shown.bars.size())
        return QStringLiteral("%1 bars drawn").arg(shown.bars.size());
    for (int i = 0; i < fin.size(); ++i) {
        const auto it = expected.find(shown.bars[i].id);
        const double want = it == expected.end() ? 0.0 : it->second;
        if (std::abs(fin[i] - want) > 1e-5)
            return QStringLiteral("bar %1 (id %2): drawn %3, engine %4").arg(i).arg(shown.bars[i].id).arg(fin[i]).arg(want);
    }
    return {};
}

} // namespace

class TstLlamaCppControls : public QObject {
    Q_OBJECT
private slots:
    void initTestCase() { QStandardPaths::setTestModeEnabled(true); }

    void eachSamplerReachesTheBars()
    {
        REQUIRE_TEST_MODEL(path);
        InferenceController controller;
        MainWindow w(&controller, MainWindow::Options{false});
        w.show();
        READ_PROMPT_IN_WINDOW(w, path, kPrompt);
        SamplingPanel* panel = w.samplingPanel();
        struct Case {
            const char* name;
            std::function<void(SamplingParams&)> edit;
        };
        const Case cases[] = {
            {"xtc", [](SamplingParams& p) { p.xtcProbability = 1.0; p.xtcThreshold = 0.02; }},
            {"top_n_sigma", [](SamplingParams& p) { p.topNSigma = 1.0; }},
            {"dynatemp", [](SamplingParams& p) { p.temperature = 1.2; p.dynatempRange = 0.8; p.dynatempExponent = 2.0; }},
            {"dry", [](SamplingParams& p) { p.dryMultiplier = 0.8; p.dryAllowedLength = 1; }},
            {"mirostat_v2", [](SamplingParams& p) { p.order = SamplerOrder::LlamaCpp; p.mirostat = 2; p.mirostatTau = 3.0; }},
            {"mirostat", [](SamplingParams& p) { p.order = SamplerOrder::LlamaCpp; p.mirostat = 1; p.mirostatTau = 4.0; }},
        };
        for (const Case& c : cases) {
            SamplingParams p; // each sampler on its own, in llama.cpp's order
            p.order = SamplerOrder::LlamaCpp;
            c.edit(p);
            panel->setParams(p);
            // setParams moves the controls without a signal; nudge one control so the panel sends them all.
            emit panel->paramsEdited(panel->params());
            QTRY_VERIFY2_WITH_TIMEOUT(controller.sampling() == p && !controller.isBusy(), c.name, kTimeout);
            float mu = NAN;
            const auto expected = engineFinal(path, p, &mu);
            QTRY_VERIFY2_WITH_TIMEOUT(barsMismatch(w.probabilityPanel(), expected).isEmpty(),
                                      qPrintable(c.name + QStringLiteral(": ") + barsMismatch(w.probabilityPanel(), expected)),
                                      10000);
            bool inStrip = false;
            QStringList names;
            for (const auto& s : w.probabilityPanel()->shown().stages) {
                inStrip |= s.name == QString::fromLatin1(c.name).replace(QLatin1Char('_'), QLatin1Char('-'));
                names << s.name;
            }
            QVERIFY2(inStrip, qPrintable(QString::fromLatin1(c.name) + QStringLiteral(" not among ") + names.join(QStringLiteral(", "))));
            if (p.mirostat != 0) {
                // The first step starts at mu = 2 tau; the panel shows the stage's state line.
                const QString state = panel->mirostatState();
                QVERIFY2(state.contains(QStringLiteral("mu %1").arg(2.0 * p.mirostatTau, 0, 'f', 4)), qPrintable(state));
                QVERIFY(std::isfinite(mu));
            }
        }
    }

    void logitBiasBansAToken()
    {
        REQUIRE_TEST_MODEL(path);
        InferenceController controller;
        MainWindow w(&controller, MainWindow::Options{false});
        w.show();
        READ_PROMPT_IN_WINDOW(w, path, kPrompt);
        ProbabilityPanel* bars = w.probabilityPanel();
        QTRY_VERIFY_WITH_TIMEOUT(bars->shown().bars.size() >= 10, kTimeout);
        const int32_t top = bars->shown().bars.first().id;
        auto* bias = w.samplingPanel()->findChild<QLineEdit*>(QStringLiteral("logitBias"));
        QVERIFY(bias);
        bias->setText(QStringLiteral("%1=-inf, 7=1.5").arg(top));
        QTRY_VERIFY_WITH_TIMEOUT(controller.sampling().logitBias.size() == 2 && !controller.isBusy(), kTimeout);
        QCOMPARE(controller.sampling().logitBias[0].id, top);
        QVERIFY(std::isinf(controller.sampling().logitBias[0].bias) && controller.sampling().logitBias[0].bias < 0);
        QTRY_VERIFY_WITH_TIMEOUT(bars->shown().bars.first().id == top && !bars->shown().bars.first().removedBy.isEmpty(),
                                 kTimeout);
        QCOMPARE(bars->shown().bars.first().removedBy, QStringLiteral("logit-bias"));
        QCOMPARE(bars->finalValues().first(), 0.0);
        const auto expected = engineFinal(path, controller.sampling());
        QTRY_VERIFY2_WITH_TIMEOUT(barsMismatch(bars, expected).isEmpty(), qPrintable(barsMismatch(bars, expected)), 10000);

        // A bias that is not a number is refused next to the control; the ban in force stays.
        bias->setText(QStringLiteral("%1=lots").arg(top));
        QTRY_VERIFY_WITH_TIMEOUT(!w.samplingPanel()->errorFor(QStringLiteral("logit_bias")).isEmpty(), kTimeout);
        QCOMPARE(controller.sampling().logitBias.size(), size_t(2));
    }

    void mirostatOutsideLlamaCppOrderIsRefused()
    {
        REQUIRE_TEST_MODEL(path);
        InferenceController controller;
        MainWindow w(&controller, MainWindow::Options{false});
        w.show();
        READ_PROMPT_IN_WINDOW(w, path, kPrompt);
        auto* mirostat = w.samplingPanel()->findChild<QComboBox*>(QStringLiteral("mirostat"));
        QVERIFY(mirostat);
        mirostat->setCurrentIndex(mirostat->findData(2)); // the order is still Hugging Face's
        QTRY_VERIFY_WITH_TIMEOUT(!w.samplingPanel()->errorFor(QStringLiteral("mirostat")).isEmpty(), kTimeout);
        QVERIFY2(w.samplingPanel()->errorFor(QStringLiteral("mirostat")).contains(QStringLiteral("llama.cpp")),
                 qPrintable(w.samplingPanel()->errorFor(QStringLiteral("mirostat"))));
        QCOMPARE(controller.sampling().mirostat, 0);
    }
};

QTEST_MAIN(TstLlamaCppControls)
#include "tst_llamacpp_controls.moc"
