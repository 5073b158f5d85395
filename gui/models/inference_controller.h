// InferenceController: the UI thread's side of inference. It owns the worker's QThread, turns user
// commands into queued signals, keeps the UI-side mirror of the session (the item models below)
// and re-emits the worker's results. Widgets talk only to it; it never blocks on the engine.
// The destructor cancels whatever runs, then quit()s and wait()s for the thread.
#pragma once

#include "models/beam_snapshot.h"
#include "models/distribution.h"
#include "models/snapshots.h"
#include "models/vocabulary.h"

#include <QObject>
#include <QPointer>
#include <QThread>
#include <QThreadPool>
#include <QTimer>

#include <functional>
#include <optional>

namespace logitscope::gui {

class InferenceWorker;
struct WorkerFlags;
class PromptTokensModel;
class GeneratedTokensModel;
class LaneModel;
class CandidateModel;

class InferenceController : public QObject {
    Q_OBJECT
public:
    enum class Activity { Idle, Loading, Prefilling, Stepping, Running };
    Q_ENUM(Activity)

    explicit InferenceController(QObject* parent = nullptr);
    ~InferenceController() override;

    // ---- state mirrored on the UI thread ----
    bool hasModel() const { return m_model.valid(); }
    const ModelInfo& modelInfo() const { return m_model; }
    const Vocabulary& vocabulary() const { return m_vocabulary; }
    Activity activity() const { return m_activity; }
    bool isBusy() const { return m_activity != Activity::Idle; }
    bool isRunning() const { return m_activity == Activity::Running; }
    bool isPrefilled() const { return m_prefilled; }
    bool promptChangedSincePrefill() const;
    int currentLane() const { return m_lane; }
    bool laneFinished() const;
    int generatedCount() const;
    int promptTokenCount() const { return m_promptTokenCount; }
    const LaneList& lanes() const { return m_lanes; }
    const logitscope::SamplingParams& sampling() const { return m_sampling; }
    int topK() const { return m_topK; }
    int selectedStep() const { return m_selectedStep; }   // -1: the live (next) step
    const Distribution& distribution() const { return m_distribution; }
    const std::optional<logitscope::StepRecord>& preview() const { return m_preview; }
    const logitscope::LaneMetrics& metrics() const { return m_metrics; }
    QString prompt() const { return m_prompt; }
    bool chatTemplate() const { return m_chat; }

    PromptTokensModel* promptTokens() const { return m_promptTokens; }
    GeneratedTokensModel* generatedTokens() const { return m_generatedTokens; }
    LaneModel* laneModel() const { return m_laneModel; }
    CandidateModel* candidates() const { return m_candidates; }
    // Threads of the CPU backend for every model opened with threads 0 (the command line's --threads;
    // 0 = the engine's default). Checked by the caller against ThreadPool::maxThreadCount().
    void setDefaultThreads(int threads) { m_defaultThreads = threads; }
    int defaultThreads() const { return m_defaultThreads; }
    bool capturesAttention() const { return m_captureAttention; }
    bool logitLensOn() const { return m_logitLens; }

    // Runs `task` on the worker's thread, queued after the commands sent before it (defined in
    // worker_tasks.cpp). The task may use worker.session() (null before a model is loaded) and emit the
    // worker's signals; it answers the UI through queued calls of its own.
    void postToWorker(std::function<void(InferenceWorker& worker)> task);

public slots:
    // kvType: "f32" or "f16", how the CPU backend stores keys and values (a GPU always keeps fp16).
    // weights: empty to run the weights as stored, or a type to requantize the matrices to in memory
    // (logitscope::weightTypesNamed: "q8_0", "q4_k_m", ...).
    void loadModel(const QString& path, const QString& device = QStringLiteral("auto"), int threads = 0,
                   const QString& kvType = QStringLiteral("f32"), const QString& weights = {});
    // The prompt as typed (tokenized live on a pool thread; stale results are dropped).
    void setPrompt(const QString& text, bool chat = false, const QString& system = {});
    // Step: reads the prompt first when it is new (showing the first distribution), else chooses one token.
    void step();
    void run();
    void pause();
    void toggleRun();
    void rewind(int count = 1);
    void branch(int step, int token);
    void selectLane(int lane);
    void selectStep(int step);                // -1 returns to the live step
    void setSampling(const logitscope::SamplingParams& params);
    void setTopK(int k);
    void reset();
    void cancel();                            // stops a prefill/step in progress and a run
    // Views (inference_controller_views.cpp). Beam search from the prompt (read first if it changed).
    void runBeamSearch(const logitscope::SamplingParams& params);
    // Record attention / the logit lens in every forward pass from now on (the views turn them on while shown).
    void setCaptureAttention(bool on);
    void setLogitLens(bool on);

signals:
    // forwarded to the worker (queued)
    void loadModelRequested(const QString& path, const QString& device, int threads, const QString& kvType,
                            const QString& weights);
    void prefillRequested(const QString& prompt, bool chat, const QString& system, const logitscope::SamplingParams& params);
    void stepRequested(int lane);
    void runRequested(int lane);
    void rewindRequested(int lane, int count);
    void branchRequested(int lane, int step, int token);
    void selectLaneRequested(int lane);
    void samplingRequested(int lane, const logitscope::SamplingParams& params, quint64 request);
    void topCandidatesRequested(int k);
    void resetRequested();
    void beamSearchRequested(const logitscope::SamplingParams& params);
    void captureRequested(bool attention, bool logitLens);

    // for the panels
    void modelLoadStarted(const QString& path);
    void modelLoadFinished(const logitscope::gui::ModelInfo& info);
    void modelLoadFailed(const QString& path, const QString& message);
    void promptTokensAvailable(const logitscope::gui::PromptTokens& tokens);
    void prefillStarted(int promptTokens);
    void prefillProgress(int layersDone, int layers);
    void prefillFinished(const logitscope::PrefillRecord& record);
    void prefillFailed(const QString& message);
    void stepAvailable(const logitscope::StepRecord& record);
    void distributionAvailable(const logitscope::gui::Distribution& distribution);
    void samplingApplied(const logitscope::SamplingParams& params);
    // The lane now on display samples with these (its own settings): the controls should show them.
    void laneSettingsShown(const logitscope::SamplingParams& params);
    void samplingFailed(const QString& message);
    void metricsAvailable(const logitscope::LaneMetrics& metrics);
    void runFinished(bool laneFinished);
    void resetFinished();
    void beamSearchStarted();
    void beamSearchFinished(const logitscope::gui::BeamSnapshot& snapshot);
    void beamSearchFailed(const QString& message);
    void commandFailed(const QString& command, const QString& message);
    void activityChanged(logitscope::gui::InferenceController::Activity activity);
    void stateChanged();                      // anything the toolbar's enabled state depends on
    void statusMessage(const QString& message);

private:
    // Step and Run share their preconditions: a model, not busy, the prompt read (else it is read now,
    // then running if `thenRun`), the lane not finished. False when the command must not go on.
    bool readyToAdvance(bool thenRun);

    void setActivity(Activity a);
    void requestPrefill(bool thenRun);
    void refreshDistribution();
    void sendPendingSampling();
    logitscope::SamplingParams newestSampling() const;
    void tokenizeNow();
    void connectViewCommands(); // inference_controller_views.cpp

    void onModelLoadFinished(const ModelInfo& info, const ModelHandle& model);
    void onPrefillFinished(const logitscope::PrefillRecord& record, const LaneList& lanes);
    void onStepAvailable(const logitscope::StepRecord& record);
    void onPreviewAvailable(const logitscope::StepRecord& record);
    void onRunFinished(int lane, bool laneFinished);
    void onLaneRewound(int lane, int length);
    void onLanesChanged(const LaneList& lanes);
    void onLaneHistory(int lane, const StepList& history);
    void onLaneSettings(int lane, const logitscope::SamplingParams& params);

    QThread m_thread;
    WorkerFlags* m_flags;
    InferenceWorker* m_worker;
    QThreadPool m_tokenizerPool;
    QTimer m_tokenizeTimer;

    ModelInfo m_model;
    Vocabulary m_vocabulary;
    Activity m_activity = Activity::Idle;
    bool m_resetting = false; // between reset() and the worker's resetFinished: late step records are dropped
    bool m_prefilled = false;
    bool m_runAfterPrefill = false;
    QString m_prompt, m_system;
    bool m_chat = false;
    QString m_prefilledPrompt, m_prefilledSystem;
    bool m_prefilledChat = false;
    quint64 m_tokenizeGeneration = 0;
    int m_promptTokenCount = 0;

    int m_lane = 0;
    LaneList m_lanes;
    int m_selectedStep = -1;
    std::optional<logitscope::StepRecord> m_preview;
    Distribution m_distribution;
    logitscope::LaneMetrics m_metrics;

    logitscope::SamplingParams m_sampling;          // last accepted by the engine
    std::optional<logitscope::SamplingParams> m_pendingSampling;   // newest, not yet sent
    std::optional<logitscope::SamplingParams> m_inFlightSampling;  // sent, not yet answered
    quint64 m_samplingRequest = 0;
    bool m_samplingInFlight = false;
    int m_topK = 20;
    int m_defaultThreads = 0;
    bool m_captureAttention = false;
    bool m_logitLens = false;

    PromptTokensModel* m_promptTokens;
    GeneratedTokensModel* m_generatedTokens;
    LaneModel* m_laneModel;
    CandidateModel* m_candidates;
};

} // namespace logitscope::gui
