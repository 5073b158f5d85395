// UTF-8 helpers for the tokenizers: validity, code point decoding, and GPT-2's byte <-> unicode map.
// Not a Unicode library: no normalisation tables or character classes (PCRE2 provides those).
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>

namespace logitscope::utf8 {

// Length in bytes of the valid UTF-8 sequence that starts at s[pos], or 0 when the bytes there are not
// valid UTF-8 (bad lead byte, truncated, overlong, surrogate or beyond U+10FFFF).
size_t validSequenceLength(std::string_view s, size_t pos);

// Length of the longest prefix of s[pos..] that could still become a valid sequence when more bytes
// arrive (1..3), or 0 when s[pos..] is a complete sequence or cannot be completed.
size_t incompleteSequenceLength(std::string_view s, size_t pos);

bool isValid(std::string_view s);

// Walks s as maximal runs of valid UTF-8 and the single bytes between them that are not: in order,
// valid(run, offset) for each run and invalid(byte, offset) for each such byte. How the tokenizers
// give invalid input its byte tokens while the valid text around it is tokenized normally.
template <class Valid, class Invalid>
void forEachValidRun(std::string_view s, Valid&& valid, Invalid&& invalid)
{
    size_t runStart = 0;
    for (size_t i = 0; i < s.size();) {
        if (static_cast<unsigned char>(s[i]) < 0x80) {
            ++i;
            continue;
        }
        if (const size_t n = validSequenceLength(s, i)) {
            i += n;
            continue;
        }
        if (i > runStart)
            valid(s.substr(runStart, i - runStart), runStart);
        invalid(static_cast<unsigned char>(s[i]), i);
        runStart = ++i;
    }
    if (runStart < s.size())
        valid(s.substr(runStart), runStart);
}

// Decodes the valid sequence at s[pos] (caller checked validSequenceLength > 0).
uint32_t decodeAt(std::string_view s, size_t pos, size_t len);

void append(std::string& out, uint32_t cp);

// GPT-2 byte-level alphabet: every byte maps to one printable code point ("Ġ" for 0x20).
const std::array<std::string, 256>& byteToUnicode();
// Inverse of byteToUnicode(): code point -> byte, or -1 when the code point is not in the alphabet.
int unicodeToByte(uint32_t cp);

// Maps raw bytes to the byte-level alphabet ("Hi there" -> "HiĠthere").
std::string bytesToByteLevel(std::string_view bytes);
// Maps byte-level text back to bytes; false when a character is outside the alphabet.
bool byteLevelToBytes(std::string_view text, std::string& out);

} // namespace logitscope::utf8
