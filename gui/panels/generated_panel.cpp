// The Generated text panel.
#include "panels/generated_panel.h"

#include "models/candidate_model.h"
#include "models/generated_tokens_model.h"
#include "models/inference_controller.h"
#include "models/lane_model.h"
#include "panels/probability_legend.h"
#include "panels/token_chip_view.h"

#include <QComboBox>
#include <QHBoxLayout>
#include <QHeaderView>
#include <QLabel>
#include <QPushButton>
#include <QScrollArea>
#include <QScrollBar>
#include <QSplitter>
#include <QTableView>
#include <QTimer>
#include <QVBoxLayout>

namespace logitscope::gui {

GeneratedPanel::GeneratedPanel(InferenceController* controller, QWidget* parent)
    : QWidget(parent), m_controller(controller)
{
    auto* layout = new QVBoxLayout(this);

    auto* top = new QHBoxLayout;
    top->addWidget(new QLabel(tr("Path:"), this));
    m_lanes = new QComboBox(this);
    m_lanes->setModel(controller->laneModel());
    m_lanes->setToolTip(tr("Every branch you make keeps the path it replaced. Pick one to go back to it."));
    m_lanes->setSizeAdjustPolicy(QComboBox::AdjustToContents);
    top->addWidget(m_lanes, 1);
    top->addWidget(new ProbabilityLegend(
                       tr("chosen with p = 0"),
                       tr("Each output token is coloured by the probability the sampler gave it when it was chosen: "
                          "dark purple = a surprising pick, yellow = the obvious one. An orange border marks a "
                          "token you chose yourself (a branch); a dashed border, part of a UTF-8 character."),
                       this),
                   1);
    layout->addLayout(top);

    m_chips = new TokenChipView;
    m_chips->setModel(controller->generatedTokens());
    m_chips->setPlaceholder(tr("The generated tokens appear here. Press Step (Space) to read the prompt, then "
                               "Step again to choose each token, or Run to generate at full speed."));
    QFont chipFont = m_chips->font();
    chipFont.setPointSizeF(chipFont.pointSizeF() * 1.15);
    m_chips->setFont(chipFont);
    m_scroll = new QScrollArea;
    m_scroll->setWidget(m_chips);
    m_scroll->setWidgetResizable(true);
    m_scroll->setHorizontalScrollBarPolicy(Qt::ScrollBarAlwaysOff);

    m_text = new QLabel(this);
    m_text->setWordWrap(true);
    m_text->setTextInteractionFlags(Qt::TextSelectableByMouse);
    m_text->setToolTip(tr("The output as plain text (what the detokenizer has released so far)."));
    m_text->setStyleSheet(QStringLiteral("QLabel { color: #333; }"));

    m_finish = new QLabel(this);
    m_finish->setWordWrap(true);
    m_finish->setStyleSheet(QStringLiteral("QLabel { color: #8a4b00; font-weight: bold; }"));
    m_finish->setToolTip(tr("Which rule ended this path: Max new tokens, a stop sequence, the model's end-of-text "
                            "token, or the context window. Rewind or branch to continue."));
    m_finish->hide();

    auto* alt = new QWidget;
    auto* altLayout = new QVBoxLayout(alt);
    altLayout->setContentsMargins(0, 0, 0, 0);
    auto* altTop = new QHBoxLayout;
    m_altTitle = new QLabel(alt);
    m_altTitle->setWordWrap(true);
    m_branch = new QPushButton(tr("Branch with this token"), alt);
    m_branch->setToolTip(tr("Go back to the selected step and continue with the selected alternative instead. "
                            "The current continuation is kept as a separate path."));
    m_live = new QPushButton(tr("Back to the live step"), alt);
    altTop->addWidget(m_altTitle, 1);
    altTop->addWidget(m_live);
    altTop->addWidget(m_branch);
    altLayout->addLayout(altTop);
    m_alternatives = new QTableView(alt);
    m_alternatives->setModel(controller->candidates());
    m_alternatives->setSelectionBehavior(QAbstractItemView::SelectRows);
    m_alternatives->setSelectionMode(QAbstractItemView::SingleSelection);
    m_alternatives->verticalHeader()->hide();
    m_alternatives->horizontalHeader()->setStretchLastSection(true);
    m_alternatives->verticalHeader()->setDefaultSectionSize(m_alternatives->fontMetrics().height() + 6);
    m_alternatives->setEditTriggers(QAbstractItemView::NoEditTriggers);
    altLayout->addWidget(m_alternatives, 1);

    auto* split = new QSplitter(Qt::Vertical, this);
    split->addWidget(m_scroll);
    split->addWidget(alt);
    split->setStretchFactor(0, 3);
    split->setStretchFactor(1, 2);
    layout->addWidget(split, 1);
    layout->addWidget(m_finish);
    layout->addWidget(m_text);

    connect(m_chips, &TokenChipView::rowClicked, this, [this](int row) {
        m_controller->selectStep(row == m_controller->selectedStep() ? -1 : row);
    });
    connect(m_live, &QPushButton::clicked, this, [this] { m_controller->selectStep(-1); });
    connect(m_branch, &QPushButton::clicked, this, &GeneratedPanel::branchWithSelected);
    connect(m_alternatives, &QTableView::doubleClicked, this, &GeneratedPanel::branchWithSelected);
    connect(m_lanes, &QComboBox::activated, this, [this](int row) {
        const int lane = m_controller->laneModel()->index(row, 0).data(LaneModel::LaneIdRole).toInt();
        m_controller->selectLane(lane);
    });
    connect(controller->laneModel(), &QAbstractItemModel::modelReset, this, &GeneratedPanel::refreshLaneSelector);
    connect(controller, &InferenceController::stateChanged, this, &GeneratedPanel::refreshSelection);
    connect(controller, &InferenceController::distributionAvailable, this, &GeneratedPanel::refreshSelection);
    connect(controller->generatedTokens(), &QAbstractItemModel::rowsInserted, this, &GeneratedPanel::scrollToEnd);
    connect(m_scroll->verticalScrollBar(), &QScrollBar::valueChanged, this, [this](int v) {
        m_followEnd = v >= m_scroll->verticalScrollBar()->maximum() - 4;
    });
    refreshSelection();
}

void GeneratedPanel::scrollToEnd()
{
    if (!m_followEnd)
        return;
    // After the chip view has grown (layout runs on the next event loop turn).
    QTimer::singleShot(0, this, [this] {
        m_scroll->verticalScrollBar()->setValue(m_scroll->verticalScrollBar()->maximum());
    });
}

void GeneratedPanel::refreshLaneSelector()
{
    const int row = m_controller->laneModel()->rowOfLane(m_controller->currentLane());
    if (row >= 0 && row != m_lanes->currentIndex())
        m_lanes->setCurrentIndex(row);
    m_lanes->setEnabled(m_controller->laneModel()->rowCount() > 1);
}

void GeneratedPanel::refreshSelection()
{
    const int step = m_controller->selectedStep();
    m_chips->setSelectedRow(step);
    const auto& d = m_controller->distribution();
    if (step >= 0)
        m_altTitle->setText(tr("<b>Token %1</b> was chosen from these. Pick another and branch:").arg(step + 1));
    else if (d.valid && d.preview)
        m_altTitle->setText(tr("<b>Next token</b> — the candidates the sampler would choose from. "
                               "Click a past token to see its alternatives."));
    else
        m_altTitle->setText(tr("Click a generated token to see what else it could have been."));
    m_branch->setEnabled(step >= 0 && !m_controller->isBusy());
    m_live->setVisible(step >= 0);
    m_text->setText(m_controller->generatedTokens()->text());
    const QString finish = m_controller->generatedTokens()->finishText();
    m_finish->setText(finish);
    m_finish->setVisible(!finish.isEmpty());
    refreshLaneSelector();
}

QString GeneratedPanel::finishText() const
{
    return m_finish->isVisible() || !m_finish->text().isEmpty() ? m_finish->text() : QString();
}

void GeneratedPanel::branchWithSelected()
{
    const int step = m_controller->selectedStep();
    const QModelIndex idx = m_alternatives->currentIndex();
    if (step < 0 || !idx.isValid())
        return;
    const int token = idx.siblingAtColumn(0).data(CandidateModel::CandidateIdRole).toInt();
    m_controller->branch(step, token);
}

} // namespace logitscope::gui
