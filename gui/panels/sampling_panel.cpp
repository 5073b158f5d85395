// The Sampling controls panel.
#include "panels/sampling_panel.h"
#include "panels/scrolling_page.h"

#include "models/inference_controller.h"

#include <QCheckBox>
#include <QComboBox>
#include <QDoubleSpinBox>
#include <QGridLayout>
#include <QLabel>
#include <QLineEdit>
#include <QPushButton>
#include <QRandomGenerator>
#include <QSignalBlocker>
#include <QSlider>
#include <QSpinBox>

#include <cmath>

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

    setParams(controller->sampling());
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
    m_loading = false;
}

void SamplingPanel::emitChange()
{
    if (m_loading)
        return;
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
