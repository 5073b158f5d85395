// StopMatcher (see stop_matcher.h).
#include "decoding/stop_matcher.h"

#include <algorithm>

namespace logitscope {

namespace {

// Length of the longest suffix of `text` that is a proper prefix of `stop`.
size_t partialStopSuffix(std::string_view text, std::string_view stop)
{
    const size_t most = std::min(text.size(), stop.size() - 1);
    for (size_t len = most; len > 0; --len)
        if (text.substr(text.size() - len) == stop.substr(0, len))
            return len;
    return 0;
}

// Bytes at the end of `text` that start a UTF-8 character not complete yet (0..3).
size_t incompleteUtf8Tail(std::string_view text)
{
    const size_t n = text.size();
    for (size_t back = 1; back <= std::min<size_t>(3, n); ++back) {
        const unsigned char c = static_cast<unsigned char>(text[n - back]);
        if ((c & 0xC0) == 0x80)
            continue; // continuation byte: look further back for the lead
        size_t need = 1;
        if ((c & 0xE0) == 0xC0) need = 2;
        else if ((c & 0xF0) == 0xE0) need = 3;
        else if ((c & 0xF8) == 0xF0) need = 4;
        return need > back ? back : 0;
    }
    return 0;
}

} // namespace

StopMatcher::StopMatcher(std::vector<std::string> stops) : m_stops(std::move(stops))
{
    m_stops.erase(std::remove(m_stops.begin(), m_stops.end(), std::string()), m_stops.end());
}

const std::string& StopMatcher::stopString() const
{
    static const std::string empty;
    return m_stopIndex >= 0 ? m_stops[size_t(m_stopIndex)] : empty;
}

void StopMatcher::reset()
{
    m_pending.clear();
    m_text.clear();
    m_stopIndex = -1;
}

StopFeed StopMatcher::feed(std::string_view piece)
{
    StopFeed out;
    if (stopped()) {
        out.stopped = true;
        out.stopIndex = m_stopIndex;
        return out;
    }
    m_pending.append(piece);
    // A stop can only start inside the pending text: anything that could begin one was held back.
    size_t bestPos = std::string::npos;
    int best = -1;
    for (size_t i = 0; i < m_stops.size(); ++i) {
        const size_t pos = m_pending.find(m_stops[i]);
        if (pos != std::string::npos && pos < bestPos) {
            bestPos = pos;
            best = int(i);
        }
    }
    if (best >= 0) {
        out.text = m_pending.substr(0, bestPos);
        m_text += out.text;
        m_pending.clear();
        m_stopIndex = best;
        out.stopped = true;
        out.stopIndex = best;
        return out;
    }
    size_t hold = 0;
    for (const std::string& stop : m_stops)
        hold = std::max(hold, partialStopSuffix(m_pending, stop));
    const size_t releasable = m_pending.size() - hold;
    const size_t cut = releasable - incompleteUtf8Tail(std::string_view(m_pending).substr(0, releasable));
    out.text = m_pending.substr(0, cut);
    m_text += out.text;
    m_pending.erase(0, cut);
    return out;
}

std::string StopMatcher::flush()
{
    if (stopped())
        return {};
    std::string out = std::move(m_pending);
    m_pending.clear();
    m_text += out;
    return out;
}

} // namespace logitscope
