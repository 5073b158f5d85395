// LessonsPanel: the list of lessons, the current step's text (what to do, what to notice), what the step
// measured, the ✓ / ✗ of its check, and Back / Next. It renders a LessonRunner and never calls the engine.
// installLessons() adds the panel as a dock and a Lessons menu to a main window (two lines there).
#pragma once

#include <QWidget>

class QDockWidget;
class QLabel;
class QListWidget;
class QMainWindow;
class QPushButton;
class QTextBrowser;

namespace logitscope::gui {

class InferenceController;
class LessonRunner;

class LessonsPanel : public QWidget {
    Q_OBJECT
public:
    explicit LessonsPanel(LessonRunner* runner, QWidget* parent = nullptr);
    LessonRunner* runner() const { return m_runner; }
    QString stepText() const;      // the rich text shown for the current step (tests, screenshots)
    QString checkText() const;

public slots:
    void openLessonFile();         // a teacher's own lesson

private:
    void showLesson(int lesson);
    void showStep(int step, const QString& reportHtml, int checkStatus, const QString& detail, const QString& error);
    void updateButtons();
    void fillList();

    LessonRunner* m_runner;
    QListWidget* m_list;
    QLabel* m_title;
    QTextBrowser* m_text;
    QLabel* m_check;
    QLabel* m_progress;
    QPushButton* m_back;
    QPushButton* m_next;
    QPushButton* m_restart;
};

// Creates a LessonRunner on `controller` (loading the bundled lessons), the Lessons dock and menu, and
// wires lesson prompts/settings to the Prompt and Sampling panels and "show panel" to the docks.
QDockWidget* installLessons(QMainWindow* window, InferenceController* controller);
// Opens the Lessons dock and starts lesson `id` (or its number, 1-based) as the Lessons menu does:
// false and a message listing the lessons when there is no such lesson.
bool openLesson(QMainWindow* window, const QString& id, QString* error);

} // namespace logitscope::gui
