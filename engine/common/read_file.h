// readFile: a whole file's bytes, for the small text formats (tokenizer.json, configs, a text to score).
// Model weights are mapped instead (formats/mapped_file.h).
#pragma once

#include <string>

namespace logitscope {

// Throws Error naming the file when it cannot be opened or read.
std::string readFile(const std::string& path);

} // namespace logitscope
