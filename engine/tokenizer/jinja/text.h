// UTF-8 string helpers for the Jinja interpreter: code points, whitespace (JavaScript's set, which the
// reference implementation trims with), ASCII case mapping. Not a Unicode library: case mapping is ASCII.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace logitscope::jinja::text {

bool isSpace(uint32_t cp); // ASCII 9-13 and 32, NBSP, the Unicode spaces, line/paragraph separators, BOM
std::vector<uint32_t> codepoints(std::string_view s);
std::string fromCodepoints(const std::vector<uint32_t>& cps, size_t begin, size_t end);
std::vector<std::string> characters(std::string_view s); // one string per code point

std::string trimEnd(std::string_view s);
std::string trimStart(std::string_view s);
std::string trim(std::string_view s);
// Strips the given characters (code points) from the ends, as Python's str.strip(chars).
std::string stripChars(std::string_view s, std::string_view chars, bool left, bool right);

std::string upper(std::string_view s);
std::string lower(std::string_view s);
std::string title(std::string_view s);      // Python str.title (ASCII letters)
std::string capitalize(std::string_view s); // Python str.capitalize (ASCII letters)

} // namespace logitscope::jinja::text
