// ScreenshotDirector: drives a MainWindow through a short scripted session (load → prompt → read →
// N steps → select a past step) and writes the window and every panel to PNG files, then quits.
// Used by `logitscope --screenshot-dir DIR` for the user guide; works offscreen and under Xvfb.
#pragma once

#include <QElapsedTimer>
#include <QObject>
#include <QString>
#include <QTimer>

namespace logitscope::gui {

class MainWindow;

class ScreenshotDirector : public QObject {
    Q_OBJECT
public:
    ScreenshotDirector(MainWindow* window, QString directory, QString prompt, int steps, QObject* parent = nullptr);
    void start();

signals:
    void finished(int exitCode);

private:
    void tick();
    bool idle() const;
    void capture();
    bool save(QWidget* widget, const QString& name);

    enum class Phase { WaitModel, Prompt, WaitTokens, Read, Steps, Select, Beam, Measure, Done };
    MainWindow* m_window;
    QString m_dir, m_prompt;
    int m_steps;
    Phase m_phase = Phase::WaitModel;
    int m_requested = 0;
    QTimer m_timer;
    QElapsedTimer m_clock;
    qint64 m_phaseStart = 0;
    bool m_failed = false;
};

} // namespace logitscope::gui
