"""Scrolling trace plots with fixed axes: cheap to repaint at ~30 Hz.

The x axis is time relative to "now" (the newest sample live, the cursor in replay), so
both axes stay fixed and can be cached as pixmaps; only the curves are repainted.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pyqtgraph as pg
from numpy.typing import NDArray
from PySide6 import QtCore, QtWidgets

from hipscope.gui import theme


@dataclass(frozen=True)
class TraceSpec:
    """One curve: a display label, its colour and the key the data comes from."""

    key: str
    label: str
    colour: str


def _legend_html(title: str, traces: Sequence[TraceSpec], unit: str) -> str:
    parts = [f"<span style='color:{theme.FOREGROUND}'><b>{title}</b></span>"]
    parts += [f"<span style='color:{t.colour}'>&#9632; {t.label}</span>" for t in traces]
    if unit:
        parts.append(f"<span style='color:{theme.MUTED}'>[{unit}]</span>")
    return "&nbsp;&nbsp;".join(parts)


class TracePlot:
    """A PlotItem with fixed ranges, cached axes and one curve per ``TraceSpec``.

    Parameters
    ----------
    plot
        The pyqtgraph PlotItem to fill (created by the owning layout).
    title
        Shown at the top-left with a colour key of the curves.
    traces
        The curves drawn.
    y_range
        Fixed (min, max) in display units (degrees, m/s², deg/s).
    window_s
        Visible time span; x runs from ``-window_s`` to 0 (seconds before now).
    unit
        Display unit label.
    show_x_axis
        Whether the bottom axis (seconds before now) is drawn.
    """

    def __init__(
        self,
        plot: pg.PlotItem,
        title: str,
        traces: Sequence[TraceSpec],
        *,
        y_range: tuple[float, float],
        window_s: float,
        unit: str = "",
        show_x_axis: bool = False,
    ) -> None:
        self.plot = plot
        self.traces = tuple(traces)
        self.window_s = float(window_s)
        plot.setTitle(_legend_html(title, self.traces, unit), size="9pt", justify="left")
        plot.setMenuEnabled(False)
        plot.hideButtons()
        plot.setMouseEnabled(x=False, y=False)
        plot.enableAutoRange(False)
        plot.setXRange(-self.window_s, 0.0, padding=0.0)
        plot.setYRange(*y_range, padding=0.0)
        plot.showGrid(x=False, y=False)
        plot.showAxis("bottom", show_x_axis)
        plot.getAxis("left").setWidth(44)
        plot.addLine(y=0.0, pen=theme.pen(theme.GRID))
        for name in ("left", "bottom"):
            plot.getAxis(name).setCacheMode(QtWidgets.QGraphicsItem.CacheMode.DeviceCoordinateCache)
        # PlotCurveItem directly (not PlotDataItem) with our own min/max decimation to
        # ~2 points per pixel: the path to build and paint stays small at any data rate
        self.curves: dict[str, pg.PlotCurveItem] = {}
        self.points: dict[str, int] = {}
        for trace in self.traces:
            curve = pg.PlotCurveItem(pen=theme.pen(trace.colour, 1.0))
            plot.addItem(curve)
            self.curves[trace.key] = curve
            self.points[trace.key] = 0

    def set_y_range(self, y_range: tuple[float, float]) -> None:
        self.plot.setYRange(*y_range, padding=0.0)

    def set_window(self, window_s: float) -> None:
        self.window_s = float(window_s)
        self.plot.setXRange(-self.window_s, 0.0, padding=0.0)

    def set_curve(self, key: str, time_rel_s: NDArray[np.float64], values: NDArray) -> None:
        """Draw one curve; ``time_rel_s`` is seconds relative to now (<= 0)."""
        curve = self.curves[key]
        self.points[key] = int(time_rel_s.size)
        if time_rel_s.size == 0:
            curve.setData(np.empty(0), np.empty(0))
            return
        width_px = max(int(self.plot.vb.width()), 50)
        x, y = peak_decimate(time_rel_s, np.asarray(values, dtype=np.float64), 2 * width_px)
        finite = bool(np.isfinite(y).all())
        curve.setData(x, y, connect="all" if finite else "finite", skipFiniteCheck=finite)

    def clear(self) -> None:
        for key, curve in self.curves.items():
            curve.setData(np.empty(0), np.empty(0))
            self.points[key] = 0


def peak_decimate(
    x: NDArray[np.float64], y: NDArray[np.float64], max_points: int
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Keep each block's min and max (in time order) so spikes survive; <= max_points."""
    n = x.size
    if n <= max_points or max_points < 4:
        return x, y
    block = int(np.ceil(n / (max_points // 2)))
    m = n // block
    head = n - m * block  # leading rows that do not fill a block are kept as they are
    yb = y[head:].reshape(m, block)
    xb = x[head:].reshape(m, block)
    if np.isnan(yb).any():  # gaps: plain striding keeps the NaN breaks in the line
        return x[::block], y[::block]
    lo_i = yb.argmin(axis=1)
    hi_i = yb.argmax(axis=1)
    first = np.minimum(lo_i, hi_i)
    second = np.maximum(lo_i, hi_i)
    rows = np.arange(m)
    xs = np.column_stack([xb[rows, first], xb[rows, second]]).ravel()
    ys = np.column_stack([yb[rows, first], yb[rows, second]]).ravel()
    return np.concatenate([x[:head], xs]), np.concatenate([y[:head], ys])


def make_layout_widget(parent: QtWidgets.QWidget | None = None) -> pg.GraphicsLayoutWidget:
    """A GraphicsLayoutWidget with the theme background and tight spacing."""
    widget = pg.GraphicsLayoutWidget(parent=parent)
    widget.setBackground(theme.BACKGROUND)
    widget.ci.setContentsMargins(2, 2, 2, 2)
    widget.ci.setSpacing(0)
    widget.setViewportUpdateMode(QtWidgets.QGraphicsView.ViewportUpdateMode.MinimalViewportUpdate)
    widget.setAttribute(QtCore.Qt.WidgetAttribute.WA_OpaquePaintEvent, True)
    return widget
