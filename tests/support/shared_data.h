// Where the reference data lives (../shared beside the checkout, or $LOGITSCOPE_SHARED_DIR).
// Tests that need it skip with a clear message when it is missing; they never pass silently.
#pragma once

#include <cstdlib>
#include <filesystem>
#include <string>

namespace logitscope::test {

inline std::string sharedDir()
{
    if (const char* env = std::getenv("LOGITSCOPE_SHARED_DIR"); env && *env)
        return env;
    return LOGITSCOPE_SHARED_DIR;
}

inline std::string sharedPath(const std::string& rel) { return sharedDir() + "/" + rel; }

inline bool haveShared(const std::string& rel) { return std::filesystem::exists(sharedPath(rel)); }

} // namespace logitscope::test

// Inside a Qt Test slot: skip unless ../shared/<rel> exists.
#define REQUIRE_SHARED(rel)                                                                   \
    do {                                                                                      \
        if (!logitscope::test::haveShared(rel))                                               \
            QSKIP(qPrintable(QString("reference data missing: %1 (set LOGITSCOPE_SHARED_DIR)") \
                                 .arg(QString::fromStdString(logitscope::test::sharedPath(rel))))); \
    } while (0)
