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
    if (QCoreApplication::instance()) {
        const QString app = QCoreApplication::applicationDirPath();
        out << QDir(app).filePath(QStringLiteral("models/") + name)                        // portable layout
            << QDir(app).filePath(QStringLiteral("../share/logitscope/models/") + name);   // installed prefix
        for (const QString& dir : QStandardPaths::standardLocations(QStandardPaths::GenericDataLocation))
            out << QDir(dir).filePath(QStringLiteral("logitscope/models/") + name);
    }
#ifdef LOGITSCOPE_INSTALL_DATADIR
    out << QStringLiteral(LOGITSCOPE_INSTALL_DATADIR "/models/") + name;
#endif
#ifdef LOGITSCOPE_SOURCE_MODELS_DIR
    out << QStringLiteral(LOGITSCOPE_SOURCE_MODELS_DIR "/") + name;
#endif
    for (QString& p : out)
        p = QDir::cleanPath(p);
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
#ifdef LOGITSCOPE_INSTALL_DATADIR
    dirs << QStringLiteral(LOGITSCOPE_INSTALL_DATADIR);
#endif
#ifdef LOGITSCOPE_SOURCE_MODELS_DIR
    dirs << QDir::cleanPath(QStringLiteral(LOGITSCOPE_SOURCE_MODELS_DIR "/.."));
#endif
    return dirs;
}

} // namespace logitscope::gui
