// HubEnvironment: where the Hugging Face Hub and its local cache are, read from the same variables
// huggingface_hub reads (HF_ENDPOINT, HF_HOME, HF_HUB_CACHE, HF_TOKEN), so both share one cache.
// Not a client: it only resolves settings.
#pragma once

#include <QString>
#include <QUrl>

namespace logitscope::hub {

struct HubEnvironment {
    QUrl endpoint;      // HF_ENDPOINT, default https://huggingface.co (no trailing slash)
    QString cacheDir;   // HF_HUB_CACHE, else $HF_HOME/hub, else $XDG_CACHE_HOME/huggingface/hub, else ~/.cache/huggingface/hub
    QString token;      // HF_TOKEN, else the file $HF_HOME/token written by `huggingface-cli login`; may be empty
    QString tokenSource; // "HF_TOKEN", the token file's path, or empty

    static HubEnvironment fromProcess();
    // $HF_HOME, else $XDG_CACHE_HOME/huggingface, else ~/.cache/huggingface.
    static QString hfHome();
};

// Where LM Studio keeps downloaded models (those that exist on this machine).
QStringList lmStudioModelDirs();

} // namespace logitscope::hub
