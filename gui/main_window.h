// MainWindow: the toolbar (Step, Run/Pause, Rewind, Reset), the dockable panels and their saved
// layout, the status bar. It wires panels to one InferenceController and renders state; it never
// calls the engine. Docks of the later views (attention, beam tree, KV cache) will tabify into the
// bottom area, which the default layout leaves to the probability bars for now.
#pragma once

#include <QMainWindow>

class QAction;
class QDockWidget;
class QLabel;
class QMenu;
class QProgressBar;

namespace logitscope::gui {

class InferenceController;
class ModelPanel;
class PromptPanel;
class GeneratedPanel;
class ProbabilityPanel;
class SamplingPanel;
class AttentionPanel;
class BeamTreePanel;
class LogitLensPanel;
class EmbeddingPanel;
class KvCachePanel;
class MetricsPanel;
class LanesPanel;
class ReplayPanel;
class Measurements;
class LaneRunner;
class SessionStore;

struct MainWindowOptions {
    bool restoreLayout = true; // false for screenshots and tests: the default layout, always
};

class MainWindow : public QMainWindow {
    Q_OBJECT
public:
    using Options = MainWindowOptions;
    explicit MainWindow(InferenceController* controller, Options options = Options(), QWidget* parent = nullptr);
    ~MainWindow() override;

    InferenceController* controller() const { return m_controller; }
    ModelPanel* modelPanel() const { return m_modelPanel; }
    PromptPanel* promptPanel() const { return m_promptPanel; }
    GeneratedPanel* generatedPanel() const { return m_generatedPanel; }
    ProbabilityPanel* probabilityPanel() const { return m_probabilityPanel; }
    SamplingPanel* samplingPanel() const { return m_samplingPanel; }
    AttentionPanel* attentionPanel() const { return m_attentionPanel; }
    BeamTreePanel* beamTreePanel() const { return m_beamTreePanel; }
    LogitLensPanel* logitLensPanel() const { return m_logitLensPanel; }
    EmbeddingPanel* embeddingPanel() const { return m_embeddingPanel; }
    // KV cache / metrics / lanes / replay (panels/measurement_views.cpp)
    KvCachePanel* kvCachePanel() const { return m_kvCachePanel; }
    MetricsPanel* metricsPanel() const { return m_metricsPanel; }
    LanesPanel* lanesPanel() const { return m_lanesPanel; }
    ReplayPanel* replayPanel() const { return m_replayPanel; }
    Measurements* measurements() const { return m_measurements; }
    LaneRunner* laneRunner() const { return m_laneRunner; }
    SessionStore* sessionStore() const { return m_sessionStore; }
    QList<QDockWidget*> docks() const { return m_docks; }
    QAction* stepAction() const { return m_step; }
    QAction* runAction() const { return m_run; }
    QAction* rewindAction() const { return m_rewind; }
    QAction* resetAction() const { return m_reset; }
    QString statusText() const;

public slots:
    void resetLayout();

protected:
    void closeEvent(QCloseEvent* event) override;
    void showEvent(QShowEvent* event) override;

private:
    QDockWidget* addPanel(const QString& title, const QString& objectName, QWidget* panel, Qt::DockWidgetArea area);
    void createActions();
    void fillViewMenu();
    void updateActions();
    void saveLayout();
    void applyDefaultSizes();
    void addAnalysisViews(); // attention, beam tree, logit lens, embeddings: tabbed with the bars
    void addMeasurementViews(); // KV cache, metrics, lanes, replay docks + File menu (panels/measurement_views.cpp)

    InferenceController* m_controller;
    Options m_options;
    ModelPanel* m_modelPanel;
    PromptPanel* m_promptPanel;
    GeneratedPanel* m_generatedPanel;
    ProbabilityPanel* m_probabilityPanel;
    SamplingPanel* m_samplingPanel;
    QList<QDockWidget*> m_docks;
    QDockWidget* m_modelDock = nullptr;
    QDockWidget* m_promptDock = nullptr;
    QDockWidget* m_generatedDock = nullptr;
    QDockWidget* m_probabilityDock = nullptr;
    QDockWidget* m_samplingDock = nullptr;
    AttentionPanel* m_attentionPanel = nullptr;
    BeamTreePanel* m_beamTreePanel = nullptr;
    LogitLensPanel* m_logitLensPanel = nullptr;
    EmbeddingPanel* m_embeddingPanel = nullptr;
    KvCachePanel* m_kvCachePanel = nullptr;
    MetricsPanel* m_metricsPanel = nullptr;
    LanesPanel* m_lanesPanel = nullptr;
    ReplayPanel* m_replayPanel = nullptr;
    Measurements* m_measurements = nullptr;
    LaneRunner* m_laneRunner = nullptr;
    SessionStore* m_sessionStore = nullptr;
    QAction* m_step = nullptr;
    QAction* m_run = nullptr;
    QAction* m_rewind = nullptr;
    QAction* m_reset = nullptr;
    QAction* m_cancel = nullptr;
    QMenu* m_viewMenu = nullptr;
    QLabel* m_statusLabel = nullptr;
    QLabel* m_speedLabel = nullptr;
    QProgressBar* m_busy = nullptr;
    QByteArray m_defaultState;
    bool m_shownOnce = false;
    bool m_restored = false;
};

} // namespace logitscope::gui
