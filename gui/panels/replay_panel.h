// ReplayPanel: replay mode. Opens a trace (from File → Export trace or `logitscope-cli generate
// --trace`) and scrubs its steps with a slider: the text so far, the token chosen at the step and the
// candidates it was drawn from. Needs no model and no GPU; it never talks to the engine.
#pragma once

#include <QWidget>

class QLabel;
class QSlider;
class QTableView;
class QTextBrowser;

namespace logitscope::gui {

class TraceReplayModel;
struct Trace;

class ReplayPanel : public QWidget {
    Q_OBJECT
public:
    explicit ReplayPanel(QWidget* parent = nullptr);

    TraceReplayModel* model() const { return m_model; }
    QSlider* slider() const { return m_slider; }
    bool openTrace(const QString& path, QString* error); // false + message naming the field
    void setTrace(const Trace& trace, const QString& source);

public slots:
    void openDialog();

private:
    void showStep(int step);

    TraceReplayModel* m_model;
    QLabel* m_source;
    QSlider* m_slider;
    QLabel* m_stepInfo;
    QTextBrowser* m_text;
    QTableView* m_table;
};

} // namespace logitscope::gui
