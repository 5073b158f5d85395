// PromptPanel: the prompt editor (optionally through the model's chat template) with live
// tokenization as you type — token chips (id on hover, byte view for partial UTF-8) and the
// context-window bar. Tokenizing happens off the UI thread (see InferenceController::setPrompt).
// "Compare with:" adds a second row of chips: the same text split by another tokenizer
// (TokenizerComparison), with a one-line summary of both counts. After a prefill, "Probabilities"
// colours each chip by the probability the model gave that token given the ones before it. With a
// grammar (constrained decoding) a line under the chips says where its parser stands.
#pragma once

#include <QWidget>

class QCheckBox;
class QComboBox;
class QLabel;
class QLineEdit;
class QPlainTextEdit;
class QScrollArea;

namespace logitscope::gui {

class InferenceController;
class TokenChipView;
class ContextBar;
class ProbabilityLegend;
struct PromptTokens;
struct Distribution;
class TokenizerComparison;

class PromptPanel : public QWidget {
    Q_OBJECT
public:
    explicit PromptPanel(InferenceController* controller, QWidget* parent = nullptr);

    void setPromptText(const QString& text);
    void setChatTemplate(bool on);   // ticks "Chat template" (a lesson with "chat": true)
    QString promptText() const;
    QPlainTextEdit* editor() const { return m_editor; }
    TokenChipView* chips() const { return m_chips; }

    // The second tokenizer, as "Open tokenizer file…" does after its dialog: a tokenizer.json,
    // tokenizer.model, .gguf vocabulary or a model folder. On success the combo remembers it for the
    // session; on failure the panel says why and keeps its previous choice. Returns whether it opened.
    bool compareWith(const QString& path);
    QComboBox* compareCombo() const { return m_compare; }
    TokenChipView* comparisonChips() const { return m_compareChips; }
    QString comparisonSummary() const;   // empty while the comparison is off
    QString comparisonError() const;     // empty unless the last choice failed
    QCheckBox* probabilitiesBox() const { return m_probabilities; }
    QString scoreSummary() const;        // the line under the chips about the prefill's scores (may be empty)
    QString grammarPosition() const;     // where a lane's grammar parser stands ("" without a grammar)

private:
    void pushPrompt();
    void updateCounts();
    void showTokens(const PromptTokens& tokens);
    void chooseComparison(int index);
    void openComparisonDialog(bool folder);
    void comparisonOpened(int index);
    void comparisonFailed(const QString& message);
    void refreshComparison();
    void updateScores();
    void showGrammarPosition(const Distribution& distribution);

    InferenceController* m_controller;
    QPlainTextEdit* m_editor;
    QCheckBox* m_chat;
    QLineEdit* m_system;
    QCheckBox* m_bytes;
    QCheckBox* m_probabilities;
    ProbabilityLegend* m_scoreLegend;
    QLabel* m_scoreSummary;
    QLabel* m_hint;
    QLabel* m_grammar;
    QScrollArea* m_scroll;
    TokenChipView* m_chips;
    ContextBar* m_context;

    QComboBox* m_compare;
    int m_compareIndex = 0;       // the choice in force: restored after a failure or a cancelled dialog
    QString m_compareDir;         // where the file dialog opens next
    TokenizerComparison* m_comparison;
    QScrollArea* m_compareScroll;
    TokenChipView* m_compareChips;
    QLabel* m_compareSummary;
    QLabel* m_compareError;
    QString m_renderedText;       // the text the model's chips are a split of (after the chat template)
};

} // namespace logitscope::gui
