// A tiny assertion harness for tests that must run without Qt (the GPU host has none).
// CHECK records a failure and continues; main() returns 1 on any failure, 77 when skipped.
#pragma once

#include <cstdio>
#include <cstdlib>

namespace logitscope::test {
inline int& failures()
{
    static int n = 0;
    return n;
}
} // namespace logitscope::test

#define CHECK(cond)                                                                 \
    do {                                                                            \
        if (!(cond)) {                                                              \
            std::fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__, #cond); \
            ++logitscope::test::failures();                                         \
        }                                                                           \
    } while (0)

#define CHECK_MSG(cond, ...)                                                        \
    do {                                                                            \
        if (!(cond)) {                                                              \
            std::fprintf(stderr, "%s:%d: CHECK failed: %s: ", __FILE__, __LINE__, #cond); \
            std::fprintf(stderr, __VA_ARGS__);                                      \
            std::fputc('\n', stderr);                                               \
            ++logitscope::test::failures();                                         \
        }                                                                           \
    } while (0)

#define SKIP_TEST(...)                                                              \
    do {                                                                            \
        std::printf("SKIP: ");                                                      \
        std::printf(__VA_ARGS__);                                                   \
        std::printf("\n");                                                          \
        std::exit(77);                                                              \
    } while (0)

#define TEST_RESULT() (logitscope::test::failures() ? (std::printf("FAILED: %d checks\n", logitscope::test::failures()), 1) : (std::printf("PASSED\n"), 0))
