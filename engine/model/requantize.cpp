// Model::requantized: the same model with its matrices in other GGUF block formats, made in memory.
// Not a converter to files (make-model and writeModel write files); not llama.cpp's quantizer.
#include "model/model.h"

#include "common/error.h"
#include "model/thread_pool.h"

#include <algorithm>

namespace logitscope {

namespace {

// t requantized to `type` (or its fallback when its rows do not fit the blocks), into owned bytes;
// 64 rows per task over the pool's threads.
TensorView requantize(const TensorView& t, DType type, std::vector<std::vector<uint8_t>>& owned, ThreadPool& pool)
{
    TensorView out = t;
    out.type = quantFallback(type, t.cols());
    if (t.cols() % dtypeBlockSize(out.type) != 0)
        out.type = DType::F16; // rows no block fits: ref-llama-spm's 688-wide ffn_down, for one
    const int64_t rows = t.elements() / t.cols(), cols = t.cols();
    const size_t inRow = dtypeBytes(t.type, cols), outRow = dtypeBytes(out.type, cols);
    owned.emplace_back(outRow * size_t(rows));
    const auto* src = static_cast<const uint8_t*>(t.data);
    uint8_t* dst = owned.back().data();
    std::vector<std::vector<float>> row(size_t(pool.size()), std::vector<float>(static_cast<size_t>(cols)));
    constexpr int64_t kRowsPerTask = 64;
    pool.parallelFor(int((rows + kRowsPerTask - 1) / kRowsPerTask), [&](int task, int thread) {
        float* x = row[size_t(thread)].data();
        for (int64_t r = task * kRowsPerTask; r < std::min(rows, (task + 1) * kRowsPerTask); ++r) {
            dequantize(t.type, src + size_t(r) * inRow, x, cols);
            quantize(out.type, x, dst + size_t(r) * outRow, cols);
        }
    });
    out.data = owned.back().data();
    out.nbytes = owned.back().size();
    return out;
}

} // namespace

std::shared_ptr<const Model> Model::requantized(std::shared_ptr<const Model> base, const WeightTypes& types)
{
    if (!base)
        throw Error("requantize: no model");
    auto m = std::make_shared<Model>();
    m->m_config = base->m_config;
    m->m_weights = base->m_weights;
    m->m_tokenizer = base->m_tokenizer;
    m->m_path = base->m_path;
    m->m_format = base->m_format;
    m->m_files = base->m_files;
    Weights& w = m->m_weights;
    const bool tied = base->m_weights.output.data == base->m_weights.tokenEmbedding.data;
    ThreadPool pool;
    w.tokenEmbedding = requantize(w.tokenEmbedding, types.matrices, m->m_owned, pool);
    w.output = tied ? w.tokenEmbedding : requantize(w.output, types.sensitive, m->m_owned, pool);
    for (LayerWeights& l : w.layers) {
        for (TensorView* t : {&l.wq, &l.wk, &l.wo, &l.wGate, &l.wUp})
            if (t->data)
                *t = requantize(*t, types.matrices, m->m_owned, pool);
        for (TensorView* t : {&l.wv, &l.wDown})
            *t = requantize(*t, types.sensitive, m->m_owned, pool);
    }
    const std::string label = types.matrices == types.sensitive
                                  ? dtypeName(types.matrices)
                                  : std::string(dtypeName(types.matrices)) + "+" + dtypeName(types.sensitive);
    m->m_name = base->m_name + " (requantized to " + label + ")";
    m->m_base = std::move(base);
    return m;
}

} // namespace logitscope
