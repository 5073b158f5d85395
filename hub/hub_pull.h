// HubPull: downloads a model repository from the Hugging Face Hub into the shared cache layout
// (hub_cache.h), asynchronously on the Qt event loop: listing, per-file metadata (HEAD), then each
// missing blob with HTTP Range resume into "<blob>.incomplete", size and SHA-256 checks, snapshot links,
// and the ref last. Used by the GUI's download dialog and by `logitscope-cli pull` (which runs a
// QCoreApplication). Not a general Hub client: no uploads, no search, models only.
#pragma once

#include "hub_cache.h"
#include "hub_environment.h"

#include <QCryptographicHash>
#include <QElapsedTimer>
#include <QFile>
#include <QList>
#include <QObject>
#include <QPointer>
#include <QString>
#include <QStringList>
#include <QUrl>

#include <deque>
#include <memory>
#include <utility>

class QNetworkAccessManager;
class QNetworkReply;

namespace logitscope::hub {

struct PullRequest {
    QString repoId;                 // "ORG/NAME"
    QString revision = "main";      // branch, tag or commit
    QStringList includes;           // globs choosing the weights (e.g. "*Q8_0.gguf"); empty: all safetensors
    HubEnvironment env = HubEnvironment::fromProcess();
    int retries = 3;                // automatic resumes (HTTP Range) per file after a dropped connection
    int retryDelayMs = 500;
    int stallTimeoutMs = 60000;     // a transfer with no data for this long counts as dropped
};

// One file of the pull as the Hub describes it (HEAD of its resolve URL).
struct PullFile {
    QString name;          // path inside the repository
    QString etag;          // the blob's name: X-Linked-Etag for LFS files, else ETag, without quotes
    qint64 size = -1;      // X-Linked-Size, else Content-Length
    bool lfs = false;      // etag is the SHA-256 of the content, checked after download
    bool cached = false;   // the blob was already complete in the cache
};

struct PullProgress {
    QString file;
    int fileIndex = 0;          // 1-based, among all files of the pull
    int fileCount = 0;
    qint64 fileBytes = 0;       // of this file, on disk (a resumed part included)
    qint64 fileTotal = 0;
    qint64 bytes = 0;           // of all files (cached ones count as done)
    qint64 total = 0;
    double bytesPerSecond = 0;  // over the last few seconds
};

struct PullResult {
    QString repoId;
    QString revision;
    QString commit;
    QString snapshotPath;       // what Model::load takes (for a GGUF pull: the folder holding the .gguf)
    QList<PullFile> files;
    qint64 downloadedBytes = 0; // transferred by this run
    qint64 totalBytes = 0;
};

class HubPull : public QObject {
    Q_OBJECT
public:
    explicit HubPull(QObject* parent = nullptr);
    ~HubPull() override;

    // Starts a pull; results arrive as signals, never before start() returns. One pull at a time.
    void start(const PullRequest& request);
    // Stops the transfer; the part already received stays in "<blob>.incomplete" for the next pull.
    void cancel();
    bool isRunning() const { return m_running; }

signals:
    void listingFinished(const QList<logitscope::hub::PullFile>& files, qint64 totalBytes);
    void progressAvailable(const logitscope::hub::PullProgress& progress);
    void noticeAvailable(const QString& message); // resuming, retrying after a dropped connection
    void fileFinished(const logitscope::hub::PullFile& file);
    void pullFinished(const logitscope::hub::PullResult& result);
    void pullFailed(const QString& message);
    void pullCancelled();

private:
    enum class Phase { Idle, Listing, Head, Download };

    QUrl apiUrl() const;
    QUrl resolveUrl(const QString& file) const;
    QNetworkReply* send(const QString& verb, const QUrl& url, qint64 rangeFrom = 0);

    void onListingFinished(QNetworkReply* reply);
    void headNext();
    void onHeadFinished(QNetworkReply* reply, int redirects);
    void downloadNext();
    void openPart();
    void sendGet(const QUrl& url, int redirects);
    void onGetData(QNetworkReply* reply);
    void onGetFinished(QNetworkReply* reply, int redirects);
    void connectionLost(const QString& why);
    void completeFile();
    void linkFile(const PullFile& f);
    void finish();
    void fail(const QString& message);
    void stopTransfer();
    void emitProgress(bool force);

    QString httpProblem(QNetworkReply* reply, const QString& file) const;

    QNetworkAccessManager* m_network = nullptr;
    PullRequest m_request;
    std::unique_ptr<HubCache> m_cache;
    bool m_running = false;
    Phase m_phase = Phase::Idle;
    QPointer<QNetworkReply> m_reply;
    quint64 m_generation = 0;      // bumps on cancel/fail so late callbacks (timers) do nothing

    QString m_commit;
    QStringList m_names;           // chosen files
    QList<PullFile> m_files;       // after the HEADs
    int m_index = 0;               // file being looked at (HEAD) or downloaded

    // The download of m_files[m_index].
    QFile m_part;                  // "<blob>.incomplete"
    BlobLock m_lock;
    QCryptographicHash m_hash{QCryptographicHash::Sha256};
    qint64 m_partBytes = 0;        // bytes in m_part
    qint64 m_requestFrom = 0;      // Range start of the request in flight
    bool m_responseChecked = false;
    bool m_writing = false;        // the reply in flight carries the file's bytes (200/206)
    int m_attempt = 0;

    qint64 m_doneBytes = 0;        // files finished (cached ones included)
    qint64 m_totalBytes = 0;
    qint64 m_transferred = 0;
    QElapsedTimer m_clock;
    qint64 m_lastProgressMs = -1000;
    std::deque<std::pair<qint64, qint64>> m_samples; // (ms, m_transferred) for the speed
};

} // namespace logitscope::hub

Q_DECLARE_METATYPE(logitscope::hub::PullFile)
Q_DECLARE_METATYPE(logitscope::hub::PullProgress)
Q_DECLARE_METATYPE(logitscope::hub::PullResult)
