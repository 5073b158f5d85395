// LaneRunner: side-by-side lanes. start() forks two to four lanes from the lane on display at its
// current point (right after the prompt when nothing was generated yet) — they share every KV block up
// to there — gives each its own sampling settings, and step(n) decodes them together with
// Session::stepLanes (one batched forward per step). The records land in a LaneComparisonModel. The
// lanes also appear in the branch selector, so any of them can be opened in the main view.
// Destroy it before the InferenceController (it answers through a WorkerMailbox).
#pragma once

#include "models/lane_comparison.h"
#include "models/worker_mailbox.h"

#include <QList>
#include <QObject>

namespace logitscope::gui {

class InferenceController;

class LaneRunner : public QObject {
    Q_OBJECT
public:
    explicit LaneRunner(InferenceController* controller, QObject* parent = nullptr);
    ~LaneRunner() override;

    LaneComparisonModel* model() const { return m_model; }
    bool isActive() const { return !m_model->lanes().isEmpty(); }
    bool isBusy() const { return m_busy; }

public slots:
    // Forks settings.size() (2..4) lanes; replaces lanes a previous start() made.
    void start(const QList<logitscope::SamplingParams>& settings);
    void step(int count = 1);   // every unfinished lane, `count` times (stops early when all finished)
    void stop();                // cancels a step(count) in progress between steps
    void close();               // closes the lanes (not the one shown in the main view)
    // Lanes that already exist in the engine (a reopened session, a lesson): shown as if started here.
    void adopt(const QList<logitscope::gui::ComparisonLane>& lanes);

signals:
    void started(const QList<int>& laneIds);
    void stepsAvailable(int divergenceStep);
    void finished();            // a step(count) ended
    void failed(const QString& message);

private:
    InferenceController* m_controller;
    MailboxPtr m_mailbox;
    LaneComparisonModel* m_model;
    bool m_busy = false;
};

} // namespace logitscope::gui
