// Embedding lookups off the UI thread.
#include "models/embedding_model.h"

#include "models/token_display.h"
#include "models/token_roles.h"

#include "model/embeddings.h"

#include <QPointer>

#include <cmath>

namespace logitscope::gui {

namespace {

QString labelFor(const Vocabulary& v, int32_t id)
{
    const QByteArray bytes = v.bytes(id);
    return bytes.isEmpty() ? v.piece(id) : tokenLabel(bytes);
}

float l2(const std::vector<float>& x)
{
    double s = 0;
    for (float f : x)
        s += double(f) * f;
    return float(std::sqrt(s));
}

} // namespace

EmbeddingService::EmbeddingService(QObject* parent) : QObject(parent)
{
    qRegisterMetaType<EmbeddingSnapshot>();
    m_pool.setMaxThreadCount(1); // one job at a time: the index parallelises each query itself
}

EmbeddingService::~EmbeddingService()
{
    m_pool.clear();
    m_pool.waitForDone();
}

void EmbeddingService::setModel(const ModelHandle& model)
{
    if (model == m_model)
        return;
    m_model = model;
    m_vocabulary = Vocabulary(model);
    m_index.reset();
    const quint64 generation = ++m_generation;
    if (!model)
        return;
    QPointer<EmbeddingService> self(this);
    m_pool.start([self, model, generation] {
        std::shared_ptr<logitscope::EmbeddingIndex> index;
        try {
            index = std::make_shared<logitscope::EmbeddingIndex>(model);
        } catch (const std::exception&) {
            return;
        }
        // The destructor waits for this pool, so `self` is alive while we post.
        if (self)
            QMetaObject::invokeMethod(self.data(), [self, index, generation] {
                if (!self || generation != self->m_generation)
                    return;
                self->m_index = index;
                emit self->indexReady();
                self->runPending();
            }, Qt::QueuedConnection);
    });
}

void EmbeddingService::request(int32_t id, int position, int neighbours)
{
    m_pending = true;
    m_pendingId = id;
    m_pendingPosition = position;
    m_pendingK = neighbours;
    runPending();
}

void EmbeddingService::runPending()
{
    if (!m_pending || !m_index)
        return;
    m_pending = false;
    auto index = m_index;
    const Vocabulary vocabulary = m_vocabulary;
    const int32_t id = m_pendingId;
    const int position = m_pendingPosition, k = m_pendingK;
    const quint64 request = ++m_request;
    QPointer<EmbeddingService> self(this);
    m_pool.start([self, index, vocabulary, id, position, k, request] {
        EmbeddingSnapshot s;
        s.request = request;
        s.id = id;
        s.position = position;
        try {
            s.label = labelFor(vocabulary, id);
            const auto row = index->row(id);
            s.row = QVector<float>(row.begin(), row.end());
            s.norm = index->norm(id);
            s.tiedToHead = index->tiedToHead();
            s.hasPositions = index->hasPositions();
            if (s.hasPositions && position >= 0 && position < index->positions()) {
                const auto pr = index->positionRow(position);
                s.positionRow = QVector<float>(pr.begin(), pr.end());
                s.positionNorm = l2(pr);
            }
            for (const auto& n : index->nearest(id, k))
                s.neighbours.append({n.id, n.cosine, labelFor(vocabulary, n.id)});
        } catch (const std::exception& e) {
            s.error = QString::fromStdString(e.what());
        }
        if (self)
            QMetaObject::invokeMethod(self.data(), [self, s] {
                if (self && s.request == self->m_request)
                    emit self->embeddingAvailable(s);
            }, Qt::QueuedConnection);
    });
}

// ---- NeighbourModel ----------------------------------------------------------

void NeighbourModel::setSnapshot(const EmbeddingSnapshot& snapshot)
{
    beginResetModel();
    m_snapshot = snapshot;
    endResetModel();
}

int NeighbourModel::rowCount(const QModelIndex& parent) const
{
    return parent.isValid() ? 0 : int(m_snapshot.neighbours.size());
}

int NeighbourModel::columnCount(const QModelIndex& parent) const
{
    return parent.isValid() ? 0 : ColumnCount;
}

QVariant NeighbourModel::data(const QModelIndex& index, int role) const
{
    if (!index.isValid() || index.row() >= m_snapshot.neighbours.size())
        return {};
    const auto& n = m_snapshot.neighbours[index.row()];
    if (role == Qt::DisplayRole) {
        switch (index.column()) {
        case RankColumn:
            return index.row() == 0 && n.id == m_snapshot.id ? tr("self") : QString::number(index.row());
        case TokenColumn:
            return n.label;
        case IdColumn:
            return n.id;
        case CosineColumn:
            return QString::number(n.cosine, 'f', 3);
        }
    }
    if (role == TokenIdRole)
        return n.id;
    if (role == ProbabilityRole) // the cosine, for bar-like shading
        return double(n.cosine);
    if (role == Qt::TextAlignmentRole && index.column() != TokenColumn)
        return int(Qt::AlignRight | Qt::AlignVCenter);
    return {};
}

QVariant NeighbourModel::headerData(int section, Qt::Orientation orientation, int role) const
{
    if (orientation != Qt::Horizontal || role != Qt::DisplayRole)
        return {};
    switch (section) {
    case RankColumn:
        return tr("#");
    case TokenColumn:
        return tr("Token");
    case IdColumn:
        return tr("Id");
    case CosineColumn:
        return tr("Cosine");
    }
    return {};
}

} // namespace logitscope::gui
