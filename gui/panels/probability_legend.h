// ProbabilityLegend: the colour scale of chips coloured by a probability (unlikely → likely), drawn as a
// gradient from `low` ("chosen with p = 0") to 1.
#pragma once

#include <QWidget>

namespace logitscope::gui {

class ProbabilityLegend : public QWidget {
    Q_OBJECT
public:
    ProbabilityLegend(const QString& low, const QString& toolTip, QWidget* parent = nullptr);
    QSize sizeHint() const override;

protected:
    void paintEvent(QPaintEvent* event) override;

private:
    QString m_low;
};

} // namespace logitscope::gui
