// KV cache snapshot, formula and block map.
#include "models/kv_snapshot.h"

#include "decoding/session.h"
#include "model/config.h"
#include "model/model.h"

#include <QColor>
#include <QLocale>

#include <algorithm>
#include <set>

namespace logitscope::gui {

KvSnapshot captureKvSnapshot(const logitscope::Session& session)
{
    KvSnapshot s;
    const auto& cfg = session.model().config();
    s.valid = true;
    s.stats = session.kvStats();
    s.beamStats = session.lastBeamKvStats();
    s.memory = session.memory();
    s.backend = QString::fromStdString(session.backend().name());
    s.layers = cfg.layers;
    s.heads = cfg.heads;
    s.kvHeads = cfg.kvHeads;
    s.headDim = cfg.headDim;
    s.contextLength = cfg.contextLength;
    s.elementBytes = session.backend().kvElementBytes();

    std::vector<int> order(s.stats.sequenceIds.size());
    for (size_t i = 0; i < order.size(); ++i)
        order[i] = int(i);
    std::sort(order.begin(), order.end(), [&](int a, int b) { return s.stats.sequenceIds[size_t(a)] < s.stats.sequenceIds[size_t(b)]; });
    const auto lanes = session.hasPrompt() ? session.lanes() : std::vector<logitscope::LaneInfo>{};
    for (int i = 0; i < int(order.size()); ++i) {
        s.sequenceLabels.append(QString());
        s.sequenceLanes.append(-2);
    }
    for (int rank = 0; rank < int(order.size()); ++rank) {
        const int row = order[size_t(rank)];
        if (rank == 0 && session.hasPrompt()) {
            s.sequenceLabels[row] = QObject::tr("prompt");
            s.sequenceLanes[row] = -1;
        } else if (session.hasPrompt() && rank - 1 < int(lanes.size())) {
            const auto& l = lanes[size_t(rank - 1)];
            const char* kind = l.kind == logitscope::LaneKind::Root ? "root" : l.kind == logitscope::LaneKind::Lane ? "lane" : "branch";
            s.sequenceLabels[row] = QObject::tr("lane %1 (%2)").arg(l.id).arg(QLatin1String(kind));
            s.sequenceLanes[row] = l.id;
        } else {
            s.sequenceLabels[row] = QObject::tr("seq %1").arg(s.stats.sequenceIds[size_t(row)]);
        }
    }
    return s;
}

quint64 kvBytesPerToken(int layers, int kvHeads, int headDim, quint64 elementBytes)
{
    return 2ull * quint64(layers) * quint64(kvHeads) * quint64(headDim) * elementBytes;
}

QString kvFormulaText(int layers, int kvHeads, int headDim, quint64 elementBytes)
{
    const QLocale c(QLocale::English);
    return QObject::tr("2 × %1 layers × %2 KV heads × %3 dims × %4 bytes = %5 bytes per token")
        .arg(layers)
        .arg(kvHeads)
        .arg(headDim)
        .arg(elementBytes)
        .arg(c.toString(qulonglong(kvBytesPerToken(layers, kvHeads, headDim, elementBytes))));
}

quint64 attentionScoreBytes(qint64 length, int heads)
{
    return quint64(length) * quint64(length) * quint64(heads) * 4ull;
}

QString formatBytes(double bytes)
{
    static const char* units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
    int u = 0;
    while (bytes >= 1024.0 && u < 4) {
        bytes /= 1024.0;
        ++u;
    }
    return u == 0 ? QStringLiteral("%1 B").arg(qint64(bytes)) : QStringLiteral("%1 %2").arg(bytes, 0, 'f', 1).arg(QLatin1String(units[u]));
}

// ---- KvBlockMapModel --------------------------------------------------------

int KvBlockMapModel::rowCount(const QModelIndex& parent) const
{
    return parent.isValid() ? 0 : int(m_snapshot.stats.blockTables.size());
}

int KvBlockMapModel::columnCount(const QModelIndex& parent) const
{
    return parent.isValid() ? 0 : m_columns;
}

QVariant KvBlockMapModel::data(const QModelIndex& index, int role) const
{
    if (!checkIndex(index, CheckIndexOption::IndexIsValid | CheckIndexOption::ParentIsInvalid))
        return {};
    const auto& table = m_snapshot.stats.blockTables[size_t(index.row())];
    if (index.column() >= int(table.size()))
        return {};
    const int block = table[size_t(index.column())];
    const int refs = block >= 0 && block < int(m_snapshot.stats.refCounts.size()) ? m_snapshot.stats.refCounts[size_t(block)] : 0;
    switch (role) {
    case Qt::DisplayRole:
    case BlockIdRole:
        return block;
    case RefCountRole:
        return refs;
    case SharedRole:
        return refs > 1;
    case TokensRole:
        return m_snapshot.stats.blockSize;
    case Qt::BackgroundRole:
        return refs > 1 ? QColor(120, 190, 120) : QColor(170, 200, 235);
    case Qt::ToolTipRole:
        return refs > 1 ? tr("Block %1, shared by %2 sequences: stored once.").arg(block).arg(refs)
                        : tr("Block %1, private to this sequence.").arg(block);
    default:
        return {};
    }
}

QVariant KvBlockMapModel::headerData(int section, Qt::Orientation orientation, int role) const
{
    if (role != Qt::DisplayRole)
        return {};
    if (orientation == Qt::Horizontal)
        return section >= 0 && section < m_columns ? QVariant(section * std::max(1, m_snapshot.stats.blockSize)) : QVariant();
    if (section < 0 || section >= m_snapshot.sequenceLabels.size())
        return {};
    return m_snapshot.sequenceLabels[section];
}

void KvBlockMapModel::setSnapshot(const KvSnapshot& snapshot)
{
    beginResetModel();
    m_snapshot = snapshot;
    if (m_snapshot.sequenceLabels.size() != int(m_snapshot.stats.blockTables.size())) {
        m_snapshot.sequenceLabels.clear();
        for (size_t i = 0; i < m_snapshot.stats.blockTables.size(); ++i)
            m_snapshot.sequenceLabels.append(tr("seq %1").arg(i));
    }
    m_columns = 0;
    for (const auto& t : m_snapshot.stats.blockTables)
        m_columns = std::max(m_columns, int(t.size()));
    endResetModel();
}

int KvBlockMapModel::sharedCells() const
{
    int n = 0;
    for (const auto& t : m_snapshot.stats.blockTables)
        for (int b : t)
            if (b >= 0 && b < int(m_snapshot.stats.refCounts.size()) && m_snapshot.stats.refCounts[size_t(b)] > 1)
                ++n;
    return n;
}

int KvBlockMapModel::distinctBlocks() const
{
    std::set<int> blocks;
    for (const auto& t : m_snapshot.stats.blockTables)
        blocks.insert(t.begin(), t.end());
    return int(blocks.size());
}

} // namespace logitscope::gui
