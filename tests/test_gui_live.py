"""Live window on the virtual kit: data on all plots, task rows written, no freeze on a cut."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from hipscope.acquisition.recording import load_recording
from hipscope.acquisition.runner import LiveAcquisition
from hipscope.acquisition.sources import KitSource
from hipscope.acquisition.virtual.source import VirtualOptions, VirtualSource
from hipscope.gui.worker import chip_states


@pytest.fixture(autouse=True)
def temp_settings(tmp_path: Path) -> None:
    from PySide6 import QtCore

    QtCore.QSettings.setDefaultFormat(QtCore.QSettings.Format.IniFormat)
    QtCore.QSettings.setPath(
        QtCore.QSettings.Format.IniFormat,
        QtCore.QSettings.Scope.UserScope,
        str(tmp_path / "settings"),
    )


def test_chip_states_flag_disconnects_and_losses() -> None:
    status = {
        "pelvis": {"connected": True, "rate_hz": 99.0, "lost_samples": 0, "skew_ms": 2.0,
                   "latency_ms": 12.0, "rssi_dbm": -58},
        "trunk": {"connected": True, "rate_hz": 99.0, "lost_samples": 12, "skew_ms": -3.5},
        "thigh_left": {
            "connected": False,
            "rate_hz": 0.0,
            "lost_samples": 0,
            "clock_offset_s": None,
        },
        "thigh_right": {
            "connected": True,
            "rate_hz": 40.0,
            "lost_samples": 0,
            "clock_offset_s": 0.0,
        },
    }
    chips = chip_states(status, nominal_rate_hz=100.0)
    assert [chips[p].level for p in status] == ["good", "warn", "bad", "warn"]
    assert "DISCONNECTED" in chips["thigh_left"].text
    assert "skew +2 ms" in chips["pelvis"].text and "lag 12 ms" in chips["pelvis"].text
    assert "-58 dBm" in chips["pelvis"].text and "skew -4 ms" in chips["trunk"].text
    assert "Δt" not in chips["pelvis"].text  # a raw clock offset means nothing to a coach


def test_chip_warns_on_skew_lag_signal_and_battery() -> None:
    base = {"connected": True, "rate_hz": 100.0, "lost_samples": 0}
    status = {
        "pelvis": {**base, "skew_ms": 0.5, "latency_ms": 10.0, "rssi_dbm": -60},
        "trunk": {**base, "skew_ms": 25.0},
        "thigh_left": {**base, "latency_ms": 400.0},
        "thigh_right": {**base, "rssi_dbm": -92, "battery_pct": 9.0},
    }
    chips = chip_states(status, nominal_rate_hz=100.0)
    assert chips["pelvis"].level == "good"
    assert chips["trunk"].level == "warn" and "+25 ms off" in chips["trunk"].tooltip
    assert chips["thigh_left"].level == "warn" and "400 ms late" in chips["thigh_left"].tooltip
    assert chips["thigh_right"].level == "warn"
    tooltip = chips["thigh_right"].tooltip
    assert "weak signal" in tooltip and "battery 9%" in tooltip
    assert "batt 9%" in chips["thigh_right"].text


def test_live_window_virtual_kit_tasks_and_cut_link(qtbot, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    from hipscope.gui.live import LiveWindow

    out = tmp_path / "live.h5"
    source = VirtualSource(VirtualOptions(rate_hz=100.0))
    acquisition = LiveAcquisition(source, out_path=out)
    window = LiveWindow(acquisition)
    qtbot.addWidget(window)
    window.show()
    window.start()
    try:
        placements = window.hub.placements
        assert set(placements) == {"pelvis", "trunk", "thigh_left", "thigh_right"}
        # raw traces on every sensor plot, then angles once fusion took its reference
        qtbot.waitUntil(
            lambda: all(window.sensor_traces.curve_points(p) > 50 for p in placements),
            timeout=40_000,
        )
        qtbot.waitUntil(
            lambda: all(
                window.angle_traces.curve_points(t.key) > 10
                for plot in window.angle_traces.plots
                for t in plot.traces
            ),
            timeout=20_000,
        )
        qtbot.waitUntil(
            lambda: all(c.text().startswith("●") for c in window.chips.values()), timeout=10_000
        )

        # --out records from the start: the record button says so
        qtbot.waitUntil(window.record_button.isChecked, timeout=10_000)
        button = window.task_buttons[("single_leg_stance", "left")]
        button.click()
        assert button.isChecked() and window.task is not None
        qtbot.waitUntil(
            lambda: window.metrics.title.text().startswith("Single-leg stance — left"),
            timeout=10_000,
        )
        qtbot.wait(600)
        window.toggle_task("hip_hinge", "")  # switching task ends the stance first
        assert not button.isChecked()
        qtbot.wait(400)
        window.end_task()
        assert [t.kind for t in acquisition.tasks] == ["single_leg_stance", "hip_hinge"]
        assert window.task_rows == 2

        # a forced disconnect must not freeze the window: the timer keeps redrawing and the
        # other sensors keep arriving
        source.cut("thigh_left")
        pelvis_t = window.hub.raw["pelvis"].last_time_s()
        counts = []
        for _ in range(8):
            qtbot.wait(250)
            counts.append(window.frames)
        # the redraw timer made progress in every half second (a blocked GUI thread would not)
        assert all(b > a for a, b in zip(counts[::2], counts[2::2], strict=False)), counts
        assert window.hub.raw["pelvis"].last_time_s() > pelvis_t + 0.5
        qtbot.waitUntil(lambda: "DISCONNECTED" in window.chips["thigh_left"].text(), timeout=10_000)
        assert "DISCONNECTED" not in window.chips["pelvis"].text()
        cut_t = window.hub.raw["thigh_left"].last_time_s()
        assert window.hub.raw["pelvis"].last_time_s() - cut_t > 0.5
        out_png = window.screenshot(tmp_path / "live.png")
        assert out_png.stat().st_size > 10_000
    finally:
        window.close()  # ends the acquisition and closes the recording
    assert acquisition.finished
    recording = load_recording(out)
    kinds = [(t.kind, t.side) for t in recording.tasks]
    assert kinds == [("single_leg_stance", "left"), ("hip_hinge", "")]
    stance = recording.tasks[0]
    assert 0.4 < stance.end_s - stance.start_s < 6.0
    assert np.all(np.diff(recording.sensors["pelvis"].samples.time_s) > 0)


def test_real_kit_window_takes_placements_and_rate_from_the_kit_file(tmp_path: Path) -> None:
    from hipscope.gui.worker import acquisition_placements, acquisition_rate_hz

    kit = tmp_path / "kit.toml"
    kit.write_text(
        '[session]\nrate_hz = 60\n\n[[sensor]]\nplacement = "pelvis"\nprofile = "movella_dot"\n'
        'name = "DOT-P"\n\n[[sensor]]\nplacement = "thigh_right"\nprofile = "movella_dot"\n'
        'name = "DOT-R"\n'
    )
    acquisition = LiveAcquisition(KitSource(kit))
    assert acquisition_placements(acquisition) == ("pelvis", "thigh_right")
    assert acquisition_rate_hz(acquisition) == 60.0
