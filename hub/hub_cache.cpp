// The Hugging Face cache layout: paths, refs, relative snapshot links, blob locks.
#include "hub_cache.h"

#include <QDir>
#include <QDirIterator>
#include <QFile>
#include <QFileInfo>
#include <QRegularExpression>
#include <QSaveFile>

#include <filesystem>
#include <system_error>

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

namespace logitscope::hub {

QString repoIdProblem(const QString& repoId)
{
    static const QRegularExpression part("^[A-Za-z0-9][A-Za-z0-9._-]*$");
    if (repoId.isEmpty())
        return "empty repository id (expected ORG/NAME, e.g. HuggingFaceTB/SmolLM2-135M-Instruct)";
    if (repoId.size() > 96)
        return "repository id '" + repoId + "' is longer than 96 characters";
    const QStringList parts = repoId.split('/');
    if (parts.size() > 2)
        return "repository id '" + repoId + "' has more than one '/' (expected ORG/NAME)";
    for (const QString& p : parts)
        if (!part.match(p).hasMatch() || p.contains("--") || p.contains("..") || p.endsWith('.') || p.endsWith('-'))
            return "repository id '" + repoId + "' is not valid (letters, digits, '-', '_' and '.'; no '--' or '..')";
    return {};
}

bool isSafeRepoPath(const QString& file)
{
    if (file.isEmpty() || file.startsWith('/') || file.contains('\\') || file.contains(QChar(0)))
        return false;
    for (const QString& p : file.split('/'))
        if (p.isEmpty() || p == "." || p == "..")
            return false;
    return true;
}

bool isSafeRevision(const QString& revision)
{
    return isSafeRepoPath(revision) && !revision.contains(':');
}

bool isCommitHash(const QString& s)
{
    static const QRegularExpression hex("^[0-9a-f]{40}$");
    return hex.match(s).hasMatch();
}

HubCache::HubCache(QString root) : m_root(QDir::cleanPath(std::move(root))) {}

QString HubCache::repoFolderName(const QString& repoId)
{
    return "models--" + QString(repoId).replace('/', "--");
}

QString HubCache::repoIdFromFolderName(const QString& folder)
{
    if (!folder.startsWith("models--"))
        return {};
    return folder.mid(8).replace("--", "/");
}

QString HubCache::repoDir(const QString& repoId) const { return m_root + '/' + repoFolderName(repoId); }
QString HubCache::blobPath(const QString& repoId, const QString& etag) const { return repoDir(repoId) + "/blobs/" + etag; }
QString HubCache::lockPath(const QString& repoId, const QString& etag) const
{
    return m_root + "/.locks/" + repoFolderName(repoId) + '/' + etag + ".lock";
}
QString HubCache::snapshotDir(const QString& repoId, const QString& commit) const
{
    return repoDir(repoId) + "/snapshots/" + commit;
}
QString HubCache::snapshotFile(const QString& repoId, const QString& commit, const QString& file) const
{
    return snapshotDir(repoId, commit) + '/' + file;
}
QString HubCache::refPath(const QString& repoId, const QString& revision) const { return repoDir(repoId) + "/refs/" + revision; }

QString HubCache::resolveRevision(const QString& repoId, const QString& revision) const
{
    if (isCommitHash(revision))
        return revision;
    if (!isSafeRevision(revision))
        return {};
    QFile f(refPath(repoId, revision));
    if (!f.open(QIODevice::ReadOnly))
        return {};
    const QString commit = QString::fromLatin1(f.readAll()).trimmed();
    return isCommitHash(commit) ? commit : QString();
}

QString HubCache::writeRef(const QString& repoId, const QString& revision, const QString& commit) const
{
    if (revision == commit)
        return {};
    const QString path = refPath(repoId, revision);
    if (!QDir().mkpath(QFileInfo(path).absolutePath()))
        return "cannot create folder " + QFileInfo(path).absolutePath();
    QSaveFile f(path);
    if (!f.open(QIODevice::WriteOnly) || f.write(commit.toLatin1()) != commit.size() || !f.commit())
        return "cannot write " + path + ": " + f.errorString();
    return {};
}

QString HubCache::linkSnapshotFile(const QString& repoId, const QString& commit, const QString& file, const QString& etag) const
{
    namespace fs = std::filesystem;
    const QString link = snapshotFile(repoId, commit, file);
    const QString dir = QFileInfo(link).absolutePath();
    if (!QDir().mkpath(dir))
        return "cannot create folder " + dir;
    // From snapshots/<commit>/<sub/dirs/> back up to the repo folder, then into blobs/.
    QString target = "../../";
    target += QString("../").repeated(int(file.count('/')));
    target += "blobs/" + etag;
    std::error_code ec;
    const fs::path linkPath = fs::path(link.toStdString());
    fs::remove(linkPath, ec);
    fs::create_symlink(fs::path(target.toStdString()), linkPath, ec);
    if (ec)
        return "cannot create the link " + link + ": " + QString::fromStdString(ec.message());
    return {};
}

QList<HubCache::Snapshot> HubCache::snapshots() const
{
    QList<Snapshot> out;
    const QDir root(m_root);
    for (const QString& repoFolder : root.entryList({"models--*"}, QDir::Dirs | QDir::NoDotAndDotDot, QDir::Name)) {
        const QString repoId = repoIdFromFolderName(repoFolder);
        const QString repo = m_root + '/' + repoFolder;
        // refs/<revision> -> commit, to name each snapshot by its branches.
        QMultiMap<QString, QString> refsByCommit;
        QDirIterator refs(repo + "/refs", QDir::Files, QDirIterator::Subdirectories);
        while (refs.hasNext()) {
            const QString path = refs.next();
            QFile f(path);
            if (f.open(QIODevice::ReadOnly))
                refsByCommit.insert(QString::fromLatin1(f.readAll()).trimmed(), path.mid(repo.size() + 6));
        }
        const QDir snaps(repo + "/snapshots");
        for (const QString& commit : snaps.entryList(QDir::Dirs | QDir::NoDotAndDotDot, QDir::Name)) {
            Snapshot s{repoId, commit, snaps.filePath(commit), refsByCommit.values(commit)};
            s.refs.sort();
            out << s;
        }
    }
    return out;
}

BlobLock::~BlobLock() { unlock(); }

QString BlobLock::tryLock(const QString& path)
{
    unlock();
    if (!QDir().mkpath(QFileInfo(path).absolutePath()))
        return "cannot create folder " + QFileInfo(path).absolutePath();
    m_fd = ::open(QFile::encodeName(path).constData(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (m_fd < 0)
        return "cannot open the lock file " + path;
    if (::flock(m_fd, LOCK_EX | LOCK_NB) != 0) {
        ::close(m_fd);
        m_fd = -1;
        return "another program is downloading the same file (lock " + path + " is held)";
    }
    return {};
}

void BlobLock::unlock()
{
    if (m_fd >= 0) {
        ::flock(m_fd, LOCK_UN);
        ::close(m_fd);
        m_fd = -1;
    }
}

} // namespace logitscope::hub
