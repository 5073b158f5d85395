// Normalizer steps run in order over the whole text segment.
#include "tokenizer/normalizer.h"

#include "tokenizer/unicode_text.h"

#include <utility>

namespace logitscope {

void Normalizer::addPrepend(std::string prefix) { m_steps.push_back({Kind::Prepend, std::move(prefix), {}, {}}); }

void Normalizer::addReplace(std::string pattern, bool literal, std::string content, const std::string& field)
{
    Step s{Kind::Replace, {}, std::move(content), std::make_shared<Regex>(pattern, literal, field)};
    m_steps.push_back(std::move(s));
}

void Normalizer::addLowercase() { m_steps.push_back({Kind::Lowercase, {}, {}, {}}); }

void Normalizer::addStrip(bool left, bool right)
{
    Step s{Kind::Strip, {}, {}, {}};
    s.left = left;
    s.right = right;
    m_steps.push_back(std::move(s));
}

void Normalizer::addNfc() { m_steps.push_back({Kind::Nfc, {}, {}, {}}); }

void Normalizer::apply(std::string& text) const
{
    std::vector<std::pair<size_t, size_t>> matches;
    for (const Step& s : m_steps) {
        switch (s.kind) {
        case Kind::Prepend:
            if (!text.empty())
                text.insert(0, s.a);
            break;
        case Kind::Replace: {
            matches.clear();
            s.regex->findAll(text, matches);
            if (matches.empty())
                break;
            std::string out;
            size_t pos = 0;
            for (const auto& [b, e] : matches) {
                out.append(text, pos, b - pos);
                out += s.b;
                pos = e;
            }
            out.append(text, pos);
            text.swap(out);
            break;
        }
        case Kind::Lowercase:
            text = toLowercase(text);
            break;
        case Kind::Strip: {
            const auto space = [](char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; };
            size_t b = 0, e = text.size();
            if (s.left)
                while (b < e && space(text[b]))
                    ++b;
            if (s.right)
                while (e > b && space(text[e - 1]))
                    --e;
            text = text.substr(b, e - b);
            break;
        }
        case Kind::Nfc:
            text = toNfc(text);
            break;
        }
    }
}

} // namespace logitscope
