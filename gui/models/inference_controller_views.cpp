// The controller's side of the analysis views: beam search and the capture switches.
#include "models/inference_controller.h"

#include "models/inference_worker.h"

namespace logitscope::gui {

void InferenceController::connectViewCommands()
{
    connect(this, &InferenceController::beamSearchRequested, m_worker, &InferenceWorker::runBeamSearch);
    connect(this, &InferenceController::captureRequested, m_worker, &InferenceWorker::setCapture);
    connect(m_worker, &InferenceWorker::beamSearchFinished, this, [this](const BeamSnapshot& snapshot) {
        if (m_activity == Activity::Stepping)
            setActivity(Activity::Idle);
        emit beamSearchFinished(snapshot);
        emit statusMessage(tr("Beam search: %1 steps, %2 candidates considered, in %3 ms.")
                               .arg(snapshot.tree.steps)
                               .arg(int(snapshot.tree.nodes.size()) - 1)
                               .arg(snapshot.ms, 0, 'f', 0));
    });
    connect(m_worker, &InferenceWorker::beamSearchFailed, this, [this](const QString& message) {
        if (m_activity == Activity::Stepping)
            setActivity(Activity::Idle);
        emit beamSearchFailed(message);
        emit statusMessage(message);
    });
}

void InferenceController::runBeamSearch(const logitscope::SamplingParams& params)
{
    if (!hasModel()) {
        emit beamSearchFailed(tr("No model loaded — open one in the Model panel."));
        return;
    }
    if (isBusy()) {
        emit beamSearchFailed(tr("Busy — pause or wait, then run beam search again."));
        return;
    }
    m_flags->cancel = false;
    if (promptChangedSincePrefill())
        requestPrefill(false); // queued first: the search runs on the freshly read prompt
    else
        setActivity(Activity::Stepping);
    emit beamSearchStarted();
    emit beamSearchRequested(params);
}

void InferenceController::setCaptureAttention(bool on)
{
    if (on == m_captureAttention)
        return;
    m_captureAttention = on;
    emit captureRequested(m_captureAttention, m_logitLens);
}

void InferenceController::setLogitLens(bool on)
{
    if (on == m_logitLens)
        return;
    m_logitLens = on;
    emit captureRequested(m_captureAttention, m_logitLens);
}

} // namespace logitscope::gui
