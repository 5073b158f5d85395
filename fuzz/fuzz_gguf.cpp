// Fuzz target "gguf": a GGUF file through GgufFile (header, metadata, tensor table) and, when it parses,
// through Model::load (config, vocabulary, tensor binding). Every tensor view must lie inside the map,
// and every block format's decoder inside its block.
#include "formats/gguf_reader.h"
#include "fuzz_support.h"
#include "model/model.h"

#include <cstring>

using namespace logitscope;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size)
{
    const std::string path = fuzz::writeScratch("input.gguf", data, size);
    bool parsed = false;
    fuzz::expectOnlyErrors([&] {
        const GgufFile g(path);
        parsed = true;
        const uint8_t* begin = g.mapping()->data();
        const uint8_t* end = begin + g.mapping()->size();
        for (const auto& [key, value] : g.metadata()) {
            (void)value.toString();
            fuzz::require(g.find(key) != nullptr, "every metadata key can be found");
        }
        for (const TensorView& t : g.tensors()) {
            const auto* p = static_cast<const uint8_t*>(t.data);
            fuzz::require(p >= begin && p <= end && t.nbytes <= size_t(end - p), "tensor inside the file");
            fuzz::require(t.nbytes == dtypeBytes(t.type, t.elements()), "tensor size matches its shape");
            fuzz::require(g.tensor(t.name) == &t, "tensor names are unique");
            if (t.nbytes > 0) { // touch both ends so ASan sees any escape from the map
                volatile uint8_t first = p[0], last = p[t.nbytes - 1];
                (void)first, (void)last;
                // Decode the first and the last block: whatever bytes a block holds, its decoder stays inside it.
                const int64_t bs = dtypeBlockSize(t.type);
                const size_t bb = dtypeBlockBytes(t.type);
                float out[256];
                dequantize(t.type, p, out, bs);
                dequantize(t.type, p + t.nbytes - bb, out, bs);
            }
        }
        (void)g.getString("general.architecture", "");
        (void)g.getInt("general.alignment", 0);
        (void)g.getStringArray("tokenizer.ggml.tokens");
    });
    if (parsed)
        fuzz::expectOnlyErrors([&] {
            const auto model = Model::load(path);
            (void)model->parameterCount();
            (void)model->dtypeSummary();
            (void)model->tokenizer().encode("Hello world");
        });
    return 0;
}
