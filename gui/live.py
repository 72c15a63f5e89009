"""The live window: sensor status chips, traces, segment view, record and task buttons.

The acquisition runs in its own thread with its own asyncio loop (B2's LiveAcquisition);
its consumer callback fills the DataHub's ring buffers; this window only reads them on a
~30 Hz timer, so a dropped sensor never freezes it.

Cue rules (``hipscope.base.cues``) are judged on every redraw, right after the new samples
are fused and before the plots are drawn; a cue flashes the window, sounds a tone, counts
and is handed to the acquisition (``record_cue``) for the recording.
"""

from __future__ import annotations

import datetime as dt
import logging
import math
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6 import QtCore, QtGui, QtWidgets

from hipscope.base import tasks as task_registry
from hipscope.base.cues import CueEngine, CueEvent, CueRule
from hipscope.gui import theme
from hipscope.gui.cues import CueBar, CueDialog, CueFlash, CueTone, cue_text
from hipscope.gui.cuevalues import CueJudge, running_state
from hipscope.gui.hub import DataHub
from hipscope.gui.monitor import MonitorWindow, task_title
from hipscope.gui.panels import WINDOW_S
from hipscope.gui.worker import (
    AcquisitionBridge,
    ChipState,
    acquisition_hub,
    planned_task_at,
)


def task_buttons() -> tuple[tuple[str, str, str, str], ...]:
    """(shortcut key, kind, side, button text) of every button the task registry defines."""
    return tuple(
        (button.shortcut, record.kind, button.side, button.label)
        for record in task_registry.task_kinds()
        for button in record.buttons
    )


CHIP_COLOURS = {"good": theme.GOOD, "warn": theme.WARN, "bad": theme.BAD}

log = logging.getLogger(__name__)


@dataclass
class ShownCue:
    """A cue the window showed: the event, and when (host monotonic clock, session clock)."""

    event: CueEvent
    text: str
    emitted_monotonic_s: float
    emitted_session_s: float
    painted_monotonic_s: float = math.nan


if TYPE_CHECKING:
    from hipscope.acquisition.runner import LiveAcquisition


def default_recording_path(folder: str | Path = "recordings") -> Path:
    stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%d-%H%M%S")
    return Path(folder) / f"session-{stamp}.h5"


class LiveWindow(MonitorWindow):
    """Live monitor of a LiveAcquisition (virtual or real kit)."""

    settings_key = "live"

    def __init__(
        self,
        acquisition: LiveAcquisition,
        *,
        hub: DataHub | None = None,
        cue_rules: Sequence[CueRule] = (),
    ) -> None:
        hub = hub or acquisition_hub(acquisition, history_s=WINDOW_S * 3)
        super().__init__(hub, title="hipscope live")
        self.bridge = AcquisitionBridge(acquisition, hub)
        self.task: tuple[str, str, float] | None = None
        self.task_rows = 0
        self.cue_engine = CueEngine(tuple(cue_rules))
        self.cue_judge = CueJudge(self.cue_engine)
        self.cues_shown: list[ShownCue] = []
        self.cue_dialog: CueDialog | None = None
        # checked once: an acquisition without record_cue shows cues without saving them
        self.records_cues = callable(getattr(acquisition, "record_cue", None))
        self._build_toolbar()
        self._build_chips()
        self._build_cues()
        for button in (self.record_button, *self.task_buttons.values()):
            button.setEnabled(False)

    # -- widgets ---------------------------------------------------------------------------
    def _build_toolbar(self) -> None:
        bar = QtWidgets.QToolBar("Session", self)
        bar.setObjectName("session")
        bar.setMovable(False)
        self.record_button = QtWidgets.QPushButton("●  Record")
        self.record_button.setObjectName("record")
        self.record_button.setCheckable(True)
        self.record_button.setToolTip("Start / stop recording (R)")
        self.record_button.toggled.connect(self.set_recording)
        bar.addWidget(self.record_button)
        self.calibrate_button = QtWidgets.QPushButton("Calibrate")
        self.calibrate_button.setToolTip(
            "Take the last ~2 s of quiet standing as the reference (C)"
        )
        self.calibrate_button.clicked.connect(self.calibrate)
        bar.addWidget(self.calibrate_button)
        bar.addSeparator()
        self.task_buttons: dict[tuple[str, str], QtWidgets.QPushButton] = {}
        for key, kind, side, text in task_buttons():
            button = QtWidgets.QPushButton(f"{key}  {text}")
            button.setCheckable(True)
            button.setToolTip(f"Start / end a {task_title(kind, side)} task ({key}); Esc ends")
            button.clicked.connect(lambda _=False, k=kind, s=side: self.toggle_task(k, s))
            bar.addWidget(button)
            self.task_buttons[(kind, side)] = button
            self.add_shortcut(key, lambda k=kind, s=side: self.toggle_task(k, s), text)
        self.add_shortcut("Escape", self.end_task, "End task")
        self.add_shortcut("R", self.record_button.toggle, "Record")
        self.add_shortcut("C", self.calibrate, "Calibrate")
        bar.addSeparator()
        self.clock_label = QtWidgets.QLabel("")
        self.clock_label.setObjectName("title")
        bar.addWidget(self.clock_label)
        self.addToolBar(QtCore.Qt.ToolBarArea.TopToolBarArea, bar)

    def _build_chips(self) -> None:
        bar = QtWidgets.QToolBar("Sensors", self)
        bar.setObjectName("chips")
        bar.setMovable(False)
        self.chips: dict[str, QtWidgets.QLabel] = {}
        for placement in self.hub.placements:
            chip = QtWidgets.QLabel(f"○ {placement}  connecting…")
            chip.setObjectName("chip")
            chip.setStyleSheet(_chip_style(theme.MUTED))
            bar.addWidget(chip)
            bar.addWidget(_spacer(8))
            self.chips[placement] = chip
        self.addToolBarBreak(QtCore.Qt.ToolBarArea.TopToolBarArea)
        self.addToolBar(QtCore.Qt.ToolBarArea.TopToolBarArea, bar)

    def _build_cues(self) -> None:
        self.cue_bar = CueBar(self, self.open_cue_dialog)
        self.addToolBarBreak(QtCore.Qt.ToolBarArea.TopToolBarArea)
        self.addToolBar(QtCore.Qt.ToolBarArea.TopToolBarArea, self.cue_bar)
        self.add_shortcut("K", self.open_cue_dialog, "Cue rules")
        self.cue_flash = CueFlash(self)
        self.cue_flash.painted.append(self._cue_painted)
        self.cue_tone = CueTone(self)
        self.cue_bar.set_audio_problem(self.cue_tone.problem)
        if self.cue_tone.problem:
            log.warning("%s", self.cue_tone.problem)
        if not self.records_cues:
            log.info("this acquisition cannot record cues: they are shown, not saved")
        self.cue_bar.show_counts(self.cue_engine.counts)

    # -- cues ------------------------------------------------------------------------------
    @property
    def cue_rules(self) -> tuple[CueRule, ...]:
        return self.cue_engine.rules

    def add_cue_rule(self, rule: CueRule) -> None:
        self.cue_engine.add(rule)
        self.cue_bar.show_counts(self.cue_engine.counts)
        if self.cue_dialog is not None and rule.text not in self.cue_dialog.rules_shown():
            self.cue_dialog.set_rules(self.cue_engine.rules)
        self.status.showMessage(f"cue rule set: {rule.text}")

    def remove_cue_rule(self, text: str) -> None:
        self.cue_engine.remove(text)
        self.cue_bar.show_counts(self.cue_engine.counts)
        self.status.showMessage(f"cue rule removed: {text}")

    def open_cue_dialog(self) -> CueDialog:
        if self.cue_dialog is None:
            self.cue_dialog = CueDialog(
                self, self.cue_engine.rules, self.add_cue_rule, self.remove_cue_rule
            )
        self.cue_dialog.show()
        self.cue_dialog.raise_()
        return self.cue_dialog

    def evaluate_cues(self) -> list[CueEvent]:
        """Judge the rules on the newest values; show, sound, count and record new cues."""
        now_s = self.current_time_s()
        if not self.cue_engine.rules or not math.isfinite(now_s):
            return []
        running = self.running_task(now_s)
        self.task_state = running_state(self.task_state, running)  # shared with the panel
        events = self.cue_judge.judge(self.hub, running, now_s, self.task_state)
        for event in events:
            self.show_cue(event)
        return events

    def show_cue(self, event: CueEvent) -> None:
        rule = next((r for r in self.cue_engine.rules if r.text == event.rule), None)
        text = cue_text(event, rule)
        self.cues_shown.append(
            ShownCue(event, text, time.monotonic(), self.bridge.session_time_s())
        )
        self.cue_flash.flash(text)
        self.cue_tone.play()
        if self.cue_tone.problem:
            self.cue_bar.set_audio_problem(self.cue_tone.problem)
        self.cue_bar.show_counts(self.cue_engine.counts, fresh=event.rule)
        if self.records_cues:
            self.bridge.call("record_cue", event)
        self.status.showMessage(f"cue: {text}")
        log.info("cue at %.2f s: %s (%s)", event.time_s, text, event.rule)

    def _cue_painted(self, painted_s: float) -> None:
        if self.cues_shown and math.isnan(self.cues_shown[-1].painted_monotonic_s):
            self.cues_shown[-1].painted_monotonic_s = painted_s

    def redraw(self) -> None:
        # cues first: their latency should not wait for the plots
        self.hub.process_pending()
        self.evaluate_cues()
        super().redraw()

    # -- session control -------------------------------------------------------------------
    def start(self) -> None:
        """Start the acquisition thread (non-blocking) and the redraw timer."""
        self.bridge.start()
        self.start_redraw()

    def shutdown(self) -> None:
        self.stop_redraw()
        if self.task is not None:
            self.end_task()
        self.bridge.stop()

    def set_recording(self, on: bool) -> None:
        if on:
            path = default_recording_path()
            path.parent.mkdir(parents=True, exist_ok=True)
            if self.bridge.call("start_recording", path):
                self.bridge.recording_path = path
                self.record_button.setText("■  Stop")
                self.status.showMessage(f"recording to {path}")
            else:
                self._set_checked(self.record_button, False)
        else:
            self.bridge.call("stop_recording")
            self.record_button.setText("●  Record")
            if self.bridge.recording_path is not None:
                self.status.showMessage(f"saved {self.bridge.recording_path}")

    def toggle_task(self, kind: str, side: str) -> None:
        if not self.record_button.isEnabled():
            return  # not streaming yet (shortcuts bypass the disabled buttons)
        if self.task is not None and self.task[:2] == (kind, side):
            self.end_task()
        else:
            self.begin_task(kind, side)

    def begin_task(self, kind: str, side: str) -> None:
        if self.task is not None:
            self.end_task()
        if not self.bridge.call("start_task", kind, side):
            self._sync_task_buttons()
            return
        self.task = (kind, side, self.bridge.session_time_s())
        self._sync_task_buttons()
        self.status.showMessage(f"task started: {task_title(kind, side)}")

    def end_task(self) -> None:
        if self.task is None:
            return
        kind, side, _ = self.task
        self.task = None
        if self.bridge.call("end_task"):
            self.task_rows += 1
        self._sync_task_buttons()
        if task_registry.get(kind).calibration.standing:
            self.calibrate()
        self.status.showMessage(f"task ended: {task_title(kind, side)}")

    def calibrate(self) -> None:
        if self.hub.set_reference():
            self.status.showMessage("calibrated on the last quiet standing period")
        else:
            self.status.showMessage(self.hub.kinematics_error or "calibration not possible yet")

    def _sync_task_buttons(self) -> None:
        for key, button in self.task_buttons.items():
            self._set_checked(button, self.task is not None and self.task[:2] == key)

    @staticmethod
    def _set_checked(button: QtWidgets.QPushButton, checked: bool) -> None:
        button.blockSignals(True)
        button.setChecked(checked)
        button.blockSignals(False)

    # -- per tick --------------------------------------------------------------------------
    def running_task(self, now_s: float) -> tuple[str, str, float] | None:
        """The task started with the buttons, else the virtual protocol's task under way."""
        if self.task is not None:
            return self.task
        return planned_task_at(self.bridge.acquisition, self.bridge.session_time_s())

    def before_redraw(self) -> None:
        # streaming kinematics takes its first reference by itself after ~2 s of data
        self._update_chips()

    def _update_chips(self) -> None:
        chips: dict[str, ChipState] = self.bridge.chips()
        # tasks and recording need a running session clock: enable once a sensor streams
        streaming = any(state.connected for state in chips.values())
        if streaming != self.record_button.isEnabled():
            for button in (self.record_button, *self.task_buttons.values()):
                button.setEnabled(streaming or button.isChecked())
        # the acquisition may record without the button (--out records from the start)
        recording = getattr(self.bridge.acquisition, "recording", None)
        if isinstance(recording, bool) and recording != self.record_button.isChecked():
            self._set_checked(self.record_button, recording)
            self.record_button.setText("■  Stop" if recording else "●  Record")
        for placement, label in self.chips.items():
            state = chips.get(placement)
            if state is None:
                continue
            label.setText(state.text)
            label.setToolTip(state.tooltip)
            label.setStyleSheet(_chip_style(CHIP_COLOURS[state.level]))
        session = self.bridge.session_time_s()
        recording = (
            f"&nbsp;&nbsp;<span style='color:{theme.RECORD}'>● REC</span>"
            if self.record_button.isChecked()
            else ""
        )
        self.clock_label.setText(f"  {_clock(session)}{recording}")
        error = self.bridge.error()
        if error:
            self.status.showMessage(error)
        elif self.bridge.finished():
            self.status.showMessage("acquisition ended")

    def closeEvent(self, event: QtGui.QCloseEvent) -> None:
        super().closeEvent(event)
        self.shutdown()


def _chip_style(colour: str) -> str:
    return f"background-color: {colour}; color: #0d0f12; font-weight: bold;"


def _spacer(width: int) -> QtWidgets.QWidget:
    spacer = QtWidgets.QWidget()
    spacer.setFixedWidth(width)
    return spacer


def _clock(seconds: float) -> str:
    if not math.isfinite(seconds):
        return "--:--"
    minutes, secs = divmod(max(seconds, 0.0), 60.0)
    return f"{int(minutes):02d}:{secs:04.1f}"
