// KvSnapshot: a copy of the paged KV cache's bookkeeping and of the backend's memory ledger, taken on
// the worker and drawn by the KV cache panel: the bytes-per-token formula with this model's numbers,
// the block map (which sequence holds which block, shared blocks counted once) and the cost without
// sharing. KvBlockMapModel shows the block tables. Not a live view: a new snapshot replaces the old.
#pragma once

#include "model/backend.h"
#include "model/kv_cache.h"

#include <QAbstractTableModel>
#include <QList>
#include <QMetaType>
#include <QString>
#include <QStringList>

namespace logitscope {
class Session;
}

namespace logitscope::gui {

struct KvSnapshot {
    bool valid = false;
    logitscope::KvStats stats;
    logitscope::KvStats beamStats;     // as the last beam search left the cache (empty when none ran)
    logitscope::MemoryLedger memory;
    QString backend;                   // "cpu" or "cuda"
    int layers = 0, heads = 0, kvHeads = 0, headDim = 0, contextLength = 0;
    quint64 elementBytes = 0;          // bytes of one cached K or V number
    QStringList sequenceLabels;        // per stats.sequenceIds: "prompt", "lane 0 (root)", "lane 2", ...
    QList<int> sequenceLanes;          // lane id per sequence; -1 = the frozen prompt, -2 = not a lane
};

// Copies the session's cache state (worker thread only). Sequences are matched to lanes by creation
// order: the prompt's sequence first, then one per lane in lane-id order (the Session forks them so).
KvSnapshot captureKvSnapshot(const logitscope::Session& session);

// 2 x layers x kvHeads x headDim x elementBytes: the K and V vectors one token leaves in every layer.
quint64 kvBytesPerToken(int layers, int kvHeads, int headDim, quint64 elementBytes);
// "2 × 6 layers × 4 KV heads × 32 dims × 4 bytes = 6,144 bytes per token"
QString kvFormulaText(int layers, int kvHeads, int headDim, quint64 elementBytes);
// Memory of one layer's attention-score matrix for L positions if it were materialised: L² × heads × 4 bytes.
quint64 attentionScoreBytes(qint64 length, int heads);
QString formatBytes(double bytes); // "6.0 KiB", "1.2 MiB"

// Block tables as a grid: one row per sequence (its label in the header), one column per logical
// block; a cell holds the physical block id. Shared blocks (refcount > 1) carry SharedRole = true.
class KvBlockMapModel : public QAbstractTableModel {
    Q_OBJECT
public:
    enum Roles { BlockIdRole = Qt::UserRole + 1, RefCountRole, SharedRole, TokensRole };
    using QAbstractTableModel::QAbstractTableModel;

    int rowCount(const QModelIndex& parent = {}) const override;
    int columnCount(const QModelIndex& parent = {}) const override;
    QVariant data(const QModelIndex& index, int role = Qt::DisplayRole) const override;
    QVariant headerData(int section, Qt::Orientation orientation, int role = Qt::DisplayRole) const override;

    void setSnapshot(const KvSnapshot& snapshot);
    const KvSnapshot& snapshot() const { return m_snapshot; }
    int sharedCells() const;     // cells (sequence × block) that point at a shared block
    int distinctBlocks() const;  // physical blocks referenced by any row

private:
    KvSnapshot m_snapshot;
    int m_columns = 0;
};

} // namespace logitscope::gui

Q_DECLARE_METATYPE(logitscope::gui::KvSnapshot)
