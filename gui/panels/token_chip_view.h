// TokenChipView: draws the rows of a token list model (prompt or generated tokens) as coloured chips
// that flow like text, with the model's tooltip on hover and a click signal. It lays out new rows
// incrementally and paints only what is exposed, so thousands of tokens stay cheap.
// It only renders; it never tokenizes or talks to the engine.
#pragma once

#include <QAbstractItemModel>
#include <QPointer>
#include <QWidget>

#include <vector>

namespace logitscope::gui {

class TokenChipView : public QWidget {
    Q_OBJECT
public:
    explicit TokenChipView(QWidget* parent = nullptr);

    void setModel(QAbstractItemModel* model);
    QAbstractItemModel* model() const { return m_model; }
    // Byte view: every chip shows its bytes in hex (partial UTF-8 characters are always shown so).
    void setByteView(bool on);
    bool byteView() const { return m_byteView; }
    void setSelectedRow(int row);  // -1 for none
    int selectedRow() const { return m_selected; }
    void setPlaceholder(const QString& text);
    int rowAt(const QPoint& pos) const;
    QRect chipRect(int row) const;

    QSize sizeHint() const override;
    bool hasHeightForWidth() const override { return true; }
    int heightForWidth(int width) const override;

signals:
    void rowClicked(int row);
    void contentHeightChanged(int height);

protected:
    void paintEvent(QPaintEvent* event) override;
    void resizeEvent(QResizeEvent* event) override;
    void mousePressEvent(QMouseEvent* event) override;
    bool event(QEvent* event) override;
    void changeEvent(QEvent* event) override;

private:
    struct Chip {
        QRect rect;
        QString label;
        QColor background, foreground;
        bool partial = false;
        bool forced = false;
        bool lineBreakAfter = false;
    };
    Chip makeChip(int row) const;
    void rebuild();
    void appendRows(int first, int last);
    void layoutFrom(int first);
    void updateHeight();

    QPointer<QAbstractItemModel> m_model;
    std::vector<Chip> m_chips;
    QString m_placeholder;
    bool m_byteView = false;
    int m_selected = -1;
    int m_contentHeight = 0;
    int m_layoutWidth = 0;
};

} // namespace logitscope::gui
