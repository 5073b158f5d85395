// Legends above the plot (see plot_legend.h).
#include "panels/plot_legend.h"

#include <qcustomplot.h>

namespace logitscope::gui {

void placeLegendAbove(QCustomPlot* plot, int columns)
{
    QCPLegend* legend = plot->legend;
    legend->setVisible(true);
    if (legend->layout() == plot->plotLayout())
        return; // already placed
    plot->axisRect()->insetLayout()->take(legend);
    plot->plotLayout()->insertRow(0);
    plot->plotLayout()->addElement(0, 0, legend);
    plot->plotLayout()->setRowStretchFactor(0, 0.001); // as tall as its entries, the axis rect takes the rest
    legend->setFillOrder(QCPLayoutGrid::foColumnsFirst);
    legend->setWrap(columns);
    legend->setMargins(QMargins(4, 2, 4, 2));
    legend->setBorderPen(Qt::NoPen);
    legend->setBrush(Qt::NoBrush);
}

} // namespace logitscope::gui
