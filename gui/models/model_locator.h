// Where the bundled default model is found: beside the executable, in the installed data
// directory, then in the source tree (a compile definition). A --model option bypasses all of it.
// Also where the other bundled data (lessons, tokenizers) is looked for.
#pragma once

#include <QString>
#include <QStringList>

namespace logitscope::gui {

inline constexpr const char* kDefaultModelName = "logitscope-brown";

// Every place looked at, in order (shown in the "no model loaded" state).
QStringList defaultModelCandidates();
// The first candidate that exists, or an empty string.
QString findDefaultModel();

// The folders that hold the bundled data (models/, lessons/, tokenizers/), in lookup order: beside the
// binary (a portable copy), ../share/logitscope from the binary (an install, even a moved one), the
// user's data folders, the configured install prefix, then resources/ of the source tree this was
// built from. The default model, the lessons, a lesson's "$DATA/" and the Prompt panel's second
// tokenizer are all looked for in these.
QStringList bundledDataDirectories();
// The byte-level BPE the Prompt panel compares with, relative to a bundled data folder.
inline constexpr const char* kBundledTokenizer = "tokenizers/brown-byte-bpe/tokenizer.json";

} // namespace logitscope::gui
