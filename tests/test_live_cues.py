"""Live cues in the live window: a virtual kit whose athlete breaks a pelvic-drop rule at
known times is cued once per break, inside it, with the flash on screen; the tone, the
counters and the rules dialog."""

from __future__ import annotations

import io
import math
import wave
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from hipscope.acquisition.runner import LiveAcquisition
from hipscope.acquisition.simulation.cue_drills import DropBoutsSpec
from hipscope.acquisition.simulator import StaticSpec, simulate
from hipscope.acquisition.virtual.source import VirtualOptions, VirtualSource
from hipscope.base.cues import CueEvent, parse_rule, parse_rules
from hipscope.base.errors import HipscopeError
from hipscope.gui import theme
from hipscope.gui.cues import FLASH_COLOUR, cue_text, tone_wav

pytestmark = pytest.mark.usefixtures("temp_qt_settings")

SPEED = 4.0
RULE = "pelvic_drop_deg>5"
QUIET_RULE = "trunk_lean_deg>8"  # the athlete leans 1-2°: never breaks

PROTOCOL = [
    StaticSpec(duration_s=5.0),
    DropBoutsSpec(
        "left",
        hold_s=12.0,
        pelvic_drop_deg=2.0,
        trunk_lean_deg=1.0,
        bouts=((1.5, 2.0), (5.5, 1.5), (9.0, 2.0)),
    ),
    DropBoutsSpec(
        "right",
        hold_s=8.0,
        pelvic_drop_deg=2.5,
        trunk_lean_deg=2.0,
        bouts=((2.0, 2.0), (5.0, 2.0)),
    ),
]


class CueRecordingAcquisition(LiveAcquisition):
    """A LiveAcquisition that keeps the cues the window hands it."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.recorded_cues: list[CueEvent] = []

    def record_cue(self, event: CueEvent) -> None:
        self.recorded_cues.append(event)


class FakeAcquisition:
    """Just enough of LiveAcquisition for a window that never streams."""

    def __init__(self, *, records: bool = True) -> None:
        self.recorded: list[CueEvent] = []
        if records:
            self.record_cue = self.recorded.append

    def status(self) -> dict[str, dict[str, Any]]:
        return {p: {"connected": False} for p in ("pelvis", "trunk", "thigh_left", "thigh_right")}

    def session_time_s(self) -> float:
        return 12.0

    def add_consumer(self, consumer: Any) -> None:
        pass

    def start(self) -> None:
        pass

    def stop(self) -> None:
        pass


def _window(acquisition: Any, rules: tuple[str, ...] = (RULE,)) -> Any:
    from hipscope.gui.hub import DataHub
    from hipscope.gui.live import LiveWindow

    hub = DataHub(("pelvis", "trunk", "thigh_left", "thigh_right"), 100.0, kinematics_factory=None)
    window = LiveWindow(acquisition, hub=hub, cue_rules=parse_rules(list(rules)))
    window.setStyleSheet(theme.STYLE_SHEET)  # as the app looks (not the whole test process)
    return window


def _event(value: float = 6.24) -> CueEvent:
    return CueEvent(12.0, RULE, "pelvic_drop_deg", value, 5.0, "single_leg_stance", "left")


def _rgb(colour: str) -> tuple[int, int, int]:
    return int(colour[1:3], 16), int(colour[3:5], 16), int(colour[5:7], 16)


def _flash_band_rows(path: Path) -> list[int]:
    """Rows whose first and last pixels are the flash colour: the full-width band."""
    from PySide6 import QtGui

    image = QtGui.QImage(str(path))
    want = _rgb(FLASH_COLOUR)
    rows = []
    for y in range(image.height()):
        ends = [image.pixelColor(x, y) for x in (2, image.width() // 2, image.width() - 3)]
        if all((c.red(), c.green(), c.blue()) == want for c in (ends[0], ends[2])):
            rows.append(y)
    return rows


def test_tone_is_a_short_sine_at_the_cue_pitch() -> None:
    with wave.open(io.BytesIO(tone_wav(880.0, 0.2, 44_100)), "rb") as file:
        assert (file.getnchannels(), file.getsampwidth(), file.getframerate()) == (1, 2, 44_100)
        samples = np.frombuffer(file.readframes(file.getnframes()), dtype="<i2")
    assert samples.size == round(0.2 * 44_100)
    spectrum = np.abs(np.fft.rfft(samples.astype(float)))
    peak_hz = np.argmax(spectrum) * 44_100 / samples.size
    assert peak_hz == pytest.approx(880.0, abs=5.0)
    assert abs(int(samples[0])) < 200 and abs(int(samples[-1])) < 200  # faded: no click
    assert np.abs(samples).max() > 15_000


def test_cue_text_names_rule_value_and_threshold() -> None:
    assert cue_text(_event(6.24), parse_rule(RULE)) == "pelvic drop 6.2° > 5°"
    lead = CueEvent(3.0, "hip_lead_ms<0", "hip_lead_ms", -42.4, 0.0, "hip_hinge", "")
    assert cue_text(lead, parse_rule("hip_lead_ms<0")) == "hip lead -42 ms < 0 ms"
    si = CueEvent(3.0, "|step_time_si_pct|>8", "step_time_si_pct", -9.14, 8.0, "gait", "")
    assert cue_text(si, parse_rule("|step_time_si_pct|>8")) == "|step-time SI| 9.1 % > 8 %"


def test_flash_fills_the_window_width_and_counts(qtbot, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    acquisition = FakeAcquisition()
    window = _window(acquisition, (RULE, QUIET_RULE))
    qtbot.addWidget(window)
    window.remember_layout = False
    window.show()
    before = tmp_path / "before.png"
    window.grab().save(str(before))
    assert _flash_band_rows(before) == []

    window.show_cue(_event())
    assert window.cue_flash.isVisible() and window.cue_flash.text == "pelvic drop 6.2° > 5°"
    shot = tmp_path / "flash.png"
    assert window.grab().save(str(shot))
    rows = _flash_band_rows(shot)
    height = window.height()
    assert len(rows) >= height // 5  # a band a quarter of the window high, full width
    assert abs((rows[0] + rows[-1]) / 2 - height / 2) < height * 0.1
    # the window outside the band is left as it was (the plots stay readable)
    from PySide6 import QtGui

    plain, flashed = QtGui.QImage(str(before)), QtGui.QImage(str(shot))
    above = [(x, y) for x in range(0, window.width(), 37) for y in range(60, rows[0], 29)]
    same = [plain.pixelColor(x, y) == flashed.pixelColor(x, y) for x, y in above]
    assert sum(same) > 0.95 * len(same)
    assert math.isfinite(window.cue_flash.painted_at_s)  # painted at once, not next frame

    assert acquisition.recorded == [_event()]
    assert window.cue_bar.chips[RULE].text() == f"{RULE}: 0"  # the engine counts, not show_cue
    qtbot.waitUntil(lambda: not window.cue_flash.isVisible(), timeout=3_000)  # ~0.6 s
    window.close()


def test_window_without_record_cue_still_shows_cues(qtbot) -> None:  # type: ignore[no-untyped-def]
    window = _window(FakeAcquisition(records=False))
    qtbot.addWidget(window)
    assert not window.records_cues
    window.show_cue(_event())
    assert window.cue_flash.flashes == 1
    assert window.bridge.last_error == ""  # no "record_cue failed" on every cue
    window.close()


def test_missing_audio_device_leaves_the_visual_cue(qtbot) -> None:  # type: ignore[no-untyped-def]
    window = _window(FakeAcquisition())
    qtbot.addWidget(window)
    tone = window.cue_tone
    if tone.available:
        pytest.skip("this machine has an audio output device")
    assert "visual cues only" in tone.problem
    assert "visual cues only" in window.cue_bar.audio.text()
    window.show_cue(_event())
    assert tone.played == 0 and window.cue_flash.flashes == 1
    window.close()


def test_rules_dialog_adds_checks_and_removes_rules(qtbot) -> None:  # type: ignore[no-untyped-def]
    window = _window(FakeAcquisition())
    qtbot.addWidget(window)
    dialog = window.open_cue_dialog()
    assert dialog.rules_shown() == [RULE]  # the rules given at start are listed
    assert not dialog.isModal()

    dialog.edit.setText("pelvic_drop>5")
    assert not dialog.add_typed()
    assert "unknown metric 'pelvic_drop'" in dialog.error.text()
    assert [r.text for r in window.cue_rules] == [RULE]

    dialog.edit.setText(" trunk_lean_deg > 8 ")
    assert dialog.add_typed()
    assert dialog.error.text() == "" and dialog.edit.text() == ""
    assert [r.text for r in window.cue_rules] == [RULE, QUIET_RULE]
    assert window.cue_bar.chips[QUIET_RULE].text() == f"{QUIET_RULE}: 0"
    dialog.edit.setText("trunk_lean_deg>8.0")
    assert not dialog.add_typed() and "already set" in dialog.error.text()

    dialog.list.setCurrentRow(0)
    dialog.remove_selected()
    assert [r.text for r in window.cue_rules] == [QUIET_RULE]
    assert dialog.rules_shown() == [QUIET_RULE] and RULE not in window.cue_bar.chips
    dialog.close()
    window.close()


def test_drop_bouts_truth_matches_the_simulated_drop() -> None:
    session = simulate(PROTOCOL[:2], rate_hz=50.0, seed=1, noise=False)
    truth = session.truth[1]
    bouts = truth["drop_bouts"]
    assert [round(b["end_s"] - b["start_s"], 3) for b in bouts] == [2.0, 1.5, 2.0]
    # the pelvis really rolls to the bout's drop (free right side lower: obliquity > 0)
    from hipscope.base.rotations import to_rotation

    pelvis = session.q_world_segment["pelvis"]
    z_axis = to_rotation(pelvis).as_matrix()[:, :, 2]  # the segment's right axis in the world
    drop_deg = np.degrees(np.arcsin(-z_axis[:, 2]))
    t = session.time_s
    middle = [(b["start_s"] + b["end_s"]) / 2 for b in bouts]
    assert np.interp(middle, t, drop_deg) == pytest.approx([9.0] * 3, abs=0.2)
    between = (bouts[0]["end_s"] + bouts[1]["start_s"]) / 2
    assert float(np.interp(between, t, drop_deg)) == pytest.approx(2.0, abs=0.2)
    with pytest.raises(HipscopeError, match="bouts"):
        DropBoutsSpec("left", hold_s=5.0, bouts=((4.0, 2.0),))


@pytest.mark.slow
@pytest.mark.timeout(180)
def test_virtual_athlete_breaking_the_rule_is_cued_once_per_break(qtbot, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    from hipscope.gui.live import LiveWindow

    source = VirtualSource(VirtualOptions(rate_hz=100.0, speed=SPEED, protocol=PROTOCOL))
    acquisition = CueRecordingAcquisition(source, protocol="screen")
    window = LiveWindow(acquisition, cue_rules=parse_rules([RULE, QUIET_RULE]))
    window.setStyleSheet(theme.STYLE_SHEET)
    qtbot.addWidget(window)
    window.remember_layout = False
    window.show()
    window.start()
    shot = tmp_path / "live-cue.png"
    try:
        qtbot.waitUntil(lambda: window.cue_flash.isVisible(), timeout=90_000)
        assert window.grab().save(str(shot))
        qtbot.waitUntil(lambda: acquisition.finished, timeout=90_000)
        qtbot.wait(300)
    finally:
        window.close()
    assert acquisition.error is None

    truth = simulate(PROTOCOL, rate_hz=100.0, seed=0, noise=False).truth
    bouts = [b for task in truth for b in task.get("drop_bouts", ())]
    assert len(bouts) == 5
    shown = window.cues_shown
    cues = [s.event for s in shown if s.event.rule == RULE]
    # every break is cued once, and inside the break: the sample that broke the rule lies
    # in the bout (no cue before it, none from noise at the threshold after it)
    matched = [[c for c in cues if b["start_s"] <= c.time_s <= b["end_s"]] for b in bouts]
    assert [len(m) for m in matched] == [1] * len(bouts), (bouts, cues)
    assert len(cues) == len(bouts)
    assert [c.task_side for c in cues] == ["left"] * 3 + ["right"] * 2
    assert all(c.value > 5.0 for c in cues)
    # shown soon after the sample: within 1 s of session time (0.25 s of wall time at 4x)
    lags_s = [s.emitted_session_s - s.event.time_s for s in shown]
    assert max(lags_s) < 1.0, lags_s
    assert all(math.isfinite(s.painted_monotonic_s) for s in shown)
    assert window.cue_engine.counts == {RULE: len(bouts), QUIET_RULE: 0}
    assert window.cue_bar.chips[RULE].text() == f"{RULE}: {len(bouts)}"
    assert acquisition.recorded_cues == [s.event for s in shown]
    assert len(_flash_band_rows(shot)) > 50  # the flash is in the offscreen screenshot
