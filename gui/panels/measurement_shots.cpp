// Screenshot script for the measurement views.
#include "panels/measurement_shots.h"

#include "main_window.h"
#include "models/inference_controller.h"
#include "models/lane_runner.h"
#include "models/measurements.h"
#include "models/session_store.h"
#include "panels/kv_cache_panel.h"
#include "panels/lanes_panel.h"
#include "panels/metrics_panel.h"
#include "panels/replay_panel.h"

#include <QApplication>
#include <QDir>
#include <QDockWidget>
#include <QSlider>
#include <QTabWidget>

namespace logitscope::gui {

MeasurementShots::MeasurementShots(MainWindow* window, QObject* parent) : QObject(parent), m_window(window)
{
    m_tracePath = QDir::temp().filePath(QStringLiteral("logitscope-screenshot-trace.json"));
    connect(window->sessionStore(), &SessionStore::traceExported, this, [this] { m_traceWritten = true; });
}

bool MeasurementShots::tick()
{
    auto* c = m_window->controller();
    auto* runner = m_window->laneRunner();
    auto* m = m_window->measurements();
    if (++m_ticks > 4000) // ~1 minute of 15 ms ticks
        return true;
    const bool sweeping = m->runningSweep() != Measurements::Sweep::None;
    if (c->isBusy() || runner->isBusy() || sweeping)
        return false;
    switch (m_stage) {
    case 0:
        if (!c->isPrefilled())
            return true;
        {
            // Lanes A (the controls' settings) and B (hotter), and C = a copy of A: C never leaves A's
            // path. Set in the panel, so the picture shows the settings the lanes ran with.
            auto* lanes = m_window->lanesPanel();
            const auto settings = lanes->laneSettings();
            lanes->setLaneSettings({settings.value(0), settings.value(1), settings.value(0)});
            lanes->setLaneCount(3);
            runner->start(lanes->laneSettings());
        }
        ++m_stage;
        return false;
    case 1:
        if (!runner->isActive())
            return false;
        runner->step(12);
        ++m_stage;
        return false;
    case 2:
        m->runContextSweep(512);
        ++m_stage;
        return false;
    case 3:
        m->runThroughputSweep(16, 32, 8);
        ++m_stage;
        return false;
    case 4:
        m_window->sessionStore()->exportTrace(m_tracePath);
        ++m_stage;
        return false;
    case 5: {
        if (!m_traceWritten)
            return false;
        QString error;
        if (m_window->replayPanel()->openTrace(m_tracePath, &error))
            m_window->replayPanel()->slider()->setValue(m_window->replayPanel()->slider()->maximum() / 2);
        QDir().remove(m_tracePath);
        ++m_stage;
        return true;
    }
    default:
        return true;
    }
}

void MeasurementShots::captureExtras(MainWindow* window, const std::function<void(QWidget*, const QString&)>& save)
{
    const auto dockOf = [window](const QString& name) -> QDockWidget* {
        for (QDockWidget* d : window->docks())
            if (d->objectName() == name)
                return d;
        return nullptr;
    };
    if (auto* kv = dockOf(QStringLiteral("dock.kvcache"))) {
        kv->raise();
        for (int i = 1; i < window->kvCachePanel()->tabs()->count(); ++i) {
            window->kvCachePanel()->tabs()->setCurrentIndex(i);
            QApplication::processEvents();
            save(kv, i == 1 ? QStringLiteral("panel-kvcache-memory.png") : QStringLiteral("panel-kvcache-context.png"));
        }
        window->kvCachePanel()->tabs()->setCurrentIndex(0);
    }
    if (auto* metrics = dockOf(QStringLiteral("dock.metrics"))) {
        metrics->raise();
        window->metricsPanel()->tabs()->setCurrentIndex(1);
        QApplication::processEvents();
        save(metrics, QStringLiteral("panel-metrics-throughput.png"));
        window->metricsPanel()->tabs()->setCurrentIndex(0);
    }
    if (auto* p = dockOf(QStringLiteral("dock.probabilities")))
        p->raise();
}

} // namespace logitscope::gui
