// Screenshots of lessons.
#include "panels/lesson_screenshots.h"

#include "models/inference_controller.h"
#include "models/lesson_runner.h"
#include "panels/lessons_panel.h"

#include <QApplication>
#include <QDir>
#include <QDockWidget>
#include <QMainWindow>
#include <QPixmap>

#include <cstdio>

namespace logitscope::gui {

LessonScreenshots::LessonScreenshots(QMainWindow* window, InferenceController* controller, QString lessonId,
                                     QString directory, QObject* parent)
    : QObject(parent), m_window(window), m_controller(controller), m_id(std::move(lessonId)), m_dir(std::move(directory))
{
    m_timer.setInterval(20);
    connect(&m_timer, &QTimer::timeout, this, &LessonScreenshots::tick);
}

void LessonScreenshots::start()
{
    QDir().mkpath(m_dir);
    m_dock = m_window->findChild<QDockWidget*>(QStringLiteral("dock.lessons"));
    if (auto* panel = m_window->findChild<LessonsPanel*>())
        m_runner = panel->runner();
    if (!m_runner || !m_dock) {
        std::fprintf(stderr, "logitscope: this window has no Lessons panel\n");
        emit finished(1);
        return;
    }
    for (int i = 0; i < int(m_runner->lessons().size()); ++i)
        if (m_id == QLatin1String("all") || QString::fromStdString(m_runner->lessons()[size_t(i)].id) == m_id)
            m_queue << i;
    if (m_queue.isEmpty()) {
        std::fprintf(stderr, "logitscope: no lesson \"%s\" (lessons: ", qPrintable(m_id));
        for (const auto& l : m_runner->lessons())
            std::fprintf(stderr, "%s ", l.id.c_str());
        std::fprintf(stderr, ")\n");
        emit finished(2);
        return;
    }
    m_dock->show();
    m_window->resizeDocks({m_dock}, {m_window->width() * 40 / 100}, Qt::Horizontal);
    m_window->resizeDocks({m_dock}, {m_window->height() * 68 / 100}, Qt::Vertical);
    m_clock.start();
    m_timer.start();
}

bool LessonScreenshots::idle() const
{
    return !m_runner->busy() && !m_controller->isBusy();
}

bool LessonScreenshots::nextLesson()
{
    if (m_queue.isEmpty())
        return false;
    m_lesson = m_queue.takeFirst();
    m_requested = -1;
    m_runner->start(m_lesson);
    return true;
}

void LessonScreenshots::tick()
{
    if (m_clock.elapsed() > 15 * 60 * 1000) {
        std::fprintf(stderr, "logitscope: lesson screenshots timed out\n");
        m_timer.stop();
        emit finished(1);
        return;
    }
    if (!idle()) {
        m_settleSince = -1;
        return;
    }
    // Let queued results reach the panels before grabbing.
    if (m_settleSince < 0) {
        m_settleSince = m_clock.elapsed();
        return;
    }
    if (m_clock.elapsed() - m_settleSince < 250)
        return;
    m_settleSince = -1;
    if (m_lesson < 0) {
        if (!nextLesson()) {
            m_timer.stop();
            emit finished(m_failed ? 1 : 0);
        }
        return;
    }
    const auto& lesson = m_runner->lessons()[size_t(m_lesson)];
    const QString id = QString::fromStdString(lesson.id);
    if (m_requested >= 0 && m_runner->currentStep() == m_requested) {
        const QString base = QStringLiteral("%1-step%2").arg(id).arg(m_requested + 1);
        capture(base + QStringLiteral(".png"), m_requested + 1 == int(lesson.steps.size()));
        const auto& outcome = m_runner->outcomes().back();
        if (outcome.hasCheck && outcome.check.status == CheckResult::Status::Fail) {
            std::fprintf(stderr, "check failed in %s step %d: %s\n", qPrintable(id), m_requested + 1,
                         outcome.check.detail.c_str());
        }
    } else if (m_requested < 0) {
        capture(id + QStringLiteral("-start.png"), true);
    }
    if (m_requested + 1 < int(lesson.steps.size())) {
        ++m_requested;
        m_runner->next();
        return;
    }
    m_lesson = -1;
}

void LessonScreenshots::capture(const QString& name, bool window)
{
    QApplication::processEvents();
    const QString windowPath = QDir(m_dir).filePath(name);
    QString panelName = name;
    panelName.replace(QStringLiteral(".png"), QStringLiteral("-panel.png"));
    const QString panel = QDir(m_dir).filePath(panelName);
    // Every step's Lessons panel; the whole window only at the start and after the last step.
    const bool ok = (!window || m_window->grab().save(windowPath, "PNG")) && m_dock->grab().save(panel, "PNG");
    std::fprintf(ok ? stdout : stderr, "%s %s\n", ok ? "wrote" : "could not write", qPrintable(panel));
    m_failed |= !ok;
}

} // namespace logitscope::gui
