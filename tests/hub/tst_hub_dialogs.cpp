// The model browser and the download dialog, offscreen: the browser lists a folder's model and returns
// its path (remembered as recent); the download dialog pulls from fake_hub.py and ends with the path.
#include "hub_download_dialog.h"
#include "model_browser_dialog.h"
#include "recent_models.h"

#include <QApplication>
#include <QDir>
#include <QFile>
#include <QFileInfo>
#include <QItemSelectionModel>
#include <QProcess>
#include <QProgressBar>
#include <QSignalSpy>
#include <QTableView>
#include <QTemporaryDir>
#include <QtTest>

using namespace logitscope;

namespace {
const QString kBrown = QStringLiteral(LOGITSCOPE_SOURCE_DIR "/resources/models/logitscope-brown");
}

class TestHubDialogs : public QObject {
    Q_OBJECT

private slots:
    void browserListsAndPicks()
    {
        if (!QFileInfo::exists(kBrown + "/config.json"))
            QSKIP("resources/models/logitscope-brown is absent");
        QTemporaryDir dir;
        const QString ini = dir.path() + "/settings.ini";
        {
            hub::RecentModels settings(ini);
            settings.setModelFolders({QFileInfo(kBrown).absolutePath()});
        }
        gui::ModelBrowserDialog dialog(nullptr, std::make_unique<hub::RecentModels>(ini));
        dialog.setScanLocations(dir.path() + "/no-cache", {});
        QSignalSpy scanned(&dialog, &gui::ModelBrowserDialog::scanFinished);
        dialog.rescan(); // queued behind the constructor's scan
        QTRY_VERIFY_WITH_TIMEOUT(scanned.size() >= 1 && !dialog.isScanning(), 10000);
        QCOMPARE(dialog.modelCount(), 1);

        auto* table = dialog.findChild<QTableView*>();
        QVERIFY(table);
        table->setCurrentIndex(table->model()->index(0, 0));
        QSignalSpy chosen(&dialog, &gui::ModelBrowserDialog::modelChosen);
        dialog.accept();
        QCOMPARE(chosen.size(), 1);
        QCOMPARE(dialog.selectedPath(), QFileInfo(kBrown).absoluteFilePath());
        QCOMPARE(dialog.result(), int(QDialog::Accepted));
        QCOMPARE(hub::RecentModels(ini).recent(), QStringList{QFileInfo(kBrown).absoluteFilePath()});
    }

    void downloadDialogPulls()
    {
        if (!QFileInfo(PYTHON3).isExecutable())
            QSKIP("python3 not found: the fake Hub server cannot run");
        QTemporaryDir dir;
        QProcess server;
        server.start(PYTHON3, {FAKE_HUB_SCRIPT, "--log", dir.path() + "/log"});
        QVERIFY(server.waitForStarted(10000));
        QTRY_VERIFY_WITH_TIMEOUT(server.canReadLine(), 10000);
        const int port = server.readLine().trimmed().split(' ')[0].toInt();

        gui::HubDownloadDialog dialog;
        hub::HubEnvironment env;
        env.endpoint = QUrl(QString("http://127.0.0.1:%1").arg(port));
        env.cacheDir = dir.path() + "/hub";
        dialog.setEnvironment(env);
        dialog.setRequest("tiny/nothing");
        QSignalSpy failed(&dialog, &gui::HubDownloadDialog::downloadFailed);
        dialog.startDownload();
        QTRY_COMPARE_WITH_TIMEOUT(failed.size(), 1, 10000);
        QCOMPARE(dialog.statusText(), QString("tiny/nothing: repository not found on http://127.0.0.1:%1 (HTTP 404) - "
                                              "check the name, e.g. HuggingFaceTB/SmolLM2-135M-Instruct").arg(port));

        dialog.setRequest("tiny/gguf", "main", "*Q8_0.gguf");
        QSignalSpy done(&dialog, &gui::HubDownloadDialog::modelDownloaded);
        dialog.startDownload();
        QVERIFY(dialog.isDownloading());
        QTRY_COMPARE_WITH_TIMEOUT(done.size(), 1, 10000);
        const QString expected = dir.path() + "/hub/models--tiny--gguf/snapshots/0123456789abcdef0123456789abcdef01234567/m-Q8_0.gguf";
        QCOMPARE(dialog.modelPath(), expected);
        QCOMPARE(done.first().first().toString(), expected);
        QCOMPARE(dialog.findChild<QProgressBar*>()->value(), 1000);
        QVERIFY(dialog.statusText().startsWith("Done: 50.0 kB downloaded"));
        server.kill();
        server.waitForFinished();
    }
};

QTEST_MAIN(TestHubDialogs)
#include "tst_hub_dialogs.moc"
