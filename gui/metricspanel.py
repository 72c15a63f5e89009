"""Live metrics of the running task, computed from the hub's angle buffers.

Which metrics a task shows follows its kind's family in the task registry
(``hipscope.base.tasks``). Single-leg stance: current and peak pelvic drop (positive = free
side lower) and trunk lean from vertical towards the stance side. Repetitions (hinge,
bridge, squat): repetitions and the hip lead of the last one (the hip-drive algorithm on
the task's buffered angles). Walking: running step-time symmetry index. Kinds recorded
without metrics (lunge) show the posture only.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from PySide6 import QtCore, QtWidgets

from hipscope.base import tasks as task_registry
from hipscope.gui.hub import DataHub

log = logging.getLogger(__name__)


@dataclass
class LiveMetric:
    name: str
    value: float | None  # display units
    unit: str


@dataclass
class TaskState:
    kind: str
    side: str
    start_s: float
    peak_drop_rad: float = -math.inf
    extra: dict[str, Any] = field(default_factory=dict)


def drop_sign(side: str) -> float:
    """Pelvic drop from obliquity: left stance drops the right side (obliquity +)."""
    return 1.0 if side == "left" else -1.0


def stance_metrics(hub: DataHub, state: TaskState, now_s: float) -> list[LiveMetric]:
    sign = drop_sign(state.side)
    _time_s, obliquity = hub.angle_window("pelvis_obliquity", state.start_s, now_s)
    drop_now = math.nan
    if obliquity.size:
        drops = sign * obliquity[np.isfinite(obliquity)]
        if drops.size:
            state.peak_drop_rad = max(state.peak_drop_rad, float(drops.max()))
            drop_now = float(drops[-1])
    # trunk lean from world vertical towards the stance side: trunk obliquity > 0 = leaning
    # right (a pelvic drop under an upright trunk is no lean)
    lean = -sign * hub.latest_angle("trunk_obliquity")
    peak = state.peak_drop_rad if math.isfinite(state.peak_drop_rad) else math.nan
    return [
        LiveMetric("pelvic drop", _deg(drop_now), "°"),
        LiveMetric("peak drop", _deg(peak), "°"),
        LiveMetric("trunk lean to stance", _deg(lean), "°"),
        LiveMetric("hold", now_s - state.start_s, "s"),
    ]


def repetition_metrics(hub: DataHub, state: TaskState, now_s: float) -> list[LiveMetric]:
    reps, lead_ms = _hip_drive(hub, state, now_s)
    return [
        LiveMetric("repetitions", None if reps is None else float(reps), ""),
        LiveMetric("hip lead, last rep", lead_ms, "ms"),
        LiveMetric("hip flexion (L/R mean)", _deg(_mean_angle(hub, "hip_flexion")), "°"),
        LiveMetric("trunk on pelvis", _deg(hub.latest_angle("lumbar_flexion")), "°"),
    ]


def gait_metrics(hub: DataHub, state: TaskState, now_s: float) -> list[LiveMetric]:
    left, right = _step_times(hub, state, now_s)
    si = None
    if left is not None and right is not None and left + right > 0:
        si = 100.0 * (left - right) / (0.5 * (left + right))
    return [
        LiveMetric("step time SI", si, "%"),
        LiveMetric("step L", left, "s"),
        LiveMetric("step R", right, "s"),
        LiveMetric("walking", now_s - state.start_s, "s"),
    ]


def static_metrics(
    hub: DataHub, state: TaskState, now_s: float, *, clock: str = "standing"
) -> list[LiveMetric]:
    return [
        LiveMetric("pelvis obliquity", _deg(hub.latest_angle("pelvis_obliquity")), "°"),
        LiveMetric("pelvis tilt", _deg(hub.latest_angle("pelvis_tilt")), "°"),
        LiveMetric("trunk on pelvis", _deg(hub.latest_angle("lumbar_flexion")), "°"),
        LiveMetric(clock, now_s - state.start_s, "s"),
    ]


def recorded_metrics(hub: DataHub, state: TaskState, now_s: float) -> list[LiveMetric]:
    """A kind recorded without metrics: the posture and the time only."""
    return static_metrics(hub, state, now_s, clock="recorded, no metrics")


def compute(hub: DataHub, state: TaskState, now_s: float) -> list[LiveMetric]:
    """The live metrics shown for the running task (by its kind's family)."""
    record = task_registry.find(state.kind)
    family = record.family if record is not None else "recorded"
    if family == "stance":
        return stance_metrics(hub, state, now_s)
    if family == "repetitions":
        return repetition_metrics(hub, state, now_s)
    if family == "gait":
        return gait_metrics(hub, state, now_s)
    if family == "standing":
        return static_metrics(hub, state, now_s)
    return recorded_metrics(hub, state, now_s)


def _mean_angle(hub: DataHub, stem: str) -> float:
    values = [hub.latest_angle(f"{stem}_{side}") for side in ("left", "right")]
    finite = [v for v in values if math.isfinite(v)]
    return sum(finite) / len(finite) if finite else math.nan


def _deg(angle_rad: float | None) -> float | None:
    if angle_rad is None or not math.isfinite(angle_rad):
        return None
    return math.degrees(angle_rad)


def _hip_drive(hub: DataHub, state: TaskState, now_s: float) -> tuple[int | None, float | None]:
    """Repetitions and last hip lead from the hip-drive metric, throttled to 2 Hz."""
    cached = state.extra.get("hip_drive")
    if cached is not None and now_s - cached[0] < 0.5:
        return cached[1], cached[2]
    result: tuple[int | None, float | None] = (None, None)
    try:
        from hipscope.gui.livealgorithms import live_hip_drive

        result = live_hip_drive(hub, state.kind, state.start_s, now_s)
    except Exception as error:  # live metrics are a bonus; never break the redraw
        log.debug("live hip drive failed: %s", error)
    state.extra["hip_drive"] = (now_s, *result)
    return result


def _step_times(hub: DataHub, state: TaskState, now_s: float) -> tuple[float | None, float | None]:
    cached = state.extra.get("gait")
    if cached is not None and now_s - cached[0] < 0.5:
        return cached[1], cached[2]
    result: tuple[float | None, float | None] = (None, None)
    try:
        from hipscope.gui.livealgorithms import live_step_times

        result = live_step_times(hub, state.start_s, now_s)
    except Exception as error:
        log.debug("live step times failed: %s", error)
    state.extra["gait"] = (now_s, *result)
    return result


class MetricsPanel(QtWidgets.QWidget):
    """Big readable numbers for the running task."""

    def __init__(self) -> None:
        super().__init__()
        self.setObjectName("metricsPanel")
        layout = QtWidgets.QVBoxLayout(self)
        layout.setContentsMargins(8, 6, 8, 6)
        self.title = QtWidgets.QLabel("No task running")
        self.title.setObjectName("title")
        layout.addWidget(self.title)
        grid = QtWidgets.QGridLayout()
        grid.setHorizontalSpacing(18)
        layout.addLayout(grid)
        layout.addStretch(1)
        self.names: list[QtWidgets.QLabel] = []
        self.values: list[QtWidgets.QLabel] = []
        for i in range(4):
            name = QtWidgets.QLabel("")
            name.setObjectName("metricName")
            value = QtWidgets.QLabel("")
            value.setObjectName("metricValue")
            value.setAlignment(
                QtCore.Qt.AlignmentFlag.AlignLeft | QtCore.Qt.AlignmentFlag.AlignVCenter
            )
            grid.addWidget(name, (i // 2) * 2, i % 2)
            grid.addWidget(value, (i // 2) * 2 + 1, i % 2)
            self.names.append(name)
            self.values.append(value)
        self.shown: dict[str, float | None] = {}

    def show_metrics(self, title: str, metrics: list[LiveMetric]) -> None:
        self.title.setText(title)
        self.shown = {m.name: m.value for m in metrics}
        for i, (name, value) in enumerate(zip(self.names, self.values, strict=True)):
            if i < len(metrics):
                metric = metrics[i]
                name.setText(metric.name)
                value.setText(_format(metric))
            else:
                name.setText("")
                value.setText("")


def _format(metric: LiveMetric) -> str:
    if metric.value is None or not math.isfinite(metric.value):
        return "--"
    if metric.unit == "":
        return f"{metric.value:.0f}"
    if metric.unit == "ms":
        return f"{metric.value:+.0f} ms"
    if metric.unit == "%":
        return f"{metric.value:+.1f} %"
    if metric.unit == "s":
        return f"{metric.value:.2f} s" if metric.value < 10 else f"{metric.value:.0f} s"
    return f"{metric.value:+.1f}{metric.unit}"
