// Uploading a Model's weights to the device (see cuda_weights.h).
#include "cuda_weights.h"

#include "common/dtype.h"
#include "common/error.h"
#include "model/model.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <functional>
#include <string>

namespace logitscope::gpu {

namespace {

constexpr size_t kAlign = 256;
constexpr size_t kStagingBytes = size_t(64) << 20;

std::string shapeOf(const TensorView& t) { return t.name + " " + shapeString(t.shape); }

// One tensor to upload and where its device pointer goes.
struct Upload {
    const TensorView* tensor = nullptr;
    bool matrix = false;   // fp16 matrix, else fp32 vector
    int rows = 0, cols = 0;
    size_t offset = 0, bytes = 0;
    std::function<void(void*)> place;
};

} // namespace

DeviceWeights::DeviceWeights(const Model& model, cudaStream_t stream)
{
    const ModelConfig& c = model.config();
    const Weights& w = model.weights();
    std::vector<Upload> uploads;

    auto matrix = [&](const TensorView& t, int rows, int cols, DeviceMatrix& dst, bool perToken) {
        if (!t.data)
            throw Error("CUDA backend: weight tensor " + t.name + " is missing");
        if (t.rows() != rows || t.cols() != cols)
            throw Error("CUDA backend: weight " + shapeOf(t) + " should be (" + std::to_string(rows) + ", " +
                        std::to_string(cols) + ")");
        Upload u;
        u.tensor = &t;
        u.matrix = true;
        u.rows = rows;
        u.cols = cols;
        u.bytes = size_t(rows) * size_t(cols) * 2;
        u.place = [&dst, rows, cols](void* p) { dst = DeviceMatrix{static_cast<const __half*>(p), rows, cols}; };
        uploads.push_back(std::move(u));
        if (perToken)
            m_bytesPerToken += size_t(rows) * size_t(cols) * 2;
    };
    auto vector = [&](const TensorView& t, int n, const float*& dst) {
        if (!t.data)
            return; // absent tensors stay null (no bias)
        if (t.elements() != n)
            throw Error("CUDA backend: weight " + shapeOf(t) + " should have " + std::to_string(n) + " values");
        Upload u;
        u.tensor = &t;
        u.rows = 1;
        u.cols = n;
        u.bytes = size_t(n) * 4;
        u.place = [&dst](void* p) { dst = static_cast<const float*>(p); };
        uploads.push_back(std::move(u));
        m_bytesPerToken += size_t(n) * 4;
    };

    const int C = c.hidden, V = c.vocabSize, F = c.ffn, qDim = c.qDim(), kvDim = c.kvDim();
    const bool gpt2 = c.arch == Architecture::Gpt2;
    matrix(w.tokenEmbedding, V, C, tokenEmbedding, false);
    if (gpt2)
        matrix(w.positionEmbedding, int(w.positionEmbedding.rows()), C, positionEmbedding, false);
    layers.resize(size_t(c.layers));
    if (w.layers.size() != size_t(c.layers))
        throw Error("CUDA backend: the model has " + std::to_string(w.layers.size()) + " layers of weights, config says " +
                    std::to_string(c.layers));
    for (int l = 0; l < c.layers; ++l) {
        const LayerWeights& lw = w.layers[size_t(l)];
        DeviceLayerWeights& d = layers[size_t(l)];
        vector(lw.attnNorm, C, d.attnNorm);
        vector(lw.attnNormBias, C, d.attnNormBias);
        matrix(lw.wq, qDim, C, d.wq, true);
        matrix(lw.wk, kvDim, C, d.wk, true);
        matrix(lw.wv, kvDim, C, d.wv, true);
        vector(lw.bq, qDim, d.bq);
        vector(lw.bk, kvDim, d.bk);
        vector(lw.bv, kvDim, d.bv);
        matrix(lw.wo, C, qDim, d.wo, true);
        vector(lw.bo, C, d.bo);
        vector(lw.ffnNorm, C, d.ffnNorm);
        vector(lw.ffnNormBias, C, d.ffnNormBias);
        if (!gpt2)
            matrix(lw.wGate, F, C, d.wGate, true);
        matrix(lw.wUp, F, C, d.wUp, true);
        matrix(lw.wDown, C, F, d.wDown, true);
        vector(lw.bUp, F, d.bUp);
        vector(lw.bDown, C, d.bDown);
    }
    vector(w.outputNorm, C, outputNorm);
    vector(w.outputNormBias, C, outputNormBias);
    const bool tied = !w.output.data || w.output.data == w.tokenEmbedding.data;
    if (!tied)
        matrix(w.output, V, C, output, true);
    else
        m_bytesPerToken += size_t(V) * size_t(C) * 2;

    // One arena for everything.
    size_t total = 0;
    for (Upload& u : uploads) {
        u.offset = total;
        total = alignUp(total + u.bytes, kAlign);
    }
    m_arena.allocate(total, "the model's weights (" + std::to_string(uploads.size()) + " tensors in fp16/fp32)");
    PinnedBuffer staging;
    staging.ensure(kStagingBytes, "the weight upload staging buffer");
    std::vector<float> tmp;

    for (Upload& u : uploads) {
        const TensorView& t = *u.tensor;
        auto* dst = m_arena.as<uint8_t>() + u.offset;
        const auto* src = static_cast<const uint8_t*>(t.data);
        const size_t rowBytes = dtypeBytes(t.type, u.cols); // source bytes per row
        const size_t outRowBytes = size_t(u.cols) * (u.matrix ? 2 : 4);
        const int chunkRows = int(std::max<size_t>(1, kStagingBytes / outRowBytes));
        for (int r0 = 0; r0 < u.rows; r0 += chunkRows) {
            const int n = std::min(chunkRows, u.rows - r0);
            const size_t count = size_t(n) * size_t(u.cols);
            const uint8_t* s = src + size_t(r0) * rowBytes;
            if (u.matrix && t.type == DType::F16) {
                std::memcpy(staging.as(), s, count * 2);
            } else if (u.matrix) {
                tmp.resize(count);
                dequantize(t.type, s, tmp.data(), int64_t(count));
                auto* h = staging.as<uint16_t>();
                for (size_t i = 0; i < count; ++i) {
                    float v = tmp[i];
                    if (std::fabs(v) > 65504.0f && std::isfinite(v)) {
                        v = std::copysign(65504.0f, v);
                        ++m_clamped;
                    }
                    h[i] = fp32ToFp16(v);
                }
            } else {
                dequantize(t.type, s, staging.as<float>(), int64_t(count));
            }
            CUDA_CHECK(cudaMemcpyAsync(dst + size_t(r0) * outRowBytes, staging.as(), count * (u.matrix ? 2 : 4),
                                       cudaMemcpyHostToDevice, stream));
            CUDA_CHECK(cudaStreamSynchronize(stream)); // the staging buffer is reused at once
        }
        u.place(dst);
    }
    if (tied)
        output = tokenEmbedding;
}

} // namespace logitscope::gpu
