// Reading a Hugging Face tokenizer.json into BpeModelData (vocabulary, merges, added tokens,
// normalizer, pre-tokenizer) plus the special-token hints of its post_processor and decoder.
// Not a general tokenizers.json implementation: only BPE models; WordPiece / Unigram are refused.
#pragma once

#include "tokenizer/byte_bpe_tokenizer.h"

#include <nlohmann/json_fwd.hpp>

#include <map>
#include <string>

namespace logitscope {

struct HfTokenizerJson {
    BpeModelData data;
    std::map<std::string, int32_t> tokenIds; // vocabulary and added-token text -> id (for config files)
    int32_t unk = -1;
    int32_t templateBos = -1;   // post_processor TemplateProcessing: the special token before $A
    int32_t templateEos = -1;   // ... and after it
    bool stripLeadingSpace = false; // decoder strips the Metaspace prefix space
};

// Reads and parses a tokenizer.json file; Error messages name the file and the JSON field.
nlohmann::json readJsonFile(const std::string& path);

// "BPE" (or the model.type given) of a parsed tokenizer.json, and whether it is byte-level.
std::string tokenizerJsonModelType(const nlohmann::json& j);
bool tokenizerJsonIsByteLevel(const nlohmann::json& j);

HfTokenizerJson parseTokenizerJson(const nlohmann::json& j, const std::string& source);

} // namespace logitscope
