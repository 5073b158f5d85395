// Measurements: the KV cache snapshot and the two sweeps (context length, throughput), requested from
// the UI thread and run on the worker (InferenceController::postToWorker). KV snapshots follow the
// session (after every prefill, step batch, rewind, branch, reset), coalesced to a few per second while
// a run streams. Sweeps are cancellable (cancelSweep) and report each point as it is measured; while a
// sweep runs the worker does nothing else, so Step and Run wait for it.
#pragma once

#include "models/kv_snapshot.h"
#include "models/sweeps.h"
#include "models/worker_mailbox.h"

#include <QList>
#include <QObject>
#include <QPointF>
#include <QTimer>

#include <functional>

namespace logitscope::gui {

class InferenceController;
class InferenceWorker;

class Measurements : public QObject {
    Q_OBJECT
public:
    enum class Sweep { None, ContextLength, Throughput };
    Q_ENUM(Sweep)

    explicit Measurements(InferenceController* controller, QObject* parent = nullptr);
    ~Measurements() override;

    const KvSnapshot& kv() const { return m_kv; }
    // (tokens held by the sequences without sharing, bytes actually used) after each snapshot; the KV plot.
    struct KvPoint {
        qint64 tokensLogical = 0;
        qint64 tokensStored = 0;
        quint64 bytesUsed = 0;
        quint64 bytesWithoutSharing = 0;
    };
    const QList<KvPoint>& kvHistory() const { return m_kvHistory; }

    Sweep runningSweep() const { return m_sweep; }
    const QList<ContextPoint>& contextPoints() const { return m_contextPoints; }
    const QList<ThroughputPoint>& throughputPoints() const { return m_throughputPoints; }

public slots:
    void requestKv();                 // a fresh snapshot soon (coalesced)
    void runContextSweep(int maxLength = 0);
    void runThroughputSweep(int maxSequences = 32, int promptTokens = 64, int steps = 16);
    void cancelSweep();

signals:
    void kvAvailable(const logitscope::gui::KvSnapshot& snapshot);
    void sweepStarted(logitscope::gui::Measurements::Sweep sweep);
    void contextPointAvailable(const logitscope::gui::ContextPoint& point);
    void throughputPointAvailable(const logitscope::gui::ThroughputPoint& point);
    void sweepFinished(logitscope::gui::Measurements::Sweep sweep, bool cancelled);
    void sweepFailed(logitscope::gui::Measurements::Sweep sweep, const QString& message);

private:
    void captureNow();
    void onKv(const KvSnapshot& snapshot);
    void startSweep(Sweep sweep, std::function<void(InferenceWorker&, MailboxPtr)> body);

    InferenceController* m_controller;
    MailboxPtr m_mailbox;
    QTimer m_kvTimer;
    bool m_kvInFlight = false;
    bool m_kvAgain = false;
    KvSnapshot m_kv;
    QList<KvPoint> m_kvHistory;
    Sweep m_sweep = Sweep::None;
    QList<ContextPoint> m_contextPoints;
    QList<ThroughputPoint> m_throughputPoints;
};

} // namespace logitscope::gui
