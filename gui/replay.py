"""Replay a format-v1 recording through the live views: timeline, play/pause, speed, scrub.

Only the samples around the cursor are read (``open_recording(...).read(p, t0, t1)`` in
small blocks), so an hour-long file opens at once. Playback pushes the samples into the
same DataHub consumer the live kit uses, so plots and live metrics take the same path.
"""

from __future__ import annotations

import math
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyqtgraph as pg
from PySide6 import QtCore, QtGui, QtWidgets

from hipscope.acquisition.recording import RecordingFile, open_recording
from hipscope.acquisition.samples import PLACEMENTS, SOURCE_TEXT, SampleBatch, Task
from hipscope.base import tasks as task_registry
from hipscope.gui import theme
from hipscope.gui.hub import DataHub
from hipscope.gui.monitor import MonitorWindow, task_title
from hipscope.gui.panels import WINDOW_S

SPEEDS: tuple[float, ...] = (0.25, 0.5, 1.0, 2.0, 4.0)
BLOCK_S = 3.0
CALIBRATION_MAX_S = 5.0
FUSION_WARMUP_S = 6.0


class ReplaySource:
    """Windowed reads of a recording with a small per-sensor read-ahead block.

    Parameters
    ----------
    path
        A format-v1 recording (validated by ``open_recording``).
    block_s
        Seconds read per HDF5 access (default 3 s); playback slices from the block.
    """

    def __init__(self, path: str | Path, *, block_s: float = BLOCK_S) -> None:
        self.path = Path(path)
        self.file: RecordingFile = open_recording(self.path)
        self.block_s = float(block_s)
        order = {p: i for i, p in enumerate(PLACEMENTS)}
        self.placements: tuple[str, ...] = tuple(
            sorted(self.file.placements, key=lambda p: order.get(p, len(order)))
        )
        self.tasks: tuple[Task, ...] = self.file.tasks
        self.review_tasks: tuple[Task, ...] = ()
        """Detected tasks under review (not deleted): shown as running when the file has no
        task rows, so the live metrics follow them."""
        self.header = self.file.header
        ranges = [self.file.time_range(p) for p in self.placements]
        ranges = [r for r in ranges if r[1] > r[0]] or [(0.0, 0.0)]
        self.start_s = min(r[0] for r in ranges)
        self.end_s = max(r[1] for r in ranges)
        self.rate_hz = self._rate_hz()
        self._blocks: dict[str, tuple[float, float, SampleBatch]] = {}
        self.reads = 0

    def _rate_hz(self) -> float:
        rates = []
        for placement in self.placements:
            info = self.file.sensor_info(placement)
            nominal = float(info.get("nominal_rate_hz") or 0.0)
            t0, t1 = self.file.time_range(placement)
            measured = (info["n_samples"] - 1) / (t1 - t0) if t1 > t0 else 0.0
            rates.append(nominal or measured)
        return max(rates) if rates and max(rates) > 0 else 100.0

    @property
    def duration_s(self) -> float:
        return self.end_s - self.start_s

    def read(self, placement: str, start_s: float, end_s: float) -> SampleBatch:
        """Samples with ``start_s < time_s <= end_s``, served from the read-ahead block."""
        if end_s <= start_s:
            return SampleBatch.empty()
        block = self._blocks.get(placement)
        if block is None or start_s < block[0] or end_s > block[1]:
            block_end = max(end_s, start_s + self.block_s)
            batch = self.file.read(placement, start_s, block_end)
            self.reads += 1
            block = (start_s, block_end, batch)
            self._blocks[placement] = block
        batch = block[2]
        lo = int(np.searchsorted(batch.time_s, start_s, side="right"))
        hi = int(np.searchsorted(batch.time_s, end_s, side="right"))
        return batch.take(slice(lo, hi))

    def feed(self, hub: DataHub, start_s: float, end_s: float) -> None:
        """Push the samples in ``(start_s, end_s]`` of every sensor into the hub."""
        for placement in self.placements:
            batch = self.read(placement, start_s, end_s)
            if len(batch):
                hub.on_samples(placement, batch)

    def calibration_period(self) -> tuple[float, float]:
        """The static task (or the first seconds) used as the standing reference."""
        for task in self.tasks:
            if task_registry.get(task.kind).calibration.standing:
                end = min(task.end_s, task.start_s + CALIBRATION_MAX_S)
                return task.start_s, end
        return self.start_s, min(self.end_s, self.start_s + 3.0)

    def calibration_batches(self, end_before_s: float) -> list[tuple[str, SampleBatch]]:
        """The calibration period, time-shifted to end just before ``end_before_s``."""
        start, end = self.calibration_period()
        shift = (end_before_s - 1.0 / self.rate_hz) - end
        out = []
        for placement in self.placements:
            batch = self.file.read(placement, start, end)
            out.append((placement, batch.with_time(batch.time_s + shift)))
        return out

    def task_at(self, time_s: float) -> Task | None:
        for task in self.tasks or self.review_tasks:
            if task.start_s <= time_s <= task.end_s:
                return task
        return None

    def reload_tasks(self) -> None:
        """Open the file again and take its task rows (after rows were saved into it: the
        save replaced the file, so the open handle still reads the old one)."""
        fresh = open_recording(self.path)
        self.file.close()
        self.file = fresh
        self.tasks = fresh.tasks
        self._blocks.clear()

    def close(self) -> None:
        self.file.close()


@dataclass(frozen=True)
class TimelineMark:
    """A task drawn on the timeline that is not (yet) a row of the file: a detected task
    under review. It is hatched with a dashed outline; ``muted`` draws it grey (deleted)."""

    start_s: float
    end_s: float
    kind: str
    text: str
    muted: bool = False


class Timeline(pg.PlotWidget):
    """The whole recording with task regions shaded and a draggable cursor.

    Task rows are filled in their kind's colour; detected tasks under review
    (``set_marks``) are hatched with a dashed outline and say "detected".
    """

    seek_requested = QtCore.Signal(float)

    def __init__(self, source: ReplaySource) -> None:
        super().__init__(background=theme.PANEL)
        self.setFixedHeight(86)
        plot = self.getPlotItem()
        plot.setMenuEnabled(False)
        plot.hideButtons()
        plot.hideAxis("left")
        plot.setMouseEnabled(x=False, y=False)
        plot.setXRange(source.start_s, max(source.end_s, source.start_s + 1.0), padding=0.01)
        plot.setYRange(0.0, 1.0, padding=0.0)
        plot.getAxis("bottom").setLabel("session time", units="s")
        self.regions: list[pg.LinearRegionItem] = []
        self.marks: list[pg.LinearRegionItem] = []
        self._row_items: list[pg.GraphicsObject] = []
        self._mark_items: list[pg.GraphicsObject] = []
        self._labels: list[tuple[pg.TextItem, str, float, float]] = []
        self.set_tasks(source.tasks)
        self.cursor = pg.InfiniteLine(
            pos=source.start_s, angle=90, movable=True, pen=theme.pen(theme.ACCENT, 2)
        )
        self.cursor.setBounds((source.start_s, source.end_s))
        plot.addItem(self.cursor)
        self.cursor.sigDragged.connect(lambda line: self.seek_requested.emit(float(line.value())))
        plot.scene().sigMouseClicked.connect(self._clicked)

    def _clear(self, items: list[pg.GraphicsObject]) -> None:
        plot = self.getPlotItem()
        for item in items:
            plot.removeItem(item)
        self._labels = [entry for entry in self._labels if entry[0] not in items]
        items.clear()

    def _label(self, text: str, start_s: float, end_s: float, colour: str) -> pg.TextItem:
        """A task title at the region's top left, cut to the region's width ("…")."""
        label = pg.TextItem(text, color=colour, anchor=(0, 0))
        label.setPos(start_s, 0.98)
        self.getPlotItem().addItem(label)
        self._labels.append((label, text, start_s, end_s))
        self._fit_label(label, text, start_s, end_s)
        return label

    def _fit_label(self, label: pg.TextItem, text: str, start_s: float, end_s: float) -> None:
        (x0, x1), _ = self.getPlotItem().vb.viewRange()
        width_px = self.getPlotItem().vb.width() * (end_s - start_s) / max(x1 - x0, 1e-9)
        metrics = QtGui.QFontMetrics(label.textItem.font())
        shown = metrics.elidedText(text, QtCore.Qt.TextElideMode.ElideRight, int(width_px) - 6)
        label.setText(shown)
        label.setToolTip(text)

    def resizeEvent(self, event: QtGui.QResizeEvent) -> None:
        super().resizeEvent(event)
        for label, text, start_s, end_s in getattr(self, "_labels", ()):  # none while built
            self._fit_label(label, text, start_s, end_s)

    def set_tasks(self, tasks: Sequence[Task]) -> None:
        """Draw the file's task rows (a saved detected row says so after its title)."""
        self._clear(self._row_items)
        self.regions = []
        plot = self.getPlotItem()
        for task in tasks:
            colour = QtGui.QColor(theme.task_colour(task.kind))
            colour.setAlpha(90)
            region = pg.LinearRegionItem(
                values=(task.start_s, task.end_s), movable=False, brush=pg.mkBrush(colour)
            )
            region.setZValue(-10)
            for line in region.lines:
                line.setPen(pg.mkPen(None))
            plot.addItem(region)
            # the task's one title (as in the report and the review table)
            title = task_registry.title(task.kind, task.side)
            if task.source in SOURCE_TEXT:
                title += f" · {SOURCE_TEXT[task.source]}"
            label = self._label(title, task.start_s, task.end_s, theme.FOREGROUND)
            self.regions.append(region)
            self._row_items += [region, label]

    def set_marks(self, marks: Sequence[TimelineMark]) -> None:
        """Draw detected tasks under review: hatched, dashed outline (a deleted one grey)."""
        self._clear(self._mark_items)
        self.marks = []
        plot = self.getPlotItem()
        for mark in marks:
            colour = QtGui.QColor(theme.MUTED if mark.muted else theme.task_colour(mark.kind))
            fill = QtGui.QColor(colour)
            fill.setAlpha(60 if mark.muted else 150)
            region = pg.LinearRegionItem(
                values=(mark.start_s, mark.end_s),
                movable=False,
                brush=QtGui.QBrush(fill, QtCore.Qt.BrushStyle.BDiagPattern),
            )
            region.setZValue(-9)
            for line in region.lines:
                line.setPen(pg.mkPen(colour, width=1.5, style=QtCore.Qt.PenStyle.DashLine))
            plot.addItem(region)
            colour_text = theme.MUTED if mark.muted else theme.FOREGROUND
            label = self._label(mark.text, mark.start_s, mark.end_s, colour_text)
            self.marks.append(region)
            self._mark_items += [region, label]

    def _clicked(self, event: object) -> None:
        pos = event.scenePos()  # type: ignore[attr-defined]
        vb = self.getPlotItem().vb
        if vb.sceneBoundingRect().contains(pos):
            self.seek_requested.emit(float(vb.mapSceneToView(pos).x()))

    def set_cursor(self, time_s: float) -> None:
        self.cursor.blockSignals(True)
        self.cursor.setValue(time_s)
        self.cursor.blockSignals(False)


class ReplayWindow(MonitorWindow):
    """Replay of one recording through the monitor views."""

    settings_key = "replay"

    def __init__(self, source: ReplaySource, *, hub: DataHub | None = None) -> None:
        self.source = source
        hub = hub or DataHub(source.placements, source.rate_hz, history_s=WINDOW_S * 1.5)
        athlete = source.header.get("athlete") or "athlete"
        super().__init__(hub, title=f"hipscope replay — {source.path.name} ({athlete})")
        self.position_s = source.start_s
        self.speed = 1.0
        self.playing = False
        self._fed_until_s = source.start_s
        self._last_wall_s = time.monotonic()
        self._seek_to: float | None = None
        self._build_transport()
        self._shortcuts()
        self.seek(source.start_s)

    def _build_transport(self) -> None:
        bar = QtWidgets.QToolBar("Transport", self)
        bar.setObjectName("transport")
        bar.setMovable(False)
        self.play_button = QtWidgets.QPushButton("▶  Play")
        self.play_button.setCheckable(True)
        self.play_button.setToolTip("Play / pause (Space)")
        self.play_button.toggled.connect(self.set_playing)
        bar.addWidget(self.play_button)
        self.speed_box = QtWidgets.QComboBox()
        for speed in SPEEDS:
            self.speed_box.addItem(f"{speed:g}×", speed)
        self.speed_box.setCurrentIndex(SPEEDS.index(1.0))
        self.speed_box.setToolTip("Playback speed ([ slower, ] faster)")
        self.speed_box.currentIndexChanged.connect(lambda i: self.set_speed(SPEEDS[i]))
        bar.addWidget(self.speed_box)
        self.time_label = QtWidgets.QLabel("")
        self.time_label.setObjectName("title")
        self.time_label.setMinimumWidth(360)
        bar.addWidget(self.time_label)
        self.addToolBar(QtCore.Qt.ToolBarArea.TopToolBarArea, bar)
        self.timeline = Timeline(self.source)
        self.timeline.seek_requested.connect(self.request_seek)
        timeline_bar = QtWidgets.QToolBar("Timeline", self)
        timeline_bar.setObjectName("timeline")
        timeline_bar.setMovable(False)
        timeline_bar.addWidget(self.timeline)
        self.addToolBar(QtCore.Qt.ToolBarArea.BottomToolBarArea, timeline_bar)

    def _shortcuts(self) -> None:
        self.add_shortcut("Space", self.play_button.toggle, "Play/pause")
        self.add_shortcut("Left", lambda: self.request_seek(self.position_s - 5.0), "Back 5 s")
        self.add_shortcut("Right", lambda: self.request_seek(self.position_s + 5.0), "Forward 5 s")
        self.add_shortcut("Home", lambda: self.request_seek(self.source.start_s), "To start")
        self.add_shortcut("[", lambda: self._step_speed(-1), "Slower")
        self.add_shortcut("]", lambda: self._step_speed(+1), "Faster")
        self.add_shortcut("N", self.next_task, "Next task")

    def _step_speed(self, step: int) -> None:
        i = min(max(self.speed_box.currentIndex() + step, 0), len(SPEEDS) - 1)
        self.speed_box.setCurrentIndex(i)

    # -- transport --------------------------------------------------------------------------
    def set_playing(self, playing: bool) -> None:
        if playing and self.position_s >= self.source.end_s:
            self.seek(self.source.start_s)
        self.playing = bool(playing)
        self._last_wall_s = time.monotonic()
        self.play_button.blockSignals(True)
        self.play_button.setChecked(self.playing)
        self.play_button.setText("❚❚  Pause" if self.playing else "▶  Play")
        self.play_button.blockSignals(False)

    def set_speed(self, speed: float) -> None:
        self.speed = float(speed)
        if speed in SPEEDS and self.speed_box.currentIndex() != SPEEDS.index(speed):
            self.speed_box.setCurrentIndex(SPEEDS.index(speed))

    def request_seek(self, time_s: float) -> None:
        """Seek on the next tick (coalesces a fast scrub into one read)."""
        self._seek_to = float(time_s)
        if not self._timer.isActive():
            self.seek(self._seek_to)
            self._seek_to = None

    def next_task(self) -> None:
        for task in self.source.tasks:
            if task.start_s > self.position_s + 0.01:
                self.request_seek(task.start_s)
                return

    def seek(self, time_s: float) -> None:
        """Jump to ``time_s``: reset the hub, recalibrate, read the window before the cursor."""
        src = self.source
        time_s = min(max(float(time_s), src.start_s), src.end_s)
        warm_start = max(src.start_s, time_s - WINDOW_S) - 1e-9
        # fusion runs FUSION_WARMUP_S before the visible window so its estimate has settled
        fusion_start = max(src.start_s - 1e-9, warm_start - FUSION_WARMUP_S)
        self.hub.reset()
        self.hub.calibrate_with(
            src.calibration_batches(end_before_s=fusion_start),
            warmup=[(p, src.read(p, fusion_start, warm_start)) for p in src.placements],
        )
        src.feed(self.hub, warm_start, time_s)
        self.position_s = time_s
        self._fed_until_s = time_s
        self.task_state = None
        self.timeline.set_cursor(time_s)
        self.redraw()

    def before_redraw(self) -> None:
        if self._seek_to is not None:
            target, self._seek_to = self._seek_to, None
            self.seek(target)
        now = time.monotonic()
        elapsed, self._last_wall_s = now - self._last_wall_s, now
        if not self.playing:
            return
        step = min(elapsed, 0.25) * self.speed
        target = min(self.position_s + step, self.source.end_s)
        self.advance_to(target)
        if target >= self.source.end_s:
            self.set_playing(False)

    def advance_to(self, time_s: float) -> None:
        """Play forward to ``time_s`` (feeds the hub like a live kit would)."""
        if time_s > self._fed_until_s:
            self.source.feed(self.hub, self._fed_until_s, time_s)
            self._fed_until_s = time_s
        self.position_s = time_s
        self.timeline.set_cursor(time_s)

    def current_time_s(self) -> float:
        return self.position_s

    def running_task(self, now_s: float) -> tuple[str, str, float] | None:
        task = self.source.task_at(now_s)
        return None if task is None else (task.kind, task.side, task.start_s)

    def redraw(self) -> None:
        super().redraw()
        task = self.source.task_at(self.position_s)
        where = task_title(task.kind, task.side) if task else "between tasks"
        # session clock, as on the timeline axis
        self.time_label.setText(
            f"  {_clock(self.position_s)} / {_clock(self.source.end_s)}   ·   {where}"
            + (f"   ·   {self.hub.kinematics_error}" if self.hub.kinematics_error else "")
        )

    def closeEvent(self, event: QtGui.QCloseEvent) -> None:
        super().closeEvent(event)
        self.source.close()


def _clock(seconds: float) -> str:
    if not math.isfinite(seconds):
        return "--:--"
    minutes, secs = divmod(max(seconds, 0.0), 60.0)
    return f"{int(minutes):02d}:{secs:05.2f}"
