// MainWindow::addMeasurementViews: the KV cache, serving-metrics, side-by-side lanes and trace-replay
// docks (tabbed with the probability bars), and the File menu's session and export commands.
// Kept out of main_window.cpp so the window's own file stays small; it only wires and renders.
#include "main_window.h"

#include "models/candidate_model.h"
#include "models/inference_controller.h"
#include "models/lane_runner.h"
#include "models/measurements.h"
#include "models/session_store.h"
#include "models/trace_file.h"
#include "panels/kv_cache_panel.h"
#include "panels/lanes_panel.h"
#include "panels/metrics_panel.h"
#include "panels/plot_export.h"
#include "panels/prompt_panel.h"
#include "panels/replay_panel.h"
#include "panels/sampling_panel.h"

#include <QAction>
#include <QDockWidget>
#include <QFileDialog>
#include <QInputDialog>
#include <QLabel>
#include <QMenu>
#include <QMenuBar>
#include <QMessageBox>

#include <qcustomplot.h>

namespace logitscope::gui {

void MainWindow::addMeasurementViews()
{
    // Children of the window: destroyed before the controller (main.cpp declares it first), which
    // their worker tasks need (see WorkerMailbox).
    m_measurements = new Measurements(m_controller, this);
    m_laneRunner = new LaneRunner(m_controller, this);
    m_sessionStore = new SessionStore(m_controller, this);
    m_sessionStore->setLaneRunner(m_laneRunner);
    m_kvCachePanel = new KvCachePanel(m_controller, m_measurements);
    m_metricsPanel = new MetricsPanel(m_controller, m_measurements);
    m_lanesPanel = new LanesPanel(m_controller, m_laneRunner);
    m_replayPanel = new ReplayPanel;
    auto* kv = addPanel(tr("KV cache and memory"), QStringLiteral("dock.kvcache"), m_kvCachePanel, Qt::RightDockWidgetArea);
    auto* metrics = addPanel(tr("Serving metrics"), QStringLiteral("dock.metrics"), m_metricsPanel, Qt::RightDockWidgetArea);
    auto* lanes = addPanel(tr("Side-by-side lanes"), QStringLiteral("dock.lanes"), m_lanesPanel, Qt::RightDockWidgetArea);
    auto* replay = addPanel(tr("Replay trace"), QStringLiteral("dock.replay"), m_replayPanel, Qt::RightDockWidgetArea);
    for (auto* dock : {kv, metrics, lanes, replay})
        tabifyDockWidget(m_probabilityDock, dock);
    m_probabilityDock->raise();

    const auto say = [this](const QString& text) { m_statusLabel->setText(text); };
    connect(m_sessionStore, &SessionStore::promptRestored, this, [this](const QString& prompt, bool) {
        m_promptPanel->setPromptText(prompt);
    });
    connect(m_sessionStore, &SessionStore::settingsRestored, m_samplingPanel, &SamplingPanel::setParams);
    connect(m_sessionStore, &SessionStore::restored, this, say);
    connect(m_sessionStore, &SessionStore::saved, this, [say](const QString& path) { say(tr("Saved the session to %1.").arg(path)); });
    connect(m_sessionStore, &SessionStore::traceExported, this, [say](const QString& path) { say(tr("Wrote the trace %1.").arg(path)); });
    connect(m_sessionStore, &SessionStore::failed, this, [this, say](const QString& message) {
        say(message);
        if (isVisible())
            QMessageBox::warning(this, tr("Logitscope"), message);
    });

    // File menu: before its last separator (Quit).
    QMenu* file = nullptr;
    for (QAction* a : menuBar()->actions())
        if (a->menu() && a->text() == tr("&File"))
            file = a->menu();
    if (!file)
        return;
    QAction* before = nullptr;
    const auto actions = file->actions();
    for (int i = actions.size() - 1; i >= 0; --i)
        if (actions[i]->isSeparator()) {
            before = actions[i];
            break;
        }
    auto* menu = new QMenu(this);
    menu->addAction(tr("&Save session…"), QKeySequence::Save, this, [this] {
        const QString path = QFileDialog::getSaveFileName(this, tr("Save session"), QStringLiteral("session.logitscope.json"),
                                                          tr("Logitscope sessions (*.json)"));
        if (!path.isEmpty())
            m_sessionStore->save(path);
    });
    menu->addAction(tr("Open &session…"), this, [this] {
        const QString path = QFileDialog::getOpenFileName(this, tr("Open session"), {}, tr("Logitscope sessions (*.json);;All files (*)"));
        if (!path.isEmpty())
            m_sessionStore->open(path);
    });
    menu->addSeparator();
    menu->addAction(tr("Export &trace (JSON)…"), this, [this] {
        const QString path = QFileDialog::getSaveFileName(this, tr("Export trace"), QStringLiteral("trace.json"), tr("JSON (*.json)"));
        if (!path.isEmpty())
            m_sessionStore->exportTrace(path);
    });
    menu->addAction(tr("Export probability &table (CSV)…"), this, [this] {
        const QString path = QFileDialog::getSaveFileName(this, tr("Export probability table"), QStringLiteral("probabilities.csv"),
                                                          tr("CSV (*.csv)"));
        QString error;
        if (!path.isEmpty() && !writeFileAtomically(path, tableToCsv(*m_controller->candidates()), &error))
            QMessageBox::warning(this, tr("Export"), error);
    });
    menu->addAction(tr("Export &plot (PNG/PDF)…"), this, [this] {
        // Every plot on screen, named by its dock.
        QList<QCustomPlot*> plots;
        QStringList names;
        for (QDockWidget* dock : m_docks)
            for (QCustomPlot* plot : dock->findChildren<QCustomPlot*>())
                if (plot->isVisible()) {
                    plots << plot;
                    names << tr("%1 — plot %2").arg(dock->windowTitle()).arg(names.size() + 1);
                }
        if (plots.isEmpty()) {
            QMessageBox::information(this, tr("Export plot"), tr("No plot is on screen."));
            return;
        }
        bool ok = false;
        const QString which = QInputDialog::getItem(this, tr("Export plot"), tr("Plot"), names, 0, false, &ok);
        if (!ok)
            return;
        const QString path = QFileDialog::getSaveFileName(this, tr("Export plot"), QStringLiteral("plot.png"),
                                                          tr("PNG image (*.png);;PDF document (*.pdf)"));
        QString error;
        if (!path.isEmpty() && !savePlot(plots[names.indexOf(which)], path, &error))
            QMessageBox::warning(this, tr("Export plot"), error);
    });
    menu->addAction(tr("&Replay a trace…"), this, [this, replay] {
        replay->show();
        replay->raise();
        m_replayPanel->openDialog();
    });
    menu->addSeparator();
    file->insertActions(before, menu->actions());
}

} // namespace logitscope::gui
