// ProbabilityPanel: the next-token distribution of the step on display as QCustomPlot bars — for each
// of the top-k candidates the raw probability and the probability after the sampling chain, the
// cut-offs of top-k / top-p / min-p, tokens a penalty removed or lowered, and the chosen ("would
// choose") token, candidates a grammar forbids (with the mass it removed and where its parser stands)
// — plus the stage-by-stage strip. It only renders Distribution values.
#pragma once

#include "models/distribution.h"

#include <QElapsedTimer>
#include <QWidget>

#include <qcustomplot.h>

class QLabel;
class QSpinBox;

namespace logitscope::gui {

class InferenceController;
class StageStrip;

// QCustomPlot that says when a repaint has reached the screen (for the latency benchmark).
class ProbabilityPlot : public QCustomPlot {
    Q_OBJECT
public:
    using QCustomPlot::QCustomPlot;
signals:
    void painted();
protected:
    void paintEvent(QPaintEvent* event) override;
};

class ProbabilityPanel : public QWidget {
    Q_OBJECT
public:
    explicit ProbabilityPanel(InferenceController* controller, QWidget* parent = nullptr);

    ProbabilityPlot* plot() const { return m_plot; }
    // What the bars currently show (for tests): per candidate, raw and after-chain probabilities.
    const Distribution& shown() const { return m_shown; }
    QVector<double> rawValues() const;
    QVector<double> finalValues() const;
    QString chosenText() const;
    QVector<double> forbiddenValues() const; // raw probability of the bars the grammar forbade (0 elsewhere)
    QString grammarText() const;             // the constrained-decoding line ("" without a grammar)

public slots:
    void showDistribution(const logitscope::gui::Distribution& distribution);

private:
    void setOrderName();
    void showGrammar(const GrammarView& grammar);
    QCPItemStraightLine* cutLine(int i);
    QCPItemText* cutLabel(int i);

    InferenceController* m_controller;
    ProbabilityPlot* m_plot;
    QCPBars* m_rawKept;
    QCPBars* m_rawCut;
    QCPBars* m_rawBanned;
    QCPBars* m_rawForbidden;
    QCPBars* m_final;
    QCPBars* m_finalChosen;
    QCPGraph* m_penalised;
    QCPItemText* m_chosenMark;
    QList<QCPItemStraightLine*> m_cutLines;
    QList<QCPItemText*> m_cutLabels;
    QSharedPointer<QCPAxisTickerText> m_ticker;
    QLabel* m_title;
    QLabel* m_grammarLine;
    QSpinBox* m_k;
    StageStrip* m_strip;
    Distribution m_shown;
    QString m_orderName;
};

} // namespace logitscope::gui
