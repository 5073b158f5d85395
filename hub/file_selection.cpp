// Choosing what to download from a repository listing.
#include "file_selection.h"

#include <QRegularExpression>

namespace logitscope::hub {

bool globMatch(const QString& pattern, const QString& name)
{
    QString re;
    re.reserve(pattern.size() * 2);
    for (qsizetype i = 0; i < pattern.size(); ++i) {
        const QChar c = pattern[i];
        if (c == '*') {
            re += ".*";
        } else if (c == '?') {
            re += '.';
        } else if (c == '[') {
            const qsizetype close = pattern.indexOf(']', i + 1);
            if (close < 0) {
                re += "\\[";
                continue;
            }
            QString set = pattern.mid(i + 1, close - i - 1);
            if (set.startsWith('!'))
                set[0] = '^';
            re += '[' + set.replace("\\", "\\\\") + ']';
            i = close;
        } else {
            re += QRegularExpression::escape(QString(c));
        }
    }
    return QRegularExpression(QRegularExpression::anchoredPattern(re)).match(name).hasMatch();
}

const QStringList& metadataFileNames()
{
    static const QStringList names = {
        "config.json", "generation_config.json", "tokenizer.json", "tokenizer_config.json", "tokenizer.model",
        "special_tokens_map.json", "added_tokens.json", "vocab.json", "merges.txt", "chat_template.jinja",
        "chat_template.json",
    };
    return names;
}

FileSelection selectFiles(const QString& repoId, const QStringList& repoFiles, const QStringList& includes)
{
    FileSelection s;
    QStringList weights;
    if (includes.isEmpty()) {
        QStringList safetensors, ggufs, consolidated;
        for (const QString& f : repoFiles) {
            if (f.contains('/'))
                continue; // sub-folders hold other exports (onnx/, original/, ...)
            if (f.endsWith(".safetensors"))
                (f.startsWith("consolidated") ? consolidated : safetensors) << f;
            else if (f.endsWith(".gguf"))
                ggufs << f;
        }
        if (safetensors.isEmpty())
            safetensors = consolidated; // only Mistral's own format is there; the loader will judge it
        if (!safetensors.isEmpty()) {
            weights = safetensors;
            if (repoFiles.contains("model.safetensors.index.json"))
                weights.prepend("model.safetensors.index.json");
        } else if (!ggufs.isEmpty()) {
            s.problem = repoId + " has no safetensors weights; choose one GGUF file with --include, e.g. --include '" +
                        ggufs.first() + "' (files: " + ggufs.join(", ") + ")";
            return s;
        } else {
            s.problem = repoId + " has no weights Logitscope can read (no *.safetensors or *.gguf at the top level)";
            return s;
        }
    } else {
        for (const QString& pattern : includes) {
            bool any = false;
            for (const QString& f : repoFiles)
                if (globMatch(pattern, f)) {
                    any = true;
                    if (!weights.contains(f) && !metadataFileNames().contains(f))
                        weights << f;
                }
            if (!any) {
                s.problem = "--include '" + pattern + "' matches no file in " + repoId + " (files: " +
                            repoFiles.mid(0, 20).join(", ") + (repoFiles.size() > 20 ? ", ..." : "") + ")";
                return s;
            }
        }
    }
    for (const QString& f : repoFiles)
        if (metadataFileNames().contains(f))
            s.files << f;
    s.files << weights;
    return s;
}

} // namespace logitscope::hub
