// CpuBackend: weights and small vectors, KV block storage, and forward() — the transformer block by block.
// Attention itself lives in cpu_attention.cpp; the arithmetic kernels in ops.cpp.
#include "model/cpu_backend.h"

#include "common/error.h"
#include "common/huge_pages.h"
#include "model/kv_cache.h"
#include "model/model.h"
#include "model/ops.h"
#include "model/thread_pool.h"

#include <cblas.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <new>
#include <set>
#include <sstream>

namespace logitscope {

namespace {

// MemTotal / MemAvailable from /proc/meminfo, in bytes (0 when unreadable).
void readMemInfo(size_t& total, size_t& available)
{
    total = available = 0;
    std::ifstream f("/proc/meminfo");
    std::string key;
    size_t kb;
    std::string unit;
    while (f >> key >> kb) {
        std::getline(f, unit);
        if (key == "MemTotal:")
            total = kb * 1024;
        else if (key == "MemAvailable:")
            available = kb * 1024;
    }
}

std::string mib(size_t bytes)
{
    std::ostringstream s;
    s.precision(1);
    s << std::fixed << double(bytes) / (1024.0 * 1024.0) << " MiB";
    return s.str();
}

// Rows of logits per LM-head call when every position's logits are wanted (a prompt's log-probs).
constexpr int kLogitChunk = 64;

bool cancelled(const ForwardOptions& o) { return o.cancel && o.cancel->load(std::memory_order_relaxed); }

} // namespace

CpuBackend::CpuBackend(std::shared_ptr<const Model> model, int threads)
    : m_model(std::move(model)), m_cfg(m_model->config()), m_weights(m_model->weights()),
      m_pool(std::make_unique<ThreadPool>(threads))
{
    const Weights& w = m_weights;
    for (const LayerWeights& lw : w.layers) {
        LayerVectors v;
        v.attnNorm = toFloats(lw.attnNorm);
        v.attnNormBias = toFloats(lw.attnNormBias);
        v.bq = toFloats(lw.bq);
        v.bk = toFloats(lw.bk);
        v.bv = toFloats(lw.bv);
        v.qNorm = toFloats(lw.qNorm);
        v.kNorm = toFloats(lw.kNorm);
        v.bo = toFloats(lw.bo);
        v.ffnNorm = toFloats(lw.ffnNorm);
        v.ffnNormBias = toFloats(lw.ffnNormBias);
        v.bUp = toFloats(lw.bUp);
        v.bDown = toFloats(lw.bDown);
        m_layers.push_back(std::move(v));
    }
    m_outputNorm = toFloats(w.outputNorm);
    m_outputNormBias = toFloats(w.outputNormBias);
    m_invFreq.resize(size_t(std::max(1, m_cfg.headDim / 2)));
    ops::ropeFrequencies(m_invFreq.data(), m_cfg.headDim, m_cfg.ropeTheta, m_cfg.ropeScaling);
    setKvType(DType::F32);
    // The pool does the threading; OpenBLAS runs single-threaded inside each task.
    openblas_set_num_threads(1);
}

CpuBackend::~CpuBackend() = default;

void CpuBackend::loadWeightsIntoMemory()
{
    if (m_resident)
        return;
    // The matrices of every layer and the LM head: what weightBytesPerToken() counts.
    std::vector<TensorView*> views{&m_weights.output};
    for (LayerWeights& lw : m_weights.layers)
        for (TensorView* t : {&lw.wq, &lw.wk, &lw.wv, &lw.wo, &lw.wGate, &lw.wUp, &lw.wDown})
            if (t->data)
                views.push_back(t);
    size_t total = 0;
    for (const TensorView* t : views)
        total += (t->nbytes + 63) / 64 * 64;
    HugePageMemory buf = allocateHugePages(total, "loading the weights into memory");
    uint8_t* dst = buf.get();
    for (TensorView* t : views) {
        std::memcpy(dst, t->data, t->nbytes);
        t->data = dst;
        dst += (t->nbytes + 63) / 64 * 64;
    }
    m_resident = std::move(buf);
    m_residentBytes = hugePageBytes(total);
}

void CpuBackend::setKvType(DType type)
{
    if (type != DType::F32 && type != DType::F16)
        throw Error(std::string("KV cache type: expected f32 or f16, got ") + dtypeName(type));
    if (!m_kvBlocks.empty() && type != m_kvType)
        throw Error("KV cache type: cannot change once blocks are reserved");
    m_kvType = type;
    m_headBytes = size_t(KvCache::kBlockSize) * size_t(m_cfg.headDim) * kvElementBytes();
    m_blockBytes = size_t(m_cfg.layers) * 2 * size_t(m_cfg.kvHeads) * m_headBytes;
}

int CpuBackend::threads() const { return m_pool->size(); }

std::string CpuBackend::deviceDescription() const
{
    std::string cpu = "CPU";
    std::ifstream f("/proc/cpuinfo");
    for (std::string line; std::getline(f, line);) {
        if (line.rfind("model name", 0) == 0) {
            const auto colon = line.find(':');
            if (colon != std::string::npos)
                cpu = line.substr(line.find_first_not_of(' ', colon + 1));
            break;
        }
    }
    return cpu + ", " + std::to_string(threads()) + (threads() == 1 ? " thread" : " threads");
}

size_t CpuBackend::weightBytesPerToken() const
{
    const Weights& w = m_weights;
    size_t bytes = w.output.nbytes;
    for (const LayerWeights& lw : w.layers)
        for (const TensorView* t : {&lw.wq, &lw.wk, &lw.wv, &lw.wo, &lw.wGate, &lw.wUp, &lw.wDown})
            bytes += t->data ? t->nbytes : 0;
    return bytes;
}

MemoryLedger CpuBackend::memory() const
{
    MemoryLedger m;
    // Weights as stored, each tensor once (a tied head shares the embedding's bytes), plus the
    // in-memory copy of the matrices when there is one.
    const Weights& w = m_model->weights();
    std::set<const void*> seen;
    auto count = [&](const TensorView& t) {
        if (t.data && seen.insert(t.data).second)
            m.weights += t.nbytes;
    };
    count(w.tokenEmbedding);
    count(w.positionEmbedding);
    count(w.outputNorm);
    count(w.outputNormBias);
    count(w.output);
    for (const LayerWeights& lw : w.layers)
        for (const TensorView* t : {&lw.attnNorm, &lw.attnNormBias, &lw.wq, &lw.wk, &lw.wv, &lw.bq, &lw.bk, &lw.bv,
                                    &lw.wo, &lw.bo, &lw.ffnNorm, &lw.ffnNormBias, &lw.wGate, &lw.wUp, &lw.wDown,
                                    &lw.bUp, &lw.bDown})
            count(*t);
    m.weights += m_residentBytes;
    m.kvCache = m_kvBlocks.size() * m_blockBytes;
    for (const std::vector<float>* v : {&m_x, &m_xb, &m_q, &m_k, &m_v, &m_att, &m_hb, &m_hb2, &m_logits, &m_ropeAngles})
        m.activations += v->capacity() * sizeof(float);
    // Scratch: gathered K/V for prefill attention, plus per-thread weight tiles and score rows (estimated).
    m.workspace = m_kvGather.capacity() * sizeof(float) +
                  size_t(threads()) * 64 * size_t(std::max(m_cfg.hidden, m_cfg.ffn)) * sizeof(float);
    readMemInfo(m.deviceTotal, m.deviceFree);
    return m;
}

void CpuBackend::reserveKvBlocks(int blocks)
{
    const size_t have = m_kvBlocks.size();
    if (blocks < 0 || size_t(blocks) <= have)
        return;
    const size_t blockBytes = m_blockBytes;
    const size_t more = size_t(blocks) - have;
    const size_t needed = more * blockBytes;
    size_t total = 0, available = 0;
    readMemInfo(total, available);
    const auto fail = [&](const std::string& why) {
        return Error("KV cache: cannot reserve " + std::to_string(blocks) + " blocks of " +
                     std::to_string(KvCache::kBlockSize) + " tokens (" + mib(blockBytes) + " each): " +
                     mib(needed) + " more needed, " + why);
    };
    if (available && needed > available)
        throw fail("but only " + mib(available) + " of RAM is available");
    HugePageMemory arena{nullptr, nullptr};
    try {
        // Huge pages only pay when the arena fills most of one: a 2 MiB page is committed whole.
        if (needed >= hugePageBytes(1) / 2)
            arena = allocateHugePages(needed, "KV cache");
        else
            arena = HugePageMemory(static_cast<uint8_t*>(std::aligned_alloc(64, (needed + 63) / 64 * 64)), std::free);
        if (!arena)
            throw std::bad_alloc();
        m_kvBlocks.reserve(size_t(blocks));
    } catch (const std::exception&) {
        throw fail("and the allocation failed");
    }
    uint8_t* base = arena.get();
    for (size_t b = 0; b < more; ++b)
        m_kvBlocks.push_back({base + b * m_headBytes, more * m_headBytes});
    m_kvArenas.push_back(std::move(arena));
}

void CpuBackend::copyKvBlock(int src, int dst, int tokens)
{
    if (src < 0 || dst < 0 || size_t(src) >= m_kvBlocks.size() || size_t(dst) >= m_kvBlocks.size())
        throw Error("KV cache: block copy " + std::to_string(src) + " -> " + std::to_string(dst) +
                    " outside the " + std::to_string(m_kvBlocks.size()) + " reserved blocks");
    tokens = std::clamp(tokens, 0, KvCache::kBlockSize);
    for (int l = 0; l < m_cfg.layers; ++l)
        for (int kv = 0; kv < 2; ++kv)
            for (int h = 0; h < m_cfg.kvHeads; ++h)
                std::memcpy(kvHead(dst, l, kv, h), kvHead(src, l, kv, h),
                            size_t(tokens) * size_t(m_cfg.headDim) * kvElementBytes());
}

void CpuBackend::ensureActivations(int N)
{
    const size_t n = size_t(N);
    const ModelConfig& c = m_cfg;
    m_x.resize(n * size_t(c.hidden));
    m_xb.resize(n * size_t(c.hidden));
    m_q.resize(n * size_t(c.qDim()));
    m_k.resize(n * size_t(c.kvDim()));
    m_v.resize(n * size_t(c.kvDim()));
    m_att.resize(n * size_t(c.qDim()));
    m_hb.resize(n * size_t(c.ffn));
    m_hb2.resize(n * size_t(c.ffn));
}

// RMSNorm (no bias) or LayerNorm (gpt2) of every row.
void CpuBackend::normRows(float* out, const float* x, const std::vector<float>& w, const std::vector<float>& b, int N)
{
    const int C = m_cfg.hidden;
    const bool layer = m_cfg.arch == Architecture::Gpt2;
    auto one = [&](int r) {
        if (layer)
            ops::layernorm(out + size_t(r) * C, x + size_t(r) * C, w.data(), b.empty() ? nullptr : b.data(), C,
                           m_cfg.normEps);
        else
            ops::rmsnorm(out + size_t(r) * C, x + size_t(r) * C, w.data(), C, m_cfg.normEps);
    };
    if (N < 16 || N * C < 16384) {
        for (int r = 0; r < N; ++r)
            one(r);
        return;
    }
    m_pool->parallelFor((N + 15) / 16, [&](int task, int) {
        for (int r = task * 16; r < std::min(N, task * 16 + 16); ++r)
            one(r);
    });
}

void CpuBackend::storeKv(int layer, std::span<const SequenceInput> batch, const std::vector<SeqRows>& rows)
{
    const int D = m_cfg.headDim, Hkv = m_cfg.kvHeads, kvDim = m_cfg.kvDim();
    for (size_t i = 0; i < batch.size(); ++i) {
        for (int t = 0; t < rows[i].T; ++t) {
            const int pos = rows[i].pos0 + t;
            const int block = batch[i].blockTable[size_t(pos / KvCache::kBlockSize)];
            const int slot = pos % KvCache::kBlockSize;
            const size_t r = size_t(rows[i].row0 + t);
            for (int h = 0; h < Hkv; ++h)
                for (int kv = 0; kv < 2; ++kv) {
                    const float* src = &(kv ? m_v : m_k)[r * kvDim + size_t(h) * D];
                    uint8_t* dst = kvHead(block, layer, kv, h) + size_t(slot) * D * kvElementBytes();
                    if (m_kvType == DType::F16)
                        ops::toFp16(reinterpret_cast<uint16_t*>(dst), src, D);
                    else
                        std::memcpy(dst, src, size_t(D) * sizeof(float));
                }
        }
    }
}

void CpuBackend::forward(std::span<const SequenceInput> batch, std::span<SequenceOutput> out,
                         const ForwardOptions& options)
{
    const ModelConfig& c = m_cfg;
    const Weights& w = m_weights;
    const bool gpt2 = c.arch == Architecture::Gpt2;
    const int C = c.hidden, V = c.vocabSize, L = c.layers, H = c.heads, Hkv = c.kvHeads, D = c.headDim;
    if (out.size() != batch.size())
        throw Error("forward: " + std::to_string(batch.size()) + " sequences but " + std::to_string(out.size()) +
                    " outputs");

    // Lay the batch's new tokens out as N rows; check every position has a block and an id.
    std::vector<SeqRows> rows(batch.size());
    int N = 0;
    for (size_t i = 0; i < batch.size(); ++i) {
        const SequenceInput& in = batch[i];
        rows[i] = {N, int(in.tokens.size()), in.pos0};
        N += rows[i].T;
        const int end = in.pos0 + rows[i].T;
        if (size_t(end) > in.blockTable.size() * KvCache::kBlockSize)
            throw Error("forward: sequence " + std::to_string(i) + " reaches position " + std::to_string(end) +
                        " but its block table covers " +
                        std::to_string(in.blockTable.size() * KvCache::kBlockSize));
        for (int32_t b : in.blockTable.first(size_t((end + KvCache::kBlockSize - 1) / KvCache::kBlockSize)))
            if (b < 0 || size_t(b) >= m_kvBlocks.size())
                throw Error("forward: KV block " + std::to_string(b) + " is not reserved (capacity " +
                            std::to_string(m_kvBlocks.size()) + ")");
        if (gpt2 && end > int(w.positionEmbedding.rows()))
            throw Error("forward: position " + std::to_string(end - 1) + " is beyond the model's " +
                        std::to_string(w.positionEmbedding.rows()) + " learned positions");
        for (int32_t id : in.tokens)
            if (id < 0 || id >= V)
                throw Error("forward: token id " + std::to_string(id) + " outside the vocabulary (" +
                            std::to_string(V) + ")");
    }
    for (size_t i = 0; i < batch.size(); ++i) {
        out[i].logits.clear();
        out[i].attention.clear();
        out[i].residual.clear();
        if (options.captureAttention)
            out[i].attention.assign(size_t(L) * H * rows[i].T * size_t(rows[i].pos0 + rows[i].T), 0.0f);
        if (options.captureResidual && rows[i].T > 0)
            out[i].residual.resize(size_t(L) * C);
    }
    if (N == 0)
        return;
    ensureActivations(N);

    // x = token embedding (+ learned position embedding for gpt2)                      (N, C)
    for (size_t i = 0; i < batch.size(); ++i)
        ops::embeddingGather(&m_x[size_t(rows[i].row0) * C], w.tokenEmbedding, batch[i].tokens.data(), rows[i].T);
    if (gpt2) {
        std::vector<float> p(static_cast<size_t>(C));
        for (size_t i = 0; i < batch.size(); ++i)
            for (int t = 0; t < rows[i].T; ++t) {
                const int32_t pos = rows[i].pos0 + t;
                ops::embeddingGather(p.data(), w.positionEmbedding, &pos, 1);
                float* x = &m_x[size_t(rows[i].row0 + t) * C];
                ops::add(x, x, p.data(), C);
            }
    }
    // RoPE angles of every row's position, shared by q and k of every layer                  (N, D)
    if (!gpt2) {
        m_ropeAngles.resize(size_t(N) * D);
        for (size_t i = 0; i < batch.size(); ++i)
            for (int t = 0; t < rows[i].T; ++t)
                ops::ropeAngles(&m_ropeAngles[size_t(rows[i].row0 + t) * D], D, rows[i].pos0 + t, m_invFreq.data());
    }

    auto bias = [](const std::vector<float>& b) { return b.empty() ? nullptr : b.data(); };
    auto forRows = [&](auto&& fn) {
        if (N < 16 || N * std::max(C, c.ffn) < 16384) {
            for (int r = 0; r < N; ++r)
                fn(r);
        } else {
            m_pool->parallelFor((N + 15) / 16, [&](int task, int) {
                for (int r = task * 16; r < std::min(N, task * 16 + 16); ++r)
                    fn(r);
            });
        }
    };

    for (int l = 0; l < L; ++l) {
        if (cancelled(options))
            throw Cancelled();
        const LayerWeights& lw = w.layers[size_t(l)];
        const LayerVectors& lv = m_layers[size_t(l)];

        // xb = norm(x)
        normRows(m_xb.data(), m_x.data(), lv.attnNorm, lv.attnNormBias, N);
        // q, k, v = xb Wqᵀ + bq, xb Wkᵀ + bk, xb Wvᵀ + bv
        const ops::MatmulJob qkv[] = {{m_q.data(), &lw.wq, bias(lv.bq)},
                                      {m_k.data(), &lw.wk, bias(lv.bk)},
                                      {m_v.data(), &lw.wv, bias(lv.bv)}};
        ops::matmulMany(qkv, m_xb.data(), N, m_pool.get());
        // q, k = rmsnorm(q), rmsnorm(k) of each head over D (qwen3)
        if (c.qkNorm)
            forRows([&](int r) {
                for (int h = 0; h < H; ++h) {
                    float* q = &m_q[size_t(r) * c.qDim() + size_t(h) * D];
                    ops::rmsnorm(q, q, lv.qNorm.data(), D, c.normEps);
                }
                for (int h = 0; h < Hkv; ++h) {
                    float* k = &m_k[size_t(r) * c.kvDim() + size_t(h) * D];
                    ops::rmsnorm(k, k, lv.kNorm.data(), D, c.normEps);
                }
            });
        // q, k rotated by position (RoPE; gpt2 has learned positions instead)
        if (!gpt2)
            forRows([&](int r) {
                ops::ropeRotate(&m_q[size_t(r) * c.qDim()], H, D, &m_ropeAngles[size_t(r) * D], c.ropeLayout);
                ops::ropeRotate(&m_k[size_t(r) * c.kvDim()], Hkv, D, &m_ropeAngles[size_t(r) * D], c.ropeLayout);
            });
        // cache k, v; att = softmax(q Kᵀ / sqrt(D) + causal mask) V, per head
        storeKv(l, batch, rows);
        attend(l, batch, rows, out, options.captureAttention);
        // x = x + att Woᵀ + bo
        ops::matmul(m_xb.data(), m_att.data(), lw.wo, bias(lv.bo), N, m_pool.get());
        ops::add(m_x.data(), m_x.data(), m_xb.data(), N * C);

        // xb = norm(x)
        normRows(m_xb.data(), m_x.data(), lv.ffnNorm, lv.ffnNormBias, N);
        if (gpt2) {
            // hb = gelu(xb Wupᵀ + bup)
            ops::matmul(m_hb.data(), m_xb.data(), lw.wUp, bias(lv.bUp), N, m_pool.get());
            forRows([&](int r) { ops::gelu(&m_hb[size_t(r) * c.ffn], &m_hb[size_t(r) * c.ffn], c.ffn); });
        } else {
            // hb = silu(xb Wgateᵀ) * (xb Wupᵀ)
            const ops::MatmulJob gateUp[] = {{m_hb.data(), &lw.wGate, nullptr}, {m_hb2.data(), &lw.wUp, bias(lv.bUp)}};
            ops::matmulMany(gateUp, m_xb.data(), N, m_pool.get());
            forRows([&](int r) {
                ops::siluMul(&m_hb[size_t(r) * c.ffn], &m_hb[size_t(r) * c.ffn], &m_hb2[size_t(r) * c.ffn], c.ffn);
            });
        }
        // x = x + hb Wdownᵀ + bdown
        ops::matmul(m_xb.data(), m_hb.data(), lw.wDown, bias(lv.bDown), N, m_pool.get());
        ops::add(m_x.data(), m_x.data(), m_xb.data(), N * C);

        // residual[l] = x of each sequence's last new row (the logit lens)
        if (options.captureResidual)
            for (size_t i = 0; i < batch.size(); ++i)
                if (rows[i].T > 0)
                    std::memcpy(&out[i].residual[size_t(l) * C], &m_x[size_t(rows[i].row0 + rows[i].T - 1) * C],
                                size_t(C) * sizeof(float));

        if (options.progress)
            options.progress(l + 1, L);
    }
    if (cancelled(options))
        throw Cancelled();

    // logits = final norm of a row, times Woutᵀ: first every sequence's last new row, in one call (the
    // next-token logits, the same whether or not a sequence also takes every row's); then, for those that
    // do, all their rows kLogitChunk at a time, timed apart (prompt scores are not part of the prefill a
    // server would time).
    std::vector<int> lastRows; // rows of m_x
    std::vector<size_t> lastOf;
    for (size_t i = 0; i < batch.size(); ++i) {
        out[i].logits.clear();
        out[i].scoringMs = 0;
        if (rows[i].T > 0) {
            lastRows.push_back(rows[i].row0 + rows[i].T - 1);
            lastOf.push_back(i);
        }
    }
    const int M = int(lastRows.size());
    if (M > 0) {
        std::vector<float> last(size_t(M) * C); // (M, C)
        for (int j = 0; j < M; ++j)
            std::memcpy(&last[size_t(j) * C], &m_x[size_t(lastRows[size_t(j)]) * C], size_t(C) * sizeof(float));
        head(last.data(), M);
        for (int j = 0; j < M; ++j)
            out[lastOf[size_t(j)]].logits.assign(m_logits.begin() + ptrdiff_t(j) * V,
                                                 m_logits.begin() + ptrdiff_t(j + 1) * V);
    }
    for (size_t i = 0; i < batch.size(); ++i) {
        const SeqRows& r = rows[i];
        if (!batch[i].allLogits || r.T == 0)
            continue;
        const auto t0 = std::chrono::steady_clock::now();
        for (int t = 0; t < r.T; t += kLogitChunk) {
            if (cancelled(options))
                throw Cancelled();
            const int n = std::min(kLogitChunk, r.T - t);
            head(&m_x[size_t(r.row0 + t) * C], n);
            batch[i].allLogits(t, n, std::span<const float>(m_logits.data(), size_t(n) * V));
        }
        out[i].scoringMs = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
    }
}

void CpuBackend::head(const float* x, int rows)
{
    normRows(m_xb.data(), x, m_outputNorm, m_outputNormBias, rows);
    m_logits.resize(size_t(rows) * size_t(m_cfg.vocabSize));
    ops::matmul(m_logits.data(), m_xb.data(), m_weights.output, nullptr, rows, m_pool.get());
}

} // namespace logitscope
