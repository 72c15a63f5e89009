"""Replay window: windowed reads, timeline tasks, play/scrub, live metrics through the hub."""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from pathlib import Path

import h5py
import numpy as np
import pytest
from numpy.typing import NDArray

from hipscope.acquisition.recorder import Recorder, SensorMeta
from hipscope.acquisition.samples import SampleBatch, Task
from hipscope.gui.hub import DataHub

PLACEMENTS = ("pelvis", "trunk", "thigh_left", "thigh_right")
RATE_HZ = 100.0
DROP_RAD = math.radians(6.0)


def write_recording(path: Path, duration_s: float = 40.0) -> Path:
    """Pelvis tilts about its forward axis by DROP_RAD during a left single-leg stance."""
    time_s = np.arange(0.0, duration_s, 1.0 / RATE_HZ)
    obliquity = np.where((time_s > 14.0) & (time_s < 20.0), DROP_RAD, 0.0)
    with Recorder(
        path, [SensorMeta(p, nominal_rate_hz=RATE_HZ, has_seq=True) for p in PLACEMENTS]
    ) as rec:
        for i, placement in enumerate(PLACEMENTS):
            acc = np.zeros((time_s.size, 3))
            angle = obliquity if placement == "pelvis" else 0.0 * obliquity
            acc[:, 0] = 9.81 * np.cos(angle)
            acc[:, 1] = 9.81 * np.sin(angle)
            gyr = np.zeros((time_s.size, 3))
            gyr[:, 2] = 0.3 * np.sin(2 * np.pi * (0.5 + i) * time_s)
            rec.append(placement, SampleBatch(time_s, acc, gyr, seq=np.arange(time_s.size)))
        rec.add_task(Task("static", "", 1.0, 5.0))
        rec.add_task(Task("single_leg_stance", "left", 12.0, 22.0))
        rec.add_task(Task("gait", "", 25.0, 38.0))
    return path


class TiltKinematics:
    """A stand-in for streaming fusion: obliquity from the pelvis accelerometer (test plumbing)."""

    def __init__(self, placements: Sequence[str], rate_hz: float) -> None:
        self.time_s: list[NDArray[np.float64]] = []
        self.obliquity: list[NDArray[np.float64]] = []
        self.references = 0

    def update(self, placement: str, batch: SampleBatch) -> None:
        if placement == "pelvis":
            self.time_s.append(batch.time_s)
            acc = batch.acc_m_s2.astype(np.float64)
            self.obliquity.append(np.arctan2(acc[:, 1], acc[:, 0]))

    def set_reference(self) -> None:
        self.references += 1

    def angles_since(
        self, t_s: float
    ) -> tuple[NDArray[np.float64], dict[str, NDArray[np.float64]]]:
        if not self.time_s:
            return np.empty(0), {}
        time_s = np.concatenate(self.time_s)
        obliquity = np.concatenate(self.obliquity)
        keep = time_s > t_s
        return time_s[keep], {"pelvis_obliquity": obliquity[keep]}


@pytest.fixture
def recording(tmp_path: Path) -> Path:
    return write_recording(tmp_path / "session.h5")


@pytest.fixture(autouse=True)
def temp_settings(tmp_path: Path) -> None:
    from PySide6 import QtCore

    QtCore.QSettings.setDefaultFormat(QtCore.QSettings.Format.IniFormat)
    QtCore.QSettings.setPath(
        QtCore.QSettings.Format.IniFormat,
        QtCore.QSettings.Scope.UserScope,
        str(tmp_path / "settings"),
    )


def test_replay_source_reads_only_the_window(recording: Path) -> None:
    from hipscope.gui.replay import ReplaySource

    source = ReplaySource(recording, block_s=2.0)
    with h5py.File(recording, "r") as f:
        time_all = f["sensors/trunk/time_s"][()]
        acc_all = f["sensors/trunk/acc_m_s2"][()]
    edges = 10.0 + 0.37 * np.arange(17)
    pieces = [source.read("trunk", a, b) for a, b in itertools.pairwise(edges)]
    joined = SampleBatch.concat(pieces)
    expected = (time_all > edges[0]) & (time_all <= edges[-1])
    np.testing.assert_array_equal(joined.time_s, time_all[expected])
    np.testing.assert_array_equal(joined.acc_m_s2, acc_all[expected])
    assert source.reads <= 4  # 6 s through 2 s blocks, not one read per slice
    assert source.placements == PLACEMENTS
    assert source.calibration_period() == (1.0, 5.0)
    source.close()


def test_replay_window_shows_tasks_plays_and_computes_drop(
    qtbot, recording: Path, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    from hipscope.gui.replay import ReplaySource, ReplayWindow

    source = ReplaySource(recording)
    hub = DataHub(source.placements, source.rate_hz, kinematics_factory=TiltKinematics)
    window = ReplayWindow(source, hub=hub)
    qtbot.addWidget(window)
    window.show()
    assert len(window.timeline.regions) == 3
    assert [r.getRegion() for r in window.timeline.regions][1] == (12.0, 22.0)

    window.seek(17.0)  # inside the left single-leg stance, during the drop
    assert hub.kinematics.references == 1
    assert window.metrics.title.text().startswith("Single-leg stance — left")
    assert window.metrics.shown["pelvic drop"] == pytest.approx(6.0, abs=0.01)
    assert window.metrics.shown["peak drop"] == pytest.approx(6.0, abs=0.01)
    assert window.sensor_traces.curve_points("pelvis") == pytest.approx(10.0 * RATE_HZ, abs=2)
    assert window.angle_traces.curve_points("pelvis_obliquity") > 0
    frontal = window.stick.segment_points("frontal", "pelvis")
    assert frontal[1, 1] < frontal[0, 1]  # right hip drawn lower

    window.start_redraw()
    window.set_speed(4.0)
    window.play_button.click()
    assert window.playing
    qtbot.waitUntil(lambda: window.position_s > 18.0, timeout=3000)
    window.play_button.click()
    assert not window.playing
    assert window.hub.now_s() == pytest.approx(window.position_s, abs=0.02)

    window.request_seek(30.0)  # scrub into gait: the next tick seeks
    qtbot.waitUntil(lambda: abs(window.position_s - 30.0) < 1e-9, timeout=2000)
    qtbot.waitUntil(lambda: window.metrics.title.text().startswith("Walking"), timeout=2000)
    window.seek(6.0)
    window.next_task()  # jumps to the single-leg stance
    qtbot.waitUntil(lambda: window.position_s == 12.0, timeout=2000)

    out = window.screenshot(tmp_path / "replay.png")
    assert out.stat().st_size > 10_000
    window.close()


def test_replay_layout_is_remembered(qtbot, recording: Path) -> None:  # type: ignore[no-untyped-def]
    from hipscope.gui.replay import ReplaySource, ReplayWindow

    first = ReplayWindow(
        ReplaySource(recording), hub=DataHub(PLACEMENTS, RATE_HZ, kinematics_factory=None)
    )
    qtbot.addWidget(first)
    first.show()
    first.sensor_dock.hide()
    first.close()
    second = ReplayWindow(
        ReplaySource(recording), hub=DataHub(PLACEMENTS, RATE_HZ, kinematics_factory=None)
    )
    qtbot.addWidget(second)
    second.restore_layout()
    second.show()
    assert second.sensor_dock.isHidden()
    assert not second.stick_dock.isHidden()
    second.close()


def test_replay_keyboard_shortcuts(qtbot, recording: Path) -> None:  # type: ignore[no-untyped-def]
    from PySide6 import QtCore

    from hipscope.gui.replay import SPEEDS, ReplaySource, ReplayWindow

    window = ReplayWindow(
        ReplaySource(recording), hub=DataHub(PLACEMENTS, RATE_HZ, kinematics_factory=None)
    )
    qtbot.addWidget(window)
    with qtbot.waitActive(window):  # window shortcuts need the active window
        window.show()
        window.activateWindow()
    window.seek(10.0)
    qtbot.keyClick(window, QtCore.Qt.Key.Key_Space)
    assert window.playing
    qtbot.keyClick(window, QtCore.Qt.Key.Key_Space)
    assert not window.playing
    qtbot.keyClick(window, QtCore.Qt.Key.Key_BracketRight)
    assert window.speed == SPEEDS[SPEEDS.index(1.0) + 1]
    qtbot.keyClick(window, QtCore.Qt.Key.Key_Right)
    assert window.position_s == pytest.approx(15.0)
    qtbot.keyClick(window, QtCore.Qt.Key.Key_N)
    assert window.position_s == pytest.approx(25.0)  # start of the gait task
    qtbot.keyClick(window, QtCore.Qt.Key.Key_Home)
    assert window.position_s == pytest.approx(0.0)
    lines = window.shortcut_lines()
    assert any("Space" in line and "Play" in line for line in lines)
    assert any("F1" in line for line in lines)
    window.close()
