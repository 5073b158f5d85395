// Hand-made malformed model files, one per check of the GGUF and safetensors readers and of
// Model::load, each asserting the message that names the file/field and the problem.
#include "common/error.h"
#include "formats/gguf_reader.h"
#include "formats/gguf_writer.h"
#include "formats/safetensors_reader.h"
#include "formats/safetensors_writer.h"
#include "model/model.h"

#include <QTemporaryDir>
#include <QtTest>

#include <cstring>
#include <fstream>
#include <functional>

using namespace logitscope;

namespace {

std::vector<uint8_t> readAll(const std::string& path)
{
    std::ifstream f(path, std::ios::binary);
    return std::vector<uint8_t>(std::istreambuf_iterator<char>(f), {});
}

void writeAll(const std::string& path, const std::vector<uint8_t>& bytes)
{
    std::ofstream f(path, std::ios::binary | std::ios::trunc);
    f.write(reinterpret_cast<const char*>(bytes.data()), std::streamsize(bytes.size()));
}

void writeText(const std::string& path, const std::string& text)
{
    std::ofstream(path, std::ios::trunc) << text;
}

template <typename T>
void put(std::vector<uint8_t>& v, T x)
{
    const auto* p = reinterpret_cast<const uint8_t*>(&x);
    v.insert(v.end(), p, p + sizeof(T));
}

void putStr(std::vector<uint8_t>& v, const std::string& s)
{
    put<uint64_t>(v, s.size());
    v.insert(v.end(), s.begin(), s.end());
}

std::vector<uint8_t> ggufHeader(uint32_t version, uint64_t nTensors, uint64_t nKv)
{
    std::vector<uint8_t> v;
    put<uint32_t>(v, 0x46554747);
    put<uint32_t>(v, version);
    put<uint64_t>(v, nTensors);
    put<uint64_t>(v, nKv);
    return v;
}

// One tensor info record (dims innermost first, as GGUF stores them).
void tensorInfo(std::vector<uint8_t>& v, const std::string& name, std::vector<uint64_t> dims, uint32_t type, uint64_t offset)
{
    putStr(v, name);
    put<uint32_t>(v, uint32_t(dims.size()));
    for (uint64_t d : dims)
        put<uint64_t>(v, d);
    put<uint32_t>(v, type);
    put<uint64_t>(v, offset);
}

std::vector<uint8_t> safetensors(const std::string& header, size_t dataBytes)
{
    std::vector<uint8_t> v;
    put<uint64_t>(v, header.size());
    v.insert(v.end(), header.begin(), header.end());
    v.resize(v.size() + dataBytes, 0);
    return v;
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

} // namespace

class TestModelFiles : public QObject {
    Q_OBJECT

private slots:
    void ggufMalformed_data()
    {
        QTest::addColumn<QByteArray>("bytes");
        QTest::addColumn<QString>("expected");
        auto add = [](const char* name, const std::vector<uint8_t>& b, const char* expected) {
            QTest::newRow(name) << QByteArray(reinterpret_cast<const char*>(b.data()), qsizetype(b.size())) << QString(expected);
        };
        add("too small", {1, 2, 3}, "file is too small to be GGUF (3 bytes)");
        {
            auto b = ggufHeader(3, 0, 0);
            b[0] = 'X';
            add("bad magic", b, "not a GGUF file (bad magic)");
        }
        add("version 1", ggufHeader(1, 0, 0), "unsupported version 1 (supported: 2 and 3)");
        add("huge n_kv", ggufHeader(3, 0, uint64_t(1) << 40), "metadata count 1099511627776 is too large");
        add("huge n_tensors", ggufHeader(3, uint64_t(1) << 40, 0), "tensor count 1099511627776 is too large");
        {
            auto b = ggufHeader(3, 0, 1);
            put<uint64_t>(b, uint64_t(1) << 50); // key length past the end
            b.resize(b.size() + 64, 0);
            add("key length past end", b, "truncated while reading metadata key");
        }
        {
            auto b = ggufHeader(3, 0, 1);
            putStr(b, "general.alignment");
            put<uint32_t>(b, 4);
            put<uint32_t>(b, 48);
            add("alignment not a power of two", b, "general.alignment must be a power of two up to 65536, got 48");
        }
        {
            auto b = ggufHeader(3, 0, 1);
            putStr(b, "k");
            put<uint32_t>(b, 99);
            add("unknown metadata type", b, "metadata 'k' has unknown type 99");
        }
        {
            auto b = ggufHeader(3, 0, 1);
            putStr(b, "arr");
            put<uint32_t>(b, 9);
            put<uint32_t>(b, 8);
            put<uint64_t>(b, uint64_t(1) << 30);
            add("string array count past end", b, "truncated while reading string array");
        }
        {
            auto b = ggufHeader(3, 0, 2);
            putStr(b, "k");
            put<uint32_t>(b, 4);
            put<uint32_t>(b, 1);
            putStr(b, "k");
            put<uint32_t>(b, 4);
            put<uint32_t>(b, 1);
            add("duplicate key", b, "duplicate metadata key 'k'");
        }
        {
            auto b = ggufHeader(3, 1, 0);
            tensorInfo(b, "t", {1, 1, 1, 1, 1}, 0, 0);
            add("five dims", b, "tensor 't' has 5 dimensions (1 to 4 allowed)");
        }
        {
            auto b = ggufHeader(3, 1, 0);
            tensorInfo(b, "t", {uint64_t(1) << 41, 1}, 0, 0);
            add("huge dimension", b, "tensor 't' has an invalid dimension 2199023255552");
        }
        {
            auto b = ggufHeader(3, 1, 0);
            tensorInfo(b, "t", {uint64_t(1) << 30, uint64_t(1) << 30}, 0, 0);
            add("element count overflow", b, "tensor 't' has an invalid dimension 1073741824");
        }
        {
            auto b = ggufHeader(3, 1, 0);
            tensorInfo(b, "t", {256}, 16, 0);
            add("unsupported type", b, "tensor 't' has unsupported type IQ2_XXS (16); supported: F32, F16, Q4_0, Q4_1, "
                "Q5_0, Q5_1, Q8_0, Q2_K, Q3_K, Q4_K, Q5_K, Q6_K, IQ4_NL, IQ4_XS, BF16");
        }
        {
            auto b = ggufHeader(3, 1, 0);
            tensorInfo(b, "t", {33}, 8, 0);
            add("row not a block multiple", b, "tensor 't' row length 33 is not a multiple of the Q8_0 block size");
        }
        {
            auto b = ggufHeader(3, 2, 0);
            tensorInfo(b, "t", {4}, 0, 0);
            tensorInfo(b, "t", {4}, 0, 32);
            add("duplicate tensor", b, "duplicate tensor name 't'");
        }
        {
            auto b = ggufHeader(3, 1, 0);
            tensorInfo(b, "t", {4}, 0, 3);
            add("misaligned offset", b, "tensor 't' offset 3 is not aligned");
        }
        {
            auto b = ggufHeader(3, 1, 0);
            tensorInfo(b, "t", {1024}, 0, 0);
            b.resize(b.size() + 100, 0);
            add("data outside file", b, "tensor 't' data (4096 bytes at offset 0) lies outside the file");
        }
    }

    void ggufMalformed()
    {
        QFETCH(QByteArray, bytes);
        QFETCH(QString, expected);
        QTemporaryDir dir;
        const std::string path = dir.filePath("bad.gguf").toStdString();
        writeAll(path, std::vector<uint8_t>(bytes.begin(), bytes.end()));
        const QString msg = errorOf([&] { GgufFile f(path); });
        QVERIFY2(msg.contains(expected), qPrintable("got: " + msg));
        QVERIFY2(msg.startsWith(QString::fromStdString(path)), qPrintable("message must name the file: " + msg));
    }

    void safetensorsMalformed_data()
    {
        QTest::addColumn<QByteArray>("bytes");
        QTest::addColumn<QString>("expected");
        auto add = [](const char* name, const std::vector<uint8_t>& b, const char* expected) {
            QTest::newRow(name) << QByteArray(reinterpret_cast<const char*>(b.data()), qsizetype(b.size())) << QString(expected);
        };
        add("too small", {1, 2}, "file is too small (2 bytes)");
        {
            std::vector<uint8_t> b;
            put<uint64_t>(b, uint64_t(200) << 20);
            add("header over 100 MB", b, "exceeds the 100 MB limit");
        }
        {
            std::vector<uint8_t> b;
            put<uint64_t>(b, 1000);
            b.resize(100, ' ');
            add("header past end", b, "header length 1000 runs past the end of the file");
        }
        add("invalid json", safetensors("{\"a\": ", 0), "header is not valid JSON");
        add("not an object", safetensors("[1,2]", 0), "header is not a JSON object");
        add("invalid utf8", safetensors("{\"\xff\xfe\": 1}", 0), "header is not valid JSON");
        add("unknown dtype", safetensors(R"({"w":{"dtype":"F8","shape":[2],"data_offsets":[0,2]}})", 2),
            "tensor 'w': unsupported dtype F8");
        add("missing offsets", safetensors(R"({"w":{"dtype":"F32","shape":[2]}})", 8), "tensor 'w': missing or invalid data_offsets");
        add("negative shape", safetensors(R"({"w":{"dtype":"F32","shape":[-2],"data_offsets":[0,8]}})", 8),
            "tensor 'w': shape entries must be non-negative integers");
        add("size mismatch", safetensors(R"({"w":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}})", 8),
            "tensor 'w': data_offsets span 8 bytes but dtype F32 and shape (3) need 12");
        add("range past data", safetensors(R"({"w":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}})", 4),
            "tensor 'w': data_offsets [0, 8] lie outside the data section (4 bytes");
        add("overlap", safetensors(R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}})", 12),
            "starts at 4 but the previous data ends at 8 (overlapping ranges)");
        add("gap", safetensors(R"({"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"b":{"dtype":"F32","shape":[1],"data_offsets":[8,12]}})", 12),
            "(gap in the data)");
        add("data not covered", safetensors(R"({"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}})", 12),
            "tensor data covers 4 bytes but the data section holds 12");
    }

    void safetensorsMalformed()
    {
        QFETCH(QByteArray, bytes);
        QFETCH(QString, expected);
        QTemporaryDir dir;
        const std::string path = dir.filePath("bad.safetensors").toStdString();
        writeAll(path, std::vector<uint8_t>(bytes.begin(), bytes.end()));
        const QString msg = errorOf([&] { SafetensorsFile f(path); });
        QVERIFY2(msg.contains(expected), qPrintable("got: " + msg));
        QVERIFY2(msg.startsWith(QString::fromStdString(path)), qPrintable("message must name the file: " + msg));
    }

    void writerRoundTrip()
    {
        QTemporaryDir dir;
        const std::string g = dir.filePath("t.gguf").toStdString();
        GgufWriter w;
        w.setString("general.architecture", "llama");
        w.setU32("n", 7);
        w.setF32Array("f", {1.5f, -2.0f});
        w.setStringArray("s", {"a", "bc"});
        std::vector<uint8_t> data(6 * 4);
        for (int i = 0; i < 6; ++i) {
            const float x = float(i);
            std::memcpy(&data[size_t(i) * 4], &x, 4);
        }
        w.addTensor("m", DType::F32, {2, 3}, data);
        w.write(g);
        GgufFile f(g);
        QCOMPARE(f.getString("general.architecture"), std::string("llama"));
        QCOMPARE(f.getInt("n"), int64_t(7));
        QCOMPARE(f.getFloatArray("f"), (std::vector<float>{1.5f, -2.0f}));
        QCOMPARE(f.getStringArray("s").size(), size_t(2));
        const TensorView* t = f.tensor("m");
        QVERIFY(t);
        QCOMPARE(t->shape, (std::vector<int64_t>{2, 3}));
        QCOMPARE(static_cast<const float*>(t->data)[5], 5.0f);
        QCOMPARE(errorOf([&] { f.getInt("general.architecture"); }),
                 QString::fromStdString(g + ": metadata general.architecture: expected an integer, found string"));

        const std::string s = dir.filePath("t.safetensors").toStdString();
        SafetensorsWriter sw;
        sw.addTensor("m", DType::F32, {2, 3}, data);
        sw.write(s);
        SafetensorsFile sf(s);
        QCOMPARE(sf.tensor("m")->shape, (std::vector<int64_t>{2, 3}));
        QCOMPARE(static_cast<const float*>(sf.tensor("m")->data)[4], 4.0f);
    }

    void modelLoadErrors()
    {
        QTemporaryDir dir;
        const std::string root = dir.path().toStdString();
        QCOMPARE(errorOf([&] { Model::load(root + "/missing.gguf"); }), QString::fromStdString(root + "/missing.gguf: no such file or folder"));

        const std::string empty = root + "/empty";
        std::filesystem::create_directories(empty);
        QCOMPARE(errorOf([&] { Model::load(empty); }), QString::fromStdString(empty + ": not a model folder (no config.json)"));

        const std::string unknown = root + "/unknown";
        std::filesystem::create_directories(unknown);
        writeText(unknown + "/config.json", R"({"model_type": "mamba", "vocab_size": 10})");
        QCOMPARE(errorOf([&] { Model::load(unknown); }),
                 QString::fromStdString(unknown + "/config.json: model_type 'mamba' is not supported (supported: llama, mistral, qwen2, qwen3, phi3, gpt2)"));

        const std::string badJson = root + "/badjson";
        std::filesystem::create_directories(badJson);
        writeText(badJson + "/config.json", "{\"model_type\": ");
        QVERIFY(errorOf([&] { Model::load(badJson); }).startsWith(QString::fromStdString(badJson + "/config.json: not valid JSON")));

        const std::string wrongType = root + "/wrongtype";
        std::filesystem::create_directories(wrongType);
        writeText(wrongType + "/config.json",
                  R"({"model_type": "llama", "vocab_size": 10, "hidden_size": "big", "num_hidden_layers": 1, "num_attention_heads": 1, "intermediate_size": 4})");
        QCOMPARE(errorOf([&] { Model::load(wrongType); }),
                 QString::fromStdString(wrongType + "/config.json: field 'hidden_size' must be a non-negative integer, found \"big\""));

        const std::string noWeights = root + "/noweights";
        std::filesystem::create_directories(noWeights);
        writeText(noWeights + "/config.json",
                  R"({"model_type": "llama", "vocab_size": 10, "hidden_size": 8, "num_hidden_layers": 1, "num_attention_heads": 2, "intermediate_size": 4})");
        QCOMPARE(errorOf([&] { Model::load(noWeights); }),
                 QString::fromStdString(noWeights + ": no model.safetensors or model.safetensors.index.json"));

        const std::string huge = root + "/huge";
        std::filesystem::create_directories(huge);
        writeText(huge + "/config.json",
                  R"({"model_type": "llama", "vocab_size": 10, "hidden_size": 8, "num_hidden_layers": 100000, "num_attention_heads": 2, "intermediate_size": 4})");
        QCOMPARE(errorOf([&] { Model::load(huge); }), QString::fromStdString(huge + "/config.json: layer count 100000 is out of range"));

        // A GGUF with an architecture nobody supports.
        const std::string arch = root + "/arch.gguf";
        GgufWriter w;
        w.setString("general.architecture", "mamba");
        w.write(arch);
        QCOMPARE(errorOf([&] { Model::load(arch); }),
                 QString::fromStdString(arch + ": metadata general.architecture: 'mamba' is not supported (supported: llama, mistral, qwen2, qwen3, phi3, gpt2)"));
    }
};

QTEST_GUILESS_MAIN(TestModelFiles)
#include "tst_model_files.moc"
