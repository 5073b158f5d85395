// CudaBackend: the forward pass on the GPU. Prefill runs one sequence at a time in chunks of up to
// kPrefillChunk tokens (cuBLAS projections, cuBLAS attention over the gathered K/V); decode runs every
// one-token sequence of the batch together (mat-vec projections for <= 4 rows with RMSNorm folded in,
// split-K paged attention), replayed from a CUDA graph captured per batch size. One stream; pinned
// staging for everything that crosses PCIe. Legend: T tokens, C hidden, V vocab, L layers, H heads, Hkv kv heads,
// D head dim, F ffn, B sequences in a decode batch, S keys.
#include "cuda_backend.h"

#include "cublas_loader.h"
#include "cuda_common.cuh"
#include "cuda_weights.h"
#include "device_memory.h"
#include "gpu_ops.h"

#include "common/error.h"
#include "model/kv_cache.h"
#include "model/model.h"
#include "model/ops.h"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <tuple>

namespace logitscope {

using namespace gpu;

namespace {

constexpr int kBlock = KvCache::kBlockSize;
constexpr int kPrefillChunk = 512;      // rows of the activation buffers; longer prompts are chunked
constexpr int kMaxDecodeBatch = 64;     // one-token sequences decoded together (more: several groups)
constexpr int kLogitRows = 64;          // rows of logits computed per LM-head call (prompt log-probs)
constexpr size_t kAttentionScratchBudget = size_t(192) << 20; // scores + probs of one prefill chunk
constexpr size_t kCublasWorkspace = size_t(32) << 20;

bool envFlag(const char* name, bool fallback)
{
    const char* v = std::getenv(name);
    if (!v || !*v)
        return fallback;
    return !(std::strcmp(v, "0") == 0 || std::strcmp(v, "off") == 0 || std::strcmp(v, "false") == 0);
}

} // namespace

CudaBackendOptions CudaBackendOptions::fromEnvironment()
{
    CudaBackendOptions o;
    if (const char* d = std::getenv("LOGITSCOPE_CUDA_DEVICE"); d && *d)
        o.device = std::atoi(d);
    o.graphs = envFlag("LOGITSCOPE_CUDA_GRAPHS", true);
    o.gemv = envFlag("LOGITSCOPE_CUDA_GEMV", true);
    return o;
}

struct CudaBackend::Impl {
    // One decode graph per (batch size, capture row stride, residual capture on/off), valid while no
    // buffer it points into moved.
    struct DecodeGraph {
        cudaGraphExec_t exec = nullptr;
        uint64_t epoch = 0;
    };

    std::shared_ptr<const Model> model;
    ModelConfig cfg;
    CudaBackendOptions options;
    cudaDeviceProp prop{};
    cudaStream_t stream = nullptr;
    cublasHandle_t cublas = nullptr;
    GemmContext gemm;
    std::unique_ptr<DeviceWeights> weights;
    int maxBlocks = 0;      // block-table entries per sequence: ceil(n_ctx / 16)
    bool gpt2 = false;

    // KV storage: (blocks, L, 2, Hkv, 16, D) fp16.
    DeviceBuffer kv;
    int kvCapacity = 0;
    size_t blockElems = 0;  // L * 2 * Hkv * 16 * D

    // Activations, (kPrefillChunk, ...) rows.
    DeviceBuffer x, tmp;        // (R, C) fp32 residual stream; gpt2 position rows
    DeviceBuffer xb;            // (R, C) fp16 normed input
    DeviceBuffer q, k, v;       // (R, H*D), (R, Hkv*D), (R, Hkv*D) fp32
    DeviceBuffer qh, att;       // (R, H*D) fp16: rotated queries (prefill), attention output
    DeviceBuffer gate, up;      // (R, F) fp32
    DeviceBuffer hh;            // (R, F) fp16 activated MLP hidden
    DeviceBuffer logits;        // (kLogitRows, V) fp32
    DeviceBuffer lastLogits;    // (batch, V) fp32: each batch entry's last row (topLogprobs)
    DeviceBuffer ints;          // token ids, positions, lengths, block tables of one upload
    PinnedBuffer hostInts;      // its pinned mirror
    DeviceBuffer invFreq;       // (D/2) fp32
    size_t activationBytes = 0;

    // Workspace.
    DeviceBuffer cublasWorkspace;
    DeviceBuffer keysGathered, valuesGathered; // (Hkv, S, D) fp16
    DeviceBuffer scores, probs;                // (H, Tq, S) fp32 / fp16
    DeviceBuffer prefillCapture;               // (H, Tq, S) fp32
    DeviceBuffer splitMaxes, splitSums, splitOutputs; // decode attention partials
    DeviceBuffer decodeCapture;                // (B, L, H, stride) fp32
    DeviceBuffer topIds, topLogprobs;          // (k) of topLogprobs()
    DeviceBuffer residualCapture;              // (B, L, C) fp32: each sequence's residual after every layer
    PinnedBuffer hostResidual;                 // its pinned mirror
    DeviceBuffer lensIds, lensLogprobs, lensRanks, lensChosen; // logitLens(): (L, k), (L, k), (L), (L)
    PinnedBuffer hostLogits;                   // (kLogitRows, V) fp32
    PinnedBuffer hostCapture;                  // (B, L, H, stride) fp32
    int lastBatch = 0;

    // By (B, attention capture stride (0 = none), residual capture).
    std::map<std::tuple<int, int, bool>, DecodeGraph> graphs;
    uint64_t epoch = 1;                        // bumped whenever a buffer a graph uses moves
    bool graphNoticePrinted = false;

    Impl(std::shared_ptr<const Model> m, const CudaBackendOptions& o) : model(std::move(m)), cfg(model->config()), options(o)
    {
        try {
            init();
        } catch (...) {
            cleanup(); // the destructor does not run for a constructor that threw
            throw;
        }
    }

    ~Impl() { cleanup(); }

    void cleanup()
    {
        if (stream)
            (void)cudaStreamSynchronize(stream);
        for (auto& [b, g] : graphs)
            if (g.exec)
                (void)cudaGraphExecDestroy(g.exec);
        graphs.clear();
        if (cublas)
            cublasApi().destroy(cublas);
        cublas = nullptr;
        if (stream)
            (void)cudaStreamDestroy(stream);
        stream = nullptr;
        (void)cudaGetLastError();
    }

    void init()
    {
        int count = 0;
        const cudaError_t e = cudaGetDeviceCount(&count);
        if (e != cudaSuccess) {
            (void)cudaGetLastError();
            throw Error(std::string("no usable CUDA driver (") + cudaGetErrorString(e) + ")");
        }
        if (count == 0)
            throw Error("no CUDA device found");
        if (options.device < 0 || options.device >= count)
            throw Error("CUDA device " + std::to_string(options.device) + " does not exist (" + std::to_string(count) +
                        " found)");
        CUDA_CHECK(cudaSetDevice(options.device));
        CUDA_CHECK(cudaGetDeviceProperties(&prop, options.device));
        checkConfig();

        const CublasApi& api = cublasApi();
        CUDA_CHECK(cudaStreamCreateWithFlags(&stream, cudaStreamNonBlocking));
        CUBLAS_CHECK(api.create(&cublas));
        CUBLAS_CHECK(api.setStream(cublas, stream));
        cublasWorkspace.allocate(kCublasWorkspace, "the cuBLAS workspace");
        // A fixed workspace keeps cuBLAS from allocating while a graph is being captured.
        CUBLAS_CHECK(api.setWorkspace(cublas, cublasWorkspace.as(), cublasWorkspace.bytes()));
        CUBLAS_CHECK(api.setMathMode(cublas, CUBLAS_DEFAULT_MATH));
        gemm = GemmContext{stream, cublas, options.gemv};

        weights = std::make_unique<DeviceWeights>(*model, stream);
        if (weights->clampedValues() > 0)
            std::fprintf(stderr, "logitscope: %d weight values beyond fp16's range were clamped to ±65504\n",
                         weights->clampedValues());
        for (const DeviceLayerWeights& lw : weights->layers)
            if (!lw.attnNorm || !lw.ffnNorm || (!gpt2 && !lw.wGate.data))
                throw Error("CUDA backend: a layer lacks its norm or gate weights");
        if (!weights->outputNorm)
            throw Error("CUDA backend: the model lacks its output norm");

        allocateActivations();
        std::vector<float> freq(size_t(cfg.headDim / 2));
        ops::ropeFrequencies(freq.data(), cfg.headDim, cfg.ropeTheta, cfg.ropeScaling);
        invFreq.allocate(freq.size() * 4, "RoPE frequencies");
        CUDA_CHECK(cudaMemcpy(invFreq.as(), freq.data(), freq.size() * 4, cudaMemcpyHostToDevice));
    }

    void checkConfig()
    {
        gpt2 = cfg.arch == Architecture::Gpt2;
        const int H = cfg.heads, Hkv = cfg.kvHeads, D = cfg.headDim;
        if (H <= 0 || Hkv <= 0 || H % Hkv != 0 || H / Hkv > kMaxGroup)
            throw Error("CUDA backend: " + std::to_string(H) + " query heads over " + std::to_string(Hkv) +
                        " kv heads is not supported (at most " + std::to_string(kMaxGroup) + " per group)");
        if (!gpu::decodeHeadDimSupported(D))
            throw Error("CUDA backend: head dimension " + std::to_string(D) + " is not supported (" +
                        gpu::decodeHeadDimsText() + ")");
        if (!gpt2 && cfg.ropeDims != 0 && cfg.ropeDims != D)
            throw Error("CUDA backend: partial rotary embeddings are not supported");
        if (cfg.qkNorm)
            throw Error(std::string("CUDA backend: ") + architectureName(cfg.arch) +
                        "'s per-head q/k norms are not implemented on the GPU yet; use the CPU");
        if (cfg.contextLength <= 0)
            throw Error("CUDA backend: the model has no context length");
        maxBlocks = ceilDiv(cfg.contextLength, kBlock);
        blockElems = size_t(cfg.layers) * 2 * size_t(cfg.kvHeads) * kBlock * size_t(D);
    }

    void allocateActivations()
    {
        const size_t R = kPrefillChunk, C = size_t(cfg.hidden), F = size_t(cfg.ffn);
        const size_t qDim = size_t(cfg.qDim()), kvDim = size_t(cfg.kvDim()), V = size_t(cfg.vocabSize);
        auto act = [&](DeviceBuffer& b, size_t bytes, const char* what) {
            b.allocate(bytes, std::string("activations (") + what + ")");
            activationBytes += bytes;
        };
        act(x, R * C * 4, "residual");
        act(tmp, R * C * 4, "positions");
        act(xb, R * C * 2, "normed input");
        act(q, R * qDim * 4, "queries");
        act(k, R * kvDim * 4, "keys");
        act(v, R * kvDim * 4, "values");
        act(qh, R * qDim * 2, "fp16 queries");
        act(att, R * qDim * 2, "attention output");
        act(gate, R * F * 4, "gate");
        act(up, R * F * 4, "up");
        act(hh, R * F * 2, "mlp hidden");
        act(logits, size_t(kLogitRows) * V * 4, "logits");
        const size_t intCount = std::max(2 * R + size_t(maxBlocks), size_t(kMaxDecodeBatch) * (3 + size_t(maxBlocks)));
        act(ints, intCount * 4, "token ids and block tables");
        hostInts.ensure(intCount * 4, "token ids and block tables");
        hostLogits.ensure(size_t(kLogitRows) * V * 4, "logits");
        const size_t parts = size_t(kMaxDecodeBatch) * cfg.heads * kMaxDecodeSplits;
        splitMaxes.allocate(parts * 4, "decode attention partials");
        splitSums.allocate(parts * 4, "decode attention partials");
        splitOutputs.allocate(parts * size_t(cfg.headDim) * 4, "decode attention partials");
    }

    PagedKvLayer kvLayer(int l) const
    {
        PagedKvLayer p;
        p.base = kv.as<__half>();
        p.blockStride = blockElems;
        const size_t head = size_t(cfg.kvHeads) * kBlock * size_t(cfg.headDim);
        p.keyOffset = (size_t(l) * 2 + 0) * head;
        p.valueOffset = (size_t(l) * 2 + 1) * head;
        p.kvHeads = cfg.kvHeads;
        p.headDim = cfg.headDim;
        return p;
    }

    void norm(__half* out, const float* in, const float* w, const float* b, int rows)
    {
        if (gpt2)
            layernorm(out, in, w, b, cfg.hidden, cfg.normEps, stream, rows);
        else
            rmsnorm(out, in, w, cfg.hidden, cfg.normEps, stream, rows);
    }

    // Where the rows of one layer call come from and where attention reads.
    struct Rows {
        int count = 0;
        const int32_t* ids = nullptr;     // (count) device
        const int32_t* pos = nullptr;     // (count) device
        const int32_t* tables = nullptr;  // device block tables
        int tableStride = 0;              // 0: one shared table (prefill)
        bool decode = false;
        // decode
        const int32_t* lens = nullptr;    // (count) keys per sequence
        float* capture = nullptr;         // (B, L, H, captureStride)
        int captureStride = 0;
        float* residual = nullptr;        // (B, L, C): row b of x after every layer
        // prefill
        int qPos0 = 0;                    // position of the first row
        float* prefillCapture = nullptr;  // (H, count, captureStride)
    };

    void embed(const Rows& r)
    {
        embeddingGather(x.as<float>(), weights->tokenEmbedding, r.ids, r.count, stream);
        if (gpt2) {
            embeddingGather(tmp.as<float>(), weights->positionEmbedding, r.pos, r.count, stream);
            add(x.as<float>(), x.as<float>(), tmp.as<float>(), r.count * cfg.hidden, stream);
        }
    }

    void layer(int l, const Rows& r)
    {
        const DeviceLayerWeights& w = weights->layers[size_t(l)];
        const int n = r.count, H = cfg.heads, Hkv = cfg.kvHeads, D = cfg.headDim, F = cfg.ffn;
        const PagedKvLayer kvl = kvLayer(l);

        // attention block: x += wo · attn(rope(wq xb), rope(wk xb), wv xb) + bo, xb = norm(x)
        const MatmulJob qkv[3] = {{q.as<float>(), &w.wq, w.bq}, {k.as<float>(), &w.wk, w.bk}, {v.as<float>(), &w.wv, w.bv}};
        if (gpt2) {
            norm(xb.as<__half>(), x.as<float>(), w.attnNorm, w.attnNormBias, n);
            matmulMany(qkv, xb.as<__half>(), n, gemm);
        } else { // decode: the norm runs inside the mat-vec kernel
            matmulManyRmsNorm(qkv, x.as<float>(), w.attnNorm, cfg.normEps, xb.as<__half>(), n, gemm);
        }
        // RoPE: keys are rotated as they are stored; decode rotates the query as attention loads it
        const float* freq = gpt2 ? nullptr : invFreq.as<float>();
        kvCacheWrite(kvl, k.as<float>(), v.as<float>(), r.pos, r.tables, r.tableStride, n, stream, freq, cfg.ropeLayout);
        if (r.decode) {
            DecodeAttentionScratch s{splitMaxes.as<float>(), splitSums.as<float>(), splitOutputs.as<float>(),
                                     decodeAttentionSplits(n, Hkv, prop.multiProcessorCount)};
            float* cap = r.capture ? r.capture + size_t(l) * H * r.captureStride : nullptr;
            attentionDecode(att.as<__half>(), q.as<float>(), kvl, r.tables, r.tableStride, r.lens, n, H, s, cap,
                            size_t(cfg.layers) * H * r.captureStride, r.captureStride, stream, freq, cfg.ropeLayout);
        } else {
            const int S = r.qPos0 + n;
            if (freq)
                rope(q.as<float>(), H, D, r.pos, freq, cfg.ropeLayout, stream, n);
            convert(qh.as<__half>(), q.as<float>(), n * cfg.qDim(), stream);
            kvCacheGather(keysGathered.as<__half>(), valuesGathered.as<__half>(), kvl, r.tables, S, stream);
            attentionPrefill(att.as<__half>(), qh.as<__half>(), keysGathered.as<__half>(), valuesGathered.as<__half>(), n,
                             r.qPos0, H, Hkv, D, scores.as<float>(), probs.as<__half>(), r.prefillCapture,
                             r.captureStride, gemm);
        }
        matmul(x.as<float>(), att.as<__half>(), w.wo, w.bo, n, gemm, true);

        // MLP block: x += wDown · act(xb) + bDown, xb = norm(x)
        if (gpt2) {
            norm(xb.as<__half>(), x.as<float>(), w.ffnNorm, w.ffnNormBias, n);
            matmul(up.as<float>(), xb.as<__half>(), w.wUp, w.bUp, n, gemm);
            gelu(hh.as<__half>(), up.as<float>(), n * F, stream);
        } else {
            matmulSiluMulRmsNorm(hh.as<__half>(), x.as<float>(), w.ffnNorm, cfg.normEps, xb.as<__half>(), w.wGate,
                                 w.wUp, w.bUp, n, gemm, gate.as<float>(), up.as<float>());
        }
        matmul(x.as<float>(), hh.as<__half>(), w.wDown, w.bDown, n, gemm, true);
    }

    // out (rows, V) = output · norm(x[row0 .. row0 + rows)); out is the logits buffer unless given.
    void head(int row0, int rows, float* out = nullptr)
    {
        const float* in = x.as<float>() + size_t(row0) * cfg.hidden;
        if (!out)
            out = logits.as<float>();
        if (gpt2) {
            norm(xb.as<__half>(), in, weights->outputNorm, weights->outputNormBias, rows);
            matmul(out, xb.as<__half>(), weights->output, nullptr, rows, gemm);
        } else {
            const MatmulJob job{out, &weights->output, nullptr};
            matmulManyRmsNorm(std::span<const MatmulJob>(&job, 1), in, weights->outputNorm, cfg.normEps,
                              xb.as<__half>(), rows, gemm);
        }
    }

    void keepLastRow(int index, int row)
    {
        CUDA_CHECK(cudaMemcpyAsync(lastLogits.as<float>() + size_t(index) * cfg.vocabSize,
                                   logits.as<float>() + size_t(row) * cfg.vocabSize, size_t(cfg.vocabSize) * 4,
                                   cudaMemcpyDeviceToDevice, stream));
    }

    // ---- validation ---------------------------------------------------------------------------------

    void validate(const SequenceInput& in) const
    {
        const int T = int(in.tokens.size());
        if (T == 0)
            throw Error("forward: a sequence with no tokens");
        if (in.pos0 < 0 || in.pos0 + T > cfg.contextLength)
            throw Error("forward: positions " + std::to_string(in.pos0) + ".." + std::to_string(in.pos0 + T - 1) +
                        " exceed the model's context of " + std::to_string(cfg.contextLength));
        const int need = ceilDiv(in.pos0 + T, kBlock);
        if (int(in.blockTable.size()) < need)
            throw Error("forward: the block table covers " + std::to_string(in.blockTable.size()) + " blocks, " +
                        std::to_string(need) + " needed");
        for (int i = 0; i < need; ++i)
            if (in.blockTable[size_t(i)] < 0 || in.blockTable[size_t(i)] >= kvCapacity)
                throw Error("forward: block " + std::to_string(in.blockTable[size_t(i)]) + " is not reserved (" +
                            std::to_string(kvCapacity) + " KV blocks on the GPU)");
        for (int32_t id : in.tokens)
            if (id < 0 || id >= cfg.vocabSize)
                throw Error("forward: token id " + std::to_string(id) + " outside the vocabulary of " +
                            std::to_string(cfg.vocabSize));
    }

    void checkCancel(const ForwardOptions& o) const
    {
        if (o.cancel && o.cancel->load())
            throw Cancelled();
    }

    // ---- prefill: one sequence, chunks of up to kPrefillChunk tokens -------------------------------

    void prefill(const SequenceInput& in, SequenceOutput& out, int index, const ForwardOptions& o)
    {
        const int T = int(in.tokens.size()), S = in.pos0 + T, V = cfg.vocabSize, H = cfg.heads, L = cfg.layers;
        const bool capture = o.captureAttention;
        const int nBlocks = ceilDiv(S, kBlock);

        // Chunk so that the (H, chunk, S) scores, probabilities and capture fit the scratch budget.
        const size_t perRow = size_t(H) * size_t(S) * (4 + 2 + (capture ? 4 : 0));
        const int chunk = int(std::clamp<size_t>(kAttentionScratchBudget / perRow, 1, size_t(kPrefillChunk)));
        const int rowsMax = std::min(chunk, T);
        keysGathered.ensure(size_t(cfg.kvHeads) * S * cfg.headDim * 2, "the prompt's gathered keys");
        valuesGathered.ensure(size_t(cfg.kvHeads) * S * cfg.headDim * 2, "the prompt's gathered values");
        scores.ensure(size_t(H) * rowsMax * S * 4, "prefill attention scores");
        probs.ensure(size_t(H) * rowsMax * S * 2, "prefill attention probabilities");
        if (capture)
            prefillCapture.ensure(size_t(H) * rowsMax * S * 4, "the prompt's attention capture");

        out.logits.clear();
        out.scoringMs = 0;
        if (o.captureResidual)
            out.residual.assign(size_t(L) * cfg.hidden, 0.0f);
        else
            out.residual.clear();
        if (capture)
            out.attention.assign(size_t(L) * H * T * S, 0.0f);
        else
            out.attention.clear();

        const int chunks = ceilDiv(T, chunk);
        for (int c = 0; c < chunks; ++c) {
            const int c0 = c * chunk, n = std::min(chunk, T - c0), p0 = in.pos0 + c0;
            // Upload ids, positions and the block table (the stream is idle: the pinned mirror is free).
            CUDA_CHECK(cudaStreamSynchronize(stream));
            int32_t* h = hostInts.as<int32_t>();
            for (int i = 0; i < n; ++i) {
                h[i] = in.tokens[size_t(c0 + i)];
                h[kPrefillChunk + i] = p0 + i;
            }
            std::memcpy(h + 2 * kPrefillChunk, in.blockTable.data(), size_t(nBlocks) * 4);
            CUDA_CHECK(cudaMemcpyAsync(ints.as(), h, (2 * size_t(kPrefillChunk) + nBlocks) * 4,
                                       cudaMemcpyHostToDevice, stream));
            Rows r;
            r.count = n;
            r.ids = ints.as<int32_t>();
            r.pos = ints.as<int32_t>() + kPrefillChunk;
            r.tables = ints.as<int32_t>() + 2 * kPrefillChunk;
            r.tableStride = 0;
            r.qPos0 = p0;
            r.prefillCapture = capture ? prefillCapture.as<float>() : nullptr;
            r.captureStride = S;

            embed(r);
            for (int l = 0; l < L; ++l) {
                checkCancel(o);
                layer(l, r);
                if (capture) // (H, n, S) -> out.attention (L, H, T, S) rows [c0, c0 + n) of each head
                    CUDA_CHECK(cudaMemcpy2DAsync(out.attention.data() + (size_t(l) * H * T + c0) * S,
                                                 size_t(T) * S * 4, prefillCapture.as<float>(), size_t(n) * S * 4,
                                                 size_t(n) * S * 4, size_t(H), cudaMemcpyDeviceToHost, stream));
                if (o.captureResidual && c == chunks - 1) // the prompt's last row, as a decode step gives
                    CUDA_CHECK(cudaMemcpyAsync(out.residual.data() + size_t(l) * cfg.hidden,
                                               x.as<float>() + size_t(n - 1) * cfg.hidden, size_t(cfg.hidden) * 4,
                                               cudaMemcpyDeviceToHost, stream));
                if (o.progress)
                    o.progress(c * L + l + 1, chunks * L);
            }

            // logits of every row (to the prompt log-probs' receiver, kLogitRows at a time) or only of the
            // prompt's last token
            const bool last = c == chunks - 1;
            if (in.allLogits || last) {
                const int first = in.allLogits ? 0 : n - 1;
                for (int r0 = first; r0 < n; r0 += kLogitRows) {
                    const int rows = std::min(kLogitRows, n - r0);
                    head(r0, rows);
                    CUDA_CHECK(cudaMemcpyAsync(hostLogits.as(), logits.as(), size_t(rows) * V * 4,
                                               cudaMemcpyDeviceToHost, stream));
                    const bool lastRow = last && r0 + rows == n;
                    if (lastRow)
                        keepLastRow(index, rows - 1);
                    CUDA_CHECK(cudaStreamSynchronize(stream));
                    const float* got = hostLogits.as<float>();
                    if (in.allLogits) { // the host's share of scoring; the extra head rows stay in the prefill
                        const auto t0 = std::chrono::steady_clock::now();
                        in.allLogits(c0 + r0, rows, std::span<const float>(got, size_t(rows) * V));
                        out.scoringMs +=
                            std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
                    }
                    if (lastRow)
                        out.logits.assign(got + size_t(rows - 1) * V, got + size_t(rows) * V);
                }
            }
        }
        CUDA_CHECK(cudaStreamSynchronize(stream));
    }

    // ---- decode: B one-token sequences together ----------------------------------------------------

    void enqueueDecode(int B, int captureStride, bool residual)
    {
        Rows r;
        r.count = B;
        r.ids = ints.as<int32_t>();
        r.pos = ints.as<int32_t>() + B;
        r.lens = ints.as<int32_t>() + 2 * B;
        r.tables = ints.as<int32_t>() + 3 * B;
        r.tableStride = maxBlocks;
        r.decode = true;
        r.capture = captureStride ? decodeCapture.as<float>() : nullptr;
        r.captureStride = captureStride;
        r.residual = residual ? residualCapture.as<float>() : nullptr;
        embed(r);
        const size_t C = size_t(cfg.hidden), L = size_t(cfg.layers);
        for (int l = 0; l < cfg.layers; ++l) {
            layer(l, r);
            if (r.residual) // x (B, C) -> residual[b][l] for every b
                CUDA_CHECK(cudaMemcpy2DAsync(r.residual + size_t(l) * C, L * C * 4, x.as<float>(), C * 4, C * 4,
                                             size_t(B), cudaMemcpyDeviceToDevice, stream));
        }
        head(0, B);
    }

    void runDecode(int B, int captureStride, bool residual)
    {
        if (!options.graphs) {
            enqueueDecode(B, captureStride, residual);
            return;
        }
        if (captureStride) // a longer capture row replaces the shorter one of the same batch size
            for (auto it = graphs.begin(); it != graphs.end();) {
                const auto& [b, stride, res] = it->first;
                if (b == B && res == residual && stride != 0 && stride != captureStride) {
                    if (it->second.exec)
                        CUDA_CHECK(cudaGraphExecDestroy(it->second.exec));
                    it = graphs.erase(it);
                } else {
                    ++it;
                }
            }
        DecodeGraph& g = graphs[{B, captureStride, residual}];
        if (!g.exec || g.epoch != epoch) {
            if (g.exec) {
                CUDA_CHECK(cudaGraphExecDestroy(g.exec));
                g.exec = nullptr;
            }
            cudaGraph_t graph = nullptr;
            CUDA_CHECK(cudaStreamBeginCapture(stream, cudaStreamCaptureModeThreadLocal));
            try {
                enqueueDecode(B, captureStride, residual);
            } catch (const std::exception& ex) {
                (void)cudaStreamEndCapture(stream, &graph);
                if (graph)
                    cudaGraphDestroy(graph);
                (void)cudaGetLastError();
                disableGraphs(std::string("capturing the decode step failed: ") + ex.what());
                enqueueDecode(B, captureStride, residual);
                return;
            }
            CUDA_CHECK(cudaStreamEndCapture(stream, &graph));
            const cudaError_t e = cudaGraphInstantiate(&g.exec, graph, 0);
            cudaGraphDestroy(graph);
            if (e != cudaSuccess) {
                (void)cudaGetLastError();
                g.exec = nullptr;
                disableGraphs(std::string("instantiating the decode graph failed: ") + cudaGetErrorString(e));
                enqueueDecode(B, captureStride, residual);
                return;
            }
            g.epoch = epoch;
        }
        CUDA_CHECK(cudaGraphLaunch(g.exec, stream));
    }

    void disableGraphs(const std::string& why)
    {
        options.graphs = false;
        if (!graphNoticePrinted)
            std::fprintf(stderr, "logitscope: CUDA graphs off (%s); launching kernels one by one\n", why.c_str());
        graphNoticePrinted = true;
    }

    void decode(std::span<const SequenceInput> batch, std::span<SequenceOutput> out, const std::vector<int>& seqs,
                const ForwardOptions& o)
    {
        const int B = int(seqs.size()), V = cfg.vocabSize, H = cfg.heads, L = cfg.layers;
        int maxLen = 0;
        for (int i : seqs)
            maxLen = std::max(maxLen, batch[size_t(i)].pos0 + 1);
        const bool capture = o.captureAttention;
        // The capture row stride is part of the graph; round it up so it changes every 256 positions.
        const int stride = capture ? int(alignUp(size_t(maxLen), 256)) : 0;
        if (capture) {
            const size_t bytes = size_t(B) * L * H * stride * 4;
            if (decodeCapture.ensure(bytes, "attention capture"))
                ++epoch;
            hostCapture.ensure(bytes, "attention capture");
        }
        const bool residual = o.captureResidual;
        const size_t residualBytes = size_t(B) * L * size_t(cfg.hidden) * 4;
        if (residual) {
            if (residualCapture.ensure(residualBytes, "the logit lens's residual capture"))
                ++epoch;
            hostResidual.ensure(residualBytes, "the logit lens's residual capture");
        }

        CUDA_CHECK(cudaStreamSynchronize(stream));
        int32_t* h = hostInts.as<int32_t>();
        std::fill(h, h + size_t(B) * (3 + maxBlocks), 0);
        for (int b = 0; b < B; ++b) {
            const SequenceInput& in = batch[size_t(seqs[size_t(b)])];
            h[b] = in.tokens[0];
            h[B + b] = in.pos0;
            h[2 * B + b] = in.pos0 + 1;
            const int nBlocks = ceilDiv(in.pos0 + 1, kBlock);
            std::memcpy(h + 3 * B + size_t(b) * maxBlocks, in.blockTable.data(), size_t(nBlocks) * 4);
        }
        CUDA_CHECK(cudaMemcpyAsync(ints.as(), h, size_t(B) * (3 + maxBlocks) * 4, cudaMemcpyHostToDevice, stream));

        runDecode(B, stride, residual);

        CUDA_CHECK(cudaMemcpyAsync(hostLogits.as(), logits.as(), size_t(B) * V * 4, cudaMemcpyDeviceToHost, stream));
        if (capture)
            CUDA_CHECK(cudaMemcpyAsync(hostCapture.as(), decodeCapture.as(), size_t(B) * L * H * stride * 4,
                                       cudaMemcpyDeviceToHost, stream));
        if (residual)
            CUDA_CHECK(cudaMemcpyAsync(hostResidual.as(), residualCapture.as(), residualBytes, cudaMemcpyDeviceToHost,
                                       stream));
        for (int b = 0; b < B; ++b)
            keepLastRow(seqs[size_t(b)], b);
        CUDA_CHECK(cudaStreamSynchronize(stream));

        for (int b = 0; b < B; ++b) {
            SequenceOutput& so = out[size_t(seqs[size_t(b)])];
            const float* lg = hostLogits.as<float>() + size_t(b) * V;
            so.logits.assign(lg, lg + V);
            if (capture) {
                const int len = batch[size_t(seqs[size_t(b)])].pos0 + 1;
                so.attention.resize(size_t(L) * H * len);
                const float* src = hostCapture.as<float>() + size_t(b) * L * H * stride;
                for (size_t row = 0; row < size_t(L) * H; ++row)
                    std::memcpy(so.attention.data() + row * len, src + row * stride, size_t(len) * 4);
            } else {
                so.attention.clear();
            }
            if (residual) {
                const float* src = hostResidual.as<float>() + size_t(b) * L * cfg.hidden;
                so.residual.assign(src, src + size_t(L) * cfg.hidden);
            } else {
                so.residual.clear();
            }
        }
    }

    void forward(std::span<const SequenceInput> batch, std::span<SequenceOutput> out, const ForwardOptions& o)
    {
        if (out.size() != batch.size())
            throw Error("forward: " + std::to_string(batch.size()) + " inputs but " + std::to_string(out.size()) +
                        " outputs");
        for (const SequenceInput& in : batch)
            validate(in);
        if (gpt2)
            for (const SequenceInput& in : batch)
                if (in.pos0 + int(in.tokens.size()) > weights->positionEmbedding.rows)
                    throw Error("forward: position beyond GPT-2's learned positions");
        if (lastLogits.bytes() < batch.size() * size_t(cfg.vocabSize) * 4)
            lastLogits.allocate(std::max<size_t>(batch.size(), 4) * size_t(cfg.vocabSize) * 4, "the last logits");
        lastBatch = int(batch.size());

        std::vector<int> oneToken;
        for (size_t i = 0; i < batch.size(); ++i) {
            if (batch[i].tokens.size() == 1 && !batch[i].allLogits) {
                oneToken.push_back(int(i));
            } else {
                checkCancel(o);
                prefill(batch[i], out[i], int(i), o);
            }
        }
        for (size_t g0 = 0; g0 < oneToken.size(); g0 += kMaxDecodeBatch) {
            checkCancel(o);
            const size_t n = std::min<size_t>(kMaxDecodeBatch, oneToken.size() - g0);
            decode(batch, out, std::vector<int>(oneToken.begin() + long(g0), oneToken.begin() + long(g0 + n)), o);
        }
    }

    // ---- logit lens: residual rows through the final norm and the LM head, on the device -------------

    std::vector<LayerLens> lens(std::span<const float> residual, int topK, int32_t chosen)
    {
        const int C = cfg.hidden, V = cfg.vocabSize;
        if (residual.size() % size_t(C) != 0)
            throw Error("logit lens: residual of " + std::to_string(residual.size()) +
                        " values is not a whole number of " + std::to_string(C) + "-wide rows");
        if (chosen >= V)
            throw Error("logit lens: token id " + std::to_string(chosen) + " outside the vocabulary (" +
                        std::to_string(V) + ")");
        const int L = int(residual.size() / size_t(C));
        const int k = std::clamp(topK, 0, std::min(256, V));
        const size_t kk = size_t(std::max(k, 1));
        lensIds.ensure(size_t(kLogitRows) * kk * 4, "logit lens top-k");
        lensLogprobs.ensure(size_t(kLogitRows) * kk * 4, "logit lens top-k");
        lensRanks.ensure(size_t(kLogitRows) * 4, "logit lens ranks");
        lensChosen.ensure(size_t(kLogitRows) * 4, "logit lens ranks");
        std::vector<int32_t> ids(size_t(L) * kk), ranks(static_cast<size_t>(L));
        std::vector<float> lps(size_t(L) * kk), chosenLp(static_cast<size_t>(L));
        // The residual rows take the place of the activations (the next forward rewrites them anyway).
        CUDA_CHECK(cudaStreamSynchronize(stream));
        for (int r0 = 0; r0 < L; r0 += kLogitRows) {
            const int rows = std::min(kLogitRows, L - r0);
            CUDA_CHECK(cudaMemcpyAsync(x.as(), residual.data() + size_t(r0) * C, size_t(rows) * C * 4,
                                       cudaMemcpyHostToDevice, stream));
            // The last layer's row alone, as a decode step computes the model's logits (more than
            // kGemvMaxRows rows go through cuBLAS with an fp16-rounded normed input, one row does not):
            // the lens's last layer is then the model's own distribution, as on the CPU (LogitLens).
            const bool last = r0 + rows == L;
            if (rows > 1 || !last)
                head(0, last ? rows - 1 : rows);
            if (last)
                head(rows - 1, 1, logits.as<float>() + size_t(rows - 1) * V);
            if (k > 0) {
                logSoftmaxTopK(lensIds.as<int32_t>(), lensLogprobs.as<float>(), logits.as<float>(), V, k, stream, rows);
                CUDA_CHECK(cudaMemcpyAsync(ids.data() + size_t(r0) * kk, lensIds.as(), size_t(rows) * kk * 4,
                                           cudaMemcpyDeviceToHost, stream));
                CUDA_CHECK(cudaMemcpyAsync(lps.data() + size_t(r0) * kk, lensLogprobs.as(), size_t(rows) * kk * 4,
                                           cudaMemcpyDeviceToHost, stream));
            }
            if (chosen >= 0) {
                logprobRank(lensRanks.as<int32_t>(), lensChosen.as<float>(), logits.as<float>(), V, chosen, stream,
                            rows);
                CUDA_CHECK(cudaMemcpyAsync(ranks.data() + r0, lensRanks.as(), size_t(rows) * 4, cudaMemcpyDeviceToHost,
                                           stream));
                CUDA_CHECK(cudaMemcpyAsync(chosenLp.data() + r0, lensChosen.as(), size_t(rows) * 4,
                                           cudaMemcpyDeviceToHost, stream));
            }
            CUDA_CHECK(cudaStreamSynchronize(stream)); // the host vectors are pageable: wait before reuse
        }
        std::vector<LayerLens> out(static_cast<size_t>(L));
        for (int l = 0; l < L; ++l) {
            LayerLens& ll = out[size_t(l)];
            for (int i = 0; i < k; ++i)
                if (ids[size_t(l) * kk + size_t(i)] >= 0)
                    ll.top.push_back({ids[size_t(l) * kk + size_t(i)], lps[size_t(l) * kk + size_t(i)]});
            if (chosen >= 0) {
                ll.chosenRank = ranks[size_t(l)];
                ll.chosenLogprob = chosenLp[size_t(l)];
            }
        }
        return out;
    }

    // ---- KV storage -----------------------------------------------------------------------------------

    void reserve(int blocks)
    {
        if (blocks <= kvCapacity)
            return;
        const size_t blockBytes = blockElems * 2;
        // Grow by half again when that fits, else to exactly what was asked.
        const int generous = std::max(blocks, kvCapacity + kvCapacity / 2);
        DeviceBuffer grown;
        int capacity = generous;
        try {
            grown.allocate(size_t(capacity) * blockBytes, "the KV cache");
        } catch (const Error&) {
            capacity = blocks;
            grown.allocate(size_t(capacity) * blockBytes,
                           "the KV cache (" + std::to_string(blocks) + " blocks of " + std::to_string(kBlock) +
                               " tokens, " + mebibytes(blockBytes) + " each)");
        }
        if (kvCapacity > 0)
            CUDA_CHECK(cudaMemcpyAsync(grown.as(), kv.as(), size_t(kvCapacity) * blockBytes, cudaMemcpyDeviceToDevice,
                                       stream));
        CUDA_CHECK(cudaStreamSynchronize(stream));
        kv = std::move(grown);
        kvCapacity = capacity;
        ++epoch; // graphs hold the old base pointer
    }

    void copyBlock(int src, int dst)
    {
        if (src < 0 || dst < 0 || src >= kvCapacity || dst >= kvCapacity)
            throw Error("copyKvBlock: block " + std::to_string(std::max(src, dst)) + " is not reserved");
        if (src == dst)
            return;
        const size_t blockBytes = blockElems * 2;
        CUDA_CHECK(cudaMemcpyAsync(kv.as<uint8_t>() + size_t(dst) * blockBytes, kv.as<uint8_t>() + size_t(src) * blockBytes,
                                   blockBytes, cudaMemcpyDeviceToDevice, stream));
    }

    size_t workspaceBytes() const
    {
        return cublasWorkspace.bytes() + keysGathered.bytes() + valuesGathered.bytes() + scores.bytes() + probs.bytes() +
               prefillCapture.bytes() + splitMaxes.bytes() + splitSums.bytes() + splitOutputs.bytes() +
               decodeCapture.bytes() + lastLogits.bytes() + topIds.bytes() + topLogprobs.bytes() + invFreq.bytes() +
               residualCapture.bytes() + lensIds.bytes() + lensLogprobs.bytes() + lensRanks.bytes() + lensChosen.bytes();
    }
};

CudaBackend::CudaBackend(std::shared_ptr<const Model> model, const CudaBackendOptions& options)
    : m(std::make_unique<Impl>(std::move(model), options))
{
}

CudaBackend::~CudaBackend() = default;

std::string CudaBackend::deviceDescription() const
{
    char buf[128];
    std::snprintf(buf, sizeof buf, ", %.0f GiB, compute %d.%d, %d SMs", double(m->prop.totalGlobalMem) / double(1ull << 30),
                  m->prop.major, m->prop.minor, m->prop.multiProcessorCount);
    return std::string(m->prop.name) + buf;
}

MemoryLedger CudaBackend::memory() const
{
    MemoryLedger l;
    l.weights = m->weights->bytes();
    l.kvCache = m->kv.bytes();
    l.activations = m->activationBytes;
    l.workspace = m->workspaceBytes();
    size_t freeBytes = 0, total = 0;
    if (cudaMemGetInfo(&freeBytes, &total) == cudaSuccess) {
        l.deviceTotal = total;
        l.deviceFree = freeBytes;
    } else {
        (void)cudaGetLastError();
    }
    return l;
}

void CudaBackend::reserveKvBlocks(int blocks) { m->reserve(blocks); }
int CudaBackend::kvBlockCapacity() const { return m->kvCapacity; }
void CudaBackend::copyKvBlock(int src, int dst, int /*tokens: the whole block is copied*/) { m->copyBlock(src, dst); }

void CudaBackend::forward(std::span<const SequenceInput> batch, std::span<SequenceOutput> out,
                          const ForwardOptions& options)
{
    m->forward(batch, out, options);
}

bool CudaBackend::logitLens(std::span<const float> residual, int topK, int32_t chosen, std::vector<LayerLens>& out)
{
    out = m->lens(residual, topK, chosen);
    return true;
}

std::vector<std::pair<int32_t, float>> CudaBackend::topLogprobs(int index, int k)
{
    if (index < 0 || index >= m->lastBatch)
        throw Error("topLogprobs: no logits for batch entry " + std::to_string(index));
    k = std::clamp(k, 1, std::min(256, m->cfg.vocabSize));
    m->topIds.ensure(size_t(k) * 4, "top-k ids");
    m->topLogprobs.ensure(size_t(k) * 4, "top-k log-probabilities");
    logSoftmaxTopK(m->topIds.as<int32_t>(), m->topLogprobs.as<float>(),
                   m->lastLogits.as<float>() + size_t(index) * m->cfg.vocabSize, m->cfg.vocabSize, k, m->stream);
    std::vector<int32_t> ids(static_cast<size_t>(k));
    std::vector<float> lp(static_cast<size_t>(k));
    CUDA_CHECK(cudaMemcpyAsync(ids.data(), m->topIds.as(), size_t(k) * 4, cudaMemcpyDeviceToHost, m->stream));
    CUDA_CHECK(cudaMemcpyAsync(lp.data(), m->topLogprobs.as(), size_t(k) * 4, cudaMemcpyDeviceToHost, m->stream));
    CUDA_CHECK(cudaStreamSynchronize(m->stream));
    std::vector<std::pair<int32_t, float>> r;
    for (int i = 0; i < k; ++i)
        if (ids[size_t(i)] >= 0)
            r.emplace_back(ids[size_t(i)], lp[size_t(i)]);
    return r;
}

size_t CudaBackend::weightBytesPerToken() const { return m->weights->bytesPerToken(); }
const CudaBackendOptions& CudaBackend::options() const { return m->options; }

void registerCudaBackend()
{
    registerBackendFactory("cuda", [](std::shared_ptr<const Model> model, int) -> std::unique_ptr<Backend> {
        return std::make_unique<CudaBackend>(std::move(model), CudaBackendOptions::fromEnvironment());
    });
}

} // namespace logitscope
