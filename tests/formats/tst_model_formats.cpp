// The same model in both formats computes the same function (generated llama/qwen2/gpt2 models,
// written as GGUF and as a Hugging Face folder), and damaged copies of the reference model fail
// with a message that names the file and the problem.
#include "common/error.h"
#include "decoding/session.h"
#include "model/backend.h"
#include "model/config_loader.h"
#include "model/model.h"
#include "formats/gguf_reader.h"
#include "formats/gguf_writer.h"
#include "formats/mapped_file.h"
#include "formats/safetensors_reader.h"
#include "formats/safetensors_writer.h"
#include "model/model_writer.h"
#include "model/synthetic_model.h"
#include "common/quantize.h"
#include "shared_data.h"

#include <QTemporaryDir>
#include <QtTest>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

using namespace logitscope;
namespace fs = std::filesystem;

namespace {

// The metadata a config needs (256 wide, 2 layers, 4 heads, 1,000 tokens) and nothing else: for checks of
// configFromGguf alone.
GgufWriter metadataOnlyGguf(const std::string& arch, int contextLength)
{
    GgufWriter w;
    w.setString("general.architecture", arch);
    w.setU32(arch + ".embedding_length", 256);
    w.setU32(arch + ".block_count", 2);
    w.setU32(arch + ".attention.head_count", 4);
    w.setU32(arch + ".feed_forward_length", 512);
    w.setU32(arch + ".context_length", uint32_t(contextLength));
    w.setU32(arch + ".vocab_size", 1000);
    return w;
}

QString errorOf(const std::function<void()>& f)
{
    try {
        f();
    } catch (const Error& e) {
        return QString::fromStdString(e.what());
    }
    return QString();
}

struct Greedy {
    std::vector<int32_t> ids;
    std::vector<float> firstLogits;
};

Greedy greedy(const std::string& path, const std::vector<int32_t>& prompt, int steps)
{
    auto model = Model::load(path);
    Session s(model, createBackend(model, "cpu", 2));
    SamplingParams p;
    p.greedy = true;
    p.maxNewTokens = steps;
    s.prefill(prompt, p);
    Greedy g;
    g.firstLogits = s.currentLogits(0);
    // EOS may end a random model's text early: force-continue with the argmax to compare `steps` ids.
    for (int i = 0; i < steps && !s.finished(0); ++i)
        g.ids.push_back(s.step(0).chosen);
    return g;
}

void copyFolder(const std::string& from, const std::string& to)
{
    fs::create_directories(to);
    for (const auto& e : fs::directory_iterator(from)) {
        fs::copy_file(e.path(), fs::path(to) / e.path().filename(), fs::copy_options::overwrite_existing);
        fs::permissions(fs::path(to) / e.path().filename(), fs::perms::owner_read | fs::perms::owner_write);
    }
}

} // namespace

class TestModelFormats : public QObject {
    Q_OBJECT

private slots:
    // Files of 2 MiB and more are mapped at a 2 MiB boundary (so the kernel can use huge pages for them),
    // read back byte for byte up to an odd-sized tail, and report how much of them is resident.
    // populate reads a large file in at once (re-reading it in 2 MiB pages if the cache held 4 KiB
    // ones: the file is written 4 KiB at a time, which leaves it so on large-folio file systems).
    void mappedFileAlignmentAndResidency_data()
    {
        QTest::addColumn<qint64>("size");
        QTest::addColumn<bool>("populate");
        QTest::newRow("small") << qint64(10000) << false;
        QTest::newRow("large, odd tail") << qint64(5 * 1024 * 1024 + 123) << false;
        QTest::newRow("64 MiB, populated") << qint64(64 * 1024 * 1024 + 123) << true;
    }

    void mappedFileAlignmentAndResidency()
    {
        QFETCH(qint64, size);
        QFETCH(bool, populate);
        QTemporaryDir dir;
        const std::string path = dir.filePath("blob.bin").toStdString();
        const auto byteAt = [](qint64 i) { return uint8_t(i * 131 + (i >> 12)); };
        {
            std::FILE* f = std::fopen(path.c_str(), "wb");
            QVERIFY(f);
            std::setvbuf(f, nullptr, _IONBF, 0); // each 4 KiB fwrite is one write()
            std::vector<uint8_t> page(4096);
            for (qint64 at = 0; at < size; at += 4096) {
                const size_t n = size_t(std::min<qint64>(4096, size - at));
                for (size_t k = 0; k < n; ++k)
                    page[k] = byteAt(at + qint64(k));
                QCOMPARE(std::fwrite(page.data(), 1, n, f), n);
            }
            std::fclose(f);
        }
        MappedFile m(path, populate);
        QCOMPARE(qint64(m.size()), size);
        if (size >= 2 * 1024 * 1024)
            QCOMPARE(reinterpret_cast<uintptr_t>(m.data()) % (2 * 1024 * 1024), uintptr_t(0));
        size_t resident = 0, huge = 0;
        const size_t whole = (size_t(size) + 4095) / 4096 * 4096;
#ifdef __linux__
        if (populate) { // all of it in memory before anything was read
            m.residentBytes(resident, huge);
            QCOMPARE(resident, whole);
            qInfo("populated: %zu of %zu bytes in 2 MiB pages", huge, resident);
        }
#endif
        for (qint64 i = 0; i < size; ++i)
            if (m.data()[i] != byteAt(i))
                QFAIL(qPrintable(QString("byte %1 differs").arg(i)));
        m.residentBytes(resident, huge);
#ifdef __linux__
        // Every page was read just now, so all of the file is resident; huge pages are whole 2 MiB.
        QCOMPARE(resident, whole);
        QVERIFY(huge <= resident);
        QCOMPARE(huge % (2 * 1024 * 1024), size_t(0));
#endif
    }

    // Every GGUF block format through the whole path: a model quantized as `dtype` (make-model's names,
    // the "_m" mixes included), written as GGUF and loaded back, keeps each tensor's type and bytes,
    // computes what the same weights in memory compute, and stays near the F32 model it was quantized
    // from, nearer the more bits it has. Hidden 256 so the K-quants fit; the 576-wide row falls back.
    void quantizedGguf_data()
    {
        QTest::addColumn<QString>("dtype");
        QTest::addColumn<double>("bound"); // relative RMS difference of the first logits from F32's
        const struct { const char* name; double bound; } rows[] = {
            // measured: 0.72, 0.35, 0.18, 0.17, 0.21, 0.21, 0.16, 0.14, 0.10, 0.086, 0.088, 0.078, 0.039, 0.010
            {"q2_k", 0.9}, {"q3_k", 0.45}, {"q4_0", 0.25}, {"q4_1", 0.25}, {"iq4_nl", 0.27}, {"iq4_xs", 0.27},
            {"q4_k", 0.22}, {"q4_k_m", 0.19}, {"q5_0", 0.14}, {"q5_1", 0.12}, {"q5_k", 0.12}, {"q5_k_m", 0.11},
            {"q6_k", 0.055}, {"q8_0", 0.015},
        };
        for (const auto& r : rows)
            QTest::newRow(r.name) << QString(r.name) << r.bound;
    }

    void quantizedGguf()
    {
        QFETCH(QString, dtype);
        QFETCH(double, bound);
        const std::string vocab = "tokenizer-vectors/ggml-vocab-llama-spm.gguf";
        REQUIRE_SHARED(vocab);
        QTemporaryDir dir;
        ModelConfig c = syntheticConfig(Architecture::Llama, 32000, 256, 2, 4, 2, 576, 256);
        const WeightTypes types = weightTypesNamed(dtype.toStdString());
        const auto reference = SyntheticModelBuilder::build(c, DType::F32, 7);
        const auto quantized = SyntheticModelBuilder::build(c, types, 7);
        const std::string refPath = dir.filePath("f32.gguf").toStdString(), qPath = dir.filePath("q.gguf").toStdString();
        writeModel(*reference, ModelFormat::Gguf, refPath, test::sharedPath(vocab));
        writeModel(*quantized, ModelFormat::Gguf, qPath, test::sharedPath(vocab));

        const auto loaded = Model::load(qPath);
        const Weights& w = loaded->weights();
        const Weights& m = quantized->weights();
        QCOMPARE(w.layers[0].wq.type, quantFallback(types.matrices, 256));
        QCOMPARE(w.layers[0].wv.type, quantFallback(types.sensitive, 256));
        QCOMPARE(w.layers[0].wDown.type, quantFallback(types.sensitive, 576)); // 576 columns: the fallback
        QCOMPARE(w.output.type, quantFallback(types.sensitive, 256));
        for (int l = 0; l < c.layers; ++l)
            for (auto t : {&LayerWeights::wv, &LayerWeights::wUp, &LayerWeights::wDown}) {
                const TensorView &a = w.layers[size_t(l)].*t, &b = m.layers[size_t(l)].*t;
                QCOMPARE(a.type, b.type);
                QVERIFY(a.nbytes == b.nbytes && std::memcmp(a.data, b.data, a.nbytes) == 0);
            }
        QVERIFY2(loaded->dtypeSummary().find(dtypeName(w.layers[0].wq.type)) != std::string::npos,
                 loaded->dtypeSummary().c_str());
        // Requantizing the F32 model in memory makes the same bytes as quantizing its values directly.
        const auto again = Model::requantized(reference, types);
        for (int l = 0; l < c.layers; ++l)
            for (auto t : {&LayerWeights::wq, &LayerWeights::wk, &LayerWeights::wv, &LayerWeights::wo,
                           &LayerWeights::wGate, &LayerWeights::wUp, &LayerWeights::wDown}) {
                const TensorView &a = again->weights().layers[size_t(l)].*t, &b = m.layers[size_t(l)].*t;
                QCOMPARE(a.type, b.type);
                QVERIFY(a.nbytes == b.nbytes && std::memcmp(a.data, b.data, a.nbytes) == 0);
            }
        QVERIFY(std::memcmp(again->weights().output.data, m.output.data, m.output.nbytes) == 0);
        QCOMPARE(again->weightBytes(), quantized->weightBytes());

        const std::vector<int32_t> prompt = {1, 450, 4996, 17354, 1701, 432, 29873, 975};
        const Greedy q = greedy(qPath, prompt, 4), f = greedy(refPath, prompt, 4);
        // The file computes what the in-memory weights compute.
        Session s(quantized, createBackend(quantized, "cpu", 2));
        SamplingParams p;
        p.greedy = true;
        s.prefill(prompt, p);
        const auto inMemory = s.currentLogits(0);
        double same = 0, diff = 0, ref = 0;
        for (size_t i = 0; i < q.firstLogits.size(); ++i) {
            same = std::max(same, std::fabs(double(q.firstLogits[i]) - inMemory[i]));
            diff += std::pow(double(q.firstLogits[i]) - f.firstLogits[i], 2);
            ref += std::pow(double(f.firstLogits[i]), 2);
        }
        QVERIFY2(same < 1e-4, qPrintable(QString::number(same)));
        const double rel = std::sqrt(diff / ref);
        qInfo("%s (%s): first logits %.4f from F32's (bound %.2f)", qPrintable(dtype), loaded->dtypeSummary().c_str(),
              rel, bound);
        QVERIFY(rel < bound);
    }

    // Every architecture's matrices requantize as direct quantization would write them: llama (untied
    // head), qwen2 (tied head, q/k/v biases), gpt2 (tied, position table and biases kept as stored).
    void requantizedArchitectures_data()
    {
        QTest::addColumn<int>("arch");
        QTest::newRow("llama") << int(Architecture::Llama);
        QTest::newRow("qwen2") << int(Architecture::Qwen2);
        QTest::newRow("qwen3") << int(Architecture::Qwen3);
        QTest::newRow("gpt2") << int(Architecture::Gpt2);
    }

    void requantizedArchitectures()
    {
        QFETCH(int, arch);
        const ModelConfig c = syntheticConfig(Architecture(arch), 300, 256, 2, 4, 2, 512, 256,
                                              Architecture(arch) == Architecture::Qwen2);
        const WeightTypes types = weightTypesNamed("q4_k_m");
        const auto f32 = SyntheticModelBuilder::build(c, DType::F32, 3);
        const auto direct = SyntheticModelBuilder::build(c, types, 3);
        const auto again = Model::requantized(f32, types);
        const Weights &a = again->weights(), &b = direct->weights(), &src = f32->weights();
        const auto same = [](const TensorView& x, const TensorView& y) {
            return x.type == y.type && x.nbytes == y.nbytes && std::memcmp(x.data, y.data, x.nbytes) == 0;
        };
        QVERIFY(same(a.tokenEmbedding, b.tokenEmbedding));
        QCOMPARE(a.output.data == a.tokenEmbedding.data, c.tiedEmbeddings);
        if (!c.tiedEmbeddings)
            QVERIFY(same(a.output, b.output));
        QCOMPARE(a.positionEmbedding.data, src.positionEmbedding.data); // gpt2's stays as stored (null elsewhere)
        for (size_t l = 0; l < a.layers.size(); ++l) {
            for (auto t : {&LayerWeights::wq, &LayerWeights::wk, &LayerWeights::wv, &LayerWeights::wo,
                           &LayerWeights::wGate, &LayerWeights::wUp, &LayerWeights::wDown})
                QVERIFY((a.layers[l].*t).data ? same(a.layers[l].*t, b.layers[l].*t) : !(b.layers[l].*t).data);
            for (auto t : {&LayerWeights::attnNorm, &LayerWeights::bq, &LayerWeights::qNorm, &LayerWeights::kNorm,
                           &LayerWeights::bDown})
                QCOMPARE((a.layers[l].*t).data, (src.layers[l].*t).data); // norms and biases: the source's
        }
        // It runs: the last logits equal the directly quantized model's.
        const auto last = [](const std::shared_ptr<const Model>& m) {
            Session s(m, createBackend(m, "cpu", 2));
            SamplingParams p;
            p.greedy = true;
            s.prefill({1, 17, 42, 99, 5}, p);
            return s.currentLogits(0);
        };
        QCOMPARE(last(again), last(direct));
    }

    // The bundled model requantized in memory: it keeps its tokenizer and says what it is, its
    // weights shrink with the bits, and its next-token distribution stays close at 8 bits and
    // moves further at 2.
    void requantizedBundledModel()
    {
        const auto base = Model::load(std::string(LOGITSCOPE_SOURCE_DIR) + "/resources/models/logitscope-brown");
        const auto q8 = Model::requantized(base, weightTypesNamed("q8_0"));
        const auto q2 = Model::requantized(base, weightTypesNamed("q2_k"));
        QCOMPARE(q8->name(), base->name() + " (requantized to Q8_0)");
        QCOMPARE(q8->tokenizer().vocabSize(), base->tokenizer().vocabSize());
        QVERIFY(q2->weightBytes() < q8->weightBytes() && q8->weightBytes() < base->weightBytes());
        const auto logprobs = [](const std::shared_ptr<const Model>& m) {
            Session s(m, createBackend(m, "cpu", 2));
            SamplingParams p;
            p.greedy = true;
            s.prefill(s.tokenize("The jury said that the"), p);
            std::vector<double> lp(s.currentLogits(0).begin(), s.currentLogits(0).end());
            double mx = *std::max_element(lp.begin(), lp.end()), z = 0;
            for (double v : lp)
                z += std::exp(v - mx);
            for (double& v : lp)
                v -= mx + std::log(z);
            return lp;
        };
        const auto kl = [](const std::vector<double>& p, const std::vector<double>& q) {
            double d = 0;
            for (size_t i = 0; i < p.size(); ++i)
                d += std::exp(p[i]) * (p[i] - q[i]);
            return d;
        };
        const auto f16 = logprobs(base);
        const double kl8 = kl(f16, logprobs(q8)), kl2 = kl(f16, logprobs(q2));
        qInfo("KL(F16 || Q8_0) = %.2e, KL(F16 || Q2_K) = %.2e", kl8, kl2);
        QVERIFY(kl8 < 1e-3);
        QVERIFY(kl2 > 10 * kl8);
    }

    // A quantized file whose LM head has NaN scales: the forward pass leaves no finite logit, and the
    // session says so naming the file (the sampler used to report "token id -1", beam search to end
    // quietly with nothing), leaving nothing half-applied.
    void damagedWeightsAreNamed()
    {
        const std::string vocab = "tokenizer-vectors/ggml-vocab-llama-spm.gguf";
        REQUIRE_SHARED(vocab);
        QTemporaryDir dir;
        const std::string path = dir.filePath("nan.gguf").toStdString();
        const ModelConfig c = syntheticConfig(Architecture::Llama, 32000, 64, 1, 4, 2, 128, 256);
        writeModel(*SyntheticModelBuilder::build(c, DType::Q8_0, 5), ModelFormat::Gguf, path, test::sharedPath(vocab));
        size_t at = 0, bytes = 0;
        {
            const GgufFile g(path);
            const TensorView* head = g.tensor("output.weight");
            QVERIFY(head);
            at = size_t(static_cast<const uint8_t*>(head->data) - g.mapping()->data());
            bytes = head->nbytes;
        }
        {
            std::fstream f(path, std::ios::in | std::ios::out | std::ios::binary);
            const std::string nan(bytes, '\xff'); // every block's fp16 scale 0xFFFF: NaN
            f.seekp(std::streamoff(at));
            f.write(nan.data(), std::streamsize(nan.size()));
        }
        const auto model = Model::load(path);
        Session s(model, createBackend(model, "cpu", 2));
        SamplingParams p;
        const QString sampled = errorOf([&] { s.prefill({1, 450, 4996}, p); });
        QVERIFY2(sampled.startsWith(QString::fromStdString(path) + ": the model computed no finite next-token logit"),
                 qPrintable(sampled));
        QVERIFY(!s.hasPrompt());
        QCOMPARE(s.kvStats().tokensStored, 0); // nothing half-applied
    }

    void bothFormatsAgree_data()
    {
        QTest::addColumn<QString>("arch");
        QTest::addColumn<QString>("vocab");
        QTest::newRow("llama") << "llama" << "tokenizer-vectors/ggml-vocab-llama-spm.gguf";
        QTest::newRow("qwen2") << "qwen2" << "tokenizer-vectors/ggml-vocab-gpt-2.gguf";
        QTest::newRow("qwen3") << "qwen3" << "tokenizer-vectors/ggml-vocab-gpt-2.gguf";
        QTest::newRow("phi3") << "phi3" << "tokenizer-vectors/ggml-vocab-phi-3.gguf"; // <unk> typed control, padding unknown
        QTest::newRow("gpt2") << "gpt2" << "tokenizer-vectors/ggml-vocab-gpt-2.gguf";
    }

    void bothFormatsAgree()
    {
        QFETCH(QString, arch);
        QFETCH(QString, vocab);
        REQUIRE_SHARED(vocab.toStdString());
        QTemporaryDir dir;
        MakeModelOptions o;
        o.arch = arch == "llama"   ? Architecture::Llama
                 : arch == "qwen2" ? Architecture::Qwen2
                 : arch == "qwen3" ? Architecture::Qwen3
                 : arch == "phi3"  ? Architecture::Phi3
                                   : Architecture::Gpt2;
        o.shape = "tiny";
        o.vocab = test::sharedPath(vocab.toStdString());
        o.weights = DType::F32;
        o.seed = 7;
        o.format = ModelFormat::Gguf;
        o.out = dir.filePath("m.gguf").toStdString();
        makeModel(o);
        o.format = ModelFormat::HuggingFace;
        o.out = dir.filePath("hf").toStdString();
        makeModel(o);

        auto g = Model::load(dir.filePath("m.gguf").toStdString());
        auto h = Model::load(dir.filePath("hf").toStdString());
        QCOMPARE(architectureName(g->config().arch), architectureName(h->config().arch));
        QCOMPARE(g->config().vocabSize, h->config().vocabSize);
        QCOMPARE(g->parameterCount(), h->parameterCount());
        // llama GGUF stores Q/K interleaved; the loader must undo it through the rope layout.
        if (arch == "llama")
            QVERIFY(g->config().ropeLayout == RopeLayout::Interleaved);
        // qwen3: per-head q/k norms, and heads wider than hidden / heads (key_length, head_dim)
        for (const auto& m : {g, h}) {
            QCOMPARE(m->config().qkNorm, arch == "qwen3");
            QCOMPARE(m->config().headDim, arch == "qwen3" ? 32 : 16);
            QCOMPARE(m->weights().layers[1].kNorm.data != nullptr, arch == "qwen3");
            QCOMPARE(m->config().qkvBias, arch == "qwen2" || arch == "gpt2");
        }

        // The folder's tokenizer files, rebuilt from the GGUF vocabulary, split text as the GGUF does.
        for (const char* text : {"Hello world, it's 2024!", "  tabs\tand\nnew lines <unk> here"})
            QCOMPARE(h->tokenizer().encode(text), g->tokenizer().encode(text));

        const std::vector<int32_t> prompt = {1, 17, 42, 99, 5, 64, 300, 12};
        const Greedy a = greedy(dir.filePath("m.gguf").toStdString(), prompt, 12);
        const Greedy b = greedy(dir.filePath("hf").toStdString(), prompt, 12);
        QCOMPARE(a.ids, b.ids);
        QCOMPARE(a.firstLogits.size(), b.firstLogits.size());
        double maxDiff = 0;
        for (size_t i = 0; i < a.firstLogits.size(); ++i)
            maxDiff = std::max(maxDiff, double(std::fabs(a.firstLogits[i] - b.firstLogits[i])));
        QVERIFY2(maxDiff < 1e-3, qPrintable(QString("max logit difference %1").arg(maxDiff)));
    }

    // Qwen3-0.6B's config.json as released: wide heads (head_dim 128 over a 1024 hidden size), q/k norms,
    // no attention biases, tied embeddings.
    void releasedQwen3Config()
    {
        const nlohmann::json j = nlohmann::json::parse(R"({
          "architectures": ["Qwen3ForCausalLM"], "attention_bias": false, "attention_dropout": 0.0,
          "bos_token_id": 151643, "eos_token_id": 151645, "head_dim": 128, "hidden_act": "silu",
          "hidden_size": 1024, "initializer_range": 0.02, "intermediate_size": 3072,
          "max_position_embeddings": 40960, "max_window_layers": 28, "model_type": "qwen3",
          "num_attention_heads": 16, "num_hidden_layers": 28, "num_key_value_heads": 8, "rms_norm_eps": 1e-06,
          "rope_scaling": null, "rope_theta": 1000000, "sliding_window": null, "tie_word_embeddings": true,
          "torch_dtype": "bfloat16", "transformers_version": "4.51.0", "use_cache": true,
          "use_sliding_window": false, "vocab_size": 151936})");
        const ModelConfig c = configFromHfJson(j, "config.json");
        QCOMPARE(architectureName(c.arch), "qwen3");
        QVERIFY(c.qkNorm);
        QVERIFY(!c.qkvBias);
        QVERIFY(c.tiedEmbeddings);
        QCOMPARE(c.headDim, 128);
        QCOMPARE(c.qDim(), 2048);
        QCOMPARE(c.kvDim(), 1024);
        QCOMPARE(c.contextLength, 40960);
        QCOMPARE(c.ropeTheta, 1e6f);
    }

    // Sliding-window attention is not implemented: a model that uses it (Mistral 7B v0.1) gets its window as
    // its context, where the window equals full attention; one that names a window but turns it off
    // (Qwen2.5) or has none (Mistral v0.2: null) keeps its context.
    void slidingWindowLimitsTheContext_data()
    {
        QTest::addColumn<QString>("json");
        QTest::addColumn<int>("context");
        QTest::addColumn<int>("window");
        const QString common = QStringLiteral(R"("vocab_size": 32000, "hidden_size": 4096, "num_hidden_layers": 32,
            "num_attention_heads": 32, "num_key_value_heads": 8, "intermediate_size": 14336, "rms_norm_eps": 1e-05)");
        QTest::newRow("mistral v0.1") << QStringLiteral(R"({"model_type": "mistral", "max_position_embeddings": 32768,
            "sliding_window": 4096, %1})").arg(common) << 4096 << 4096;
        QTest::newRow("mistral v0.2") << QStringLiteral(R"({"model_type": "mistral", "max_position_embeddings": 32768,
            "sliding_window": null, %1})").arg(common) << 32768 << 0;
        QTest::newRow("qwen2.5, window off") << QStringLiteral(R"({"model_type": "qwen2", "max_position_embeddings": 32768,
            "sliding_window": 4096, "use_sliding_window": false, %1})").arg(common) << 32768 << 0;
        QTest::newRow("qwen2, window on") << QStringLiteral(R"({"model_type": "qwen2", "max_position_embeddings": 32768,
            "sliding_window": 4096, "use_sliding_window": true, %1})").arg(common) << 4096 << 4096;
        QTest::newRow("window past the context") << QStringLiteral(R"({"model_type": "llama", "max_position_embeddings": 2048,
            "sliding_window": 4096, %1})").arg(common) << 2048 << 0;
    }

    void slidingWindowLimitsTheContext()
    {
        QFETCH(QString, json);
        QFETCH(int, context);
        QFETCH(int, window);
        const ModelConfig c = configFromHfJson(nlohmann::json::parse(json.toStdString()), "config.json");
        QCOMPARE(c.contextLength, context);
        QCOMPARE(c.slidingWindow, window);
    }

    void slidingWindowFromGguf()
    {
        QTemporaryDir dir;
        const std::string path = dir.filePath("mistral.gguf").toStdString();
        GgufWriter w = metadataOnlyGguf("llama", 32768);
        w.setU32("llama.attention.sliding_window", 4096);
        w.write(path);
        const ModelConfig c = configFromGguf(GgufFile(path));
        QCOMPARE(c.contextLength, 4096);
        QCOMPARE(c.slidingWindow, 4096);
    }

    // A Phi-3 GGUF with LongRoPE factors (Phi-3.5, the 128k models) is refused by name.
    void phi3LongRopeGgufRefused()
    {
        QTemporaryDir dir;
        const std::string path = dir.filePath("phi35.gguf").toStdString();
        GgufWriter w = metadataOnlyGguf("phi3", 131072);
        w.addTensor("rope_factors_long.weight", DType::F32, {32}, std::vector<uint8_t>(32 * 4));
        w.write(path);
        const QString error = errorOf([&] { configFromGguf(GgufFile(path)); });
        QVERIFY2(error.contains(QStringLiteral("LongRoPE")), qPrintable(error));
    }

    // Phi-3 files fuse q|k|v and gate|up; the loader slices them back: a synthetic phi3 model written to
    // either format computes exactly what it computed in memory.
    void phi3FusedMatricesSliced_data()
    {
        QTest::addColumn<int>("dtype");
        QTest::newRow("F16") << int(DType::F16);
        QTest::newRow("Q8_0") << int(DType::Q8_0);
    }

    void phi3FusedMatricesSliced()
    {
        QFETCH(int, dtype);
        REQUIRE_SHARED("tokenizer-vectors/ggml-vocab-llama-spm.gguf");
        const std::string vocab = test::sharedPath("tokenizer-vectors/ggml-vocab-llama-spm.gguf");
        const ModelConfig c = syntheticConfig(Architecture::Phi3, 32000, 64, 2, 4, 2, 96, 256);
        const auto memory = SyntheticModelBuilder::build(c, DType(dtype), 9);
        QTemporaryDir dir;
        const std::string gguf = dir.filePath("phi3.gguf").toStdString(), hf = dir.filePath("phi3").toStdString();
        writeModel(*memory, ModelFormat::Gguf, gguf, vocab);
        const bool hfFormat = DType(dtype) == DType::F16; // safetensors hold no block formats
        if (hfFormat)
            writeModel(*memory, ModelFormat::HuggingFace, hf, vocab);
        const auto logits = [](const std::shared_ptr<const Model>& m) {
            Session s(m, createBackend(m, "cpu", 2));
            SamplingParams p;
            p.greedy = true;
            s.prefill({1, 17, 42, 99, 5, 300, 2000}, p);
            return s.currentLogits(0);
        };
        const std::vector<float> want = logits(memory);
        for (const std::string& path : hfFormat ? std::vector<std::string>{gguf, hf} : std::vector<std::string>{gguf}) {
            const auto loaded = Model::load(path);
            QCOMPARE(architectureName(loaded->config().arch), "phi3");
            QCOMPARE(loaded->parameterCount(), memory->parameterCount());
            QCOMPARE(logits(loaded), want);
        }
    }

    // Phi-3-mini-4k's config.json: a 2,047-token sliding window (so that is its context here); Phi-3.5's
    // LongRoPE and Phi-4-mini's partial rotary embeddings are refused by name.
    void releasedPhi3Configs()
    {
        const std::string mini = R"({"architectures": ["Phi3ForCausalLM"], "attention_bias": false,
          "bos_token_id": 1, "eos_token_id": 32000, "hidden_act": "silu", "hidden_size": 3072,
          "intermediate_size": 8192, "max_position_embeddings": 4096, "model_type": "phi3",
          "num_attention_heads": 32, "num_hidden_layers": 32, "num_key_value_heads": 32,
          "original_max_position_embeddings": 4096, "rms_norm_eps": 1e-05, "rope_scaling": null,
          "rope_theta": 10000.0, "sliding_window": 2047, "tie_word_embeddings": false, "vocab_size": 32064})";
        const ModelConfig c = configFromHfJson(nlohmann::json::parse(mini), "config.json");
        QCOMPARE(architectureName(c.arch), "phi3");
        QCOMPARE(c.headDim, 96);
        QCOMPARE(c.contextLength, 2047);
        QCOMPARE(c.slidingWindow, 2047);
        auto withField = [&](const char* key, const nlohmann::json& value) {
            nlohmann::json j = nlohmann::json::parse(mini);
            j[key] = value;
            return errorOf([&] { configFromHfJson(j, "config.json"); });
        };
        QVERIFY(withField("rope_scaling", {{"type", "longrope"}, {"long_factor", {1.0}}, {"short_factor", {1.0}}})
                    .contains(QStringLiteral("'longrope' is not supported")));
        QVERIFY(withField("partial_rotary_factor", 0.75).contains(QStringLiteral("partial_rotary_factor")));
    }

    // A qwen3 file without its q/k norm weights is refused, naming the first missing tensor.
    void qwen3WithoutItsNorms()
    {
        REQUIRE_SHARED("tokenizer-vectors/ggml-vocab-gpt-2.gguf");
        ModelConfig c = syntheticConfig(Architecture::Qwen2, 50257, 64, 2, 4, 2, 128, 256, true); // GPT-2's vocabulary
        c.arch = Architecture::Qwen3; // written as qwen3, but with qwen2's tensors
        c.qkvBias = false;
        QTemporaryDir dir;
        const std::string path = dir.filePath("no-norms.gguf").toStdString();
        writeModel(*SyntheticModelBuilder::build(c, DType::F16, 5), ModelFormat::Gguf, path,
                   test::sharedPath("tokenizer-vectors/ggml-vocab-gpt-2.gguf"));
        const QString error = errorOf([&] { Model::load(path); });
        QVERIFY2(error.contains(QStringLiteral("blk.0.attn_q_norm.weight")), qPrintable(error));
    }

    void shardedFolder()
    {
        REQUIRE_SHARED("models/ref-llama-spm");
        QTemporaryDir dir;
        const std::string folder = dir.filePath("sharded").toStdString();
        copyFolder(test::sharedPath("models/ref-llama-spm"), folder);
        fs::remove(folder + "/model.safetensors");
        // Split the reference weights over two shards listed in model.safetensors.index.json.
        nlohmann::json index;
        {
            SafetensorsFile whole(test::sharedPath("models/ref-llama-spm/model.safetensors"));
            SafetensorsWriter a, b;
            for (size_t i = 0; i < whole.tensors().size(); ++i) {
                const TensorView& t = whole.tensors()[i];
                const auto* p = static_cast<const uint8_t*>(t.data);
                const bool first = i % 2 == 0;
                (first ? a : b).addTensor(t.name, t.type, t.shape, std::vector<uint8_t>(p, p + t.nbytes));
                index["weight_map"][t.name] = first ? "model-00001-of-00002.safetensors" : "model-00002-of-00002.safetensors";
            }
            a.write(folder + "/model-00001-of-00002.safetensors");
            b.write(folder + "/model-00002-of-00002.safetensors");
        }
        std::ofstream(folder + "/model.safetensors.index.json") << index.dump();
        const std::vector<int32_t> prompt = {1, 338, 1403, 1423, 278, 1052, 541, 329};
        const Greedy sharded = greedy(folder, prompt, 8);
        const Greedy single = greedy(test::sharedPath("models/ref-llama-spm"), prompt, 8);
        QCOMPARE(sharded.ids, single.ids);
        QCOMPARE(sharded.firstLogits, single.firstLogits);
        // An index that points outside the folder is refused.
        index["weight_map"]["model.norm.weight"] = "../elsewhere.safetensors";
        std::ofstream(folder + "/model.safetensors.index.json", std::ios::trunc) << index.dump();
        QCOMPARE(errorOf([&] { Model::load(folder); }),
                 QString::fromStdString(folder + "/model.safetensors.index.json: weight_map['model.norm.weight'] names a file outside the folder: ../elsewhere.safetensors"));
    }

    void truncatedReferenceFiles()
    {
        REQUIRE_SHARED("models/ref-llama-spm.gguf");
        QTemporaryDir dir;
        const std::string src = test::sharedPath("models/ref-llama-spm.gguf");
        std::ifstream in(src, std::ios::binary);
        const std::string bytes((std::istreambuf_iterator<char>(in)), {});
        // Cut inside the header, the vocabulary, the tensor infos and the data.
        for (size_t cut : {size_t(10), size_t(500), size_t(40000), size_t(80000), bytes.size() / 2, bytes.size() - 1}) {
            const std::string path = dir.filePath(QString("cut%1.gguf").arg(cut)).toStdString();
            std::ofstream(path, std::ios::binary).write(bytes.data(), std::streamsize(cut));
            const QString msg = errorOf([&] { Model::load(path); });
            QVERIFY2(msg.startsWith(QString::fromStdString(path)), qPrintable(QString("cut %1: %2").arg(cut).arg(msg)));
            QVERIFY2(msg.contains("truncated") || msg.contains("too small") || msg.contains("outside the file") || msg.contains("cannot fit"),
                     qPrintable(QString("cut %1: %2").arg(cut).arg(msg)));
        }
        // The safetensors form, truncated.
        REQUIRE_SHARED("models/ref-llama-spm");
        const std::string folder = dir.filePath("hf").toStdString();
        copyFolder(test::sharedPath("models/ref-llama-spm"), folder);
        fs::resize_file(folder + "/model.safetensors", fs::file_size(folder + "/model.safetensors") - 1000);
        const QString msg = errorOf([&] { Model::load(folder); });
        QVERIFY2(msg.contains("model.safetensors: invalid safetensors") && msg.contains("the file may be truncated"), qPrintable(msg));
    }

    void shapesDisagreeWithConfig()
    {
        REQUIRE_SHARED("models/ref-llama-spm");
        QTemporaryDir dir;
        const std::string folder = dir.filePath("hf").toStdString();
        copyFolder(test::sharedPath("models/ref-llama-spm"), folder);
        std::ifstream in(folder + "/config.json");
        std::string cfg((std::istreambuf_iterator<char>(in)), {});
        in.close();
        const auto at = cfg.find("\"intermediate_size\": 688");
        QVERIFY(at != std::string::npos);
        cfg.replace(at, 24, "\"intermediate_size\": 700");
        std::ofstream(folder + "/config.json", std::ios::trunc) << cfg;
        QCOMPARE(errorOf([&] { Model::load(folder); }),
                 QString::fromStdString(folder + "/model.safetensors: tensor 'model.layers.0.mlp.gate_proj.weight' has shape (688, 256) "
                                                 "but the config (llama, hidden 256, heads 8/4) needs (700, 256)"));
    }

    void missingTokenizer()
    {
        REQUIRE_SHARED("models/ref-llama-spm");
        QTemporaryDir dir;
        const std::string folder = dir.filePath("hf").toStdString();
        copyFolder(test::sharedPath("models/ref-llama-spm"), folder);
        fs::remove(folder + "/tokenizer.model");
        const QString msg = errorOf([&] { Model::load(folder); });
        QVERIFY2(msg.startsWith(QString::fromStdString(folder)) && msg.contains("tokenizer"), qPrintable(msg));
    }

    void promptLongerThanContext()
    {
        REQUIRE_SHARED("models/ref-llama-spm.gguf");
        auto model = Model::load(test::sharedPath("models/ref-llama-spm.gguf"));
        Session s(model, createBackend(model, "cpu", 1));
        std::vector<int32_t> prompt(600, 300);
        QCOMPARE(errorOf([&] { s.prefill(prompt, SamplingParams{}); }),
                 QString("prompt: 600 tokens do not fit the context length of 512 (at least one position must stay free to generate)"));
        QVERIFY(!s.hasPrompt());
        // The session stays usable.
        SamplingParams p;
        p.greedy = true;
        p.maxNewTokens = 2;
        s.prefill({1, 338}, p);
        QVERIFY(s.step(0).chosen >= 0);
    }
};

QTEST_GUILESS_MAIN(TestModelFormats)
#include "tst_model_formats.moc"
