// InferenceWorker: the only object that touches the engine's Session. It lives in the thread the
// InferenceController owns; every public slot is invoked through a queued signal and answers with a
// …Available / …Finished / …Failed signal carrying copied values. It never touches widgets.
// Long work is cancelled through the controller's atomic flag (checked by the engine between
// layers); a full-speed run is a chain of queued single steps, so commands interleave between tokens.
#pragma once

#include "models/beam_snapshot.h"
#include "models/snapshots.h"

#include <QObject>
#include <QString>

#include <atomic>
#include <memory>

namespace logitscope::gui {

struct WorkerFlags {
    std::atomic<bool> cancel{false};    // abort the forward pass in progress (prefill, step)
    std::atomic<bool> running{false};   // a Run is wanted; cleared by Pause
    std::atomic<int> stepsInFlight{0};  // step records emitted but not yet taken by the UI (back-pressure)
};

class InferenceWorker : public QObject {
    Q_OBJECT
public:
    explicit InferenceWorker(WorkerFlags* flags, QObject* parent = nullptr);
    ~InferenceWorker() override;

    // For tasks posted with InferenceController::postToWorker (they run in this thread only).
    logitscope::Session* session() const { return m_session.get(); }
    WorkerFlags* flags() const { return m_flags; }

public slots:
    void loadModel(const QString& path, const QString& device, int threads, const QString& kvType,
                   const QString& weights);
    void prefill(const QString& prompt, bool chat, const QString& system, const logitscope::SamplingParams& params);
    void step(int lane);
    void run(int lane);
    void rewind(int lane, int count);
    void branch(int lane, int step, int token);
    void selectLane(int lane);
    void setSampling(int lane, const logitscope::SamplingParams& params, quint64 request);
    void setTopCandidates(int k);
    void reset();
    // Views (inference_worker_views.cpp): beam search from the prompt, and what each forward pass records.
    void runBeamSearch(const logitscope::SamplingParams& params);
    void setCapture(bool attention, bool logitLens);

signals:
    void modelLoadStarted(const QString& path);
    void modelLoadFinished(const logitscope::gui::ModelInfo& info, const logitscope::gui::ModelHandle& model);
    void modelLoadFailed(const QString& path, const QString& message);

    void prefillStarted(int promptTokens);
    void prefillProgress(int layersDone, int layers); // during a prefill only
    void prefillFinished(const logitscope::PrefillRecord& record, const logitscope::gui::LaneList& lanes);
    void prefillFailed(const QString& message);
    void prefillCancelled();

    void stepAvailable(const logitscope::StepRecord& record);
    // "Would choose": the chain re-run on the lane's cached logits (no forward pass).
    void previewAvailable(const logitscope::StepRecord& record);
    void runStarted(int lane);
    void runFinished(int lane, bool laneFinished);
    void laneRewound(int lane, int length);
    void lanesChanged(const logitscope::gui::LaneList& lanes);
    // Everything the views need after switching lanes or branching: the lane's whole history.
    void laneHistoryAvailable(int lane, const logitscope::gui::StepList& history);
    // The settings a lane samples with, sent before its history when it comes on display: the controls
    // show the lane's own settings (they are never pushed onto it).
    void laneSettingsAvailable(int lane, const logitscope::SamplingParams& params);
    void metricsAvailable(int lane, const logitscope::LaneMetrics& metrics);

    void samplingApplied(quint64 request, int lane, const logitscope::SamplingParams& params);
    void samplingFailed(quint64 request, const QString& message);

    void resetFinished();
    void beamSearchFinished(const logitscope::gui::BeamSnapshot& snapshot);
    void beamSearchFailed(const QString& message);
    // Any other command the engine refused (e.g. stepping a finished lane); the window shows it.
    void commandFailed(const QString& command, const QString& message);

private slots:
    void runNext(int lane);

private:
    bool ready(const char* command);
    void emitPreview(int lane);
    void scheduleRunNext(int lane);

    WorkerFlags* m_flags;
    std::shared_ptr<const logitscope::Model> m_model;
    std::unique_ptr<logitscope::Session> m_session;
    int m_topCandidates = 20;
    bool m_captureAttention = false; // SessionOptions::captureAttention for new sessions
    bool m_logitLens = false;        // SessionOptions::logitLens for new sessions
    bool m_inPrefill = false;        // layer progress is reported only while a prompt is read
    void watchProgress(logitscope::Session& session);
};

} // namespace logitscope::gui
