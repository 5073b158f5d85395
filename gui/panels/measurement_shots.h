// MeasurementShots: the screenshot script's part for the KV cache, metrics, lanes and replay views
// (gui/screenshot.cpp calls it): start three side-by-side lanes and step them, run both sweeps with
// small sizes, export the trace and open it in the replay panel; then capture the tabs the dock
// pictures do not show. Only for `logitscope --screenshot-dir`.
#pragma once

#include <QObject>
#include <QString>

#include <functional>

class QWidget;

namespace logitscope::gui {

class MainWindow;

class MeasurementShots : public QObject {
    Q_OBJECT
public:
    explicit MeasurementShots(MainWindow* window, QObject* parent = nullptr);
    bool tick(); // true once everything is ready to capture (or gave up after a minute)
    static void captureExtras(MainWindow* window, const std::function<void(QWidget*, const QString&)>& save);

private:
    MainWindow* m_window;
    int m_stage = 0;
    int m_ticks = 0;
    bool m_traceWritten = false;
    QString m_tracePath;
};

} // namespace logitscope::gui
