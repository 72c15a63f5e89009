"""Live metrics of the running task, computed from the hub's angle buffers.

Which metrics a task shows follows its kind's family in the task registry
(``hipscope.base.tasks``). Single-leg stance: current and peak pelvic drop (positive = free
side lower) and trunk lean from vertical towards the stance side. Repetitions (hinge,
bridge, squat): repetitions and the hip lead of the last one (the hip-drive algorithm on
the task's buffered angles). Walking: step-time symmetry index over the last 10 steps.
Kinds recorded without metrics (lunge) show the posture only. The values come from
``gui/cuevalues.py``, which the cue rules read too.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from PySide6 import QtCore, QtWidgets

from hipscope.gui import cuevalues
from hipscope.gui.cuevalues import TaskState, drop_sign
from hipscope.gui.hub import DataHub

__all__ = ["LiveMetric", "MetricsPanel", "TaskState", "compute", "drop_sign"]


@dataclass
class LiveMetric:
    name: str
    value: float | None  # display units
    unit: str


def stance_metrics(hub: DataHub, state: TaskState, now_s: float) -> list[LiveMetric]:
    drop = cuevalues.pelvic_drop(hub, state, now_s)
    lean = cuevalues.trunk_lean(hub, state, now_s)
    peak = state.peak_drop_rad if math.isfinite(state.peak_drop_rad) else math.nan
    return [
        LiveMetric("pelvic drop", _deg(drop.value), "°"),
        LiveMetric("peak drop", _deg(peak), "°"),
        LiveMetric("trunk lean to stance", _deg(lean.value), "°"),
        LiveMetric("hold", now_s - state.start_s, "s"),
    ]


def repetition_metrics(hub: DataHub, state: TaskState, now_s: float) -> list[LiveMetric]:
    drive = cuevalues.hip_drive(hub, state, now_s)
    reps = drive.rep_count
    return [
        LiveMetric("repetitions", None if reps is None else float(reps), ""),
        LiveMetric("hip lead, last rep", drive.last_lead_ms, "ms"),
        LiveMetric("hip flexion (L/R mean)", _deg(_mean_angle(hub, "hip_flexion")), "°"),
        LiveMetric("trunk on pelvis", _deg(hub.latest_angle("lumbar_flexion")), "°"),
    ]


def gait_metrics(hub: DataHub, state: TaskState, now_s: float) -> list[LiveMetric]:
    walk = cuevalues.steps(hub, state, now_s)
    return [
        LiveMetric("step time SI", walk.si_pct, "%"),  # over the last SI_LAST_STEPS steps
        LiveMetric("step L", walk.left_s, "s"),
        LiveMetric("step R", walk.right_s, "s"),
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
    family = state.family
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
