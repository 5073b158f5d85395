// MetricsPanel: serving metrics. TTFT, TPOT, prefill and decode tokens/s (bench's definitions, next to
// the engine's LaneMetrics), the time of every forward pass plotted live (prefill and decode in
// different colours), and the throughput sweep: 1, 2, 4 … sequences decoded together, aggregate
// tokens/s against the time per token — how many requests this machine can serve at once.
#pragma once

#include <QList>
#include <QWidget>

class QCustomPlot;
class QCPAbstractItem;
class QCPCurve;
class QLabel;
class QPushButton;
class QSpinBox;
class QTabWidget;

namespace logitscope::gui {

class InferenceController;
class Measurements;
class StepTimingModel;

class MetricsPanel : public QWidget {
    Q_OBJECT
public:
    MetricsPanel(InferenceController* controller, Measurements* measurements, QWidget* parent = nullptr);

    QTabWidget* tabs() const { return m_tabs; }
    StepTimingModel* timings() const { return m_timings; }
    QCustomPlot* stepPlot() const { return m_stepPlot; }
    QCustomPlot* throughputPlot() const { return m_throughputPlot; }
    QString numbersText() const;

private:
    void refresh();
    void showThroughput();
    void updateSweepButtons();

    InferenceController* m_controller;
    Measurements* m_measurements;
    StepTimingModel* m_timings;
    QTabWidget* m_tabs;
    QLabel* m_numbers;
    QCustomPlot* m_stepPlot;
    QCustomPlot* m_throughputPlot;
    QSpinBox* m_maxSequences;
    QPushButton* m_runSweep;
    QPushButton* m_cancelSweep;
    QLabel* m_sweepStatus;
    QCPCurve* m_throughputCurve = nullptr;
    QList<QCPAbstractItem*> m_throughputLabels; // batch size next to each point
};

} // namespace logitscope::gui
