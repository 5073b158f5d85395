// Reading the Hugging Face reference outputs (../shared/reference/*.json). Python's json writes
// -Infinity / Infinity / NaN, which JSON does not have: they are read as null.
#pragma once

#include "shared_data.h"

#include <nlohmann/json.hpp>

#include <fstream>
#include <sstream>
#include <string>

namespace logitscope::test {

inline nlohmann::json readPythonJson(const std::string& path)
{
    std::ifstream in(path, std::ios::binary);
    std::stringstream buffer;
    buffer << in.rdbuf();
    std::string text = buffer.str();
    for (const std::string w : {"-Infinity", "Infinity", "NaN"})
        for (size_t pos = text.find(w); pos != std::string::npos; pos = text.find(w, pos))
            text.replace(pos, w.size(), "null");
    return nlohmann::json::parse(text);
}

// The reference file for the shared Llama model, parsed once.
inline const nlohmann::json& llamaReference()
{
    static const nlohmann::json j = readPythonJson(sharedPath("reference/ref-llama-spm.hf.json"));
    return j;
}

} // namespace logitscope::test
