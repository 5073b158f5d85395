// EmbeddingIndex against brute force: rows and norms as stored, nearest neighbours by cosine (the token
// itself first with cosine 1, then the same top-10 a double-precision scan finds), tied-head detection,
// and gpt2's position rows — on random models of every matrix dtype and on the reference model (../shared).
#include "lens_test_support.h"

#include "common/error.h"
#include "model/embeddings.h"
#include "model/synthetic_model.h"
#include "shared_data.h"

#include <QtTest>

#include <algorithm>
#include <numeric>

using namespace logitscope;

namespace {

// Brute-force top-k cosine neighbours of row id, in double (ties: lower id first).
std::vector<std::pair<int32_t, double>> bruteNearest(const Model& m, int32_t id, int k)
{
    const std::vector<double> e = test::asDoubles(m.weights().tokenEmbedding);
    const size_t V = size_t(m.weights().tokenEmbedding.rows()), C = size_t(m.weights().tokenEmbedding.cols());
    auto normOf = [&](size_t r) {
        double s = 0;
        for (size_t i = 0; i < C; ++i)
            s += e[r * C + i] * e[r * C + i];
        return std::sqrt(s);
    };
    const double q = normOf(size_t(id));
    std::vector<double> cos(V);
    for (size_t r = 0; r < V; ++r) {
        double d = 0;
        for (size_t i = 0; i < C; ++i)
            d += e[r * C + i] * e[size_t(id) * C + i];
        const double n = normOf(r) * q;
        cos[r] = n > 0 ? d / n : 0.0;
    }
    std::vector<int32_t> ids(V);
    std::iota(ids.begin(), ids.end(), 0);
    std::partial_sort(ids.begin(), ids.begin() + k, ids.end(), [&](int32_t a, int32_t b) {
        return cos[size_t(a)] > cos[size_t(b)] || (cos[size_t(a)] == cos[size_t(b)] && a < b);
    });
    std::vector<std::pair<int32_t, double>> out;
    for (int i = 0; i < k; ++i)
        out.push_back({ids[size_t(i)], cos[size_t(ids[size_t(i)])]});
    return out;
}

void checkAgainstBruteForce(const std::shared_ptr<const Model>& m, const std::vector<int32_t>& ids)
{
    EmbeddingIndex index(m, 2);
    const std::vector<double> e = test::asDoubles(m->weights().tokenEmbedding);
    const int C = index.dim();
    for (int32_t id : ids) {
        // row and norm are the stored row, converted
        const std::vector<float> row = index.row(id);
        double ss = 0;
        for (int i = 0; i < C; ++i) {
            QCOMPARE(double(row[size_t(i)]), e[size_t(id) * C + i]);
            ss += e[size_t(id) * C + i] * e[size_t(id) * C + i];
        }
        QVERIFY(std::fabs(index.norm(id) - std::sqrt(ss)) < 1e-5 * std::max(1.0, std::sqrt(ss)));

        const std::vector<Neighbour> near = index.nearest(id, 10);
        QCOMPARE(int(near.size()), 10);
        QCOMPARE(near.front().id, id);
        QCOMPARE(near.front().cosine, 1.0f);
        for (size_t i = 1; i < near.size(); ++i)
            QVERIFY(near[i - 1].cosine >= near[i].cosine);
        const auto want = bruteNearest(*m, id, 10);
        for (size_t i = 1; i < want.size(); ++i) {
            QVERIFY2(near[i].id == want[i].first,
                     qPrintable(QString("id %1, neighbour %2: %3 (%4) vs brute force %5 (%6)")
                                    .arg(id).arg(i).arg(near[i].id).arg(near[i].cosine).arg(want[i].first).arg(want[i].second)));
            QVERIFY(std::fabs(near[i].cosine - want[i].second) < 1e-5);
        }
        // Querying with the row itself as a vector finds the same neighbours.
        const std::vector<Neighbour> byVector = index.nearest(row, 3);
        QCOMPARE(byVector.front().id, id);
        QVERIFY(std::fabs(byVector.front().cosine - 1.0f) < 1e-5);
        QCOMPARE(byVector[1].id, near[1].id);
    }
}

} // namespace

class TestEmbeddings : public QObject {
    Q_OBJECT

private slots:
    void nearestMatchesBruteForce_data()
    {
        QTest::addColumn<int>("dtype");
        QTest::newRow("f32") << int(DType::F32);
        QTest::newRow("f16") << int(DType::F16);
        QTest::newRow("bf16") << int(DType::BF16);
        QTest::newRow("q8_0") << int(DType::Q8_0);
        QTest::newRow("q4_0") << int(DType::Q4_0);
    }
    void nearestMatchesBruteForce()
    {
        QFETCH(int, dtype);
        const ModelConfig c = syntheticConfig(Architecture::Llama, 1000, 64, 1, 4, 4, 64);
        checkAgainstBruteForce(SyntheticModelBuilder::build(c, DType(dtype), 11), {0, 1, 500, 999});
    }

    void tiedHeadAndPositions()
    {
        const auto untied = SyntheticModelBuilder::build(syntheticConfig(Architecture::Llama, 100, 32, 1, 4, 4, 32), DType::F32);
        const auto tied = SyntheticModelBuilder::build(syntheticConfig(Architecture::Qwen2, 100, 32, 1, 4, 2, 32, 64, true), DType::F16);
        const auto gpt2 = SyntheticModelBuilder::build(syntheticConfig(Architecture::Gpt2, 100, 32, 1, 4, 4, 32, 64), DType::F16);
        QVERIFY(!EmbeddingIndex(untied, 1).tiedToHead());
        QVERIFY(EmbeddingIndex(tied, 1).tiedToHead());
        EmbeddingIndex g(gpt2, 1);
        QVERIFY(g.tiedToHead());
        QVERIFY(!EmbeddingIndex(untied, 1).hasPositions());
        QVERIFY(g.hasPositions());
        QCOMPARE(g.positions(), 64);
        const std::vector<double> pos = test::asDoubles(gpt2->weights().positionEmbedding);
        const std::vector<float> p5 = g.positionRow(5), row = g.row(7), in = g.inputRow(7, 5);
        for (int i = 0; i < 32; ++i) {
            QCOMPARE(double(p5[size_t(i)]), pos[size_t(5 * 32 + i)]);
            QCOMPARE(in[size_t(i)], row[size_t(i)] + p5[size_t(i)]);
        }
        QCOMPARE(EmbeddingIndex(untied, 1).inputRow(7, 5), EmbeddingIndex(untied, 1).row(7));
        QVERIFY_THROWS_EXCEPTION(Error, g.positionRow(64));
        QVERIFY_THROWS_EXCEPTION(Error, g.row(100));
        QVERIFY_THROWS_EXCEPTION(Error, g.nearest(-1));
        QVERIFY_THROWS_EXCEPTION(Error, g.nearest(std::vector<float>(31, 1.0f)));
    }

    void duplicateRowsPutTheTokenFirst()
    {
        // Untrained vocabularies often hold identical rows: the token itself still comes first, its twins next.
        const ModelConfig c = syntheticConfig(Architecture::Llama, 50, 32, 1, 4, 4, 32);
        auto m = SyntheticModelBuilder::build(c, DType::F32, 3);
        auto* table = static_cast<float*>(const_cast<void*>(m->weights().tokenEmbedding.data));
        for (int32_t twin : {10, 20, 30})
            std::copy_n(table + 40 * 32, 32, table + twin * 32);
        EmbeddingIndex index(m, 2);
        const std::vector<Neighbour> near = index.nearest(20, 4);
        QCOMPARE(near[0].id, 20);
        std::vector<int32_t> twins = {near[1].id, near[2].id, near[3].id};
        QCOMPARE(twins, (std::vector<int32_t>{10, 30, 40}));
        for (const Neighbour& n : near)
            QVERIFY(std::fabs(n.cosine - 1.0f) < 1e-6);
    }

    void referenceModel()
    {
        REQUIRE_SHARED("models/ref-llama-spm.gguf");
        auto m = Model::load(test::sharedPath("models/ref-llama-spm.gguf"));
        QVERIFY(!EmbeddingIndex(m, 1).tiedToHead());
        checkAgainstBruteForce(m, {1, 2, 100, m->tokenizer().findToken("▁the"), m->config().vocabSize - 1});
    }
};

QTEST_GUILESS_MAIN(TestEmbeddings)
#include "tst_embeddings.moc"
