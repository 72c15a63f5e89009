"""The cue tone really sounds: a private PulseAudio server with a null sink plays the live
window's cues, and the sink's monitor records them (skipped without PulseAudio)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

RATE_HZ = 44_100

WINDOW_SCRIPT = """
import json
from PySide6 import QtCore, QtWidgets
from hipscope.base.cues import CueEvent, parse_rules
from hipscope.gui.hub import DataHub
from hipscope.gui.live import LiveWindow

class Acquisition:
    def status(self):
        return {p: {"connected": False} for p in ("pelvis", "trunk")}
    def session_time_s(self):
        return 1.0
    def add_consumer(self, consumer):
        pass

app = QtWidgets.QApplication([])
hub = DataHub(("pelvis", "trunk"), 100.0, kinematics_factory=None)
window = LiveWindow(Acquisition(), hub=hub, cue_rules=parse_rules(["pelvic_drop_deg>5"]))
window.show()

def wait(ms):
    loop = QtCore.QEventLoop()
    QtCore.QTimer.singleShot(ms, loop.quit)
    loop.exec()

wait(800)  # the sound effect loads its WAV
for value in (6.0, 7.0):
    event = CueEvent(1.0, "pelvic_drop_deg>5", "pelvic_drop_deg", value, 5.0,
                     "single_leg_stance", "left")
    window.show_cue(event)
    wait(700)
print(json.dumps({"problem": window.cue_tone.problem, "played": window.cue_tone.played}))
window.close()
"""


@pytest.fixture
def pulse_server(tmp_path: Path) -> Iterator[dict[str, str]]:
    if not (shutil.which("pulseaudio") and shutil.which("parec")):
        pytest.skip("PulseAudio (pulseaudio, parec) is not installed")
    home = tmp_path / "pulse"
    home.mkdir(mode=0o700)
    env = {**os.environ, "XDG_RUNTIME_DIR": str(home), "HOME": str(home)}
    env.pop("PULSE_SERVER", None)
    server = subprocess.Popen(
        [
            "pulseaudio", "-n", "--daemonize=no", "--exit-idle-time=-1",
            "-L", "module-null-sink sink_name=cue_sink",
            "-L", "module-native-protocol-unix",
        ],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 10.0
        while not (home / "pulse" / "native").exists():
            if server.poll() is not None or time.monotonic() > deadline:
                pytest.skip("the private PulseAudio server did not start")
            time.sleep(0.05)
        yield env
    finally:
        server.terminate()
        try:
            server.wait(5.0)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait(5.0)


@pytest.mark.slow
@pytest.mark.timeout(120)
def test_each_cue_plays_the_tone_on_the_audio_device(
    pulse_server: dict[str, str], tmp_path: Path
) -> None:
    recording = tmp_path / "sink.raw"
    with recording.open("wb") as out:
        recorder = subprocess.Popen(
            ["parec", "-d", "cue_sink.monitor", "--raw", "--format=s16le", "--channels=1",
             f"--rate={RATE_HZ}", "--latency-msec=20"],
            env=pulse_server,
            stdout=out,
            stderr=subprocess.DEVNULL,
        )  # fmt: skip
        try:
            time.sleep(0.5)
            env = {**pulse_server, "QT_QPA_PLATFORM": "offscreen"}
            result = subprocess.run(
                [sys.executable, "-c", WINDOW_SCRIPT],
                env=env,
                capture_output=True,
                text=True,
                timeout=90,
                check=True,
            )
            time.sleep(1.5)  # what the recorder still holds
        finally:
            recorder.terminate()
            recorder.wait(5.0)
    state = json.loads(result.stdout.strip().splitlines()[-1])
    assert state == {"problem": "", "played": 2}

    sound = np.fromfile(recording, dtype="<i2").astype(np.float64)
    loud = np.flatnonzero(np.abs(sound) > 2000)
    assert loud.size, "the sink heard nothing"
    # two bursts (one per cue), ~0.7 s apart, each about the tone's length
    bursts = np.split(loud, np.flatnonzero(np.diff(loud) > 0.1 * RATE_HZ) + 1)
    assert len(bursts) == 2
    for burst in bursts:
        assert 0.08 < (burst[-1] - burst[0]) / RATE_HZ < 0.3
        segment = sound[burst[0] : burst[-1]]
        spectrum = np.abs(np.fft.rfft(segment * np.hanning(segment.size)))
        assert np.argmax(spectrum) * RATE_HZ / segment.size == pytest.approx(880.0, abs=15.0)
