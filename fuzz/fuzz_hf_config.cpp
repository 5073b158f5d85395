// Fuzz target "hf_config": a Hugging Face config.json through readJsonFile and configFromHfJson.
// An accepted config must describe a model the engine can size without overflow.
#include "fuzz_support.h"
#include "model/config_loader.h"
#include "tokenizer/hf_tokenizer_json.h"

#include <nlohmann/json.hpp>

using namespace logitscope;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size)
{
    const std::string path = fuzz::writeScratch("config.json", data, size);
    fuzz::expectOnlyErrors([&] {
        const nlohmann::json j = readJsonFile(path);
        const ModelConfig c = configFromHfJson(j, path);
        fuzz::require(c.vocabSize > 0 && c.hidden > 0 && c.layers > 0 && c.heads > 0, "positive sizes");
        fuzz::require(c.kvHeads > 0 && c.headDim > 0 && c.ffn > 0 && c.contextLength > 0, "positive sizes");
        (void)c.kvBytesPerToken(4);
    });
    return 0;
}
