// StreamingDetokenizer: turns token ids, fed one at a time during generation, into text that is only
// ever emitted as complete UTF-8 characters; plus helpers to show raw bytes ("0xE2 0x96") and to label a
// token whose bytes are part of a character ("<0xE2>" chips in the GUI).
// Not a tokenizer: it reads Tokenizer::tokenBytes() and nothing else.
#pragma once

#include "tokenizer/tokenizer.h"

#include <string>
#include <string_view>

namespace logitscope {

class StreamingDetokenizer {
public:
    // skipSpecial: special tokens (BOS, EOS, control tokens) contribute nothing.
    explicit StreamingDetokenizer(const Tokenizer& tokenizer, bool skipSpecial = true);

    struct Step {
        std::string text;        // complete characters released by this token (may be empty)
        bool incomplete = false; // this token left bytes waiting for the rest of a character
    };

    // Feeds one id. Bytes that can never become valid UTF-8 are released as U+FFFD.
    Step push(int32_t id);
    // Releases whatever is still held (an unfinished character becomes U+FFFD) and resets.
    std::string flush();
    void reset() { m_pending.clear(); }

    const std::string& pendingBytes() const { return m_pending; }

private:
    const Tokenizer& m_tokenizer;
    bool m_skipSpecial;
    std::string m_pending;
};

// "0x20 0x54 0x68": each byte as 0xNN, space separated.
std::string formatBytes(std::string_view bytes);

// True when bytes is not valid UTF-8 on its own (a token holding part of a multi-byte character).
bool isPartialUtf8(std::string_view bytes);

// Text to show for a token: its bytes when they are valid UTF-8, otherwise the valid characters with
// each stray byte written as "<0xE2>".
std::string displayTokenBytes(std::string_view bytes);

} // namespace logitscope
