// The Prompt panel's second tokenizer.
#include "models/tokenizer_comparison.h"

#include "models/model_locator.h"
#include "models/prompt_tokens_model.h"

#include "model/model.h"
#include "tokenizer/tokenizer.h"

#include <QDir>
#include <QFile>
#include <QFileInfo>
#include <QLocale>
#include <QRegularExpression>

namespace logitscope::gui {

namespace {

// What to call a tokenizer in the summary: the folder of a tokenizer.json / tokenizer.model (a Hugging
// Face cache snapshot gives its "org/model"), a GGUF file's base name.
QString displayName(const QString& path)
{
    const QFileInfo fi(path);
    if (!fi.isDir() && !fi.fileName().startsWith(QLatin1String("tokenizer")))
        return fi.completeBaseName();
    QDir dir = fi.isDir() ? QDir(fi.absoluteFilePath()) : fi.absoluteDir();
    const QString name = dir.dirName();
    if (dir.cdUp() && dir.dirName() == QLatin1String("snapshots") && dir.cdUp()
        && dir.dirName().startsWith(QLatin1String("models--")))
        return dir.dirName().mid(8).replace(QLatin1String("--"), QLatin1String("/"));
    return name;
}

QString count(int n, const char* one, const char* many)
{
    return n == 1 ? TokenizerComparison::tr(one) : TokenizerComparison::tr(many).arg(QLocale().toString(n));
}

} // namespace

TokenizerComparison::TokenizerComparison(QObject* parent) : QObject(parent), m_tokens(new PromptTokensModel(this)) {}

TokenizerComparison::~TokenizerComparison() = default;

QString TokenizerComparison::describe(const logitscope::Tokenizer& tok)
{
    QString kind = QString::fromStdString(tok.kind());
    if (kind == QLatin1String("sentencepiece"))
        kind = QStringLiteral("SentencePiece");
    else if (kind == QLatin1String("byte-bpe"))
        kind = tr("byte-level BPE");
    else if (kind == QLatin1String("bpe"))
        kind = QStringLiteral("BPE");
    return tr("%1, %2 pieces").arg(kind, QLocale().toString(tok.vocabSize()));
}

QStringList TokenizerComparison::bundledCandidates()
{
    QStringList out;
    for (const QString& dir : bundledDataDirectories())
        out << QDir::cleanPath(QDir(dir).filePath(QString::fromLatin1(kBundledTokenizer)));
    out.removeDuplicates();
    return out;
}

bool TokenizerComparison::open(const QString& path, QString* error)
{
    std::unique_ptr<logitscope::Tokenizer> tok;
    try {
        tok = logitscope::loadTokenizerFile(QFile::encodeName(path).toStdString());
    } catch (const std::exception& e) {
        if (error)
            *error = tr("Could not open “%1” as a tokenizer: %2").arg(QFileInfo(path).fileName(), QString::fromStdString(e.what()));
        return false;
    }
    m_description = describe(*tok);
    m_tokenizer = std::move(tok);
    m_path = path;
    m_name = displayName(path);
    m_tokens->clear();
    m_summary.clear();
    return true;
}

bool TokenizerComparison::openBundled(QString* error)
{
    const QStringList candidates = bundledCandidates();
    for (const QString& p : candidates)
        if (QFileInfo(p).isFile())
            return open(p, error);
    if (error)
        *error = tr("The bundled tokenizer %1 is missing (looked for %2).")
                     .arg(QString::fromLatin1(kBundledTokenizer),
                          candidates.isEmpty() ? tr("nothing: this build names no data folder")
                                               : candidates.join(QLatin1String(", ")));
    return false;
}

void TokenizerComparison::close()
{
    m_tokenizer.reset();
    m_path.clear();
    m_name.clear();
    m_description.clear();
    m_summary.clear();
    m_tokens->clear();
}

void TokenizerComparison::setText(const QString& text, const Vocabulary& model, const QList<PromptToken>& modelTokens)
{
    if (!m_tokenizer) {
        m_tokens->clear();
        m_summary.clear();
        return;
    }
    const std::string s = text.toStdString();
    QStringList parts;
    if (model.isValid()) {
        // The model's text tokens: its split less the BOS / EOS it adds by itself (the grey <s> chip).
        const auto& tok = model.model()->tokenizer();
        qsizetype n = modelTokens.size();
        if (n > 0 && tok.addBos() && modelTokens.front().id == tok.bos())
            --n;
        if (n > 0 && tok.addEos() && modelTokens.back().id == tok.eos())
            --n;
        parts << tr("this model (%1): %2").arg(describe(tok), count(int(n), "1 token", "%1 tokens"));
    }
    QString second;
    try {
        logitscope::EncodeOptions options;
        options.addSpecial = false; // no BOS / EOS: both sides count the text's tokens only
        options.parseSpecial = true; // as the model's side: chat markers of a known vocabulary are one token
        const QList<PromptToken> rows = promptTokensFor(*m_tokenizer, m_tokenizer->encode(s, options));
        m_tokens->setTokens(rows);
        second = count(int(rows.size()), "1 token", "%1 tokens");
    } catch (const std::exception& e) {
        m_tokens->clear();
        second = tr("cannot split this text (%1)").arg(QString::fromStdString(e.what()));
    }
    parts << tr("%1 (%2): %3").arg(m_name, m_description, second);
    static const QRegularExpression space(QStringLiteral("\\s+"));
    const int words = int(text.split(space, Qt::SkipEmptyParts).size());
    parts << count(words, "1 word", "%1 words") << count(int(s.size()), "1 byte", "%1 bytes");
    m_summary = parts.join(QStringLiteral(" · "));
}

} // namespace logitscope::gui
