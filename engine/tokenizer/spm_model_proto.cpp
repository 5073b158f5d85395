// Field numbers follow sentencepiece_model.proto: ModelProto{pieces=1, trainer_spec=2, normalizer_spec=3},
// SentencePiece{piece=1, score=2, type=3}, TrainerSpec{model_type=3, vocab_size=4, byte_fallback=35,
// unk_id=40, bos_id=41, eos_id=42, pad_id=43}, NormalizerSpec{name=1, precompiled_charsmap=2,
// add_dummy_prefix=3, remove_extra_whitespaces=4, escape_whitespaces=5}.
#include "tokenizer/spm_model_proto.h"

#include "common/error.h"

#include <cstdint>
#include <cstring>

namespace logitscope {

namespace {

enum WireType : uint32_t { Varint = 0, Fixed64 = 1, Bytes = 2, Fixed32 = 5 };

// ---- writing ----

void putVarint(std::string& out, uint64_t v)
{
    while (v >= 0x80) {
        out += char(uint8_t(v) | 0x80);
        v >>= 7;
    }
    out += char(uint8_t(v));
}

void putTag(std::string& out, uint32_t field, WireType wt) { putVarint(out, (uint64_t(field) << 3) | wt); }

void putInt(std::string& out, uint32_t field, int64_t v)
{
    putTag(out, field, Varint);
    putVarint(out, uint64_t(v)); // negative int32 values take 10 bytes, as protobuf writes them
}

void putBytes(std::string& out, uint32_t field, std::string_view s)
{
    putTag(out, field, Bytes);
    putVarint(out, s.size());
    out += s;
}

void putFloat(std::string& out, uint32_t field, float f)
{
    putTag(out, field, Fixed32);
    char b[4];
    std::memcpy(b, &f, 4);
    out.append(b, 4);
}

// ---- reading ----

struct Field {
    uint32_t number = 0;
    WireType type = Varint;
    uint64_t value = 0;       // Varint, Fixed32, Fixed64
    std::string_view bytes;   // Bytes
    std::string_view raw;     // the whole field, tag included
};

class Reader {
public:
    Reader(std::string_view data, const std::string& source, const char* message)
        : m_data(data), m_source(source), m_message(message) {}

    bool next(Field& f)
    {
        if (m_pos >= m_data.size())
            return false;
        const size_t start = m_pos;
        const uint64_t tag = varint();
        f.number = uint32_t(tag >> 3);
        f.type = WireType(tag & 7);
        switch (f.type) {
        case Varint: f.value = varint(); break;
        case Fixed64: f.value = fixed(8); break;
        case Fixed32: f.value = fixed(4); break;
        case Bytes: {
            const uint64_t n = varint();
            if (n > m_data.size() - m_pos)
                fail("a length-delimited field runs past the end");
            f.bytes = m_data.substr(m_pos, size_t(n));
            m_pos += size_t(n);
            break;
        }
        default: fail("unsupported wire type " + std::to_string(uint32_t(f.type)));
        }
        f.raw = m_data.substr(start, m_pos - start);
        return true;
    }

    [[noreturn]] void fail(const std::string& what) const
    {
        throw Error(m_source + ": invalid SentencePiece model: " + m_message + ": " + what + " (at byte "
            + std::to_string(m_pos) + ")");
    }

private:
    uint64_t varint()
    {
        uint64_t v = 0;
        for (int shift = 0; shift < 64; shift += 7) {
            if (m_pos >= m_data.size())
                fail("truncated varint");
            const auto b = uint8_t(m_data[m_pos++]);
            v |= uint64_t(b & 0x7F) << shift;
            if (!(b & 0x80))
                return v;
        }
        fail("varint longer than 10 bytes");
    }
    uint64_t fixed(size_t n)
    {
        if (n > m_data.size() - m_pos)
            fail("truncated fixed-width field");
        uint64_t v = 0;
        std::memcpy(&v, m_data.data() + m_pos, n);
        m_pos += n;
        return v;
    }

    std::string_view m_data;
    const std::string& m_source;
    const char* m_message;
    size_t m_pos = 0;
};

} // namespace

std::string serializeSpmModel(const SpmModelSpec& spec)
{
    std::string out;
    out.reserve(spec.pieces.size() * 16 + 256);
    std::string msg;
    for (const SpmPiece& p : spec.pieces) {
        msg.clear();
        putBytes(msg, 1, p.piece);
        putFloat(msg, 2, p.score);
        putInt(msg, 3, int(p.type));
        putBytes(out, 1, msg);
    }

    std::string trainer;
    putInt(trainer, 3, spec.modelType);
    putInt(trainer, 4, int64_t(spec.pieces.size()));
    putInt(trainer, 35, spec.byteFallback ? 1 : 0);
    putInt(trainer, 40, spec.unkId);
    putInt(trainer, 41, spec.bosId);
    putInt(trainer, 42, spec.eosId);
    putInt(trainer, 43, spec.padId);
    putBytes(out, 2, trainer);

    std::string normalizer;
    putBytes(normalizer, 1, spec.normalizerName);
    putInt(normalizer, 3, spec.addDummyPrefix ? 1 : 0);
    putInt(normalizer, 4, spec.removeExtraWhitespaces ? 1 : 0);
    putInt(normalizer, 5, spec.escapeWhitespaces ? 1 : 0);
    putBytes(out, 3, normalizer);
    return out;
}

SpmModelSpec parseSpmModel(std::string_view bytes, const std::string& source)
{
    SpmModelSpec spec;
    spec.modelType = 1;                  // protobuf defaults of the real schema
    spec.removeExtraWhitespaces = true;
    spec.normalizerName.clear();
    Reader top(bytes, source, "ModelProto");
    Field f;
    while (top.next(f)) {
        if (f.number == 1 && f.type == Bytes) {
            SpmPiece p;
            Reader r(f.bytes, source, "ModelProto.pieces");
            Field g;
            while (r.next(g)) {
                if (g.number == 1 && g.type == Bytes)
                    p.piece = std::string(g.bytes);
                else if (g.number == 2 && g.type == Fixed32) {
                    const auto u = uint32_t(g.value);
                    std::memcpy(&p.score, &u, 4);
                } else if (g.number == 3 && g.type == Varint) {
                    if (g.value < 1 || g.value > 6)
                        r.fail("piece " + std::to_string(spec.pieces.size()) + " has unknown type "
                            + std::to_string(g.value));
                    p.type = SpmPieceType(int(g.value));
                }
            }
            spec.pieces.push_back(std::move(p));
        } else if (f.number == 2 && f.type == Bytes) {
            Reader r(f.bytes, source, "ModelProto.trainer_spec");
            Field g;
            while (r.next(g)) {
                if (g.type != Varint)
                    continue;
                const int v = int(int64_t(g.value));
                switch (g.number) {
                case 3: spec.modelType = v; break;
                case 35: spec.byteFallback = g.value != 0; break;
                case 40: spec.unkId = v; break;
                case 41: spec.bosId = v; break;
                case 42: spec.eosId = v; break;
                case 43: spec.padId = v; break;
                default: break;
                }
            }
        } else if (f.number == 3 && f.type == Bytes) {
            Reader r(f.bytes, source, "ModelProto.normalizer_spec");
            Field g;
            while (r.next(g)) {
                if (g.number == 1 && g.type == Bytes) spec.normalizerName = std::string(g.bytes);
                else if (g.number == 2 && g.type == Bytes) spec.hasCharsmap = !g.bytes.empty();
                else if (g.number == 3 && g.type == Varint) spec.addDummyPrefix = g.value != 0;
                else if (g.number == 4 && g.type == Varint) spec.removeExtraWhitespaces = g.value != 0;
                else if (g.number == 5 && g.type == Varint) spec.escapeWhitespaces = g.value != 0;
            }
        }
    }
    if (spec.pieces.empty())
        throw Error(source + ": invalid SentencePiece model: ModelProto.pieces is empty");
    return spec;
}

std::string withAddDummyPrefix(std::string_view bytes, bool value, const std::string& source)
{
    std::string out;
    out.reserve(bytes.size() + 8);
    bool done = false;
    Reader top(bytes, source, "ModelProto");
    Field f;
    while (top.next(f)) {
        if (f.number != 3 || f.type != Bytes) {
            out += f.raw;
            continue;
        }
        std::string normalizer;
        Reader r(f.bytes, source, "ModelProto.normalizer_spec");
        Field g;
        while (r.next(g))
            if (g.number != 3)
                normalizer += g.raw;
        putInt(normalizer, 3, value ? 1 : 0);
        putBytes(out, 3, normalizer);
        done = true;
    }
    if (!done) {
        std::string normalizer;
        putInt(normalizer, 3, value ? 1 : 0);
        putBytes(out, 3, normalizer);
    }
    return out;
}

} // namespace logitscope
