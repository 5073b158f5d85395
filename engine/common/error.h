// Error: the one exception type the engine throws for bad input (files, settings, prompts).
// Its message names the file or field and what is wrong; callers show it as is (CLI exit code 2).
// Programming errors are not reported through it.
#pragma once

#include <stdexcept>
#include <string>

namespace logitscope {

class Error : public std::runtime_error {
public:
    explicit Error(const std::string& message) : std::runtime_error(message) {}
};

// Thrown when a long operation was cancelled by the user (not a failure).
class Cancelled : public std::runtime_error {
public:
    Cancelled() : std::runtime_error("cancelled") {}
};

} // namespace logitscope
