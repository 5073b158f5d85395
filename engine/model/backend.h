// Backend: where the transformer's arithmetic runs. The CPU backend (cpu_backend.h) is the reference;
// cuda/ implements the same interface and registers itself with the factory below.
// A backend owns the storage of the paged KV cache; which blocks belong to which sequence is the
// KvCache's business (kv_cache.h), so lanes, beams and branches can share blocks on any device.
#pragma once

#include "model/logit_lens.h"

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <vector>

namespace logitscope {

class Model;

// Takes the raw logits of new positions [t0, t0 + rows) of one sequence, (rows, V), in order and a few rows
// at a time: a long prompt is scored (prompt log-probs) without its (T, V) logits ever existing at once.
using LogitRows = std::function<void(int t0, int rows, std::span<const float> logits)>;

// One sequence's share of a forward call: new tokens appended after `pos0` cached positions.
struct SequenceInput {
    std::span<const int32_t> tokens;      // (T) new tokens
    int pos0 = 0;                         // positions already in the cache; tokens[i] sits at pos0 + i
    std::span<const int32_t> blockTable;  // KV blocks covering positions [0, pos0 + T)
    LogitRows allLogits;                  // when set, receives the logits of every new position
};

struct SequenceOutput {
    std::vector<float> logits;    // (1, V) raw logits of the last new position
    std::vector<float> attention; // (L, H, T, pos0 + T) softmax probabilities, when captured (future keys are 0)
    // (L, C) the last new position's residual stream after each layer (raw hidden state: before the final
    // norm, row L-1 is what the head sees), when captured; empty otherwise and when the sequence had no tokens.
    // Projected through the final norm and the LM head by LogitLens (logit_lens.h).
    std::vector<float> residual;
    double scoringMs = 0;         // time spent on the rows only `allLogits` wanted (not part of the forward proper)
};

struct ForwardOptions {
    bool captureAttention = false;
    const std::atomic<bool>* cancel = nullptr;          // checked between layers; throws Cancelled
    std::function<void(int done, int total)> progress;  // layers done, for long prefills
    bool captureResidual = false;                       // fill SequenceOutput::residual (the logit lens)
};

// Where the bytes are: shown in the KV / memory view and by `bench`.
struct MemoryLedger {
    size_t weights = 0;
    size_t kvCache = 0;       // storage reserved for KV blocks
    size_t activations = 0;
    size_t workspace = 0;
    size_t deviceTotal = 0;   // GPU: cudaMemGetInfo; CPU: physical RAM
    size_t deviceFree = 0;
};

class Backend {
public:
    virtual ~Backend() = default;

    virtual std::string name() const = 0;              // "cpu" or "cuda"
    virtual std::string deviceDescription() const = 0; // e.g. "AMD EPYC, 2 threads" / "NVIDIA H100 80GB"
    virtual MemoryLedger memory() const = 0;
    virtual size_t kvElementBytes() const = 0;         // 4 (fp32 on the CPU) or 2 (fp16 on a GPU)

    // Storage for at least `blocks` KV blocks of KvCache::kBlockSize tokens; existing contents are kept.
    // Throws Error (saying what did not fit and how much was needed) when memory runs out.
    virtual void reserveKvBlocks(int blocks) = 0;
    virtual int kvBlockCapacity() const = 0;
    // Copy-on-write: the first `tokens` positions of block src are copied into block dst, every layer.
    virtual void copyKvBlock(int src, int dst, int tokens) = 0;

    // Runs the model over every sequence of the batch, writing K/V of the new tokens into their blocks.
    virtual void forward(std::span<const SequenceInput> batch, std::span<SequenceOutput> out,
                         const ForwardOptions& options) = 0;

    // The logit lens on the backend's own device, with LogitLens::run's meaning: each row of residual
    // (L, C) through the final norm and the LM head, its top-k and where `chosen` (if >= 0) stands.
    // Returns false when the backend has no device path of its own (the caller runs LogitLens).
    virtual bool logitLens(std::span<const float> residual, int topK, int32_t chosen, std::vector<LayerLens>& out)
    {
        (void)residual, (void)topK, (void)chosen, (void)out;
        return false;
    }
};

// Backend factory. "cpu" is always there; cuda/ adds "cuda" through registerBackendFactory().
// createBackend("auto") tries the GPU first and falls back to the CPU, putting a one-line reason in *notice.
using BackendFactory = std::function<std::unique_ptr<Backend>(std::shared_ptr<const Model>, int threads)>;
void registerBackendFactory(const std::string& name, BackendFactory factory);
std::vector<std::string> availableBackends();
std::unique_ptr<Backend> createBackend(std::shared_ptr<const Model> model, const std::string& device,
                                       int threads = 0, std::string* notice = nullptr);
// A new backend like `like` (its device, and on the CPU its thread count and KV element type) with an
// empty KV cache: for a fresh session or a measurement that must leave the user's cache alone.
std::unique_ptr<Backend> createBackendLike(const Backend& like, std::shared_ptr<const Model> model);

} // namespace logitscope
