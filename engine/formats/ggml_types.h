// ggml's numbers for tensor element types, as GGUF files store them: the ones Logitscope reads and
// writes, in one table for gguf_reader.cpp and gguf_writer.cpp.
#pragma once

#include "common/dtype.h"

#include <cstdint>
#include <string>

namespace logitscope {

// The type numbered t, if it is one Logitscope reads.
bool dtypeOfGgml(uint32_t t, DType& out);
// The number of a type Logitscope reads.
uint32_t ggmlTypeOf(DType t);
// ggml's name for any type number ("Q6_K", "IQ2_XXS"; "unknown" past the table).
const char* ggmlTypeName(uint32_t t);
// "F32, F16, Q4_0, …": the weight types Logitscope reads, for error messages.
std::string supportedGgmlTypeNames();

} // namespace logitscope
