// Fuzz target "encode_bpe": arbitrary text through a byte-level BPE tokenizer — GPT-2's vocabulary from
// ../shared/tokenizer-vectors when present, else a small built-in one. Byte-level BPE is lossless, so
// decode(encode(text)) must give the text back byte for byte.
#include "fuzz_support.h"
#include "tiny_vocab.h"
#include "tokenizer/tokenizer.h"

#include <memory>

using namespace logitscope;

#ifndef LOGITSCOPE_SHARED_DIR
#define LOGITSCOPE_SHARED_DIR "../shared"
#endif

static const Tokenizer& tokenizer()
{
    static const std::unique_ptr<Tokenizer> tok = [] {
        const char* env = std::getenv("LOGITSCOPE_SHARED_DIR");
        const std::string shared = env ? env : LOGITSCOPE_SHARED_DIR;
        const std::string gpt2 = shared + "/tokenizer-vectors/ggml-vocab-gpt-2.gguf";
        if (std::filesystem::exists(gpt2) && !std::getenv("LOGITSCOPE_FUZZ_TINY_VOCAB"))
            return loadTokenizerFile(gpt2);
        return loadTokenizerFile(fuzz::writeScratch("tiny-tokenizer.json", fuzz::tinyByteBpeJson()));
    }();
    return *tok;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size)
{
    const Tokenizer& tok = tokenizer();
    const std::string_view text(reinterpret_cast<const char*>(data), size);
    for (const bool parseSpecial : {false, true}) {
        const std::vector<int32_t> ids = tok.encode(text, {.addSpecial = false, .parseSpecial = parseSpecial});
        for (int32_t id : ids)
            fuzz::require(id >= 0 && id < tok.vocabSize(), "encode gives ids inside the vocabulary");
        fuzz::require(tok.decode(ids, false) == text, "byte-level BPE round trip");
    }
    return 0;
}
