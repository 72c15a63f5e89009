"""A 2-D segment view: frontal (seen from behind) and sagittal (seen from the right) stick figures.

Drawn from the angles alone (relative to the calibration standing posture), so a standing
athlete is upright and a pelvic drop or trunk lean is visible at a glance.
"""

from __future__ import annotations

import math
from collections.abc import Mapping

import numpy as np
import pyqtgraph as pg
from PySide6 import QtWidgets

from hipscope.gui import theme
from hipscope.gui.plots import make_layout_widget

TRUNK_M = 0.50
PELVIS_HALF_WIDTH_M = 0.16
PELVIS_HEIGHT_M = 0.12
THIGH_M = 0.45
DROP_EXAGGERATION = 1.0


def _nan0(value: float) -> float:
    return 0.0 if not math.isfinite(value) else value


def frontal_points(angles_rad: Mapping[str, float]) -> dict[str, np.ndarray]:
    """Segment end points in the frontal plane seen from behind (x = athlete's right, y = up).

    A positive pelvic obliquity (right side lower) is a clockwise rotation on screen; hip
    adduction swings the knee towards the midline.
    """
    obliquity = _nan0(angles_rad.get("pelvis_obliquity", 0.0))
    trunk = _nan0(
        angles_rad.get("trunk_obliquity", obliquity + angles_rad.get("lumbar_lateral_bend", 0.0))
    )
    add_left = _nan0(angles_rad.get("hip_adduction_left", 0.0))
    add_right = _nan0(angles_rad.get("hip_adduction_right", 0.0))

    def clockwise(vector: tuple[float, float], angle: float) -> np.ndarray:
        c, s = math.cos(angle), math.sin(angle)
        return np.array([vector[0] * c + vector[1] * s, -vector[0] * s + vector[1] * c])

    hip_right = clockwise((PELVIS_HALF_WIDTH_M, 0.0), obliquity)
    hip_left = clockwise((-PELVIS_HALF_WIDTH_M, 0.0), obliquity)
    trunk_tilt = _nan0(angles_rad.get("trunk_tilt", 0.0))
    neck = clockwise((0.0, TRUNK_M * abs(math.cos(trunk_tilt))), trunk)
    # a flexed thigh points partly at the viewer: foreshorten it in this view
    length = {
        side: THIGH_M * abs(math.cos(_nan0(angles_rad.get(f"thigh_sagittal_{side}", 0.0))))
        for side in ("left", "right")
    }
    knee_right = hip_right + clockwise((0.0, -length["right"]), obliquity + add_right)
    knee_left = hip_left + clockwise((0.0, -length["left"]), obliquity - add_left)
    return {
        "pelvis": np.vstack([hip_left, hip_right]),
        "trunk": np.vstack([np.zeros(2), neck]),
        "thigh_left": np.vstack([hip_left, knee_left]),
        "thigh_right": np.vstack([hip_right, knee_right]),
    }


def sagittal_points(angles_rad: Mapping[str, float]) -> dict[str, np.ndarray]:
    """Segment end points in the sagittal plane seen from the right (x = anterior, y = up)."""
    tilt = _nan0(angles_rad.get("pelvis_tilt", 0.0))
    trunk = _nan0(angles_rad.get("trunk_tilt", tilt + angles_rad.get("lumbar_flexion", 0.0)))
    thigh = {}
    for side in ("left", "right"):
        value = angles_rad.get(f"thigh_sagittal_{side}")
        if value is None or not math.isfinite(value):
            # thigh inclination ~ hip flexion minus anterior pelvic tilt
            value = _nan0(angles_rad.get(f"hip_flexion_{side}", 0.0)) - tilt
        thigh[side] = value
    top = np.array([PELVIS_HEIGHT_M * math.sin(tilt), PELVIS_HEIGHT_M * math.cos(tilt)])
    neck = top + np.array([TRUNK_M * math.sin(trunk), TRUNK_M * math.cos(trunk)])
    return {
        "pelvis": np.vstack([np.zeros(2), top]),
        "trunk": np.vstack([top, neck]),
        "thigh_left": np.vstack(
            [np.zeros(2), [THIGH_M * math.sin(thigh["left"]), -THIGH_M * math.cos(thigh["left"])]]
        ),
        "thigh_right": np.vstack(
            [np.zeros(2), [THIGH_M * math.sin(thigh["right"]), -THIGH_M * math.cos(thigh["right"])]]
        ),
    }


_SEGMENT_COLOURS = {
    "pelvis": theme.SERIES[0],
    "trunk": theme.FOREGROUND,
    "thigh_left": theme.LEFT,
    "thigh_right": theme.RIGHT,
}


_ANGLE_KEYS = (
    "pelvis_obliquity",
    "pelvis_tilt",
    "trunk_obliquity",
    "trunk_tilt",
    "hip_adduction_left",
    "hip_adduction_right",
    "thigh_sagittal_left",
    "thigh_sagittal_right",
    "hip_flexion_left",
    "hip_flexion_right",
    "lumbar_flexion",
    "lumbar_lateral_bend",
)


class StickFigure(QtWidgets.QWidget):
    """Frontal and sagittal stick figures with the pelvic drop and trunk lean written beside."""

    def __init__(self) -> None:
        super().__init__()
        self.setObjectName("stickFigure")
        self.view = make_layout_widget(self)
        self.view.setMinimumSize(260, 200)
        layout = QtWidgets.QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.view)
        self.boxes: dict[str, pg.ViewBox] = {}
        self.lines: dict[str, dict[str, pg.PlotCurveItem]] = {}
        self._shown: tuple[float, ...] | None = None
        self.labels: dict[str, pg.TextItem] = {}
        for col, (plane, title) in enumerate(
            (("frontal", "Frontal (from behind)"), ("sagittal", "Sagittal (from right)"))
        ):
            self.view.addLabel(title, row=0, col=col, color=theme.MUTED, size="9pt")
            box = self.view.addViewBox(row=1, col=col, lockAspect=True, enableMouse=False)
            half = 0.45 if plane == "frontal" else 0.62  # room for a deep hinge
            box.setRange(xRange=(-half, half), yRange=(-0.72, 0.6), padding=0.0)
            box.setMenuEnabled(False)
            ground = pg.PlotDataItem([-0.4, 0.4], [-0.48, -0.48], pen=theme.pen(theme.GRID, 1))
            plumb = pg.PlotDataItem(
                [0.0, 0.0],
                [-0.48, 0.58],
                pen=pg.mkPen(theme.GRID, width=1, style=pg.QtCore.Qt.PenStyle.DashLine),
            )
            box.addItem(ground)
            box.addItem(plumb)
            self.boxes[plane] = box
            self.lines[plane] = {}
            for segment, colour in _SEGMENT_COLOURS.items():
                # plain curves, no joint symbols: scatter items cost ~5 ms a frame
                item = pg.PlotCurveItem(
                    pen=pg.mkPen(
                        colour,
                        width=7 if segment == "pelvis" else 5,
                        capStyle=pg.QtCore.Qt.PenCapStyle.RoundCap,
                    ),
                )
                box.addItem(item)
                self.lines[plane][segment] = item
            label = pg.TextItem("", color=theme.FOREGROUND, anchor=(0, 0))
            label.setPos(-half + 0.01, -0.52)
            box.addItem(label)
            self.labels[plane] = label
        self.show_angles({})

    def show_angles(self, angles_rad: Mapping[str, float]) -> None:
        """Redraw when any angle moved by more than ~0.05° since the last drawing."""
        key = tuple(round(float(angles_rad.get(n, np.nan)), 3) for n in _ANGLE_KEYS)
        if key == self._shown:
            return
        self._shown = key
        # no current angles (fusion waiting or a sensor silent): a faded neutral figure
        opacity = 1.0 if angles_rad else 0.25
        for box in self.boxes.values():
            box.setOpacity(opacity)
        for plane, points in (
            ("frontal", frontal_points(angles_rad)),
            ("sagittal", sagittal_points(angles_rad)),
        ):
            for segment, item in self.lines[plane].items():
                item.setData(points[segment][:, 0], points[segment][:, 1])
        obliquity = angles_rad.get("pelvis_obliquity", float("nan"))
        bend = angles_rad.get("lumbar_lateral_bend", float("nan"))
        tilt = angles_rad.get("pelvis_tilt", float("nan"))
        flexion = angles_rad.get("lumbar_flexion", float("nan"))
        self.labels["frontal"].setText(
            f"pelvis {_fmt_deg(obliquity)} (R low +)\ntrunk on pelvis {_fmt_deg(bend)} (R +)"
        )
        self.labels["sagittal"].setText(
            f"pelvis tilt {_fmt_deg(tilt)}\nlumbar flex {_fmt_deg(flexion)}"
        )

    def segment_points(self, plane: str, segment: str) -> np.ndarray:
        """The drawn end points of one segment (for tests)."""
        x, y = self.lines[plane][segment].getData()
        return np.column_stack([x, y])


def _fmt_deg(angle_rad: float) -> str:
    return "--" if not math.isfinite(angle_rad) else f"{math.degrees(angle_rad):+.1f}°"
