// Fuzz target "safetensors": a .safetensors file through SafetensorsFile. Accepted files must keep
// every tensor view inside the data section with a size that matches dtype x shape.
#include "formats/safetensors_reader.h"
#include "fuzz_support.h"

using namespace logitscope;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size)
{
    const std::string path = fuzz::writeScratch("input.safetensors", data, size);
    fuzz::expectOnlyErrors([&] {
        const SafetensorsFile f(path);
        const uint8_t* begin = f.mapping()->data();
        const uint8_t* end = begin + f.mapping()->size();
        size_t total = 0;
        for (const TensorView& t : f.tensors()) {
            const auto* p = static_cast<const uint8_t*>(t.data);
            fuzz::require(p >= begin && p <= end && t.nbytes <= size_t(end - p), "tensor inside the file");
            fuzz::require(t.nbytes == dtypeBytes(t.type, t.elements()), "tensor size matches its shape");
            fuzz::require(f.tensor(t.name) == &t, "tensor names are unique");
            total += t.nbytes;
            if (t.nbytes > 0) {
                volatile uint8_t first = p[0], last = p[t.nbytes - 1];
                (void)first, (void)last;
            }
        }
        fuzz::require(total <= size, "tensors cover at most the file");
    });
    return 0;
}
