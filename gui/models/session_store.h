// SessionStore: File → Save session / Open session / Export trace. Saving copies every lane (settings,
// tokens, which were forced, where branches and lanes forked) from the worker into a SessionDocument
// and writes it atomically. Opening reads and checks the file (a damaged one gives a message naming
// the field), loads the model if another one is open, sets the prompt and the controls, then rebuilds
// the lanes on the worker: sampled tokens are sampled again and checked, forced tokens forced, and a
// token sampling does not reproduce is forced (counted in the message). Destroy before the controller.
#pragma once

#include "models/session_file.h"
#include "models/trace_file.h"
#include "models/worker_mailbox.h"

#include <QObject>
#include <QPointer>

#include <functional>

namespace logitscope::gui {

class InferenceController;
class LaneRunner;

class SessionStore : public QObject {
    Q_OBJECT
public:
    explicit SessionStore(InferenceController* controller, QObject* parent = nullptr);
    ~SessionStore() override;

    bool isRestoring() const { return m_restoring; }
    // The side-by-side lanes saved with the session and brought back when it is reopened (optional).
    void setLaneRunner(LaneRunner* runner) { m_runner = runner; }

public slots:
    void save(const QString& path);
    void open(const QString& path);
    void restore(const logitscope::gui::SessionDocument& doc);
    void exportTrace(const QString& path); // the lane on display, in `generate --trace` shape

signals:
    void saved(const QString& path);
    void traceExported(const QString& path);
    // Ask the panels to show what is restored (the prompt editor, the sampling controls).
    void promptRestored(const QString& prompt, bool chat);
    void settingsRestored(const logitscope::SamplingParams& settings);
    void restored(const QString& message);
    void failed(const QString& message);

private:
    void capture(std::function<void(const SessionDocument&, const Trace&)> done);
    void continueRestore();
    void rebuild();
    void fail(const QString& message);

    InferenceController* m_controller;
    QPointer<LaneRunner> m_runner;
    MailboxPtr m_mailbox;
    bool m_restoring = false;
    int m_phase = 0;
    SessionDocument m_doc;
    QList<QMetaObject::Connection> m_waits;
};

} // namespace logitscope::gui
