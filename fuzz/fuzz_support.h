// Shared pieces of the fuzz targets: a private scratch folder for inputs that the engine only reads
// from files, and the rule every target enforces — bad input may throw logitscope::Error, nothing else.
// Not a test framework: each target is one LLVMFuzzerTestOneInput (libFuzzer, or replay_main.cpp).
#pragma once

#include "common/error.h"

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <string_view>
#include <unistd.h>

namespace logitscope::fuzz {

// A folder of this process's own (RAM-backed when /dev/shm exists), removed at exit.
inline const std::filesystem::path& scratchDir()
{
    static const std::filesystem::path dir = [] {
        namespace fs = std::filesystem;
        const fs::path base = fs::is_directory("/dev/shm") ? fs::path("/dev/shm") : fs::temp_directory_path();
        fs::path d = base / ("logitscope-fuzz-" + std::to_string(::getpid()));
        fs::create_directories(d);
        static const std::string keep = d.string();
        std::atexit([] { std::error_code ec; std::filesystem::remove_all(keep, ec); });
        return d;
    }();
    return dir;
}

// Writes bytes to scratchDir()/name (replacing it) and returns the path.
inline std::string writeScratch(const std::string& name, const uint8_t* data, size_t size)
{
    const std::filesystem::path p = scratchDir() / name;
    std::ofstream out(p, std::ios::binary | std::ios::trunc);
    out.write(reinterpret_cast<const char*>(data), std::streamsize(size));
    return p.string();
}
inline std::string writeScratch(const std::string& name, std::string_view text)
{
    return writeScratch(name, reinterpret_cast<const uint8_t*>(text.data()), text.size());
}

// Runs f; a logitscope::Error is the expected answer to bad input. Any other exception escapes
// and libFuzzer reports it as a crash (a json::type_error or std::bad_alloc is a bug here).
template <typename F>
void expectOnlyErrors(F&& f)
{
    try {
        f();
    } catch (const logitscope::Error&) {
    }
}

// Aborts with a message when an invariant of accepted input does not hold.
inline void require(bool ok, const char* what)
{
    if (!ok) {
        std::fprintf(stderr, "fuzz invariant failed: %s\n", what);
        std::abort();
    }
}

} // namespace logitscope::fuzz
