// AttentionPanel: the attention heatmap — for one layer and one head (or the mean over heads), where
// each token (row, the query) looked among the tokens before it (columns, the keys). The prompt's causal
// T x T appears after reading it, and one row more with every step. Hover shows query, key and
// probability; clicking a row, a prompt chip or a generated token shows what that token attended to.
// The head selector colours heads by the KV head they share (grouped-query attention).
// Renders an AttentionModel only; attention is recorded while this view is on screen.
#pragma once

#include <QWidget>

class QCheckBox;
class QComboBox;
class QCustomPlot;
class QCPColorMap;
class QCPColorScale;
class QCPItemRect;
class QLabel;
class QMouseEvent;
class QSpinBox;

namespace logitscope::gui {

class AttentionModel;
class InferenceController;
class TokenChipView;

class AttentionPanel : public QWidget {
    Q_OBJECT
public:
    explicit AttentionPanel(InferenceController* controller, QWidget* parent = nullptr);

    AttentionModel* model() const { return m_model; }
    QCustomPlot* plot() const { return m_plot; }
    QComboBox* headSelector() const { return m_head; }
    QSpinBox* layerSelector() const { return m_layer; }
    // Clicking a prompt chip selects that token's row (generated tokens follow the controller's selection).
    void followChips(TokenChipView* prompt, TokenChipView* generated);
    void selectQuery(int position);   // -1: none
    int selectedQuery() const { return m_query; }
    QString describeCell(int query, int key) const; // the hover text, plain
    QString hoverText(int query, int key) const;    // as the tooltip shows it (rich text, tokens escaped)
    QString detailText() const;
    void fit();

private:
    void onModelLoaded();
    void refillHeads();
    void render();
    void updateTicks();
    void updateDetail();
    void followSelectedStep();
    void onMouseMove(QMouseEvent* event);
    void onMouseRelease(QMouseEvent* event);
    bool cellAt(const QPoint& pixel, int* query, int* key) const;

    InferenceController* m_controller;
    AttentionModel* m_model;
    QSpinBox* m_layer;
    QComboBox* m_head;
    QLabel* m_gqa;
    QCheckBox* m_scale;
    QCustomPlot* m_plot;
    QCPColorMap* m_map;
    QCPColorScale* m_colorScale;
    QCPItemRect* m_queryMark;
    QLabel* m_detail;
    QLabel* m_hint;
    int m_query = -1;
    int m_followedStep = -2;
    bool m_userView = false;
    bool m_settingRange = false;
    QPoint m_pressPos;
};

} // namespace logitscope::gui
