// Regex: a PCRE2 pattern compiled once in UTF + UCP mode (so \p{L}, \p{N}, \s and \w are Unicode-aware)
// and JIT-compiled when the platform allows. Matching is const and thread-safe.
// Not a general regex wrapper: it only finds all non-overlapping matches, which is what splitting needs.
#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace logitscope {

class Regex {
public:
    // literal: the pattern is plain text (tokenizer.json {"String": ...}). what: names the field in errors.
    Regex(const std::string& pattern, bool literal, const std::string& what);
    ~Regex();
    Regex(const Regex&) = delete;
    Regex& operator=(const Regex&) = delete;

    // Appends [begin, end) of every non-empty, non-overlapping match in s (valid UTF-8), left to right.
    void findAll(std::string_view s, std::vector<std::pair<size_t, size_t>>& out) const;

    const std::string& pattern() const { return m_pattern; }

private:
    std::string m_pattern;
    void* m_code = nullptr; // pcre2_code_8*
};

} // namespace logitscope
