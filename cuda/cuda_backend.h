// CudaBackend: the Backend interface on one NVIDIA GPU — fp16 weights uploaded once, a paged fp16 KV
// cache, cuBLAS for prefill, a mat-vec kernel and split-K attention for decode, CUDA graphs for the
// decode step. Registered as "cuda" by registerCudaBackend(); the engine never includes this header.
// Not multi-GPU, not thread-safe (one worker drives it, like every Backend).
#pragma once

#include "model/backend.h"

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

namespace logitscope {

struct CudaBackendOptions {
    int device = 0;      // CUDA device ordinal ($LOGITSCOPE_CUDA_DEVICE)
    bool graphs = true;  // replay the decode step as a CUDA graph ($LOGITSCOPE_CUDA_GRAPHS=0 turns off)
    bool gemv = true;    // mat-vec kernel for <= 4 rows, else cuBLAS ($LOGITSCOPE_CUDA_GEMV=0 turns off)
    static CudaBackendOptions fromEnvironment();
};

class CudaBackend final : public Backend {
public:
    // Throws Error ("no CUDA device found", the driver's message, a missing cuBLAS, an unsupported shape,
    // or weights that do not fit, with the sizes) — createBackend("auto") then falls back to the CPU.
    explicit CudaBackend(std::shared_ptr<const Model> model, const CudaBackendOptions& options = {});
    ~CudaBackend() override;

    std::string name() const override { return "cuda"; }
    std::string deviceDescription() const override;
    MemoryLedger memory() const override;
    size_t kvElementBytes() const override { return 2; }

    void reserveKvBlocks(int blocks) override;
    int kvBlockCapacity() const override;
    void copyKvBlock(int src, int dst, int tokens) override;

    void forward(std::span<const SequenceInput> batch, std::span<SequenceOutput> out,
                 const ForwardOptions& options) override;
    // Final norm, LM head, top-k and the chosen token's rank of every residual row on the device.
    bool logitLens(std::span<const float> residual, int topK, int32_t chosen, std::vector<LayerLens>& out) override;

    // Raw top-k (id, log-probability), best first, of the last logits row the latest forward() produced
    // for batch entry `index`, computed on the device (only k pairs cross PCIe).
    std::vector<std::pair<int32_t, float>> topLogprobs(int index, int k);
    // Bytes of weights one decode step reads (every matrix once, the LM head included).
    size_t weightBytesPerToken() const;
    const CudaBackendOptions& options() const;

private:
    struct Impl;
    std::unique_ptr<Impl> m;
};

// Registers "cuda" with the engine's backend factory (call once at start-up, before createBackend).
void registerCudaBackend();

// Device-to-device copy bandwidth of GPU 0 in GB/s (1e9 bytes per second, bytes read plus bytes
// written), timed with events over copies of `bytes` (halved until it fits). Throws Error without a GPU.
double cudaMeasureBandwidth(size_t bytes = size_t(1) << 30);

} // namespace logitscope
