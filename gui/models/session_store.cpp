// Saving, reopening and exporting sessions.
#include "models/session_store.h"

#include "common/error.h"
#include "decoding/session.h"
#include "model/model.h"
#include "models/inference_controller.h"
#include "models/inference_worker.h"
#include "models/lane_runner.h"

#include <QFileInfo>
#include <QTimer>

#include <map>

namespace logitscope::gui {

namespace {

QString laneKindName(logitscope::LaneKind kind)
{
    switch (kind) {
    case logitscope::LaneKind::Root:
        return QStringLiteral("root");
    case logitscope::LaneKind::Lane:
        return QStringLiteral("lane");
    case logitscope::LaneKind::Branch:
        return QStringLiteral("branch");
    }
    return QStringLiteral("lane");
}

} // namespace

SessionStore::SessionStore(InferenceController* controller, QObject* parent)
    : QObject(parent), m_controller(controller), m_mailbox(std::make_shared<WorkerMailbox>(this))
{
}

SessionStore::~SessionStore()
{
    m_mailbox->close();
}

void SessionStore::capture(std::function<void(const SessionDocument&, const Trace&)> done)
{
    SessionDocument doc;
    doc.modelPath = m_controller->modelInfo().path;
    doc.device = m_controller->modelInfo().backend.isEmpty() ? QStringLiteral("auto") : m_controller->modelInfo().backend;
    doc.kvType = m_controller->modelInfo().kvType();
    doc.weights = m_controller->modelInfo().requantized;
    doc.prompt = m_controller->prompt();
    doc.chat = m_controller->chatTemplate();
    doc.settings = m_controller->sampling();
    doc.currentLane = m_controller->currentLane();
    if (m_runner)
        for (const ComparisonLane& l : m_runner->model()->lanes())
            doc.comparison.append({l.lane, int(l.steps.size())});
    const int current = doc.currentLane;
    MailboxPtr box = m_mailbox;
    SessionStore* self = this;
    m_controller->postToWorker([box, self, doc, current, done](InferenceWorker& worker) mutable {
        Trace trace;
        trace.model = doc.modelPath;
        trace.prompt = doc.prompt;
        trace.settings = doc.settings;
        auto* s = worker.session();
        if (s && s->hasPrompt()) {
            for (const auto& info : s->lanes()) {
                SavedLane l;
                l.id = info.id;
                l.kind = laneKindName(info.kind);
                l.parent = info.parent;
                l.forkStep = info.forkStep;
                l.settings = s->sampling(info.id);
                for (const auto& r : s->history(info.id))
                    l.tokens.push_back({r.chosen, r.forced});
                doc.lanes.append(l);
            }
            trace.promptIds = s->promptIds();
            try {
                trace.steps = s->history(current);
                trace.settings = s->sampling(current);
            } catch (const std::exception&) {
            }
        }
        if (s)
            trace.model = QString::fromStdString(s->model().path());
        box->post([self, doc, trace, done] {
            (void)self;
            done(doc, trace);
        });
    });
}

void SessionStore::save(const QString& path)
{
    if (!m_controller->hasModel()) {
        emit failed(tr("Nothing to save: no model is loaded."));
        return;
    }
    capture([this, path](const SessionDocument& captured, const Trace&) {
        SessionDocument doc = captured;
        if (doc.lanes.isEmpty()) {
            SavedLane root; // the prompt was not read yet: the settings alone
            root.settings = doc.settings;
            doc.lanes.append(root);
            doc.currentLane = 0;
        }
        QString error;
        if (saveSessionFile(path, doc, &error))
            emit saved(path);
        else
            emit failed(error);
    });
}

void SessionStore::exportTrace(const QString& path)
{
    if (!m_controller->isPrefilled()) {
        emit failed(tr("Nothing to export yet: read the prompt and generate a few tokens first."));
        return;
    }
    const Vocabulary vocabulary = m_controller->vocabulary();
    capture([this, path, vocabulary](const SessionDocument&, const Trace& trace) {
        QString error;
        if (writeFileAtomically(path, traceToJson(trace, &vocabulary), &error))
            emit traceExported(path);
        else
            emit failed(error);
    });
}

void SessionStore::open(const QString& path)
{
    SessionDocument doc;
    QString error;
    if (!loadSessionFile(path, &doc, &error)) {
        emit failed(error);
        return;
    }
    restore(doc);
}

void SessionStore::fail(const QString& message)
{
    for (const auto& c : m_waits)
        disconnect(c);
    m_waits.clear();
    m_restoring = false;
    emit failed(message);
}

void SessionStore::restore(const SessionDocument& doc)
{
    if (m_restoring)
        return;
    m_doc = doc;
    m_restoring = true;
    m_phase = 0;
    m_controller->cancel();
    continueRestore();
}

// Phases: 0 model, 1 prompt tokens, 2 read the prompt, 3 rebuild the lanes on the worker.
void SessionStore::continueRestore()
{
    for (const auto& c : m_waits)
        disconnect(c);
    m_waits.clear();
    auto* c = m_controller;
    if (m_phase == 0) {
        m_phase = 1;
        if (!c->hasModel() || QFileInfo(c->modelInfo().path) != QFileInfo(m_doc.modelPath) ||
            c->modelInfo().kvType() != m_doc.kvType || c->modelInfo().requantized != m_doc.weights) {
            if (!QFileInfo::exists(m_doc.modelPath)) {
                fail(tr("The session's model %1 is not on this machine. Open it elsewhere, or replay a trace instead.")
                         .arg(m_doc.modelPath));
                return;
            }
            m_waits << connect(c, &InferenceController::modelLoadFinished, this, [this] { continueRestore(); });
            m_waits << connect(c, &InferenceController::modelLoadFailed, this,
                               [this](const QString&, const QString& message) { fail(tr("Could not open the session's model: %1").arg(message)); });
            c->loadModel(m_doc.modelPath, m_doc.device, 0, m_doc.kvType, m_doc.weights);
            return;
        }
    }
    if (m_phase == 1) {
        m_phase = 2;
        emit settingsRestored(m_doc.settings);
        c->setSampling(m_doc.settings);
        emit promptRestored(m_doc.prompt, m_doc.chat);
        c->setPrompt(m_doc.prompt, m_doc.chat);
        if (c->promptChangedSincePrefill()) {
            // Wait for the tokenizer, then read the prompt through the controller (it keeps its state).
            m_waits << connect(c, &InferenceController::promptTokensAvailable, this, [this] { continueRestore(); });
            return;
        }
    }
    if (m_phase == 2) {
        m_phase = 3;
        if (c->promptChangedSincePrefill()) {
            if (c->isBusy()) {
                m_phase = 2;
                QTimer::singleShot(20, this, [this] { continueRestore(); });
                return;
            }
            m_waits << connect(c, &InferenceController::prefillFinished, this, [this] { continueRestore(); });
            m_waits << connect(c, &InferenceController::prefillFailed, this,
                               [this](const QString& message) { fail(tr("Could not read the session's prompt: %1").arg(message)); });
            c->step();
            return;
        }
    }
    if (m_phase == 3) {
        if (c->isBusy()) {
            QTimer::singleShot(20, this, [this] { continueRestore(); });
            return;
        }
        rebuild();
    }
}

void SessionStore::rebuild()
{
    MailboxPtr box = m_mailbox;
    SessionStore* self = this;
    const SessionDocument doc = m_doc;
    m_controller->postToWorker([box, self, doc](InferenceWorker& worker) {
        QString error;
        int resampledMismatch = 0, forced = 0, skipped = 0;
        int current = 0;
        QList<ComparisonLane> comparison;
        try {
            auto* s = worker.session();
            if (!s || !s->hasPrompt())
                throw logitscope::Error("the prompt has not been read");
            // Start from the bare prompt again: lanes 1.. are rebuilt in the saved order.
            const std::vector<int32_t> ids = s->promptIds();
            s->prefill(ids, doc.lanes.front().settings);
            std::map<int, int> idMap; // saved lane id -> new lane id
            const auto replay = [&](int lane, const SavedLane& saved, size_t from) {
                for (size_t i = from; i < saved.tokens.size(); ++i) {
                    if (s->finished(lane))
                        break;
                    const SavedToken& t = saved.tokens[i];
                    if (t.id < 0 || t.id >= s->model().config().vocabSize)
                        throw logitscope::Error("lanes: token id " + std::to_string(t.id) + " is outside the vocabulary");
                    if (t.forced) {
                        s->force(lane, t.id);
                        ++forced;
                        continue;
                    }
                    const auto r = s->step(lane);
                    if (r.chosen != t.id) {
                        s->rewind(lane, 1);
                        s->force(lane, t.id);
                        ++resampledMismatch;
                    }
                }
            };
            for (const SavedLane& saved : doc.lanes) {
                int lane = 0;
                size_t from = 0;
                if (saved.kind == QLatin1String("root")) {
                    lane = 0;
                } else {
                    const auto parent = idMap.find(saved.parent);
                    if (parent == idMap.end()) {
                        ++skipped;
                        continue;
                    }
                    const int parentLength = int(s->history(parent->second).size());
                    if (saved.kind == QLatin1String("lane")) {
                        if (parentLength < saved.forkStep) {
                            ++skipped;
                            continue;
                        }
                        lane = s->fork(parent->second);
                        if (parentLength > saved.forkStep)
                            s->rewind(lane, parentLength - saved.forkStep);
                        from = size_t(saved.forkStep);
                    } else {
                        if (parentLength < saved.forkStep || size_t(saved.forkStep) >= saved.tokens.size()) {
                            ++skipped;
                            continue;
                        }
                        lane = s->branch(parent->second, saved.forkStep, saved.tokens[size_t(saved.forkStep)].id).lane;
                        from = size_t(saved.forkStep) + 1;
                    }
                }
                s->setSampling(lane, saved.settings);
                idMap[saved.id] = lane;
                replay(lane, saved, from);
            }
            const auto it = idMap.find(doc.currentLane);
            current = it != idMap.end() ? it->second : 0;
            // The comparison view: the same lanes, each with the steps it showed (from its fork on).
            for (const SavedComparisonLane& saved : doc.comparison) {
                const auto lane = idMap.find(saved.lane);
                if (lane == idMap.end())
                    continue;
                ComparisonLane l;
                l.lane = lane->second;
                l.params = s->sampling(l.lane);
                const auto& history = s->history(l.lane);
                size_t from = 0;
                for (const SavedLane& sl : doc.lanes)
                    if (sl.id == saved.lane)
                        from = size_t(sl.forkStep);
                for (size_t i = from; i < history.size() && i < from + size_t(saved.steps); ++i)
                    l.steps.push_back(history[i]);
                comparison.append(l);
            }
            emit worker.lanesChanged(s->lanes());
            emit worker.laneSettingsAvailable(current, s->sampling(current));
            emit worker.laneHistoryAvailable(current, s->history(current));
            emit worker.metricsAvailable(current, s->metrics(current));
            if (!s->finished(current))
                emit worker.previewAvailable(s->preview(current));
        } catch (const std::exception& e) {
            error = QString::fromStdString(e.what());
        }
        box->post([self, error, resampledMismatch, forced, skipped, doc, comparison] {
            if (!error.isEmpty()) {
                self->fail(tr("Could not rebuild the session: %1").arg(error));
                return;
            }
            self->m_restoring = false;
            if (self->m_runner && comparison.size() >= 2)
                self->m_runner->adopt(comparison);
            QString message = tr("Session restored: %1 lane(s).").arg(doc.lanes.size() - skipped);
            if (resampledMismatch > 0)
                message += tr(" %1 token(s) sampled differently on this machine and were forced.").arg(resampledMismatch);
            if (skipped > 0)
                message += tr(" %1 lane(s) could not be rebuilt (their fork point no longer exists).").arg(skipped);
            emit self->restored(message);
        });
    });
}

} // namespace logitscope::gui
