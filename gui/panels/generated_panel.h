// GeneratedPanel: the output as token chips coloured by the probability of each choice. Clicking a
// past token shows that step's distribution (in the probability panel and the alternatives table
// here) and lets you branch with any alternative; a selector returns to any branch. Render only.
#pragma once

#include <QWidget>

class QComboBox;
class QLabel;
class QPushButton;
class QScrollArea;
class QTableView;

namespace logitscope::gui {

class InferenceController;
class TokenChipView;

class GeneratedPanel : public QWidget {
    Q_OBJECT
public:
    explicit GeneratedPanel(InferenceController* controller, QWidget* parent = nullptr);

    TokenChipView* chips() const { return m_chips; }
    QComboBox* laneSelector() const { return m_lanes; }
    QTableView* alternatives() const { return m_alternatives; }
    QString finishText() const;   // which rule ended the lane on display ("" while it can go on)

private:
    void branchWithSelected();
    void refreshSelection();
    void refreshLaneSelector();
    void scrollToEnd();

    InferenceController* m_controller;
    QComboBox* m_lanes;
    QLabel* m_text;
    QLabel* m_finish;
    QScrollArea* m_scroll;
    TokenChipView* m_chips;
    QLabel* m_altTitle;
    QTableView* m_alternatives;
    QPushButton* m_branch;
    QPushButton* m_live;
    bool m_followEnd = true;
};

} // namespace logitscope::gui
