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

// The folders that hold the bundled data (lessons/, tokenizers/), in lookup order: the installed
// share/logitscope, then resources/ of the source tree this was built from. A lesson's "$DATA/" stands
// for each; the Prompt panel's second tokenizer is looked for in each.
QStringList bundledDataDirectories();
// The byte-level BPE the Prompt panel compares with, relative to a bundled data folder.
inline constexpr const char* kBundledTokenizer = "tokenizers/brown-byte-bpe/tokenizer.json";

} // namespace logitscope::gui
