// Plot export.
#include "panels/plot_export.h"

#include <QFileDialog>
#include <QMenu>
#include <QMessageBox>

#include <qcustomplot.h>

namespace logitscope::gui {

bool savePlot(QCustomPlot* plot, const QString& path, QString* error)
{
    const int w = std::max(plot->width(), 640), h = std::max(plot->height(), 360);
    const bool ok = path.endsWith(QLatin1String(".pdf"), Qt::CaseInsensitive) ? plot->savePdf(path, w, h)
                                                                                : plot->savePng(path, w, h, 2.0);
    if (!ok && error)
        *error = QObject::tr("Could not write %1.").arg(path);
    return ok;
}

void enablePlotExport(QCustomPlot* plot, const QString& name)
{
    plot->setContextMenuPolicy(Qt::CustomContextMenu);
    QObject::connect(plot, &QWidget::customContextMenuRequested, plot, [plot, name](const QPoint& pos) {
        QMenu menu(plot);
        const auto ask = [plot, name](const QString& suffix, const QString& filter) {
            const QString path = QFileDialog::getSaveFileName(plot, QObject::tr("Save plot"), name + suffix, filter);
            if (path.isEmpty())
                return;
            QString error;
            if (!savePlot(plot, path, &error))
                QMessageBox::warning(plot, QObject::tr("Save plot"), error);
        };
        menu.addAction(QObject::tr("Save plot as PNG…"), plot, [ask] { ask(QStringLiteral(".png"), QObject::tr("PNG image (*.png)")); });
        menu.addAction(QObject::tr("Save plot as PDF…"), plot, [ask] { ask(QStringLiteral(".pdf"), QObject::tr("PDF document (*.pdf)")); });
        menu.exec(plot->mapToGlobal(pos));
    });
}

} // namespace logitscope::gui
