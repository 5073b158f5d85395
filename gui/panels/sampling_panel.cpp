// The Sampling controls panel.
#include "panels/sampling_panel.h"
#include "panels/scrolling_page.h"

#include "models/distribution.h"
#include "models/inference_controller.h"

#include <QCheckBox>
#include <QComboBox>
#include <QDoubleSpinBox>
#include <QGridLayout>
#include <QHBoxLayout>
#include <QLabel>
#include <QLineEdit>
#include <QFile>
#include <QFileDialog>
#include <QFontDatabase>
#include <QPlainTextEdit>
#include <QPushButton>
#include <QTimer>
#include <QRandomGenerator>
#include <QSignalBlocker>
#include <QSlider>
#include <QSpinBox>

#include <cmath>
#include <limits>

namespace logitscope::gui {

namespace {

const char* kErrorStyle = "QLabel { color: #b00020; font-size: small; }";

// "a, b, \n" <-> {"a", "b", "\n"}: commas separate, \n and \t are escapes, \, is a literal comma.
std::vector<std::string> parseStops(const QString& text)
{
    std::vector<std::string> out;
    QString cur;
    auto flush = [&] {
        const QString t = cur.trimmed().isEmpty() && !cur.isEmpty() ? cur : cur.trimmed();
        if (!t.isEmpty())
            out.push_back(t.toStdString());
        cur.clear();
    };
    for (int i = 0; i < text.size(); ++i) {
        const QChar c = text[i];
        if (c == QLatin1Char('\\') && i + 1 < text.size()) {
            const QChar n = text[++i];
            cur += n == QLatin1Char('n') ? QStringLiteral("\n") : n == QLatin1Char('t') ? QStringLiteral("\t") : QString(n);
        } else if (c == QLatin1Char(',')) {
            flush();
        } else {
            cur += c;
        }
    }
    flush();
    return out;
}

// "13=-inf, 'the'=-3" <-> logit-bias entries: a key that is a whole number is a token id, anything else a
// text (quotes optional). A bias that is not a number becomes NaN, which the engine refuses by name.
std::vector<logitscope::LogitBias> parseLogitBias(const QString& text)
{
    std::vector<logitscope::LogitBias> out;
    for (const std::string& entry : parseStops(text)) {
        const QString e = QString::fromStdString(entry);
        const int eq = e.lastIndexOf(QLatin1Char('='));
        logitscope::LogitBias b;
        QString key = (eq < 0 ? e : e.left(eq)).trimmed();
        const QString value = eq < 0 ? QString() : e.mid(eq + 1).trimmed();
        bool isId = false;
        const int id = key.toInt(&isId);
        if (isId && id >= 0) {
            b.id = id;
        } else {
            if (key.size() >= 2 && (key.front() == QLatin1Char('\'') || key.front() == QLatin1Char('"')) && key.back() == key.front())
                key = key.mid(1, key.size() - 2);
            b.text = key.toStdString();
        }
        bool ok = false;
        if (value.compare(QLatin1String("-inf"), Qt::CaseInsensitive) == 0) {
            b.bias = -std::numeric_limits<double>::infinity();
        } else {
            b.bias = value.toDouble(&ok);
            if (!ok)
                b.bias = std::numeric_limits<double>::quiet_NaN();
        }
        out.push_back(b);
    }
    return out;
}

QString formatLogitBias(const std::vector<logitscope::LogitBias>& entries)
{
    QStringList parts;
    for (const auto& b : entries) {
        QString key = b.id >= 0 ? QString::number(b.id) : QStringLiteral("'%1'").arg(QString::fromStdString(b.text));
        key.replace(QLatin1Char(','), QStringLiteral("\\,"));
        const QString bias = std::isinf(b.bias) && b.bias < 0 ? QStringLiteral("-inf") : QString::number(b.bias);
        parts << key + QLatin1Char('=') + bias;
    }
    return parts.join(QStringLiteral(", "));
}

QString formatStops(const std::vector<std::string>& stops)
{
    QStringList parts;
    for (const auto& s : stops) {
        QString q = QString::fromStdString(s);
        q.replace(QLatin1Char('\\'), QStringLiteral("\\\\")).replace(QLatin1Char(','), QStringLiteral("\\,"));
        q.replace(QLatin1Char('\n'), QStringLiteral("\\n")).replace(QLatin1Char('\t'), QStringLiteral("\\t"));
        parts << q;
    }
    return parts.join(QStringLiteral(", "));
}

// Example constraints for the Constraint box: {title, kind, text}. Written for this panel in llama.cpp's
// GBNF syntax (see docs/constrained-decoding.md); the JSON Schema one goes through json_schema_to_grammar.
struct ConstraintExample {
    const char* title;
    SamplingPanel::Constraint kind;
    const char* text;
};

const ConstraintExample kExamples[] = {
    {QT_TRANSLATE_NOOP("SamplingPanel", "Yes or no"), SamplingPanel::Constraint::Gbnf,
     R"gbnf(root ::= " " ("yes" | "no") "."
)gbnf"},
    {QT_TRANSLATE_NOOP("SamplingPanel", "A list of items"), SamplingPanel::Constraint::Gbnf,
     R"gbnf(root ::= item+
item ::= "- " [^\n]+ "\n"
)gbnf"},
    {QT_TRANSLATE_NOOP("SamplingPanel", "Arithmetic"), SamplingPanel::Constraint::Gbnf,
     R"gbnf(root  ::= (expr "=" ws term "\n")+
expr  ::= term ([-+*/] term)*
term  ::= ident | num | "(" ws expr ")" ws
ident ::= [a-z] [a-z0-9_]* ws
num   ::= [0-9]+ ws
ws    ::= [ \t\n]*
)gbnf"},
    {QT_TRANSLATE_NOOP("SamplingPanel", "Chess moves"), SamplingPanel::Constraint::Gbnf,
     R"gbnf(root    ::= "1. " move " " move "\n" ([1-9] [0-9]? ". " move " " move "\n")+
move    ::= (pawn | nonpawn | castle) [+#]?
pawn    ::= ([a-h] "x")? [a-h] [1-8] ("=" [NBKQ])?
nonpawn ::= [NBKQR] [a-h]? [1-8]? "x"? [a-h] [1-8]
castle  ::= "O-O" "-O"?
)gbnf"},
    {QT_TRANSLATE_NOOP("SamplingPanel", "JSON value"), SamplingPanel::Constraint::Gbnf,
     R"gbnf(root   ::= object
value  ::= object | array | string | number | ("true" | "false" | "null") ws
object ::= "{" ws ( string ":" ws value ("," ws string ":" ws value)* )? "}" ws
array  ::= "[" ws ( value ("," ws value)* )? "]" ws
string ::= "\"" ( [^"\\\x7F\x00-\x1F] | "\\" (["\\/bfnrt] | "u" [0-9a-fA-F]{4}) )* "\"" ws
number ::= "-"? ([0-9] | [1-9] [0-9]{0,15}) ("." [0-9]+)? ([eE] [-+]? [0-9]{1,3})? ws
ws     ::= | " " | "\n" [ \t]{0,20}
)gbnf"},
    {QT_TRANSLATE_NOOP("SamplingPanel", "JSON Schema: a person"), SamplingPanel::Constraint::JsonSchema,
     R"gbnf({
  "type": "object",
  "properties": {
    "name": {"type": "string", "maxLength": 12},
    "age": {"type": "integer", "minimum": 0, "maximum": 120}
  },
  "required": ["name", "age"]
}
)gbnf"},
};

} // namespace

SamplingPanel::SamplingPanel(InferenceController* controller, QWidget* parent) : QWidget(parent), m_controller(controller)
{
    m_grid = new QGridLayout(scrollingPage(this));
    m_grid->setColumnStretch(1, 1);
    m_grid->setVerticalSpacing(2);

    m_order = new QComboBox;
    m_order->addItem(tr("Hugging Face"), int(logitscope::SamplerOrder::HuggingFace));
    m_order->addItem(tr("vLLM"), int(logitscope::SamplerOrder::Vllm));
    m_order->addItem(tr("llama.cpp"), int(logitscope::SamplerOrder::LlamaCpp));
    addRow(QStringLiteral("order"), tr("Order"),
           tr("The order in which the stages run, as each engine does it. Order matters: top-p after temperature "
              "keeps a different set than top-p before it. Hugging Face: penalties → temperature → top-k → top-p "
              "→ min-p. llama.cpp applies temperature last."),
           m_order);

    m_greedy = new QCheckBox(tr("Greedy (always take the most likely token)"));
    addRow(QStringLiteral("greedy"), QString(),
           tr("Greedy decoding ignores randomness: after the penalties, the most likely token is always chosen."),
           m_greedy);

    m_temperature = addDouble(QStringLiteral("temperature"), tr("Temperature"),
                              tr("Divides every logit by T before the softmax. T < 1 sharpens the distribution "
                                 "(safer, more repetitive); T > 1 flattens it (more varied, more mistakes). "
                                 "T = 0 means greedy."),
                              0.0, 5.0, 0.05, 2, 100, &m_temperatureSlider);
    m_temperatureSlider->setObjectName(QStringLiteral("temperatureSlider"));
    m_topK = addInt(QStringLiteral("top_k"), tr("Top-k"),
                    tr("Keep only the k most likely tokens (0 = off). A fixed-size cut: the same k whether the model "
                       "is sure or unsure."),
                    0, 100000, 100);
    m_topP = addDouble(QStringLiteral("top_p"), tr("Top-p"),
                       tr("Nucleus sampling: keep the most likely tokens until their probabilities add up to p "
                          "(1 = off). When the model is sure, few tokens survive; when unsure, many."),
                       0.0, 1.0, 0.01, 3, 1000);
    m_minP = addDouble(QStringLiteral("min_p"), tr("Min-p"),
                       tr("Keep tokens whose probability is at least min-p × that of the most likely token "
                          "(0 = off)."),
                       0.0, 1.0, 0.01, 3, 1000);
    m_typicalP = addDouble(QStringLiteral("typical_p"), tr("Typical-p"),
                           tr("Locally typical sampling: keep the tokens whose surprise is closest to the "
                              "distribution's average surprise, up to mass p (1 = off)."),
                           0.0, 1.0, 0.01, 3, 1000);
    m_repetition = addDouble(QStringLiteral("repetition_penalty"), tr("Repetition penalty"),
                             tr("Tokens that already occur in the prompt or output get their logit divided by this "
                                "(multiplied if negative). 1 = off; 1.1–1.3 is typical."),
                             0.0, 5.0, 0.05, 2, 100);
    m_presence = addDouble(QStringLiteral("presence_penalty"), tr("Presence penalty"),
                           tr("Subtracted once from the logit of every token that already appeared in the output "
                              "(−2…2, 0 = off)."),
                           -2.0, 2.0, 0.1, 2, 100);
    m_frequency = addDouble(QStringLiteral("frequency_penalty"), tr("Frequency penalty"),
                            tr("Subtracted from a token's logit once per time it already appeared in the output "
                               "(−2…2, 0 = off)."),
                            -2.0, 2.0, 0.1, 2, 100);
    m_noRepeat = addInt(QStringLiteral("no_repeat_ngram_size"), tr("No-repeat n-gram"),
                        tr("Ban any token that would repeat a sequence of n tokens already in the text (0 = off)."),
                        0, 20);
    buildLlamaCppRows();
    m_minNew = addInt(QStringLiteral("min_new_tokens"), tr("Min new tokens"),
                      tr("End-of-text is not allowed before this many tokens were generated."), 0, 100000);
    m_maxNew = addInt(QStringLiteral("max_new_tokens"), tr("Max new tokens"),
                      tr("Generation stops after this many tokens. It must fit in the context window with the "
                         "prompt."),
                      0, 1000000); // 0 is typed and refused with the engine's message, as top-p 0 is
    m_stop = new QLineEdit;
    m_stop->setPlaceholderText(tr("e.g.  .  ,  \\n"));
    addRow(QStringLiteral("stop"), tr("Stop sequences"),
           tr("Generation stops when the output text contains one of these. Separate them with commas; write "
              "\\n for a new line and \\, for a comma."),
           m_stop);
    m_seed = addInt(QStringLiteral("seed"), tr("Seed"),
                    tr("The random generator's seed. The same seed, settings and prompt always give the same "
                       "text — change it to see another sample."),
                    0, std::numeric_limits<int>::max());
    auto* dice = new QPushButton(tr("New"));
    dice->setToolTip(tr("Pick a random seed."));
    // The seed's box and the button share the two editor columns, so the row fits a narrow dock.
    m_grid->removeWidget(m_seed);
    m_grid->addWidget(m_seed, m_row - 2, 1);
    m_grid->addWidget(dice, m_row - 2, 2);
    connect(dice, &QPushButton::clicked, this, [this] { m_seed->setValue(int(QRandomGenerator::global()->bounded(1000000))); });

    buildConstraintRows();

    auto* defaults = new QPushButton(tr("Reset to defaults"));
    defaults->setToolTip(tr("Every stage off: plain sampling from the model's distribution at temperature 1."));
    m_grid->addWidget(defaults, m_row++, 0, 1, 4);
    connect(defaults, &QPushButton::clicked, this, [this] {
        logitscope::SamplingParams p;
        p.seed = m_controller->sampling().seed;
        setParams(p);
        emitChange();
    });
    m_generalError = new QLabel;
    m_generalError->setWordWrap(true);
    m_generalError->setStyleSheet(QString::fromLatin1(kErrorStyle));
    m_generalError->hide();
    m_grid->addWidget(m_generalError, m_row++, 0, 1, 4);
    m_grid->setRowStretch(m_row, 1);

    connect(m_greedy, &QCheckBox::toggled, this, &SamplingPanel::emitChange);
    connect(m_order, &QComboBox::currentIndexChanged, this, &SamplingPanel::emitChange);
    connect(m_stop, &QLineEdit::textChanged, this, &SamplingPanel::emitChange);
    connect(this, &SamplingPanel::paramsEdited, controller, &InferenceController::setSampling);
    connect(controller, &InferenceController::samplingApplied, this, [this](const logitscope::SamplingParams&) {
        // Accepted: clear the marks only if the controls still say what was accepted.
        if (params() == m_controller->sampling())
            clearErrors();
    });
    connect(controller, &InferenceController::samplingFailed, this, &SamplingPanel::showError);
    connect(controller, &InferenceController::distributionAvailable, this, &SamplingPanel::showMirostat);

    setParams(controller->sampling());
}

void SamplingPanel::addSection(const QString& title, const QString& tip)
{
    auto* label = new QLabel(QStringLiteral("<b>%1</b>").arg(title.toHtmlEscaped()));
    label->setToolTip(tip);
    label->setContentsMargins(0, 6, 0, 0);
    m_grid->addWidget(label, m_row++, 0, 1, 4);
}

void SamplingPanel::buildLlamaCppRows()
{
    addSection(tr("llama.cpp samplers"),
               tr("The samplers llama.cpp, text-generation-webui and SillyTavern users tune, with llama.cpp's "
                  "semantics and parameter names. In the llama.cpp order they sit where llama.cpp's default "
                  "chain puts them; each is off at its default."));
    m_logitBias = new QLineEdit;
    m_logitBias->setObjectName(QStringLiteral("logitBias"));
    m_logitBias->setPlaceholderText(tr("e.g.  13=-inf, 42=2.5, 'the'=-3"));
    addRow(QStringLiteral("logit_bias"), tr("Logit bias"),
           tr("Added to a token's logit before any other stage: ID=BIAS for a token id, 'TEXT'=BIAS for every token "
              "of a text. -inf bans the token. Separate entries with commas."),
           m_logitBias);
    m_dryMultiplier = addDouble(QStringLiteral("dry_multiplier"), tr("DRY multiplier"),
                                tr("DRY (\"don't repeat yourself\"): a token that would extend a sequence already "
                                   "seen in the text gets a penalty multiplier × base^(length − allowed length). "
                                   "0 = off; 0.8 is a common value."),
                                0.0, 5.0, 0.05, 2, 100);
    m_dryBase = addDouble(QStringLiteral("dry_base"), tr("DRY base"),
                          tr("How fast DRY's penalty grows with the length of the repeated sequence (1.75)."),
                          1.0, 4.0, 0.05, 2, 100);
    m_dryAllowedLength = addInt(QStringLiteral("dry_allowed_length"), tr("DRY allowed length"),
                                tr("Repeats up to this many tokens are not penalised (2)."), 0, 50);
    m_dryPenaltyLastN = addInt(QStringLiteral("dry_penalty_last_n"), tr("DRY last n"),
                               tr("How many recent tokens DRY looks at: -1 = the whole context, 0 = off."), -1, 100000);
    m_dryBreakers = new QLineEdit;
    addRow(QStringLiteral("dry_sequence_breakers"), tr("DRY breakers"),
           tr("Texts that end a repeated sequence for DRY (llama.cpp's default: new line, colon, quote, "
              "asterisk). Separate with commas; write \\n for a new line and \\, for a comma."),
           m_dryBreakers);
    m_xtcProbability = addDouble(QStringLiteral("xtc_probability"), tr("XTC probability"),
                                 tr("XTC (\"exclude top choices\"): with this probability per step, every token above "
                                    "the threshold except the least likely of them is removed — it pushes away from "
                                    "the obvious choice. 0 = off."),
                                 0.0, 1.0, 0.05, 2, 100);
    m_xtcThreshold = addDouble(QStringLiteral("xtc_threshold"), tr("XTC threshold"),
                               tr("Tokens at least this likely count as top choices for XTC (0.1; above 0.5 XTC "
                                  "never acts)."),
                               0.0, 1.0, 0.01, 2, 100);
    m_topNSigma = addDouble(QStringLiteral("top_n_sigma"), tr("Top-nσ"),
                            tr("Keeps the tokens whose logit is within n standard deviations of the largest logit "
                               "(off at -1)."),
                            -1.0, 10.0, 0.1, 2, 10);
    m_topNSigma->setSpecialValueText(tr("off"));
    m_mirostat = new QComboBox;
    m_mirostat->setObjectName(QStringLiteral("mirostat"));
    m_mirostat->addItem(tr("Off"), 0);
    m_mirostat->addItem(tr("Mirostat v1"), 1);
    m_mirostat->addItem(tr("Mirostat v2"), 2);
    addRow(QStringLiteral("mirostat"), tr("Mirostat"),
           tr("Mirostat aims at a target surprise (tau, bits per token) and steers the cut-off mu after every "
              "token by eta × (observed − target). It replaces the truncations and the draw (llama.cpp order)."),
           m_mirostat);
    m_mirostatTau = addDouble(QStringLiteral("mirostat_tau"), tr("Mirostat tau"),
                              tr("The target surprise, in bits per token (5)."), 0.0, 20.0, 0.1, 2, 10);
    m_mirostatEta = addDouble(QStringLiteral("mirostat_eta"), tr("Mirostat eta"),
                              tr("How fast mu follows the observed surprise (0.1)."), 0.001, 1.0, 0.01, 3, 1000);
    m_mirostatState = new QLabel;
    m_mirostatState->setObjectName(QStringLiteral("mirostatState"));
    m_mirostatState->setStyleSheet(QStringLiteral("color: #555"));
    m_mirostatState->hide();
    m_grid->addWidget(m_mirostatState, m_row++, 0, 1, 4);
    m_dynatempRange = addDouble(QStringLiteral("dynatemp_range"), tr("Dynamic temp. range"),
                                tr("Dynamic temperature: T varies within temperature ± range with the distribution's "
                                   "normalised entropy — sharper when the model is sure, flatter when not. 0 = off."),
                                0.0, 5.0, 0.05, 2, 100);
    m_dynatempExponent = addDouble(QStringLiteral("dynatemp_exponent"), tr("Dynamic temp. exponent"),
                                   tr("Shapes how T follows the entropy (1 = linear)."), 0.0, 10.0, 0.1, 2, 10);
    connect(m_logitBias, &QLineEdit::textChanged, this, &SamplingPanel::emitChange);
    connect(m_dryBreakers, &QLineEdit::textChanged, this, &SamplingPanel::emitChange);
    connect(m_mirostat, &QComboBox::currentIndexChanged, this, &SamplingPanel::emitChange);
}

void SamplingPanel::showMirostat(const Distribution& d)
{
    QString state;
    for (const StageSummary& s : d.stages)
        if (s.name.startsWith(QLatin1String("mirostat")) && !s.detail.isEmpty())
            state = tr("%1 at this step: %2").arg(s.name, s.detail);
    m_mirostatState->setText(state);
    m_mirostatState->setVisible(!state.isEmpty());
}

QString SamplingPanel::mirostatState() const
{
    return m_mirostatState->isHidden() ? QString() : m_mirostatState->text();
}

void SamplingPanel::buildConstraintRows()
{
    const QString tip = tr("Constrained decoding: a grammar (GBNF, llama.cpp's format) or a JSON Schema. The "
                           "\"grammar\" stage runs first and forbids every token whose text the grammar does not "
                           "allow at this point, so the output always fits it. The bars show the forbidden "
                           "candidates cross-hatched, with the probability mass the grammar removed. A grammar "
                           "covers the whole output: set it before generating (or after Reset).");
    m_constraintKind = new QComboBox;
    m_constraintKind->addItem(tr("None"), int(Constraint::None));
    m_constraintKind->addItem(tr("GBNF grammar"), int(Constraint::Gbnf));
    m_constraintKind->addItem(tr("JSON Schema"), int(Constraint::JsonSchema));
    m_constraintKind->setObjectName(QStringLiteral("constraintKind"));
    m_constraintExamples = new QComboBox;
    m_constraintExamples->setObjectName(QStringLiteral("constraintExamples"));
    m_constraintExamples->addItem(tr("Examples…"));
    for (const auto& e : kExamples)
        m_constraintExamples->addItem(tr(e.title));
    auto* open = new QPushButton(tr("Open…"));
    open->setToolTip(tr("Read a .gbnf grammar or a .json schema from a file."));
    auto* kindRow = new QWidget;
    auto* kindLayout = new QHBoxLayout(kindRow);
    kindLayout->setContentsMargins(0, 0, 0, 0);
    kindLayout->addWidget(m_constraintKind, 1);
    kindLayout->addWidget(m_constraintExamples, 1);
    kindLayout->addWidget(open);
    addRow(QStringLiteral("constraint"), tr("Constraint"), tip, kindRow);

    m_constraintText = new QPlainTextEdit;
    m_constraintText->setObjectName(QStringLiteral("constraintText"));
    m_constraintText->setFont(QFontDatabase::systemFont(QFontDatabase::FixedFont));
    m_constraintText->setLineWrapMode(QPlainTextEdit::NoWrap);
    m_constraintText->setFixedHeight(6 * m_constraintText->fontMetrics().lineSpacing() + 12);
    m_constraintText->setPlaceholderText(tr("root ::= \"yes\" | \"no\""));
    m_constraintText->setEnabled(false);
    // Errors name "grammar" (GBNF) or "json_schema": both land under the box.
    addRow(QStringLiteral("grammar"), QString(), tip, m_constraintText);
    m_rows.insert(QStringLiteral("json_schema"), m_rows.value(QStringLiteral("grammar")));

    m_constraintPause = new QTimer(this);
    m_constraintPause->setSingleShot(true);
    m_constraintPause->setInterval(350);
    connect(m_constraintPause, &QTimer::timeout, this, &SamplingPanel::emitChange);
    connect(m_constraintText, &QPlainTextEdit::textChanged, this, [this] {
        if (!m_loading)
            m_constraintPause->start();
    });
    connect(m_constraintKind, &QComboBox::currentIndexChanged, this, [this] {
        m_constraintText->setEnabled(Constraint(m_constraintKind->currentData().toInt()) != Constraint::None);
        m_constraintText->setPlaceholderText(Constraint(m_constraintKind->currentData().toInt()) == Constraint::JsonSchema
                                                 ? tr("{\"type\": \"object\", \"properties\": {...}}")
                                                 : tr("root ::= \"yes\" | \"no\""));
        emitChange();
    });
    connect(m_constraintExamples, &QComboBox::activated, this, [this](int index) {
        if (index <= 0)
            return;
        const ConstraintExample& e = kExamples[index - 1];
        setConstraint(e.kind, QString::fromUtf8(e.text));
        m_constraintExamples->setCurrentIndex(0);
    });
    connect(open, &QPushButton::clicked, this, [this] {
        const QString file = QFileDialog::getOpenFileName(this, tr("Open a grammar or JSON Schema"), QString(),
                                                          tr("Grammars and schemas (*.gbnf *.json);;All files (*)"));
        if (file.isEmpty())
            return;
        QFile f(file);
        if (!f.open(QIODevice::ReadOnly)) {
            showError(tr("grammar: cannot read %1: %2").arg(file, f.errorString()));
            return;
        }
        setConstraint(file.endsWith(QLatin1String(".json"), Qt::CaseInsensitive) ? Constraint::JsonSchema : Constraint::Gbnf,
                      QString::fromUtf8(f.readAll()));
    });
}

void SamplingPanel::setConstraint(Constraint kind, const QString& text)
{
    {
        QSignalBlocker block(m_constraintKind);
        m_constraintKind->setCurrentIndex(std::max(0, m_constraintKind->findData(int(kind))));
    }
    m_constraintText->setEnabled(kind != Constraint::None);
    m_constraintText->setPlainText(text); // textChanged starts the pause; the change is applied after it
}

void SamplingPanel::addRow(const QString& key, const QString& label, const QString& tip, QWidget* editor, QSlider* slider)
{
    Row row;
    if (!label.isEmpty()) {
        row.label = new QLabel(label + QLatin1Char(':'));
        row.label->setToolTip(tip);
        m_grid->addWidget(row.label, m_row, 0);
    }
    editor->setToolTip(tip);
    row.editor = editor;
    if (slider) {
        slider->setToolTip(tip);
        m_grid->addWidget(slider, m_row, 1);
        m_grid->addWidget(editor, m_row, 2);
    } else {
        m_grid->addWidget(editor, m_row, label.isEmpty() ? 0 : 1, 1, label.isEmpty() ? 3 : 2);
    }
    ++m_row;
    row.error = new QLabel;
    row.error->setWordWrap(true);
    row.error->setStyleSheet(QString::fromLatin1(kErrorStyle));
    row.error->hide();
    m_grid->addWidget(row.error, m_row++, 0, 1, 4);
    m_rows.insert(key, row);
}

QDoubleSpinBox* SamplingPanel::addDouble(const QString& key, const QString& label, const QString& tip, double min,
                                         double max, double step, int decimals, int sliderScale, QSlider** sliderOut)
{
    auto* spin = new QDoubleSpinBox;
    spin->setRange(min, max);
    spin->setSingleStep(step);
    spin->setDecimals(decimals);
    spin->setKeyboardTracking(false);
    auto* slider = new QSlider(Qt::Horizontal);
    slider->setMinimumWidth(60);
    const double sliderMax = key == QLatin1String("temperature") ? 2.0 : max;
    slider->setRange(int(std::lround(min * sliderScale)), int(std::lround(sliderMax * sliderScale)));
    connect(slider, &QSlider::valueChanged, this, [this, spin, sliderScale](int v) {
        QSignalBlocker block(spin);
        spin->setValue(double(v) / sliderScale);
        emitChange();
    });
    connect(spin, &QDoubleSpinBox::valueChanged, this, [this, slider, sliderScale](double v) {
        QSignalBlocker block(slider);
        slider->setValue(int(std::lround(v * sliderScale)));
        emitChange();
    });
    spin->setProperty("slider", QVariant::fromValue(static_cast<QObject*>(slider)));
    spin->setProperty("sliderScale", sliderScale);
    addRow(key, label, tip, spin, slider);
    if (sliderOut)
        *sliderOut = slider;
    return spin;
}

QSpinBox* SamplingPanel::addInt(const QString& key, const QString& label, const QString& tip, int min, int max,
                                int sliderMax)
{
    auto* spin = new QSpinBox;
    spin->setRange(min, max);
    spin->setKeyboardTracking(false);
    if (sliderMax > 0) {
        auto* slider = new QSlider(Qt::Horizontal);
        slider->setRange(min, sliderMax);
        connect(slider, &QSlider::valueChanged, this, [this, spin](int v) {
            QSignalBlocker block(spin);
            spin->setValue(v);
            emitChange();
        });
        connect(spin, &QSpinBox::valueChanged, this, [this, slider](int v) {
            QSignalBlocker block(slider);
            slider->setValue(v);
            emitChange();
        });
        spin->setProperty("slider", QVariant::fromValue(static_cast<QObject*>(slider)));
        addRow(key, label, tip, spin, slider);
    } else {
        connect(spin, &QSpinBox::valueChanged, this, &SamplingPanel::emitChange);
        addRow(key, label, tip, spin);
    }
    return spin;
}

logitscope::SamplingParams SamplingPanel::params() const
{
    logitscope::SamplingParams p = m_controller->sampling(); // keeps fields without a control (beam settings)
    p.greedy = m_greedy->isChecked();
    p.temperature = m_temperature->value();
    p.topK = m_topK->value();
    p.topP = m_topP->value();
    p.minP = m_minP->value();
    p.typicalP = m_typicalP->value();
    p.repetitionPenalty = m_repetition->value();
    p.presencePenalty = m_presence->value();
    p.frequencyPenalty = m_frequency->value();
    p.noRepeatNgram = m_noRepeat->value();
    p.minNewTokens = m_minNew->value();
    p.maxNewTokens = m_maxNew->value();
    p.stop = parseStops(m_stop->text());
    p.seed = uint64_t(m_seed->value());
    p.order = logitscope::SamplerOrder(m_order->currentData().toInt());
    p.logitBias = parseLogitBias(m_logitBias->text());
    p.dryMultiplier = m_dryMultiplier->value();
    p.dryBase = m_dryBase->value();
    p.dryAllowedLength = m_dryAllowedLength->value();
    p.dryPenaltyLastN = m_dryPenaltyLastN->value();
    p.drySequenceBreakers = parseStops(m_dryBreakers->text());
    p.xtcProbability = m_xtcProbability->value();
    p.xtcThreshold = m_xtcThreshold->value();
    p.topNSigma = m_topNSigma->value();
    p.mirostat = m_mirostat->currentData().toInt();
    p.mirostatTau = m_mirostatTau->value();
    p.mirostatEta = m_mirostatEta->value();
    p.dynatempRange = m_dynatempRange->value();
    p.dynatempExponent = m_dynatempExponent->value();
    const auto kind = Constraint(m_constraintKind->currentData().toInt());
    const std::string text = m_constraintText->toPlainText().toStdString();
    p.grammar = kind == Constraint::Gbnf ? text : std::string();
    p.jsonSchema = kind == Constraint::JsonSchema ? text : std::string();
    return p;
}

void SamplingPanel::setParams(const logitscope::SamplingParams& p)
{
    m_loading = true;
    auto setD = [](QDoubleSpinBox* s, double v) {
        s->setValue(v); // the slider follows through the spin box's signal; emitChange is muted by m_loading
    };
    m_greedy->setChecked(p.greedy);
    setD(m_temperature, p.temperature);
    m_topK->setValue(p.topK);
    setD(m_topP, p.topP);
    setD(m_minP, p.minP);
    setD(m_typicalP, p.typicalP);
    setD(m_repetition, p.repetitionPenalty);
    setD(m_presence, p.presencePenalty);
    setD(m_frequency, p.frequencyPenalty);
    m_noRepeat->setValue(p.noRepeatNgram);
    m_minNew->setValue(p.minNewTokens);
    m_maxNew->setValue(p.maxNewTokens);
    m_stop->setText(formatStops(p.stop));
    m_seed->setValue(int(std::min<uint64_t>(p.seed, uint64_t(std::numeric_limits<int>::max()))));
    m_order->setCurrentIndex(std::max(0, m_order->findData(int(p.order))));
    if (parseLogitBias(m_logitBias->text()) != p.logitBias)
        m_logitBias->setText(formatLogitBias(p.logitBias));
    setD(m_dryMultiplier, p.dryMultiplier);
    setD(m_dryBase, p.dryBase);
    m_dryAllowedLength->setValue(p.dryAllowedLength);
    m_dryPenaltyLastN->setValue(p.dryPenaltyLastN);
    m_dryBreakers->setText(formatStops(p.drySequenceBreakers));
    setD(m_xtcProbability, p.xtcProbability);
    setD(m_xtcThreshold, p.xtcThreshold);
    setD(m_topNSigma, std::max(-1.0, p.topNSigma));
    m_mirostat->setCurrentIndex(std::max(0, m_mirostat->findData(p.mirostat)));
    setD(m_mirostatTau, p.mirostatTau);
    setD(m_mirostatEta, p.mirostatEta);
    setD(m_dynatempRange, p.dynatempRange);
    setD(m_dynatempExponent, p.dynatempExponent);
    const Constraint kind = !p.grammar.empty() ? Constraint::Gbnf : !p.jsonSchema.empty() ? Constraint::JsonSchema : Constraint::None;
    m_constraintKind->setCurrentIndex(std::max(0, m_constraintKind->findData(int(kind))));
    m_constraintText->setEnabled(kind != Constraint::None);
    const QString text = QString::fromStdString(kind == Constraint::JsonSchema ? p.jsonSchema : p.grammar);
    if (m_constraintText->toPlainText() != text)
        m_constraintText->setPlainText(text);
    m_loading = false;
}

void SamplingPanel::emitChange()
{
    if (m_loading)
        return;
    m_constraintPause->stop();
    m_temperature->setEnabled(!m_greedy->isChecked());
    emit paramsEdited(params());
}

QString SamplingPanel::errorFor(const QString& key) const
{
    const auto it = m_rows.find(key);
    if (it == m_rows.end() || it->error->isHidden())
        return {};
    return it->error->text();
}

void SamplingPanel::clearErrors()
{
    for (auto& row : m_rows) {
        row.error->hide();
        row.editor->setStyleSheet(QString());
    }
    m_generalError->hide();
}

void SamplingPanel::showError(const QString& message)
{
    clearErrors();
    // The engine names the setting by its JSON key (e.g. "top_p"); put the message next to that control.
    QString best;
    for (auto it = m_rows.begin(); it != m_rows.end(); ++it) {
        const QString& key = it.key();
        if (message.contains(key) && key.size() > best.size())
            best = key;
    }
    if (best.isEmpty()) {
        m_generalError->setText(tr("Not applied: %1").arg(message));
        m_generalError->show();
        return;
    }
    Row& row = m_rows[best];
    row.error->setText(tr("Not applied: %1").arg(message));
    row.error->show();
    row.editor->setStyleSheet(QStringLiteral("background: #fdecee;"));
}

} // namespace logitscope::gui
