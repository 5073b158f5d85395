// StopMatcher: stop strings split across pieces, held-back text, the earliest of several stops, UTF-8
// characters never cut, flush at the end; FinishReason names.
#include "decoding/finish_reason.h"
#include "decoding/stop_matcher.h"

#include <QtTest>

using namespace logitscope;

namespace {

// Feeds the pieces and returns what was released at each one.
std::vector<std::string> feedAll(StopMatcher& m, const std::vector<std::string>& pieces)
{
    std::vector<std::string> out;
    for (const std::string& p : pieces)
        out.push_back(m.feed(p).text);
    return out;
}

} // namespace

class TstStopMatcher : public QObject {
    Q_OBJECT
private slots:
    void noStops()
    {
        StopMatcher m;
        QCOMPARE(feedAll(m, {"Hello", " world"}), (std::vector<std::string>{"Hello", " world"}));
        QVERIFY(!m.stopped());
        QCOMPARE(m.flush(), std::string());
        QCOMPARE(m.text(), std::string("Hello world"));
    }

    void stopInsideOnePiece()
    {
        StopMatcher m({"END"});
        const StopFeed f = m.feed("abcENDxyz");
        QVERIFY(f.stopped);
        QCOMPARE(f.stopIndex, 0);
        QCOMPARE(f.text, std::string("abc"));
        QCOMPARE(m.text(), std::string("abc"));
        QCOMPARE(m.stopString(), std::string("END"));
        // Later pieces are ignored.
        const StopFeed g = m.feed("more");
        QVERIFY(g.stopped);
        QVERIFY(g.text.empty());
        QCOMPARE(m.flush(), std::string());
        QCOMPARE(m.text(), std::string("abc"));
    }

    void stopSplitAcrossPieces()
    {
        // "###" arrives as "a#", "#", "#b": the partial "#", "##" are held back, never shown.
        StopMatcher m({"###"});
        StopFeed f = m.feed("a#");
        QCOMPARE(f.text, std::string("a"));
        QCOMPARE(m.pending(), std::string("#"));
        f = m.feed("#");
        QCOMPARE(f.text, std::string());
        QCOMPARE(m.pending(), std::string("##"));
        f = m.feed("#b");
        QVERIFY(f.stopped);
        QCOMPARE(f.text, std::string());
        QCOMPARE(m.text(), std::string("a"));
    }

    void heldBackTextReleasedWhenItDiverges()
    {
        StopMatcher m({"\n\nUser:"});
        QCOMPARE(m.feed("Sure.\n").text, std::string("Sure."));
        QCOMPARE(m.feed("\nUs").text, std::string());
        QCOMPARE(m.pending(), std::string("\n\nUs"));
        // "\n\nUsb" can no longer become the stop: all of it is released.
        QCOMPARE(m.feed("b").text, std::string("\n\nUsb"));
        QVERIFY(!m.stopped());
        QCOMPARE(m.feed("\n\nUser: hi").text, std::string());
        QVERIFY(m.stopped());
        QCOMPARE(m.text(), std::string("Sure.\n\nUsb"));
    }

    void heldBackReleasedByFlush()
    {
        StopMatcher m({"STOP"});
        QCOMPARE(m.feed("the end ST").text, std::string("the end "));
        QCOMPARE(m.flush(), std::string("ST"));
        QCOMPARE(m.text(), std::string("the end ST"));
    }

    void earliestOfSeveral()
    {
        StopMatcher m({"world", "lo w", "o"});
        const StopFeed f = m.feed("hello world");
        QVERIFY(f.stopped);
        QCOMPARE(f.stopIndex, 1); // "lo w" starts at 3, before "o" (4) and "world" (6)
        QCOMPARE(f.text, std::string("hel"));
    }

    void overlappingPrefixes()
    {
        // Two stops sharing a prefix; the held-back part is the longest possible start.
        StopMatcher m({"abcd", "bcx"});
        QCOMPARE(m.feed("zab").text, std::string("z"));
        QCOMPARE(m.feed("c").text, std::string());
        const StopFeed f = m.feed("x");
        QVERIFY(f.stopped);
        QCOMPARE(f.stopIndex, 1);
        QCOMPARE(m.text(), std::string("za"));
    }

    void utf8NeverCut()
    {
        // "é" is C3 A9; a piece ending in C3 holds it back until the character is complete.
        StopMatcher m({"zzz"});
        QCOMPARE(m.feed("caf\xC3").text, std::string("caf"));
        QCOMPARE(m.feed("\xA9!").text, std::string("\xC3\xA9!"));
        // A 4-byte character in three pieces.
        QCOMPARE(m.feed("\xF0\x9F").text, std::string());
        QCOMPARE(m.feed("\x98").text, std::string());
        QCOMPARE(m.feed("\x80.").text, std::string("\xF0\x9F\x98\x80."));
        // A stop string with a multi-byte character, split inside it.
        StopMatcher n({"\xC3\xA9t\xC3\xA9"});
        QCOMPARE(n.feed("un \xC3").text, std::string("un "));
        QCOMPARE(n.feed("\xA9t\xC3").text, std::string());
        QVERIFY(n.feed("\xA9 chaud").stopped);
        QCOMPARE(n.text(), std::string("un "));
    }

    void resetAndEmptyStops()
    {
        StopMatcher m({"", "x"});
        QCOMPARE(m.stops().size(), size_t(1));
        QVERIFY(m.feed("axb").stopped);
        m.reset();
        QVERIFY(!m.stopped());
        QCOMPARE(m.feed("ab").text, std::string("ab"));
    }

    void finishReasonNames()
    {
        QCOMPARE(std::string(finishReasonName(FinishReason::Length)), std::string("length"));
        QCOMPARE(std::string(finishReasonName(FinishReason::Eos)), std::string("eos"));
        QCOMPARE(std::string(finishReasonName(FinishReason::Stop)), std::string("stop"));
        QCOMPARE(std::string(finishReasonName(FinishReason::Context)), std::string("context"));
        QCOMPARE(std::string(finishReasonName(FinishReason::None)), std::string("none"));
        for (FinishReason r : {FinishReason::None, FinishReason::Length, FinishReason::Eos, FinishReason::Stop, FinishReason::Context})
            QCOMPARE(finishReasonFromName(finishReasonName(r)), std::optional<FinishReason>(r));
        QVERIFY(!finishReasonFromName("timeout"));
    }
};

QTEST_APPLESS_MAIN(TstStopMatcher)
#include "tst_stop_matcher.moc"
