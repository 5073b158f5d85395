// The worker: engine calls on the inference thread, answered with copied records.
#include "models/inference_worker.h"

#include "common/error.h"
#include "model/backend.h"
#include "model/cpu_backend.h"
#include "model/model.h"

#include <QThread>
#include <QTimer>

#include <exception>

namespace logitscope::gui {

namespace {

QString message(const std::exception& e)
{
    return QString::fromStdString(e.what());
}

// Steps queued to the UI beyond this make the run wait a little: the UI never drowns in records.
constexpr int kMaxStepsInFlight = 8;

} // namespace

InferenceWorker::InferenceWorker(WorkerFlags* flags, QObject* parent) : QObject(parent), m_flags(flags)
{
    registerMetaTypes();
}

InferenceWorker::~InferenceWorker() = default;

bool InferenceWorker::ready(const char* command)
{
    if (m_session && m_session->hasPrompt())
        return true;
    emit commandFailed(QString::fromLatin1(command),
                       m_session ? tr("Nothing to %1 yet: the prompt has not been read (press Step).").arg(QLatin1String(command))
                                 : tr("No model loaded — open one in the Model panel."));
    return false;
}

void InferenceWorker::loadModel(const QString& path, const QString& device, int threads, const QString& kvType,
                                const QString& weights)
{
    emit modelLoadStarted(path);
    try {
        logitscope::LoadOptions load;
        load.populate = true;
        std::shared_ptr<const logitscope::Model> model = logitscope::Model::load(path.toStdString(), load);
        if (!weights.isEmpty())
            model = logitscope::Model::requantized(std::move(model), logitscope::weightTypesNamed(weights.toStdString()));
        std::string notice;
        auto backend = logitscope::createBackend(model, device.isEmpty() ? "auto" : device.toStdString(), threads, &notice);
        if (kvType == QLatin1String("f16"))
            if (auto* cpu = dynamic_cast<logitscope::CpuBackend*>(backend.get()))
                cpu->setKvType(logitscope::DType::F16);
        ModelInfo info;
        const auto& cfg = model->config();
        info.path = path;
        info.name = QString::fromStdString(model->name());
        info.format = QString::fromStdString(model->format());
        info.architecture = QString::fromLatin1(logitscope::architectureName(cfg.arch));
        info.dtype = QString::fromStdString(model->dtypeSummary());
        info.requantized = weights;
        for (const auto& s : model->weightTypes())
            info.weightTypes << tr("%1: %2 MB, %3 bits per value")
                                    .arg(QString::fromLatin1(logitscope::dtypeName(s.type)))
                                    .arg(double(s.bytes) / 1e6, 0, 'f', 1)
                                    .arg(s.bitsPerValue(), 0, 'f', 2);
        info.backend = QString::fromStdString(backend->name());
        info.device = QString::fromStdString(backend->deviceDescription());
        info.backendNotice = QString::fromStdString(notice);
        info.parameters = model->parameterCount();
        info.weightBytes = model->weightBytes();
        info.kvBytesPerToken = cfg.kvBytesPerToken(backend->kvElementBytes());
        info.kvElementBytes = int(backend->kvElementBytes());
        info.contextLength = cfg.contextLength;
        info.slidingWindow = cfg.slidingWindow;
        info.vocabSize = cfg.vocabSize;
        info.layers = cfg.layers;
        info.heads = cfg.heads;
        info.kvHeads = cfg.kvHeads;
        info.hidden = cfg.hidden;

        logitscope::SessionOptions options;
        options.topCandidates = m_topCandidates;
        options.captureAttention = m_captureAttention;
        options.logitLens = m_logitLens;
        auto session = std::make_unique<logitscope::Session>(model, std::move(backend), options);
        session->setCancelFlag(&m_flags->cancel);
        watchProgress(*session);
        m_session = std::move(session); // the old session (and its model) goes only once the new one works
        m_model = model;
        emit modelLoadFinished(info, model);
    } catch (const std::exception& e) {
        emit modelLoadFailed(path, message(e));
    }
}

void InferenceWorker::prefill(const QString& prompt, bool chat, const QString& system,
                              const logitscope::SamplingParams& params)
{
    if (!m_session) {
        emit prefillFailed(tr("No model loaded — open one in the Model panel."));
        return;
    }
    try {
        std::string text = prompt.toStdString();
        if (chat)
            text = m_model->tokenizer().renderChat(system.toStdString(), text).text;
        const auto ids = m_session->tokenize(text);
        emit prefillStarted(int(ids.size()));
        m_inPrefill = true;
        auto record = [&] {
            struct Done {
                bool& flag;
                ~Done() { flag = false; }
            } done{m_inPrefill};
            return m_session->prefill(ids, params);
        }();
        emit prefillFinished(record, m_session->lanes());
        emitPreview(0);
    } catch (const logitscope::Cancelled&) {
        emit prefillCancelled();
    } catch (const std::exception& e) {
        emit prefillFailed(message(e));
    }
}

void InferenceWorker::emitPreview(int lane)
{
    if (!m_session || !m_session->hasPrompt() || m_session->finished(lane))
        return;
    emit previewAvailable(m_session->preview(lane));
}

void InferenceWorker::step(int lane)
{
    if (!ready("step"))
        return;
    try {
        if (m_session->finished(lane)) {
            emit commandFailed(QStringLiteral("step"), tr("This lane has finished; rewind or branch to continue."));
            return;
        }
        auto record = m_session->step(lane);
        m_flags->stepsInFlight.fetch_add(1);
        emit stepAvailable(record);
        emit metricsAvailable(lane, m_session->metrics(lane));
        if (m_session->finished(lane))
            emit lanesChanged(m_session->lanes());
        else
            emitPreview(lane);
    } catch (const logitscope::Cancelled&) {
        emit commandFailed(QStringLiteral("step"), tr("Cancelled."));
    } catch (const std::exception& e) {
        emit commandFailed(QStringLiteral("step"), message(e));
    }
}

void InferenceWorker::run(int lane)
{
    if (!ready("run")) {
        m_flags->running = false;
        emit runFinished(lane, false);
        return;
    }
    emit runStarted(lane);
    runNext(lane);
}

void InferenceWorker::scheduleRunNext(int lane)
{
    // Queued, so commands sent meanwhile (sampling, pause, rewind) run between tokens.
    if (m_flags->stepsInFlight.load() > kMaxStepsInFlight)
        QTimer::singleShot(1, this, [this, lane] { runNext(lane); });
    else
        QMetaObject::invokeMethod(this, "runNext", Qt::QueuedConnection, Q_ARG(int, lane));
}

void InferenceWorker::runNext(int lane)
{
    if (!m_flags->running.load() || !m_session || !m_session->hasPrompt()) {
        emitPreview(lane);
        emit runFinished(lane, m_session && m_session->hasPrompt() && m_session->finished(lane));
        return;
    }
    if (m_flags->stepsInFlight.load() > kMaxStepsInFlight) {
        scheduleRunNext(lane);
        return;
    }
    try {
        if (m_session->finished(lane)) {
            m_flags->running = false;
            emit runFinished(lane, true);
            return;
        }
        auto record = m_session->step(lane);
        m_flags->stepsInFlight.fetch_add(1);
        emit stepAvailable(record);
        if (m_session->finished(lane)) {
            m_flags->running = false;
            emit metricsAvailable(lane, m_session->metrics(lane));
            emit lanesChanged(m_session->lanes());
            emit runFinished(lane, true);
            return;
        }
        if ((record.step & 7) == 0)
            emit metricsAvailable(lane, m_session->metrics(lane));
    } catch (const logitscope::Cancelled&) {
        m_flags->running = false;
        emit runFinished(lane, false);
        return;
    } catch (const std::exception& e) {
        m_flags->running = false;
        emit commandFailed(QStringLiteral("run"), message(e));
        emit runFinished(lane, false);
        return;
    }
    scheduleRunNext(lane);
}

void InferenceWorker::rewind(int lane, int count)
{
    if (!ready("rewind"))
        return;
    try {
        const int length = int(m_session->history(lane).size());
        const int n = std::min(count, length);
        if (n <= 0) {
            emit commandFailed(QStringLiteral("rewind"), tr("Nothing to rewind: no token has been generated on this lane."));
            return;
        }
        m_session->rewind(lane, n);
        emit laneRewound(lane, int(m_session->history(lane).size()));
        emit lanesChanged(m_session->lanes());
        emit metricsAvailable(lane, m_session->metrics(lane));
        emitPreview(lane);
    } catch (const std::exception& e) {
        emit commandFailed(QStringLiteral("rewind"), message(e));
    }
}

void InferenceWorker::branch(int lane, int step, int token)
{
    if (!ready("branch"))
        return;
    try {
        auto record = m_session->branch(lane, step, token);
        const int newLane = record.lane;
        emit lanesChanged(m_session->lanes());
        emit laneSettingsAvailable(newLane, m_session->sampling(newLane));
        emit laneHistoryAvailable(newLane, m_session->history(newLane));
        emit metricsAvailable(newLane, m_session->metrics(newLane));
        emitPreview(newLane);
    } catch (const std::exception& e) {
        emit commandFailed(QStringLiteral("branch"), message(e));
    }
}

void InferenceWorker::selectLane(int lane)
{
    if (!ready("select lane"))
        return;
    try {
        emit laneSettingsAvailable(lane, m_session->sampling(lane));
        emit laneHistoryAvailable(lane, m_session->history(lane));
        emit metricsAvailable(lane, m_session->metrics(lane));
        emitPreview(lane);
    } catch (const std::exception& e) {
        emit commandFailed(QStringLiteral("select lane"), message(e));
    }
}

void InferenceWorker::setSampling(int lane, const logitscope::SamplingParams& params, quint64 request)
{
    if (!m_session) {
        emit samplingFailed(request, tr("No model loaded."));
        return;
    }
    try {
        if (!m_session->hasPrompt()) {
            // Nothing to re-sample yet: validate only (prefill applies the settings later).
            logitscope::validate(params, -1);
            emit samplingApplied(request, lane, params);
            return;
        }
        m_session->setSampling(lane, params);
        emit samplingApplied(request, lane, params);
        emitPreview(lane);
    } catch (const std::exception& e) {
        emit samplingFailed(request, message(e));
    }
}

void InferenceWorker::setTopCandidates(int k)
{
    m_topCandidates = std::max(1, k);
    if (!m_session)
        return;
    auto options = m_session->options();
    options.topCandidates = m_topCandidates;
    m_session->setOptions(options);
}

void InferenceWorker::watchProgress(logitscope::Session& session)
{
    // Called between layers on this thread; queued to the UI like every other signal.
    session.setProgress([this](int done, int total) {
        if (m_inPrefill)
            emit prefillProgress(done, total);
    });
}

void InferenceWorker::reset()
{
    m_flags->running = false;
    if (m_session && m_model) {
        try {
            // A fresh session on the same model: no prompt, no lanes, an empty KV cache.
            auto options = m_session->options();
            auto backend = logitscope::createBackendLike(m_session->backend(), m_model);
            m_session.reset();
            m_session = std::make_unique<logitscope::Session>(m_model, std::move(backend), options);
            m_session->setCancelFlag(&m_flags->cancel);
            watchProgress(*m_session);
        } catch (const std::exception& e) {
            emit commandFailed(QStringLiteral("reset"), message(e));
        }
    }
    emit resetFinished();
}

} // namespace logitscope::gui
