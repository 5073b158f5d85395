// fuzz_make_corpus OUT_DIR: writes the seed corpus of every fuzz target under OUT_DIR/<target>/ from
// the engine's own writers and hand-written JSON, so the seeds need nothing from ../shared.
// Run once after changing a format (docs/reliability.md); the files are small and committed.
#include "common/error.h"
#include "formats/gguf_writer.h"
#include "model/model.h"
#include "model/model_writer.h"
#include "model/synthetic_model.h"
#include "tiny_vocab.h"

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

using namespace logitscope;
namespace fs = std::filesystem;

namespace {

fs::path g_out;

void put(const std::string& target, const std::string& name, const std::string& bytes)
{
    fs::create_directories(g_out / target);
    std::ofstream(g_out / target / name, std::ios::binary) << bytes;
}

std::string slurp(const fs::path& p)
{
    std::ifstream in(p, std::ios::binary);
    return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

void copy(const std::string& target, const std::string& name, const fs::path& from) { put(target, name, slurp(from)); }

// A gpt2-style GGUF vocabulary with the same 270 tokens as tinyByteBpeJson().
void gpt2Vocab(GgufWriter& w)
{
    std::vector<std::string> tokens;
    for (int b = 0; b < 256; ++b)
        tokens.push_back(fuzz::byteLevelSymbol(b));
    const std::vector<std::string> merges = {"Ġ t", "h e", "Ġt he", "i n", "Ġ a", "e r",
                                             "o n", "Ġ w", "o r", "Ġw or", "l d", "Ġwor ld"};
    for (const std::string& m : merges)
        tokens.push_back(m.substr(0, m.find(' ')) + m.substr(m.find(' ') + 1));
    tokens.push_back("<|endoftext|>");
    tokens.push_back("<|im_start|>");
    std::vector<int32_t> types(tokens.size(), 1);
    types[tokens.size() - 1] = types[tokens.size() - 2] = 3;
    w.setString("tokenizer.ggml.model", "gpt2");
    w.setString("tokenizer.ggml.pre", "gpt-2");
    w.setStringArray("tokenizer.ggml.tokens", tokens);
    w.setI32Array("tokenizer.ggml.token_type", types);
    w.setStringArray("tokenizer.ggml.merges", merges);
    w.setU32("tokenizer.ggml.bos_token_id", uint32_t(tokens.size() - 2));
    w.setU32("tokenizer.ggml.eos_token_id", uint32_t(tokens.size() - 2));
}

// A llama (SentencePiece) GGUF vocabulary: <unk> <s> </s>, 256 byte tokens, a few pieces with scores.
void llamaVocab(GgufWriter& w, bool withBytes)
{
    std::vector<std::string> tokens = {"<unk>", "<s>", "</s>"};
    std::vector<int32_t> types = {2, 3, 3};
    if (withBytes)
        for (int b = 0; b < 256; ++b) {
            char hex[8];
            std::snprintf(hex, sizeof hex, "<0x%02X>", b);
            tokens.push_back(hex);
            types.push_back(6);
        }
    for (const char* p : {"\xE2\x96\x81", "\xE2\x96\x81t", "h", "e", "\xE2\x96\x81the", "l", "o", "w", "r", "d",
                          "\xE2\x96\x81w", "or", "ld", "H", "\xE2\x96\x81world", "He", "llo", "Hello"}) {
        tokens.push_back(p);
        types.push_back(1);
    }
    std::vector<float> scores(tokens.size());
    for (size_t i = 0; i < scores.size(); ++i)
        scores[i] = -float(i);
    w.setString("tokenizer.ggml.model", "llama");
    w.setStringArray("tokenizer.ggml.tokens", tokens);
    w.setF32Array("tokenizer.ggml.scores", scores);
    w.setI32Array("tokenizer.ggml.token_type", types);
    w.setU32("tokenizer.ggml.bos_token_id", 1);
    w.setU32("tokenizer.ggml.eos_token_id", 2);
    w.setU32("tokenizer.ggml.unknown_token_id", 0);
    w.setBool("tokenizer.ggml.add_bos_token", true);
}

} // namespace

int main(int argc, char** argv)
{
    if (argc != 2) {
        std::fprintf(stderr, "usage: fuzz_make_corpus OUT_DIR\n");
        return 2;
    }
    g_out = argv[1];
    const fs::path tmp = g_out / ".tmp";
    fs::create_directories(tmp);
    try {
        // Tiny models in both formats, tokenizer = the built-in byte-level vocabulary (270 tokens).
        const std::string vocabJson = (tmp / "tokenizer.json").string();
        std::ofstream(vocabJson) << fuzz::tinyByteBpeJson();
        const std::string vocabGguf = (tmp / "vocab.gguf").string();
        {
            GgufWriter v;
            gpt2Vocab(v);
            v.write(vocabGguf);
        }
        for (const Architecture arch :
             {Architecture::Llama, Architecture::Qwen2, Architecture::Qwen3, Architecture::Phi3, Architecture::Gpt2}) {
            ModelConfig c = syntheticConfig(arch, 270, 8, 1, 2, arch == Architecture::Gpt2 ? 2 : 1, 16, 32,
                                            arch != Architecture::Llama);
            if (arch == Architecture::Qwen3)
                c.headDim = c.ropeDims = 8; // heads wider than hidden / heads, as Qwen3's are
            const auto model = SyntheticModelBuilder::build(c, DType::F16, 7);
            const std::string name = architectureName(arch);
            const fs::path gguf = tmp / (name + ".gguf");
            writeModel(*model, ModelFormat::Gguf, gguf.string(), vocabGguf);
            (void)Model::load(gguf.string()); // the seeds must be valid models
            copy("gguf", "tiny-" + name + ".gguf", gguf);
            const fs::path hf = tmp / name;
            writeModel(*model, ModelFormat::HuggingFace, hf.string(), vocabJson);
            (void)Model::load(hf.string());
            copy("safetensors", "tiny-" + name + ".safetensors", hf / "model.safetensors");
            copy("hf_config", "tiny-" + name + ".json", hf / "config.json");
            if (fs::exists(hf / "tokenizer_config.json"))
                copy("tokenizer_config", "tiny-" + name + ".json", hf / "tokenizer_config.json");
        }
        // GGUF: header only, every metadata type, a tensor with padding.
        {
            GgufWriter w;
            w.write((tmp / "empty.gguf").string());
            copy("gguf", "empty.gguf", tmp / "empty.gguf");
            GgufWriter k;
            k.setString("general.architecture", "llama");
            k.setU32("llama.context_length", 64);
            k.setI32("x.i32", -5);
            k.setF32("x.f32", 0.5f);
            k.setBool("x.bool", true);
            k.setStringArray("x.strs", {"a", "bc", ""});
            k.setF32Array("x.f32s", {1, 2, 3});
            k.setI32Array("x.i32s", {4, 5});
            k.setU32("general.alignment", 64);
            k.addTensor("t.weight", DType::F32, {2, 3}, std::vector<uint8_t>(24, 0));
            k.addTensor("u.weight", DType::Q8_0, {1, 32}, std::vector<uint8_t>(34, 0));
            k.write((tmp / "kinds.gguf").string());
            copy("gguf", "metadata-kinds.gguf", tmp / "kinds.gguf");
        }
        // One block of every block format, filled with arbitrary bytes (the decoders must take any).
        {
            GgufWriter k;
            k.setString("general.architecture", "llama");
            int i = 0;
            for (DType t : {DType::Q8_0, DType::Q4_0, DType::Q4_1, DType::Q5_0, DType::Q5_1, DType::Q2_K, DType::Q3_K,
                            DType::Q4_K, DType::Q5_K, DType::Q6_K, DType::IQ4_NL, DType::IQ4_XS}) {
                std::vector<uint8_t> bytes(dtypeBlockBytes(t));
                for (size_t b = 0; b < bytes.size(); ++b)
                    bytes[b] = uint8_t(b * 37 + i * 11 + 5);
                k.addTensor("q" + std::to_string(i++) + ".weight", t, {1, dtypeBlockSize(t)}, bytes);
            }
            k.write((tmp / "blocks.gguf").string());
            copy("gguf", "block-formats.gguf", tmp / "blocks.gguf");
        }
        // GGUF vocabularies.
        {
            GgufWriter a;
            gpt2Vocab(a);
            a.setString("tokenizer.chat_template", "{% for m in messages %}<|im_start|>{{ m['role'] }}\n{{ m['content'] }}<|im_end|>\n{% endfor %}");
            a.write((tmp / "gpt2.gguf").string());
            copy("gguf_vocab", "gpt2-vocab.gguf", tmp / "gpt2.gguf");
            GgufWriter b;
            llamaVocab(b, true);
            b.write((tmp / "llama.gguf").string());
            copy("gguf_vocab", "llama-vocab.gguf", tmp / "llama.gguf");
            GgufWriter c;
            llamaVocab(c, false);
            c.write((tmp / "llama-nobytes.gguf").string());
            copy("gguf_vocab", "llama-vocab-no-bytes.gguf", tmp / "llama-nobytes.gguf");
        }
    } catch (const Error& e) {
        std::fprintf(stderr, "%s\n", e.what());
        return 1;
    }

    // Hand-made safetensors.
    const auto st = [](const std::string& header, const std::string& data) {
        std::string s;
        const uint64_t n = header.size();
        s.append(reinterpret_cast<const char*>(&n), 8);
        return s + header + data;
    };
    put("safetensors", "two-tensors.safetensors",
        st(R"({"__metadata__":{"format":"pt"},"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},)"
           R"("b":{"dtype":"BF16","shape":[1,2],"data_offsets":[8,12]}})", std::string(12, '\1')));
    put("safetensors", "scalar.safetensors", st(R"({"s":{"dtype":"I32","shape":[],"data_offsets":[0,4]}})", "abcd"));
    put("safetensors", "empty.safetensors", st("{}", ""));

    // Hugging Face config.json variants.
    put("hf_config", "llama3-rope.json", R"({"architectures":["LlamaForCausalLM"],"model_type":"llama",
 "vocab_size":128,"hidden_size":64,"num_hidden_layers":2,"num_attention_heads":4,"num_key_value_heads":2,
 "intermediate_size":128,"max_position_embeddings":256,"rms_norm_eps":1e-5,"rope_theta":500000.0,
 "rope_scaling":{"rope_type":"llama3","factor":8.0,"low_freq_factor":1.0,"high_freq_factor":4.0,
 "original_max_position_embeddings":8192},"tie_word_embeddings":true,"head_dim":16})");
    put("hf_config", "rope-parameters.json", R"({"model_type":"qwen2","vocab_size":128,"hidden_size":64,
 "num_hidden_layers":1,"num_attention_heads":4,"num_key_value_heads":4,"intermediate_size":96,
 "max_position_embeddings":128,"rope_parameters":{"rope_type":"linear","factor":2.0,"rope_theta":1000000.0}})");
    put("hf_config", "mistral-sliding-window.json", R"({"model_type":"mistral","vocab_size":128,"hidden_size":64,
 "num_hidden_layers":1,"num_attention_heads":4,"num_key_value_heads":2,"intermediate_size":96,
 "max_position_embeddings":4096,"sliding_window":512,"rms_norm_eps":1e-5})");
    put("hf_config", "gpt2.json", R"({"model_type":"gpt2","vocab_size":300,"n_embd":32,"n_layer":2,"n_head":4,
 "n_positions":64,"layer_norm_epsilon":1e-5})");

    // Sampling settings.
    put("sampling_params", "defaults.json", "{}");
    put("sampling_params", "all.json", R"({"temperature":0.7,"top_k":40,"top_p":0.9,"min_p":0.05,"typical_p":0.95,
 "repetition_penalty":1.1,"presence_penalty":0.5,"frequency_penalty":-0.5,"no_repeat_ngram_size":3,
 "min_new_tokens":2,"max_new_tokens":100,"stop":["\n\n","The end"],"seed":12345,"greedy":false,
 "order":"vllm"})");
    put("sampling_params", "beams.json", R"({"num_beams":4,"length_penalty":0.8,"early_stopping":"never",
 "num_return_sequences":2,"max_new_tokens":20})");
    put("sampling_params", "greedy.json", R"({"temperature":0,"order":"llama.cpp","early_stopping":true,"greedy":true})");

    // tokenizer.json and tokenizer_config.json.
    put("tokenizer_json", "tiny-byte-bpe.json", fuzz::tinyByteBpeJson());
    put("tokenizer_json", "metaspace-bytefallback.json", R"({"version":"1.0","added_tokens":[
 {"id":0,"content":"<unk>","special":true},{"id":1,"content":"<s>","special":true},{"id":2,"content":"</s>","special":true}],
 "normalizer":{"type":"Sequence","normalizers":[{"type":"Prepend","prepend":"▁"},{"type":"Replace","pattern":{"String":" "},"content":"▁"}]},
 "pre_tokenizer":null,"post_processor":{"type":"TemplateProcessing","single":[{"SpecialToken":{"id":"<s>","type_id":0}},{"Sequence":{"id":"A","type_id":0}}],
 "pair":[],"special_tokens":{"<s>":{"id":"<s>","ids":[1],"tokens":["<s>"]}}},
 "decoder":{"type":"Sequence","decoders":[{"type":"Replace","pattern":{"String":"▁"},"content":" "},{"type":"ByteFallback"},{"type":"Fuse"},{"type":"Strip","content":" ","start":1,"stop":0}]},
 "model":{"type":"BPE","unk_token":"<unk>","byte_fallback":true,"fuse_unk":true,
 "vocab":{"<unk>":0,"<s>":1,"</s>":2,"<0x0A>":3,"<0x41>":4,"▁":5,"h":6,"e":7,"l":8,"o":9,"he":10,"ll":11,"▁he":12,"llo":13,"▁hello":14},
 "merges":["h e","l l","▁ he","ll o","▁he llo"]}})");
    put("tokenizer_json", "split-regex.json", R"({"added_tokens":[],"pre_tokenizer":{"type":"Sequence","pretokenizers":[
 {"type":"Split","pattern":{"Regex":"\\p{N}{1,3}"},"behavior":"Isolated","invert":false},
 {"type":"ByteLevel","add_prefix_space":false,"use_regex":true}]},
 "model":{"type":"BPE","vocab":{"a":0,"b":1,"ab":2,"1":3,"2":4,"Ġ":5},"merges":[["a","b"]]}})");
    put("tokenizer_config", "chatml.json", R"({"add_bos_token":false,"add_eos_token":false,
 "bos_token":null,"eos_token":"<|endoftext|>","pad_token":{"content":"<|endoftext|>","lstrip":false},
 "chat_template":"{% for message in messages %}{{'<|im_start|>' + message['role'] + '\n' + message['content'] + '<|im_end|>' + '\n'}}{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %}"})");
    put("tokenizer_config", "template-list.json", R"({"add_bos_token":true,"bos_token":"<|im_start|>",
 "chat_template":[{"name":"default","template":"{{ bos_token }}{% for m in messages %}{{ m.content }}{% endfor %}"},{"name":"tool_use","template":"x"}]})");
    put("tokenizer_config", "empty.json", "{}");

    // Text for the encode targets.
    const std::vector<std::pair<std::string, std::string>> texts = {
        {"plain.txt", "Hello world, the quick brown fox jumps over the lazy dog."},
        {"spaces.txt", "  leading\tand\n\ntrailing   spaces  \r\n"},
        {"unicode.txt", "Grüße, 世界! Привет 🙂 e\xCC\x81 ١٢٣ 12345"},
        {"specials.txt", "<s>user</s><|endoftext|><|im_start|>assistant\n<unk>"},
        {"invalid-utf8.txt", std::string("\xff\xfe\xc3(\xe2\x82 \xf0\x9f\x99\0x", 12)},
        {"code.txt", "for (int i = 0; i < n; ++i) { x[i] += y's; } // ok?"},
    };
    for (const auto& [name, text] : texts) {
        put("encode_bpe", name, text);
        put("encode_spm", name, text);
    }
    fs::remove_all(tmp);
    std::printf("seed corpus written to %s\n", g_out.string().c_str());
    return 0;
}
