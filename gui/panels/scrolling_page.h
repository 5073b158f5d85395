// Scroll areas the panels share: a whole panel that scrolls vertically when its dock is short, and a
// framed strip of token chips that wraps instead of scrolling sideways.
#pragma once

class QScrollArea;
class QWidget;

namespace logitscope::gui {

// Fills `panel` with a frameless, vertically scrolling area and returns the page to lay out inside it.
QWidget* scrollingPage(QWidget* panel);

// A framed scroll area around `content` (e.g. a TokenChipView), resized with it, never scrolling sideways.
QScrollArea* wrappingScroll(QWidget* content, QWidget* parent);

} // namespace logitscope::gui
