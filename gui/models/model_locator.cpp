// Default model lookup.
#include "models/model_locator.h"

#include <QCoreApplication>
#include <QDir>
#include <QFileInfo>
#include <QStandardPaths>

namespace logitscope::gui {

QStringList defaultModelCandidates()
{
    const QString name = QString::fromLatin1(kDefaultModelName);
    QStringList out;
    if (qEnvironmentVariableIsSet("LOGITSCOPE_DEFAULT_MODEL"))
        out << qEnvironmentVariable("LOGITSCOPE_DEFAULT_MODEL");
    for (const QString& dir : bundledDataDirectories())
        out << QDir(dir).filePath(QStringLiteral("models/") + name);
    out.removeDuplicates();
    return out;
}

QString findDefaultModel()
{
    for (const QString& p : defaultModelCandidates()) {
        const QFileInfo fi(p);
        if (fi.isFile() || (fi.isDir() && QFileInfo::exists(QDir(p).filePath(QStringLiteral("config.json")))))
            return p;
        // a folder that holds one GGUF file
        if (fi.isDir()) {
            const auto ggufs = QDir(p).entryList({QStringLiteral("*.gguf")}, QDir::Files);
            if (ggufs.size() == 1)
                return QDir(p).filePath(ggufs.first());
        }
    }
    return {};
}

QStringList bundledDataDirectories()
{
    QStringList dirs;
    if (QCoreApplication::instance()) {
        const QString app = QCoreApplication::applicationDirPath();
        dirs << app                                                    // portable layout: models/ beside the binary
             << QDir(app).filePath(QStringLiteral("../share/logitscope")); // an installed prefix, wherever it moved
        for (const QString& dir : QStandardPaths::standardLocations(QStandardPaths::GenericDataLocation))
            dirs << QDir(dir).filePath(QStringLiteral("logitscope"));
    }
#ifdef LOGITSCOPE_INSTALL_DATADIR
    dirs << QStringLiteral(LOGITSCOPE_INSTALL_DATADIR);
#endif
#ifdef LOGITSCOPE_SOURCE_MODELS_DIR
    dirs << QStringLiteral(LOGITSCOPE_SOURCE_MODELS_DIR "/..");                // the source tree's resources/
#endif
    for (QString& d : dirs)
        d = QDir::cleanPath(d);
    dirs.removeDuplicates();
    return dirs;
}

} // namespace logitscope::gui
