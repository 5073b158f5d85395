// KvCachePanel: the KV cache and memory view. "Cache": the bytes-per-token formula with this model's
// numbers and the live total, KV bytes against tokens (used vs. what unshared caches would need), and
// the block map of the paged cache (one row per lane, shared blocks green). "Memory": weights, KV,
// activations and free memory of the device. "Context length": a sweep on demand showing attention-
// score memory growing with L² and per-token time with L. It renders Measurements' snapshots only.
#pragma once

#include <QWidget>

class QCustomPlot;
class QLabel;
class QPushButton;
class QSpinBox;
class QTableView;
class QTabWidget;

namespace logitscope::gui {

class InferenceController;
class KvBlockMapModel;
class Measurements;
struct KvSnapshot;
struct ContextPoint;

class KvCachePanel : public QWidget {
    Q_OBJECT
public:
    KvCachePanel(InferenceController* controller, Measurements* measurements, QWidget* parent = nullptr);

    QTabWidget* tabs() const { return m_tabs; }
    KvBlockMapModel* blockMap() const { return m_blockMap; }
    QCustomPlot* bytesPlot() const { return m_bytesPlot; }
    QCustomPlot* memoryPlot() const { return m_memoryPlot; }
    QCustomPlot* contextPlot() const { return m_contextPlot; }
    QString formulaText() const;
    QString summaryText() const;
    QString sweepStatusText() const; // what the context-length sweep said when it ended

private:
    void showSnapshot(const KvSnapshot& s);
    void showContextPoints();
    void updateSweepButtons();

    InferenceController* m_controller;
    Measurements* m_measurements;
    QTabWidget* m_tabs;
    QLabel* m_formula;
    QLabel* m_summary;
    QCustomPlot* m_bytesPlot;
    QTableView* m_blockView;
    KvBlockMapModel* m_blockMap;
    QCustomPlot* m_memoryPlot;
    QLabel* m_memoryText;
    QCustomPlot* m_contextPlot;
    QSpinBox* m_maxLength;
    QPushButton* m_runSweep;
    QPushButton* m_cancelSweep;
    QLabel* m_sweepStatus;
};

} // namespace logitscope::gui
