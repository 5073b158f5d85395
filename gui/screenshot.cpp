// Scripted screenshots.
#include "screenshot.h"

#include "main_window.h"
#include "models/inference_controller.h"
#include "models/beam_tree_model.h"
#include "models/embedding_model.h"
#include "models/prompt_tokens_model.h"
#include "panels/beam_tree_panel.h"
#include "panels/embedding_panel.h"
#include "panels/generated_panel.h"
#include "panels/measurement_shots.h"
#include "panels/prompt_panel.h"
#include "panels/sampling_panel.h"

#include <QApplication>
#include <QCheckBox>
#include <QDir>
#include <QDockWidget>
#include <QPixmap>
#include <QTableView>
#include <QTextStream>

#include <cstdio>

namespace logitscope::gui {

ScreenshotDirector::ScreenshotDirector(MainWindow* window, QString directory, QString prompt, int steps, QObject* parent)
    : QObject(parent), m_window(window), m_dir(std::move(directory)), m_prompt(std::move(prompt)), m_steps(steps)
{
    m_timer.setInterval(15);
    connect(&m_timer, &QTimer::timeout, this, &ScreenshotDirector::tick);
}

void ScreenshotDirector::start()
{
    QDir().mkpath(m_dir);
    m_clock.start();
    m_timer.start();
}

bool ScreenshotDirector::idle() const
{
    return !m_window->controller()->isBusy();
}

void ScreenshotDirector::tick()
{
    auto* c = m_window->controller();
    const qint64 now = m_clock.elapsed();
    if (now > 180000) {
        std::fprintf(stderr, "logitscope: screenshots timed out\n");
        m_failed = true;
        m_phase = Phase::Done;
    }
    switch (m_phase) {
    case Phase::WaitModel:
        if (!idle())
            return;
        if (!c->hasModel()) {
            std::fprintf(stderr, "logitscope: no model loaded; capturing the empty window\n");
            m_phase = Phase::Done;
            return;
        }
        m_phase = Phase::Prompt;
        return;
    case Phase::Prompt: {
        // Settings that make every mark visible: a penalty, a temperature, top-k and top-p cut-offs.
        logitscope::SamplingParams p = c->sampling();
        p.temperature = 0.8;
        p.topK = 10;
        p.topP = 0.9;
        p.repetitionPenalty = 1.15;
        p.minNewTokens = m_steps + 4; // no end-of-text yet: the live step shows it masked
        p.seed = 1;
        m_window->samplingPanel()->setParams(p);
        c->setSampling(p);
        c->setCaptureAttention(true); // the attention and lens views record from the prompt on
        c->setLogitLens(true);
        m_window->promptPanel()->setPromptText(m_prompt);
        m_phase = Phase::WaitTokens;
        m_phaseStart = now;
        return;
    }
    case Phase::WaitTokens:
        if (c->promptTokenCount() == 0 && now - m_phaseStart < 3000)
            return;
        c->step(); // reads the prompt
        m_phase = Phase::Read;
        return;
    case Phase::Read:
        if (!idle() || !c->isPrefilled() || !c->preview())
            return;
        m_phase = Phase::Steps;
        return;
    case Phase::Steps:
        if (!idle())
            return;
        if (c->generatedCount() >= m_steps || c->laneFinished() || m_requested >= m_steps + 2) {
            m_phase = Phase::Select;
            m_phaseStart = now;
            return;
        }
        ++m_requested;
        c->step();
        return;
    case Phase::Select:
        // Wait for the last preview, then capture the live view first (main window + bars).
        if (!idle() || now - m_phaseStart < 200)
            return;
        // The beam tree (reference settings: 4 beams, lp 1.0, early stopping, 16 tokens) and one embedding.
        m_window->beamTreePanel()->setBeamSettings(4, 1.0, logitscope::EarlyStopping::True, 16);
        m_window->beamTreePanel()->runSearch();
        if (const auto& tokens = c->promptTokens()->tokens(); tokens.size() > 2)
            m_window->embeddingPanel()->selectToken(tokens[tokens.size() - 2].id, int(tokens.size()) - 2);
        m_phase = Phase::Beam;
        m_phaseStart = now;
        return;
    case Phase::Beam:
        if ((!idle() || !m_window->beamTreePanel()->model()->snapshot().valid()) && now - m_phaseStart < 60000)
            return;
        m_window->embeddingPanel()->service()->waitForIdle();
        QApplication::processEvents();
        m_window->beamTreePanel()->fitTree();
        m_phase = Phase::Measure;
        return;
    case Phase::Measure: {
        // Lanes, sweeps and a replayed trace (panels/measurement_shots.cpp).
        auto* shots = findChild<MeasurementShots*>();
        if (!shots)
            shots = new MeasurementShots(m_window, this);
        if (!shots->tick())
            return;
        m_phase = Phase::Done;
        return;
    }
    case Phase::Done:
        m_timer.stop();
        capture();
        emit finished(m_failed ? 1 : 0);
        return;
    }
}

bool ScreenshotDirector::save(QWidget* widget, const QString& name)
{
    QApplication::processEvents();
    const QString path = QDir(m_dir).filePath(name);
    const bool ok = widget->grab().save(path, "PNG");
    std::fprintf(ok ? stdout : stderr, "%s %s\n", ok ? "wrote" : "could not write", qPrintable(path));
    m_failed |= !ok;
    return ok;
}

void ScreenshotDirector::capture()
{
    auto* c = m_window->controller();
    save(m_window, QStringLiteral("main-window.png"));
    for (QDockWidget* dock : m_window->docks()) {
        QString name = dock->objectName();
        name.replace(QStringLiteral("dock."), QStringLiteral("panel-"));
        dock->raise(); // tabbed docks (attention, beams, lens, embeddings) show their page first
        QApplication::processEvents();
        save(dock, name + QStringLiteral(".png"));
    }
    // The prompt's chips coloured by how likely the model found each token (the prefill's scores).
    m_window->promptPanel()->probabilitiesBox()->setChecked(true);
    for (QDockWidget* dock : m_window->docks())
        if (dock->objectName() == QLatin1String("dock.prompt"))
            save(dock, QStringLiteral("panel-prompt-probabilities.png"));
    m_window->promptPanel()->probabilitiesBox()->setChecked(false);
    MeasurementShots::captureExtras(m_window, [this](QWidget* w, const QString& name) { save(w, name); });
    for (QDockWidget* dock : m_window->docks())
        if (dock->objectName() == QLatin1String("dock.probabilities"))
            dock->raise();
    if (m_window->beamTreePanel()->model()->snapshot().valid()) { // the whole tree, as "Export…" writes it
        const QString tree = QDir(m_dir).filePath(QStringLiteral("beam-tree.png"));
        const bool ok = m_window->beamTreePanel()->exportTo(tree);
        std::fprintf(ok ? stdout : stderr, "%s %s\n", ok ? "wrote" : "could not write", qPrintable(tree));
    }
    // A past step selected: its distribution and the alternatives one can branch with.
    if (c->generatedCount() > 1) {
        c->selectStep(c->generatedCount() / 2);
        if (auto* table = m_window->generatedPanel()->alternatives())
            table->selectRow(1);
        QApplication::processEvents();
        save(m_window, QStringLiteral("main-window-past-step.png"));
        for (QDockWidget* dock : m_window->docks())
            if (dock->objectName() == QLatin1String("dock.generated"))
                save(dock, QStringLiteral("panel-generated-past-step.png"));
        // The same past token in the attention (its row) and lens views.
        for (QDockWidget* dock : m_window->docks())
            if (dock->objectName() == QLatin1String("dock.attention") || dock->objectName() == QLatin1String("dock.lens")) {
                dock->raise();
                QApplication::processEvents();
                save(dock, dock->objectName().mid(5).prepend(QStringLiteral("panel-")) + QStringLiteral("-past-step.png"));
            }
        c->selectStep(-1);
    }
}

} // namespace logitscope::gui
