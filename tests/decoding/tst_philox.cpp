// Philox4x32-10 against Random123's published known-answer vectors, and the (seed, lane, step) mapping.
#include "decoding/philox.h"

#include <QtTest>

using namespace logitscope;

// The all-zero vector is checked at compile time too: the generator is constexpr.
static_assert(philox4x32_10({0, 0, 0, 0}, {0, 0}) == PhiloxCounter{0x6627e8d5u, 0xe169c58du, 0xbc57ac4cu, 0x9b00dbd8u});

class TstPhilox : public QObject {
    Q_OBJECT
private slots:
    void knownAnswers_data()
    {
        QTest::addColumn<QList<uint>>("ctr");
        QTest::addColumn<QList<uint>>("key");
        QTest::addColumn<QList<uint>>("expected");
        // Random123 tests/kat_vectors, philox4x32 10 rounds.
        QTest::newRow("zero") << QList<uint>{0, 0, 0, 0} << QList<uint>{0, 0}
                              << QList<uint>{0x6627e8d5u, 0xe169c58du, 0xbc57ac4cu, 0x9b00dbd8u};
        QTest::newRow("ones") << QList<uint>{0xffffffffu, 0xffffffffu, 0xffffffffu, 0xffffffffu}
                              << QList<uint>{0xffffffffu, 0xffffffffu}
                              << QList<uint>{0x408f276du, 0x41c83b0eu, 0xa20bc7c6u, 0x6d5451fdu};
        QTest::newRow("pi") << QList<uint>{0x243f6a88u, 0x85a308d3u, 0x13198a2eu, 0x03707344u}
                            << QList<uint>{0xa4093822u, 0x299f31d0u}
                            << QList<uint>{0xd16cfe09u, 0x94fdccebu, 0x5001e420u, 0x24126ea1u};
    }
    void knownAnswers()
    {
        QFETCH(QList<uint>, ctr);
        QFETCH(QList<uint>, key);
        QFETCH(QList<uint>, expected);
        const PhiloxCounter out = philox4x32_10({ctr[0], ctr[1], ctr[2], ctr[3]}, {key[0], key[1]});
        for (int i = 0; i < 4; ++i)
            QCOMPARE(uint(out[size_t(i)]), expected[i]);
    }

    void drawLayout()
    {
        // key = (seed lo, seed hi), counter = (step lo, step hi, lane lo, lane hi).
        const uint64_t seed = 0x0123456789abcdefull, lane = 0x1122334455667788ull, step = 0x99aabbccddeeff00ull;
        const PhiloxDraw d(seed, lane, step);
        const PhiloxCounter direct = philox4x32_10({0xddeeff00u, 0x99aabbccu, 0x55667788u, 0x11223344u},
                                                   {0x89abcdefu, 0x01234567u});
        QVERIFY(d.bits == direct);
        QCOMPARE(philoxUniform(seed, lane, step), d.uniform(0));
        QCOMPARE(d.uniform(1), float(direct[1] >> 8) / 16777216.0f);
        QCOMPARE(d.u64(1), (uint64_t(direct[2]) << 32) | direct[3]);
    }

    void uniformRange()
    {
        QCOMPARE(philoxToUniform(0u), 0.0f);
        QVERIFY(philoxToUniform(0xffffffffu) < 1.0f);
        QCOMPARE(philoxToUniform(0xffffffffu), 1.0f - 1.0f / 16777216.0f);
        QVERIFY(philoxToUniform53(0xffffffffu, 0xffffffffu) < 1.0);
        // Mean and variance of many draws look uniform.
        double sum = 0, sumSq = 0;
        const int n = 200000;
        for (int i = 0; i < n; ++i) {
            const double u = philoxUniform(7, 3, uint64_t(i));
            QVERIFY(u >= 0.0 && u < 1.0);
            sum += u;
            sumSq += u * u;
        }
        const double mean = sum / n, var = sumSq / n - mean * mean;
        QVERIFY(std::abs(mean - 0.5) < 0.005);
        QVERIFY(std::abs(var - 1.0 / 12.0) < 0.002);
    }

    void reproducibleAndDistinct()
    {
        QCOMPARE(philoxUniform(42, 0, 5), philoxUniform(42, 0, 5));
        QVERIFY(PhiloxDraw(42, 0, 5).bits != PhiloxDraw(42, 0, 6).bits);
        QVERIFY(PhiloxDraw(42, 0, 5).bits != PhiloxDraw(42, 1, 5).bits);
        QVERIFY(PhiloxDraw(42, 0, 5).bits != PhiloxDraw(43, 0, 5).bits);
    }
};

QTEST_APPLESS_MAIN(TstPhilox)
#include "tst_philox.moc"
