// The download dialog: a form, a progress bar, a log; hub::HubPull does the work on this thread's loop.
#include "hub_download_dialog.h"

#include "size_text.h"

#include <QDialogButtonBox>
#include <QFormLayout>
#include <QLabel>
#include <QLineEdit>
#include <QPlainTextEdit>
#include <QProgressBar>
#include <QPushButton>
#include <QRegularExpression>
#include <QVBoxLayout>

namespace logitscope::gui {

HubDownloadDialog::HubDownloadDialog(QWidget* parent) : QDialog(parent), m_pull(new hub::HubPull(this))
{
    setWindowTitle(tr("Download a model from the Hugging Face Hub"));
    resize(720, 440);

    m_repo = new QLineEdit("HuggingFaceTB/SmolLM2-135M-Instruct", this);
    m_repo->setPlaceholderText("ORG/NAME");
    m_revision = new QLineEdit("main", this);
    m_includes = new QLineEdit(this);
    m_includes->setPlaceholderText(tr("empty: config, tokenizer and all *.safetensors — or e.g. *Q8_0.gguf"));
    m_where = new QLabel(this);
    m_where->setWordWrap(true);
    m_where->setTextInteractionFlags(Qt::TextSelectableByMouse);
    m_progress = new QProgressBar(this);
    m_progress->setRange(0, 1000);
    m_progress->setValue(0);
    m_progress->setTextVisible(true);
    m_progress->setFormat("%p%");
    m_status = new QLabel(this);
    m_log = new QPlainTextEdit(this);
    m_log->setReadOnly(true);
    m_log->setMaximumBlockCount(1000);

    auto* form = new QFormLayout;
    form->addRow(tr("Repository"), m_repo);
    form->addRow(tr("Revision"), m_revision);
    form->addRow(tr("Files"), m_includes);

    auto* buttons = new QDialogButtonBox(this);
    m_download = buttons->addButton(tr("Download"), QDialogButtonBox::ActionRole);
    m_cancel = buttons->addButton(tr("Stop"), QDialogButtonBox::ActionRole);
    m_open = buttons->addButton(tr("Open"), QDialogButtonBox::AcceptRole);
    buttons->addButton(QDialogButtonBox::Close);
    m_cancel->setEnabled(false);
    m_open->setEnabled(false);
    connect(m_download, &QPushButton::clicked, this, &HubDownloadDialog::startDownload);
    connect(m_cancel, &QPushButton::clicked, this, &HubDownloadDialog::cancelDownload);
    connect(buttons, &QDialogButtonBox::accepted, this, &HubDownloadDialog::accept);
    connect(buttons, &QDialogButtonBox::rejected, this, &HubDownloadDialog::reject);

    auto* layout = new QVBoxLayout(this);
    layout->addLayout(form);
    layout->addWidget(m_where);
    layout->addWidget(m_progress);
    layout->addWidget(m_status);
    layout->addWidget(m_log, 1);
    layout->addWidget(buttons);

    connect(m_pull, &hub::HubPull::listingFinished, this, [this](const QList<hub::PullFile>& files, qint64 total) {
        int cached = 0;
        for (const hub::PullFile& f : files)
            cached += f.cached;
        log(tr("%1 files, %2 in all (%3 already in the cache)").arg(files.size()).arg(hub::sizeText(total)).arg(cached));
    });
    connect(m_pull, &hub::HubPull::progressAvailable, this, &HubDownloadDialog::showProgress);
    connect(m_pull, &hub::HubPull::noticeAvailable, this, &HubDownloadDialog::log);
    connect(m_pull, &hub::HubPull::fileFinished, this, [this](const hub::PullFile& f) {
        log((f.cached ? tr("in the cache: %1 (%2)") : tr("downloaded: %1 (%2)")).arg(f.name, hub::sizeText(f.size)));
    });
    connect(m_pull, &hub::HubPull::pullFinished, this, &HubDownloadDialog::finished);
    connect(m_pull, &hub::HubPull::pullFailed, this, &HubDownloadDialog::failed);
    connect(m_pull, &hub::HubPull::pullCancelled, this, [this] {
        setRunning(false);
        m_status->setText(tr("Stopped. What was received is kept; Download resumes it."));
        log(tr("stopped"));
    });
    setEnvironment(m_env);
}

void HubDownloadDialog::setEnvironment(const hub::HubEnvironment& env)
{
    m_env = env;
    m_where->setText(tr("From %1 into %2 · token: %3")
                         .arg(env.endpoint.toString(), env.cacheDir,
                              env.token.isEmpty() ? tr("none (set HF_TOKEN for gated or private models)") : env.tokenSource));
}

void HubDownloadDialog::setRequest(const QString& repoId, const QString& revision, const QString& includes)
{
    m_repo->setText(repoId);
    m_revision->setText(revision);
    m_includes->setText(includes);
}

QString HubDownloadDialog::statusText() const { return m_status->text(); }

void HubDownloadDialog::startDownload()
{
    if (m_pull->isRunning())
        return;
    hub::PullRequest request;
    request.repoId = m_repo->text().trimmed();
    request.revision = m_revision->text().trimmed().isEmpty() ? QString("main") : m_revision->text().trimmed();
    request.includes = m_includes->text().split(QRegularExpression("\\s+"), Qt::SkipEmptyParts);
    request.env = m_env;
    m_modelPath.clear();
    m_open->setEnabled(false);
    m_progress->setValue(0);
    m_status->setText(tr("Asking %1 for the file list…").arg(m_env.endpoint.toString()));
    log(tr("pull %1 at %2").arg(request.repoId, request.revision));
    setRunning(true);
    m_pull->start(request);
}

void HubDownloadDialog::cancelDownload()
{
    m_pull->cancel();
}

void HubDownloadDialog::reject()
{
    m_pull->cancel();
    QDialog::reject();
}

void HubDownloadDialog::showProgress(const hub::PullProgress& p)
{
    if (p.total > 0)
        m_progress->setValue(int(1000 * p.bytes / p.total));
    m_status->setText(tr("%1 of %2 · %3 · file %4 of %5: %6")
                          .arg(hub::sizeText(p.bytes), hub::sizeText(p.total), hub::speedText(p.bytesPerSecond))
                          .arg(p.fileIndex)
                          .arg(p.fileCount)
                          .arg(p.file));
}

void HubDownloadDialog::finished(const hub::PullResult& r)
{
    setRunning(false);
    m_modelPath = r.snapshotPath;
    for (const hub::PullFile& f : r.files)
        if (f.name.endsWith(".gguf")) {
            m_modelPath = r.snapshotPath + '/' + f.name;
            break;
        }
    m_progress->setValue(1000);
    m_status->setText(tr("Done: %1 downloaded, %2 in all.").arg(hub::sizeText(r.downloadedBytes), hub::sizeText(r.totalBytes)));
    log(tr("ready: %1").arg(m_modelPath));
    m_open->setEnabled(true);
    emit modelDownloaded(m_modelPath);
}

void HubDownloadDialog::failed(const QString& message)
{
    setRunning(false);
    m_status->setText(message);
    log(tr("failed: %1").arg(message));
    emit downloadFailed(message);
}

void HubDownloadDialog::setRunning(bool running)
{
    m_download->setEnabled(!running);
    m_cancel->setEnabled(running);
    m_repo->setEnabled(!running);
    m_revision->setEnabled(!running);
    m_includes->setEnabled(!running);
}

void HubDownloadDialog::log(const QString& line)
{
    m_log->appendPlainText(line);
}

} // namespace logitscope::gui
