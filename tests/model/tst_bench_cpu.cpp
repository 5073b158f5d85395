// CPU benchmark (label bench, not run by default): prefill 512 and decode 128 tokens on a random
// SmolLM2-135M-shaped F16 model with 2 threads, against the measured memory bandwidth.
// Prints numbers; it asserts only that the runs complete (timings depend on the machine's load).
#include "backend_forward.h"
#include "model/bandwidth.h"
#include "model/cpu_backend.h"
#include "model/kv_cache.h"
#include "model/model.h"
#include "model/synthetic_model.h"

#include <QtTest>

#include <chrono>
#include <random>

using namespace logitscope;

namespace {

double seconds(std::chrono::steady_clock::time_point t0)
{
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

SequenceInput prepare(KvCache& cache, CpuBackend& backend, int seq, const std::vector<int32_t>& tokens)
{
    return test::appendTokens(cache, backend, seq, tokens);
}

} // namespace

class TstBenchCpu : public QObject {
    Q_OBJECT
private slots:
    void smolLm2Shape();
};

void TstBenchCpu::smolLm2Shape()
{
    const int threads = qEnvironmentVariableIntValue("LOGITSCOPE_BENCH_THREADS") > 0
                            ? qEnvironmentVariableIntValue("LOGITSCOPE_BENCH_THREADS")
                            : 2;
    // SmolLM2-135M: C=576, L=30, H=9, Hkv=3, D=64, F=1536, V=49152, tied embeddings.
    const ModelConfig c = syntheticConfig(Architecture::Llama, 49152, 576, 30, 9, 3, 1536, 2048, true);
    auto model = SyntheticModelBuilder::build(c, DType::F16, 1);
    CpuBackend backend(model, threads);
    BandwidthProbe probe(threads);
    // Bytes a decode step reads: the weight matrices, and the KV cache at the mean context (576).
    const double bytesPerToken = double(backend.weightBytesPerToken()) + 576.0 * double(c.kvBytesPerToken(4));

    std::mt19937 rng(1);
    std::uniform_int_distribution<int> id(0, c.vocabSize - 1);
    std::vector<int32_t> prompt(512);
    for (auto& t : prompt)
        t = id(rng);

    KvCache cache(c.kvBytesPerToken(4));
    const int seq = cache.createSequence();
    // Blocks for the whole run in one reservation, as `logitscope-cli bench` and a growing Session
    // have them (one arena: each layer's keys contiguous across blocks).
    cache.append(seq, 512 + 128);
    backend.reserveKvBlocks(cache.blocksNeeded());
    cache.truncate(seq, 0);
    SequenceOutput out;
    SequenceInput in = prepare(cache, backend, seq, prompt);
    auto t0 = std::chrono::steady_clock::now();
    backend.forward(std::span<const SequenceInput>(&in, 1), std::span<SequenceOutput>(&out, 1), {});
    const double prefill = 512.0 / seconds(t0);

    // The bandwidth is probed before and after the decode (the machine is shared; its bandwidth drifts):
    // the bound uses their mean. `logitscope-cli bench` interleaves finer.
    const double before = probe.measure();
    const int steps = 128;
    t0 = std::chrono::steady_clock::now();
    for (int s = 0; s < steps; ++s) {
        const std::vector<int32_t> next{int32_t(std::max_element(out.logits.begin(), out.logits.end()) - out.logits.begin())};
        in = prepare(cache, backend, seq, next);
        backend.forward(std::span<const SequenceInput>(&in, 1), std::span<SequenceOutput>(&out, 1), {});
    }
    const double decode = steps / seconds(t0);
    const double bandwidth = (before + probe.measure()) / 2;
    const double bound = bandwidth * 1e9 / bytesPerToken;

    qInfo("device: %s", backend.deviceDescription().c_str());
    qInfo("memory bandwidth (streaming read, %d threads, mean of before/after): %.2f GB/s", threads, bandwidth);
    qInfo("bytes read per decoded token (weights + KV at 576 tokens): %.1f MB -> bandwidth bound %.1f tok/s",
          bytesPerToken / 1e6, bound);
    qInfo("prefill 512 tokens: %.1f tok/s", prefill);
    qInfo("decode 128 tokens (context 512..640): %.2f tok/s = %.0f%% of the bandwidth bound", decode,
          100.0 * decode / bound);

    // Lanes: several sequences decoded together share one pass over the weights.
    for (int lanes : {1, 4, 8, 16}) {
        KvCache lc(c.kvBytesPerToken(4));
        std::vector<int> seqs;
        std::vector<std::vector<int32_t>> toks;
        for (int i = 0; i < lanes; ++i) {
            seqs.push_back(lc.createSequence());
            toks.push_back({id(rng)});
        }
        std::vector<SequenceOutput> outs(static_cast<size_t>(lanes));
        const int laneSteps = 8;
        t0 = std::chrono::steady_clock::now();
        for (int s = 0; s < laneSteps; ++s) {
            std::vector<SequenceInput> ins;
            for (int i = 0; i < lanes; ++i)
                ins.push_back(prepare(lc, backend, seqs[size_t(i)], toks[size_t(i)]));
            backend.forward(ins, outs, {});
        }
        qInfo("batched decode, %2d lanes: %.1f tok/s", lanes, lanes * laneSteps / seconds(t0));
    }
    QVERIFY(prefill > 0 && decode > 0);
}

QTEST_APPLESS_MAIN(TstBenchCpu)
#include "tst_bench_cpu.moc"
