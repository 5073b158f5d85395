// The GGUF block formats, element by element: dequantize() against a second reading of ggml's block
// layouts (ggml-common.h) written per element rather than per loop, on random blocks; quantize() then
// dequantize() on Gaussian data, whose error must fall as the bits rise; llama.cpp's fallback types.
#include "common/dtype.h"
#include "common/quantize.h"

#include <QtTest>

#include <cmath>
#include <cstring>
#include <iterator>
#include <map>
#include <random>
#include <vector>

using namespace logitscope;

namespace {

const DType kBlockTypes[] = {DType::Q8_0, DType::Q4_0, DType::Q4_1, DType::Q5_0, DType::Q5_1, DType::Q2_K,
                             DType::Q3_K, DType::Q4_K, DType::Q5_K, DType::Q6_K, DType::IQ4_NL, DType::IQ4_XS};

float half(const uint8_t* p)
{
    uint16_t h;
    std::memcpy(&h, p, 2);
    return fp16ToFp32(h);
}

int bits(const uint8_t* bytes, int bit, int count) // `count` bits from bit index `bit` (little-endian)
{
    int v = 0;
    for (int i = 0; i < count; ++i)
        v |= ((bytes[(bit + i) / 8] >> ((bit + i) % 8)) & 1) << i;
    return v;
}

// The 6-bit scale and minimum j (0-7) of Q4_K / Q5_K: j < 4 in the low six bits of bytes j and j + 4;
// j >= 4 as a nibble in byte j + 4 (scale low, minimum high) plus the top two bits of bytes j - 4 / j.
void kScaleMin(const uint8_t* s, int j, int& sc, int& mn)
{
    if (j < 4) {
        sc = bits(s + j, 0, 6);
        mn = bits(s + j + 4, 0, 6);
    } else {
        sc = bits(s + j + 4, 0, 4) | (bits(s + j - 4, 6, 2) << 4);
        mn = bits(s + j + 4, 4, 4) | (bits(s + j, 6, 2) << 4);
    }
}

// Element e of one block, straight from the layout.
float element(DType t, const uint8_t* b, int e)
{
    // 32-element formats: element e < 16 is the low nibble of byte e, e >= 16 the high nibble of byte e - 16.
    const auto nibble32 = [](const uint8_t* qs, int e) { return bits(qs + e % 16, 4 * (e / 16), 4); };
    // 256-element formats: element e = 128h + 32j + l.
    const int h = e / 128, j = (e % 128) / 32, l = e % 32;
    switch (t) {
    case DType::Q8_0: return half(b) * float(int8_t(b[2 + e]));
    case DType::Q4_0: return half(b) * float(nibble32(b + 2, e) - 8);
    case DType::Q4_1: return half(b) * float(nibble32(b + 4, e)) + half(b + 2);
    case DType::Q5_0: return half(b) * float((nibble32(b + 6, e) | (bits(b + 2, e, 1) << 4)) - 16);
    case DType::Q5_1: return half(b) * float(nibble32(b + 8, e) | (bits(b + 4, e, 1) << 4)) + half(b + 2);
    case DType::IQ4_NL: return half(b) * float(kIq4nlValues[nibble32(b + 2, e)]);
    case DType::Q2_K: { // scales[16] (scale low nibble, minimum high) per 16 values, qs[64], d, dmin
        const uint8_t s = b[e / 16];
        const int q = bits(b + 16 + 32 * h + l, 2 * j, 2);
        return half(b + 80) * float(s & 15) * float(q) - half(b + 82) * float(s >> 4);
    }
    case DType::Q3_K: { // hmask[32], qs[64], scales[12], d
        const int s = e / 16;
        // Sixteen 6-bit scales: low nibbles of bytes 0-7 hold scales 0-7, their high nibbles scales 8-15;
        // bytes 8-11 hold the top two bits, scale s at bits 2(s / 4) of byte 8 + s % 4. Stored + 32.
        const int scale = (bits(b + 96 + s % 8, 4 * (s / 8), 4) | (bits(b + 104 + s % 4, 2 * (s / 4), 2) << 4)) - 32;
        const int q = bits(b + 32 + 32 * h + l, 2 * j, 2) - (bits(b + l, 4 * h + j, 1) ? 0 : 4);
        return half(b + 108) * float(scale) * float(q);
    }
    case DType::Q4_K:
    case DType::Q5_K: { // d, dmin, scales[12], (Q5_K: qh[32]), qs[128]; groups of 64 share 32 bytes
        const int g = e / 64, upper = (e % 64) / 32, i = e % 32;
        int sc, mn;
        kScaleMin(b + 4, 2 * g + upper, sc, mn);
        const uint8_t* qs = b + (t == DType::Q5_K ? 48 : 16);
        int q = bits(qs + 32 * g + i, 4 * upper, 4);
        if (t == DType::Q5_K)
            q |= bits(b + 16 + i, 2 * g + upper, 1) << 4;
        return half(b) * float(sc) * float(q) - half(b + 2) * float(mn);
    }
    case DType::Q6_K: { // ql[128], qh[64], int8 scales[16], d
        const int low = bits(b + 64 * h + 32 * (j % 2) + l, 4 * (j / 2), 4);
        const int high = bits(b + 128 + 32 * h + l, 2 * j, 2);
        return half(b + 208) * float(int8_t(b[192 + e / 16])) * float((low | (high << 4)) - 32);
    }
    case DType::IQ4_XS: { // d, scales_h (2 bits per 32), scales_l (a nibble per 32), qs[128]
        const int g = e / 32;
        const int ls = bits(b + 4, 4 * g, 4) | (bits(b + 2, 2 * g, 2) << 4);
        return half(b) * float(ls - 32) * float(kIq4nlValues[nibble32(b + 8 + 16 * g, e % 32)]);
    }
    default: return NAN;
    }
}

// Offsets of a format's fp16 scales, so random blocks can carry small finite ones.
std::vector<int> halfOffsets(DType t)
{
    switch (t) {
    case DType::Q4_1: case DType::Q5_1: case DType::Q4_K: case DType::Q5_K: return {0, 2};
    case DType::Q2_K: return {80, 82};
    case DType::Q3_K: return {108};
    case DType::Q6_K: return {208};
    default: return {0};
    }
}

std::vector<float> gaussian(int n, std::mt19937& rng)
{
    std::normal_distribution<float> dist(0.0f, 1.0f);
    std::vector<float> v(static_cast<size_t>(n));
    for (float& x : v)
        x = dist(rng);
    // A few outliers, as trained weights have.
    for (int i = 0; i < n; i += 97)
        v[size_t(i)] *= 4.0f;
    return v;
}

double relativeRmse(const std::vector<float>& a, const std::vector<float>& b)
{
    double err = 0, ref = 0;
    for (size_t i = 0; i < a.size(); ++i) {
        err += (double(a[i]) - b[i]) * (double(a[i]) - b[i]);
        ref += double(a[i]) * a[i];
    }
    return std::sqrt(err / ref);
}

} // namespace

class TstQuantBlocks : public QObject {
    Q_OBJECT
private slots:
    void tables();
    void decodesLayout_data();
    void decodesLayout();
    void roundTrip();
    void zerosStayZero();
    void fallbackTypes();
};

void TstQuantBlocks::tables()
{
    // Block sizes and bytes as ggml defines them (bits per weight: 8.5, 4.5, 5, 5.5, 6, 2.625, 3.4375,
    // 4.5, 5.5, 6.5625, 4.5, 4.25).
    const struct { DType t; int size; size_t bytes; } expected[] = {
        {DType::Q8_0, 32, 34}, {DType::Q4_0, 32, 18}, {DType::Q4_1, 32, 20}, {DType::Q5_0, 32, 22},
        {DType::Q5_1, 32, 24}, {DType::Q2_K, 256, 84}, {DType::Q3_K, 256, 110}, {DType::Q4_K, 256, 144},
        {DType::Q5_K, 256, 176}, {DType::Q6_K, 256, 210}, {DType::IQ4_NL, 32, 18}, {DType::IQ4_XS, 256, 136},
    };
    for (const auto& e : expected) {
        QCOMPARE(dtypeBlockSize(e.t), e.size);
        QCOMPARE(dtypeBlockBytes(e.t), e.bytes);
    }
}

void TstQuantBlocks::decodesLayout_data()
{
    QTest::addColumn<int>("type");
    for (DType t : kBlockTypes)
        QTest::newRow(dtypeName(t)) << int(t);
}

void TstQuantBlocks::decodesLayout()
{
    QFETCH(int, type);
    const DType t = DType(type);
    std::mt19937 rng(uint32_t(type + 1));
    std::uniform_int_distribution<int> byte(0, 255);
    std::uniform_real_distribution<float> scale(-0.05f, 0.05f);
    const int blocks = 40, bs = dtypeBlockSize(t);
    const size_t bb = dtypeBlockBytes(t);
    std::vector<uint8_t> bytes(bb * blocks);
    for (auto& v : bytes)
        v = uint8_t(byte(rng));
    for (int k = 0; k < blocks; ++k)
        for (int off : halfOffsets(t)) {
            const uint16_t h = fp32ToFp16(scale(rng));
            std::memcpy(&bytes[k * bb + size_t(off)], &h, 2);
        }
    std::vector<float> out(size_t(blocks) * bs);
    dequantize(t, bytes.data(), out.data(), int64_t(out.size()));
    for (int k = 0; k < blocks; ++k)
        for (int e = 0; e < bs; ++e) {
            const float want = element(t, &bytes[k * bb], e), got = out[size_t(k) * bs + e];
            if (std::fabs(want - got) > 1e-6f * std::max(1.0f, std::fabs(want)))
                QFAIL(qPrintable(QString("block %1 element %2: %3, expected %4").arg(k).arg(e).arg(got).arg(want)));
        }
}

void TstQuantBlocks::roundTrip()
{
    // Relative RMS error of quantize → dequantize on Gaussian weights: each format within a bound set
    // a little above its measured value, and more bits never lose more.
    const struct { DType t; double bound; } formats[] = {
        {DType::Q2_K, 0.45}, {DType::Q3_K, 0.25}, {DType::Q4_0, 0.13}, {DType::IQ4_NL, 0.13}, {DType::IQ4_XS, 0.13},
        {DType::Q4_1, 0.11}, {DType::Q4_K, 0.11}, {DType::Q5_0, 0.065}, {DType::Q5_1, 0.055}, {DType::Q5_K, 0.055},
        {DType::Q6_K, 0.03}, {DType::Q8_0, 0.008},
    };
    std::mt19937 rng(5);
    const auto x = gaussian(256 * 64, rng);
    std::map<DType, double> error;
    for (const auto& f : formats) {
        std::vector<uint8_t> bytes(dtypeBytes(f.t, int64_t(x.size())));
        quantize(f.t, x.data(), bytes.data(), int64_t(x.size()));
        std::vector<float> y(x.size());
        dequantize(f.t, bytes.data(), y.data(), int64_t(y.size()));
        const double e = relativeRmse(x, y);
        qInfo("%-7s relative RMS error %.4f (bound %.3f)", dtypeName(f.t), e, f.bound);
        QVERIFY2(e < f.bound, dtypeName(f.t));
        error[f.t] = e;
    }
    const DType byBits[] = {DType::Q2_K, DType::Q3_K, DType::Q4_K, DType::Q5_K, DType::Q6_K, DType::Q8_0};
    for (size_t i = 1; i < std::size(byBits); ++i)
        QVERIFY2(error[byBits[i]] < error[byBits[i - 1]], dtypeName(byBits[i]));
}

void TstQuantBlocks::zerosStayZero()
{
    const std::vector<float> zeros(256, 0.0f);
    for (DType t : kBlockTypes) {
        std::vector<uint8_t> bytes(dtypeBytes(t, 256));
        quantize(t, zeros.data(), bytes.data(), 256);
        std::vector<float> y(256, 1.0f);
        dequantize(t, bytes.data(), y.data(), 256);
        for (float v : y)
            QVERIFY2(v == 0.0f, dtypeName(t));
    }
}

void TstQuantBlocks::fallbackTypes()
{
    // SmolLM2-135M's rows are 576 wide, not a whole number of 256-value blocks.
    QCOMPARE(quantFallback(DType::Q4_K, 576), DType::Q5_0);
    QCOMPARE(quantFallback(DType::Q5_K, 576), DType::Q5_1);
    QCOMPARE(quantFallback(DType::Q6_K, 576), DType::Q8_0);
    QCOMPARE(quantFallback(DType::Q2_K, 576), DType::IQ4_NL);
    QCOMPARE(quantFallback(DType::Q3_K, 576), DType::IQ4_NL);
    QCOMPARE(quantFallback(DType::IQ4_XS, 576), DType::IQ4_NL);
    QCOMPARE(quantFallback(DType::Q4_K, 2048), DType::Q4_K);
    QCOMPARE(quantFallback(DType::Q8_0, 576), DType::Q8_0);
}

QTEST_APPLESS_MAIN(TstQuantBlocks)
#include "tst_quant_blocks.moc"
