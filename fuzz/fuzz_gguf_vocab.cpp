// Fuzz target "gguf_vocab": a GGUF vocabulary (tokenizer.ggml.* metadata, no tensors needed) through
// loadTokenizer, tokenizerJsonFromGgufVocab, and a few encodes and decodes.
#include "formats/gguf_reader.h"
#include "fuzz_support.h"
#include "tokenizer/tokenizer.h"

using namespace logitscope;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size)
{
    const std::string path = fuzz::writeScratch("vocab.gguf", data, size);
    fuzz::expectOnlyErrors([&] {
        const GgufFile g(path);
        const auto tok = loadTokenizer(g);
        for (const char* text : {"Hello world", " the  quick\n\tbrown 123 fox's <s></s>\xff\xc3(", ""}) {
            const std::vector<int32_t> ids = tok->encode(text);
            for (int32_t id : ids)
                fuzz::require(id >= 0 && id < tok->vocabSize(), "encode gives ids inside the vocabulary");
            (void)tok->decode(ids);
        }
        if (tok->kind() != "sentencepiece")
            (void)tokenizerJsonFromGgufVocab(g);
    });
    return 0;
}
