// Encoding: special-token split -> normalizer -> pre-tokenizer words -> per-word BPE (cached).
// A word starts as one symbol per byte (byte-level) or per character (character-level), then the
// adjacent pair with the lowest merge rank is merged until none is left (leftmost first on ties).
#include "tokenizer/byte_bpe_tokenizer.h"

#include "common/error.h"
#include "tokenizer/utf8.h"

#include <cstdio>
#include <queue>

namespace logitscope {

namespace {

constexpr size_t kCacheLimit = 1u << 18; // words; the cache is cleared when it grows past this

int parseBytePiece(const std::string& p)
{
    if (p.size() != 6 || p.compare(0, 3, "<0x") != 0 || p[5] != '>')
        return -1;
    int v = 0;
    for (size_t k = 3; k < 5; ++k) {
        const char c = p[k];
        v <<= 4;
        if (c >= '0' && c <= '9') v |= c - '0';
        else if (c >= 'A' && c <= 'F') v |= c - 'A' + 10;
        else if (c >= 'a' && c <= 'f') v |= c - 'a' + 10;
        else return -1;
    }
    return v;
}

std::string hexByte(unsigned char b)
{
    char buf[8];
    std::snprintf(buf, sizeof buf, "0x%02X", unsigned(b));
    return buf;
}

} // namespace

std::string ByteBpeTokenizer::pieceBytes(const std::string& piece, TokenKind kind, bool byteLevel, bool byteFallback)
{
    if (kind == TokenKind::Control || kind == TokenKind::Unknown || kind == TokenKind::UserDefined)
        return piece;
    if (byteLevel) {
        std::string out;
        return utf8::byteLevelToBytes(piece, out) ? out : piece;
    }
    if (byteFallback || kind == TokenKind::Byte)
        if (const int b = parseBytePiece(piece); b >= 0)
            return std::string(1, char(b));
    std::string out;
    for (size_t i = 0; i < piece.size();) {
        if (piece.compare(i, 3, "\xE2\x96\x81") == 0) {
            out += ' ';
            i += 3;
        } else {
            out += piece[i++];
        }
    }
    return out;
}

ByteBpeTokenizer::ByteBpeTokenizer(BpeModelData data, TokenizerSettings settings)
    : Tokenizer([&] {
          for (VocabEntry& e : data.vocab)
              if (e.bytes.empty())
                  e.bytes = pieceBytes(e.piece, e.kind, data.byteLevel, data.byteFallback);
          return std::move(data.vocab);
      }(), std::move(settings), data.byteLevel ? "byte-bpe" : "bpe"),
      m_byteLevel(data.byteLevel), m_byteFallback(data.byteFallback), m_ignoreMerges(data.ignoreMerges),
      m_pre(std::move(data.pre)), m_normalizer(std::move(data.normalizer))
{
    m_pieceToId.reserve(m_vocab.size());
    for (int32_t id = 0; id < vocabSize(); ++id)
        m_pieceToId.emplace(m_vocab[size_t(id)].piece, id);

    for (int32_t& id : m_byteIds)
        id = -1;
    if (m_byteLevel) {
        const auto& alphabet = utf8::byteToUnicode();
        for (int b = 0; b < 256; ++b)
            if (auto it = m_pieceToId.find(alphabet[size_t(b)]); it != m_pieceToId.end())
                m_byteIds[b] = it->second;
    } else {
        for (int32_t id = 0; id < vocabSize(); ++id)
            if (const int b = parseBytePiece(m_vocab[size_t(id)].piece); b >= 0 && m_byteIds[b] < 0)
                m_byteIds[b] = id;
    }

    m_ranks.reserve(data.merges.size());
    std::string joined;
    for (size_t i = 0; i < data.merges.size(); ++i) {
        const std::string& a = data.merges[i].first; // not a structured binding: clang 14 cannot capture one
        const std::string& b = data.merges[i].second;
        const auto where = [&] {
            return source() + ": " + data.mergesField + "[" + std::to_string(i) + "] \"" + a + " " + b + "\": ";
        };
        const auto ia = m_pieceToId.find(a);
        if (ia == m_pieceToId.end())
            throw Error(where() + "unknown token \"" + a + "\"");
        const auto ib = m_pieceToId.find(b);
        if (ib == m_pieceToId.end())
            throw Error(where() + "unknown token \"" + b + "\"");
        joined = a + b;
        const auto im = m_pieceToId.find(joined);
        if (im == m_pieceToId.end())
            throw Error(where() + "the merged token \"" + joined + "\" is not in the vocabulary");
        m_ranks.emplace(pairKey(ia->second, ib->second), Merge{int32_t(i), im->second}); // first rank wins
    }
}

std::vector<int32_t> ByteBpeTokenizer::encode(std::string_view text, const EncodeOptions& opt) const
{
    std::vector<int32_t> out;
    out.reserve(text.size() / 4 + 4);
    if (opt.addSpecial && addBos())
        out.push_back(bos());
    std::vector<TextFragment> fragments;
    splitSpecial(text, opt.parseSpecial, fragments);
    for (const TextFragment& f : fragments) {
        if (f.id >= 0)
            out.push_back(f.id);
        else
            encodeSegment(f.text, f.text.data() == text.data(), out);
    }
    if (opt.addSpecial && addEos())
        out.push_back(eos());
    return out;
}

void ByteBpeTokenizer::encodeSegment(std::string_view text, bool first, std::vector<int32_t>& out) const
{
    utf8::forEachValidRun(
        text, [&](std::string_view run, size_t at) { encodeValid(run, first && at == 0, out); },
        [&](unsigned char byte, size_t) { pushInvalidByte(byte, out); });
}

void ByteBpeTokenizer::encodeValid(std::string_view text, bool first, std::vector<int32_t>& out) const
{
    std::vector<std::string> words;
    if (m_normalizer.empty()) {
        m_pre.split(text, first, words);
    } else {
        std::string s(text);
        m_normalizer.apply(s);
        m_pre.split(s, first, words);
    }
    for (const std::string& w : words)
        encodeWord(w, out);
}

void ByteBpeTokenizer::pushInvalidByte(unsigned char b, std::vector<int32_t>& out) const
{
    if (m_byteIds[b] >= 0)
        out.push_back(m_byteIds[b]);
    else if (unk() >= 0)
        out.push_back(unk());
    else
        throw Error(source() + ": cannot encode byte " + hexByte(b)
            + ": the vocabulary has no token for it and no <unk>");
}

void ByteBpeTokenizer::encodeWord(const std::string& word, std::vector<int32_t>& out) const
{
    {
        std::lock_guard lock(m_cacheMutex);
        if (auto it = m_cache.find(word); it != m_cache.end()) {
            out.insert(out.end(), it->second.begin(), it->second.end());
            return;
        }
    }
    const size_t before = out.size();
    mergeWord(word, out);
    std::vector<int32_t> ids(out.begin() + std::ptrdiff_t(before), out.end());
    std::lock_guard lock(m_cacheMutex);
    if (m_cache.size() >= kCacheLimit)
        m_cache.clear();
    m_cache.emplace(word, std::move(ids));
}

void ByteBpeTokenizer::mergeWord(std::string_view word, std::vector<int32_t>& out) const
{
    if (m_ignoreMerges) {
        const auto it = m_byteLevel ? m_pieceToId.find(utf8::bytesToByteLevel(word)) : m_pieceToId.find(std::string(word));
        if (it != m_pieceToId.end()) {
            out.push_back(it->second);
            return;
        }
    }

    struct Symbol {
        int32_t id;
        int32_t prev;
        int32_t next;
        bool alive;
    };
    std::vector<Symbol> sym;
    sym.reserve(word.size());
    const auto addSymbol = [&](int32_t id) {
        const auto n = int32_t(sym.size());
        sym.push_back({id, n - 1, n + 1, true});
    };
    if (m_byteLevel) {
        for (char c : word) {
            const auto b = static_cast<unsigned char>(c);
            if (m_byteIds[b] >= 0)
                addSymbol(m_byteIds[b]);
            else if (unk() >= 0)
                addSymbol(unk());
            else
                throw Error(source() + ": cannot encode byte " + hexByte(b) + ": no byte-level token for it and no <unk>");
        }
    } else {
        for (size_t i = 0; i < word.size();) {
            const size_t n = std::max<size_t>(1, utf8::validSequenceLength(word, i));
            if (auto it = m_pieceToId.find(std::string(word.substr(i, n))); it != m_pieceToId.end()) {
                addSymbol(it->second);
            } else if (m_byteFallback) {
                for (size_t k = 0; k < n; ++k)
                    if (const int32_t id = m_byteIds[static_cast<unsigned char>(word[i + k])]; id >= 0)
                        addSymbol(id);
                    else if (unk() >= 0)
                        addSymbol(unk());
            } else if (unk() >= 0) {
                addSymbol(unk());
            } else {
                throw Error(source() + ": cannot encode \"" + std::string(word.substr(i, n))
                    + "\": not in the vocabulary, no byte fallback and no <unk>");
            }
            i += n;
        }
    }
    if (sym.empty())
        return;
    sym.back().next = -1;

    struct Candidate {
        int32_t rank, left, right, leftId, rightId, merged;
        bool operator>(const Candidate& o) const { return rank != o.rank ? rank > o.rank : left > o.left; }
    };
    std::priority_queue<Candidate, std::vector<Candidate>, std::greater<>> queue;
    const auto consider = [&](int32_t left) {
        if (left < 0)
            return;
        const int32_t right = sym[size_t(left)].next;
        if (right < 0)
            return;
        const auto it = m_ranks.find(pairKey(sym[size_t(left)].id, sym[size_t(right)].id));
        if (it != m_ranks.end())
            queue.push({it->second.rank, left, right, sym[size_t(left)].id, sym[size_t(right)].id, it->second.merged});
    };
    for (int32_t i = 0; i + 1 < int32_t(sym.size()); ++i)
        consider(i);

    while (!queue.empty()) {
        const Candidate c = queue.top();
        queue.pop();
        Symbol& l = sym[size_t(c.left)];
        Symbol& r = sym[size_t(c.right)];
        if (!l.alive || !r.alive || l.next != c.right || l.id != c.leftId || r.id != c.rightId)
            continue; // stale
        l.id = c.merged;
        r.alive = false;
        l.next = r.next;
        if (r.next >= 0)
            sym[size_t(r.next)].prev = c.left;
        consider(l.prev);
        consider(c.left);
    }
    for (int32_t i = 0; i >= 0; i = sym[size_t(i)].next)
        out.push_back(sym[size_t(i)].id);
}

} // namespace logitscope
