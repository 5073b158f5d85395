// Fuzz target "tokenizer_config": a Hugging Face folder whose tokenizer.json is a fixed small byte-level
// vocabulary and whose tokenizer_config.json (special tokens, add_bos/eos, chat template) is the input.
#include "fuzz_support.h"
#include "tiny_vocab.h"
#include "tokenizer/tokenizer.h"

using namespace logitscope;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size)
{
    static const bool once = [] {
        std::filesystem::create_directories(fuzz::scratchDir() / "folder");
        fuzz::writeScratch("folder/tokenizer.json", fuzz::tinyByteBpeJson());
        return true;
    }();
    (void)once;
    fuzz::writeScratch("folder/tokenizer_config.json", data, size);
    fuzz::expectOnlyErrors([&] {
        const auto tok = loadTokenizerFromFolder((fuzz::scratchDir() / "folder").string());
        const ChatRendering chat = tok->renderChat("You are helpful.", "Hello world");
        (void)chat;
        const std::vector<int32_t> ids = tok->encode("Hello world<|im_start|>");
        for (int32_t id : ids)
            fuzz::require(id >= 0 && id < tok->vocabSize(), "encode gives ids inside the vocabulary");
        (void)tok->decode(ids);
        for (int32_t id : tok->eosIds())
            fuzz::require(id >= 0 && id < tok->vocabSize(), "EOS ids inside the vocabulary");
    });
    return 0;
}
