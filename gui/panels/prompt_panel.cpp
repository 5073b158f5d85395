// The Prompt and tokens panel.
#include "panels/prompt_panel.h"

#include "models/distribution.h"
#include "models/inference_controller.h"
#include "models/model_locator.h"
#include "models/prompt_tokens_model.h"
#include "models/tokenizer_comparison.h"
#include "panels/context_bar.h"
#include "panels/probability_legend.h"
#include "panels/scrolling_page.h"
#include "panels/token_chip_view.h"

#include <QApplication>
#include <QCheckBox>
#include <QComboBox>
#include <QDir>
#include <QFileDialog>
#include <QFileInfo>
#include <QHBoxLayout>
#include <QLabel>
#include <QLineEdit>
#include <QPlainTextEdit>
#include <QScrollArea>
#include <QSplitter>
#include <QVBoxLayout>

namespace logitscope::gui {

namespace {

// What an entry of the "Compare with:" combo does (Qt::UserRole); kPathRole holds a remembered file.
enum CompareItem { CompareOff, CompareBundled, CompareRecent, CompareOpenFile, CompareOpenFolder };
constexpr int kPathRole = Qt::UserRole + 1;

int findItem(const QComboBox* combo, CompareItem kind)
{
    return combo->findData(kind, Qt::UserRole);
}

} // namespace

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
    m_probabilities = new QCheckBox(tr("Probabilities"), this);
    m_probabilities->setToolTip(
        tr("Colour every token by the probability the model gave it, given the tokens before it. Reading the prompt "
           "(the prefill) computes a next-token distribution at every position at once, so each prompt token gets "
           "a score: yellow = expected, dark purple = a surprise. Hover a chip for its rank and what the model "
           "expected instead."));
    const QString compareTip =
        tr("Split the same text with a second tokenizer, shown under the model's chips. The text is what the model "
           "reads (after the chat template when it is on). Neither side counts the BOS/EOS a tokenizer adds by "
           "itself: the second row adds none, and the model's grey BOS chip is left out of its count.");
    m_compare = new QComboBox(this);
    m_compare->addItem(QStringLiteral("—"), CompareOff);
    m_compare->addItem(tr("%1 (bundled)").arg(QFileInfo(QString::fromLatin1(kBundledTokenizer)).dir().dirName()),
                       CompareBundled);
    m_compare->addItem(tr("Open tokenizer file…"), CompareOpenFile);
    m_compare->addItem(tr("Open model folder…"), CompareOpenFolder);
    m_compare->setToolTip(compareTip);
    auto* compareLabel = new QLabel(tr("Compare with:"), this);
    compareLabel->setBuddy(m_compare);
    // Two rows: the chat template with its system message, then the comparison and the byte view, so
    // the system message keeps its width in a narrow dock.
    options->addWidget(m_chat);
    options->addWidget(m_system, 1);
    auto* view = new QHBoxLayout;
    view->addWidget(compareLabel);
    view->addWidget(m_compare);
    view->addStretch(1);
    view->addWidget(m_probabilities);
    view->addWidget(m_bytes);

    m_chips = new TokenChipView;
    m_chips->setModel(controller->promptTokens());
    m_chips->setPlaceholder(tr("Tokens appear here as you type (needs a model)."));
    m_scroll = wrappingScroll(m_chips, this);
    m_scoreLegend = new ProbabilityLegend(
        tr("given the text before: p = 0"),
        tr("Each prompt token coloured by the probability the model gave it, given the tokens before it (the first "
           "token has nothing before it: light grey)."),
        this);
    m_scoreLegend->hide();
    m_scoreSummary = new QLabel(this);
    m_scoreSummary->setWordWrap(true);
    m_scoreSummary->setTextFormat(Qt::PlainText);
    m_scoreSummary->setTextInteractionFlags(Qt::TextSelectableByMouse);
    m_scoreSummary->setToolTip(
        tr("Reading the prompt computes the model's next-token distribution at every position in one pass, so every "
           "prompt token after the first gets a probability given the tokens before it (inference servers return "
           "these on request: TGI's decoder_input_details, vLLM's prompt_logprobs). Perplexity is exp of the mean "
           "negative log-probability: the number of equally likely choices the model was, on average, picking from."));
    m_scoreSummary->hide();

    m_comparison = new TokenizerComparison(this);
    m_compareChips = new TokenChipView;
    m_compareChips->setModel(m_comparison->tokens());
    m_compareChips->setPlaceholder(tr("The second tokenizer's tokens appear here."));
    m_compareScroll = wrappingScroll(m_compareChips, this);
    m_compareScroll->hide();
    m_compareSummary = new QLabel(this);
    m_compareSummary->setWordWrap(true);
    m_compareSummary->setTextFormat(Qt::PlainText);
    m_compareSummary->setTextInteractionFlags(Qt::TextSelectableByMouse);
    m_compareSummary->setToolTip(compareTip);
    m_compareSummary->hide();
    m_compareError = new QLabel(this);
    m_compareError->setWordWrap(true);
    m_compareError->setTextFormat(Qt::PlainText); // engine messages may quote "<unk>" and the like
    m_compareError->setTextInteractionFlags(Qt::TextSelectableByMouse);
    m_compareError->setStyleSheet(QStringLiteral("QLabel { color: #b00020; }"));
    m_compareError->hide();

    auto* split = new QSplitter(Qt::Vertical, this);
    split->addWidget(m_editor);
    auto* lower = new QWidget(split);
    auto* lowerLayout = new QVBoxLayout(lower);
    lowerLayout->setContentsMargins(0, 0, 0, 0);
    lowerLayout->addLayout(options);
    lowerLayout->addLayout(view);
    lowerLayout->addWidget(m_scoreLegend);
    lowerLayout->addWidget(m_scroll, 1);
    lowerLayout->addWidget(m_scoreSummary);
    lowerLayout->addWidget(m_compareScroll, 1);
    lowerLayout->addWidget(m_compareSummary);
    lowerLayout->addWidget(m_compareError);
    m_context = new ContextBar(lower);
    lowerLayout->addWidget(m_context);
    m_grammar = new QLabel(lower);
    m_grammar->setObjectName(QStringLiteral("grammarPosition"));
    m_grammar->setTextFormat(Qt::RichText);
    m_grammar->setWordWrap(true);
    m_grammar->setToolTip(tr("Constrained decoding: the rule path of the grammar's parser after the text so far, and "
                             "what it expects next. Only tokens whose text fits that are allowed."));
    m_grammar->hide();
    lowerLayout->addWidget(m_grammar);
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
    connect(m_bytes, &QCheckBox::toggled, m_compareChips, &TokenChipView::setByteView);
    // The chips' colours change through the model; its reset refreshes the legend and the summary line.
    connect(m_probabilities, &QCheckBox::toggled, controller->promptTokens(), &PromptTokensModel::setProbabilityColours);
    connect(controller->promptTokens(), &QAbstractItemModel::modelReset, this, &PromptPanel::updateScores);
    connect(m_compare, &QComboBox::currentIndexChanged, this, &PromptPanel::chooseComparison);
    connect(controller, &InferenceController::promptTokensAvailable, this, &PromptPanel::showTokens);
    connect(controller, &InferenceController::distributionAvailable, this, &PromptPanel::showGrammarPosition);
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
    // Without a model nothing comes back from the controller: compare the text as typed.
    if (!m_controller->hasModel())
        refreshComparison();
}

void PromptPanel::showTokens(const PromptTokens& tokens)
{
    QString tip;
    if (m_chat->isChecked())
        tip = tr("Chat template: %1").arg(tokens.templateNotice.isEmpty() ? tr("(none)") : tokens.templateNotice);
    if (!tokens.error.isEmpty())
        tip = tokens.error;
    m_chips->setToolTip(tip);
    m_renderedText = tokens.renderedText.isEmpty() && !tokens.error.isEmpty() ? m_editor->toPlainText() : tokens.renderedText;
    refreshComparison();
    updateCounts();
}

void PromptPanel::chooseComparison(int index)
{
    QString error;
    switch (m_compare->itemData(index).toInt()) {
    case CompareOff:
        m_comparison->close();
        comparisonOpened(index);
        break;
    case CompareBundled:
        if (m_comparison->openBundled(&error))
            comparisonOpened(index);
        else
            comparisonFailed(error);
        break;
    case CompareRecent:
        compareWith(m_compare->itemData(index, kPathRole).toString());
        break;
    case CompareOpenFile:
    case CompareOpenFolder: {
        // The combo keeps showing the choice in force while the dialog is open (and after a cancel).
        const bool folder = m_compare->itemData(index).toInt() == CompareOpenFolder;
        const QSignalBlocker block(m_compare);
        m_compare->setCurrentIndex(m_compareIndex);
        QMetaObject::invokeMethod(this, [this, folder] { openComparisonDialog(folder); }, Qt::QueuedConnection);
        break;
    }
    }
}

void PromptPanel::openComparisonDialog(bool folder)
{
    const QString path =
        folder ? QFileDialog::getExistingDirectory(this, tr("Compare with a model folder's tokenizer"), m_compareDir)
               : QFileDialog::getOpenFileName(this, tr("Compare with a tokenizer"), m_compareDir,
                                              tr("Tokenizers (tokenizer.json tokenizer.model *.json *.model *.gguf);;"
                                                 "All files (*)"));
    if (path.isEmpty())
        return;
    m_compareDir = QFileInfo(path).absolutePath(); // the file's folder, or the parent of the chosen folder
    compareWith(path);
}

bool PromptPanel::compareWith(const QString& path)
{
    QString error;
    QApplication::setOverrideCursor(Qt::WaitCursor); // a large GGUF vocabulary takes a moment
    const bool ok = m_comparison->open(path, &error);
    QApplication::restoreOverrideCursor();
    if (!ok) {
        comparisonFailed(error);
        return false;
    }
    // One remembered file per session, just above "Open tokenizer file…".
    int recent = findItem(m_compare, CompareRecent);
    if (recent < 0) {
        recent = findItem(m_compare, CompareOpenFile);
        m_compare->insertItem(recent, QString(), CompareRecent);
    }
    m_compare->setItemText(recent, m_comparison->name());
    m_compare->setItemData(recent, path, kPathRole);
    m_compare->setItemData(recent, QDir::toNativeSeparators(path), Qt::ToolTipRole);
    comparisonOpened(recent);
    return true;
}

void PromptPanel::comparisonOpened(int index)
{
    {
        const QSignalBlocker block(m_compare);
        m_compare->setCurrentIndex(index);
    }
    m_compareIndex = index;
    m_compareError->clear();
    m_compareError->hide();
    const bool on = m_comparison->isOpen();
    m_compareScroll->setVisible(on);
    m_compareSummary->setVisible(on);
    if (!on)
        m_compareSummary->clear();
    refreshComparison();
}

void PromptPanel::comparisonFailed(const QString& message)
{
    // The tokenizer in force (or none) stays; so does the combo's choice.
    const QSignalBlocker block(m_compare);
    m_compare->setCurrentIndex(m_compareIndex);
    m_compareError->setText(message);
    m_compareError->show();
}

void PromptPanel::refreshComparison()
{
    if (!m_comparison->isOpen())
        return;
    const QString text = m_controller->hasModel() ? m_renderedText : m_editor->toPlainText();
    m_comparison->setText(text, m_controller->vocabulary(), m_controller->promptTokens()->tokens());
    m_compareSummary->setText(m_comparison->summary());
}

QString PromptPanel::comparisonSummary() const
{
    return m_comparison->isOpen() ? m_comparison->summary() : QString();
}

QString PromptPanel::comparisonError() const
{
    return m_compareError->text();
}

void PromptPanel::updateScores()
{
    const PromptTokensModel* tokens = m_controller->promptTokens();
    QString text = tokens->scoreSummary();
    if (text.isEmpty() && m_probabilities->isChecked() && tokens->rowCount() > 0)
        text = tr("Step once to read the prompt: the prefill rates every prompt token, and each chip takes the colour "
                  "of its probability.");
    m_scoreSummary->setText(text);
    m_scoreSummary->setVisible(!text.isEmpty());
    m_scoreLegend->setVisible(m_probabilities->isChecked() && tokens->scoresShown());
}

QString PromptPanel::scoreSummary() const
{
    return m_scoreSummary->text();
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

void PromptPanel::showGrammarPosition(const Distribution& d)
{
    if (!d.valid || !d.grammar.active) {
        m_grammar->hide();
        m_grammar->clear();
        return;
    }
    const QString when = d.preview ? tr("Grammar parser now at") : tr("Grammar parser before token %1 at").arg(d.step + 1);
    m_grammar->setText(tr("%1: <code>%2</code>").arg(when, d.grammar.position.toHtmlEscaped()));
    m_grammar->show();
}

QString PromptPanel::grammarPosition() const
{
    return m_grammar->isHidden() ? QString() : m_grammar->text();
}

} // namespace logitscope::gui
