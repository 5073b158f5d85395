// Side-by-side lanes on the worker: fork, set settings, stepLanes.
#include "models/lane_runner.h"

#include "common/error.h"
#include "decoding/session.h"
#include "models/inference_controller.h"
#include "models/inference_worker.h"
#include "models/lane_model.h"

#include <algorithm>

namespace logitscope::gui {

LaneRunner::LaneRunner(InferenceController* controller, QObject* parent)
    : QObject(parent), m_controller(controller), m_mailbox(std::make_shared<WorkerMailbox>(this)),
      m_model(new LaneComparisonModel(this))
{
    connect(controller, &InferenceController::modelLoadFinished, this, [this] {
        m_model->setVocabulary(m_controller->vocabulary());
        m_model->clear();
    });
    // A new prompt or a reset drops every lane in the engine: the comparison is over.
    connect(controller, &InferenceController::prefillStarted, m_model, &LaneComparisonModel::clear);
    connect(controller, &InferenceController::resetFinished, m_model, &LaneComparisonModel::clear);
    m_model->setVocabulary(controller->vocabulary());
    // The Path selector names the lanes as the lanes table does: Lane A, B, ...
    connect(m_model, &QAbstractItemModel::modelReset, this, [this] {
        QMap<int, QString> names;
        for (int i = 0; i < m_model->lanes().size(); ++i)
            names.insert(m_model->lanes()[i].lane, tr("Lane %1").arg(LaneComparisonModel::laneLetter(i)));
        m_controller->laneModel()->setComparisonNames(names);
    });
}

LaneRunner::~LaneRunner()
{
    m_mailbox->close();
}

void LaneRunner::start(const QList<logitscope::SamplingParams>& settings)
{
    if (m_busy)
        return;
    if (settings.size() < 2 || settings.size() > 4) {
        emit failed(tr("Choose two to four lanes."));
        return;
    }
    if (!m_controller->isPrefilled()) {
        emit failed(tr("Read the prompt first (Step), then start the lanes."));
        return;
    }
    m_busy = true;
    m_mailbox->cancel = false;
    QList<int> old;
    for (const auto& l : m_model->lanes())
        old.append(l.lane);
    const int from = m_controller->currentLane();
    const int shown = m_controller->currentLane();
    MailboxPtr box = m_mailbox;
    LaneRunner* self = this;
    m_controller->postToWorker([box, self, settings, old, from, shown](InferenceWorker& worker) {
        QList<ComparisonLane> lanes;
        QString error;
        LaneList list;
        try {
            auto* s = worker.session();
            if (!s || !s->hasPrompt())
                throw logitscope::Error("the prompt has not been read");
            for (const auto& p : settings)
                logitscope::validate(p, -1); // nothing is forked when one lane's settings are invalid
            for (int id : old)
                if (id != shown && id != from)
                    try {
                        s->closeLane(id);
                    } catch (const std::exception&) {
                    }
            for (const auto& p : settings) {
                ComparisonLane l;
                l.lane = s->fork(from);
                l.params = p;
                s->setSampling(l.lane, p);
                lanes.append(l);
            }
            list = s->lanes();
            emit worker.lanesChanged(list); // the branch selector lists them
        } catch (const std::exception& e) {
            error = QString::fromStdString(e.what());
        }
        box->post([self, lanes, error] {
            self->m_busy = false;
            if (!error.isEmpty()) {
                emit self->failed(tr("Could not start the lanes: %1").arg(error));
                return;
            }
            self->m_model->setLanes(lanes);
            QList<int> ids;
            for (const auto& l : lanes)
                ids.append(l.lane);
            emit self->started(ids);
        });
    });
}

void LaneRunner::step(int count)
{
    if (m_busy || !isActive())
        return;
    m_busy = true;
    m_mailbox->cancel = false;
    std::vector<int> ids;
    for (const auto& l : m_model->lanes())
        ids.push_back(l.lane);
    MailboxPtr box = m_mailbox;
    LaneRunner* self = this;
    const int shown = m_controller->currentLane();
    m_controller->postToWorker([box, self, ids, count, shown](InferenceWorker& worker) {
        QString error;
        try {
            auto* s = worker.session();
            if (!s || !s->hasPrompt())
                throw logitscope::Error("the prompt has not been read");
            for (int n = 0; n < count && !box->cancel.load(); ++n) {
                std::vector<int> live;
                for (int id : ids)
                    if (!s->finished(id))
                        live.push_back(id);
                if (live.empty())
                    break;
                auto records = s->stepLanes(live);
                box->post([self, records] {
                    self->m_model->appendSteps(records);
                    emit self->stepsAvailable(self->m_model->divergenceStep());
                });
            }
            emit worker.lanesChanged(s->lanes());
            // The lane on display in the main views (a lesson's lane, one picked in the Path selector) follows.
            if (std::find(ids.begin(), ids.end(), shown) != ids.end()) {
                emit worker.laneSettingsAvailable(shown, s->sampling(shown));
                emit worker.laneHistoryAvailable(shown, s->history(shown));
                emit worker.metricsAvailable(shown, s->metrics(shown));
                if (!s->finished(shown))
                    emit worker.previewAvailable(s->preview(shown));
            }
        } catch (const logitscope::Cancelled&) {
        } catch (const std::exception& e) {
            error = QString::fromStdString(e.what());
        }
        box->post([self, error] {
            self->m_busy = false;
            if (!error.isEmpty())
                emit self->failed(error);
            emit self->finished();
        });
    });
}

void LaneRunner::adopt(const QList<ComparisonLane>& lanes)
{
    if (m_busy)
        return;
    m_model->setLanes(lanes);
    QList<int> ids;
    for (const auto& l : lanes)
        ids.append(l.lane);
    emit started(ids);
    emit stepsAvailable(m_model->divergenceStep());
}

void LaneRunner::stop()
{
    m_mailbox->cancel = true;
}

void LaneRunner::close()
{
    if (m_busy || !isActive())
        return;
    std::vector<int> ids;
    for (const auto& l : m_model->lanes())
        if (l.lane != m_controller->currentLane())
            ids.push_back(l.lane);
    m_model->clear();
    m_controller->postToWorker([ids](InferenceWorker& worker) {
        auto* s = worker.session();
        if (!s || !s->hasPrompt())
            return;
        for (int id : ids)
            try {
                s->closeLane(id);
            } catch (const std::exception&) {
            }
        emit worker.lanesChanged(s->lanes());
    });
}

} // namespace logitscope::gui
