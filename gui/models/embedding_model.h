// EmbeddingService: the model's input embedding matrix for the embedding panel. It builds one
// EmbeddingIndex per loaded model on a pool thread (the row norms: one pass over the matrix) and answers
// each query there too — the token's row, norm, 10 nearest neighbours by cosine, and for gpt2 the
// learned position row — with an EmbeddingSnapshot value. The Model is immutable, so this never waits
// for (or disturbs) the inference worker. NeighbourModel lists a snapshot's neighbours.
#pragma once

#include "models/snapshots.h"
#include "models/vocabulary.h"

#include <QAbstractTableModel>
#include <QMetaType>
#include <QObject>
#include <QThreadPool>
#include <QVector>

#include <memory>

namespace logitscope {
class EmbeddingIndex;
}

namespace logitscope::gui {

struct EmbeddingNeighbour {
    int32_t id = 0;
    float cosine = 0;
    QString label;
};

struct EmbeddingSnapshot {
    quint64 request = 0;
    int32_t id = -1;
    int position = -1;               // position in the context, -1 when not picked from a chip
    QString label;
    QVector<float> row;              // (C) the token's embedding row
    float norm = 0;
    QVector<float> positionRow;      // (C) gpt2: learned position row at `position`; empty otherwise
    float positionNorm = 0;
    QList<EmbeddingNeighbour> neighbours; // best first; the token itself first
    bool tiedToHead = false;         // the same matrix is the LM head
    bool hasPositions = false;       // the model has learned position embeddings (gpt2)
    QString error;
    bool valid() const { return id >= 0 && error.isEmpty(); }
};

class EmbeddingService : public QObject {
    Q_OBJECT
public:
    explicit EmbeddingService(QObject* parent = nullptr);
    ~EmbeddingService() override;

    // A new model: the index is rebuilt in the background (queries wait for it).
    void setModel(const ModelHandle& model);
    bool ready() const { return m_index != nullptr; }
    // Looks up token `id` (at `position` in the context, for gpt2's position row); answered by embeddingAvailable.
    void request(int32_t id, int position = -1, int neighbours = 10);
    void waitForIdle() { m_pool.waitForDone(); }

signals:
    void indexReady();
    void embeddingAvailable(const logitscope::gui::EmbeddingSnapshot& snapshot);

private:
    void runPending();

    QThreadPool m_pool;
    ModelHandle m_model;
    Vocabulary m_vocabulary;
    std::shared_ptr<logitscope::EmbeddingIndex> m_index;
    quint64 m_generation = 0;        // model generation (a stale index is dropped)
    quint64 m_request = 0;
    bool m_pending = false;
    int32_t m_pendingId = -1;
    int m_pendingPosition = -1, m_pendingK = 10;
};

class NeighbourModel : public QAbstractTableModel {
    Q_OBJECT
public:
    enum Column { RankColumn, TokenColumn, IdColumn, CosineColumn, ColumnCount };
    using QAbstractTableModel::QAbstractTableModel;

    void setSnapshot(const EmbeddingSnapshot& snapshot);
    const EmbeddingSnapshot& snapshot() const { return m_snapshot; }

    int rowCount(const QModelIndex& parent = {}) const override;
    int columnCount(const QModelIndex& parent = {}) const override;
    QVariant data(const QModelIndex& index, int role = Qt::DisplayRole) const override;
    QVariant headerData(int section, Qt::Orientation orientation, int role = Qt::DisplayRole) const override;

private:
    EmbeddingSnapshot m_snapshot;
};

} // namespace logitscope::gui

Q_DECLARE_METATYPE(logitscope::gui::EmbeddingSnapshot)
