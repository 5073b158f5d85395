// Which files of a Hub repository a pull fetches: the config and tokenizer files, and the weights —
// every top-level *.safetensors (sharded or not), or the files matching --include (e.g. one *.gguf).
// Pure functions over the listing; no network.
#pragma once

#include <QString>
#include <QStringList>

namespace logitscope::hub {

// fnmatch-style: '*' any run of characters (also '/'), '?' one character, [abc] a set; whole-name match.
bool globMatch(const QString& pattern, const QString& name);

// Files whose presence makes a folder loadable besides the weights (fetched whenever they exist).
const QStringList& metadataFileNames();

struct FileSelection {
    QStringList files;  // in the listing's order: metadata first, weights after
    QString problem;    // non-empty when nothing sensible can be chosen; says what to do
};

// `repoFiles` are siblings[].rfilename; `includes` the --include globs (empty: the default choice).
FileSelection selectFiles(const QString& repoId, const QStringList& repoFiles, const QStringList& includes);

} // namespace logitscope::hub
