// HubCache: the Hugging Face cache layout on disk, shared with huggingface_hub and other tools:
//   <root>/models--ORG--NAME/blobs/<etag>              file contents, named by ETag (LFS: sha256)
//   <root>/models--ORG--NAME/snapshots/<commit>/<file> relative symlinks to ../../blobs/<etag>
//   <root>/models--ORG--NAME/refs/<revision>           the commit hash a branch or tag pointed to
//   <root>/.locks/models--ORG--NAME/<etag>.lock        flock()ed while a blob is being written
// Knows paths and writes links and refs; it downloads nothing (see hub_pull.h).
#pragma once

#include <QList>
#include <QString>
#include <QStringList>

namespace logitscope::hub {

// Checks a repo id ("org/name" or "name"): letters, digits, '-', '_', '.', no "--" or "..",
// at most 96 characters. Returns an empty string when valid, else what is wrong.
QString repoIdProblem(const QString& repoId);
// Checks a file name from the Hub's listing before it becomes a path: relative, no "..", no '\'.
bool isSafeRepoPath(const QString& file);
// Checks a revision (branch, tag, "refs/pr/1" or commit) before it becomes a path under refs/.
bool isSafeRevision(const QString& revision);
bool isCommitHash(const QString& s); // 40 lowercase hex digits

class HubCache {
public:
    explicit HubCache(QString root);

    const QString& root() const { return m_root; }
    static QString repoFolderName(const QString& repoId); // "models--ORG--NAME"
    static QString repoIdFromFolderName(const QString& folder); // inverse; empty when not a model folder

    QString repoDir(const QString& repoId) const;
    QString blobPath(const QString& repoId, const QString& etag) const;
    QString incompletePath(const QString& repoId, const QString& etag) const { return blobPath(repoId, etag) + ".incomplete"; }
    QString lockPath(const QString& repoId, const QString& etag) const;
    QString snapshotDir(const QString& repoId, const QString& commit) const;
    QString snapshotFile(const QString& repoId, const QString& commit, const QString& file) const;
    QString refPath(const QString& repoId, const QString& revision) const;

    // The commit a revision names: itself when it is a hash, else the content of refs/<revision>.
    QString resolveRevision(const QString& repoId, const QString& revision) const;
    // Each returns an empty string on success, else a message naming the path.
    QString writeRef(const QString& repoId, const QString& revision, const QString& commit) const;
    // snapshots/<commit>/<file> -> ../../blobs/<etag> (relative, so the cache can move), replacing an old link.
    QString linkSnapshotFile(const QString& repoId, const QString& commit, const QString& file, const QString& etag) const;

    struct Snapshot {
        QString repoId;
        QString commit;
        QString path;      // the snapshot folder
        QStringList refs;  // revisions whose ref points at this commit ("main", ...)
    };
    // Every models--*/snapshots/* folder under the root.
    QList<Snapshot> snapshots() const;

private:
    QString m_root;
};

// An exclusive advisory lock (flock) on <cache>/.locks/.../<etag>.lock, the same file huggingface_hub
// locks, so two programs never write one blob at once. Released by the destructor.
class BlobLock {
public:
    BlobLock() = default;
    ~BlobLock();
    BlobLock(const BlobLock&) = delete;
    BlobLock& operator=(const BlobLock&) = delete;
    // Returns an empty string when locked, else why not (held by another process, cannot create).
    QString tryLock(const QString& path);
    void unlock();

private:
    int m_fd = -1;
};

} // namespace logitscope::hub
