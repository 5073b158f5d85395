// PCRE2 glue. Input is checked for valid UTF-8 by the callers, so matching skips PCRE2's own UTF check.
#define PCRE2_CODE_UNIT_WIDTH 8
#include "tokenizer/regex.h"

#include "common/error.h"
#include "tokenizer/utf8.h"

#include <pcre2.h>

namespace logitscope {

Regex::Regex(const std::string& pattern, bool literal, const std::string& what) : m_pattern(pattern)
{
    int err = 0;
    PCRE2_SIZE offset = 0;
    const uint32_t options = literal ? PCRE2_UTF | PCRE2_LITERAL : PCRE2_UTF | PCRE2_UCP; // LITERAL refuses UCP
    pcre2_code* code = pcre2_compile(reinterpret_cast<PCRE2_SPTR>(pattern.data()), pattern.size(), options, &err,
        &offset, nullptr);
    if (!code) {
        PCRE2_UCHAR msg[256];
        pcre2_get_error_message(err, msg, sizeof msg);
        throw Error(what + ": invalid regex \"" + pattern + "\": " + reinterpret_cast<const char*>(msg)
            + " at offset " + std::to_string(offset));
    }
    pcre2_jit_compile(code, PCRE2_JIT_COMPLETE); // falls back to the interpreter when JIT is unavailable
    m_code = code;
}

Regex::~Regex() { pcre2_code_free(static_cast<pcre2_code*>(m_code)); }

void Regex::findAll(std::string_view s, std::vector<std::pair<size_t, size_t>>& out) const
{
    auto* code = static_cast<pcre2_code*>(m_code);
    pcre2_match_data* md = pcre2_match_data_create_from_pattern(code, nullptr);
    const auto* subject = reinterpret_cast<PCRE2_SPTR>(s.data());
    size_t pos = 0;
    while (pos < s.size()) {
        const int rc = pcre2_match(code, subject, s.size(), pos, PCRE2_NO_UTF_CHECK, md, nullptr);
        if (rc < 0) {
            if (rc == PCRE2_ERROR_NOMATCH)
                break;
            pcre2_match_data_free(md);
            PCRE2_UCHAR msg[256];
            pcre2_get_error_message(rc, msg, sizeof msg);
            throw Error("regex \"" + m_pattern + "\" failed: " + reinterpret_cast<const char*>(msg));
        }
        const PCRE2_SIZE* ov = pcre2_get_ovector_pointer(md);
        const size_t b = ov[0], e = ov[1];
        if (e > b) {
            out.emplace_back(b, e);
            pos = e;
        } else { // an empty match: step over one character
            const size_t n = utf8::validSequenceLength(s, b);
            pos = b + (n ? n : 1);
        }
    }
    pcre2_match_data_free(md);
}

} // namespace logitscope
