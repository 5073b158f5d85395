// LessonScreenshots: plays one lesson (or all of them) in a MainWindow-like window and writes, after each
// step, the window and the Lessons panel to PNG files (`logitscope --lesson ID --screenshot-dir DIR`,
// ID "all" for every lesson). docs/lessons/*.md show these pictures, so they are regenerated, never drawn.
#pragma once

#include <QElapsedTimer>
#include <QObject>
#include <QString>
#include <QTimer>

class QDockWidget;
class QMainWindow;

namespace logitscope::gui {

class InferenceController;
class LessonRunner;

class LessonScreenshots : public QObject {
    Q_OBJECT
public:
    LessonScreenshots(QMainWindow* window, InferenceController* controller, QString lessonId, QString directory,
                      QObject* parent = nullptr);
    void start();

signals:
    void finished(int exitCode);

private:
    void tick();
    bool idle() const;
    void capture(const QString& name, bool window);
    bool nextLesson();

    QMainWindow* m_window;
    InferenceController* m_controller;
    LessonRunner* m_runner = nullptr;
    QDockWidget* m_dock = nullptr;
    QString m_id, m_dir;
    QList<int> m_queue;       // lessons still to play
    int m_lesson = -1;
    int m_requested = -1;     // step asked for
    bool m_failed = false;
    QTimer m_timer;
    QElapsedTimer m_clock;
    qint64 m_settleSince = -1;
};

} // namespace logitscope::gui
