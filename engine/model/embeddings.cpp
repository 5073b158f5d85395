// EmbeddingIndex: row norms once, then per query one matvec over the mapped embedding matrix
// (the ops' per-dtype kernels, spread over the pool), cosines from the norms, and a partial sort.
#include "model/embeddings.h"

#include "common/error.h"
#include "model/model.h"
#include "model/ops.h"
#include "model/thread_pool.h"

#include <algorithm>
#include <cmath>
#include <numeric>

#if defined(__AVX2__) && defined(__FMA__) && defined(__F16C__)
#include <immintrin.h>
#endif

namespace logitscope {

namespace {

// |row|^2 of row r of table. F16 rows are read straight through F16C (the build's one pass over the whole
// matrix is otherwise dominated by scalar conversion); other dtypes are converted into `scratch` first.
float squaredNorm(const TensorView& table, int32_t r, std::vector<float>& scratch)
{
    const int C = int(table.cols());
#if defined(__AVX2__) && defined(__FMA__) && defined(__F16C__)
    if (table.type == DType::F16) {
        const auto* h = static_cast<const uint16_t*>(table.data) + size_t(r) * size_t(C);
        __m256 acc = _mm256_setzero_ps();
        int i = 0;
        for (; i + 8 <= C; i += 8) {
            const __m256 v = _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(h + i)));
            acc = _mm256_fmadd_ps(v, v, acc);
        }
        alignas(32) float lanes[8];
        _mm256_store_ps(lanes, acc);
        float s = 0;
        for (float l : lanes)
            s += l;
        for (; i < C; ++i)
            s += fp16ToFp32(h[i]) * fp16ToFp32(h[i]);
        return s;
    }
#endif
    scratch.resize(size_t(C));
    ops::embeddingGather(scratch.data(), table, &r, 1);
    return ops::dot(scratch.data(), scratch.data(), C);
}

} // namespace

EmbeddingIndex::EmbeddingIndex(std::shared_ptr<const Model> model, int threads)
    : m_model(std::move(model)), m_pool(std::make_unique<ThreadPool>(threads))
{
    const Weights& w = m_model->weights();
    const TensorView& table = w.tokenEmbedding;
    if (!table.data || table.shape.size() != 2)
        throw Error("embeddings: the model has no (V, C) token-embedding matrix");
    m_vocab = int(table.rows());
    m_dim = int(table.cols());
    if (w.positionEmbedding.data)
        m_positions = int(w.positionEmbedding.rows());

    // norms[v] = |row v|, rows converted to fp32 in chunks, one chunk per task           (V)
    m_norms.resize(size_t(m_vocab));
    constexpr int kChunk = 256;
    m_pool->parallelFor((m_vocab + kChunk - 1) / kChunk, [&](int task, int) {
        std::vector<float> scratch;
        for (int32_t v = task * kChunk; v < std::min(m_vocab, (task + 1) * kChunk); ++v)
            m_norms[size_t(v)] = std::sqrt(squaredNorm(table, v, scratch));
    });
    m_scores.resize(size_t(m_vocab));
}

EmbeddingIndex::~EmbeddingIndex() = default;

void EmbeddingIndex::checkId(int32_t id) const
{
    if (id < 0 || id >= m_vocab)
        throw Error("embeddings: token id " + std::to_string(id) + " is outside the vocabulary (0.." +
                    std::to_string(m_vocab - 1) + ")");
}

std::vector<float> EmbeddingIndex::row(int32_t id) const
{
    checkId(id);
    std::vector<float> out(static_cast<size_t>(m_dim));
    ops::embeddingGather(out.data(), m_model->weights().tokenEmbedding, &id, 1);
    return out;
}

float EmbeddingIndex::norm(int32_t id) const
{
    checkId(id);
    return m_norms[size_t(id)];
}

bool EmbeddingIndex::tiedToHead() const
{
    const Weights& w = m_model->weights();
    return m_model->config().tiedEmbeddings || (w.output.data && w.output.data == w.tokenEmbedding.data);
}

std::vector<float> EmbeddingIndex::positionRow(int pos) const
{
    if (pos < 0 || pos >= m_positions)
        throw Error("embeddings: position " + std::to_string(pos) + " is outside the model's " +
                    std::to_string(m_positions) + " learned positions");
    std::vector<float> out(static_cast<size_t>(m_dim));
    const int32_t p = pos;
    ops::embeddingGather(out.data(), m_model->weights().positionEmbedding, &p, 1);
    return out;
}

std::vector<float> EmbeddingIndex::inputRow(int32_t id, int pos) const
{
    std::vector<float> x = row(id);
    if (hasPositions()) {
        const std::vector<float> p = positionRow(pos);
        ops::add(x.data(), x.data(), p.data(), m_dim);
    }
    return x;
}

std::vector<Neighbour> EmbeddingIndex::nearest(int32_t id, int k) const
{
    const std::vector<float> v = row(id);
    return rank(v, m_norms[size_t(id)], id, k);
}

std::vector<Neighbour> EmbeddingIndex::nearest(std::span<const float> v, int k) const
{
    if (int(v.size()) != m_dim)
        throw Error("embeddings: a query vector needs " + std::to_string(m_dim) + " values, got " +
                    std::to_string(v.size()));
    return rank(v, std::sqrt(ops::dot(v.data(), v.data(), m_dim)), -1, k);
}

std::vector<Neighbour> EmbeddingIndex::rank(std::span<const float> v, float vNorm, int32_t self, int k) const
{
    std::lock_guard<std::mutex> lock(m_mutex);
    // scores = E v, then cosine = score / (|row| |v|), clamped to [-1, 1]                (V)
    ops::matvec(m_scores.data(), v.data(), m_model->weights().tokenEmbedding, nullptr, m_pool.get());
    for (int32_t j = 0; j < m_vocab; ++j) {
        const float d = m_norms[size_t(j)] * vNorm;
        m_scores[size_t(j)] = d > 0 ? std::clamp(m_scores[size_t(j)] / d, -1.0f, 1.0f) : 0.0f;
    }
    if (self >= 0 && vNorm > 0)
        m_scores[size_t(self)] = 1.0f; // exactly, whatever the rounding of |row|^2 / |row|^2

    k = std::clamp(k, 0, m_vocab);
    std::vector<int32_t> ids(static_cast<size_t>(m_vocab));
    std::iota(ids.begin(), ids.end(), 0);
    std::partial_sort(ids.begin(), ids.begin() + k, ids.end(), [&](int32_t a, int32_t b) {
        const float sa = m_scores[size_t(a)], sb = m_scores[size_t(b)];
        if (sa != sb)
            return sa > sb;
        if ((a == self) != (b == self))
            return a == self;
        return a < b;
    });
    std::vector<Neighbour> out;
    out.reserve(size_t(k));
    for (int i = 0; i < k; ++i)
        out.push_back({ids[size_t(i)], m_scores[size_t(ids[size_t(i)])]});
    return out;
}

} // namespace logitscope
