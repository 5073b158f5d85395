// The Prompt & tokens panel.
#include "panels/prompt_panel.h"

#include "models/inference_controller.h"
#include "models/prompt_tokens_model.h"
#include "panels/context_bar.h"
#include "panels/token_chip_view.h"

#include <QCheckBox>
#include <QHBoxLayout>
#include <QLabel>
#include <QLineEdit>
#include <QPlainTextEdit>
#include <QScrollArea>
#include <QSplitter>
#include <QVBoxLayout>

namespace logitscope::gui {

PromptPanel::PromptPanel(InferenceController* controller, QWidget* parent) : QWidget(parent), m_controller(controller)
{
    auto* layout = new QVBoxLayout(this);

    m_editor = new QPlainTextEdit(this);
    m_editor->setPlaceholderText(tr("Type a prompt. The model continues it one token at a time."));
    m_editor->setToolTip(tr("The text the model reads before generating. It is split into tokens as you type "
                            "(below). Press Step to read it, then Step again to choose each next token."));
    QFont f = m_editor->font();
    f.setPointSizeF(f.pointSizeF() * 1.15);
    m_editor->setFont(f);

    auto* options = new QHBoxLayout;
    m_chat = new QCheckBox(tr("Chat template"), this);
    m_chat->setToolTip(tr("Wrap the prompt in the model's chat format (system + user turn + the start of the "
                          "assistant's turn), as a chat application would. The chips show the result."));
    m_system = new QLineEdit(this);
    m_system->setPlaceholderText(tr("System message (optional)"));
    m_system->setEnabled(false);
    m_bytes = new QCheckBox(tr("Bytes"), this);
    m_bytes->setToolTip(tr("Show every token as its bytes in hex. Tokens that hold only part of a UTF-8 "
                           "character (dashed border) are always shown as bytes."));
    options->addWidget(m_chat);
    options->addWidget(m_system, 1);
    options->addWidget(m_bytes);

    m_chips = new TokenChipView;
    m_chips->setModel(controller->promptTokens());
    m_chips->setPlaceholder(tr("Tokens appear here as you type (needs a model)."));
    m_scroll = new QScrollArea(this);
    m_scroll->setWidget(m_chips);
    m_scroll->setWidgetResizable(true);
    m_scroll->setHorizontalScrollBarPolicy(Qt::ScrollBarAlwaysOff);
    m_scroll->setFrameShape(QFrame::StyledPanel);

    auto* split = new QSplitter(Qt::Vertical, this);
    split->addWidget(m_editor);
    auto* lower = new QWidget(split);
    auto* lowerLayout = new QVBoxLayout(lower);
    lowerLayout->setContentsMargins(0, 0, 0, 0);
    lowerLayout->addLayout(options);
    lowerLayout->addWidget(m_scroll, 1);
    m_context = new ContextBar(lower);
    lowerLayout->addWidget(m_context);
    m_hint = new QLabel(lower);
    m_hint->setWordWrap(true);
    m_hint->setStyleSheet(QStringLiteral("color: #8a5a00"));
    m_hint->hide();
    lowerLayout->addWidget(m_hint);
    split->addWidget(lower);
    split->setStretchFactor(0, 2);
    split->setStretchFactor(1, 3);
    layout->addWidget(split);

    connect(m_editor, &QPlainTextEdit::textChanged, this, &PromptPanel::pushPrompt);
    connect(m_system, &QLineEdit::textChanged, this, &PromptPanel::pushPrompt);
    connect(m_chat, &QCheckBox::toggled, this, [this](bool on) {
        m_system->setEnabled(on);
        pushPrompt();
    });
    connect(m_bytes, &QCheckBox::toggled, m_chips, &TokenChipView::setByteView);
    connect(controller, &InferenceController::promptTokensAvailable, this, &PromptPanel::showTokens);
    connect(controller, &InferenceController::stateChanged, this, &PromptPanel::updateCounts);
    connect(controller, &InferenceController::samplingApplied, this, &PromptPanel::updateCounts);
    connect(controller, &InferenceController::modelLoadFinished, this, &PromptPanel::updateCounts);
    updateCounts();
}

void PromptPanel::setPromptText(const QString& text)
{
    m_editor->setPlainText(text);
}

void PromptPanel::setChatTemplate(bool on)
{
    m_chat->setChecked(on);
}

QString PromptPanel::promptText() const
{
    return m_editor->toPlainText();
}

void PromptPanel::pushPrompt()
{
    m_controller->setPrompt(m_editor->toPlainText(), m_chat->isChecked(), m_system->text());
}

void PromptPanel::showTokens(const PromptTokens& tokens)
{
    QString tip;
    if (m_chat->isChecked())
        tip = tr("Chat template: %1").arg(tokens.templateNotice.isEmpty() ? tr("(none)") : tokens.templateNotice);
    if (!tokens.error.isEmpty())
        tip = tokens.error;
    m_chips->setToolTip(tip);
    updateCounts();
}

void PromptPanel::updateCounts()
{
    const auto& info = m_controller->modelInfo();
    m_context->setCounts(m_controller->promptTokenCount(), m_controller->generatedCount(),
                         m_controller->sampling().maxNewTokens, info.contextLength);
    const bool stale = m_controller->isPrefilled() && m_controller->promptChangedSincePrefill();
    m_hint->setText(tr("The prompt changed since it was read: the next Step starts over from the new prompt."));
    m_hint->setVisible(stale);
}

} // namespace logitscope::gui
