// The Model panel.
#include "panels/model_panel.h"
#include "panels/scrolling_page.h"

#include "models/inference_controller.h"

#include "model/backend.h"

#ifdef LOGITSCOPE_HAVE_HUB
#include "hub_download_dialog.h"
#include "model_browser_dialog.h"
#include "recent_models.h"
#endif

#include <QComboBox>
#include <QFileDialog>
#include <QFileInfo>
#include <QFormLayout>
#include <QHBoxLayout>
#include <QLabel>
#include <QLocale>
#include <QProgressBar>
#include <QPushButton>
#include <QSignalBlocker>
#include <QVBoxLayout>

namespace logitscope::gui {

namespace {

enum Row { NameRow, ArchRow, ParamsRow, DtypeRow, ContextRow, ShapeRow, DeviceRow, KvRow, RowCount };

QString humanBytes(double bytes)
{
    return QLocale().formattedDataSize(qint64(bytes), 1, QLocale::DataSizeTraditionalFormat);
}

QString humanCount(double n)
{
    if (n >= 1e9)
        return QString::number(n / 1e9, 'f', 2) + QStringLiteral(" B");
    if (n >= 1e6)
        return QString::number(n / 1e6, 'f', 1) + QStringLiteral(" M");
    if (n >= 1e3)
        return QString::number(n / 1e3, 'f', 1) + QStringLiteral(" k");
    return QString::number(n, 'f', 0);
}

} // namespace

ModelPanel::ModelPanel(InferenceController* controller, QWidget* parent) : QWidget(parent), m_controller(controller)
{
    // The facts wrap in a narrow dock; in a short one they scroll instead of being cut off.
    auto* layout = new QVBoxLayout(scrollingPage(this));

    auto* buttons = new QHBoxLayout;
    m_openFile = new QPushButton(tr("Open GGUF…"), this);
    m_openFile->setToolTip(tr("Open a single-file model in llama.cpp's GGUF format."));
    m_openFolder = new QPushButton(tr("Open HF folder…"), this);
    m_openFolder->setToolTip(tr("Open a Hugging Face model folder (config.json, *.safetensors and a tokenizer)."));
    buttons->addWidget(m_openFile);
    buttons->addWidget(m_openFolder);
    layout->addLayout(buttons);

    auto* deviceRow = new QHBoxLayout;
    deviceRow->addWidget(new QLabel(tr("Device:"), this));
    m_device = new QComboBox(this);
    m_device->addItem(tr("Automatic"), QStringLiteral("auto"));
    for (const auto& name : logitscope::availableBackends())
        m_device->addItem(QString::fromStdString(name).toUpper(), QString::fromStdString(name));
    m_device->setToolTip(tr("Where the arithmetic runs. Automatic uses the GPU when one is available and "
                            "falls back to the CPU. Takes effect when a model is opened."));
    deviceRow->addWidget(m_device, 1);
    layout->addLayout(deviceRow);

    auto* kvRow = new QHBoxLayout;
    kvRow->addWidget(new QLabel(tr("KV cache:"), this));
    m_kvType = new QComboBox(this);
    m_kvType->addItem(tr("fp32 (exact)"), QStringLiteral("f32"));
    m_kvType->addItem(tr("fp16 (half)"), QStringLiteral("f16"));
    // Sized like the device box, not by its longest entry: the dock stays as narrow as it was.
    m_kvType->setSizeAdjustPolicy(QComboBox::AdjustToMinimumContentsLengthWithIcon);
    m_kvType->setMinimumContentsLength(8);
    m_kvType->setToolTip(tr("How the CPU stores every token's keys and values. fp16 (llama.cpp's default) halves the "
                            "cache (see the KV cache row below and the KV cache panel) and rounds each key and value "
                            "to about 3 significant digits: compare the bars before and after. A GPU always stores "
                            "fp16. Changing it reopens the model."));
    kvRow->addWidget(m_kvType, 1);
    layout->addLayout(kvRow);

    auto* weightsRow = new QHBoxLayout;
    weightsRow->addWidget(new QLabel(tr("Weights:"), this));
    m_weights = new QComboBox(this);
    m_weights->addItem(tr("as stored"), QString());
    const struct { const char* name; const char* label; } kWeightChoices[] = {
        {"q8_0", "Q8_0 (8.5 bits)"}, {"q6_k", "Q6_K (6.6 bits)"}, {"q5_k_m", "Q5_K_M (~5.7 bits)"},
        {"q4_k_m", "Q4_K_M (~4.8 bits)"}, {"q4_0", "Q4_0 (4.5 bits)"}, {"q3_k", "Q3_K (3.4 bits)"},
        {"q2_k", "Q2_K (2.6 bits)"},
    };
    for (const auto& c : kWeightChoices)
        m_weights->addItem(QString::fromLatin1(c.label), QString::fromLatin1(c.name));
    m_weights->setSizeAdjustPolicy(QComboBox::AdjustToMinimumContentsLengthWithIcon);
    m_weights->setMinimumContentsLength(8);
    m_weights->setToolTip(tr("Run the model with its weight matrices quantized again, in memory, the way GGUF files "
                             "store them: a few bits per weight and a scale per block. The weights shrink (see the "
                             "row below); watch how far the bars move. K-quant rows that are not a multiple of 256 "
                             "wide fall back to Q5_0, Q5_1, Q8_0 or IQ4_NL, as llama.cpp's quantizer does. "
                             "Changing it reopens the model."));
    weightsRow->addWidget(m_weights, 1);
    layout->addLayout(weightsRow);
    for (QComboBox* box : {m_kvType, m_weights})
        connect(box, &QComboBox::currentIndexChanged, this, [this] {
            if (m_controller->hasModel())
                load(m_controller->modelInfo().path);
        });

    m_progress = new QProgressBar(this);
    m_progress->setRange(0, 0);
    m_progress->setTextVisible(false);
    m_progress->setMaximumHeight(8);
    m_progress->hide();
    layout->addWidget(m_progress);

    m_status = new QLabel(this);
    m_status->setWordWrap(true);
    m_status->setTextFormat(Qt::RichText);
    layout->addWidget(m_status);

    m_error = new QLabel(this);
    m_error->setWordWrap(true);
    m_error->setTextInteractionFlags(Qt::TextSelectableByMouse);
    m_error->setStyleSheet(QStringLiteral("QLabel { color: #b00020; background: #fdecee; border: 1px solid #f3b7bf;"
                                          " border-radius: 4px; padding: 4px; }"));
    m_error->hide();
    layout->addWidget(m_error);

    m_form = new QFormLayout;
    m_form->setFieldGrowthPolicy(QFormLayout::AllNonFixedFieldsGrow);
    const QStringList labels = {tr("Name"),    tr("Architecture"), tr("Parameters"), tr("Weights"),
                                tr("Context"), tr("Shape"),        tr("Device"),     tr("KV cache")};
    for (int r = 0; r < RowCount; ++r) {
        auto* value = new QLabel(QStringLiteral("—"), this);
        value->setTextInteractionFlags(Qt::TextSelectableByMouse);
        value->setWordWrap(true);
        m_values.append(value);
        m_form->addRow(labels[r] + QLatin1Char(':'), value);
    }
    layout->addLayout(m_form);
    layout->addStretch(1);

    connect(m_openFile, &QPushButton::clicked, this, &ModelPanel::openFile);
    connect(m_openFolder, &QPushButton::clicked, this, &ModelPanel::openFolder);
    connect(controller, &InferenceController::modelLoadStarted, this, [this](const QString& path) {
        m_progress->show();
        m_error->hide();
        m_status->setText(tr("Loading <b>%1</b>…").arg(QFileInfo(path).fileName().toHtmlEscaped()));
        m_openFile->setEnabled(false);
        m_openFolder->setEnabled(false);
    });
    connect(controller, &InferenceController::modelLoadFinished, this, [this](const ModelInfo& info) {
        m_progress->hide();
        m_openFile->setEnabled(true);
        m_openFolder->setEnabled(true);
        showInfo(info);
    });
    connect(controller, &InferenceController::modelLoadFailed, this, [this](const QString& path, const QString& message) {
        m_progress->hide();
        m_openFile->setEnabled(true);
        m_openFolder->setEnabled(true);
        m_error->setText(tr("Could not open %1:\n%2").arg(QFileInfo(path).fileName(), message));
        m_error->setToolTip(path);
        m_error->show();
        if (m_controller->hasModel())
            showInfo(m_controller->modelInfo()); // the previous model stays loaded
        else
            showEmpty();
    });
    showEmpty();
}

void ModelPanel::setDefaultModelCandidates(const QStringList& paths)
{
    m_candidates = paths;
    if (!m_controller->hasModel())
        showEmpty();
}

QString ModelPanel::errorText() const
{
    return m_error->isHidden() ? QString() : m_error->text();
}

void ModelPanel::openFile()
{
    const QString path = QFileDialog::getOpenFileName(this, tr("Open a GGUF model"), QString(),
                                                      tr("GGUF models (*.gguf);;All files (*)"));
    if (!path.isEmpty())
        load(path);
}

void ModelPanel::openFolder()
{
    const QString path = QFileDialog::getExistingDirectory(this, tr("Open a Hugging Face model folder"));
    if (!path.isEmpty())
        load(path);
}

void ModelPanel::openPath(const QString& path)
{
#ifdef LOGITSCOPE_HAVE_HUB
    hub::RecentModels().add(path);
#endif
    load(path);
}

void ModelPanel::load(const QString& path)
{
    m_controller->loadModel(path, m_device->currentData().toString(), 0, m_kvType->currentData().toString(),
                            m_weights->currentData().toString());
}

void ModelPanel::browseModels()
{
#ifdef LOGITSCOPE_HAVE_HUB
    auto* browser = new gui::ModelBrowserDialog(this);
    browser->setAttribute(Qt::WA_DeleteOnClose);
    connect(browser, &gui::ModelBrowserDialog::modelChosen, this, &ModelPanel::openPath);
    connect(browser, &gui::ModelBrowserDialog::downloadRequested, this, [this] {
        auto* download = new gui::HubDownloadDialog(this);
        download->setAttribute(Qt::WA_DeleteOnClose);
        connect(download, &gui::HubDownloadDialog::modelDownloaded, this, &ModelPanel::openPath);
        download->show();
    });
    browser->show();
#endif
}

QString ModelPanel::weightsText() const
{
    return m_values[DtypeRow]->text();
}

void ModelPanel::setValue(int row, const QString& text, const QString& tooltip)
{
    m_values[row]->setText(text);
    m_values[row]->setToolTip(tooltip);
}

void ModelPanel::showInfo(const ModelInfo& info)
{
    if (info.backend == QLatin1String("cpu")) { // a restored session may have chosen the other type
        const QSignalBlocker quiet(m_kvType);
        m_kvType->setCurrentIndex(m_kvType->findData(info.kvType()));
    }
    {
        const QSignalBlocker quiet(m_weights);
        const int at = m_weights->findData(info.requantized);
        if (at < 0) // a type the box does not list (a saved session, the command line): add it
            m_weights->addItem(info.requantized.toUpper(), info.requantized);
        m_weights->setCurrentIndex(m_weights->findData(info.requantized));
    }
    m_status->setText(tr("<span style='color:#1b7f3b'>●</span> Model loaded"));
    setValue(NameRow, info.name, info.path);
    setValue(ArchRow, info.architecture + QStringLiteral(" (%1)").arg(info.format),
             tr("The model family: it decides how the layers are wired (norms, attention, feed-forward)."));
    setValue(ParamsRow, humanCount(double(info.parameters)), tr("Number of learned numbers (weights) in the model."));
    setValue(DtypeRow, tr("%1 · %2").arg(humanBytes(double(info.weightBytes)), info.dtype),
             tr("Bytes the weights take, and their number formats:") + QStringLiteral("\n") +
                 info.weightTypes.join(QLatin1Char('\n')));
    if (info.slidingWindow > 0)
        setValue(ContextRow, tr("%1 tokens (sliding window)").arg(QLocale().toString(info.contextLength)),
                 tr("The most tokens (prompt + output) the model can look at at once. This model attends to a "
                    "sliding window of the last %1 tokens; Logitscope does not implement the window, so it stops "
                    "there, where the window still equals full attention.")
                     .arg(QLocale().toString(info.slidingWindow)));
    else
        setValue(ContextRow, tr("%1 tokens").arg(QLocale().toString(info.contextLength)),
                 tr("The most tokens (prompt + output) the model can look at at once."));
    setValue(ShapeRow, tr("%1 layers · %2 heads (%3 KV) · width %4 · vocabulary %5")
                           .arg(info.layers).arg(info.heads).arg(info.kvHeads).arg(info.hidden)
                           .arg(QLocale().toString(info.vocabSize)));
    QString device = info.device;
    if (!info.backendNotice.isEmpty())
        device += QStringLiteral("\n(") + info.backendNotice + QLatin1Char(')');
    setValue(DeviceRow, QStringLiteral("%1 — %2").arg(info.backend.toUpper(), device));
    setValue(KvRow, tr("%1 per token · %2 for the full context (%3)")
                        .arg(humanBytes(double(info.kvBytesPerToken)),
                             humanBytes(double(info.kvBytesPerToken) * info.contextLength),
                             info.kvElementBytes == 2 ? tr("fp16") : tr("fp32")),
             tr("Every token the model has read keeps its keys and values (K/V) of every layer, so "
                "later tokens can attend to it without recomputing. This is what that memory costs."));
}

void ModelPanel::showEmpty()
{
    QString s = tr("<b>No model loaded — open one.</b><br>Use <i>Open GGUF…</i> or <i>Open HF folder…</i> above.");
    if (!m_candidates.isEmpty()) {
        s += tr("<br><small>The bundled model was looked for in:");
        for (const QString& p : m_candidates)
            s += QStringLiteral("<br>&nbsp;· ") + p.toHtmlEscaped();
        s += QStringLiteral("</small>");
    }
    m_status->setText(s);
    for (int r = 0; r < RowCount; ++r)
        setValue(r, QStringLiteral("—"));
}

} // namespace logitscope::gui
