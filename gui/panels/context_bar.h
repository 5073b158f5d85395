// ContextBar: how much of the model's context window the prompt and the output fill — two coloured
// segments and a caption ("42 prompt + 17 output / 2048 tokens"). Render only.
#pragma once

#include <QWidget>

namespace logitscope::gui {

class ContextBar : public QWidget {
    Q_OBJECT
public:
    explicit ContextBar(QWidget* parent = nullptr);
    void setCounts(int promptTokens, int generatedTokens, int maxNewTokens, int contextLength);
    QSize sizeHint() const override;
    QSize minimumSizeHint() const override;
    QString caption() const;

protected:
    void paintEvent(QPaintEvent* event) override;

private:
    int m_prompt = 0, m_generated = 0, m_maxNew = 0, m_context = 0;
};

} // namespace logitscope::gui
