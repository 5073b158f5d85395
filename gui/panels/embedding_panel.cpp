// The embedding view.
#include "panels/embedding_panel.h"

#include "models/embedding_model.h"
#include "models/generated_tokens_model.h"
#include "models/inference_controller.h"
#include "models/prompt_tokens_model.h"
#include "models/token_display.h"
#include "models/token_roles.h"
#include "panels/token_chip_view.h"

#include "model/model.h"

#include <QHBoxLayout>
#include <QHeaderView>
#include <QLabel>
#include <QLineEdit>
#include <QMouseEvent>
#include <QPainter>
#include <QTableView>
#include <QToolTip>
#include <QVBoxLayout>

#include <algorithm>
#include <cmath>

namespace logitscope::gui {

namespace {
constexpr int kCell = 6, kStripRows = 4;
}

// ---- HeatStrip ---------------------------------------------------------------

HeatStrip::HeatStrip(QWidget* parent) : QWidget(parent)
{
    setMouseTracking(true);
    setSizePolicy(QSizePolicy::Expanding, QSizePolicy::Fixed);
}

void HeatStrip::setValues(const QVector<float>& values)
{
    m_values = values;
    // Robust colour scale: the 98th percentile of |x| maps to full colour (a few huge dims do not wash it out).
    QVector<float> mags;
    mags.reserve(values.size());
    for (float v : values)
        mags << std::fabs(v);
    std::sort(mags.begin(), mags.end());
    m_scale = mags.isEmpty() ? 1.0f : std::max(1e-6f, mags[std::min<qsizetype>(mags.size() - 1, qsizetype(mags.size() * 0.98))]);
    updateGeometry();
    update();
}

QSize HeatStrip::sizeHint() const
{
    return {400, kCell * kStripRows + 2};
}

int HeatStrip::cellAt(const QPoint& pos) const
{
    if (m_values.isEmpty())
        return -1;
    const int perRow = int((m_values.size() + kStripRows - 1) / kStripRows);
    const double w = double(width()) / std::max(1, perRow);
    const int col = int(pos.x() / w), row = pos.y() / kCell;
    const int i = row * perRow + col;
    return i >= 0 && i < m_values.size() && col < perRow ? i : -1;
}

void HeatStrip::paintEvent(QPaintEvent*)
{
    QPainter p(this);
    p.fillRect(rect(), palette().base());
    if (m_values.isEmpty())
        return;
    const int perRow = int((m_values.size() + kStripRows - 1) / kStripRows);
    const double w = double(width()) / std::max(1, perRow);
    for (int i = 0; i < m_values.size(); ++i) {
        const double t = std::clamp(double(m_values[i]) / m_scale, -1.0, 1.0);
        const int a = int(255 * (1 - std::fabs(t)));
        const QColor c = t >= 0 ? QColor(255, a, a) : QColor(a, a, 255);
        const int row = i / perRow, col = i % perRow;
        p.fillRect(QRectF(col * w, row * kCell, std::ceil(w), kCell), c);
    }
}

void HeatStrip::mouseMoveEvent(QMouseEvent* event)
{
    const int i = cellAt(event->pos());
    if (i >= 0)
        QToolTip::showText(event->globalPosition().toPoint(), tr("dimension %1: %2").arg(i).arg(m_values[i], 0, 'g', 4), this);
}

// ---- EmbeddingPanel ------------------------------------------------------------

EmbeddingPanel::EmbeddingPanel(InferenceController* controller, QWidget* parent)
    : QWidget(parent), m_controller(controller), m_service(new EmbeddingService(this)), m_neighbours(new NeighbourModel(this))
{
    auto* layout = new QVBoxLayout(this);
    auto* top = new QHBoxLayout;
    top->addWidget(new QLabel(tr("Token"), this));
    m_search = new QLineEdit(this);
    m_search->setPlaceholderText(tr("type a word, or click a token chip"));
    m_search->setToolTip(tr("The first token of what you type is shown (press Enter). A number is taken as a token id."));
    top->addWidget(m_search, 1);
    layout->addLayout(top);

    m_info = new QLabel(this);
    m_info->setWordWrap(true);
    m_info->setTextFormat(Qt::RichText);
    layout->addWidget(m_info);
    auto* rowTitle = new QLabel(tr("Its embedding row (blue negative, red positive; hover for values):"), this);
    layout->addWidget(rowTitle);
    m_row = new HeatStrip(this);
    layout->addWidget(m_row);
    m_positionTitle = new QLabel(this);
    m_positionTitle->setWordWrap(true);
    layout->addWidget(m_positionTitle);
    m_position = new HeatStrip(this);
    layout->addWidget(m_position);
    layout->addWidget(new QLabel(tr("Nearest tokens by cosine similarity of their rows:"), this));
    m_table = new QTableView(this);
    m_table->setModel(m_neighbours);
    m_table->setEditTriggers(QAbstractItemView::NoEditTriggers);
    m_table->setSelectionBehavior(QAbstractItemView::SelectRows);
    m_table->horizontalHeader()->setSectionResizeMode(NeighbourModel::TokenColumn, QHeaderView::Stretch);
    m_table->verticalHeader()->hide();
    layout->addWidget(m_table, 1);
    m_positionTitle->hide();
    m_position->hide();
    m_info->setText(tr("Click a token chip in the prompt or the output to see how the model represents it."));

    connect(m_service, &EmbeddingService::embeddingAvailable, this, &EmbeddingPanel::showSnapshot);
    connect(m_search, &QLineEdit::returnPressed, this, &EmbeddingPanel::lookupText);
    connect(m_table, &QTableView::doubleClicked, this, [this](const QModelIndex& index) {
        selectToken(index.data(TokenIdRole).toInt());
    });
    connect(controller, &InferenceController::modelLoadFinished, this, [this] {
        m_service->setModel(m_controller->vocabulary().model());
        m_id = -1;
        m_neighbours->setSnapshot({});
        m_row->setValues({});
        m_info->setText(tr("Click a token chip in the prompt or the output to see how the model represents it."));
    });
    if (controller->hasModel())
        m_service->setModel(controller->vocabulary().model());
}

void EmbeddingPanel::followChips(TokenChipView* prompt, TokenChipView* generated)
{
    if (prompt)
        connect(prompt, &TokenChipView::rowClicked, this, [this](int row) {
            const auto& tokens = m_controller->promptTokens()->tokens();
            if (row >= 0 && row < tokens.size())
                selectToken(tokens[row].id, row);
        });
    if (generated)
        connect(generated, &TokenChipView::rowClicked, this, [this](int row) {
            auto* g = m_controller->generatedTokens();
            if (row >= 0 && row < g->rowCount())
                selectToken(g->record(row).chosen, g->record(row).position);
        });
}

void EmbeddingPanel::selectToken(int id, int position)
{
    m_id = id;
    m_service->request(id, position);
    if (!m_service->ready())
        m_info->setText(tr("Reading the embedding matrix (once per model)…"));
}

void EmbeddingPanel::lookupText()
{
    const QString text = m_search->text();
    bool number = false;
    const int id = text.trimmed().toInt(&number);
    if (number) {
        m_piecesOf = -1;
        selectToken(id);
        return;
    }
    const auto model = m_controller->vocabulary().model();
    if (!model || text.isEmpty())
        return;
    logitscope::EncodeOptions options;
    options.addSpecial = false;
    const auto ids = model->tokenizer().encode(text.toStdString(), options);
    if (ids.empty())
        return;
    m_piecesOf = -1;
    m_piecesNote.clear();
    if (ids.size() > 1) {
        // A word the vocabulary has no single token for: say so, and list the pieces (type an id to see one).
        QStringList pieces;
        for (int32_t piece : ids)
            pieces << tr("“%1” (id %2)").arg(tokenLabel(m_controller->vocabulary().bytes(piece)).toHtmlEscaped()).arg(piece);
        m_piecesOf = ids.front();
        m_piecesNote = tr("<br><i>“%1” is not one token: the tokenizer splits it into %2 pieces — %3. This is the "
                          "first; type another piece's id to see it.</i>")
                           .arg(text.toHtmlEscaped())
                           .arg(ids.size())
                           .arg(pieces.join(QStringLiteral(" · ")));
    }
    selectToken(ids.front());
}

QString EmbeddingPanel::infoText() const
{
    return m_info->text();
}

void EmbeddingPanel::showSnapshot(const EmbeddingSnapshot& s)
{
    if (!s.valid()) {
        m_info->setText(tr("Token %1: %2").arg(s.id).arg(s.error.toHtmlEscaped()));
        return;
    }
    m_neighbours->setSnapshot(s);
    m_row->setValues(s.row);
    QString html = tr("<b>“%1”</b> (id %2%3): %4 dimensions, norm <b>%5</b>.")
                       .arg(s.label.toHtmlEscaped())
                       .arg(s.id)
                       .arg(s.position >= 0 ? tr(", position %1").arg(s.position) : QString())
                       .arg(s.row.size())
                       .arg(s.norm, 0, 'f', 3);
    if (s.tiedToHead)
        html += tr(" Tied embeddings: this same matrix is the output head, so this row is also what the last "
                   "layer's output is compared with to score “%1” as the next token.").arg(s.label.toHtmlEscaped());
    if (s.id == m_piecesOf)
        html += m_piecesNote;
    m_info->setText(html);
    const bool pos = s.hasPositions && !s.positionRow.isEmpty();
    if (pos) {
        m_position->setValues(s.positionRow);
        m_positionTitle->setText(tr("Learned position embedding added at position %1 (norm %2; token row norm %3) — "
                                    "the first layer reads their sum.")
                                     .arg(s.position)
                                     .arg(s.positionNorm, 0, 'f', 3)
                                     .arg(s.norm, 0, 'f', 3));
    } else if (s.hasPositions) {
        m_positionTitle->setText(tr("This model adds a learned position embedding: pick a token chip to see the one at its position."));
    }
    m_positionTitle->setVisible(s.hasPositions);
    m_position->setVisible(pos);
}

} // namespace logitscope::gui
