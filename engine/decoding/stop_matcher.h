// StopMatcher: finds stop strings in a lane's decoded text as it streams in piece by piece, across token
// boundaries. It releases only text that can no longer be the start of a stop string (so a stream never
// shows half a stop string) nor half a UTF-8 character, and on a match cuts the text before the stop.
// Works on bytes of decoded text; not a tokenizer and not the EOS/length rules (see finish_reason.h).
#pragma once

#include "decoding/finish_reason.h"

#include <string>
#include <string_view>
#include <vector>

namespace logitscope {

// What one feed() released.
struct StopFeed {
    std::string text;      // newly releasable text (may be empty while a possible stop is held back)
    bool stopped = false;  // a stop string matched (now or earlier)
    int stopIndex = -1;    // which of the stop strings, when stopped
};

class StopMatcher {
public:
    StopMatcher() = default;
    explicit StopMatcher(std::vector<std::string> stops);

    // Appends one decoded piece. After a match every further piece is ignored.
    StopFeed feed(std::string_view piece);
    // End of generation without a match: releases whatever was held back.
    std::string flush();
    void reset();

    bool stopped() const { return m_stopIndex >= 0; }
    int stopIndex() const { return m_stopIndex; }
    const std::string& stopString() const;
    // All text released so far; after a match, the whole text before the stop string.
    const std::string& text() const { return m_text; }
    // Bytes currently held back.
    const std::string& pending() const { return m_pending; }
    const std::vector<std::string>& stops() const { return m_stops; }

private:
    std::vector<std::string> m_stops;
    std::string m_pending; // received but not released
    std::string m_text;    // released
    int m_stopIndex = -1;
};

} // namespace logitscope
