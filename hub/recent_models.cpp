// Recently used models and model folders in QSettings.
#include "recent_models.h"

#include <QDir>
#include <QFileInfo>
#include <QSettings>

namespace logitscope::hub {

namespace {
const char* kRecentKey = "models/recent";
const char* kFoldersKey = "models/folders";
} // namespace

RecentModels::RecentModels() : m_settings(std::make_unique<QSettings>("Logitscope", "Logitscope")) {}

RecentModels::RecentModels(const QString& iniFile) : m_settings(std::make_unique<QSettings>(iniFile, QSettings::IniFormat)) {}

RecentModels::~RecentModels() = default;

QStringList RecentModels::recent() const
{
    return m_settings->value(kRecentKey).toStringList();
}

void RecentModels::add(const QString& path)
{
    const QString absolute = QFileInfo(path).absoluteFilePath();
    QStringList list = recent();
    list.removeAll(absolute);
    list.prepend(absolute);
    while (list.size() > kMaxRecent)
        list.removeLast();
    m_settings->setValue(kRecentKey, list);
    m_settings->sync();
}

void RecentModels::remove(const QString& path)
{
    QStringList list = recent();
    list.removeAll(QFileInfo(path).absoluteFilePath());
    list.removeAll(path);
    m_settings->setValue(kRecentKey, list);
    m_settings->sync();
}

void RecentModels::clear()
{
    m_settings->remove(kRecentKey);
    m_settings->sync();
}

QStringList RecentModels::modelFolders() const
{
    return m_settings->value(kFoldersKey).toStringList();
}

void RecentModels::setModelFolders(const QStringList& folders)
{
    QStringList clean;
    for (const QString& f : folders)
        if (const QString c = QDir::cleanPath(QFileInfo(f).absoluteFilePath()); !clean.contains(c))
            clean << c;
    m_settings->setValue(kFoldersKey, clean);
    m_settings->sync();
}

} // namespace logitscope::hub
