// The worker's commands for the analysis views: beam search and what each forward pass records
// (attention probabilities, the logit lens). Kept apart from inference_worker.cpp's generation loop.
#include "models/inference_worker.h"

#include "common/error.h"
#include "model/model.h"
#include "models/vocabulary.h"

#include <QElapsedTimer>

namespace logitscope::gui {

void InferenceWorker::runBeamSearch(const logitscope::SamplingParams& params)
{
    if (!m_session || !m_session->hasPrompt()) {
        emit beamSearchFailed(m_session ? tr("Read the prompt first (press Step), then run beam search.")
                                        : tr("No model loaded — open one in the Model panel."));
        return;
    }
    try {
        QElapsedTimer timer;
        timer.start();
        const logitscope::BeamResult result = m_session->beamSearch(params);
        BeamSnapshot snapshot = makeBeamSnapshot(result, params, Vocabulary(m_model));
        snapshot.ms = double(timer.nsecsElapsed()) / 1e6;
        emit beamSearchFinished(snapshot);
    } catch (const logitscope::Cancelled&) {
        emit beamSearchFailed(tr("Beam search cancelled."));
    } catch (const std::exception& e) {
        emit beamSearchFailed(QString::fromStdString(e.what()));
    }
}

void InferenceWorker::setCapture(bool attention, bool logitLens)
{
    // Both cost time and memory on every forward pass: on only while a view shows them.
    m_captureAttention = attention;
    m_logitLens = logitLens;
    if (!m_session)
        return;
    auto options = m_session->options();
    options.captureAttention = attention;
    options.logitLens = logitLens;
    m_session->setOptions(options);
}

} // namespace logitscope::gui
