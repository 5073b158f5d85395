// Helpers for the tests that drive the whole window (offscreen): open a model on the CPU, type a
// prompt and read it with the toolbar's Step, as a user would. Not for tests of the models alone
// (test_model.h has what they need without a MainWindow).
#pragma once

#include "main_window.h"
#include "models/inference_controller.h"
#include "panels/prompt_panel.h"
#include "test_model.h"

#include <QAction>
#include <QTest>

namespace logitscope::test {

// Loads `path`, types `prompt` into the Prompt panel and presses Step ("Read prompt"); returns "" once the
// prompt is read and the live step's preview is there, else what did not happen within `timeoutMs`.
[[nodiscard]] inline QString readPromptInWindow(logitscope::gui::MainWindow& w, const QString& path, const QString& prompt,
                                                int timeoutMs = 60000)
{
    auto* c = w.controller();
    if (!loadOnCpu(*c, path))
        return QStringLiteral("the model %1 did not load").arg(path);
    w.promptPanel()->setPromptText(prompt);
    if (!QTest::qWaitFor([&] { return c->promptTokenCount() > 0 && w.stepAction()->isEnabled(); }, timeoutMs))
        return QStringLiteral("the prompt was not tokenized, or Step stayed disabled");
    w.stepAction()->trigger();
    if (!QTest::qWaitFor([&] { return c->isPrefilled() && c->preview().has_value() && !c->isBusy(); }, timeoutMs))
        return QStringLiteral("the prompt was not read (no prefill, or no preview of the first step)");
    return {};
}

} // namespace logitscope::test

// In a test function: fails it (and returns) unless the window read `prompt` on the model at `path`.
#define READ_PROMPT_IN_WINDOW(window, path, prompt)                                                        \
    do {                                                                                                   \
        const QString readError_ = logitscope::test::readPromptInWindow(window, path, prompt);             \
        QVERIFY2(readError_.isEmpty(), qPrintable(readError_));                                            \
    } while (false)
