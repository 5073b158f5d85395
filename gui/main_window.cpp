// The main window.
#include "main_window.h"

#include "models/inference_controller.h"
#include "models/lesson_runner.h"
#include "panels/attention_panel.h"
#include "panels/beam_tree_panel.h"
#include "panels/embedding_panel.h"
#include "panels/generated_panel.h"
#include "panels/lessons_panel.h"
#include "panels/logit_lens_panel.h"
#include "panels/model_panel.h"
#include "panels/probability_panel.h"
#include "panels/prompt_panel.h"
#include "panels/sampling_panel.h"

#include <QAction>
#include <QApplication>
#include <QCloseEvent>
#include <QDockWidget>
#include <QLabel>
#include <QMenuBar>
#include <QMessageBox>
#include <QProgressBar>
#include <QSettings>
#include <QStatusBar>
#include <QStyle>
#include <QToolBar>

namespace logitscope::gui {

MainWindow::MainWindow(InferenceController* controller, Options options, QWidget* parent)
    : QMainWindow(parent), m_controller(controller), m_options(options)
{
    setWindowTitle(tr("Logitscope — watch a language model choose each token"));
    setDockNestingEnabled(true);
    setDockOptions(QMainWindow::AnimatedDocks | QMainWindow::AllowNestedDocks | QMainWindow::AllowTabbedDocks);

    m_modelPanel = new ModelPanel(controller);
    m_promptPanel = new PromptPanel(controller);
    m_generatedPanel = new GeneratedPanel(controller);
    m_probabilityPanel = new ProbabilityPanel(controller);
    m_samplingPanel = new SamplingPanel(controller);

    // No central widget: every panel is a dock the user can move, float, close and bring back.
    m_modelDock = addPanel(tr("Model"), QStringLiteral("dock.model"), m_modelPanel, Qt::LeftDockWidgetArea);
    m_samplingDock = addPanel(tr("Sampling"), QStringLiteral("dock.sampling"), m_samplingPanel, Qt::LeftDockWidgetArea);
    m_promptDock = addPanel(tr("Prompt and tokens"), QStringLiteral("dock.prompt"), m_promptPanel, Qt::RightDockWidgetArea);
    m_generatedDock = addPanel(tr("Generated text"), QStringLiteral("dock.generated"), m_generatedPanel, Qt::RightDockWidgetArea);
    m_probabilityDock = addPanel(tr("Next-token probabilities"), QStringLiteral("dock.probabilities"), m_probabilityPanel,
                                 Qt::RightDockWidgetArea);
    // Default layout: controls on the left; prompt | generated side by side, the bars below them.
    splitDockWidget(m_modelDock, m_samplingDock, Qt::Vertical);
    splitDockWidget(m_promptDock, m_probabilityDock, Qt::Vertical);
    splitDockWidget(m_promptDock, m_generatedDock, Qt::Horizontal);
    addAnalysisViews();
    createActions();
    installLessons(this, controller); // the Lessons dock and menu (panels/lessons_panel.h)
    addMeasurementViews();
    if (auto* lessons = findChild<LessonRunner*>())
        lessons->setLaneRunner(m_laneRunner); // a lesson's lanes are the Side-by-side lanes dock's
    fillViewMenu();

    m_statusLabel = new QLabel(this);
    m_speedLabel = new QLabel(this);
    m_busy = new QProgressBar(this);
    m_busy->setRange(0, 0);
    m_busy->setMaximumWidth(120);
    m_busy->setMaximumHeight(14);
    m_busy->hide();
    // A long message (an error) is cut at the speed figures, not run into them; its tooltip has it all.
    m_statusLabel->setSizePolicy(QSizePolicy::Ignored, QSizePolicy::Preferred);
    m_speedLabel->setContentsMargins(12, 0, 4, 0);
    m_speedLabel->setStyleSheet(QStringLiteral("QLabel { border-left: 1px solid palette(mid); }"));
    connect(controller, &InferenceController::statusMessage, m_statusLabel, &QLabel::setToolTip);
    statusBar()->addWidget(m_statusLabel, 1);
    statusBar()->addPermanentWidget(m_busy);
    statusBar()->addPermanentWidget(m_speedLabel);

    connect(controller, &InferenceController::statusMessage, m_statusLabel, &QLabel::setText);
    // A lane brought on display (Path selector, lanes, a reopened session) shows its own settings.
    connect(controller, &InferenceController::laneSettingsShown, m_samplingPanel, &SamplingPanel::setParams);
    connect(controller, &InferenceController::stateChanged, this, &MainWindow::updateActions);
    connect(controller, &InferenceController::modelLoadFinished, this, &MainWindow::updateActions);
    connect(controller, &InferenceController::metricsAvailable, this, [this](const logitscope::LaneMetrics& m) {
        m_speedLabel->setText(tr("prompt %1 tok/s · output %2 tok/s · %3 tokens")
                                  .arg(m.prefillTokensPerSecond, 0, 'f', 0)
                                  .arg(m.decodeTokensPerSecond, 0, 'f', 1)
                                  .arg(m.generatedTokens));
    });
    connect(controller, &InferenceController::prefillStarted, this, [this](int n) {
        m_statusLabel->setText(tr("Reading %1 prompt tokens… (Esc cancels)").arg(n));
        m_busy->setRange(0, 0); // indeterminate until the first layer is done
    });
    connect(controller, &InferenceController::prefillProgress, this, [this](int done, int total) {
        m_busy->setRange(0, total);
        m_busy->setValue(done);
        m_busy->setFormat(tr("layer %v of %m"));
    });

    resize(1480, 900);
    if (m_options.restoreLayout) {
        QSettings settings;
        restoreGeometry(settings.value(QStringLiteral("window/geometry")).toByteArray());
        m_restored = restoreState(settings.value(QStringLiteral("window/state")).toByteArray());
    }
    updateActions();
}

MainWindow::~MainWindow() = default;

QDockWidget* MainWindow::addPanel(const QString& title, const QString& objectName, QWidget* panel, Qt::DockWidgetArea area)
{
    // The title also labels the dock's tab and its View-menu entry, where '&' marks a shortcut letter.
    Q_ASSERT(!title.contains(QLatin1Char('&')));
    auto* dock = new QDockWidget(title, this);
    dock->setObjectName(objectName);
    dock->setWidget(panel);
    dock->setFeatures(QDockWidget::DockWidgetClosable | QDockWidget::DockWidgetMovable | QDockWidget::DockWidgetFloatable);
    addDockWidget(area, dock);
    m_docks.append(dock);
    return dock;
}

void MainWindow::addAnalysisViews()
{
    m_attentionPanel = new AttentionPanel(m_controller);
    m_beamTreePanel = new BeamTreePanel(m_controller);
    m_logitLensPanel = new LogitLensPanel(m_controller);
    m_embeddingPanel = new EmbeddingPanel(m_controller);
    auto* attention = addPanel(tr("Attention"), QStringLiteral("dock.attention"), m_attentionPanel, Qt::RightDockWidgetArea);
    auto* beams = addPanel(tr("Beam search"), QStringLiteral("dock.beams"), m_beamTreePanel, Qt::RightDockWidgetArea);
    auto* lens = addPanel(tr("Logit lens"), QStringLiteral("dock.lens"), m_logitLensPanel, Qt::RightDockWidgetArea);
    auto* embeddings = addPanel(tr("Embeddings"), QStringLiteral("dock.embeddings"), m_embeddingPanel, Qt::RightDockWidgetArea);
    for (auto* dock : {attention, beams, lens, embeddings})
        tabifyDockWidget(m_probabilityDock, dock);
    m_probabilityDock->raise();
    // Attention and the lens cost time on every forward pass: recorded only while their view is on screen.
    connect(attention, &QDockWidget::visibilityChanged, m_controller, &InferenceController::setCaptureAttention);
    connect(lens, &QDockWidget::visibilityChanged, m_controller, &InferenceController::setLogitLens);
    m_attentionPanel->followChips(m_promptPanel->chips(), m_generatedPanel->chips());
    m_embeddingPanel->followChips(m_promptPanel->chips(), m_generatedPanel->chips());
}

void MainWindow::createActions()
{
    auto* tb = addToolBar(tr("Generation"));
    tb->setObjectName(QStringLiteral("toolbar.generation"));
    tb->setToolButtonStyle(Qt::ToolButtonTextBesideIcon);
    tb->setMovable(false);

    m_step = tb->addAction(style()->standardIcon(QStyle::SP_MediaSeekForward), tr("Step"));
    m_step->setShortcut(Qt::Key_Space);
    m_step->setToolTip(tr("Step (Space): the first press reads the prompt and shows the distribution of the next "
                          "token; each further press chooses one token with the current settings."));
    connect(m_step, &QAction::triggered, m_controller, &InferenceController::step);

    m_run = tb->addAction(style()->standardIcon(QStyle::SP_MediaPlay), tr("Run"));
    m_run->setShortcut(Qt::CTRL | Qt::Key_Return);
    m_run->setToolTip(tr("Run / Pause (Ctrl+Enter): generate at full speed until a stop rule ends it or you pause. "
                         "Sampling controls still apply while it runs."));
    connect(m_run, &QAction::triggered, m_controller, &InferenceController::toggleRun);

    m_rewind = tb->addAction(style()->standardIcon(QStyle::SP_MediaSeekBackward), tr("Rewind"));
    m_rewind->setShortcut(Qt::Key_Backspace);
    m_rewind->setToolTip(tr("Rewind (Backspace): take back the last token. The model's distribution for that step "
                            "comes back, so you can change a setting and step again."));
    connect(m_rewind, &QAction::triggered, m_controller, [this] { m_controller->rewind(1); });

    m_reset = tb->addAction(style()->standardIcon(QStyle::SP_BrowserReload), tr("Reset"));
    m_reset->setShortcut(Qt::CTRL | Qt::Key_Backspace);
    m_reset->setToolTip(tr("Reset (Ctrl+Backspace): forget the output and every branch; the next Step reads the "
                           "prompt again."));
    connect(m_reset, &QAction::triggered, m_controller, &InferenceController::reset);

    m_cancel = new QAction(tr("Cancel"), this);
    m_cancel->setShortcut(Qt::Key_Escape);
    m_cancel->setToolTip(tr("Cancel (Esc): stop reading a long prompt, or pause a run."));
    connect(m_cancel, &QAction::triggered, m_controller, &InferenceController::cancel);
    tb->addAction(m_cancel);

    // Menus.
    auto* file = menuBar()->addMenu(tr("&File"));
    file->addAction(tr("Open &GGUF model…"), QKeySequence::Open, m_modelPanel, &ModelPanel::openFile);
    file->addAction(tr("Open Hugging Face &folder…"), m_modelPanel, &ModelPanel::openFolder);
#ifdef LOGITSCOPE_HAVE_HUB
    file->addAction(tr("&Browse models and download…"), QKeySequence(tr("Ctrl+Shift+O")), m_modelPanel,
                    &ModelPanel::browseModels);
#endif
    file->addSeparator();
    file->addAction(tr("&Quit"), QKeySequence::Quit, this, &QWidget::close);
    auto* gen = menuBar()->addMenu(tr("&Generate"));
    gen->addActions({m_step, m_run, m_rewind, m_reset, m_cancel});
    m_viewMenu = menuBar()->addMenu(tr("&View")); // filled by fillViewMenu() once every dock exists
    auto* help = menuBar()->addMenu(tr("&Help"));
    help->addAction(tr("&About Logitscope"), this, [this] {
        QMessageBox::about(this, tr("About Logitscope"),
                           tr("<b>Logitscope</b> %1<br>Watch a language model generate text, one token at a time, "
                              "and see how each sampling setting changes the choice.")
                               .arg(QApplication::applicationVersion()));
    });
}

void MainWindow::fillViewMenu()
{
    // Every dock, also those added by installLessons() and addMeasurementViews(): a closed one comes back here.
    m_viewMenu->clear();
    for (auto* dock : findChildren<QDockWidget*>()) {
        QAction* toggle = dock->toggleViewAction();
        if (toggle->text() != dock->windowTitle()) {
            // The Lessons menu renamed the dock's own action ("Show the Lessons panel"): one named as the dock.
            toggle = new QAction(dock->windowTitle(), m_viewMenu);
            toggle->setCheckable(true);
            toggle->setChecked(dock->isVisible());
            connect(toggle, &QAction::triggered, dock, [dock](bool on) {
                dock->setVisible(on);
                if (on)
                    dock->raise();
            });
            connect(dock, &QDockWidget::visibilityChanged, toggle, [toggle, dock] { toggle->setChecked(!dock->isHidden()); });
        }
        m_viewMenu->addAction(toggle);
    }
    m_viewMenu->addSeparator();
    m_viewMenu->addAction(tr("Reset &layout"), this, &MainWindow::resetLayout);
}

void MainWindow::updateActions()
{
    const auto* c = m_controller;
    const bool model = c->hasModel();
    const bool busy = c->isBusy();
    const bool running = c->isRunning() || c->activity() == InferenceController::Activity::Prefilling;
    const bool fresh = c->promptChangedSincePrefill();
    m_step->setEnabled(model && !busy && (fresh || !c->laneFinished()));
    m_step->setText(fresh ? tr("Read prompt") : tr("Step"));
    m_run->setEnabled(model && (running || (!busy && (fresh || !c->laneFinished()))));
    m_run->setText(running ? tr("Pause") : tr("Run"));
    m_run->setIcon(style()->standardIcon(running ? QStyle::SP_MediaPause : QStyle::SP_MediaPlay));
    m_rewind->setEnabled(model && !busy && c->isPrefilled() && c->generatedCount() > 0);
    m_reset->setEnabled(model && c->isPrefilled() && !busy);
    m_cancel->setEnabled(busy);
    if (c->activity() == InferenceController::Activity::Loading)
        m_busy->setRange(0, 0);
    m_busy->setVisible(c->activity() == InferenceController::Activity::Loading
                       || c->activity() == InferenceController::Activity::Prefilling);
}

QString MainWindow::statusText() const
{
    return m_statusLabel->text();
}

void MainWindow::resetLayout()
{
    for (auto* dock : m_docks)
        dock->show();
    restoreState(m_defaultState);
    applyDefaultSizes();
}

void MainWindow::saveLayout()
{
    if (!m_options.restoreLayout)
        return;
    QSettings settings;
    settings.setValue(QStringLiteral("window/geometry"), saveGeometry());
    settings.setValue(QStringLiteral("window/state"), saveState());
}

void MainWindow::applyDefaultSizes()
{
    resizeDocks({m_modelDock, m_samplingDock}, {height() * 3 / 10, height() * 7 / 10}, Qt::Vertical);
    resizeDocks({m_modelDock, m_promptDock}, {width() * 24 / 100, width() * 76 / 100}, Qt::Horizontal);
    resizeDocks({m_promptDock, m_probabilityDock}, {height() * 45 / 100, height() * 55 / 100}, Qt::Vertical);
    resizeDocks({m_promptDock, m_generatedDock}, {width() * 30 / 100, width() * 46 / 100}, Qt::Horizontal);
}

void MainWindow::showEvent(QShowEvent* event)
{
    QMainWindow::showEvent(event);
    if (m_shownOnce)
        return;
    m_shownOnce = true;
    if (!m_restored)
        applyDefaultSizes(); // proportions need the real window size, known only now
    m_defaultState = saveState();
}

void MainWindow::closeEvent(QCloseEvent* event)
{
    m_controller->cancel(); // a run or prefill stops between layers; the controller's destructor joins
    saveLayout();
    QMainWindow::closeEvent(event);
}

} // namespace logitscope::gui
