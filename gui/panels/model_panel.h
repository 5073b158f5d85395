// ModelPanel: open a GGUF file or a Hugging Face folder, pick the device, and read what was loaded
// (architecture, size, context length, device, KV bytes per token). Loading runs on the worker;
// this panel shows a busy bar and any error in place. It only renders the controller's state.
#pragma once

#include <QWidget>

class QComboBox;
class QFormLayout;
class QLabel;
class QProgressBar;
class QPushButton;

namespace logitscope::gui {

class InferenceController;
struct ModelInfo;

class ModelPanel : public QWidget {
    Q_OBJECT
public:
    explicit ModelPanel(InferenceController* controller, QWidget* parent = nullptr);

    // Candidates looked at for the bundled model (shown in the "no model" state).
    void setDefaultModelCandidates(const QStringList& paths);
    QString errorText() const;
    // The Weights box (as stored, or a type to requantize to) and the weights row's text, for tests.
    QComboBox* weightsBox() const { return m_weights; }
    QString weightsText() const;

public slots:
    void openFile();
    void openFolder();
    // Loads a model by path (from the model browser or a download) and remembers it as recent.
    void openPath(const QString& path);
    // The model browser (models on disk, Hub downloads); absent when built without Qt Network.
    void browseModels();

private:
    // Opens `path` with the panel's device, KV-cache and weight choices.
    void load(const QString& path);
    void showInfo(const ModelInfo& info);
    void showEmpty();
    void setValue(int row, const QString& text, const QString& tooltip = {});

    InferenceController* m_controller;
    QPushButton* m_openFile;
    QPushButton* m_openFolder;
    QComboBox* m_device;
    QComboBox* m_kvType;
    QComboBox* m_weights;
    QProgressBar* m_progress;
    QLabel* m_status;
    QLabel* m_error;
    QFormLayout* m_form;
    QList<QLabel*> m_values;
    QStringList m_candidates;
};

} // namespace logitscope::gui
