// EmbeddingPanel: a token's input embedding — its row as a heat strip (one cell per dimension), its
// norm, and its 10 nearest neighbours by cosine similarity; for tied-embedding models a note that the
// same matrix is the output head; for gpt2 the learned position row that is added at its position.
// Clicking a token chip (prompt or generated) or typing a word selects it. Renders EmbeddingService
// answers only; the index and every query run off the UI thread.
#pragma once

#include <QVector>
#include <QWidget>

class QLabel;
class QLineEdit;
class QTableView;

namespace logitscope::gui {

class EmbeddingService;
class InferenceController;
class NeighbourModel;
class TokenChipView;
struct EmbeddingSnapshot;

// One vector as a strip of coloured cells (blue negative, white zero, red positive), wrapped in rows.
class HeatStrip : public QWidget {
    Q_OBJECT
public:
    explicit HeatStrip(QWidget* parent = nullptr);
    void setValues(const QVector<float>& values);
    const QVector<float>& values() const { return m_values; }
    QSize sizeHint() const override;
    QSize minimumSizeHint() const override { return {120, 24}; }

protected:
    void paintEvent(QPaintEvent* event) override;
    void mouseMoveEvent(QMouseEvent* event) override;

private:
    int cellAt(const QPoint& pos) const;
    QVector<float> m_values;
    float m_scale = 1;
};

class EmbeddingPanel : public QWidget {
    Q_OBJECT
public:
    explicit EmbeddingPanel(InferenceController* controller, QWidget* parent = nullptr);

    EmbeddingService* service() const { return m_service; }
    NeighbourModel* neighbours() const { return m_neighbours; }
    void followChips(TokenChipView* prompt, TokenChipView* generated);
    // Shows token `id` (at context position `position`, -1 if none).
    void selectToken(int id, int position = -1);
    int selectedToken() const { return m_id; }
    QString infoText() const;
    QLineEdit* searchBox() const { return m_search; }

private:
    void showSnapshot(const EmbeddingSnapshot& snapshot);
    void lookupText();

    InferenceController* m_controller;
    EmbeddingService* m_service;
    NeighbourModel* m_neighbours;
    QLineEdit* m_search;
    QLabel* m_info;
    HeatStrip* m_row;
    QLabel* m_positionTitle;
    HeatStrip* m_position;
    QTableView* m_table;
    int m_id = -1;
    // A typed word the tokenizer splits: which piece is shown and what the others are.
    int m_piecesOf = -1;      // the id the note belongs to
    QString m_piecesNote;
};

} // namespace logitscope::gui
