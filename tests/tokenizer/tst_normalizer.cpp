// Normalizer steps of tokenizer.json: NFC composes decomposed accents, Lowercase is full Unicode,
// invalid UTF-8 passes through untouched for the byte fallback. Without ICU (LOGITSCOPE_ICU=OFF)
// ASCII still works and other text is refused with a message.
#include "common/error.h"
#include "tokenizer/normalizer.h"
#include "tokenizer/unicode_text.h"

#include <QtTest>

using namespace logitscope;

class TestNormalizer : public QObject {
    Q_OBJECT

private slots:
    void ascii()
    {
        QCOMPARE(toNfc("plain ascii"), std::string("plain ascii"));
        QCOMPARE(toLowercase("Hello, WORLD 42"), std::string("hello, world 42"));
        QCOMPARE(toNfc(""), std::string());
    }

#ifndef LOGITSCOPE_HAVE_ICU
    void withoutIcu()
    {
        QVERIFY_THROWS_EXCEPTION(Error, toNfc("Cafe\xcc\x81"));
        QVERIFY_THROWS_EXCEPTION(Error, toLowercase("\xc3\x80"));
    }
#else
    void nfc()
    {
        QCOMPARE(toNfc("Cafe\xcc\x81"), std::string("Caf\xc3\xa9"));          // e + U+0301 -> é
        QCOMPARE(toNfc("\xe1\x84\x80\xe1\x85\xa1"), std::string("\xea\xb0\x80")); // Hangul jamo -> 가
        QCOMPARE(toNfc("plain ascii"), std::string("plain ascii"));
        QCOMPARE(toNfc(std::string("a\xff" "b")), std::string("a\xff" "b"));  // invalid UTF-8 untouched
        QCOMPARE(toNfc(""), std::string());
    }

    void lowercase()
    {
        QCOMPARE(toLowercase("\xc3\x80" "BC \xce\xa3"), std::string("\xc3\xa0" "bc \xcf\x83")); // ÀBC Σ -> àbc σ
        QCOMPARE(toLowercase("ABC"), std::string("abc"));
    }

    void sequence()
    {
        Normalizer n;
        n.addNfc();
        n.addLowercase();
        std::string text = "E\xcc\x81T\xc3\x89";
        n.apply(text);
        QCOMPARE(text, std::string("\xc3\xa9t\xc3\xa9")); // ÉTÉ (decomposed first É) -> été
    }
#endif
};

QTEST_GUILESS_MAIN(TestNormalizer)
#include "tst_normalizer.moc"
