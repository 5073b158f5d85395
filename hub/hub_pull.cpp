// The pull state machine: listing -> HEAD of every chosen file -> GET of each missing blob -> links, ref.
#include "hub_pull.h"

#include "file_selection.h"
#include "size_text.h"

#include <QDir>
#include <QFileInfo>
#include <QJsonArray>
#include <QJsonDocument>
#include <QJsonObject>
#include <QNetworkAccessManager>
#include <QNetworkReply>
#include <QNetworkRequest>
#include <QRegularExpression>
#include <QTimer>

namespace logitscope::hub {

namespace {

constexpr int kMaxRedirects = 10;

QString header(QNetworkReply* reply, const char* name)
{
    return QString::fromLatin1(reply->rawHeader(name)).trimmed();
}

int status(QNetworkReply* reply)
{
    return reply->attribute(QNetworkRequest::HttpStatusCodeAttribute).toInt();
}

// `W/"abc"` -> `abc`.
QString normaliseEtag(QString etag)
{
    if (etag.startsWith("W/"))
        etag.remove(0, 2);
    if (etag.size() >= 2 && etag.startsWith('"') && etag.endsWith('"'))
        etag = etag.mid(1, etag.size() - 2);
    return etag;
}

bool sameOrigin(const QUrl& a, const QUrl& b)
{
    return a.scheme() == b.scheme() && a.host().compare(b.host(), Qt::CaseInsensitive) == 0 &&
           a.port(a.scheme() == "https" ? 443 : 80) == b.port(b.scheme() == "https" ? 443 : 80);
}

bool isRedirect(int code) { return code == 301 || code == 302 || code == 303 || code == 307 || code == 308; }

} // namespace

HubPull::HubPull(QObject* parent) : QObject(parent), m_network(new QNetworkAccessManager(this))
{
    qRegisterMetaType<PullFile>();
    qRegisterMetaType<PullProgress>();
    qRegisterMetaType<PullResult>();
    m_network->setRedirectPolicy(QNetworkRequest::ManualRedirectPolicy);
}

HubPull::~HubPull()
{
    stopTransfer();
}

// ---- requests ----------------------------------------------------------------

QUrl HubPull::apiUrl() const
{
    const QString base = m_request.env.endpoint.toString(QUrl::StripTrailingSlash);
    return QUrl(base + "/api/models/" + m_request.repoId + "/revision/" +
                QString::fromLatin1(QUrl::toPercentEncoding(m_request.revision)));
}

QUrl HubPull::resolveUrl(const QString& file) const
{
    QStringList parts;
    for (const QString& p : file.split('/'))
        parts << QString::fromLatin1(QUrl::toPercentEncoding(p));
    const QString base = m_request.env.endpoint.toString(QUrl::StripTrailingSlash);
    return QUrl(base + '/' + m_request.repoId + "/resolve/" + m_commit + '/' + parts.join('/'), QUrl::StrictMode);
}

QNetworkReply* HubPull::send(const QString& verb, const QUrl& url, qint64 rangeFrom)
{
    QNetworkRequest request(url);
    request.setAttribute(QNetworkRequest::RedirectPolicyAttribute, QNetworkRequest::ManualRedirectPolicy);
    request.setRawHeader("User-Agent", "logitscope/0.1 (Qt Network)");
    request.setRawHeader("Accept-Encoding", "identity"); // sizes must be the file's own bytes
    // The token goes to the Hub only, never to the storage host an LFS redirect points at.
    if (!m_request.env.token.isEmpty() && sameOrigin(url, m_request.env.endpoint))
        request.setRawHeader("Authorization", "Bearer " + m_request.env.token.toUtf8());
    if (rangeFrom > 0)
        request.setRawHeader("Range", "bytes=" + QByteArray::number(rangeFrom) + '-');
    request.setTransferTimeout(m_request.stallTimeoutMs);
    QNetworkReply* reply = verb == "HEAD" ? m_network->head(request) : m_network->get(request);
    m_reply = reply;
    return reply;
}

QString HubPull::httpProblem(QNetworkReply* reply, const QString& file) const
{
    const int code = status(reply);
    const QString repo = m_request.repoId;
    const QString endpoint = m_request.env.endpoint.toString();
    const QString errorCode = header(reply, "X-Error-Code");
    const QString what = file.isEmpty() ? repo : repo + ": " + file;
    if (code == 0)
        return "cannot reach " + endpoint + ": " + reply->errorString() + " (check the network, or HF_ENDPOINT)";
    if (code == 401) {
        if (m_request.env.token.isEmpty())
            return repo + ": HTTP 401 Unauthorized from " + endpoint +
                   " - the repository does not exist, or it is private or gated and needs a token: "
                   "set HF_TOKEN to an access token from " + endpoint + "/settings/tokens";
        return repo + ": HTTP 401 Unauthorized from " + endpoint + " - the token (from " + m_request.env.tokenSource +
               ") was refused, or the repository does not exist";
    }
    if (code == 403)
        return repo + ": HTTP 403 Forbidden - the repository is gated or private: accept its conditions at " +
               endpoint + '/' + repo + " with the account of your HF_TOKEN";
    if (code == 404) {
        if (errorCode == "RevisionNotFound")
            return repo + ": revision '" + m_request.revision + "' not found (HTTP 404)";
        if (errorCode == "EntryNotFound" || !file.isEmpty())
            return what + ": file not found at revision " + m_request.revision + " (HTTP 404)";
        return repo + ": repository not found on " + endpoint +
               " (HTTP 404) - check the name, e.g. HuggingFaceTB/SmolLM2-135M-Instruct";
    }
    if (code == 429)
        return what + ": HTTP 429 Too Many Requests - the Hub is rate-limiting; wait a minute and pull again";
    const QString message = header(reply, "X-Error-Message");
    return what + ": HTTP " + QString::number(code) + ' ' +
           reply->attribute(QNetworkRequest::HttpReasonPhraseAttribute).toString() +
           (message.isEmpty() ? QString() : " - " + message) + " from " + reply->url().toString();
}

// ---- start, cancel, fail -----------------------------------------------------

void HubPull::start(const PullRequest& request)
{
    Q_ASSERT(!m_running);
    m_request = request;
    m_cache = std::make_unique<HubCache>(request.env.cacheDir);
    m_running = true;
    m_phase = Phase::Listing;
    ++m_generation;
    m_commit.clear();
    m_names.clear();
    m_files.clear();
    m_index = 0;
    m_doneBytes = m_totalBytes = m_transferred = 0;
    m_samples.clear();
    m_lastProgressMs = -1000;
    m_clock.start();

    QString problem = repoIdProblem(request.repoId);
    if (problem.isEmpty() && !isSafeRevision(request.revision))
        problem = "revision '" + request.revision + "' is not valid";
    if (problem.isEmpty() && (!request.env.endpoint.isValid() || request.env.endpoint.scheme().isEmpty()))
        problem = "HF_ENDPOINT '" + request.env.endpoint.toString() + "' is not a URL";
    if (!problem.isEmpty()) {
        const quint64 generation = m_generation;
        QTimer::singleShot(0, this, [this, problem, generation] {
            if (generation == m_generation)
                fail(problem);
        });
        return;
    }
    QNetworkReply* reply = send("GET", apiUrl());
    connect(reply, &QNetworkReply::finished, this, [this, reply] { onListingFinished(reply); });
}

void HubPull::cancel()
{
    if (!m_running)
        return;
    stopTransfer();
    m_running = false;
    m_phase = Phase::Idle;
    emit pullCancelled();
}

void HubPull::stopTransfer()
{
    ++m_generation;
    if (m_reply) {
        QNetworkReply* reply = m_reply;
        m_reply = nullptr;
        reply->disconnect(this);
        reply->abort();
        reply->deleteLater();
    }
    if (m_part.isOpen()) {
        m_part.flush();
        m_part.close(); // stays "<blob>.incomplete": a later pull resumes it, nothing mistakes it for complete
    }
    m_lock.unlock();
}

void HubPull::fail(const QString& message)
{
    stopTransfer();
    m_running = false;
    m_phase = Phase::Idle;
    emit pullFailed(message);
}

// ---- listing -----------------------------------------------------------------

void HubPull::onListingFinished(QNetworkReply* reply)
{
    reply->deleteLater();
    m_reply = nullptr;
    if (reply->error() != QNetworkReply::NoError || status(reply) != 200)
        return fail(httpProblem(reply, {}));
    QJsonParseError error;
    const QJsonDocument doc = QJsonDocument::fromJson(reply->readAll(), &error);
    if (!doc.isObject())
        return fail(m_request.repoId + ": the Hub's file list is not a JSON object (" + error.errorString() + ") from " +
                    reply->url().toString());
    const QJsonObject info = doc.object();
    m_commit = info.value("sha").toString();
    if (!isCommitHash(m_commit))
        return fail(m_request.repoId + ": the Hub's file list has no commit hash ('sha') for revision " + m_request.revision);
    QStringList repoFiles;
    for (const QJsonValue& s : info.value("siblings").toArray()) {
        const QString name = s.toObject().value("rfilename").toString();
        if (!isSafeRepoPath(name))
            return fail(m_request.repoId + ": the Hub lists a file with an unsafe name '" + name + "'");
        repoFiles << name;
    }
    const FileSelection selection = selectFiles(m_request.repoId, repoFiles, m_request.includes);
    if (!selection.problem.isEmpty())
        return fail(selection.problem);
    m_names = selection.files;
    m_phase = Phase::Head;
    m_index = 0;
    headNext();
}

// ---- metadata of each file ---------------------------------------------------

void HubPull::headNext()
{
    if (m_index == m_names.size()) {
        for (const PullFile& f : m_files)
            m_totalBytes += f.size;
        emit listingFinished(m_files, m_totalBytes);
        m_phase = Phase::Download;
        m_index = 0;
        return downloadNext();
    }
    QNetworkReply* reply = send("HEAD", resolveUrl(m_names[m_index]));
    connect(reply, &QNetworkReply::finished, this, [this, reply] { onHeadFinished(reply, 0); });
}

void HubPull::onHeadFinished(QNetworkReply* reply, int redirects)
{
    reply->deleteLater();
    m_reply = nullptr;
    const QString name = m_names[m_index];
    const int code = status(reply);
    const QString linkedEtag = header(reply, "X-Linked-Etag");
    // A redirect without LFS headers is the Hub's own (a renamed repository): follow it.
    if (isRedirect(code) && linkedEtag.isEmpty()) {
        const QUrl next = reply->url().resolved(QUrl(header(reply, "Location")));
        if (redirects >= kMaxRedirects || !next.isValid())
            return fail(m_request.repoId + ": " + name + ": too many redirects");
        QNetworkReply* again = send("HEAD", next);
        connect(again, &QNetworkReply::finished, this, [this, again, redirects] { onHeadFinished(again, redirects + 1); });
        return;
    }
    if (code != 200 && !isRedirect(code))
        return fail(httpProblem(reply, name));

    PullFile f;
    f.name = name;
    f.lfs = !linkedEtag.isEmpty();
    f.etag = normaliseEtag(f.lfs ? linkedEtag : header(reply, "ETag"));
    const QString size = f.lfs ? header(reply, "X-Linked-Size") : header(reply, "Content-Length");
    bool ok = false;
    f.size = size.toLongLong(&ok);
    static const QRegularExpression safeEtag("^[A-Za-z0-9._-]{1,128}$");
    if (f.etag.isEmpty() || !safeEtag.match(f.etag).hasMatch())
        return fail(m_request.repoId + ": " + name + ": the Hub sent no usable ETag (got '" + f.etag + "')");
    if (!ok || f.size < 0)
        return fail(m_request.repoId + ": " + name + ": the Hub sent no file size (X-Linked-Size/Content-Length)");
    static const QRegularExpression sha256("^[0-9a-f]{64}$");
    if (f.lfs && !sha256.match(f.etag).hasMatch())
        f.lfs = false; // not a SHA-256 we can check; the size is still checked
    const QFileInfo blob(m_cache->blobPath(m_request.repoId, f.etag));
    f.cached = blob.isFile() && blob.size() == f.size;
    m_files << f;
    ++m_index;
    headNext();
}

// ---- downloading one blob ----------------------------------------------------

void HubPull::downloadNext()
{
    while (m_index < m_files.size() && m_files[m_index].cached) {
        const QString problem = m_cache->linkSnapshotFile(m_request.repoId, m_commit, m_files[m_index].name, m_files[m_index].etag);
        if (!problem.isEmpty())
            return fail(problem);
        m_doneBytes += m_files[m_index].size;
        emit fileFinished(m_files[m_index]);
        ++m_index;
    }
    if (m_index == m_files.size())
        return finish();

    const PullFile& f = m_files[m_index];
    const QString lockProblem = m_lock.tryLock(m_cache->lockPath(m_request.repoId, f.etag));
    if (!lockProblem.isEmpty())
        return fail(m_request.repoId + ": " + f.name + ": " + lockProblem);
    // Another program may have finished it while we waited.
    const QFileInfo blob(m_cache->blobPath(m_request.repoId, f.etag));
    if (blob.isFile() && blob.size() == f.size) {
        m_lock.unlock();
        m_files[m_index].cached = true;
        return downloadNext();
    }
    m_attempt = 0;
    openPart();
    if (!m_running)
        return;
    if (m_partBytes > 0)
        emit noticeAvailable(f.name + ": resuming at " + sizeText(m_partBytes) + " of " + sizeText(f.size));
    sendGet(resolveUrl(f.name), 0);
}

// Opens "<blob>.incomplete" for appending and hashes what an earlier run left in it.
void HubPull::openPart()
{
    const PullFile& f = m_files[m_index];
    const QString path = m_cache->incompletePath(m_request.repoId, f.etag);
    if (!QDir().mkpath(QFileInfo(path).absolutePath()))
        return fail("cannot create folder " + QFileInfo(path).absolutePath());
    m_part.setFileName(path);
    if (!m_part.open(QIODevice::ReadWrite))
        return fail("cannot write " + path + ": " + m_part.errorString());
    m_hash.reset();
    if (m_part.size() > f.size)
        m_part.resize(0); // not a prefix of this blob
    if (f.lfs) {
        m_part.seek(0);
        m_hash.addData(&m_part);
    }
    m_part.seek(m_part.size());
    m_partBytes = m_part.size();
}

void HubPull::sendGet(const QUrl& url, int redirects)
{
    m_requestFrom = m_partBytes;
    m_responseChecked = false;
    m_writing = false;
    QNetworkReply* reply = send("GET", url, m_partBytes);
    connect(reply, &QNetworkReply::readyRead, this, [this, reply] { onGetData(reply); });
    connect(reply, &QNetworkReply::finished, this, [this, reply, redirects] { onGetFinished(reply, redirects); });
}

void HubPull::onGetData(QNetworkReply* reply)
{
    if (!m_responseChecked) {
        m_responseChecked = true;
        const int code = status(reply);
        if (code == 200 && m_requestFrom > 0) {
            // The server ignored Range: start this file over.
            m_part.resize(0);
            m_part.seek(0);
            m_hash.reset();
            m_partBytes = 0;
        }
        if (code == 206) {
            static const QRegularExpression range("^bytes (\\d+)-");
            const auto m = range.match(header(reply, "Content-Range"));
            if (!m.hasMatch() || m.captured(1).toLongLong() != m_requestFrom)
                return fail(m_request.repoId + ": " + m_files[m_index].name + ": the server answered Range bytes=" +
                            QString::number(m_requestFrom) + "- with Content-Range '" + header(reply, "Content-Range") + "'");
        }
        m_writing = code == 200 || code == 206;
    }
    const QByteArray data = reply->readAll();
    if (!m_writing || data.isEmpty())
        return;
    const PullFile& f = m_files[m_index];
    if (m_partBytes + data.size() > f.size) {
        const QString path = m_part.fileName();
        fail(m_request.repoId + ": " + f.name + ": the server sent more than the " + QString::number(f.size) +
             " bytes the Hub announced; the download was discarded");
        QFile::remove(path);
        return;
    }
    if (m_part.write(data) != data.size())
        return fail("cannot write " + m_part.fileName() + ": " + m_part.errorString());
    if (f.lfs)
        m_hash.addData(data);
    m_partBytes += data.size();
    m_transferred += data.size();
    emitProgress(false);
}

void HubPull::onGetFinished(QNetworkReply* reply, int redirects)
{
    if (reply != m_reply)
        return;
    if (reply->bytesAvailable() > 0)
        onGetData(reply); // bytes that arrived with the end of the response
    if (reply != m_reply || !m_running)
        return;
    reply->deleteLater();
    m_reply = nullptr;
    const PullFile& f = m_files[m_index];
    const int code = status(reply);
    if (isRedirect(code)) {
        const QUrl next = reply->url().resolved(QUrl(header(reply, "Location")));
        if (redirects >= kMaxRedirects || !next.isValid())
            return fail(m_request.repoId + ": " + f.name + ": too many redirects");
        return sendGet(next, redirects + 1);
    }
    if (code == 416 && m_partBytes == f.size)
        return completeFile(); // an earlier run had received every byte
    if (code == 416) {
        m_part.resize(0);
        m_part.seek(0);
        m_hash.reset();
        m_partBytes = 0;
        return connectionLost("the server refused the resume offset");
    }
    if (code >= 500)
        return connectionLost("HTTP " + QString::number(code));
    if (code != 0 && code != 200 && code != 206)
        return fail(httpProblem(reply, f.name));
    if (reply->error() != QNetworkReply::NoError || m_partBytes < f.size)
        return connectionLost(reply->error() == QNetworkReply::NoError ? QString("the response ended early")
                                                                      : reply->errorString());
    completeFile();
}

void HubPull::connectionLost(const QString& why)
{
    m_part.flush();
    const PullFile& f = m_files[m_index];
    const QString where = QString::number(m_partBytes) + " of " + QString::number(f.size) + " bytes";
    if (m_attempt >= m_request.retries)
        return fail(m_request.repoId + ": " + f.name + ": connection lost after " + where + " (" + why +
                    "); the part received is kept in " + m_part.fileName() + " - pull again to resume");
    ++m_attempt;
    emit noticeAvailable(f.name + ": connection lost after " + where + " (" + why + "); resuming with HTTP Range, try " +
                         QString::number(m_attempt) + " of " + QString::number(m_request.retries));
    const quint64 generation = m_generation;
    QTimer::singleShot(m_request.retryDelayMs * m_attempt, this, [this, generation] {
        if (generation == m_generation && m_running)
            sendGet(resolveUrl(m_files[m_index].name), 0);
    });
}

void HubPull::completeFile()
{
    const PullFile f = m_files[m_index];
    m_part.flush();
    const QString partPath = m_part.fileName();
    const qint64 onDisk = m_part.size();
    m_part.close();
    if (onDisk != f.size) {
        fail(m_request.repoId + ": " + f.name + ": size mismatch: received " + QString::number(onDisk) +
             " bytes, the Hub announced " + QString::number(f.size) + "; the download was discarded");
        QFile::remove(partPath);
        return;
    }
    if (f.lfs) {
        const QString got = QString::fromLatin1(m_hash.result().toHex());
        if (got != f.etag) {
            fail(m_request.repoId + ": " + f.name + ": SHA-256 mismatch: the Hub published " + f.etag + ", the file has " +
                 got + "; the download was discarded");
            QFile::remove(partPath);
            return;
        }
    }
    const QString blob = m_cache->blobPath(m_request.repoId, f.etag);
    QFile::remove(blob);
    if (!QFile::rename(partPath, blob))
        return fail("cannot rename " + partPath + " to " + blob);
    m_lock.unlock();
    const QString problem = m_cache->linkSnapshotFile(m_request.repoId, m_commit, f.name, f.etag);
    if (!problem.isEmpty())
        return fail(problem);
    m_doneBytes += f.size;
    m_partBytes = 0;
    emitProgress(true);
    emit fileFinished(f);
    ++m_index;
    downloadNext();
}

// ---- the end -----------------------------------------------------------------

void HubPull::finish()
{
    const QString problem = m_cache->writeRef(m_request.repoId, m_request.revision, m_commit);
    if (!problem.isEmpty())
        return fail(problem);
    PullResult r;
    r.repoId = m_request.repoId;
    r.revision = m_request.revision;
    r.commit = m_commit;
    r.snapshotPath = m_cache->snapshotDir(m_request.repoId, m_commit);
    r.files = m_files;
    r.downloadedBytes = m_transferred;
    r.totalBytes = m_totalBytes;
    m_running = false;
    m_phase = Phase::Idle;
    emit pullFinished(r);
}

void HubPull::emitProgress(bool force)
{
    const qint64 now = m_clock.elapsed();
    if (!force && now - m_lastProgressMs < 100)
        return;
    m_lastProgressMs = now;
    m_samples.emplace_back(now, m_transferred);
    while (m_samples.size() > 2 && now - m_samples.front().first > 3000)
        m_samples.pop_front();
    PullProgress p;
    const PullFile& f = m_files[m_index];
    p.file = f.name;
    p.fileIndex = m_index + 1;
    p.fileCount = int(m_files.size());
    p.fileBytes = force ? f.size : m_partBytes;
    p.fileTotal = f.size;
    p.bytes = m_doneBytes + (force ? 0 : m_partBytes);
    p.total = m_totalBytes;
    const qint64 dt = now - m_samples.front().first;
    if (dt > 0)
        p.bytesPerSecond = double(m_transferred - m_samples.front().second) * 1000.0 / double(dt);
    emit progressAvailable(p);
}

} // namespace logitscope::hub
