// SpecialTokenMatcher: finds special-token text ("<|im_start|>", "<s>") inside a prompt so that each
// occurrence becomes one token; the text between them goes to the segmentation model.
// Not a tokenizer: it knows nothing about pieces other than the ones it was given.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace logitscope {

struct TextFragment {
    std::string_view text; // when id < 0: plain text for the model
    int32_t id = -1;       // when >= 0: one special token
};

class SpecialTokenMatcher {
public:
    void add(std::string text, int32_t id, bool lstrip = false, bool rstrip = false);
    void build(); // call once after the last add()
    bool empty() const { return m_count == 0; }

    // Appends fragments covering text in order; the longest token wins where several match.
    // lstrip / rstrip tokens swallow the ASCII whitespace next to them.
    void split(std::string_view text, std::vector<TextFragment>& out) const;

private:
    struct Entry {
        std::string text;
        int32_t id;
        bool lstrip;
        bool rstrip;
    };
    std::array<std::vector<Entry>, 256> m_byFirstByte;
    size_t m_count = 0;
};

} // namespace logitscope
