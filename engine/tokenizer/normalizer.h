// Normalizer: the text rewrites a tokenizer.json applies before pre-tokenization (Prepend, Replace,
// Lowercase, Strip, NFC, and Sequences of these).
// NFC and Lowercase are full Unicode rewrites (ICU); the rest is plain byte work.
#pragma once

#include "tokenizer/regex.h"

#include <memory>
#include <string>
#include <vector>

namespace logitscope {

class Normalizer {
public:
    void addPrepend(std::string prefix);
    void addReplace(std::string pattern, bool literal, std::string content, const std::string& field);
    void addLowercase();
    void addStrip(bool left, bool right);
    void addNfc();

    bool empty() const { return m_steps.empty(); }

    // Rewrites UTF-8 text in place (invalid UTF-8 is left for the byte fallback).
    void apply(std::string& text) const;

private:
    enum class Kind { Prepend, Replace, Lowercase, Strip, Nfc };
    struct Step {
        Kind kind;
        std::string a, b; // Prepend: a; Replace: content b
        std::shared_ptr<Regex> regex;
        bool left = false, right = false;
    };
    std::vector<Step> m_steps;
};

} // namespace logitscope
