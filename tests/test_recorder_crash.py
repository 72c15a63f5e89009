"""A recording process killed with SIGKILL leaves a readable file missing at most ~1 s,
and the task under way keeps its row."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

from hipscope.acquisition.recording import load_recording
from hipscope.acquisition.samples import Task

WRITER = r"""
import sys, time
import numpy as np
from hipscope.acquisition.recorder import Recorder, SensorMeta
from hipscope.acquisition.samples import SampleBatch, Task

path = sys.argv[1]
rate_hz, batch_rows = 200.0, 10
placements = ["pelvis", "trunk", "thigh_left", "thigh_right"]
meta = [SensorMeta(p, nominal_rate_hz=rate_hz, has_seq=True) for p in placements]
rec = Recorder(path, meta, flush_interval_s=0.5)
rec.add_task(Task("static", "", 0.0, 1.0))
rec.start_task("single_leg_stance", "right", 1.5)  # under way when the kill comes
start = time.monotonic()
n = 0
while True:
    seq = np.arange(n, n + batch_rows)
    t = seq / rate_hz
    batch = SampleBatch(t, np.tile(seq[:, None], (1, 3)), np.zeros((batch_rows, 3)), seq=seq)
    for p in placements:
        rec.append(p, batch)
    n += batch_rows
    print(f"{t[-1]:.6f}", flush=True)
    # pace the writer at real time, as a live session would be
    time.sleep(max(0.0, start + n / rate_hz - time.monotonic()))
"""


def test_sigkill_mid_recording_loses_at_most_the_last_second(tmp_path: Path) -> None:
    path = tmp_path / "killed.h5"
    child = subprocess.Popen(
        [sys.executable, "-c", WRITER, str(path)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert child.stdout is not None
    last_appended_s = 0.0
    deadline = time.monotonic() + 60
    while last_appended_s < 3.0 and time.monotonic() < deadline:
        line = child.stdout.readline()
        if not line:
            break
        last_appended_s = float(line)
    child.send_signal(signal.SIGKILL)
    # anything the child appended after our last read also counts; read the rest
    rest, err = child.communicate(timeout=10)
    for line in rest.split():
        last_appended_s = float(line)
    assert child.returncode == -signal.SIGKILL, err
    assert last_appended_s >= 3.0, err

    recording = load_recording(path)
    assert set(recording.sensors) == {"pelvis", "trunk", "thigh_left", "thigh_right"}
    for sensor in recording.sensors.values():
        samples = sensor.samples
        assert samples.seq is not None
        # every surviving row is exactly what was written, in order, without holes
        np.testing.assert_array_equal(samples.seq, np.arange(len(samples)))
        np.testing.assert_array_equal(samples.acc_m_s2[:, 0], samples.seq.astype(np.float32))
        assert samples.time_s[-1] >= last_appended_s - 1.0

    # the open task's row was written when it started; the reader closes it at the end
    static, stance = recording.tasks
    assert static == Task("static", "", 0.0, 1.0)
    assert (stance.kind, stance.side, stance.start_s) == ("single_leg_stance", "right", 1.5)
    assert stance.end_s == recording.end_s
    assert any("still open" in note for note in recording.notes)
