// Which model the GUI tests open: the shared reference model when ../shared is there, else the
// bundled default model. Tests skip (QSKIP) with a clear message when neither exists.
#pragma once

#include "models/model_locator.h"
#include "shared_data.h"

#include <QFileInfo>
#include <QString>

namespace logitscope::test {

inline QString guiTestModel()
{
    if (haveShared("models/ref-llama-spm"))
        return QString::fromStdString(sharedPath("models/ref-llama-spm"));
    return logitscope::gui::findDefaultModel();
}

} // namespace logitscope::test

#define REQUIRE_TEST_MODEL(var)                                                                            \
    const QString var = logitscope::test::guiTestModel();                                                  \
    if (var.isEmpty())                                                                                     \
        QSKIP(qPrintable(QString("no model: neither %1 nor the bundled default model exists "             \
                                 "(set LOGITSCOPE_SHARED_DIR)")                                            \
                             .arg(QString::fromStdString(logitscope::test::sharedPath("models/ref-llama-spm")))));
