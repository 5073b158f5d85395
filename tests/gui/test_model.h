// Which model the GUI tests open: the shared reference model when ../shared is there, else the
// bundled default model. Tests skip (QSKIP) with a clear message when neither exists.
#pragma once

#include "models/inference_controller.h"
#include "models/model_locator.h"
#include "shared_data.h"

#include <QFileInfo>
#include <QSignalSpy>
#include <QString>
#include <QTest>

namespace logitscope::test {

inline QString guiTestModel()
{
    if (haveShared("models/ref-llama-spm"))
        return QString::fromStdString(sharedPath("models/ref-llama-spm"));
    return logitscope::gui::findDefaultModel();
}

// Opens `path` on the CPU (keys and values stored as kvType, matrices requantized to `weights` unless
// empty) and waits for it: false after 30 s.
[[nodiscard]] inline bool loadOnCpu(logitscope::gui::InferenceController& c, const QString& path,
                                    const QString& kvType = QStringLiteral("f32"), const QString& weights = {})
{
    QSignalSpy loaded(&c, &logitscope::gui::InferenceController::modelLoadFinished);
    c.loadModel(path, QStringLiteral("cpu"), 0, kvType, weights);
    return QTest::qWaitFor([&] { return loaded.count() == 1; }, 30000);
}

} // namespace logitscope::test

#define REQUIRE_TEST_MODEL(var)                                                                            \
    const QString var = logitscope::test::guiTestModel();                                                  \
    if (var.isEmpty())                                                                                     \
        QSKIP(qPrintable(QString("no model: neither %1 nor the bundled default model exists "             \
                                 "(set LOGITSCOPE_SHARED_DIR)")                                            \
                             .arg(QString::fromStdString(logitscope::test::sharedPath("models/ref-llama-spm")))));
