// UTF-8 string helpers for the Jinja interpreter (see text.h). Invalid UTF-8 bytes pass through as
// single code points of their own value, so no input makes these throw.
#include "tokenizer/jinja/text.h"
#include "tokenizer/utf8.h"

namespace logitscope::jinja::text {

namespace {

uint32_t decode(std::string_view s, size_t& i)
{
    const auto c = uint8_t(s[i]);
    size_t len = c < 0x80 ? 1 : (c >> 5) == 6 ? 2 : (c >> 4) == 14 ? 3 : (c >> 3) == 30 ? 4 : 1;
    if (i + len > s.size())
        len = 1;
    for (size_t k = 1; k < len; ++k)
        if ((uint8_t(s[i + k]) & 0xC0) != 0x80)
            len = 1;
    uint32_t cp = len == 1 ? c : len == 2 ? (c & 0x1F) : len == 3 ? (c & 0x0F) : (c & 0x07);
    for (size_t k = 1; k < len; ++k)
        cp = (cp << 6) | (uint8_t(s[i + k]) & 0x3F);
    i += len;
    return len == 1 && c >= 0x80 ? 0x80000000u | c : cp; // a stray byte keeps its identity
}

void encode(uint32_t cp, std::string& out)
{
    if (cp & 0x80000000u)
        out += char(cp & 0xFF); // a stray byte goes back as it came
    else
        utf8::append(out, cp);
}

} // namespace

bool isSpace(uint32_t cp)
{
    if (cp <= 32)
        return cp == 32 || (cp >= 9 && cp <= 13);
    return cp == 0xA0 || cp == 0x1680 || (cp >= 0x2000 && cp <= 0x200A) || cp == 0x2028 || cp == 0x2029
        || cp == 0x202F || cp == 0x205F || cp == 0x3000 || cp == 0xFEFF;
}

std::vector<uint32_t> codepoints(std::string_view s)
{
    std::vector<uint32_t> out;
    out.reserve(s.size());
    for (size_t i = 0; i < s.size();)
        out.push_back(decode(s, i));
    return out;
}

std::string fromCodepoints(const std::vector<uint32_t>& cps, size_t begin, size_t end)
{
    std::string out;
    for (size_t k = begin; k < end && k < cps.size(); ++k)
        encode(cps[k], out);
    return out;
}

std::vector<std::string> characters(std::string_view s)
{
    std::vector<std::string> out;
    for (size_t i = 0; i < s.size();) {
        const size_t start = i;
        decode(s, i);
        out.emplace_back(s.substr(start, i - start));
    }
    return out;
}

std::string stripChars(std::string_view s, std::string_view chars, bool left, bool right)
{
    const auto set = codepoints(chars);
    const auto cps = codepoints(s);
    const auto in = [&](uint32_t cp) {
        if (chars.data() == nullptr)
            return isSpace(cp);
        for (uint32_t c : set)
            if (c == cp)
                return true;
        return false;
    };
    size_t b = 0, e = cps.size();
    if (left)
        while (b < e && in(cps[b]))
            ++b;
    if (right)
        while (e > b && in(cps[e - 1]))
            --e;
    return fromCodepoints(cps, b, e);
}

std::string trimEnd(std::string_view s) { return stripChars(s, std::string_view(), false, true); }
std::string trimStart(std::string_view s) { return stripChars(s, std::string_view(), true, false); }
std::string trim(std::string_view s) { return stripChars(s, std::string_view(), true, true); }

std::string upper(std::string_view s)
{
    std::string out(s);
    for (char& c : out)
        if (c >= 'a' && c <= 'z')
            c = char(c - 32);
    return out;
}

std::string lower(std::string_view s)
{
    std::string out(s);
    for (char& c : out)
        if (c >= 'A' && c <= 'Z')
            c = char(c + 32);
    return out;
}

std::string title(std::string_view s)
{
    std::string out(s);
    bool prevCased = false;
    for (char& c : out) {
        const bool isLower = c >= 'a' && c <= 'z', isUpper = c >= 'A' && c <= 'Z';
        if (isLower && !prevCased)
            c = char(c - 32);
        else if (isUpper && prevCased)
            c = char(c + 32);
        prevCased = isLower || isUpper;
    }
    return out;
}

std::string capitalize(std::string_view s)
{
    std::string out = lower(s);
    if (!out.empty() && out[0] >= 'a' && out[0] <= 'z')
        out[0] = char(out[0] - 32);
    return out;
}

} // namespace logitscope::jinja::text
