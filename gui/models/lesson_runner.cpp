// Playing lessons in the app.
#include "models/lesson_runner.h"
#include "models/lane_runner.h"

#include "models/inference_controller.h"
#include "models/model_locator.h"

#include <QCoreApplication>
#include <QDir>
#include <QFileInfo>
#include <QPointer>
#include <QTimer>

namespace logitscope::gui {

QString findLessonsDirectory()
{
    QStringList candidates;
    if (qEnvironmentVariableIsSet("LOGITSCOPE_LESSONS_DIR"))
        candidates << qEnvironmentVariable("LOGITSCOPE_LESSONS_DIR");
    for (const QString& dir : bundledDataDirectories())
        candidates << QDir(dir).filePath(QStringLiteral("lessons"));
    for (const QString& c : candidates)
        if (QFileInfo(c).isDir() && !QDir(c).entryList({QStringLiteral("*.json")}, QDir::Files).isEmpty())
            return QDir::cleanPath(c);
    return {};
}

LessonRunner::LessonRunner(InferenceController* controller, QObject* parent)
    : QObject(parent), m_controller(controller)
{
    m_pool.setMaxThreadCount(1);   // one player, one thread: steps run in order
    if (m_controller) {
        connect(m_controller, &InferenceController::stateChanged, this, &LessonRunner::pump);
        connect(m_controller, &InferenceController::activityChanged, this, &LessonRunner::pump);
    }
}

LessonRunner::~LessonRunner()
{
    ++m_generation;
    m_pool.waitForDone();
}

int LessonRunner::loadDirectory(const QString& directory)
{
    int n = 0;
    for (const auto& file : lessonFiles(directory.toStdString()))
        n += addLessonFile(QString::fromStdString(file));
    return n;
}

bool LessonRunner::addLessonFile(const QString& path, QString* error)
{
    try {
        Lesson l = loadLessonFile(path.toStdString());
        const int existing = indexOf(QString::fromStdString(l.id));
        if (existing >= 0)
            m_lessons[size_t(existing)] = std::move(l);
        else
            m_lessons.push_back(std::move(l));
        return true;
    } catch (const std::exception& e) {
        const QString message = QString::fromUtf8(e.what());
        m_loadErrors << message;
        if (error)
            *error = message;
        return false;
    }
}

int LessonRunner::indexOf(const QString& id) const
{
    for (size_t i = 0; i < m_lessons.size(); ++i)
        if (QString::fromStdString(m_lessons[i].id) == id)
            return int(i);
    return -1;
}

void LessonRunner::setBusy(bool busy)
{
    const bool before = this->busy();
    m_busy = busy;
    if (before != this->busy())
        emit busyChanged(this->busy());
}

void LessonRunner::runOnPool(std::function<void()> work)
{
    m_pool.start(std::move(work));
}

void LessonRunner::start(int lesson)
{
    if (lesson < 0 || lesson >= int(m_lessons.size()))
        return;
    ++m_generation;
    m_pool.waitForDone();
    m_lesson = lesson;
    m_step = -1;
    m_outcomes.clear();
    m_commands.clear();
    const Lesson& l = m_lessons[size_t(lesson)];
    std::string path;
    if (!l.model.empty()) {
        const QFileInfo fi(QFileInfo(QString::fromStdString(l.source)).dir(), QString::fromStdString(l.model));
        path = (fi.exists() ? fi.absoluteFilePath() : QString::fromStdString(l.model)).toStdString();
    } else {
        path = findDefaultModel().toStdString();
    }
    if (path != m_modelPath)
        m_model.reset();
    m_modelPath = path;
    m_player = std::make_shared<LessonPlayer>(l, path, m_model);

    if (m_drive && m_controller) {
        const QString qpath = QString::fromStdString(path);
        if (!qpath.isEmpty() && QFileInfo(m_controller->modelInfo().path) != QFileInfo(qpath))
            m_controller->loadModel(qpath);
        else
            m_controller->reset();
        const QString prompt = QString::fromStdString(l.prompt);
        emit samplingRequested(l.lanes.front().params);
        m_controller->setSampling(l.lanes.front().params);
        emit promptRequested(prompt, l.chat);
        m_controller->setPrompt(prompt, l.chat);
    }
    emit lessonStarted(lesson);
    setBusy(false);
}

void LessonRunner::setLaneRunner(LaneRunner* runner)
{
    m_laneRunner = runner;
}

void LessonRunner::stopLesson()
{
    ++m_generation;
    m_pool.waitForDone();
    m_commands.clear();
    m_player.reset();
    m_lesson = -1;
    m_step = -1;
    m_outcomes.clear();
    setBusy(false);
    emit busyChanged(busy());
}

void LessonRunner::restart()
{
    start(m_lesson);
}

void LessonRunner::next()
{
    if (!m_player || m_busy || m_player->done())
        return;
    playUpTo(m_step + 1);
}

void LessonRunner::back()
{
    if (m_lesson < 0 || m_busy)
        return;
    const int target = m_step - 1;
    start(m_lesson);
    if (target >= 0)
        playUpTo(target);
}

void LessonRunner::playUpTo(int target)
{
    setBusy(true);
    const quint64 generation = m_generation;
    auto player = m_player;
    QPointer<LessonRunner> self(this);
    runOnPool([self, player, target, generation] {
        std::vector<StepOutcome> outcomes;
        QString error;
        try {
            while (!player->done() && player->nextStep() <= target)
                outcomes.push_back(player->playNext());
        } catch (const std::exception& e) {
            error = QString::fromUtf8(e.what());
        }
        QMetaObject::invokeMethod(
            self.data(),
            [self, player, outcomes = std::move(outcomes), error, generation] {
                if (!self || generation != self->m_generation)
                    return;
                if (!self->m_model && player->session())
                    self->m_model = player->session()->modelPtr();
                for (const auto& o : outcomes) {
                    self->m_step = o.index;
                    self->m_outcomes.push_back(o);
                    const LessonStep& step = player->lesson().steps[size_t(o.index)];
                    if (self->m_drive && self->m_controller)
                        self->mirror(step);
                }
                self->m_busy = false;
                if (!outcomes.empty()) {
                    const auto& o = outcomes.back();
                    const LessonStep& step = player->lesson().steps[size_t(o.index)];
                    emit self->stepPlayed(o.index, QString::fromStdString(o.reportHtml),
                                          o.hasCheck ? int(o.check.status) : -1, QString::fromStdString(o.check.detail),
                                          QString::fromStdString(o.error));
                    const std::string panel = step.action == LessonAction::ShowPanel ? step.panelName : step.panel;
                    if (!panel.empty())
                        emit self->panelRequested(QString::fromStdString(panel));
                }
                if (!error.isEmpty())
                    emit self->failed(error);
                emit self->busyChanged(self->busy());
                self->pump();
            },
            Qt::QueuedConnection);
    });
}

// ---- mirroring on the controller ---------------------------------------------------------------

void LessonRunner::queue(std::function<bool()> command)
{
    const bool before = busy();
    m_commands.push_back(std::move(command));
    if (before != busy())
        emit busyChanged(busy());
}

void LessonRunner::pump()
{
    const bool before = busy();
    while (!m_commands.empty() && m_commands.front()())
        m_commands.pop_front();
    if (!m_commands.empty()) {
        // The controller answers with stateChanged; a timer covers commands that change no state.
        QTimer::singleShot(30, this, &LessonRunner::pump);
    }
    if (before != busy())
        emit busyChanged(busy());
}

void LessonRunner::mirror(const LessonStep& step)
{
    InferenceController* c = m_controller;
    const Lesson& l = m_lessons[size_t(m_lesson)];
    auto stepOnce = [c] {
        if (c->isBusy())
            return false;
        if (!c->hasModel())
            return c->activity() == InferenceController::Activity::Idle; // none will come: drop the command
        if (c->promptChangedSincePrefill() || !c->laneFinished())
            c->step();
        return true;
    };
    // Several lanes: the lane runner forks them right after the prompt and steps them together; lane A
    // (the lesson's lane 0) is the one on display.
    LaneRunner* lanes = l.lanes.size() > 1 ? m_laneRunner.data() : nullptr;
    QList<logitscope::SamplingParams> laneParams;
    for (const auto& lane : l.lanes)
        laneParams.append(lane.params);
    auto startLanes = [this, c, lanes, laneParams] {
        queue([c, lanes, laneParams] {
            if (c->isBusy() || lanes->isBusy())
                return false;
            if (c->isPrefilled())
                lanes->start(laneParams);
            return true;
        });
        queue([c, lanes] {
            if (lanes->isBusy() || c->isBusy())
                return false;
            if (lanes->isActive())
                c->selectLane(lanes->model()->lanes().front().lane);
            return true;
        });
    };
    auto stepLanes = [this, c, lanes](int count) {
        queue([c, lanes, count] {
            if (c->isBusy() || lanes->isBusy())
                return false;
            if (lanes->isActive())
                lanes->step(count);
            return true;
        });
        queue([c, lanes] { return !lanes->isBusy() && !c->isBusy(); });
    };
    switch (step.action) {
    case LessonAction::Prefill: {
        const QString prompt = QString::fromStdString(step.args.value("prompt", m_player->currentPrompt()));
        const bool chat = l.chat;
        queue([this, c, prompt, chat] {
            if (c->isBusy())
                return false;
            if (prompt != c->prompt() || chat != c->chatTemplate()) {
                emit promptRequested(prompt, chat);
                c->setPrompt(prompt, chat);
            } else if (c->isPrefilled()) {
                c->reset();
                return false;   // wait for the reset, then read the prompt
            }
            return true;
        });
        queue(stepOnce);
        if (lanes)
            startLanes();
        return;
    }
    case LessonAction::Step:
        if (lanes)
            stepLanes(1);
        else
            queue(stepOnce);
        return;
    case LessonAction::Steps:
        if (lanes) {
            stepLanes(step.count);
            return;
        }
        for (int i = 0; i < step.count; ++i)
            queue(stepOnce);
        return;
    case LessonAction::Rewind: {
        const int n = step.count;
        queue([c, n] {
            if (c->isBusy())
                return false;
            c->rewind(std::min(n, c->generatedCount()));
            return true;
        });
        return;
    }
    case LessonAction::Set: {
        if (step.args.contains("prompt")) {
            const QString prompt = QString::fromStdString(step.args["prompt"].get<std::string>());
            emit promptRequested(prompt, l.chat);
            c->setPrompt(prompt, l.chat);
        }
        if (step.args.contains("settings") && step.args.value("lane", 0) == 0 && m_player->laneCount() > 0) {
            try {
                const auto params = logitscope::samplingParamsFromJson(
                    mergeSettings(mergeSettings(l.settings, l.lanes.front().settings), step.args["settings"]));
                emit samplingRequested(params);
                c->setSampling(params);
            } catch (const std::exception&) {
            }
        }
        return;
    }
    case LessonAction::ShowPanel:
        // "args": {"lane": i}: the step is about lane i — bring it on display (bars, Generated, Path).
        if (lanes && step.args.contains("lane")) {
            const int index = step.args["lane"].get<int>();
            queue([c, lanes, index] {
                if (c->isBusy() || lanes->isBusy())
                    return false;
                if (index < int(lanes->model()->lanes().size()))
                    c->selectLane(lanes->model()->lanes()[index].lane);
                return true;
            });
        }
        return;
    default:
        return;   // forks, beams, sweeps and measurements are shown by the Lessons panel itself
    }
}

} // namespace logitscope::gui
