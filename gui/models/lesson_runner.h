// LessonRunner: plays a lesson in the app. Each Next runs the step on a LessonPlayer (its own engine
// session, on a pool thread: measurements and the check) and mirrors the step on the InferenceController,
// so the ordinary panels show the same prompt, settings and tokens. Back replays the lesson up to the
// previous step. It owns no widgets; LessonsPanel renders it.
#pragma once

#include "models/lesson.h"
#include "models/lesson_player.h"

#include <QObject>
#include <QPointer>
#include <QStringList>
#include <QThreadPool>

#include <deque>
#include <functional>
#include <memory>

namespace logitscope::gui {

class InferenceController;
class LaneRunner;

// Where the bundled lessons are: $LOGITSCOPE_LESSONS_DIR, the installed copy, then the source tree.
QString findLessonsDirectory();

class LessonRunner : public QObject {
    Q_OBJECT
public:
    explicit LessonRunner(InferenceController* controller, QObject* parent = nullptr);
    ~LessonRunner() override;

    // Reads every lesson file of a folder; files that do not parse are listed in loadErrors().
    int loadDirectory(const QString& directory);
    bool addLessonFile(const QString& path, QString* error = nullptr);
    const std::vector<Lesson>& lessons() const { return m_lessons; }
    const QStringList& loadErrors() const { return m_loadErrors; }
    int indexOf(const QString& id) const;

    InferenceController* controller() const { return m_controller; }
    int currentLesson() const { return m_lesson; }
    int currentStep() const { return m_step; }      // last step played, -1 before the first
    bool busy() const { return m_busy || !m_commands.empty(); }
    const std::vector<StepOutcome>& outcomes() const { return m_outcomes; }
    // Mirror each step on the controller (on by default); the tests turn it off to check the player alone.
    void setDriveController(bool on) { m_drive = on; }
    // A lesson with several lanes runs them on this runner too, so the Side-by-side lanes dock, the Path
    // selector and the bars show the lanes the lesson talks about (lane A on display).
    void setLaneRunner(LaneRunner* runner);

public slots:
    void start(int lesson);
    void next();
    void back();
    void restart();
    // Ends the lesson: nothing more is mirrored on the controller (its panel was closed).
    void stopLesson();

signals:
    void lessonStarted(int lesson);
    void stepPlayed(int step, const QString& reportHtml, int checkStatus, const QString& checkDetail, const QString& error);
    void busyChanged(bool busy);
    void panelRequested(const QString& panel);
    void promptRequested(const QString& prompt, bool chat);       // the Prompt panel should show this text
                                                                  // (and tick "Chat template" for "chat": true)
    void samplingRequested(const logitscope::SamplingParams& params); // and the Sampling panel these settings
    void failed(const QString& message);

private:
    void playUpTo(int step);     // replays from the start when going back
    void runOnPool(std::function<void()> work);
    void mirror(const LessonStep& step);
    void queue(std::function<bool()> command); // a command returns false while it must wait
    void pump();
    void setBusy(bool busy);

    InferenceController* m_controller;
    QThreadPool m_pool;
    std::vector<Lesson> m_lessons;
    QStringList m_loadErrors;
    int m_lesson = -1;
    int m_step = -1;
    bool m_busy = false;
    bool m_drive = true;
    QPointer<LaneRunner> m_laneRunner;
    std::shared_ptr<LessonPlayer> m_player;
    std::shared_ptr<const logitscope::Model> m_model;   // shared by the players of one model
    std::string m_modelPath;
    std::vector<StepOutcome> m_outcomes;
    std::deque<std::function<bool()>> m_commands;
    quint64 m_generation = 0;                           // drops results of an abandoned lesson
};

} // namespace logitscope::gui
