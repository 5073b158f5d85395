// NFC and lowercase via ICU's C API (UTF-8 -> UTF-16 -> rewrite -> UTF-8).
#include "tokenizer/unicode_text.h"

#include <unicode/unorm2.h>
#include <unicode/ustring.h>

#include <vector>

namespace logitscope {

namespace {

bool toUtf16(std::string_view utf8, std::vector<UChar>& out)
{
    UErrorCode status = U_ZERO_ERROR;
    int32_t n = 0;
    u_strFromUTF8(nullptr, 0, &n, utf8.data(), int32_t(utf8.size()), &status);
    if (status != U_BUFFER_OVERFLOW_ERROR && U_FAILURE(status))
        return false;
    out.resize(size_t(n) + 1);
    status = U_ZERO_ERROR;
    u_strFromUTF8(out.data(), int32_t(out.size()), &n, utf8.data(), int32_t(utf8.size()), &status);
    out.resize(size_t(n));
    return U_SUCCESS(status);
}

std::string toUtf8(const std::vector<UChar>& s)
{
    UErrorCode status = U_ZERO_ERROR;
    int32_t n = 0;
    u_strToUTF8(nullptr, 0, &n, s.data(), int32_t(s.size()), &status);
    std::string out(size_t(n), '\0');
    status = U_ZERO_ERROR;
    u_strToUTF8(out.data(), int32_t(out.size()) + 1, &n, s.data(), int32_t(s.size()), &status);
    out.resize(size_t(n));
    return out;
}

// Runs an ICU UTF-16 rewrite with the usual preflight-then-fill protocol.
template <typename F>
std::string rewrite(std::string_view utf8, F f)
{
    std::vector<UChar> in;
    if (!toUtf16(utf8, in))
        return std::string(utf8); // invalid UTF-8: untouched
    std::vector<UChar> out(in.size() * 2 + 8);
    UErrorCode status = U_ZERO_ERROR;
    int32_t n = f(in, out, status);
    if (status == U_BUFFER_OVERFLOW_ERROR) {
        out.resize(size_t(n));
        status = U_ZERO_ERROR;
        n = f(in, out, status);
    }
    if (U_FAILURE(status))
        return std::string(utf8);
    out.resize(size_t(n));
    return toUtf8(out);
}

} // namespace

std::string toNfc(std::string_view utf8)
{
    UErrorCode status = U_ZERO_ERROR;
    const UNormalizer2* nfc = unorm2_getNFCInstance(&status);
    if (U_FAILURE(status))
        return std::string(utf8);
    return rewrite(utf8, [nfc](const std::vector<UChar>& in, std::vector<UChar>& out, UErrorCode& st) {
        return unorm2_normalize(nfc, in.data(), int32_t(in.size()), out.data(), int32_t(out.size()), &st);
    });
}

std::string toLowercase(std::string_view utf8)
{
    return rewrite(utf8, [](const std::vector<UChar>& in, std::vector<UChar>& out, UErrorCode& st) {
        return u_strToLower(out.data(), int32_t(out.size()), in.data(), int32_t(in.size()), "", &st);
    });
}

} // namespace logitscope
