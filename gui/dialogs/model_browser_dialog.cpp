// The model browser: a table over hub::ModelListModel, folder management, background scanning.
#include "model_browser_dialog.h"

#include "model_list_model.h"
#include "recent_models.h"
#include "size_text.h"

#include <QDialogButtonBox>
#include <QFileDialog>
#include <QHBoxLayout>
#include <QHeaderView>
#include <QLabel>
#include <QLineEdit>
#include <QPointer>
#include <QPushButton>
#include <QSet>
#include <QSortFilterProxyModel>
#include <QTableView>
#include <QThread>
#include <QVBoxLayout>

namespace logitscope::gui {

ModelBrowserDialog::ModelBrowserDialog(QWidget* parent, std::unique_ptr<hub::RecentModels> settings)
    : QDialog(parent), m_settings(settings ? std::move(settings) : std::make_unique<hub::RecentModels>()),
      m_options(hub::ScanOptions::defaults())
{
    setWindowTitle(tr("Open a model"));
    resize(980, 520);

    m_filter = new QLineEdit(this);
    m_filter->setPlaceholderText(tr("Filter by name, architecture, weights or path"));
    m_filter->setClearButtonEnabled(true);

    m_model = new hub::ModelListModel(this);
    m_proxy = new QSortFilterProxyModel(this);
    m_proxy->setSourceModel(m_model);
    m_proxy->setSortRole(hub::ModelListModel::SortRole);
    m_proxy->setFilterKeyColumn(-1);
    m_proxy->setFilterCaseSensitivity(Qt::CaseInsensitive);
    connect(m_filter, &QLineEdit::textChanged, m_proxy, &QSortFilterProxyModel::setFilterFixedString);

    m_table = new QTableView(this);
    m_table->setModel(m_proxy);
    m_table->setSelectionBehavior(QAbstractItemView::SelectRows);
    m_table->setSelectionMode(QAbstractItemView::SingleSelection);
    m_table->setSortingEnabled(true);
    m_table->sortByColumn(-1, Qt::AscendingOrder); // scan order: recent first
    m_table->verticalHeader()->hide();
    m_table->horizontalHeader()->setStretchLastSection(true);
    m_table->setWordWrap(false);
    connect(m_table->selectionModel(), &QItemSelectionModel::currentRowChanged, this, &ModelBrowserDialog::showDetails);
    connect(m_table, &QTableView::doubleClicked, this, [this] {
        if (m_open->isEnabled())
            accept();
    });

    m_folders = new QLabel(this);
    m_folders->setWordWrap(true);
    m_folders->setTextInteractionFlags(Qt::TextSelectableByMouse);
    m_details = new QLabel(this);
    m_details->setWordWrap(true);
    m_details->setTextInteractionFlags(Qt::TextSelectableByMouse);
    m_details->setMinimumHeight(48);

    auto* add = new QPushButton(tr("Add folder…"), this);
    auto* remove = new QPushButton(tr("Forget folders"), this);
    m_refresh = new QPushButton(tr("Refresh"), this);
    auto* download = new QPushButton(tr("Download from the Hub…"), this);
    connect(add, &QPushButton::clicked, this, &ModelBrowserDialog::chooseFolder);
    connect(remove, &QPushButton::clicked, this, &ModelBrowserDialog::removeFolders);
    connect(m_refresh, &QPushButton::clicked, this, &ModelBrowserDialog::rescan);
    connect(download, &QPushButton::clicked, this, &ModelBrowserDialog::downloadRequested);

    auto* buttons = new QDialogButtonBox(QDialogButtonBox::Open | QDialogButtonBox::Cancel, this);
    m_open = buttons->button(QDialogButtonBox::Open);
    m_open->setEnabled(false);
    connect(buttons, &QDialogButtonBox::accepted, this, &ModelBrowserDialog::accept);
    connect(buttons, &QDialogButtonBox::rejected, this, &ModelBrowserDialog::reject);

    auto* tools = new QHBoxLayout;
    tools->addWidget(m_filter, 1);
    tools->addWidget(add);
    tools->addWidget(remove);
    tools->addWidget(m_refresh);
    tools->addWidget(download);
    auto* layout = new QVBoxLayout(this);
    layout->addLayout(tools);
    layout->addWidget(m_table, 1);
    layout->addWidget(m_details);
    layout->addWidget(m_folders);
    layout->addWidget(buttons);

    rescan();
}

ModelBrowserDialog::~ModelBrowserDialog()
{
    if (m_thread) { // the scan reads only files; let it end rather than kill it
        m_thread->disconnect(this);
        m_thread->wait();
        delete m_thread;
    }
}

int ModelBrowserDialog::modelCount() const { return m_model->rowCount(); }

void ModelBrowserDialog::setScanLocations(const QString& hfCacheDir, const QStringList& lmStudioFolders)
{
    m_options.hfCacheDir = hfCacheDir;
    m_options.lmStudioFolders = lmStudioFolders;
}

void ModelBrowserDialog::rescan()
{
    if (m_scanning) {
        m_rescanPending = true;
        return;
    }
    m_scanning = true;
    m_refresh->setEnabled(false);
    m_details->setText(tr("Looking for models…"));
    hub::ScanOptions options = m_options;
    options.folders = m_settings->modelFolders();
    options.availableBytes = hub::availableMemoryBytes();
    const QStringList recent = m_settings->recent();

    QString where = tr("Searched: HF cache %1").arg(options.hfCacheDir.isEmpty() ? tr("(none)") : options.hfCacheDir);
    for (const QString& f : options.folders + options.lmStudioFolders)
        where += " · " + f;
    where += " · " + tr("free memory %1").arg(hub::sizeText(options.availableBytes));
    m_folders->setText(where);

    // Metadata reads can take a moment on a large cache: scan off the GUI thread, hand back values.
    auto result = std::make_shared<QList<hub::DiscoveredModel>>();
    QThread* thread = QThread::create([options, recent, result] {
        QSet<QString> seen;
        for (const QString& path : recent) {
            *result << hub::describeModel(path, hub::ModelSource::Recent, options.availableBytes);
            seen.insert(result->last().path);
        }
        for (const hub::DiscoveredModel& m : hub::scanModels(options))
            if (!seen.contains(m.path))
                *result << m;
    });
    m_thread = thread;
    connect(thread, &QThread::finished, this, [this, thread, result] {
        thread->deleteLater();
        m_thread = nullptr;
        m_scanning = false;
        m_refresh->setEnabled(true);
        m_model->setModels(*result);
        m_table->resizeColumnsToContents();
        m_details->setText(result->isEmpty() ? tr("No models found. Add a folder, or download one from the Hub.")
                                             : tr("%n model(s). Hover a row for details.", nullptr, int(result->size())));
        m_open->setEnabled(false);
        emit scanFinished(int(result->size()));
        if (m_rescanPending) {
            m_rescanPending = false;
            rescan();
        }
    });
    thread->start();
}

void ModelBrowserDialog::showDetails()
{
    const QModelIndex current = m_proxy->mapToSource(m_table->currentIndex());
    const hub::DiscoveredModel* m = m_model->modelAt(current.row());
    m_open->setEnabled(m && m->problem.isEmpty());
    if (!m)
        return;
    m_details->setText(m_model->index(current.row(), 0).data(Qt::ToolTipRole).toString());
}

void ModelBrowserDialog::addFolder(const QString& folder)
{
    QStringList folders = m_settings->modelFolders();
    folders << folder;
    m_settings->setModelFolders(folders);
    rescan();
}

void ModelBrowserDialog::chooseFolder()
{
    const QString folder = QFileDialog::getExistingDirectory(this, tr("Folder with GGUF files or Hugging Face folders"));
    if (!folder.isEmpty())
        addFolder(folder);
}

void ModelBrowserDialog::removeFolders()
{
    m_settings->setModelFolders({});
    rescan();
}

void ModelBrowserDialog::accept()
{
    const QModelIndex current = m_proxy->mapToSource(m_table->currentIndex());
    const hub::DiscoveredModel* m = m_model->modelAt(current.row());
    if (!m || !m->problem.isEmpty())
        return;
    m_selectedPath = m->path;
    m_settings->add(m_selectedPath);
    emit modelChosen(m_selectedPath);
    QDialog::accept();
}

} // namespace logitscope::gui
