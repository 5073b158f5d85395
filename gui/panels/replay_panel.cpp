// The trace replay panel.
#include "panels/replay_panel.h"

#include "models/trace_replay_model.h"
#include "models/token_display.h"

#include <QFileDialog>
#include <QFileInfo>
#include <QHBoxLayout>
#include <QHeaderView>
#include <QLabel>
#include <QMessageBox>
#include <QPushButton>
#include <QSlider>
#include <QSplitter>
#include <QTableView>
#include <QTextBrowser>
#include <QVBoxLayout>

#include <cmath>

namespace logitscope::gui {

ReplayPanel::ReplayPanel(QWidget* parent) : QWidget(parent), m_model(new TraceReplayModel(this))
{
    auto* layout = new QVBoxLayout(this);
    layout->setContentsMargins(4, 4, 4, 4);
    auto* row = new QHBoxLayout;
    auto* open = new QPushButton(tr("Open trace…"), this);
    open->setToolTip(tr("A trace saved with File → Export trace, or by `logitscope-cli generate --trace`. Replaying "
                        "needs no model and no GPU."));
    row->addWidget(open);
    m_source = new QLabel(tr("No trace loaded."), this);
    row->addWidget(m_source, 1);
    layout->addLayout(row);
    auto* scrub = new QHBoxLayout;
    m_slider = new QSlider(Qt::Horizontal, this);
    m_slider->setEnabled(false);
    scrub->addWidget(m_slider, 1);
    m_stepInfo = new QLabel(this);
    scrub->addWidget(m_stepInfo);
    layout->addLayout(scrub);
    auto* split = new QSplitter(Qt::Horizontal, this);
    m_text = new QTextBrowser(split);
    m_table = new QTableView(split);
    m_table->setModel(m_model);
    m_table->verticalHeader()->hide();
    m_table->verticalHeader()->setDefaultSectionSize(20);
    m_table->horizontalHeader()->setStretchLastSection(true);
    split->addWidget(m_text);
    split->addWidget(m_table);
    layout->addWidget(split, 1);
    connect(open, &QPushButton::clicked, this, &ReplayPanel::openDialog);
    connect(m_slider, &QSlider::valueChanged, this, &ReplayPanel::showStep);
}

void ReplayPanel::openDialog()
{
    const QString path = QFileDialog::getOpenFileName(this, tr("Open trace"), {}, tr("Traces (*.json);;All files (*)"));
    if (path.isEmpty())
        return;
    QString error;
    if (!openTrace(path, &error))
        QMessageBox::warning(this, tr("Open trace"), error);
}

bool ReplayPanel::openTrace(const QString& path, QString* error)
{
    QByteArray bytes;
    if (!readFileLimited(path, &bytes, error))
        return false;
    try {
        setTrace(traceFromJson(bytes), QFileInfo(path).fileName());
        return true;
    } catch (const std::exception& e) {
        if (error)
            *error = tr("%1 is not a usable trace: %2").arg(QFileInfo(path).fileName(), QString::fromUtf8(e.what()));
        return false;
    }
}

void ReplayPanel::setTrace(const Trace& trace, const QString& source)
{
    m_model->setTrace(trace);
    m_source->setText(tr("%1 — %2 steps, model %3").arg(source).arg(trace.steps.size()).arg(QFileInfo(trace.model).fileName()));
    m_slider->setEnabled(!trace.steps.empty());
    m_slider->setRange(0, std::max(0, int(trace.steps.size()) - 1));
    m_slider->setValue(0);
    showStep(0);
}

void ReplayPanel::showStep(int step)
{
    m_model->setStep(step);
    if (m_model->steps() == 0) {
        m_text->clear();
        m_stepInfo->clear();
        return;
    }
    const auto& rec = m_model->trace().steps[size_t(m_model->step())];
    m_stepInfo->setText(tr("step %1 (of 0–%2)").arg(m_model->step()).arg(m_model->steps() - 1));
    const QString before = m_model->textUpTo(m_model->step()).toHtmlEscaped();
    const QString token = QString::fromUtf8(QByteArray::fromStdString(rec.bytes)).toHtmlEscaped();
    m_text->setHtml(tr("<p style='color:gray'>%1</p><p>%2<span style='background:#ffd27a'><b>%3</b></span></p>"
                       "<p style='color:gray'>chose %4 with p = %5 after sampling (raw log p %6)%7</p>")
                        .arg(m_model->trace().prompt.toHtmlEscaped(), before, token, tokenLabel(QByteArray::fromStdString(rec.bytes)).toHtmlEscaped())
                        .arg(rec.chosenProb, 0, 'f', 3)
                        .arg(rec.chosenLogprob, 0, 'f', 3)
                        .arg(rec.forced ? tr(" — forced by the user") : QString()));
}

} // namespace logitscope::gui
