// SamplingPanel: every sampling setting as a control (slider + spin box where it helps). Each change
// sends the whole SamplingParams to the controller; the engine validates it and re-samples the cached
// logits (no forward pass), so the bars redraw at once. A rejected value is shown in red next to its
// control with the engine's own message, and nothing is applied. The Constraint box takes a GBNF grammar
// or a JSON Schema (constrained decoding), applied after a short pause in typing.
#pragma once

#include "decoding/sampling_params.h"

#include <QMap>
#include <QWidget>

class QCheckBox;
class QComboBox;
class QDoubleSpinBox;
class QGridLayout;
class QLabel;
class QLineEdit;
class QPlainTextEdit;
class QTimer;
class QSlider;
class QSpinBox;

namespace logitscope::gui {

class InferenceController;
struct Distribution;

class SamplingPanel : public QWidget {
    Q_OBJECT
public:
    explicit SamplingPanel(InferenceController* controller, QWidget* parent = nullptr);

    logitscope::SamplingParams params() const;   // what the controls say now
    void setParams(const logitscope::SamplingParams& params); // moves the controls (no signal storm)
    QSlider* temperatureSlider() const { return m_temperatureSlider; }
    QString errorFor(const QString& key) const;  // the message shown next to a control ("" when fine)
    // Constrained decoding: which kind of constraint the box holds, and its text.
    enum class Constraint { None, Gbnf, JsonSchema };
    void setConstraint(Constraint kind, const QString& text); // as if typed (applied after the short pause)
    QPlainTextEdit* constraintEditor() const { return m_constraintText; }
    QString mirostatState() const;                // "mu = 9.87 (target surprise 5.00)", or "" when off

signals:
    void paramsEdited(const logitscope::SamplingParams& params);

private:
    struct Row {
        QLabel* label = nullptr;
        QLabel* error = nullptr;
        QWidget* editor = nullptr;
    };
    void addRow(const QString& key, const QString& label, const QString& tip, QWidget* editor, QSlider* slider = nullptr);
    QDoubleSpinBox* addDouble(const QString& key, const QString& label, const QString& tip, double min, double max,
                              double step, int decimals, int sliderScale, QSlider** sliderOut = nullptr);
    QSpinBox* addInt(const QString& key, const QString& label, const QString& tip, int min, int max,
                     int sliderMax = 0);
    void buildConstraintRows();
    void buildLlamaCppRows();
    void showMirostat(const Distribution& distribution);
    void addSection(const QString& title, const QString& tip);
    void emitChange();
    void showError(const QString& message);
    void clearErrors();

    InferenceController* m_controller;
    QGridLayout* m_grid;
    int m_row = 0;
    QMap<QString, Row> m_rows;
    bool m_loading = false;

    QCheckBox* m_greedy;
    QDoubleSpinBox* m_temperature;
    QSlider* m_temperatureSlider = nullptr;
    QSpinBox* m_topK;
    QDoubleSpinBox* m_topP;
    QDoubleSpinBox* m_minP;
    QDoubleSpinBox* m_typicalP;
    QDoubleSpinBox* m_repetition;
    QDoubleSpinBox* m_presence;
    QDoubleSpinBox* m_frequency;
    QSpinBox* m_noRepeat;
    QSpinBox* m_minNew;
    QSpinBox* m_maxNew;
    QLineEdit* m_stop;
    QSpinBox* m_seed;
    QComboBox* m_order;
    // llama.cpp samplers
    QLineEdit* m_logitBias;
    QDoubleSpinBox* m_dryMultiplier;
    QDoubleSpinBox* m_dryBase;
    QSpinBox* m_dryAllowedLength;
    QSpinBox* m_dryPenaltyLastN;
    QLineEdit* m_dryBreakers;
    QDoubleSpinBox* m_xtcProbability;
    QDoubleSpinBox* m_xtcThreshold;
    QDoubleSpinBox* m_topNSigma;
    QComboBox* m_mirostat;
    QDoubleSpinBox* m_mirostatTau;
    QDoubleSpinBox* m_mirostatEta;
    QLabel* m_mirostatState;
    QDoubleSpinBox* m_dynatempRange;
    QDoubleSpinBox* m_dynatempExponent;
    QComboBox* m_constraintKind;
    QComboBox* m_constraintExamples;
    QPlainTextEdit* m_constraintText;
    QTimer* m_constraintPause;
    QLabel* m_generalError;
};

} // namespace logitscope::gui
