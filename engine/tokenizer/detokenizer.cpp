// The streaming rule: append the token's bytes, release the longest prefix that ends on a character
// boundary, keep a trailing sequence that is still a valid start of a character.
#include "tokenizer/detokenizer.h"

#include "tokenizer/utf8.h"

#include <cstdio>

namespace logitscope {

namespace {

const char* const kReplacement = "\xEF\xBF\xBD";

} // namespace

StreamingDetokenizer::StreamingDetokenizer(const Tokenizer& tokenizer, bool skipSpecial)
    : m_tokenizer(tokenizer), m_skipSpecial(skipSpecial)
{
}

StreamingDetokenizer::Step StreamingDetokenizer::push(int32_t id)
{
    Step step;
    if (m_skipSpecial && m_tokenizer.isSpecial(id))
        return step;
    m_pending += m_tokenizer.tokenBytes(id);
    size_t i = 0;
    while (i < m_pending.size()) {
        const size_t n = utf8::validSequenceLength(m_pending, i);
        if (n > 0) {
            step.text.append(m_pending, i, n);
            i += n;
        } else if (utf8::incompleteSequenceLength(m_pending, i) > 0) {
            break; // wait for the rest of this character
        } else {
            step.text += kReplacement;
            ++i;
        }
    }
    m_pending.erase(0, i);
    step.incomplete = !m_pending.empty();
    return step;
}

std::string StreamingDetokenizer::flush()
{
    // An unfinished character is one replacement character, not one per byte.
    std::string out = m_pending.empty() ? std::string() : std::string(kReplacement);
    m_pending.clear();
    return out;
}

std::string formatBytes(std::string_view bytes)
{
    std::string out;
    out.reserve(bytes.size() * 5);
    char buf[8];
    for (size_t i = 0; i < bytes.size(); ++i) {
        std::snprintf(buf, sizeof buf, "0x%02X", unsigned(static_cast<unsigned char>(bytes[i])));
        if (i)
            out += ' ';
        out += buf;
    }
    return out;
}

bool isPartialUtf8(std::string_view bytes) { return !utf8::isValid(bytes); }

std::string displayTokenBytes(std::string_view bytes)
{
    std::string out;
    char buf[8];
    for (size_t i = 0; i < bytes.size();) {
        if (const size_t n = utf8::validSequenceLength(bytes, i)) {
            out.append(bytes.substr(i, n));
            i += n;
        } else {
            std::snprintf(buf, sizeof buf, "<0x%02X>", unsigned(static_cast<unsigned char>(bytes[i])));
            out += buf;
            ++i;
        }
    }
    return out;
}

} // namespace logitscope
