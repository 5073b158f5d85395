// Fuzz target "tokenizer_json": a Hugging Face tokenizer.json through loadTokenizerFile, then a few
// encodes and decodes with whatever vocabulary, merges, added tokens and pre-tokenizer it declared.
#include "fuzz_support.h"
#include "tokenizer/tokenizer.h"

using namespace logitscope;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size)
{
    if (size == 0 || data[0] != '{')
        return 0; // loadTokenizerFile sends other files to the GGUF / SentencePiece readers (own targets)
    const std::string path = fuzz::writeScratch("tokenizer.json", data, size);
    fuzz::expectOnlyErrors([&] {
        const auto tok = loadTokenizerFile(path);
        for (const char* text : {"Hello world", " the  quick\n\tbrown 123 fox's <|im_start|>\xff\xc3(", ""}) {
            const std::vector<int32_t> ids = tok->encode(text);
            for (int32_t id : ids)
                fuzz::require(id >= 0 && id < tok->vocabSize(), "encode gives ids inside the vocabulary");
            (void)tok->decode(ids);
            (void)tok->decode(ids, false);
        }
        for (int32_t id = 0; id < tok->vocabSize() && id < 64; ++id)
            (void)tok->tokenBytes(id), (void)tok->piece(id);
        (void)tok->renderChat("You are helpful.", "Hi");
    });
    return 0;
}
