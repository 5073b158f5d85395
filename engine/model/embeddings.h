// EmbeddingIndex: a model's input embedding matrix as something to look at — any token's row and norm,
// its nearest neighbours by cosine similarity, whether the same matrix is the LM head, and (gpt2) the
// learned position rows added to it before the first layer.
// Not a vector database: each query is one exact, multithreaded pass of dot products over the mapped
// matrix (any stored dtype) plus a partial sort. Building it computes the row norms only — no copy.
// Legend: V vocabulary, C hidden, P learned positions (gpt2).
#pragma once

#include <cstdint>
#include <memory>
#include <mutex>
#include <span>
#include <vector>

namespace logitscope {

class Model;
class ThreadPool;

struct Neighbour {
    int32_t id = 0;
    float cosine = 0;
};

class EmbeddingIndex {
public:
    // threads: 0 = hardware concurrency. Reads the whole token-embedding matrix once (the norms).
    explicit EmbeddingIndex(std::shared_ptr<const Model> model, int threads = 0);
    ~EmbeddingIndex();

    int vocabSize() const { return m_vocab; } // V
    int dim() const { return m_dim; }         // C

    std::vector<float> row(int32_t id) const; // (C) the token's embedding, as fp32
    float norm(int32_t id) const;             // its L2 norm

    // The k rows most similar to token `id` by cosine similarity, best first. The token itself comes first
    // with cosine exactly 1 (ties: the token itself, then lower ids); a zero row has cosine 0 with everything.
    std::vector<Neighbour> nearest(int32_t id, int k = 10) const;
    // The k rows most similar to any vector v (C), e.g. a residual stream.
    std::vector<Neighbour> nearest(std::span<const float> v, int k = 10) const;

    // True when the LM head is this same matrix (tied embeddings): a row is also that token's output vector.
    bool tiedToHead() const;

    // gpt2's learned position embedding (P, C): what is added to the token row at position pos.
    bool hasPositions() const { return m_positions > 0; }
    int positions() const { return m_positions; } // P, 0 without learned positions
    std::vector<float> positionRow(int pos) const; // (C)
    // What enters the first layer for token id at position pos: row(id) + positionRow(pos) for gpt2, else row(id).
    std::vector<float> inputRow(int32_t id, int pos) const;

private:
    void checkId(int32_t id) const;
    std::vector<Neighbour> rank(std::span<const float> v, float vNorm, int32_t self, int k) const;

    std::shared_ptr<const Model> m_model;
    int m_vocab = 0, m_dim = 0, m_positions = 0;
    std::vector<float> m_norms;     // (V) L2 norm of every row
    std::unique_ptr<ThreadPool> m_pool;
    mutable std::mutex m_mutex;     // one query at a time on the pool
    mutable std::vector<float> m_scores; // (V) dot products of the current query
};

} // namespace logitscope
