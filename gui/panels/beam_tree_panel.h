// BeamTreePanel: beam search drawn as a tree that grows step by step — each node a token with its
// log-probability and the cumulative score, kept beams bold, pruned candidates faded, finished
// hypotheses marked with their length-penalised score, the winner's path highlighted. The beam
// settings (beams, length penalty, early stopping, new tokens) and "Run beam search" live here; a step
// slider reveals the search like sampling. Zoom (wheel), pan (drag), export PNG or PDF.
// Renders a BeamTreeModel only; the search runs on the worker (InferenceController::runBeamSearch).
#pragma once

#include "decoding/sampling_params.h"

#include <QGraphicsView>
#include <QWidget>

class QComboBox;
class QDoubleSpinBox;
class QGraphicsScene;
class QLabel;
class QPushButton;
class QSlider;
class QSpinBox;

namespace logitscope::gui {

class BeamTreeModel;
class InferenceController;
struct BeamSnapshot;

// The canvas: wheel zooms around the cursor, drag pans.
class BeamTreeView : public QGraphicsView {
    Q_OBJECT
public:
    using QGraphicsView::QGraphicsView;
    void zoomBy(double factor);

protected:
    void wheelEvent(QWheelEvent* event) override;
};

class BeamTreePanel : public QWidget {
    Q_OBJECT
public:
    explicit BeamTreePanel(InferenceController* controller, QWidget* parent = nullptr);

    BeamTreeModel* model() const { return m_model; }
    QString summaryText() const;      // the line under the tree (rich text): counts and the hypotheses
    QSlider* stepSlider() const { return m_slider; }
    QGraphicsScene* scene() const { return m_scene; }
    BeamTreeView* view() const { return m_view; }
    // The beam settings the controls show, on top of the current sampling settings.
    logitscope::SamplingParams beamParams() const;
    void setBeamSettings(int beams, double lengthPenalty, logitscope::EarlyStopping early, int maxNewTokens);
    void runSearch();
    // Writes the whole tree (as revealed) to a .png or .pdf file; false when it could not.
    bool exportTo(const QString& path) const;
    void fitTree();

private:
    void showSnapshot(const BeamSnapshot& snapshot);
    void rebuildScene();
    void updateSummary();
    void exportDialog();

    InferenceController* m_controller;
    BeamTreeModel* m_model;
    QSpinBox* m_beams;
    QDoubleSpinBox* m_lengthPenalty;
    QComboBox* m_early;
    QSpinBox* m_maxNew;
    QPushButton* m_run;
    QPushButton* m_export;
    QSlider* m_slider;
    QLabel* m_stepLabel;
    QLabel* m_status;
    QLabel* m_summary;
    QGraphicsScene* m_scene;
    BeamTreeView* m_view;
    bool m_running = false;
};

} // namespace logitscope::gui
