// ModelBrowserDialog: the models on this computer (HF cache, chosen folders, LM Studio, recently used)
// in a sortable, filterable table with architecture, size, weights' dtype and whether each fits in free
// memory; the user picks one to open. Scans on a background thread; loads nothing.
#pragma once

#include "model_discovery.h"
#include "recent_models.h"

#include <QDialog>
#include <QPointer>
#include <QThread>

#include <memory>

class QLabel;
class QLineEdit;
class QPushButton;
class QSortFilterProxyModel;
class QTableView;

namespace logitscope::hub {
class ModelListModel;
} // namespace logitscope::hub

namespace logitscope::gui {

class ModelBrowserDialog : public QDialog {
    Q_OBJECT
public:
    // `settings`: where recent models and folders live; null means the shared Logitscope settings.
    explicit ModelBrowserDialog(QWidget* parent = nullptr, std::unique_ptr<hub::RecentModels> settings = {});
    ~ModelBrowserDialog() override;

    // Replaces the HF cache folder and the LM Studio folders of the next scan (tests, other caches).
    void setScanLocations(const QString& hfCacheDir, const QStringList& lmStudioFolders);
    QString selectedPath() const { return m_selectedPath; }
    bool isScanning() const { return m_scanning; }
    int modelCount() const;

public slots:
    void rescan();
    void addFolder(const QString& folder); // remembered in the settings
    void accept() override;

signals:
    void scanFinished(int models);
    void modelChosen(const QString& path);
    void downloadRequested(); // "Download from the Hub..." — the window opens a HubDownloadDialog

private:
    void showDetails();
    void chooseFolder();
    void removeFolders();

    std::unique_ptr<hub::RecentModels> m_settings;
    hub::ScanOptions m_options;
    hub::ModelListModel* m_model = nullptr;
    QSortFilterProxyModel* m_proxy = nullptr;
    QTableView* m_table = nullptr;
    QLineEdit* m_filter = nullptr;
    QLabel* m_folders = nullptr;
    QLabel* m_details = nullptr;
    QPushButton* m_open = nullptr;
    QPushButton* m_refresh = nullptr;
    QString m_selectedPath;
    QPointer<QThread> m_thread;
    bool m_scanning = false;
    bool m_rescanPending = false;
};

} // namespace logitscope::gui
