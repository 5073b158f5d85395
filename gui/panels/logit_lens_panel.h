// LogitLensPanel: what every layer would have predicted at one step (the logit lens, as in Ecco's
// layer predictions): rows are layers, cells that layer's top-5 tokens shaded by probability, and a line
// plot of the chosen token's probability and rank across layers. Follows the newest step, or the past
// token clicked in the Generated panel; follows rewinds and branches through the generated-tokens model.
// Renders a LogitLensModel; the worker computes the lens only while this view is on screen.
#pragma once

#include <QWidget>

class QCustomPlot;
class QCPGraph;
class QLabel;
class QTableView;

namespace logitscope::gui {

class InferenceController;
class LogitLensModel;

class LogitLensPanel : public QWidget {
    Q_OBJECT
public:
    explicit LogitLensPanel(InferenceController* controller, QWidget* parent = nullptr);

    LogitLensModel* model() const { return m_model; }
    QTableView* table() const { return m_table; }
    QCustomPlot* plot() const { return m_plot; }
    QString titleText() const;
    void refresh();

private:
    InferenceController* m_controller;
    LogitLensModel* m_model;
    QLabel* m_title;
    QTableView* m_table;
    QCustomPlot* m_plot;
    QCPGraph* m_prob;
    QCPGraph* m_rank;
};

} // namespace logitscope::gui
