// Hand-made malformed inputs for every parser the fuzzers cover that tests/formats/tst_model_files.cpp
// does not: GGUF counts that cannot fit the file, config.json, tokenizer.json, tokenizer_config.json,
// GGUF vocabularies and sampling settings. One row per check, each asserting the exact message.
#include "common/error.h"
#include "decoding/sampling_params.h"
#include "formats/gguf_reader.h"
#include "formats/gguf_writer.h"
#include "model/config_loader.h"
#include "tiny_vocab.h"
#include "tokenizer/hf_tokenizer_json.h"
#include "tokenizer/tokenizer.h"

#include <nlohmann/json.hpp>

#include <QTemporaryDir>
#include <QtTest>

#include <filesystem>
#include <fstream>
#include <functional>

using namespace logitscope;

namespace {

template <typename T>
void put(std::string& v, T x)
{
    v.append(reinterpret_cast<const char*>(&x), sizeof(T));
}

void putStr(std::string& v, const std::string& s)
{
    put<uint64_t>(v, s.size());
    v += s;
}

std::string ggufHeader(uint64_t nTensors, uint64_t nKv)
{
    std::string v;
    put<uint32_t>(v, 0x46554747);
    put<uint32_t>(v, 3);
    put<uint64_t>(v, nTensors);
    put<uint64_t>(v, nKv);
    return v;
}

void writeFile(const std::string& path, const std::string& bytes)
{
    std::ofstream(path, std::ios::binary | std::ios::trunc) << bytes;
}

std::string errorOf(const std::function<void()>& f)
{
    try {
        f();
    } catch (const Error& e) {
        return e.what();
    }
    return "(no error)";
}

// A config.json of a valid tiny llama with `patch` merged in (null values remove keys).
std::string llamaConfig(const std::string& patch)
{
    nlohmann::json j = {{"model_type", "llama"}, {"vocab_size", 32}, {"hidden_size", 16}, {"num_hidden_layers", 1},
                        {"num_attention_heads", 2}, {"intermediate_size", 32}};
    j.merge_patch(nlohmann::json::parse(patch));
    return j.dump();
}

// A byte-level tokenizer.json with `patch` merged into it.
std::string tokenizerJsonWith(const std::string& patch)
{
    nlohmann::json j = nlohmann::json::parse(fuzz::tinyByteBpeJson());
    j.merge_patch(nlohmann::json::parse(patch));
    return j.dump();
}

// `base` (a JSON object's text) with one more key whose value is nested `depth` arrays deep, spliced in
// as text: building it through nlohmann::json and dump() would recurse once per level.
std::string withDeepKey(const std::string& base, const std::string& key, int depth)
{
    const size_t close = base.rfind('}');
    return base.substr(0, close) + ", \"" + key + "\": " + std::string(size_t(depth), '[') + std::string(size_t(depth), ']') + "}";
}

// A gpt2 GGUF vocabulary of three tokens, `edit` adding or replacing keys.
std::string ggufVocab(const std::string& dir, const std::function<void(GgufWriter&)>& edit)
{
    GgufWriter w;
    w.setString("tokenizer.ggml.model", "gpt2");
    w.setStringArray("tokenizer.ggml.tokens", {"a", "b", "ab"});
    w.setStringArray("tokenizer.ggml.merges", {"a b"});
    edit(w);
    const std::string path = dir + "/vocab.gguf";
    w.write(path);
    return path;
}

} // namespace

class TestMalformedInputs : public QObject {
    Q_OBJECT

private:
    QTemporaryDir m_dir;
    std::string path(const char* name) const { return m_dir.filePath(name).toStdString(); }

private slots:
    // GGUF counts and lengths that the file cannot hold are rejected before anything is reserved.
    void gguf_data()
    {
        QTest::addColumn<QByteArray>("bytes");
        QTest::addColumn<QString>("expected"); // after "<path>: invalid GGUF: "
        auto add = [](const char* name, const std::string& b, const char* expected) {
            QTest::newRow(name) << QByteArray(b.data(), qsizetype(b.size())) << QString(expected);
        };
        add("n_kv larger than the file", ggufHeader(0, 1000), "metadata count 1000 cannot fit in a file of 24 bytes (at byte 24)");
        add("n_tensors larger than the file", ggufHeader(1000, 0), "tensor count 1000 cannot fit in a file of 24 bytes (at byte 24)");
        {
            std::string b = ggufHeader(0, 1);
            putStr(b, "s");
            put<uint32_t>(b, 8);
            put<uint64_t>(b, 1000);
            add("string length past end", b, "truncated while reading metadata string (at byte 45)");
        }
        {
            std::string b = ggufHeader(0, 1);
            putStr(b, "a");
            put<uint32_t>(b, 9);
            put<uint32_t>(b, 6);
            put<uint64_t>(b, uint64_t(1) << 29);
            add("number array past end", b, "truncated while reading array elements (at byte 49)");
        }
        {
            std::string b = ggufHeader(0, 1);
            putStr(b, "a");
            put<uint32_t>(b, 9);
            put<uint32_t>(b, 6);
            put<uint64_t>(b, uint64_t(1) << 40);
            add("array length over the limit", b, "metadata 'a' array length 1099511627776 is too large (at byte 49)");
        }
        {
            std::string b = ggufHeader(0, 1);
            putStr(b, "a");
            put<uint32_t>(b, 9);
            put<uint32_t>(b, 9);
            add("array of arrays", b, "metadata 'a' is an array of unsupported type 9 (at byte 41)");
        }
        {
            std::string b = ggufHeader(0, 1);
            putStr(b, "general.alignment");
            put<uint32_t>(b, 4);
            put<uint32_t>(b, 0);
            add("alignment zero", b, "general.alignment must be a power of two up to 65536, got 0 (at byte 57)");
        }
        {
            std::string b = ggufHeader(0, 1);
            putStr(b, "general.alignment");
            put<uint32_t>(b, 4);
            put<uint32_t>(b, 1u << 20);
            add("alignment too large", b, "general.alignment must be a power of two up to 65536, got 1048576 (at byte 57)");
        }
        {
            std::string b = ggufHeader(1, 0);
            putStr(b, "t");
            put<uint32_t>(b, 0);
            b += std::string(32, '\0');
            add("zero dimensions", b, "tensor 't' has 0 dimensions (1 to 4 allowed) (at byte 37)");
        }
        {
            std::string b = ggufHeader(1, 0);
            putStr(b, "t");
            put<uint32_t>(b, 1);
            put<uint64_t>(b, 0);
            b += std::string(16, '\0');
            add("zero-length dimension", b, "tensor 't' has an invalid dimension 0 (at byte 45)");
        }
    }
    void gguf()
    {
        QFETCH(QByteArray, bytes);
        QFETCH(QString, expected);
        const std::string p = path("bad.gguf");
        writeFile(p, bytes.toStdString());
        QCOMPARE(QString::fromStdString(errorOf([&] { GgufFile f(p); })),
                 QString::fromStdString(p + ": invalid GGUF: ") + expected);
    }

    // config.json: wrong types, missing keys, huge numbers, deep nesting.
    void hfConfig_data()
    {
        QTest::addColumn<QString>("json");
        QTest::addColumn<QString>("expected"); // after "<path>: "
        auto add = [](const char* name, const std::string& json, const char* expected) {
            QTest::newRow(name) << QString::fromStdString(json) << QString(expected);
        };
        add("not an object", "[1, 2]", "not a JSON object");
        add("missing model_type", llamaConfig(R"({"model_type": null})"), "missing field 'model_type'");
        add("model_type a number", llamaConfig(R"({"model_type": 7})"), "field 'model_type' has the wrong type (number)");
        add("missing hidden_size", llamaConfig(R"({"hidden_size": null})"), "missing field 'hidden_size'");
        add("vocab_size a string", llamaConfig(R"({"vocab_size": "32"})"),
            "field 'vocab_size' must be a non-negative integer, found \"32\"");
        add("vocab_size a float", llamaConfig(R"({"vocab_size": 32.5})"),
            "field 'vocab_size' must be a non-negative integer, found 32.5");
        add("huge layer count", llamaConfig(R"({"num_hidden_layers": 18446744073709551615})"),
            "field 'num_hidden_layers' must be a non-negative integer, found 18446744073709551615");
        add("layer count past int", llamaConfig(R"({"num_hidden_layers": 2147483648})"),
            "field 'num_hidden_layers' must be a non-negative integer, found 2147483648");
        add("negative heads", llamaConfig(R"({"num_attention_heads": -2})"),
            "field 'num_attention_heads' must be a non-negative integer, found -2");
        add("huge rms_norm_eps", llamaConfig(R"({"rms_norm_eps": 1e300})"), "norm epsilon is out of range");
        add("huge rope_theta", llamaConfig(R"({"rope_theta": -1e39})"), "rope theta is out of range");
        add("tie_word_embeddings a string", llamaConfig(R"({"tie_word_embeddings": "yes"})"),
            "field 'tie_word_embeddings' has the wrong type (string)");
        add("kv heads not dividing", llamaConfig(R"({"num_key_value_heads": 3})"),
            "key/value head count 3 must divide the head count 2");
        add("odd head dim", llamaConfig(R"({"head_dim": 7})"), "head dimension 7 is out of range");
        add("rope_scaling factor a string", llamaConfig(R"({"rope_scaling": {"type": "linear", "factor": "2"}})"),
            "rope_scaling: field 'factor' has the wrong type (string)");
        add("rope_scaling huge factor", llamaConfig(R"({"rope_scaling": {"type": "linear", "factor": 1e200}})"),
            "rope_scaling: rope scaling factor must be positive");
        add("rope_scaling unknown type", llamaConfig(R"({"rope_scaling": {"rope_type": "yarn", "factor": 2}})"),
            "rope_scaling: rope scaling type 'yarn' is not supported (supported: default, linear, llama3)");
        add("llama3 original context too large", llamaConfig(
            R"({"rope_scaling": {"rope_type": "llama3", "factor": 8, "original_max_position_embeddings": 2147483648}})"),
            "rope_scaling: field 'original_max_position_embeddings' must be a non-negative integer, found 2147483648");
        add("deep rope_scaling", withDeepKey(llamaConfig("{}"), "rope_scaling", 100000),
            "(no error)"); // an array where an object belongs: ignored, like transformers
        add("deep vocab_size", withDeepKey(llamaConfig(R"({"vocab_size": null})"), "vocab_size", 100000),
            "field 'vocab_size' must be a non-negative integer, found array");
        add("gpt2 odd head dimension",
            R"({"model_type": "gpt2", "vocab_size": 10, "n_embd": 10, "n_layer": 1, "n_head": 3})",
            "head dimension 3 is out of range");
    }
    void hfConfig()
    {
        QFETCH(QString, json);
        QFETCH(QString, expected);
        const std::string p = path("config.json");
        writeFile(p, json.toStdString());
        const std::string msg = errorOf([&] { configFromHfJson(readJsonFile(p), p); });
        QCOMPARE(QString::fromStdString(msg), expected == "(no error)" ? expected : QString::fromStdString(p + ": ") + expected);
    }

    // tokenizer.json through loadTokenizerFile.
    void tokenizerJson_data()
    {
        QTest::addColumn<QString>("json");
        QTest::addColumn<QString>("expected"); // after "<path>: "
        auto add = [](const char* name, const std::string& json, const char* expected) {
            QTest::newRow(name) << QString::fromStdString(json) << QString(expected);
        };
        add("truncated", "{\"model\": {", "invalid JSON");
        add("model missing", R"({"version": "1.0"})", "model: missing or not an object");
        add("model a string", R"({"model": "BPE"})", "model: missing or not an object");
        add("unigram", tokenizerJsonWith(R"({"model": {"type": "Unigram"}})"), "model.type: \"Unigram\" is not supported (only BPE)");
        add("vocab an array", tokenizerJsonWith(R"({"model": {"vocab": [1, 2]}})"), "model.vocab: missing or not an object");
        add("vocab id a string", tokenizerJsonWith(R"({"model": {"vocab": {"a": "0"}, "merges": []}, "added_tokens": []})"),
            "model.vocab: token \"a\" has a non-integer id");
        add("vocab id huge", tokenizerJsonWith(R"({"model": {"vocab": {"a": 4294967296}, "merges": []}, "added_tokens": []})"),
            "model.vocab: token \"a\" has id 4294967296, outside [0, 270)");
        add("vocab id negative", tokenizerJsonWith(R"({"model": {"vocab": {"a": -1}, "merges": []}, "added_tokens": []})"),
            "model.vocab: token \"a\" has id -1, outside [0, 270)");
        add("merge without space", tokenizerJsonWith(R"({"model": {"merges": ["ab"]}})"),
            "model.merges[0]: \"ab\" is not two tokens separated by a space");
        add("merge a number", tokenizerJsonWith(R"({"model": {"merges": [7]}})"), "model.merges[0]: expected \"a b\" or [\"a\", \"b\"]");
        add("added token without id", tokenizerJsonWith(R"({"added_tokens": [{"content": "x"}]})"),
            "added_tokens[0]: expected {\"id\": int, \"content\": string, ...}");
        add("unknown pre-tokenizer", tokenizerJsonWith(R"({"pre_tokenizer": {"type": "Whitespace2"}})"),
            "pre_tokenizer.type: unknown pre-tokenizer \"Whitespace2\"");
        add("pre-tokenizer type a number", tokenizerJsonWith(R"({"pre_tokenizer": {"type": 3}})"),
            "pre_tokenizer.type: unknown pre-tokenizer \"\"");
        add("split pattern a number", tokenizerJsonWith(R"({"pre_tokenizer": {"type": "Split", "pattern": 5}})"),
            "pre_tokenizer.pattern: expected {\"Regex\": ...} or {\"String\": ...}");
        add("deep pre_tokenizer", withDeepKey(fuzz::tinyByteBpeJson(), "pre_tokenizer", 100000),
            "pre_tokenizer: expected an object");
        // post_processor.special_tokens entries that are not {"ids": [int, ...]}: the BOS is found by name
        // instead. (A const json's operator[] with a missing key read freed memory; the fuzzer found it.)
        add("post_processor special token without ids", tokenizerJsonWith(R"({"post_processor": {"type": "TemplateProcessing",
            "single": [{"SpecialToken": {"id": "<|im_start|>"}}, {"Sequence": {"id": "A"}}],
            "special_tokens": {"<|im_start|>": {"id": "<|im_start|>", "idx": [1]}}}})"), "(no error)");
        add("post_processor special token a number", tokenizerJsonWith(R"({"post_processor": {"type": "TemplateProcessing",
            "single": [{"SpecialToken": {"id": "<|im_start|>"}}, {"Sequence": {"id": "A"}}],
            "special_tokens": {"<|im_start|>": 5}}})"), "(no error)");
    }
    void tokenizerJson()
    {
        QFETCH(QString, json);
        QFETCH(QString, expected);
        const std::string p = path("tokenizer.json");
        writeFile(p, json.toStdString());
        const std::string msg = errorOf([&] { loadTokenizerFile(p); });
        if (expected == "(no error)")
            QCOMPARE(QString::fromStdString(msg), expected);
        else
            QVERIFY2(QString::fromStdString(msg).startsWith(QString::fromStdString(p + ": ") + expected), msg.c_str());
    }

    // tokenizer_config.json next to a valid tokenizer.json: bad values are ignored or named.
    void tokenizerConfig_data()
    {
        QTest::addColumn<QString>("json");
        QTest::addColumn<QString>("expected"); // "" = loads
        QTest::newRow("not JSON") << "{\"add_bos_token\": tru" << "tokenizer_config.json: invalid JSON";
        QTest::newRow("bos token a number") << R"({"bos_token": 5, "add_bos_token": "yes"})" << "";
        QTest::newRow("template list of junk") << R"({"chat_template": [1, {"name": 2}, {"name": "default", "template": 3}]})" << "";
        QTest::newRow("eos token object without content") << R"({"eos_token": {"text": "x"}})" << "";
        QTest::newRow("top level array") << "[[[[]]]]" << "";
    }
    void tokenizerConfig()
    {
        QFETCH(QString, json);
        QFETCH(QString, expected);
        const std::string dir = path("folder");
        std::filesystem::create_directories(dir);
        writeFile(dir + "/tokenizer.json", fuzz::tinyByteBpeJson());
        writeFile(dir + "/tokenizer_config.json", json.toStdString());
        const std::string msg = errorOf([&] { loadTokenizerFromFolder(dir); });
        if (expected.isEmpty())
            QCOMPARE(QString::fromStdString(msg), QString("(no error)"));
        else
            QVERIFY2(QString::fromStdString(msg).startsWith(QString::fromStdString(dir + "/") + expected), msg.c_str());
    }

    // GGUF vocabularies through loadTokenizer.
    void ggufVocabulary_data()
    {
        QTest::addColumn<int>("row");
        QTest::addColumn<QString>("expected"); // after "<path>: "
        QTest::newRow("tokens missing") << 0 << "metadata tokenizer.ggml.tokens: missing";
        QTest::newRow("tokens not strings") << 1 << "metadata tokenizer.ggml.tokens: expected an array of strings";
        QTest::newRow("token_type count") << 2 << "tokenizer.ggml.token_type has 1 entries but tokenizer.ggml.tokens has 3";
        QTest::newRow("token_type unknown") << 3 << "tokenizer.ggml.token_type[1]: unknown token type 9";
        QTest::newRow("invalid UTF-8 token") << 4 << "tokenizer.ggml.tokens[3]: invalid UTF-8 in token text";
        QTest::newRow("merge not two tokens") << 5 << "tokenizer.ggml.merges[1] \"zz\": expected two tokens separated by a space";
        QTest::newRow("unknown model") << 6 << "tokenizer.ggml.model: unsupported tokenizer model \"rwkv\" (supported: llama, gpt2)";
        QTest::newRow("llama without unk") << 7 << "tokenizer.ggml.unknown_token_id: the vocabulary has no unknown token, which SentencePiece requires";
        QTest::newRow("scores count") << 8 << "tokenizer.ggml.scores has 1 entries but tokenizer.ggml.tokens has 3";
        QTest::newRow("bos id out of range") << 9 << "";
    }
    void ggufVocabulary()
    {
        QFETCH(int, row);
        QFETCH(QString, expected);
        const std::string dir = m_dir.path().toStdString();
        const std::vector<std::function<void(GgufWriter&)>> edits = {
            [](GgufWriter& w) { w = GgufWriter(); w.setString("tokenizer.ggml.model", "gpt2"); },
            [](GgufWriter& w) { w = GgufWriter(); w.setString("tokenizer.ggml.model", "gpt2"); w.setF32Array("tokenizer.ggml.tokens", {1}); },
            [](GgufWriter& w) { w.setI32Array("tokenizer.ggml.token_type", {1}); },
            [](GgufWriter& w) { w.setI32Array("tokenizer.ggml.token_type", {1, 9, 1}); },
            [](GgufWriter& w) { w = GgufWriter(); w.setString("tokenizer.ggml.model", "gpt2"); w.setStringArray("tokenizer.ggml.tokens", {"a", "b", "c", "\xff"}); },
            [](GgufWriter& w) { w = GgufWriter(); w.setString("tokenizer.ggml.model", "gpt2"); w.setStringArray("tokenizer.ggml.tokens", {"a"}); w.setStringArray("tokenizer.ggml.merges", {"x y", "zz"}); },
            [](GgufWriter& w) { w = GgufWriter(); w.setString("tokenizer.ggml.model", "rwkv"); w.setStringArray("tokenizer.ggml.tokens", {"a"}); },
            [](GgufWriter& w) { w = GgufWriter(); w.setString("tokenizer.ggml.model", "llama"); w.setStringArray("tokenizer.ggml.tokens", {"a", "b", "c"}); },
            [](GgufWriter& w) { w = GgufWriter(); w.setString("tokenizer.ggml.model", "llama"); w.setStringArray("tokenizer.ggml.tokens", {"<unk>", "b", "c"}); w.setU32("tokenizer.ggml.unknown_token_id", 0); w.setF32Array("tokenizer.ggml.scores", {1}); },
            [](GgufWriter& w) { w.setU32("tokenizer.ggml.bos_token_id", 4000000000u); },
        };
        const std::string p = ggufVocab(dir, edits[size_t(row)]);
        const std::string msg = errorOf([&] { const GgufFile g(p); loadTokenizer(g); });
        if (expected.isEmpty())
            QCOMPARE(QString::fromStdString(msg), QString("(no error)"));
        else
            QVERIFY2(QString::fromStdString(msg).startsWith(QString::fromStdString(p + ": ") + expected), msg.c_str());
    }

    // Sampling settings JSON (what the GUI saves and the CLI reads).
    void samplingParams_data()
    {
        QTest::addColumn<QString>("json");
        QTest::addColumn<QString>("expected");
        QTest::newRow("unknown key") << R"({"temprature": 1})" << "unknown sampling setting 'temprature'";
        QTest::newRow("top_k a string") << R"({"top_k": "40"})" << "sampling setting 'top_k' must be an integer, got string";
        QTest::newRow("top_k huge") << R"({"top_k": 1e30})" << "sampling setting 'top_k' must be an integer, got 1e+30";
        QTest::newRow("top_k 2^64 - 1") << R"({"top_k": 18446744073709551615})" << "sampling setting 'top_k' is out of the integer range: 18446744073709551615";
        QTest::newRow("top_k past int") << R"({"top_k": 4294967296})" << "sampling setting 'top_k' is out of the integer range: 4294967296";
        QTest::newRow("seed negative") << R"({"seed": -1})" << "sampling setting 'seed' must be a non-negative integer, got -1";
        QTest::newRow("stop not strings") << R"({"stop": [1]})" << "sampling setting 'stop' entry 0 must be a string, got number";
        QTest::newRow("order unknown") << R"({"order": "torch"})" << "sampling setting 'order' must be one of \"huggingface\", \"vllm\", \"llama.cpp\", got \"torch\"";
        QTest::newRow("not an object") << "[[[[[[]]]]]]" << "sampling settings must be a JSON object, got array";
        QTest::newRow("deep seed") << QString::fromStdString(withDeepKey("{}", "seed", 100000).replace(1, 1, ""))
                                   << "sampling setting 'seed' must be a non-negative integer, got array";
        QTest::newRow("deep early_stopping") << QString::fromStdString(withDeepKey("{}", "early_stopping", 100000).replace(1, 1, ""))
                                             << "sampling setting 'early_stopping' must be true, false or \"never\", got array";
        QTest::newRow("top_p out of range") << R"({"top_p": 1.5})" << "sampling setting 'top_p' must be in (0, 1], got 1.5";
    }
    void samplingParams()
    {
        QFETCH(QString, json);
        QFETCH(QString, expected);
        const std::string msg = errorOf([&] {
            validate(samplingParamsFromJson(nlohmann::json::parse(json.toStdString())), -1);
        });
        QCOMPARE(QString::fromStdString(msg), expected);
    }
};

QTEST_GUILESS_MAIN(TestMalformedInputs)
#include "tst_malformed_inputs.moc"
