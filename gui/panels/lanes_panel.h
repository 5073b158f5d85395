// LanesPanel: side-by-side lanes. A small table of two to four lanes' settings (copy one lane's
// settings to the others, then change one thing), Start/Step/Run/Stop, the tokens each lane chose per
// step with the first divergence highlighted, and a plot of KL(lane ‖ A) per step with the divergence
// marked. It renders LaneRunner's model; the engine work happens on the worker.
#pragma once

#include "decoding/sampling_params.h"

#include <QList>
#include <QWidget>

class QCustomPlot;
class QCPItemStraightLine;
class QLabel;
class QPushButton;
class QSpinBox;
class QTableView;
class QTableWidget;

namespace logitscope::gui {

class InferenceController;
class LaneRunner;

class LanesPanel : public QWidget {
    Q_OBJECT
public:
    LanesPanel(InferenceController* controller, LaneRunner* runner, QWidget* parent = nullptr);

    QList<logitscope::SamplingParams> laneSettings() const; // the table's lanes, on top of the controls' settings
    void setLaneSettings(const QList<logitscope::SamplingParams>& settings);
    void setLaneCount(int lanes); // 2 to 4, as the Lanes box
    void copySettings(int from);                              // lane `from`'s settings to every other lane
    QTableView* comparisonView() const { return m_view; }
    QCustomPlot* klPlot() const { return m_klPlot; }
    QPushButton* startButton() const { return m_start; }
    QString statusText() const;

private:
    void updateButtons();
    void refreshPlot();
    void setDefaults();

    InferenceController* m_controller;
    LaneRunner* m_runner;
    QSpinBox* m_count;
    QTableWidget* m_settings;
    QPushButton* m_copy;
    QPushButton* m_start;
    QPushButton* m_step;
    QPushButton* m_run;
    QSpinBox* m_runSteps;
    QPushButton* m_stop;
    QPushButton* m_close;
    QLabel* m_status;
    QTableView* m_view;
    QCustomPlot* m_klPlot;
    QCPItemStraightLine* m_divergence;
    bool m_edited = false;   // the user typed in the settings table: it no longer follows the controls
    bool m_filling = false;
};

} // namespace logitscope::gui
