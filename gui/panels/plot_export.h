// Saving any plot as PNG or PDF (QCustomPlot::savePng / savePdf): a right-click menu on the plot and a
// function the window's File → Export menu and the tests call. Nothing else.
#pragma once

#include <QString>

class QCustomPlot;

namespace logitscope::gui {

// By the file's suffix: .pdf → vector PDF, anything else → PNG. False (and *error) when writing failed.
bool savePlot(QCustomPlot* plot, const QString& path, QString* error = nullptr);
// Adds "Save plot as PNG… / PDF…" to the plot's context menu; `name` is the suggested file name.
void enablePlotExport(QCustomPlot* plot, const QString& name);

} // namespace logitscope::gui
