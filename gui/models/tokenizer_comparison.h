// TokenizerComparison: a second tokenizer that splits the same text as the model's — "the same
// sentence in two tokenizers" under the Prompt panel's chips. It owns that tokenizer and the rows of its
// chips, and writes the one-line summary. Not a worker: a prompt is small work (20,000 characters:
// about 11 ms with the chips' layout, tst_gui_bench), so it runs on the UI thread when the model's split arrives.
#pragma once

#include "models/snapshots.h"
#include "models/vocabulary.h"

#include <QObject>
#include <QString>

#include <memory>

namespace logitscope {
class Tokenizer;
}

namespace logitscope::gui {

class PromptTokensModel;

class TokenizerComparison : public QObject {
    Q_OBJECT
public:
    explicit TokenizerComparison(QObject* parent = nullptr);
    ~TokenizerComparison() override;

    // Opens a tokenizer.json, tokenizer.model or .gguf vocabulary, or a model folder. On failure the
    // current tokenizer stays and *error names the file and says what is wrong (the engine's message).
    bool open(const QString& path, QString* error);
    // The bundled byte-level BPE (kBundledTokenizer in each bundled data folder); when it is in none,
    // *error says where it looked.
    bool openBundled(QString* error);
    void close();

    bool isOpen() const { return m_tokenizer != nullptr; }
    QString path() const { return m_path; }
    QString name() const { return m_name; }              // "brown-byte-bpe", a GGUF's base name, "org/model"
    QString description() const { return m_description; } // "byte-level BPE, 3,072 pieces"

    // Splits `text` with the second tokenizer and refreshes the summary. `model` and `modelTokens` are
    // the model's tokenizer and its split of the same text (the first row of chips); without a model
    // the summary names only the second tokenizer. Neither count includes the BOS/EOS a tokenizer adds
    // by itself: the second split adds none, and the model's <s> is left out of its count.
    void setText(const QString& text, const Vocabulary& model = {}, const QList<PromptToken>& modelTokens = {});
    PromptTokensModel* tokens() const { return m_tokens; }
    QString summary() const { return m_summary; }

    // "SentencePiece, 4,096 pieces" for a tokenizer.
    static QString describe(const logitscope::Tokenizer& tok);
    // Where openBundled() looks, in order.
    static QStringList bundledCandidates();

private:
    std::unique_ptr<const logitscope::Tokenizer> m_tokenizer;
    QString m_path, m_name, m_description, m_summary;
    PromptTokensModel* m_tokens;
};

} // namespace logitscope::gui
