// UTF-8 validation per RFC 3629 (no overlongs, no surrogates) and the GPT-2 byte alphabet.
#include "tokenizer/utf8.h"

namespace logitscope::utf8 {

namespace {

// The valid ranges of the second byte for each lead byte (the rest are always 0x80..0xBF).
bool secondByteOk(unsigned char lead, unsigned char b)
{
    if (lead == 0xE0) return b >= 0xA0 && b <= 0xBF;
    if (lead == 0xED) return b >= 0x80 && b <= 0x9F;
    if (lead == 0xF0) return b >= 0x90 && b <= 0xBF;
    if (lead == 0xF4) return b >= 0x80 && b <= 0x8F;
    return b >= 0x80 && b <= 0xBF;
}

size_t expectedLength(unsigned char lead)
{
    if (lead < 0x80) return 1;
    if (lead >= 0xC2 && lead <= 0xDF) return 2;
    if (lead >= 0xE0 && lead <= 0xEF) return 3;
    if (lead >= 0xF0 && lead <= 0xF4) return 4;
    return 0;
}

struct ByteLevelTables {
    std::array<std::string, 256> toUnicode;
    std::array<int16_t, 324> toByte; // the alphabet's code points are all below 0x144
    ByteLevelTables()
    {
        toByte.fill(-1);
        int extra = 0;
        for (int b = 0; b < 256; ++b) {
            const bool printable = (b >= 0x21 && b <= 0x7E) || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF);
            const uint32_t cp = printable ? uint32_t(b) : uint32_t(256 + extra++);
            append(toUnicode[b], cp);
            toByte[cp] = int16_t(b);
        }
    }
};

const ByteLevelTables& tables()
{
    static const ByteLevelTables t;
    return t;
}

} // namespace

size_t validSequenceLength(std::string_view s, size_t pos)
{
    const auto lead = static_cast<unsigned char>(s[pos]);
    const size_t n = expectedLength(lead);
    if (n <= 1 || pos + n > s.size())
        return n == 1 ? 1 : 0;
    if (!secondByteOk(lead, static_cast<unsigned char>(s[pos + 1])))
        return 0;
    for (size_t k = 2; k < n; ++k)
        if ((static_cast<unsigned char>(s[pos + k]) & 0xC0) != 0x80)
            return 0;
    return n;
}

size_t incompleteSequenceLength(std::string_view s, size_t pos)
{
    const auto lead = static_cast<unsigned char>(s[pos]);
    const size_t n = expectedLength(lead);
    const size_t have = s.size() - pos;
    if (n <= 1 || have >= n)
        return 0;
    if (have >= 2 && !secondByteOk(lead, static_cast<unsigned char>(s[pos + 1])))
        return 0;
    for (size_t k = 2; k < have; ++k)
        if ((static_cast<unsigned char>(s[pos + k]) & 0xC0) != 0x80)
            return 0;
    return have;
}

bool isValid(std::string_view s)
{
    for (size_t i = 0; i < s.size();) {
        if (static_cast<unsigned char>(s[i]) < 0x80) { ++i; continue; }
        const size_t n = validSequenceLength(s, i);
        if (n == 0)
            return false;
        i += n;
    }
    return true;
}

uint32_t decodeAt(std::string_view s, size_t pos, size_t len)
{
    const auto b = [&](size_t k) { return uint32_t(static_cast<unsigned char>(s[pos + k])); };
    switch (len) {
    case 1: return b(0);
    case 2: return ((b(0) & 0x1F) << 6) | (b(1) & 0x3F);
    case 3: return ((b(0) & 0x0F) << 12) | ((b(1) & 0x3F) << 6) | (b(2) & 0x3F);
    default: return ((b(0) & 0x07) << 18) | ((b(1) & 0x3F) << 12) | ((b(2) & 0x3F) << 6) | (b(3) & 0x3F);
    }
}

void append(std::string& out, uint32_t cp)
{
    if (cp < 0x80) {
        out += char(cp);
    } else if (cp < 0x800) {
        out += char(0xC0 | (cp >> 6));
        out += char(0x80 | (cp & 0x3F));
    } else if (cp < 0x10000) {
        out += char(0xE0 | (cp >> 12));
        out += char(0x80 | ((cp >> 6) & 0x3F));
        out += char(0x80 | (cp & 0x3F));
    } else {
        out += char(0xF0 | (cp >> 18));
        out += char(0x80 | ((cp >> 12) & 0x3F));
        out += char(0x80 | ((cp >> 6) & 0x3F));
        out += char(0x80 | (cp & 0x3F));
    }
}

const std::array<std::string, 256>& byteToUnicode() { return tables().toUnicode; }

int unicodeToByte(uint32_t cp)
{
    return cp < tables().toByte.size() ? tables().toByte[cp] : -1;
}

std::string bytesToByteLevel(std::string_view bytes)
{
    const auto& map = byteToUnicode();
    std::string out;
    out.reserve(bytes.size() * 2);
    for (char c : bytes)
        out += map[static_cast<unsigned char>(c)];
    return out;
}

bool byteLevelToBytes(std::string_view text, std::string& out)
{
    out.clear();
    for (size_t i = 0; i < text.size();) {
        const size_t n = validSequenceLength(text, i);
        if (n == 0)
            return false;
        const int b = unicodeToByte(decodeAt(text, i, n));
        if (b < 0)
            return false;
        out += char(b);
        i += n;
    }
    return true;
}

} // namespace logitscope::utf8
