// The attention matrix kept for the heatmap.
#include "models/attention_model.h"

#include "models/token_display.h"

#include <algorithm>
#include <cmath>
#include <limits>

namespace logitscope::gui {

namespace {
constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
}

AttentionModel::AttentionModel(QObject* parent) : QAbstractTableModel(parent) {}

void AttentionModel::setShape(int layers, int heads, int kvHeads)
{
    beginResetModel();
    m_layers = std::max(0, layers);
    m_heads = std::max(0, heads);
    m_kvHeads = kvHeads > 0 ? kvHeads : m_heads;
    // Rows hold on average window/2 keys: L * H * window^2 / 2 floats per matrix (prompt + steps: twice).
    const double lh = std::max(1, m_layers * m_heads);
    m_window = std::clamp(int(std::sqrt(double(kFloatBudget) / lh)), 16, kMaxPositions);
    m_layer = std::clamp(m_layer, 0, std::max(0, m_layers - 1));
    if (m_head >= m_heads)
        m_head = -1;
    m_promptRows.clear();
    m_stepRows.clear();
    m_labels.clear();
    m_promptLength = 0;
    updateRange();
    endResetModel();
}

int AttentionModel::kvGroup(int head) const
{
    if (head < 0 || m_heads <= 0 || m_kvHeads <= 0)
        return -1;
    return head / std::max(1, m_heads / m_kvHeads);
}

QString AttentionModel::headLabel(int head) const
{
    if (head < 0)
        return tr("mean over heads");
    if (m_kvHeads < m_heads)
        return tr("head %1 · KV %2").arg(head).arg(kvGroup(head));
    return tr("head %1").arg(head);
}

void AttentionModel::clear()
{
    beginResetModel();
    m_promptRows.clear();
    m_stepRows.clear();
    m_labels.clear();
    m_promptLength = 0;
    updateRange();
    endResetModel();
}

void AttentionModel::addRow(std::map<int, Row>& rows, int query, const float* src, int srcKeys, size_t headStride)
{
    // src points at (l=0, h=0, key 0) of this query; (l, h) rows are headStride floats apart.
    Row r;
    r.firstKey = std::max(0, query - m_window + 1);
    const int n = query - r.firstKey + 1;
    r.v.assign(size_t(m_layers) * m_heads * n, 0.0f);
    const int copy = std::min(n, srcKeys - r.firstKey);
    for (int lh = 0; lh < m_layers * m_heads; ++lh)
        if (copy > 0)
            std::copy_n(src + size_t(lh) * headStride + r.firstKey, copy, r.v.begin() + size_t(lh) * n);
    rows[query] = std::move(r);
}

void AttentionModel::trim(std::map<int, Row>& rows)
{
    const int newest = std::max({m_promptLength - 1, int(m_labels.size()) - 1,
                                 m_stepRows.empty() ? -1 : m_stepRows.rbegin()->first});
    while (!rows.empty() && rows.begin()->first < newest - m_window + 1)
        rows.erase(rows.begin());
}

void AttentionModel::setPrefill(const logitscope::PrefillRecord& record, const QStringList& labels)
{
    beginResetModel();
    m_promptRows.clear();
    m_stepRows.clear();
    m_labels = labels;
    const int T = int(record.ids.size());
    m_promptLength = T;
    const size_t expected = size_t(m_layers) * m_heads * size_t(T) * size_t(T);
    if (T > 0 && record.attention.size() == expected && record.layers == m_layers && record.heads == m_heads) {
        for (int q = std::max(0, T - m_window); q < T; ++q)
            addRow(m_promptRows, q, record.attention.data() + size_t(q) * T, T, size_t(T) * T);
    }
    updateRange();
    endResetModel();
}

void AttentionModel::appendStep(const logitscope::StepRecord& step)
{
    beginResetModel();
    // The chosen token's label sits at its position; its own query row arrives with the next step.
    while (m_labels.size() <= step.position)
        m_labels.append(QString());
    m_labels[step.position] = tokenLabel(QByteArray::fromStdString(step.bytes));
    const int query = step.position - 1;
    const int keys = step.position; // (L, H, position)
    if (query >= 0 && m_layers > 0 && step.attention.size() == size_t(m_layers) * m_heads * size_t(keys))
        addRow(m_stepRows, query, step.attention.data(), keys, size_t(keys));
    trim(m_stepRows);
    trim(m_promptRows);
    updateRange();
    endResetModel();
}

void AttentionModel::setSteps(const StepList& steps)
{
    beginResetModel();
    m_stepRows.clear();
    if (m_labels.size() > m_promptLength)
        m_labels.erase(m_labels.begin() + m_promptLength, m_labels.end());
    endResetModel();
    for (const auto& s : steps)
        appendStep(s);
    if (steps.empty()) {
        beginResetModel();
        updateRange();
        endResetModel();
    }
}

void AttentionModel::setLayer(int layer)
{
    layer = std::clamp(layer, 0, std::max(0, m_layers - 1));
    if (layer == m_layer)
        return;
    m_layer = layer;
    if (positionCount() > 0)
        emit dataChanged(index(0, 0), index(rowCount() - 1, columnCount() - 1), {Qt::DisplayRole, ValueRole});
    emit selectionChanged();
}

void AttentionModel::setHead(int head)
{
    head = head < 0 || head >= m_heads ? -1 : head;
    if (head == m_head)
        return;
    m_head = head;
    if (positionCount() > 0)
        emit dataChanged(index(0, 0), index(rowCount() - 1, columnCount() - 1), {Qt::DisplayRole, ValueRole});
    emit selectionChanged();
}

void AttentionModel::updateRange()
{
    int newest = -1;
    if (!m_stepRows.empty())
        newest = m_stepRows.rbegin()->first;
    if (!m_promptRows.empty())
        newest = std::max(newest, m_promptRows.rbegin()->first);
    // Show every labelled position up to the newest token (its row may still be coming).
    newest = std::max(newest, int(m_labels.size()) - 1);
    m_last = newest;
    m_first = std::max(0, newest - m_window + 1);
}

bool AttentionModel::hasRow(int query) const
{
    return m_stepRows.count(query) || m_promptRows.count(query);
}

double AttentionModel::value(int query, int key) const
{
    const Row* r = nullptr;
    if (auto it = m_stepRows.find(query); it != m_stepRows.end())
        r = &it->second;
    else if (auto jt = m_promptRows.find(query); jt != m_promptRows.end())
        r = &jt->second;
    if (!r || key < r->firstKey)
        return kNaN;
    if (key > query)
        return 0.0;
    const int n = query - r->firstKey + 1;
    const int k = key - r->firstKey;
    if (m_head >= 0)
        return r->v[(size_t(m_layer) * m_heads + m_head) * n + k];
    double sum = 0;
    for (int h = 0; h < m_heads; ++h)
        sum += r->v[(size_t(m_layer) * m_heads + h) * n + k];
    return m_heads > 0 ? sum / m_heads : kNaN;
}

std::vector<double> AttentionModel::row(int query) const
{
    std::vector<double> out;
    for (int k = m_first; k <= query; ++k)
        out.push_back(value(query, k));
    return out;
}

QString AttentionModel::label(int position) const
{
    return m_labels.value(position);
}

int AttentionModel::rowCount(const QModelIndex& parent) const
{
    return parent.isValid() ? 0 : positionCount();
}

int AttentionModel::columnCount(const QModelIndex& parent) const
{
    return parent.isValid() ? 0 : positionCount();
}

QVariant AttentionModel::data(const QModelIndex& index, int role) const
{
    if (!index.isValid())
        return {};
    const int q = m_first + index.row(), k = m_first + index.column();
    const double v = value(q, k);
    switch (role) {
    case Qt::DisplayRole:
        return std::isnan(v) ? QVariant() : QVariant(QString::number(v, 'f', 3));
    case ValueRole:
        return v;
    case Qt::ToolTipRole:
        if (std::isnan(v))
            return {};
        return plainToRich(tr("query %1 (%2) → key %3 (%4): %5").arg(label(q)).arg(q).arg(label(k)).arg(k).arg(v, 0, 'f', 4));
    }
    return {};
}

QVariant AttentionModel::headerData(int section, Qt::Orientation, int role) const
{
    if (role != Qt::DisplayRole || section < 0 || section >= positionCount())
        return {};
    return label(m_first + section);
}

} // namespace logitscope::gui
