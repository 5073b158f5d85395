// A small byte-level BPE vocabulary (GPT-2 style: 256 byte symbols, a few merges, two special tokens)
// as a tokenizer.json text, so the tokenizer targets run without ../shared. Fuzz support code only.
#pragma once

#include <nlohmann/json.hpp>

#include <string>

namespace logitscope::fuzz {

// GPT-2's byte -> printable code point table ("Ġ" for space, "Ċ" for newline).
inline std::string byteLevelSymbol(int b)
{
    int cp = b;
    const bool printable = (b >= 33 && b <= 126) || (b >= 161 && b <= 172) || (b >= 174 && b <= 255);
    if (!printable) {
        int n = 0;
        for (int x = 0; x < b; ++x)
            if (!((x >= 33 && x <= 126) || (x >= 161 && x <= 172) || (x >= 174 && x <= 255)))
                ++n;
        cp = 256 + n;
    }
    std::string s;
    if (cp < 0x80) {
        s += char(cp);
    } else {
        s += char(0xC0 | (cp >> 6));
        s += char(0x80 | (cp & 0x3F));
    }
    return s;
}

inline std::string tinyByteBpeJson()
{
    nlohmann::json vocab = nlohmann::json::object();
    int id = 0;
    for (int b = 0; b < 256; ++b)
        vocab[byteLevelSymbol(b)] = id++;
    const char* merges[][2] = {{"Ġ", "t"}, {"h", "e"}, {"Ġt", "he"}, {"i", "n"}, {"Ġ", "a"}, {"e", "r"},
                               {"o", "n"}, {"Ġ", "w"}, {"o", "r"}, {"Ġw", "or"}, {"l", "d"}, {"Ġwor", "ld"}};
    nlohmann::json mergeList = nlohmann::json::array();
    for (const auto& m : merges) {
        vocab[std::string(m[0]) + m[1]] = id++;
        mergeList.push_back(std::string(m[0]) + " " + m[1]);
    }
    nlohmann::json j;
    j["version"] = "1.0";
    j["added_tokens"] = nlohmann::json::array({
        {{"id", id}, {"content", "<|endoftext|>"}, {"special", true}, {"lstrip", false}, {"rstrip", false},
         {"normalized", false}, {"single_word", false}},
        {{"id", id + 1}, {"content", "<|im_start|>"}, {"special", true}, {"lstrip", false}, {"rstrip", false},
         {"normalized", false}, {"single_word", false}}});
    vocab["<|endoftext|>"] = id;
    vocab["<|im_start|>"] = id + 1;
    j["normalizer"] = nullptr;
    j["pre_tokenizer"] = {{"type", "ByteLevel"}, {"add_prefix_space", false}, {"trim_offsets", true},
                          {"use_regex", true}};
    j["decoder"] = {{"type", "ByteLevel"}, {"add_prefix_space", true}, {"trim_offsets", true}, {"use_regex", true}};
    j["model"] = {{"type", "BPE"}, {"dropout", nullptr}, {"unk_token", nullptr}, {"byte_fallback", false},
                  {"vocab", vocab}, {"merges", mergeList}};
    return j.dump(1);
}

} // namespace logitscope::fuzz
