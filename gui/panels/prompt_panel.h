// PromptPanel: the prompt editor (optionally through the model's chat template) with live
// tokenization as you type — token chips (id on hover, byte view for partial UTF-8) and the
// context-window bar. Tokenizing happens off the UI thread (see InferenceController::setPrompt).
#pragma once

#include <QWidget>

class QCheckBox;
class QLabel;
class QLineEdit;
class QPlainTextEdit;
class QScrollArea;

namespace logitscope::gui {

class InferenceController;
class TokenChipView;
class ContextBar;
struct PromptTokens;

class PromptPanel : public QWidget {
    Q_OBJECT
public:
    explicit PromptPanel(InferenceController* controller, QWidget* parent = nullptr);

    void setPromptText(const QString& text);
    void setChatTemplate(bool on);   // ticks "Chat template" (a lesson with "chat": true)
    QString promptText() const;
    QPlainTextEdit* editor() const { return m_editor; }
    TokenChipView* chips() const { return m_chips; }

private:
    void pushPrompt();
    void updateCounts();
    void showTokens(const PromptTokens& tokens);

    InferenceController* m_controller;
    QPlainTextEdit* m_editor;
    QCheckBox* m_chat;
    QLineEdit* m_system;
    QCheckBox* m_bytes;
    QLabel* m_hint;
    QScrollArea* m_scroll;
    TokenChipView* m_chips;
    ContextBar* m_context;
};

} // namespace logitscope::gui
