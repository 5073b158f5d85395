// SentencePiece ModelProto in protobuf wire format, written and read by hand (no generated code):
// only the fields a tokenizer needs (pieces, model type, byte fallback, special ids, normalizer flags).
// Not a general protobuf library; unknown fields are skipped on reading and kept when rewriting.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace logitscope {

// ModelProto.SentencePiece.Type values.
enum class SpmPieceType : int { Normal = 1, Unknown = 2, Control = 3, UserDefined = 4, Unused = 5, Byte = 6 };

struct SpmPiece {
    std::string piece;
    float score = 0;
    SpmPieceType type = SpmPieceType::Normal;
};

struct SpmModelSpec {
    std::vector<SpmPiece> pieces;
    int modelType = 2;          // TrainerSpec.ModelType: 1 unigram, 2 BPE, 3 word, 4 char
    bool byteFallback = false;
    int unkId = 0, bosId = 1, eosId = 2, padId = -1;
    std::string normalizerName = "identity";
    bool hasCharsmap = false;   // reading only: a precompiled normalisation map is present
    bool addDummyPrefix = true;
    bool removeExtraWhitespaces = false;
    bool escapeWhitespaces = true;
};

// Serialises pieces, trainer_spec and normalizer_spec (name, add_dummy_prefix, remove_extra_whitespaces,
// escape_whitespaces). Protobuf defaults (e.g. model type UNIGRAM) apply to fields it leaves out.
std::string serializeSpmModel(const SpmModelSpec& spec);

// Reads a serialised ModelProto (a tokenizer.model file); Error names source and the broken field.
SpmModelSpec parseSpmModel(std::string_view bytes, const std::string& source);

// A copy of a serialised ModelProto with normalizer_spec.add_dummy_prefix set to value.
std::string withAddDummyPrefix(std::string_view bytes, bool value, const std::string& source);

} // namespace logitscope
