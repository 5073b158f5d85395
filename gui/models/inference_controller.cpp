// The controller: queued commands out, copied records in, UI-side state in item models.
#include "models/inference_controller.h"

#include "models/backends.h"
#include "models/candidate_model.h"
#include "models/generated_tokens_model.h"
#include "models/inference_worker.h"
#include "models/lane_model.h"
#include "models/prompt_tokens_model.h"

#include "model/model.h"

#include <QPointer>

namespace logitscope::gui {

InferenceController::InferenceController(QObject* parent)
    : QObject(parent),
      m_flags(new WorkerFlags),
      m_worker(new InferenceWorker(m_flags)),
      m_promptTokens(new PromptTokensModel(this)),
      m_generatedTokens(new GeneratedTokensModel(this)),
      m_laneModel(new LaneModel(this)),
      m_candidates(new CandidateModel(this))
{
    registerMetaTypes();
    registerOptionalBackends();
    m_thread.setObjectName(QStringLiteral("inference"));
    m_worker->moveToThread(&m_thread);
    connect(&m_thread, &QThread::finished, m_worker, &QObject::deleteLater);

    // Commands: queued into the worker's thread.
    connect(this, &InferenceController::loadModelRequested, m_worker, &InferenceWorker::loadModel);
    connect(this, &InferenceController::prefillRequested, m_worker, &InferenceWorker::prefill);
    connect(this, &InferenceController::stepRequested, m_worker, &InferenceWorker::step);
    connect(this, &InferenceController::runRequested, m_worker, &InferenceWorker::run);
    connect(this, &InferenceController::rewindRequested, m_worker, &InferenceWorker::rewind);
    connect(this, &InferenceController::branchRequested, m_worker, &InferenceWorker::branch);
    connect(this, &InferenceController::selectLaneRequested, m_worker, &InferenceWorker::selectLane);
    connect(this, &InferenceController::samplingRequested, m_worker, &InferenceWorker::setSampling);
    connect(this, &InferenceController::topCandidatesRequested, m_worker, &InferenceWorker::setTopCandidates);
    connect(this, &InferenceController::resetRequested, m_worker, &InferenceWorker::reset);

    // Results: queued back into this (the UI) thread.
    connect(m_worker, &InferenceWorker::modelLoadStarted, this, &InferenceController::modelLoadStarted);
    connect(m_worker, &InferenceWorker::modelLoadFinished, this, &InferenceController::onModelLoadFinished);
    connect(m_worker, &InferenceWorker::modelLoadFailed, this, [this](const QString& path, const QString& message) {
        setActivity(Activity::Idle);
        emit modelLoadFailed(path, message);
        emit statusMessage(tr("Could not open %1: %2").arg(path, message));
    });
    connect(m_worker, &InferenceWorker::prefillStarted, this, &InferenceController::prefillStarted);
    connect(m_worker, &InferenceWorker::prefillProgress, this, &InferenceController::prefillProgress);
    connect(m_worker, &InferenceWorker::prefillFinished, this, &InferenceController::onPrefillFinished);
    connect(m_worker, &InferenceWorker::prefillFailed, this, [this](const QString& message) {
        m_promptTokens->clearScores(); // the session is empty again
        m_runAfterPrefill = false;
        m_flags->running = false;
        setActivity(Activity::Idle);
        emit prefillFailed(message);
        emit statusMessage(message);
    });
    connect(m_worker, &InferenceWorker::prefillCancelled, this, [this] {
        m_promptTokens->clearScores();
        m_runAfterPrefill = false;
        m_flags->running = false;
        setActivity(Activity::Idle);
        emit prefillFailed(tr("Reading the prompt was cancelled."));
        emit statusMessage(tr("Cancelled."));
    });
    connect(m_worker, &InferenceWorker::stepAvailable, this, &InferenceController::onStepAvailable);
    connect(m_worker, &InferenceWorker::previewAvailable, this, &InferenceController::onPreviewAvailable);
    connect(m_worker, &InferenceWorker::runFinished, this, &InferenceController::onRunFinished);
    connect(m_worker, &InferenceWorker::laneRewound, this, &InferenceController::onLaneRewound);
    connect(m_worker, &InferenceWorker::lanesChanged, this, &InferenceController::onLanesChanged);
    connect(m_worker, &InferenceWorker::laneHistoryAvailable, this, &InferenceController::onLaneHistory);
    connect(m_worker, &InferenceWorker::laneSettingsAvailable, this, &InferenceController::onLaneSettings);
    connect(m_worker, &InferenceWorker::metricsAvailable, this, [this](int lane, const logitscope::LaneMetrics& m) {
        if (lane != m_lane)
            return;
        m_metrics = m;
        emit metricsAvailable(m);
    });
    connect(m_worker, &InferenceWorker::samplingApplied, this,
            [this](quint64 request, int lane, const logitscope::SamplingParams& params) {
                m_samplingInFlight = false;
                m_inFlightSampling.reset();
                if (lane != m_lane) { // meant for a lane no longer on display: it keeps them, the controls don't
                    sendPendingSampling();
                    return;
                }
                m_sampling = params;
                if (request == m_samplingRequest || !m_pendingSampling)
                    emit samplingApplied(params);
                sendPendingSampling();
            });
    connect(m_worker, &InferenceWorker::samplingFailed, this, [this](quint64, const QString& message) {
        m_samplingInFlight = false;
        m_inFlightSampling.reset();
        emit samplingFailed(message);
        sendPendingSampling();
    });
    connect(m_worker, &InferenceWorker::resetFinished, this, [this] {
        m_resetting = false;
        setActivity(Activity::Idle);
        emit resetFinished();
        emit stateChanged();
    });
    connect(m_worker, &InferenceWorker::commandFailed, this, [this](const QString& command, const QString& message) {
        if (m_activity == Activity::Stepping)
            setActivity(Activity::Idle);
        emit commandFailed(command, message);
        emit statusMessage(message);
    });

    // Live tokenization: coalesce keystrokes, then encode on a pool thread (see tokenizeNow).
    m_tokenizerPool.setMaxThreadCount(1);
    m_tokenizeTimer.setSingleShot(true);
    m_tokenizeTimer.setInterval(20);
    connect(&m_tokenizeTimer, &QTimer::timeout, this, &InferenceController::tokenizeNow);

    connectViewCommands();
    m_thread.start();
}

InferenceController::~InferenceController()
{
    // Stop whatever runs (the engine checks the flag between layers), then let the thread end.
    m_flags->running = false;
    m_flags->cancel = true;
    m_tokenizerPool.clear();
    m_tokenizerPool.waitForDone();
    m_thread.quit();
    m_thread.wait();
    delete m_flags;
}

void InferenceController::setActivity(Activity a)
{
    if (m_activity == a)
        return;
    m_activity = a;
    emit activityChanged(a);
    emit stateChanged();
}

bool InferenceController::promptChangedSincePrefill() const
{
    return !m_prefilled || m_prompt != m_prefilledPrompt || m_chat != m_prefilledChat
        || (m_chat && m_system != m_prefilledSystem);
}

bool InferenceController::laneFinished() const
{
    for (const auto& l : m_lanes)
        if (l.id == m_lane)
            return l.finished;
    return false;
}

int InferenceController::generatedCount() const
{
    return m_generatedTokens->rowCount();
}

// ---- commands --------------------------------------------------------------

void InferenceController::loadModel(const QString& path, const QString& device, int threads, const QString& kvType,
                                    const QString& weights)
{
    if (m_activity == Activity::Running || m_activity == Activity::Prefilling)
        cancel();
    setActivity(Activity::Loading);
    m_flags->cancel = false;
    emit loadModelRequested(path, device, threads > 0 ? threads : m_defaultThreads, kvType, weights);
}

void InferenceController::setPrompt(const QString& text, bool chat, const QString& system)
{
    const bool changed = text != m_prompt || chat != m_chat || system != m_system;
    m_prompt = text;
    m_chat = chat;
    m_system = system;
    if (changed) {
        m_tokenizeTimer.start();
        emit stateChanged();
    }
}

void InferenceController::tokenizeNow()
{
    // Encoding runs on a pool thread with the shared, immutable Model (encode() is const and
    // thread-safe): typing never waits for the worker, which may be busy generating, and a very
    // long paste never blocks the UI. Results of superseded edits are dropped by generation number.
    if (!m_vocabulary.isValid()) {
        m_promptTokens->clear();
        m_promptTokenCount = 0;
        return;
    }
    const quint64 generation = ++m_tokenizeGeneration;
    ModelHandle model = m_vocabulary.model();
    const QString text = m_prompt, system = m_system;
    const bool chat = m_chat;
    QPointer<InferenceController> self(this);
    m_tokenizerPool.start([self, model, generation, text, system, chat] {
        PromptTokens result;
        result.generation = generation;
        try {
            const auto& tok = model->tokenizer();
            std::string s = text.toStdString();
            if (chat) {
                auto rendered = tok.renderChat(system.toStdString(), s);
                s = rendered.text;
                result.templateNotice = QString::fromStdString(rendered.notice.empty() ? rendered.family : rendered.notice);
            }
            result.renderedText = QString::fromStdString(s);
            logitscope::EncodeOptions options;
            options.addSpecial = true;
            options.parseSpecial = true;
            result.tokens = promptTokensFor(tok, tok.encode(s, options));
        } catch (const std::exception& e) {
            result.error = QString::fromStdString(e.what());
        }
        // The controller's destructor waits for this pool, so `self` is alive while we post.
        if (self)
            QMetaObject::invokeMethod(self.data(), [self, result] {
                if (!self || result.generation != self->m_tokenizeGeneration)
                    return;
                self->m_promptTokens->setTokens(result.tokens);
                self->m_promptTokenCount = int(result.tokens.size());
                emit self->promptTokensAvailable(result);
            }, Qt::QueuedConnection);
    });
}

void InferenceController::requestPrefill(bool thenRun)
{
    m_flags->cancel = false;
    m_runAfterPrefill = thenRun;
    m_flags->running = thenRun;
    m_prefilledPrompt = m_prompt;
    m_prefilledChat = m_chat;
    m_prefilledSystem = m_system;
    m_prefilled = false;
    m_preview.reset();
    m_selectedStep = -1;
    m_lane = 0;
    m_generatedTokens->clear();
    setActivity(Activity::Prefilling);
    // The newest settings, even if the engine has not answered yet: prefill validates them itself.
    emit prefillRequested(m_prompt, m_chat, m_system, newestSampling());
}

bool InferenceController::readyToAdvance(bool thenRun)
{
    if (!hasModel()) {
        emit statusMessage(tr("No model loaded — open one in the Model panel."));
        return false;
    }
    if (isBusy())
        return false;
    if (promptChangedSincePrefill()) {
        requestPrefill(thenRun);
        return false;
    }
    if (laneFinished()) {
        emit statusMessage(tr("This path has finished. Rewind, or click a token to branch."));
        return false;
    }
    return true;
}

void InferenceController::step()
{
    if (!readyToAdvance(false))
        return;
    m_flags->cancel = false;
    m_selectedStep = -1;
    setActivity(Activity::Stepping);
    emit stepRequested(m_lane);
}

void InferenceController::run()
{
    if (!readyToAdvance(true))
        return;
    m_flags->cancel = false;
    m_flags->running = true;
    m_selectedStep = -1;
    setActivity(Activity::Running);
    emit runRequested(m_lane);
}

void InferenceController::pause()
{
    m_flags->running = false;
    m_runAfterPrefill = false;
}

void InferenceController::toggleRun()
{
    if (m_activity == Activity::Running || (m_activity == Activity::Prefilling && m_runAfterPrefill))
        pause();
    else
        run();
}

void InferenceController::rewind(int count)
{
    if (isBusy() || !m_prefilled || generatedCount() == 0)
        return;
    m_selectedStep = -1;
    setActivity(Activity::Stepping);
    emit rewindRequested(m_lane, count);
}

void InferenceController::branch(int step, int token)
{
    if (isBusy() || !m_prefilled)
        return;
    if (step < 0 || step > generatedCount()) {
        emit statusMessage(tr("No such step to branch from."));
        return;
    }
    m_selectedStep = -1;
    setActivity(Activity::Stepping);
    emit branchRequested(m_lane, step, token);
}

void InferenceController::selectLane(int lane)
{
    if (lane == m_lane || isBusy() || !m_prefilled)
        return;
    m_lane = lane;
    m_selectedStep = -1;
    m_preview.reset();
    setActivity(Activity::Stepping);
    emit selectLaneRequested(lane);
}

void InferenceController::selectStep(int step)
{
    if (step >= generatedCount())
        step = -1;
    m_selectedStep = step;
    refreshDistribution();
    emit stateChanged();
}

void InferenceController::setSampling(const logitscope::SamplingParams& params)
{
    m_pendingSampling = params;
    sendPendingSampling();
}

void InferenceController::sendPendingSampling()
{
    // One request in flight at a time; while it is, only the newest settings wait (a dragged
    // slider never builds a queue the worker has to chew through).
    if (m_samplingInFlight || !m_pendingSampling)
        return;
    if (!hasModel()) {
        m_sampling = *m_pendingSampling;
        m_pendingSampling.reset();
        emit samplingApplied(m_sampling);
        return;
    }
    m_samplingInFlight = true;
    const auto params = *m_pendingSampling;
    m_inFlightSampling = params;
    m_pendingSampling.reset();
    emit samplingRequested(m_lane, params, ++m_samplingRequest);
}

logitscope::SamplingParams InferenceController::newestSampling() const
{
    if (m_pendingSampling)
        return *m_pendingSampling;
    if (m_inFlightSampling)
        return *m_inFlightSampling;
    return m_sampling;
}

void InferenceController::setTopK(int k)
{
    k = std::clamp(k, 1, 200);
    if (k == m_topK)
        return;
    m_topK = k;
    emit topCandidatesRequested(k);
    refreshDistribution();
}

void InferenceController::reset()
{
    pause();
    m_flags->cancel = true;
    m_prefilled = false;
    m_prefilledPrompt.clear();
    m_promptTokens->clearScores();
    m_preview.reset();
    m_selectedStep = -1;
    m_lane = 0;
    m_lanes.clear();
    m_laneModel->setLanes({});
    m_generatedTokens->clear();
    m_metrics = {};
    m_distribution = {};
    m_candidates->setDistribution({});
    emit distributionAvailable(m_distribution);
    if (hasModel()) {
        setActivity(Activity::Stepping);
        m_resetting = true; // records of the cancelled work still queued to us belong to the old session
        // the flag is cleared by the next command; the queued reset runs after the cancelled work
        emit resetRequested();
    } else {
        emit resetFinished();
    }
    emit stateChanged();
}

void InferenceController::cancel()
{
    m_flags->running = false;
    m_runAfterPrefill = false;
    if (m_activity == Activity::Prefilling || m_activity == Activity::Stepping)
        m_flags->cancel = true;
}

// ---- results ---------------------------------------------------------------

void InferenceController::onModelLoadFinished(const ModelInfo& info, const ModelHandle& model)
{
    m_model = info;
    m_vocabulary = Vocabulary(model);
    m_generatedTokens->setVocabulary(m_vocabulary);
    m_prefilled = false;
    m_prefilledPrompt.clear();
    m_promptTokens->clearScores();
    m_lanes.clear();
    m_laneModel->setLanes({});
    m_generatedTokens->clear();
    m_preview.reset();
    m_distribution = {};
    m_candidates->setDistribution({});
    setActivity(Activity::Idle);
    emit modelLoadFinished(info);
    emit distributionAvailable(m_distribution);
    emit statusMessage(tr("Loaded %1 (%2) on %3.").arg(info.name, info.architecture, info.device));
    tokenizeNow();
    // Settings chosen before the model existed are checked by the engine now.
    if (!m_pendingSampling)
        m_pendingSampling = m_sampling;
    sendPendingSampling();
    if (m_topK != 20)
        emit topCandidatesRequested(m_topK);
}

void InferenceController::onPrefillFinished(const logitscope::PrefillRecord& record, const LaneList& lanes)
{
    m_prefilled = true;
    m_lane = 0;
    m_promptTokens->setScores(record.ids, record.promptScores, m_vocabulary);
    onLanesChanged(lanes);
    if (m_runAfterPrefill && m_flags->running) {
        m_runAfterPrefill = false;
        setActivity(Activity::Running);
        emit runRequested(m_lane);
    } else {
        m_runAfterPrefill = false;
        setActivity(Activity::Idle);
    }
    emit prefillFinished(record);
    const QString scoring = record.promptScores.empty()
                                ? QString()
                                : tr(" (scoring every one of them took another %1 ms, kept out of TTFT)")
                                      .arg(record.scoringMs, 0, 'f', 1);
    emit statusMessage(tr("Read %1 prompt tokens in %2 ms%3. Step to choose the next token.")
                           .arg(record.ids.size())
                           .arg(record.ms, 0, 'f', 1)
                           .arg(scoring));
}

void InferenceController::onStepAvailable(const logitscope::StepRecord& record)
{
    m_flags->stepsInFlight.fetch_sub(1);
    if (m_resetting || record.lane != m_lane)
        return;
    m_generatedTokens->append(record);
    if (m_activity == Activity::Stepping)
        setActivity(Activity::Idle);
    if (record.finish != logitscope::FinishReason::None)
        m_preview.reset();
    m_selectedStep = -1;
    // While running, the bars show the distribution the token was drawn from.
    if (m_activity == Activity::Running || record.finish != logitscope::FinishReason::None) {
        m_preview.reset();
        refreshDistribution();
    }
    emit stepAvailable(record);
    emit stateChanged();
    if (record.finish != logitscope::FinishReason::None && m_activity != Activity::Running)
        emit statusMessage(m_generatedTokens->finishText());
}

void InferenceController::onPreviewAvailable(const logitscope::StepRecord& record)
{
    if (record.lane != m_lane)
        return;
    m_preview = record;
    if (m_activity == Activity::Stepping)
        setActivity(Activity::Idle);
    refreshDistribution();
}

void InferenceController::refreshDistribution()
{
    const int n = generatedCount();
    if (m_selectedStep >= 0 && m_selectedStep < n)
        m_distribution = makeDistribution(m_generatedTokens->record(m_selectedStep), m_topK, m_vocabulary, false);
    else if (m_preview)
        m_distribution = makeDistribution(*m_preview, m_topK, m_vocabulary, true);
    else if (n > 0)
        m_distribution = makeDistribution(m_generatedTokens->record(n - 1), m_topK, m_vocabulary, false);
    else
        m_distribution = {};
    m_candidates->setDistribution(m_distribution);
    emit distributionAvailable(m_distribution);
}

void InferenceController::onRunFinished(int lane, bool laneFinished)
{
    if (m_activity != Activity::Running) {
        // A run that ended after a Reset or a new prompt (its last queued step came late): the Run pressed
        // since then waits for its prompt and must not be cancelled by it.
        emit stateChanged();
        return;
    }
    m_runAfterPrefill = false;
    m_flags->running = false;
    if (m_activity == Activity::Running)
        setActivity(Activity::Idle);
    emit runFinished(laneFinished);
    emit stateChanged();
    if (laneFinished) {
        const QString finish = m_generatedTokens->finishText();
        emit statusMessage(finish.isEmpty() ? tr("Generation finished.") : finish);
    }
}

void InferenceController::onLaneRewound(int lane, int length)
{
    if (lane == m_lane)
        m_generatedTokens->truncate(length);
    if (m_activity == Activity::Stepping)
        setActivity(Activity::Idle);
    emit stateChanged();
}

void InferenceController::onLanesChanged(const LaneList& lanes)
{
    m_lanes = lanes;
    m_laneModel->setLanes(lanes);
    emit stateChanged();
}

void InferenceController::onLaneSettings(int lane, const logitscope::SamplingParams& params)
{
    // Comes right before the lane's history: from now on the controls edit this lane. An edit still
    // waiting was meant for the lane that was on display; it is dropped rather than applied here.
    m_lane = lane;
    m_pendingSampling.reset();
    m_sampling = params;
    emit laneSettingsShown(params);
    emit samplingApplied(params);
}

void InferenceController::onLaneHistory(int lane, const StepList& history)
{
    m_lane = lane;
    // The lane keeps its own settings (onLaneSettings put them in the controls); nothing is pushed onto it.
    m_generatedTokens->setHistory(history);
    m_selectedStep = -1;
    if (m_activity == Activity::Stepping)
        setActivity(Activity::Idle);
    refreshDistribution();
    emit stateChanged();
    const QString finish = m_generatedTokens->finishText();
    if (!finish.isEmpty())
        emit statusMessage(finish);
}

} // namespace logitscope::gui
