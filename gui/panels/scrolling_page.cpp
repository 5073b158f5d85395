// scrollingPage and wrappingScroll: see scrolling_page.h.
#include "panels/scrolling_page.h"

#include <QScrollArea>
#include <QVBoxLayout>

namespace logitscope::gui {

QWidget* scrollingPage(QWidget* panel)
{
    auto* outer = new QVBoxLayout(panel);
    outer->setContentsMargins(0, 0, 0, 0);
    auto* scroll = new QScrollArea(panel);
    scroll->setWidgetResizable(true);
    scroll->setFrameShape(QFrame::NoFrame);
    scroll->setHorizontalScrollBarPolicy(Qt::ScrollBarAlwaysOff);
    auto* page = new QWidget(scroll);
    scroll->setWidget(page);
    outer->addWidget(scroll);
    return page;
}

QScrollArea* wrappingScroll(QWidget* content, QWidget* parent)
{
    auto* scroll = new QScrollArea(parent);
    scroll->setWidget(content);
    scroll->setWidgetResizable(true);
    scroll->setHorizontalScrollBarPolicy(Qt::ScrollBarAlwaysOff);
    scroll->setFrameShape(QFrame::StyledPanel);
    return scroll;
}

} // namespace logitscope::gui
