// Fuzz target "sampling_params": sampling settings JSON (what the GUI and CLI accept) through
// samplingParamsFromJson and validate(); accepted settings must survive a JSON round trip.
#include "decoding/sampling_params.h"
#include "fuzz_support.h"

#include <nlohmann/json.hpp>

using namespace logitscope;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size)
{
    const nlohmann::json j = nlohmann::json::parse(data, data + size, nullptr, false);
    if (j.is_discarded())
        return 0; // not JSON: the callers' parser reports that
    fuzz::expectOnlyErrors([&] {
        const SamplingParams p = samplingParamsFromJson(j);
        validate(p, 512);
        const SamplingParams back = samplingParamsFromJson(toJson(p));
        fuzz::require(back == p, "toJson / samplingParamsFromJson round trip");
    });
    return 0;
}
