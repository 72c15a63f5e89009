"""The trace panels shared by live and replay: raw sensor signals and coaching angles."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from numpy.typing import NDArray
from PySide6 import QtWidgets

from hipscope.base import tasks as task_registry
from hipscope.gui import theme
from hipscope.gui.hub import DataHub
from hipscope.gui.plots import TracePlot, TraceSpec, make_layout_widget

WINDOW_S = 10.0
ACC_RANGE_M_S2 = (-20.0, 30.0)
GYR_RANGE_DEG_S = (-400.0, 400.0)

_XYZ = tuple(
    TraceSpec(key=axis, label=axis, colour=colour)
    for axis, colour in zip("xyz", theme.AXIS_COLOURS, strict=True)
)

# (title, unit, y range in degrees, [(angle name, label, colour)])
ANGLE_PLOTS: tuple[tuple[str, tuple[float, float], tuple[TraceSpec, ...]], ...] = (
    (
        "Pelvis",
        (-20.0, 20.0),
        (
            TraceSpec("pelvis_obliquity", "obliquity (R low +)", theme.SERIES[0]),
            TraceSpec("pelvis_tilt", "tilt (ant +)", theme.SERIES[1]),
        ),
    ),
    (
        "Hip flexion",
        (-30.0, 110.0),
        (
            TraceSpec("hip_flexion_left", "left", theme.LEFT),
            TraceSpec("hip_flexion_right", "right", theme.RIGHT),
        ),
    ),
    (
        "Trunk on pelvis",
        (-30.0, 70.0),
        (
            TraceSpec("lumbar_flexion", "flexion", theme.SERIES[2]),
            TraceSpec("lumbar_lateral_bend", "lean R +", theme.SERIES[3]),
        ),
    ),
)

DEFAULT_ANGLE_RANGES = tuple(y_range for _, y_range, _ in ANGLE_PLOTS)
_BENDING = ((-30.0, 70.0), (-30.0, 110.0), (-30.0, 70.0))


def task_angle_ranges(kind: str) -> tuple[tuple[float, float], ...]:
    """Y ranges of the angle plots for a task kind (wide for bending kinds)."""
    record = task_registry.find(kind)
    return _BENDING if record is not None and record.bending else DEFAULT_ANGLE_RANGES


PLACEMENT_TITLES = {
    "pelvis": "Pelvis",
    "trunk": "Trunk",
    "thigh_left": "Thigh L",
    "thigh_right": "Thigh R",
    "shank_left": "Shank L",
    "shank_right": "Shank R",
    "foot_left": "Foot L",
    "foot_right": "Foot R",
}


def break_gaps(
    time_s: NDArray[np.float64], values: NDArray[np.float32], max_gap_s: float
) -> tuple[NDArray[np.float64], NDArray[np.float32]]:
    """Insert a NaN row inside every gap longer than ``max_gap_s`` so no line bridges it."""
    if time_s.size < 2:
        return time_s, values
    gaps = np.flatnonzero(np.diff(time_s) > max_gap_s)
    if gaps.size == 0:
        return time_s, values
    at = gaps + 1
    mid = 0.5 * (time_s[gaps] + time_s[at])
    nan_rows = np.full((gaps.size, values.shape[1]), np.nan, dtype=values.dtype)
    return np.insert(time_s, at, mid), np.insert(values, at, nan_rows, axis=0)


class SensorTraces(QtWidgets.QWidget):
    """Accelerometer and gyroscope traces, one row per sensor (one graphics view for all)."""

    def __init__(self, placements: Sequence[str], window_s: float = WINDOW_S) -> None:
        super().__init__()
        self.setObjectName("sensorTraces")
        self.placements = tuple(placements)
        self.view = make_layout_widget(self)
        layout = QtWidgets.QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.view)
        self.acc: dict[str, TracePlot] = {}
        self.gyr: dict[str, TracePlot] = {}
        for row, placement in enumerate(self.placements):
            last = row == len(self.placements) - 1
            title = PLACEMENT_TITLES.get(placement, placement)
            self.acc[placement] = TracePlot(
                self.view.addPlot(row=row, col=0),
                f"{title} acc",
                _XYZ,
                y_range=ACC_RANGE_M_S2,
                window_s=window_s,
                unit="m/s²",
                show_x_axis=last,
            )
            self.gyr[placement] = TracePlot(
                self.view.addPlot(row=row, col=1),
                f"{title} gyro",
                _XYZ,
                y_range=GYR_RANGE_DEG_S,
                window_s=window_s,
                unit="deg/s",
                show_x_axis=last,
            )

    def redraw(self, hub: DataHub, now_s: float) -> None:
        max_gap_s = 5.0 / hub.rate_hz
        for placement in self.placements:
            window = self.acc[placement].window_s
            time_s, values = hub.raw_window(placement, now_s - window, now_s)
            time_s, values = break_gaps(time_s, values, max_gap_s)
            rel = time_s - now_s
            for i, axis in enumerate("xyz"):
                self.acc[placement].set_curve(axis, rel, values[:, i])
                self.gyr[placement].set_curve(axis, rel, np.rad2deg(values[:, 3 + i]))

    def curve_points(self, placement: str) -> int:
        """Points currently held by the acc x curve (for tests)."""
        return self.acc[placement].points["x"]


class AngleTraces(QtWidgets.QWidget):
    """Pelvis obliquity and tilt, hip flexion left/right, trunk relative to pelvis (degrees)."""

    def __init__(self, window_s: float = WINDOW_S) -> None:
        super().__init__()
        self.setObjectName("angleTraces")
        self.view = make_layout_widget(self)
        layout = QtWidgets.QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.view)
        self.plots: list[TracePlot] = []
        self.ranges = DEFAULT_ANGLE_RANGES
        for row, (title, y_range, traces) in enumerate(ANGLE_PLOTS):
            self.plots.append(
                TracePlot(
                    self.view.addPlot(row=row, col=0),
                    title,
                    traces,
                    y_range=y_range,
                    window_s=window_s,
                    unit="deg",
                    show_x_axis=row == len(ANGLE_PLOTS) - 1,
                )
            )

    def set_task(self, kind: str) -> None:
        """Fixed Y ranges per task: hinges need room for large tilts, stance for small drops."""
        ranges = task_angle_ranges(kind)
        if ranges == self.ranges:
            return
        self.ranges = ranges
        for plot, y_range in zip(self.plots, ranges, strict=True):
            plot.set_y_range(y_range)

    def redraw(self, hub: DataHub, now_s: float) -> None:
        for plot in self.plots:
            for trace in plot.traces:
                time_s, values = hub.angle_window(trace.key, now_s - plot.window_s, now_s)
                plot.set_curve(trace.key, time_s - now_s, np.rad2deg(values))

    def curve_points(self, key: str) -> int:
        for plot in self.plots:
            if key in plot.curves:
                return plot.points[key]
        raise KeyError(key)
