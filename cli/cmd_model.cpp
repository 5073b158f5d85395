// info, tokenize and make-model: looking at a model and its tokenizer, and making test models.
#include "commands.h"

#include "common/error.h"
#include "model/backend.h"
#include "model/cpu_backend.h"
#include "model/model.h"
#include "model/model_writer.h"
#include "tokenizer/detokenizer.h"

#include <nlohmann/json.hpp>

#include <cstdio>
#include <fstream>
#include <iostream>
#include <sstream>

namespace logitscope::cli {

namespace {

// weightTypesNamed, its error naming the option.
WeightTypes weightTypesOption(const char* option, const std::string& name)
{
    try {
        return weightTypesNamed(name);
    } catch (const Error& e) {
        throw Error(std::string(option) + ": " + e.what());
    }
}

} // namespace

std::shared_ptr<const Model> loadModel(const Args& args)
{
    LoadOptions o;
    o.populate = true; // generate and bench run the model
    const std::string rounding = args.str("rope-rounding", "none");
    if (rounding == "fp16")
        o.ropeRounding = RopeScaling::Rounding::Fp16;
    else if (rounding == "bf16")
        o.ropeRounding = RopeScaling::Rounding::Bf16;
    else if (rounding != "none")
        throw Error("--rope-rounding: expected none, fp16 or bf16, got '" + rounding + "'");
    // --requantize TYPE: run the model with its matrices quantized again in memory (Model::requantized).
    const std::string requantize = args.str("requantize", "");
    const WeightTypes types = requantize.empty() ? WeightTypes{} : weightTypesOption("--requantize", requantize);
    auto model = Model::load(args.str("model"), o);
    return requantize.empty() ? model : Model::requantized(std::move(model), types);
}

std::unique_ptr<Backend> openBackend(const Args& args, std::shared_ptr<const Model> model)
{
    const std::string device = args.str("device", "cpu");
    if (device != "cpu" && device != "cuda" && device != "auto")
        throw Error("--device: expected cpu, cuda or auto, got '" + device + "'");
    std::string notice;
    const std::string weights = args.str("weights", "mapped");
    if (weights != "mapped" && weights != "memory")
        throw Error("--weights: expected mapped or memory, got '" + weights + "'");
    // K/V element type: the CPU keeps fp32 unless asked for fp16; the CUDA backend always stores fp16.
    const std::string kvType = args.str("kv-type", "");
    if (!kvType.empty() && kvType != "f32" && kvType != "f16")
        throw Error("--kv-type: expected f32 or f16, got '" + kvType + "'");
    auto backend = createBackend(std::move(model), device, args.integer("threads", 0), &notice);
    if (!notice.empty())
        std::fprintf(stderr, "note: %s\n", notice.c_str());
    auto* cpu = dynamic_cast<CpuBackend*>(backend.get());
    if (cpu && weights == "memory")
        cpu->loadWeightsIntoMemory();
    if (cpu && kvType == "f16")
        cpu->setKvType(DType::F16);
    if (!cpu && kvType == "f32")
        throw Error("--kv-type f32: the " + backend->name() + " backend stores keys and values as fp16");
    return backend;
}

size_t peakRssBytes()
{
    std::ifstream in("/proc/self/status");
    std::string line;
    while (std::getline(in, line))
        if (line.rfind("VmHWM:", 0) == 0)
            return size_t(std::stoull(line.substr(6))) * 1024;
    return 0;
}

nlohmann::ordered_json weightTypesJson(const Model& model)
{
    nlohmann::ordered_json list = nlohmann::ordered_json::array();
    for (const auto& s : model.weightTypes())
        list.push_back({{"type", dtypeName(s.type)}, {"bytes", s.bytes}, {"bits_per_value", s.bitsPerValue()}});
    return list;
}

std::string weightTypesText(const Model& model)
{
    std::string text;
    char part[96];
    for (const auto& s : model.weightTypes()) {
        std::snprintf(part, sizeof part, "%s%s %.1f MB (%.2f bits)", text.empty() ? "" : ", ", dtypeName(s.type),
                      s.bytes / 1e6, s.bitsPerValue());
        text += part;
    }
    return text;
}

int cmdInfo(const Args& args)
{
    const std::string path = args.str("model");
    const bool json = args.flag("json");
    args.rejectUnknown();
    auto model = Model::load(path);
    const ModelConfig& c = model->config();
    const Tokenizer& tok = model->tokenizer();
    nlohmann::ordered_json j = {
        {"path", model->path()},
        {"name", model->name()},
        {"format", model->format()},
        {"architecture", architectureName(c.arch)},
        {"parameters", model->parameterCount()},
        {"weight_bytes", model->weightBytes()},
        {"dtype", model->dtypeSummary()},
        {"weight_types", weightTypesJson(*model)},
        {"layers", c.layers},
        {"hidden", c.hidden},
        {"heads", c.heads},
        {"kv_heads", c.kvHeads},
        {"head_dim", c.headDim},
        {"ffn", c.ffn},
        {"context_length", c.contextLength},
        {"sliding_window", c.slidingWindow},
        {"vocab_size", c.vocabSize},
        {"rope_theta", c.ropeTheta},
        {"tied_embeddings", c.tiedEmbeddings},
        {"kv_bytes_per_token", {{"fp32", c.kvBytesPerToken(4)}, {"fp16", c.kvBytesPerToken(2)}}},
        {"tokenizer", {{"kind", tok.kind()}, {"vocab", tok.vocabSize()}, {"bos", tok.bos()}, {"eos", tok.eosIds()},
                       {"add_bos", tok.addBos()}, {"chat_template", tok.renderChat("", "").family}}},
    };
    if (json) {
        std::cout << j.dump() << "\n";
        return 0;
    }
    std::printf("%s (%s, %s)\n", model->name().c_str(), model->format().c_str(), model->dtypeSummary().c_str());
    std::printf("  architecture     %s\n", architectureName(c.arch));
    std::printf("  parameters       %lld (%.1f MB of weights, %.2f bits each)\n", (long long)model->parameterCount(),
                model->weightBytes() / 1e6, 8.0 * double(model->weightBytes()) / double(model->parameterCount()));
    std::printf("  weight types     %s\n", weightTypesText(*model).c_str());
    std::printf("  layers           %d, hidden %d, ffn %d\n", c.layers, c.hidden, c.ffn);
    std::printf("  heads            %d query, %d key/value, head_dim %d%s\n", c.heads, c.kvHeads, c.headDim,
                c.kvHeads < c.heads ? " (grouped-query attention)" : "");
    if (c.slidingWindow > 0)
        std::printf("  context length   %d (the model's sliding attention window: full attention within it)\n",
                    c.contextLength);
    else
        std::printf("  context length   %d\n", c.contextLength);
    std::printf("  vocabulary       %d (%s tokenizer)\n", c.vocabSize, tok.kind().c_str());
    std::printf("  KV bytes/token   2 x %d layers x %d kv_heads x %d head_dim x 4 B = %zu (fp32), %zu (fp16)\n", c.layers,
                c.kvHeads, c.headDim, c.kvBytesPerToken(4), c.kvBytesPerToken(2));
    return 0;
}

int cmdTokenize(const Args& args)
{
    // A whole model, or a tokenizer file on its own (tokenizer.json, tokenizer.model, a GGUF vocabulary).
    const bool standalone = args.has("tokenizer");
    if (standalone == args.has("model"))
        throw Error("tokenize: give --model PATH or --tokenizer FILE (one of them)");
    const std::string path = standalone ? args.str("tokenizer") : args.str("model");
    const bool json = args.flag("json");
    const bool noSpecial = args.flag("no-special");
    const bool chat = args.has("chat");
    const std::string text = chat ? args.str("chat") : args.str("text");
    const std::string system = args.str("system", "");
    args.rejectUnknown();
    std::shared_ptr<const Model> model;
    std::unique_ptr<Tokenizer> own;
    if (standalone)
        own = loadTokenizerFile(path);
    else
        model = Model::load(path);
    const Tokenizer& tok = standalone ? *own : model->tokenizer();
    std::string input = text;
    ChatRendering rendering;
    if (chat) {
        rendering = tok.renderChat(system, text);
        input = rendering.text;
        if (!rendering.notice.empty())
            std::fprintf(stderr, "note: %s\n", rendering.notice.c_str());
    }
    const std::vector<int32_t> ids = tok.encode(input, EncodeOptions{!noSpecial, !noSpecial});
    nlohmann::ordered_json j;
    if (chat) {
        j["rendered"] = input;
        j["template"] = rendering.family;
    }
    j["ids"] = ids;
    std::vector<std::string> pieces, bytes;
    for (int32_t id : ids) {
        pieces.push_back(tok.piece(id));
        bytes.push_back(formatBytes(tok.tokenBytes(id)));
    }
    j["pieces"] = pieces;
    j["bytes"] = bytes;
    if (json) {
        std::cout << j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) << "\n";
        return 0;
    }
    if (chat)
        std::printf("rendered (%s):\n%s\n\n", rendering.family.c_str(), input.c_str());
    std::printf("%zu tokens\n", ids.size());
    for (size_t i = 0; i < ids.size(); ++i)
        std::printf("%6d  %-24s %s\n", ids[i], pieces[i].c_str(), bytes[i].c_str());
    return 0;
}

int cmdMakeModel(const Args& args)
{
    MakeModelOptions o;
    const std::string arch = args.str("arch");
    if (arch == "llama")
        o.arch = Architecture::Llama;
    else if (arch == "qwen2")
        o.arch = Architecture::Qwen2;
    else if (arch == "qwen3")
        o.arch = Architecture::Qwen3;
    else if (arch == "phi3")
        o.arch = Architecture::Phi3;
    else if (arch == "gpt2")
        o.arch = Architecture::Gpt2;
    else
        throw Error("--arch: expected llama, qwen2, qwen3, phi3 or gpt2, got '" + arch + "'");
    o.shape = args.str("shape", "tiny");
    const std::string format = args.str("format", "gguf");
    if (format == "gguf")
        o.format = ModelFormat::Gguf;
    else if (format == "hf")
        o.format = ModelFormat::HuggingFace;
    else
        throw Error("--format: expected gguf or hf, got '" + format + "'");
    o.out = args.str("out");
    o.vocab = args.str("vocab");
    o.weights = weightTypesOption("--dtype", args.str("dtype", "f16"));
    o.seed = args.u64("seed", 1);
    args.rejectUnknown();
    makeModel(o);
    std::printf("wrote %s\n", o.out.c_str());
    return 0;
}

} // namespace logitscope::cli
