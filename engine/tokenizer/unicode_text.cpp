// NFC and lowercase via ICU's C API (UTF-8 -> UTF-16 -> rewrite -> UTF-8). ASCII text, which both
// leave as it is (NFC) or lowercase byte by byte, skips ICU; builds without ICU stop there.
#include "tokenizer/unicode_text.h"

#include "common/error.h"

#include <algorithm>

#ifdef LOGITSCOPE_HAVE_ICU
#include <unicode/unorm2.h>
#include <unicode/ustring.h>

#include <vector>
#endif

namespace logitscope {

namespace {

bool isAscii(std::string_view s)
{
    return std::all_of(s.begin(), s.end(), [](char c) { return (static_cast<unsigned char>(c) & 0x80) == 0; });
}

#ifdef LOGITSCOPE_HAVE_ICU

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

#endif

} // namespace

std::string toNfc(std::string_view utf8)
{
    if (isAscii(utf8))
        return std::string(utf8);
#ifndef LOGITSCOPE_HAVE_ICU
    throw Error("NFC normalization of non-ASCII text needs ICU, and this build has none (LOGITSCOPE_ICU=OFF)");
#else
    UErrorCode status = U_ZERO_ERROR;
    const UNormalizer2* nfc = unorm2_getNFCInstance(&status);
    if (U_FAILURE(status))
        return std::string(utf8);
    return rewrite(utf8, [nfc](const std::vector<UChar>& in, std::vector<UChar>& out, UErrorCode& st) {
        return unorm2_normalize(nfc, in.data(), int32_t(in.size()), out.data(), int32_t(out.size()), &st);
    });
#endif
}

std::string toLowercase(std::string_view utf8)
{
    if (isAscii(utf8)) {
        std::string out(utf8);
        for (char& c : out)
            if (c >= 'A' && c <= 'Z')
                c = char(c - 'A' + 'a');
        return out;
    }
#ifndef LOGITSCOPE_HAVE_ICU
    throw Error("lowercasing non-ASCII text needs ICU, and this build has none (LOGITSCOPE_ICU=OFF)");
#else
    return rewrite(utf8, [](const std::vector<UChar>& in, std::vector<UChar>& out, UErrorCode& st) {
        return u_strToLower(out.data(), int32_t(out.size()), in.data(), int32_t(in.size()), "", &st);
    });
#endif
}

} // namespace logitscope
