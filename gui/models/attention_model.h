// AttentionModel: the attention probabilities the engine captured (SessionOptions::captureAttention),
// kept on the UI thread as a table of query position (rows) x key position (columns) for one layer and
// one head, or the mean over heads. The prompt's causal T x T comes from the PrefillRecord; each decode
// step adds one row: StepRecord::attention is the query row of the token fed in the forward pass behind
// that step, i.e. the previous token (position - 1).
// Memory-bounded: only the last window() positions (queries and keys) are kept — 512, or fewer when
// layers x heads is large so the copy stays under ~256 MB. Not a view: the attention panel draws it.
#pragma once

#include "models/snapshots.h"

#include <QAbstractTableModel>
#include <QStringList>

#include <map>
#include <vector>

namespace logitscope::gui {

class AttentionModel : public QAbstractTableModel {
    Q_OBJECT
public:
    static constexpr int kMaxPositions = 512;
    static constexpr qint64 kFloatBudget = qint64(64) << 20; // floats kept at most (256 MB)
    enum Role { ValueRole = Qt::UserRole + 80 }; // double; NaN where nothing was captured

    explicit AttentionModel(QObject* parent = nullptr);

    // Model shape: L layers, H query heads, Hkv key/value heads (grouped-query attention when Hkv < H).
    void setShape(int layers, int heads, int kvHeads);
    int layers() const { return m_layers; }
    int heads() const { return m_heads; }
    int kvHeads() const { return m_kvHeads; }
    int window() const { return m_window; }
    // Which KV head query head h reads (heads / kvHeads query heads share one); and a label for selectors.
    int kvGroup(int head) const;
    QString headLabel(int head) const;   // "head 5 · KV 1"; "mean over heads" for -1

    void clear();
    // The prompt: its (L, H, T, T) matrix (may be empty when capture was off) and a label per token.
    void setPrefill(const logitscope::PrefillRecord& record, const QStringList& labels);
    // The generated steps of the lane on display (replaces earlier generated rows: rewind, branch).
    void setSteps(const StepList& steps);
    void appendStep(const logitscope::StepRecord& step);
    int promptLength() const { return m_promptLength; }

    void setLayer(int layer);
    void setHead(int head);              // -1: mean over heads
    int layer() const { return m_layer; }
    int head() const { return m_head; }

    // Absolute positions shown: first() .. last() (queries and keys); empty when last() < first().
    int first() const { return m_first; }
    int last() const { return m_last; }
    int positionCount() const { return std::max(0, m_last - m_first + 1); }
    bool hasRow(int query) const;
    double value(int query, int key) const; // current layer/head (or mean); NaN without data, 0 above the diagonal
    std::vector<double> row(int query) const; // keys first() .. query
    QString label(int position) const;

    int rowCount(const QModelIndex& parent = {}) const override;
    int columnCount(const QModelIndex& parent = {}) const override;
    QVariant data(const QModelIndex& index, int role = Qt::DisplayRole) const override;
    QVariant headerData(int section, Qt::Orientation orientation, int role = Qt::DisplayRole) const override;

signals:
    void selectionChanged(); // layer or head changed

private:
    struct Row {
        int firstKey = 0;        // absolute position of the first key kept
        std::vector<float> v;    // (L, H, n) with n = query - firstKey + 1
    };
    void addRow(std::map<int, Row>& rows, int query, const float* src, int srcKeys, size_t headStride);
    void updateRange();
    void trim(std::map<int, Row>& rows);

    int m_layers = 0, m_heads = 0, m_kvHeads = 0;
    int m_window = kMaxPositions;
    int m_layer = 0, m_head = -1;
    int m_promptLength = 0;
    int m_first = 0, m_last = -1;
    std::map<int, Row> m_promptRows;     // query position -> row, from the prefill
    std::map<int, Row> m_stepRows;       // query position -> row, from decode steps
    QStringList m_labels;                // (positions) token labels, prompt then generated
};

} // namespace logitscope::gui
