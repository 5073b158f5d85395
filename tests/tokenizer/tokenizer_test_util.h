// Helpers shared by the tokenizer tests: llama.cpp's .inp/.out vector files, a minimal GGUF writer for
// hand-made vocabularies, and small file utilities. Test code only.
#pragma once

#include <cstdint>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

namespace logitscope::test {

inline std::string readFile(const std::string& path)
{
    std::ifstream in(path, std::ios::binary);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
}

inline void writeFile(const std::string& path, const std::string& text)
{
    std::ofstream out(path, std::ios::binary);
    out << text;
}

// Inputs are the texts between "\n__ggml_vocab_test__\n" separators (the first starts the file), as
// llama.cpp's test-tokenizer-0 reads them.
inline std::vector<std::string> readVectorInputs(const std::string& path)
{
    const std::string text = readFile(path);
    const std::string sep = "\n__ggml_vocab_test__\n";
    std::vector<std::string> inputs;
    size_t pos = 0;
    while (true) {
        const size_t next = text.find(sep, pos);
        if (next == std::string::npos)
            break;
        inputs.push_back(text.substr(pos, next - pos));
        pos = next + sep.size();
    }
    return inputs;
}

// One line of space-separated ids per input.
inline std::vector<std::vector<int32_t>> readVectorOutputs(const std::string& path)
{
    std::ifstream in(path);
    std::vector<std::vector<int32_t>> out;
    std::string line;
    while (std::getline(in, line)) {
        std::istringstream ls(line);
        std::vector<int32_t> ids;
        int32_t id;
        while (ls >> id)
            ids.push_back(id);
        out.push_back(std::move(ids));
    }
    return out;
}

// Writes a GGUF v3 file holding only metadata (no tensors).
class GgufMetaWriter {
public:
    void str(const std::string& key, const std::string& v) { header(key, 8); putStr(v); ++m_count; }
    void u32(const std::string& key, uint32_t v) { header(key, 4); put(v); ++m_count; }
    void boolean(const std::string& key, bool v) { header(key, 7); put(uint8_t(v)); ++m_count; }
    void strArray(const std::string& key, const std::vector<std::string>& v)
    {
        header(key, 9);
        put(uint32_t(8));
        put(uint64_t(v.size()));
        for (const auto& s : v)
            putStr(s);
        ++m_count;
    }
    void i32Array(const std::string& key, const std::vector<int32_t>& v)
    {
        header(key, 9);
        put(uint32_t(5));
        put(uint64_t(v.size()));
        for (int32_t x : v)
            put(x);
        ++m_count;
    }
    void f32Array(const std::string& key, const std::vector<float>& v)
    {
        header(key, 9);
        put(uint32_t(6));
        put(uint64_t(v.size()));
        for (float x : v)
            put(x);
        ++m_count;
    }
    void save(const std::string& path) const
    {
        std::string head = "GGUF";
        const auto app = [&head](auto x) { head.append(reinterpret_cast<const char*>(&x), sizeof x); };
        app(uint32_t(3));
        app(uint64_t(0));
        app(uint64_t(m_count));
        writeFile(path, head + m_body);
    }

private:
    template <typename T>
    void put(T x) { m_body.append(reinterpret_cast<const char*>(&x), sizeof x); }
    void putStr(const std::string& s)
    {
        put(uint64_t(s.size()));
        m_body += s;
    }
    void header(const std::string& key, uint32_t type)
    {
        putStr(key);
        put(type);
    }
    std::string m_body;
    uint64_t m_count = 0;
};

} // namespace logitscope::test
