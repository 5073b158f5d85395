// InferenceController::postToWorker: a closure queued into the worker's thread. The views of this
// file's callers (KV cache, lanes, sweeps, session restore) need the Session for a moment; they get it
// there, copy values out, and answer the UI thread with queued calls. Nothing here touches widgets.
#include "models/inference_controller.h"
#include "models/inference_worker.h"

#include <QMetaObject>

namespace logitscope::gui {

void InferenceController::postToWorker(std::function<void(InferenceWorker& worker)> task)
{
    InferenceWorker* worker = m_worker;
    // A functor call posted to an object in another thread is a queued event: it runs after the
    // commands (queued signals) emitted before it, in order.
    QMetaObject::invokeMethod(worker, [worker, task = std::move(task)] { task(*worker); }, Qt::QueuedConnection);
}

} // namespace logitscope::gui
