// KV snapshots and sweeps, run on the worker.
#include "models/measurements.h"

#include "common/error.h"
#include "decoding/session.h"
#include "model/backend.h"
#include "models/inference_controller.h"
#include "models/inference_worker.h"

namespace logitscope::gui {

Measurements::Measurements(InferenceController* controller, QObject* parent)
    : QObject(parent), m_controller(controller), m_mailbox(std::make_shared<WorkerMailbox>(this))
{
    qRegisterMetaType<KvSnapshot>();
    qRegisterMetaType<ContextPoint>();
    qRegisterMetaType<ThroughputPoint>();
    m_kvTimer.setSingleShot(true);
    m_kvTimer.setInterval(120);
    connect(&m_kvTimer, &QTimer::timeout, this, &Measurements::captureNow);
    // Whatever changes the cache: a new prompt, steps, rewinds and branches (lanesChanged), a reset.
    connect(controller, &InferenceController::prefillFinished, this, &Measurements::requestKv);
    connect(controller, &InferenceController::stepAvailable, this, &Measurements::requestKv);
    connect(controller, &InferenceController::runFinished, this, &Measurements::requestKv);
    connect(controller, &InferenceController::stateChanged, this, &Measurements::requestKv);
    connect(controller, &InferenceController::resetFinished, this, [this] {
        m_kvHistory.clear();
        requestKv();
    });
    connect(controller, &InferenceController::modelLoadFinished, this, [this] {
        m_kvHistory.clear();
        m_contextPoints.clear();
        m_throughputPoints.clear();
        requestKv();
    });
}

Measurements::~Measurements()
{
    m_mailbox->close(); // also cancels a sweep in progress
}

void Measurements::requestKv()
{
    if (!m_kvTimer.isActive())
        m_kvTimer.start();
}

void Measurements::captureNow()
{
    if (m_kvInFlight) {
        m_kvAgain = true;
        return;
    }
    m_kvInFlight = true;
    MailboxPtr box = m_mailbox;
    Measurements* self = this; // used only inside events delivered to it (never after ~QObject)
    m_controller->postToWorker([box, self](InferenceWorker& worker) {
        KvSnapshot snap;
        try {
            if (auto* session = worker.session())
                snap = captureKvSnapshot(*session);
        } catch (const std::exception&) {
            snap = {};
        }
        box->post([self, snap] { self->onKv(snap); });
    });
}

void Measurements::onKv(const KvSnapshot& snapshot)
{
    m_kvInFlight = false;
    m_kv = snapshot;
    if (snapshot.valid) {
        KvPoint p;
        p.tokensLogical = snapshot.stats.tokensLogical;
        p.tokensStored = snapshot.stats.tokensStored;
        p.bytesUsed = snapshot.stats.bytesUsed;
        p.bytesWithoutSharing = snapshot.stats.bytesWithoutSharing;
        if (m_kvHistory.isEmpty() || m_kvHistory.back().tokensLogical != p.tokensLogical
            || m_kvHistory.back().bytesUsed != p.bytesUsed)
            m_kvHistory.append(p);
    }
    emit kvAvailable(m_kv);
    if (m_kvAgain) {
        m_kvAgain = false;
        requestKv();
    }
}

void Measurements::startSweep(Sweep sweep, std::function<void(InferenceWorker&, MailboxPtr)> body)
{
    if (m_sweep != Sweep::None)
        return;
    if (!m_controller->hasModel()) {
        emit sweepFailed(sweep, tr("No model loaded — open one in the Model panel."));
        return;
    }
    m_sweep = sweep;
    m_mailbox->cancel = false;
    if (sweep == Sweep::ContextLength)
        m_contextPoints.clear();
    else
        m_throughputPoints.clear();
    emit sweepStarted(sweep);
    MailboxPtr box = m_mailbox;
    Measurements* self = this;
    m_controller->postToWorker([box, self, sweep, body = std::move(body)](InferenceWorker& worker) {
        QString error;
        bool cancelled = false;
        try {
            body(worker, box);
        } catch (const logitscope::Cancelled&) {
            cancelled = true;
        } catch (const std::exception& e) {
            error = QString::fromStdString(e.what());
        }
        cancelled = cancelled || box->cancel.load();
        box->post([self, sweep, cancelled, error] {
            self->m_sweep = Sweep::None;
            if (!error.isEmpty())
                emit self->sweepFailed(sweep, error);
            else
                emit self->sweepFinished(sweep, cancelled);
        });
    });
}

namespace {

// A backend of the session's kind for the sweep alone: the user's cache stays as it is.
std::unique_ptr<logitscope::Backend> sweepBackend(const logitscope::Session& session)
{
    return logitscope::createBackendLike(session.backend(), session.modelPtr());
}

} // namespace

void Measurements::runContextSweep(int maxLength)
{
    const QList<int> lengths = contextSweepLengths(m_controller->modelInfo().contextLength, maxLength);
    Measurements* self = this;
    startSweep(Sweep::ContextLength, [self, lengths](InferenceWorker& worker, MailboxPtr box) {
        auto* session = worker.session();
        if (!session)
            throw logitscope::Error("no model loaded");
        auto backend = sweepBackend(*session);
        contextSweep(session->model(), *backend, lengths, &box->cancel, [box, self](const ContextPoint& p) {
            box->post([self, p] {
                self->m_contextPoints.append(p);
                emit self->contextPointAvailable(p);
            });
        });
    });
}

void Measurements::runThroughputSweep(int maxSequences, int promptTokens, int steps)
{
    const QList<int> sizes = throughputSweepSizes(maxSequences);
    Measurements* self = this;
    startSweep(Sweep::Throughput, [self, sizes, promptTokens, steps](InferenceWorker& worker, MailboxPtr box) {
        auto* session = worker.session();
        if (!session)
            throw logitscope::Error("no model loaded");
        auto backend = sweepBackend(*session);
        throughputSweep(session->model(), *backend, sizes, promptTokens, steps, &box->cancel,
                        [box, self](const ThroughputPoint& p) {
                            box->post([self, p] {
                                self->m_throughputPoints.append(p);
                                emit self->throughputPointAvailable(p);
                            });
                        });
    });
}

void Measurements::cancelSweep()
{
    if (m_sweep != Sweep::None)
        m_mailbox->cancel = true;
}

} // namespace logitscope::gui
