// HubDownloadDialog: downloads a model from the Hugging Face Hub into the shared cache (hub::HubPull),
// with a progress bar showing bytes and speed, a log of what happened, cancel, and resume on the next
// try. It ends with the path to open; it does not open the model itself.
#pragma once

#include "hub_environment.h"
#include "hub_pull.h"

#include <QDialog>

class QLabel;
class QLineEdit;
class QPlainTextEdit;
class QProgressBar;
class QPushButton;

namespace logitscope::gui {

class HubDownloadDialog : public QDialog {
    Q_OBJECT
public:
    explicit HubDownloadDialog(QWidget* parent = nullptr);

    // Endpoint, cache and token (default: from HF_ENDPOINT, HF_HOME, HF_TOKEN).
    void setEnvironment(const hub::HubEnvironment& env);
    // Fills the form (e.g. "TinyLlama/TinyLlama-1.1B-Chat-v1.0"); includes are space-separated globs.
    void setRequest(const QString& repoId, const QString& revision = "main", const QString& includes = {});
    QString modelPath() const { return m_modelPath; }  // after modelDownloaded
    bool isDownloading() const { return m_pull->isRunning(); }
    QString statusText() const;

public slots:
    void startDownload();
    void cancelDownload();
    void reject() override; // closing cancels a running download

signals:
    void modelDownloaded(const QString& modelPath);
    void downloadFailed(const QString& message);

private:
    void showProgress(const hub::PullProgress& p);
    void finished(const hub::PullResult& r);
    void failed(const QString& message);
    void setRunning(bool running);
    void log(const QString& line);

    hub::HubEnvironment m_env = hub::HubEnvironment::fromProcess();
    hub::HubPull* m_pull = nullptr;
    QLineEdit* m_repo = nullptr;
    QLineEdit* m_revision = nullptr;
    QLineEdit* m_includes = nullptr;
    QLabel* m_where = nullptr;
    QProgressBar* m_progress = nullptr;
    QLabel* m_status = nullptr;
    QPlainTextEdit* m_log = nullptr;
    QPushButton* m_download = nullptr;
    QPushButton* m_cancel = nullptr;
    QPushButton* m_open = nullptr;
    QString m_modelPath;
};

} // namespace logitscope::gui
