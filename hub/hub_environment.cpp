// Resolving the Hub endpoint, the cache folder and the token from the environment.
#include "hub_environment.h"

#include <QDir>
#include <QFile>
#include <QFileInfo>
#include <QProcessEnvironment>

namespace logitscope::hub {

namespace {

QString env(const char* name)
{
    return qEnvironmentVariable(name).trimmed();
}

} // namespace

QString HubEnvironment::hfHome()
{
    if (const QString home = env("HF_HOME"); !home.isEmpty())
        return QDir::cleanPath(home);
    const QString xdg = env("XDG_CACHE_HOME");
    const QString cache = xdg.isEmpty() ? QDir::homePath() + "/.cache" : xdg;
    return QDir::cleanPath(cache + "/huggingface");
}

HubEnvironment HubEnvironment::fromProcess()
{
    HubEnvironment e;
    QString endpoint = env("HF_ENDPOINT");
    if (endpoint.isEmpty())
        endpoint = "https://huggingface.co";
    while (endpoint.endsWith('/'))
        endpoint.chop(1);
    e.endpoint = QUrl(endpoint);

    const QString hubCache = env("HF_HUB_CACHE");
    e.cacheDir = hubCache.isEmpty() ? hfHome() + "/hub" : QDir::cleanPath(hubCache);

    e.token = env("HF_TOKEN");
    if (!e.token.isEmpty()) {
        e.tokenSource = "HF_TOKEN";
    } else {
        const QString tokenFile = env("HF_TOKEN_PATH").isEmpty() ? hfHome() + "/token" : env("HF_TOKEN_PATH");
        QFile f(tokenFile);
        if (f.open(QIODevice::ReadOnly)) {
            e.token = QString::fromUtf8(f.readAll()).trimmed();
            if (!e.token.isEmpty())
                e.tokenSource = tokenFile;
        }
    }
    return e;
}

QStringList lmStudioModelDirs()
{
    QStringList out;
    for (const QString& d : {QDir::homePath() + "/.lmstudio/models", QDir::homePath() + "/.cache/lm-studio/models"})
        if (QFileInfo(d).isDir())
            out << d;
    return out;
}

} // namespace logitscope::hub
