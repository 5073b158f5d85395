// Reading ModelConfig from the two places models keep it: a Hugging Face config.json and GGUF metadata.
// Both styles of RoPE settings are accepted (top-level rope_theta/rope_scaling and rope_parameters).
#pragma once

#include "model/config.h"

#include <nlohmann/json_fwd.hpp>
#include <string>

namespace logitscope {

class GgufFile;

// `path` is only used in error messages ("<path>: field: problem").
ModelConfig configFromHfJson(const nlohmann::json& config, const std::string& path);
ModelConfig configFromGguf(const GgufFile& gguf);

} // namespace logitscope
