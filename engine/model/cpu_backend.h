// CpuBackend: the reference forward pass (llama, qwen2, qwen3, gpt2) in fp32 over weights of any stored dtype.
// It reproduces Hugging Face transformers' eager forward; it is not an autograd engine nor a server:
// one forward() at a time, K/V kept as fp32 (or fp16, setKvType) in 16-token blocks owned here, block
// tables owned by KvCache.
// Legend: T tokens, C hidden, V vocabulary, L layers, H query heads, Hkv key/value heads, D head dim, F ffn.
#pragma once

#include "common/dtype.h"
#include "model/backend.h"
#include "model/config.h"
#include "common/huge_pages.h"
#include "model/model.h"

#include <memory>
#include <string>
#include <vector>

namespace logitscope {

class ThreadPool;

class CpuBackend : public Backend {
public:
    // threads: 0 = hardware concurrency.
    explicit CpuBackend(std::shared_ptr<const Model> model, int threads = 0);
    ~CpuBackend() override;

    std::string name() const override { return "cpu"; }
    std::string deviceDescription() const override;
    MemoryLedger memory() const override;
    size_t kvElementBytes() const override { return m_kvType == DType::F16 ? 2 : 4; }
    // How K/V are stored: F32 (the default, exact) or F16 (llama.cpp's default cache type: half the
    // memory, and half the bytes decode attention reads; each key and value rounded to fp16 as it is
    // written, the arithmetic stays fp32). Only before the first reserveKvBlocks: throws Error after.
    void setKvType(DType type);
    DType kvType() const { return m_kvType; }

    void reserveKvBlocks(int blocks) override;
    int kvBlockCapacity() const override { return int(m_kvBlocks.size()); }
    void copyKvBlock(int src, int dst, int tokens) override;

    void forward(std::span<const SequenceInput> batch, std::span<SequenceOutput> out,
                 const ForwardOptions& options) override;

    // Copies the matrices a decode step reads into anonymous memory, in 2 MiB huge pages where the
    // kernel allows (llama.cpp's --no-mmap): mapped files sit in 4 KiB page-cache pages, which cost
    // decode a few percent to ~15 % in TLB misses and cold prefetch streams. Costs RAM (the copy)
    // and a pass over the weights. Throws Error naming the bytes when the memory is not there.
    void loadWeightsIntoMemory();
    bool weightsInMemory() const { return m_resident != nullptr; }

    int threads() const;
    // Bytes of weights one decode step reads (every matrix once; the embedding row is negligible).
    size_t weightBytesPerToken() const;

private:
    // fp32 copies of the small per-layer vectors, converted once. Absent tensors stay empty.
    struct LayerVectors {
        std::vector<float> attnNorm, attnNormBias; // (C)
        std::vector<float> bq, bk, bv;             // (H*D), (Hkv*D), (Hkv*D)
        std::vector<float> qNorm, kNorm;           // (D), (D) qwen3
        std::vector<float> bo;                     // (C)
        std::vector<float> ffnNorm, ffnNormBias;   // (C)
        std::vector<float> bUp, bDown;             // (F), (C)
    };
    // Where one sequence of the batch sits among the flattened rows.
    struct SeqRows {
        int row0 = 0; // first row in the (N, ...) activations
        int T = 0;    // new tokens
        int pos0 = 0; // cached positions before them
    };

    void ensureActivations(int N);
    void normRows(float* out, const float* x, const std::vector<float>& w, const std::vector<float>& b, int N);
    void head(const float* x, int rows); // m_logits (rows, V) = final norm of x (rows, C), times Woutᵀ
    void storeKv(int layer, std::span<const SequenceInput> batch, const std::vector<SeqRows>& rows);
    // cpu_attention.cpp: m_att = softmax(q kᵀ / sqrt(D)) v for every sequence and head.
    void attend(int layer, std::span<const SequenceInput> batch, const std::vector<SeqRows>& rows,
                std::span<SequenceOutput> out, bool capture);
    void attendDirect(int layer, std::span<const SequenceInput> batch, const std::vector<SeqRows>& rows,
                      const std::vector<int>& seqs, std::span<SequenceOutput> out, bool capture);
    void attendGemm(int layer, const SequenceInput& in, const SeqRows& rows, SequenceOutput& out, bool capture);

    // One head of one layer in one block: (16, D) keys (kv = 0) or values (kv = 1), kvElementBytes() each.
    uint8_t* kvHead(int block, int layer, int kv, int head) const
    {
        const KvBlockRef& b = m_kvBlocks[size_t(block)];
        return b.base + ((size_t(layer) * 2 + size_t(kv)) * m_cfg.kvHeads + size_t(head)) * b.stride;
    }

    std::shared_ptr<const Model> m_model;
    ModelConfig m_cfg;
    Weights m_weights;                               // the model's views, or views into m_resident
    HugePageMemory m_resident{nullptr, nullptr};     // loadWeightsIntoMemory's copy
    size_t m_residentBytes = 0;
    std::unique_ptr<ThreadPool> m_pool;
    std::vector<LayerVectors> m_layers;              // (L)
    std::vector<float> m_outputNorm, m_outputNormBias; // (C)
    std::vector<float> m_invFreq;                    // (D/2) RoPE inverse frequencies, scaling applied

    // KV storage: arenas of n blocks laid out (L, 2, Hkv, n, 16, D), one arena per reservation.
    // One head's 16 keys of a block are 16 x D contiguous floats, and the same head of the arena's next
    // block follows them: a sequence's blocks are handed out in ascending order, so decode attention
    // reads each (layer, head) as one long run the hardware prefetchers can follow, not a 4 KiB piece
    // per block. Arenas sit on huge pages (one TLB entry covers 2 MiB of keys).
    struct KvBlockRef {
        uint8_t* base = nullptr; // layer 0, keys, head 0 of this block
        size_t stride = 0;       // bytes from one (layer, kv, head) run of the arena to the next
    };
    DType m_kvType = DType::F32;
    size_t m_headBytes = 0;                          // 16 * D elements
    size_t m_blockBytes = 0;                         // L * 2 * Hkv * 16 * D elements
    std::vector<HugePageMemory> m_kvArenas;
    std::vector<KvBlockRef> m_kvBlocks;              // (blocks) into m_kvArenas

    // Activations, sized for the largest batch seen (N rows = all new tokens of the batch).
    std::vector<float> m_x;    // (N, C) residual stream
    std::vector<float> m_xb;   // (N, C) normed input / projection output
    std::vector<float> m_q;    // (N, H*D)
    std::vector<float> m_k;    // (N, Hkv*D)
    std::vector<float> m_v;    // (N, Hkv*D)
    std::vector<float> m_att;  // (N, H*D) attention output
    std::vector<float> m_hb;   // (N, F) gate / activation
    std::vector<float> m_hb2;  // (N, F) up
    std::vector<float> m_ropeAngles; // (N, D) cos then sin of each row's position (ops::ropeAngles)
    std::vector<float> m_logits; // (rows, V) one LM-head call's logits: the batch's last rows, or a chunk of a prompt
    std::vector<float> m_kvGather; // (2, Hkv, S, D) one sequence's keys and values, contiguous (prefill)
    std::vector<float> m_attParts; // (query rows, Hkv, parts, G, D + 2) split-K decode partials
};

} // namespace logitscope
