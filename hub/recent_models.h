// RecentModels: the models opened lately and the folders the user asked to search, kept in QSettings
// under organisation and application "Logitscope"/"Logitscope" — one store for the GUI and the CLI
// (on Linux: $XDG_CONFIG_HOME/Logitscope/Logitscope.conf). Paths only; nothing about the models.
#pragma once

#include <QString>
#include <QStringList>

#include <memory>

class QSettings;

namespace logitscope::hub {

class RecentModels {
public:
    static constexpr int kMaxRecent = 10;

    RecentModels();                                  // the shared Logitscope settings
    explicit RecentModels(const QString& iniFile);   // a file of its own (tests)
    ~RecentModels();

    QStringList recent() const;                      // most recent first
    void add(const QString& path);                   // moves it to the front, keeps kMaxRecent
    void remove(const QString& path);
    void clear();

    QStringList modelFolders() const;                // folders the model browser searches
    void setModelFolders(const QStringList& folders);

private:
    std::unique_ptr<QSettings> m_settings;
};

} // namespace logitscope::hub
