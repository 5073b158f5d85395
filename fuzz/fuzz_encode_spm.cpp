// Fuzz target "encode_spm": arbitrary text through the SentencePiece tokenizer of
// ../shared/models/ref-llama-spm/tokenizer.model (the target does nothing when that file is absent).
#include "fuzz_support.h"
#include "tokenizer/tokenizer.h"

#include <memory>

using namespace logitscope;

#ifndef LOGITSCOPE_SHARED_DIR
#define LOGITSCOPE_SHARED_DIR "../shared"
#endif

static const Tokenizer* tokenizer()
{
    static const std::unique_ptr<Tokenizer> tok = []() -> std::unique_ptr<Tokenizer> {
        const char* env = std::getenv("LOGITSCOPE_SHARED_DIR");
        const std::string shared = env ? env : LOGITSCOPE_SHARED_DIR;
        const std::string model = shared + "/models/ref-llama-spm/tokenizer.model";
        if (!std::filesystem::exists(model)) {
            std::fprintf(stderr, "encode_spm: %s is absent, nothing to fuzz\n", model.c_str());
            return nullptr;
        }
        return loadTokenizerFile(model);
    }();
    return tok.get();
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size)
{
    const Tokenizer* tok = tokenizer();
    if (!tok)
        return 0;
    const std::string_view text(reinterpret_cast<const char*>(data), size);
    for (const bool parseSpecial : {false, true}) {
        const std::vector<int32_t> ids = tok->encode(text, {.addSpecial = true, .parseSpecial = parseSpecial});
        for (int32_t id : ids)
            fuzz::require(id >= 0 && id < tok->vocabSize(), "encode gives ids inside the vocabulary");
        (void)tok->decode(ids);
        (void)tok->decode(ids, false);
    }
    return 0;
}
