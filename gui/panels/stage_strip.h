// StageStrip: the distribution after each stage of the sampling chain, left to right in the order the
// engine ran them (penalties → temperature → top-k → …): a tiny bar chart per stage with how many
// tokens survive and the entropy. Render only; it draws what the StepRecord recorded.
#pragma once

#include "models/distribution.h"

#include <QWidget>

namespace logitscope::gui {

class StageStrip : public QWidget {
    Q_OBJECT
public:
    explicit StageStrip(QWidget* parent = nullptr);
    void setStages(const QList<StageSummary>& stages, const QString& orderName);
    QSize sizeHint() const override;
    QSize minimumSizeHint() const override;

protected:
    void paintEvent(QPaintEvent* event) override;
    bool event(QEvent* event) override;

private:
    QRect cellRect(int i) const;
    QList<StageSummary> m_stages;
    QString m_order;
};

QString stageExplanation(const QString& stage);

} // namespace logitscope::gui
