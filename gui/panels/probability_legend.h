// ProbabilityLegend: the colour scale of the output chips (unlikely → likely), drawn as a gradient.
#pragma once

#include <QWidget>

namespace logitscope::gui {

class ProbabilityLegend : public QWidget {
    Q_OBJECT
public:
    explicit ProbabilityLegend(QWidget* parent = nullptr);
    QSize sizeHint() const override;

protected:
    void paintEvent(QPaintEvent* event) override;
};

} // namespace logitscope::gui
