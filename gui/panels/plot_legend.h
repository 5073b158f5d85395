// Where the plots put their legends: in a row of their own above the axis rect, wrapped into columns,
// so a legend never covers bars, points or lines. Only the placement; each panel still names its series.
#pragma once

class QCustomPlot;

namespace logitscope::gui {

// Shows the legend and moves it out of the axis rect's inset into a row above the plot, `columns` wide.
void placeLegendAbove(QCustomPlot* plot, int columns);

} // namespace logitscope::gui
