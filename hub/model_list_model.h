// ModelListModel: a table of DiscoveredModels for the model browser (Qt Core item model, no widgets,
// so tests check it with QAbstractItemModelTester). One row per model; PathRole gives what to load.
#pragma once

#include "model_discovery.h"

#include <QAbstractTableModel>

namespace logitscope::hub {

class ModelListModel : public QAbstractTableModel {
    Q_OBJECT
public:
    enum Column { Name, Source, Architecture, Quantisation, Size, Memory, Path, ColumnCount };
    enum Role { PathRole = Qt::UserRole + 1, ProblemRole, SortRole };

    explicit ModelListModel(QObject* parent = nullptr);

    void setModels(const QList<DiscoveredModel>& models);
    const QList<DiscoveredModel>& models() const { return m_models; }
    const DiscoveredModel* modelAt(int row) const;

    int rowCount(const QModelIndex& parent = {}) const override;
    int columnCount(const QModelIndex& parent = {}) const override;
    QVariant data(const QModelIndex& index, int role = Qt::DisplayRole) const override;
    QVariant headerData(int section, Qt::Orientation orientation, int role = Qt::DisplayRole) const override;

private:
    QList<DiscoveredModel> m_models;
};

} // namespace logitscope::hub
