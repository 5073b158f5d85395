// Special-token splitting: one pass over the bytes, buckets by first byte, longest match first.
#include "tokenizer/special_tokens.h"

#include <algorithm>

namespace logitscope {

namespace {

bool isSpace(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f'; }

} // namespace

void SpecialTokenMatcher::add(std::string text, int32_t id, bool lstrip, bool rstrip)
{
    if (text.empty())
        return;
    auto& bucket = m_byFirstByte[static_cast<unsigned char>(text[0])];
    for (const Entry& e : bucket)
        if (e.text == text)
            return; // the first id given for a text wins
    bucket.push_back({std::move(text), id, lstrip, rstrip});
    ++m_count;
}

void SpecialTokenMatcher::build()
{
    for (auto& bucket : m_byFirstByte)
        std::stable_sort(bucket.begin(), bucket.end(),
            [](const Entry& a, const Entry& b) { return a.text.size() > b.text.size(); });
}

void SpecialTokenMatcher::split(std::string_view text, std::vector<TextFragment>& out) const
{
    size_t start = 0;
    size_t i = 0;
    while (i < text.size()) {
        const auto& bucket = m_byFirstByte[static_cast<unsigned char>(text[i])];
        const Entry* hit = nullptr;
        for (const Entry& e : bucket) {
            if (text.compare(i, e.text.size(), e.text) == 0) {
                hit = &e;
                break;
            }
        }
        if (!hit) {
            ++i;
            continue;
        }
        size_t end = i;
        if (hit->lstrip)
            while (end > start && isSpace(text[end - 1]))
                --end;
        if (end > start)
            out.push_back({text.substr(start, end - start), -1});
        out.push_back({std::string_view(), hit->id});
        i += hit->text.size();
        if (hit->rstrip)
            while (i < text.size() && isSpace(text[i]))
                ++i;
        start = i;
    }
    if (start < text.size())
        out.push_back({text.substr(start), -1});
}

} // namespace logitscope
