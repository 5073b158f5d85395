// The table behind ggml_types.h.
#include "formats/ggml_types.h"

namespace logitscope {

namespace {

constexpr struct {
    uint32_t ggml;
    DType type;
} kGgmlTypes[] = {
    {0, DType::F32}, {1, DType::F16}, {2, DType::Q4_0}, {3, DType::Q4_1}, {6, DType::Q5_0}, {7, DType::Q5_1},
    {8, DType::Q8_0}, {10, DType::Q2_K}, {11, DType::Q3_K}, {12, DType::Q4_K}, {13, DType::Q5_K},
    {14, DType::Q6_K}, {20, DType::IQ4_NL}, {23, DType::IQ4_XS}, {26, DType::I32}, {30, DType::BF16},
};

} // namespace

bool dtypeOfGgml(uint32_t t, DType& out)
{
    for (const auto& g : kGgmlTypes)
        if (g.ggml == t) {
            out = g.type;
            return true;
        }
    return false;
}

uint32_t ggmlTypeOf(DType t)
{
    for (const auto& g : kGgmlTypes)
        if (g.type == t)
            return g.ggml;
    return 0; // unreachable: every DType is in the table
}

const char* ggmlTypeName(uint32_t t)
{
    static const char* names[] = {"F32", "F16", "Q4_0", "Q4_1", "Q4_2", "Q4_3", "Q5_0", "Q5_1", "Q8_0",
        "Q8_1", "Q2_K", "Q3_K", "Q4_K", "Q5_K", "Q6_K", "Q8_K", "IQ2_XXS", "IQ2_XS", "IQ3_XXS", "IQ1_S",
        "IQ4_NL", "IQ3_S", "IQ2_S", "IQ4_XS", "I8", "I16", "I32", "I64", "F64", "IQ1_M", "BF16"};
    return t < sizeof(names) / sizeof(names[0]) ? names[t] : "unknown";
}

std::string supportedGgmlTypeNames()
{
    std::string names;
    for (const auto& g : kGgmlTypes)
        if (g.type != DType::I32)
            names += (names.empty() ? "" : ", ") + std::string(dtypeName(g.type));
    return names;
}

} // namespace logitscope
