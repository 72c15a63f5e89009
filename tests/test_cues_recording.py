"""Live cues in recordings: the recorder writes ``/cues`` and ``cue_rules``, the reader reads
them back (and refuses nothing over them), ``LiveAcquisition.record_cue`` never blocks."""

from __future__ import annotations

import math
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import h5py
import numpy as np
import pytest

from hipscope.acquisition.recorder import Recorder, SensorMeta
from hipscope.acquisition.recording import load_recording
from hipscope.acquisition.runner import LiveAcquisition
from hipscope.acquisition.samples import SampleBatch, Task
from hipscope.acquisition.simulator import SingleLegStanceSpec, StaticSpec
from hipscope.acquisition.virtual.source import VirtualOptions, VirtualSource
from hipscope.base.cues import CueEvent, CueRuleError

RULES = ("pelvic_drop_deg>5", "|step_time_si_pct|>8")


def _batch(start: int, n: int, rate_hz: float = 100.0) -> SampleBatch:
    seq = np.arange(start, start + n)
    return SampleBatch(seq / rate_hz, np.zeros((n, 3)), np.zeros((n, 3)), seq=seq)


def _cue(time_s: float, value: float = 6.5, rule: str = RULES[0]) -> CueEvent:
    return CueEvent(time_s, rule, "pelvic_drop_deg", value, 5.0, "single_leg_stance", "left")


def _record(path: Path, **kwargs: object) -> Recorder:
    meta = [SensorMeta("pelvis", nominal_rate_hz=100.0, has_seq=True)]
    return Recorder(path, meta, **kwargs)  # type: ignore[arg-type]


def test_cues_and_rules_survive_a_round_trip(tmp_path: Path) -> None:
    path = tmp_path / "cues.h5"
    with _record(path, cue_rules=RULES) as rec:
        rec.append("pelvis", _batch(0, 500))
        rec.add_task(Task("single_leg_stance", "left", 1.0, 4.0))
        assert rec.add_cue(_cue(2.25, 6.5))
        assert rec.add_cue(_cue(3.5, 7.25))
        rec.set_cue_rules(["trunk_lean_deg>8", RULES[0]])  # set later in the live window
        rec.append("pelvis", _batch(500, 100))
    recording = load_recording(path)
    assert recording.cues == (_cue(2.25, 6.5), _cue(3.5, 7.25))
    assert recording.cue_rules == (*RULES, "trunk_lean_deg>8")
    assert recording.notes == ()


def test_malformed_cues_are_counted_and_left_out(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / "bad.h5"
    with _record(path) as rec:
        rec.append("pelvis", _batch(0, 200))
        assert not rec.add_cue(_cue(1.0, math.nan))
        assert not rec.add_cue(_cue(math.inf))
        assert not rec.add_cue(_cue(1.0, rule="x" * 200))
        assert not rec.add_cue(_cue(1.0, rule=""))
        assert not rec.add_cue("pelvic_drop_deg>5")  # type: ignore[arg-type]
        assert rec.add_cue(_cue(1.5))
        assert rec.add_cue(_cue(np.float64(1.75), np.float32(6.5)))  # numpy numbers are fine
        assert rec.dropped_cues == 5
    assert "cue not recorded" in caplog.text
    recording = load_recording(path)
    assert recording.cues == (_cue(1.5), _cue(1.75, 6.5))
    assert recording.cue_rules == (RULES[0],)  # from the cue: no rules were set up front


def test_files_without_cues_read_as_no_cues(tmp_path: Path) -> None:
    """A version-1 file written before cues existed (no /cues, no cue_rules)."""
    path = tmp_path / "old.h5"
    with _record(path) as rec:
        rec.append("pelvis", _batch(0, 200))
    with h5py.File(path, "r+") as f:
        del f["cues"]
        del f.attrs["cue_rules"]
    recording = load_recording(path)
    assert recording.cues == () and recording.cue_rules == () and recording.notes == ()


def _rewrite(path: Path, change: object) -> None:
    with h5py.File(path, "r+") as f:
        change(f)  # type: ignore[operator]


@pytest.mark.parametrize(
    ("name", "change", "note"),
    [
        ("2-D floats", lambda f: (f.__delitem__("cues"), f.create_dataset("cues", (3, 2), "f8")),
         "expected a 1-D table"),
        ("group", lambda f: (f.__delitem__("cues"), f.create_group("cues")), "not a dataset"),
        ("missing field",
         lambda f: (f.__delitem__("cues"),
                    f.create_dataset("cues", data=np.zeros(2, [("time_s", "f8")]))),
         "lack the field"),
        ("text time",
         lambda f: (f.__delitem__("cues"), f.create_dataset("cues", data=np.zeros(1, [
             ("time_s", "S4"), ("rule", "S4"), ("metric", "S4"), ("value", "f8"),
             ("threshold", "f8"), ("task_kind", "S4"), ("task_side", "S4")]))),
         "field time_s has dtype"),
        ("rules not text", lambda f: f.attrs.__setitem__("cue_rules", np.arange(3)),
         "attribute cue_rules ignored"),
    ],
)
def test_a_malformed_cue_table_is_ignored_with_a_note(
    tmp_path: Path, name: str, change: object, note: str
) -> None:
    path = tmp_path / "m.h5"
    with _record(path, cue_rules=RULES) as rec:
        rec.append("pelvis", _batch(0, 200))
        rec.add_cue(_cue(1.0))
    _rewrite(path, change)
    recording = load_recording(path)  # the samples still read: cues never refuse a file
    assert len(recording.sensors["pelvis"].samples) == 200
    assert any(note in n for n in recording.notes), (name, recording.notes)


def test_unusable_and_unwritten_cue_rows_are_dropped_with_notes(tmp_path: Path) -> None:
    path = tmp_path / "rows.h5"
    with _record(path) as rec:
        rec.append("pelvis", _batch(0, 200))
        rec.add_cue(_cue(1.0))
        rec.add_cue(_cue(1.2))
    with h5py.File(path, "r+") as f:
        cues = f["cues"]
        rows = cues[()]
        rows[0]["value"] = np.nan  # a foreign writer's NaN
        cues.resize(4, axis=0)  # two rows allocated, never filled (fill: time NaN)
        cues[:2] = rows
    recording = load_recording(path)
    assert recording.cues == (_cue(1.2),)
    assert any("2 trailing row(s) were never written" in n for n in recording.notes)
    assert any("1 row(s) without a rule" in n for n in recording.notes)


def test_cue_texts_from_files_are_kept_as_data(tmp_path: Path) -> None:
    path = tmp_path / "text.h5"
    with _record(path) as rec:
        rec.append("pelvis", _batch(0, 200))
        rec.add_cue(_cue(1.0))
    markup = "[bold]<b>x</b>\x1b[2J"
    with h5py.File(path, "r+") as f:
        rows = f["cues"][()]
        rows[0]["rule"] = markup.encode()
        f["cues"][0] = rows[0]
        f.attrs["cue_rules"] = np.array(["<script>", "y" * 500], dtype=h5py.string_dtype())
    recording = load_recording(path)
    assert recording.cues[0].rule == markup
    assert recording.cue_rules[0] == "<script>"
    assert len(recording.cue_rules[1]) == 120  # cut, not refused


WRITER = r"""
import sys, time
import numpy as np
from hipscope.acquisition.recorder import Recorder, SensorMeta
from hipscope.acquisition.samples import SampleBatch
from hipscope.base.cues import CueEvent

rec = Recorder(sys.argv[1], [SensorMeta("pelvis", nominal_rate_hz=100.0, has_seq=True)],
               flush_interval_s=0.2, cue_rules=["pelvic_drop_deg>5"])
n, cued = 0, False
start = time.monotonic()
while True:
    seq = np.arange(n, n + 10)
    rec.append("pelvis", SampleBatch(seq / 100.0, np.zeros((10, 3)), np.zeros((10, 3)), seq=seq))
    n += 10
    if n == 100:
        rec.add_cue(CueEvent(0.95, "pelvic_drop_deg>5", "pelvic_drop_deg", 6.0, 5.0,
                             "single_leg_stance", "left"))
        cued = True
    if cued and rec.fsyncs and rec.cues_written:
        print("flushed", flush=True)
        cued = False
    time.sleep(max(0.0, start + n / 100.0 - time.monotonic()))
"""


@pytest.mark.slow
def test_a_cue_survives_sigkill_after_the_next_flush(tmp_path: Path) -> None:
    path = tmp_path / "killed.h5"
    with subprocess.Popen(
        [sys.executable, "-c", WRITER, str(path)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    ) as child:
        try:
            assert child.stdout is not None
            line = child.stdout.readline().strip()
        finally:
            child.send_signal(signal.SIGKILL)
            _, err = child.communicate(timeout=10)
        assert line == "flushed", err
    recording = load_recording(path)
    assert [(c.time_s, c.rule, c.value) for c in recording.cues] == [
        (0.95, "pelvic_drop_deg>5", 6.0)
    ]
    assert recording.cue_rules == ("pelvic_drop_deg>5",)


SHORT = (StaticSpec(duration_s=3.0), SingleLegStanceSpec(side="left", hold_s=3.0))


@pytest.mark.slow
def test_record_cue_during_a_virtual_recording(tmp_path: Path) -> None:
    """Cues sent from another thread (the GUI's) land in the file with their task; a busy
    acquisition loop does not hold up the caller."""
    path = tmp_path / "live.h5"
    options = VirtualOptions(placements=("pelvis", "thigh_left"), rate_hz=100.0, speed=4.0,
                             seed=1, protocol=SHORT)
    live = LiveAcquisition(
        VirtualSource(options), out_path=path, protocol="screen", cue_rules=[RULES[0]]
    )
    release = threading.Event()
    blocked = threading.Event()
    state = {"block": False}

    def busy(placement: str, batch: SampleBatch) -> None:
        if state["block"]:
            state["block"] = False
            blocked.set()
            release.wait(10.0)  # holds the acquisition loop

    live.add_consumer(busy)
    live.start()
    try:
        assert live.wait_connected(15.0), live.error
        stance = next(t for t in live.planned_tasks if t.kind == "single_leg_stance")
        while live.session_time_s() < stance.start_s + 1.0:
            time.sleep(0.02)
        state["block"] = True
        assert blocked.wait(10.0)
        returned = threading.Event()

        def cue() -> None:
            live.record_cue(_cue(stance.start_s + 0.8, 6.0))
            returned.set()

        caller = threading.Thread(target=cue)
        caller.start()
        # record_cue returned while the loop was still held: it did not wait for it
        assert returned.wait(10.0)
        assert not release.is_set()
        release.set()
        caller.join(5.0)
        live.set_cue_rules(["trunk_lean_deg>8"])
        assert live.wait_finished(30.0)
    finally:
        release.set()
        live.stop()
    assert live.error is None
    assert live.cues_recorded == 1
    recording = load_recording(path)
    (cue,) = recording.cues
    assert cue == _cue(stance.start_s + 0.8, 6.0)
    task = next(t for t in recording.tasks if t.start_s <= cue.time_s <= t.end_s)
    assert (task.kind, task.side) == ("single_leg_stance", "left")
    assert recording.cue_rules == (RULES[0], "trunk_lean_deg>8")


@pytest.mark.slow
def test_record_cue_without_a_recording_is_dropped_silently(tmp_path: Path) -> None:
    options = VirtualOptions(placements=("pelvis",), rate_hz=50.0, speed=4.0)
    live = LiveAcquisition(VirtualSource(options))
    live.record_cue(_cue(0.5))  # before the loop exists: dropped
    live.start()
    try:
        assert live.wait_connected(15.0), live.error
        live.record_cue(_cue(1.0))
        live.stop()
    finally:
        live.stop()
    live.record_cue(_cue(2.0))  # after the end: dropped
    assert live.error is None and live.cues_recorded == 0


def test_bad_rules_are_refused_when_the_acquisition_is_made() -> None:
    options = VirtualOptions(placements=("pelvis",))
    with pytest.raises(CueRuleError, match="unknown metric"):
        LiveAcquisition(VirtualSource(options), cue_rules=["knee_valgus_deg>5"])
    live = LiveAcquisition(VirtualSource(options), cue_rules=[" pelvic_drop_deg > 5 ", RULES[0]])
    assert live.cue_rules == (RULES[0],)
