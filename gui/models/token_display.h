// How a token's bytes are written on screen: visible whitespace, hex for bytes that are not (yet)
// a whole UTF-8 character, and the probability colour scale shared by chips, bars and legends.
// Pure functions; no widgets and no engine calls.
#pragma once

#include <QByteArray>
#include <QColor>
#include <QString>

namespace logitscope::gui {

// True when the bytes decode as UTF-8 with no partial or invalid sequence.
bool isCompleteUtf8(const QByteArray& bytes);
// "E2 80" style hex.
QString hexBytes(const QByteArray& bytes);
// Short label for a chip or an axis tick: text with visible whitespace (· for space, ↵ newline,
// → tab), or ‹E2 80› when the bytes are only part of a character. Empty bytes read as ∅.
QString tokenLabel(const QByteArray& bytes, int maxChars = 16);
// A tooltip that teaches: id, piece, the bytes in hex and whether they form a whole character.
QString tokenTooltip(int id, const QByteArray& bytes, const QString& piece);
// Plain text (token text included) as rich text that shows exactly those characters: a tooltip or label
// that Qt would otherwise guess is HTML ("<s>" starts a strike-through) shows "<s>".
QString plainToRich(const QString& text);

// A probability as a percentage a reader can compare: "31.2 %", "0.47 %", "0.0023 %" (two significant
// digits below 1 %), "4.7e-08 %" below 0.0001 %.
QString probabilityText(double p);

// Colour for a probability in [0, 1] (a perceptual scale from purple, unlikely, to yellow, likely)
// and a readable text colour on top of it.
QColor probabilityColor(double p);
QColor textColorOn(const QColor& background);

} // namespace logitscope::gui
