"""The window both live and replay build on: trace panels, stick figure, task metrics, redraw timer.

Subclasses supply ``current_time_s`` (newest sample live, cursor in replay), the running
task and per-tick work; the base redraws every ``REDRAW_MS`` from the hub's ring buffers.
The layout (docks, geometry) is remembered in QSettings under the window's ``settings_key``.
"""

from __future__ import annotations

import math
import time
from collections.abc import Sequence
from pathlib import Path

from PySide6 import QtCore, QtGui, QtWidgets

from hipscope.base import tasks as task_registry
from hipscope.gui import metricspanel
from hipscope.gui.hub import DISPLAY_ANGLES, DataHub
from hipscope.gui.metricspanel import MetricsPanel, TaskState
from hipscope.gui.panels import AngleTraces, SensorTraces
from hipscope.gui.stickfigure import StickFigure

REDRAW_MS = 33


def task_title(kind: str, side: str) -> str:
    """The task's one title (from the task registry), with the side."""
    return task_registry.title(kind, side)


class MonitorWindow(QtWidgets.QMainWindow):
    """Traces, segment view and task metrics fed by one DataHub, redrawn on a QTimer."""

    settings_key = "monitor"

    def __init__(self, hub: DataHub, *, title: str) -> None:
        super().__init__()
        self.hub = hub
        self.setWindowTitle(title)
        self.resize(1600, 960)
        self.setDockNestingEnabled(True)
        self.angle_traces = AngleTraces()
        self.sensor_traces = SensorTraces(hub.placements)
        self.stick = StickFigure()
        self.metrics = MetricsPanel()
        self.setCentralWidget(self.angle_traces)
        self.sensor_dock = self._dock(
            "Sensors", self.sensor_traces, QtCore.Qt.DockWidgetArea.LeftDockWidgetArea
        )
        self.stick_dock = self._dock(
            "Segments", self.stick, QtCore.Qt.DockWidgetArea.RightDockWidgetArea
        )
        self.metrics_dock = self._dock(
            "Task", self.metrics, QtCore.Qt.DockWidgetArea.RightDockWidgetArea
        )
        self.resizeDocks([self.sensor_dock], [620], QtCore.Qt.Orientation.Horizontal)
        self.resizeDocks([self.stick_dock], [420], QtCore.Qt.Orientation.Horizontal)
        self.resizeDocks(
            [self.stick_dock, self.metrics_dock], [520, 300], QtCore.Qt.Orientation.Vertical
        )
        self.task_state: TaskState | None = None
        self.remember_layout = True  # off for screenshots: a fixed, reproducible layout
        self.frames = 0
        self.frame_cpu_s = 0.0
        self._timer = QtCore.QTimer(self)
        self._timer.setTimerType(QtCore.Qt.TimerType.PreciseTimer)
        self._timer.timeout.connect(self._on_timer)
        self.status = self.statusBar()
        self.add_shortcut("F1", self.show_shortcuts, "Keyboard shortcuts")
        self.status.showMessage("F1: keyboard shortcuts")

    # -- layout ---------------------------------------------------------------------------
    def _dock(
        self, title: str, widget: QtWidgets.QWidget, area: QtCore.Qt.DockWidgetArea
    ) -> QtWidgets.QDockWidget:
        dock = QtWidgets.QDockWidget(title, self)
        dock.setObjectName(f"dock_{title.lower()}")
        dock.setWidget(widget)
        dock.setFeatures(
            QtWidgets.QDockWidget.DockWidgetFeature.DockWidgetMovable
            | QtWidgets.QDockWidget.DockWidgetFeature.DockWidgetFloatable
            | QtWidgets.QDockWidget.DockWidgetFeature.DockWidgetClosable
        )
        self.addDockWidget(area, dock)
        return dock

    def settings(self) -> QtCore.QSettings:
        return QtCore.QSettings("hipscope", "hipscope")

    def restore_layout(self) -> None:
        if not self.remember_layout:
            return
        settings = self.settings()
        geometry = settings.value(f"{self.settings_key}/geometry")
        state = settings.value(f"{self.settings_key}/state")
        if isinstance(geometry, QtCore.QByteArray):
            self.restoreGeometry(geometry)
        if isinstance(state, QtCore.QByteArray):
            self.restoreState(state)

    def save_layout(self) -> None:
        if not self.remember_layout:
            return
        settings = self.settings()
        settings.setValue(f"{self.settings_key}/geometry", self.saveGeometry())
        settings.setValue(f"{self.settings_key}/state", self.saveState())
        settings.sync()

    def add_shortcut(
        self, keys: str | QtGui.QKeySequence, slot: object, text: str = ""
    ) -> QtGui.QAction:
        action = QtGui.QAction(text or str(keys), self)
        action.setShortcut(QtGui.QKeySequence(keys))
        action.setShortcutContext(QtCore.Qt.ShortcutContext.WindowShortcut)
        action.triggered.connect(slot)
        self.addAction(action)
        return action

    def shortcut_lines(self) -> list[str]:
        return [
            f"{action.shortcut().toString():>8}   {action.text()}"
            for action in self.actions()
            if not action.shortcut().isEmpty()
        ]

    def show_shortcuts(self) -> None:
        box = QtWidgets.QMessageBox(self)
        box.setWindowTitle("Keyboard shortcuts")
        box.setText("<pre>" + "\n".join(self.shortcut_lines()) + "</pre>")
        box.open()

    # -- redraw ---------------------------------------------------------------------------
    def start_redraw(self) -> None:
        self._timer.start(REDRAW_MS)

    def stop_redraw(self) -> None:
        self._timer.stop()

    def current_time_s(self) -> float:
        return self.hub.now_s()

    def before_redraw(self) -> None:
        """Per-tick work of the subclass (advance replay, poll acquisition status)."""

    def _on_timer(self) -> None:
        start = time.process_time()
        try:
            self.before_redraw()
            self.redraw()
        finally:
            self.frames += 1
            self.frame_cpu_s += time.process_time() - start

    def redraw(self) -> None:
        self.hub.process_pending()
        now_s = self.current_time_s()
        if not math.isfinite(now_s):
            return
        self.sensor_traces.redraw(self.hub, now_s)
        self.angle_traces.redraw(self.hub, now_s)
        self.stick.show_angles(self.angles_at(now_s))
        self.update_metrics(now_s)

    def angles_at(self, now_s: float) -> dict[str, float]:
        """The newest angles at or before ``now_s`` (not older than 0.5 s)."""
        angles: dict[str, float] = {}
        for name in DISPLAY_ANGLES:
            buffer = self.hub.angles[name]
            time_s, values = buffer.latest(1)
            if time_s.size and now_s - 0.5 <= time_s[0] <= now_s + 1e-9:
                angles[name] = float(values[0, 0])
        return angles

    def running_task(self, now_s: float) -> tuple[str, str, float] | None:
        """(kind, side, start_s) of the task under way at ``now_s``, or None."""
        return None

    def update_metrics(self, now_s: float) -> None:
        running = self.running_task(now_s)
        self.angle_traces.set_task(running[0] if running else "")
        if running is None:
            self.task_state = None
            self.metrics.show_metrics("No task running", [])
            return
        kind, side, start_s = running
        state = self.task_state
        if state is None or (state.kind, state.side, state.start_s) != (kind, side, start_s):
            state = self.task_state = TaskState(kind, side, start_s)
        self.metrics.show_metrics(
            f"{task_title(kind, side)}   {now_s - start_s:5.1f} s",
            metricspanel.compute(self.hub, state, now_s),
        )

    # -- output ---------------------------------------------------------------------------
    def screenshot(self, path: str | Path) -> Path:
        """Save the whole window as PNG after a final redraw."""
        out = Path(path)
        out.parent.mkdir(parents=True, exist_ok=True)
        self.redraw()
        QtWidgets.QApplication.processEvents()
        if not self.grab().save(str(out)):
            from hipscope.base.errors import HipscopeError

            raise HipscopeError(f"could not write screenshot {out}")
        return out

    def closeEvent(self, event: QtGui.QCloseEvent) -> None:
        self.stop_redraw()
        self.save_layout()
        super().closeEvent(event)


def status_chip(text: str, colour: str) -> str:
    """Style sheet for a status chip label."""
    return f"background-color: {colour}; color: #0d0f12; font-weight: bold;" if text else ""


def placements_or_default(placements: Sequence[str] | None) -> tuple[str, ...]:
    return tuple(placements) if placements else ("pelvis", "trunk", "thigh_left", "thigh_right")
