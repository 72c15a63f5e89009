"""LiveAcquisition (the Qt-free acquisition thread) and the `scan`/`record` commands, on the
virtual kit. The recordings are read back with ``load_recording``.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest

from hipscope.acquisition.kit import load_kit
from hipscope.acquisition.recording import load_recording
from hipscope.acquisition.runner import LiveAcquisition
from hipscope.acquisition.samples import SampleBatch
from hipscope.acquisition.simulator import SingleLegStanceSpec, StaticSpec, simulate
from hipscope.acquisition.sources import KitSource
from hipscope.acquisition.virtual.source import VirtualOptions, VirtualSource
from hipscope.base.errors import HipscopeError
from hipscope.cli import main
from hipscope.processing.kinematics import recorded_mountings

SHORT_PROTOCOL = (StaticSpec(duration_s=4.0), SingleLegStanceSpec(side="left", hold_s=3.0))


def test_virtual_protocol_writes_task_rows_and_ends_by_itself(tmp_path: Path) -> None:
    path = tmp_path / "screen.h5"
    options = VirtualOptions(rate_hz=100.0, speed=4.0, seed=2, protocol=SHORT_PROTOCOL)
    live = LiveAcquisition(VirtualSource(options), out_path=path, athlete="A1", protocol="screen")
    seen: dict[str, int] = {}
    threads: set[str] = set()

    def consumer(placement: str, batch: SampleBatch) -> None:
        seen[placement] = seen.get(placement, 0) + len(batch)
        threads.add(threading.current_thread().name)

    live.add_consumer(consumer)
    live.start()
    assert live.wait_connected(15.0), live.error
    status = live.status()
    assert set(status) == {"pelvis", "trunk", "thigh_left", "thigh_right"}
    assert all(s.connected and s.profile == "hipscope_open" for s in status.values())
    assert live.wait_finished(30.0), "the session did not end with its protocol"
    assert live.error is None
    truth = simulate(list(SHORT_PROTOCOL), rate_hz=100.0, seed=2)
    recording = load_recording(path)
    assert recording.athlete == "A1"
    assert [(t.kind, t.side) for t in recording.tasks] == [
        (t.kind, t.side) for t in truth.tasks
    ]
    assert live.planned_tasks == tuple(truth.tasks)  # what the live window shows as running
    for row, planned in zip(recording.tasks, truth.tasks, strict=True):
        assert row.start_s == pytest.approx(planned.start_s)  # session clock = simulated clock
        assert row.end_s == pytest.approx(planned.end_s)
    assert recording.end_s >= truth.tasks[-1].end_s
    for placement, sensor in recording.sensors.items():
        # Exactly the simulated samples: from the first to the last, none replayed.
        n_simulated = len(truth.samples[placement])
        assert sensor.samples.seq[0] == 0 and sensor.samples.seq[-1] == n_simulated - 1
        assert len(sensor.samples) == n_simulated
        assert sensor.lost_samples == 0
        assert seen[placement] >= len(sensor.samples)  # consumers saw what was recorded
    assert threads == {"hipscope-acquisition"}


def test_marks_tasks_cuts_links_and_stops_cleanly_from_another_thread(tmp_path: Path) -> None:
    path = tmp_path / "manual.h5"
    options = VirtualOptions(
        placements=("pelvis", "trunk"), rate_hz=100.0, speed=2.0, protocol=SHORT_PROTOCOL
    )
    live = LiveAcquisition(VirtualSource(options), out_path=path)
    with pytest.raises(HipscopeError, match="not running"):
        live.start_task("squat")
    live.start()
    assert live.wait_connected(15.0), live.error
    time.sleep(0.5)
    live.start_task("squat")
    with pytest.raises(HipscopeError, match="kind"):
        live.start_task("juggling")
    time.sleep(0.5)
    task = live.end_task()
    assert task is not None and task.kind == "squat" and task.end_s > task.start_s
    source = live.source
    assert isinstance(source, VirtualSource)
    source.cut("trunk")
    time.sleep(0.3)
    assert not live.status()["trunk"].connected
    source.restore("trunk")
    deadline = time.monotonic() + 2.0
    while not live.status()["trunk"].connected:
        assert time.monotonic() < deadline, "trunk did not reconnect within 2 s"
        time.sleep(0.02)
    time.sleep(0.3)
    assert live.stop(timeout_s=10.0)
    assert live.finished and live.error is None
    recording = load_recording(path)
    assert [(t.kind, t.start_s, t.end_s) for t in recording.tasks] == [
        ("squat", task.start_s, task.end_s)
    ]
    trunk = recording.sensors["trunk"]
    assert trunk.attrs["reconnects"] == 1
    assert trunk.lost_samples == trunk.attrs["lost_samples"] > 0


def test_bad_arguments_are_refused() -> None:
    with pytest.raises(HipscopeError, match="sensor source"):
        LiveAcquisition(object())  # type: ignore[arg-type]
    with pytest.raises(HipscopeError, match="protocol"):
        LiveAcquisition(VirtualSource(), protocol="yoga")
    with pytest.raises(HipscopeError, match="simulated protocol"):
        VirtualSource(VirtualOptions(protocol="yoga"))


def test_a_missing_kit_file_ends_the_thread_with_the_error(tmp_path: Path) -> None:
    live = LiveAcquisition(KitSource(tmp_path / "nope.toml"))
    live.start()
    assert not live.wait_connected(5.0)
    assert live.finished
    assert isinstance(live.error, HipscopeError) and "nope.toml" in str(live.error)


def test_scan_command_lists_the_virtual_sensors(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["scan", "--virtual", "--timeout", "0.5"]) == 0
    out = capsys.readouterr().out
    for placement in ("PELVIS", "TRUNK", "THIGH_LEFT", "THIGH_RIGHT"):
        assert f"HIPSCOPE-{placement}" in out
    assert out.count("hipscope_open") == 4


KIT = """
name = "rehearsal"
[session]
rate_hz = 50
[[sensor]]
placement = "pelvis"
name = "MY-PELVIS"
profile = "hipscope_open"
[[sensor]]
placement = "trunk"
address = "d0:11:22:33:44:55"
profile = "movella_dot"
rate_hz = 60
"""


def test_virtual_sensors_rehearse_a_kit_file(tmp_path: Path) -> None:
    """The real-kit path (kit file -> scan by name/address -> profile per device)."""
    kit = tmp_path / "kit.toml"
    kit.write_text(KIT)
    path = tmp_path / "kit.h5"
    assert main(["record", "--kit", str(kit), "--virtual", "--duration", "2", "--speed", "2",
                 "--out", str(path)]) == 0
    recording = load_recording(path)
    pelvis, trunk = recording.sensors["pelvis"], recording.sensors["trunk"]
    assert (pelvis.device_name, pelvis.profile, pelvis.nominal_rate_hz) == (
        "MY-PELVIS", "hipscope_open", 50.0)
    assert (trunk.device_address, trunk.profile, trunk.nominal_rate_hz) == (
        "D0:11:22:33:44:55", "movella_dot", 60.0)
    assert pelvis.rate_hz == pytest.approx(50.0, rel=0.02)
    assert trunk.rate_hz == pytest.approx(60.0, rel=0.02)
    # the kit's mounting travels with the recording, for calibration to start from
    kit_devices = {d.placement: d for d in load_kit(kit).devices}
    for placement, sensor in recording.sensors.items():
        np.testing.assert_allclose(
            sensor.attrs["nominal_q_segment_sensor"], kit_devices[placement].q_segment_sensor
        )
    assert set(recorded_mountings(recording)) == set(recording.sensors)
    kit.write_text(KIT.replace("d0:11", "00:11"))  # a public address cannot be simulated
    assert main(["record", "--kit", str(kit), "--virtual", "--out", str(tmp_path / "x.h5")]) == 1


def test_record_command_refuses_bad_input(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["record", "--out", str(tmp_path / "a.h5")]) == 1
    assert "--kit" in capsys.readouterr().err
    assert main(["record", "--out", str(tmp_path / "a.h5"), "--kit", "missing.toml"]) == 1
    assert "missing.toml" in capsys.readouterr().err
    existing = tmp_path / "b.h5"
    existing.write_bytes(b"")
    assert main(["record", "--out", str(existing), "--virtual"]) == 1
    assert "exists" in capsys.readouterr().err


def _hipscope(*args: str) -> subprocess.Popen[str]:
    exe = Path(sys.executable).with_name("hipscope")
    return subprocess.Popen(
        [str(exe), *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        env={**os.environ, "COLUMNS": "120"},
    )


def _wait_recording(path: Path, process: subprocess.Popen[str], seconds_of_data: float) -> None:
    deadline = time.monotonic() + 60.0
    while not path.exists():
        assert process.poll() is None, process.communicate()
        assert time.monotonic() < deadline
        time.sleep(0.1)
    time.sleep(seconds_of_data)


@pytest.mark.parametrize("kill", [signal.SIGKILL, signal.SIGTERM, signal.SIGINT])
def test_killed_record_process_leaves_a_readable_file(tmp_path: Path, kill: signal.Signals) -> None:
    path = tmp_path / "killed.h5"
    process = _hipscope("record", "--virtual", "--speed", "2", "--out", str(path))
    try:
        _wait_recording(path, process, 4.0)
        process.send_signal(kill)
        out, err = process.communicate(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
    recording = load_recording(path)
    assert set(recording.sensors) == {"pelvis", "trunk", "thigh_left", "thigh_right"}
    # ~4 s at speed 2 were streamed; the writer flushes every 0.5 s, so little is lost.
    assert recording.end_s > 4.0
    for sensor in recording.sensors.values():
        assert len(sensor.samples) > 100
        assert np.all(np.diff(sensor.samples.time_s) > 0)
    if kill != signal.SIGKILL:  # a clean stop: exit 0 and the counters are stored
        assert process.returncode == 0, err
        assert "killed.h5" in out
        assert all("lost_samples" in s.attrs for s in recording.sensors.values())


def test_guided_screen_prompts_and_writes_each_task(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The prompts real sensors get (here on the virtual kit, with short holds)."""
    from rich.console import Console

    from hipscope.commands import acquire

    steps = (("static", "", "Stand still", 1.0), ("single_leg_stance", "left", "Left leg", 1.0))
    monkeypatch.setattr(acquire, "GUIDED_SCREEN", steps)
    path = tmp_path / "guided.h5"
    live = LiveAcquisition(
        VirtualSource(VirtualOptions(placements=("pelvis",), protocol=SHORT_PROTOCOL)),
        out_path=path,
    )
    console = Console(record=True, width=100)
    acquire._run_live(console, live, path, guided=True)
    recording = load_recording(path)
    assert [(t.kind, t.side) for t in recording.tasks] == [(k, s) for k, s, _, _ in steps]
    for task in recording.tasks:
        assert task.end_s - task.start_s == pytest.approx(1.0, abs=0.3)
    text = console.export_text()
    assert "Stand still" in text and "Left leg" in text and "guided.h5" in text


def test_stop_right_after_start_returns_promptly_without_a_recording(tmp_path: Path) -> None:
    live = LiveAcquisition(VirtualSource(), out_path=tmp_path / "n.h5")
    started = time.monotonic()
    live.start()
    assert live.stop(timeout_s=10.0)
    assert time.monotonic() - started < 5.0
    assert live.error is None and not (tmp_path / "n.h5").exists()
    assert not live.wait_connected(0.1)


def test_recordings_can_start_and_stop_while_streaming(tmp_path: Path) -> None:
    options = VirtualOptions(placements=("pelvis", "thigh_left"), speed=2.0,
                             protocol=SHORT_PROTOCOL)
    live = LiveAcquisition(VirtualSource(options))
    live.start()
    try:
        assert live.wait_connected(15.0), live.error
        time.sleep(1.5)  # past the backlog a recording started at once would keep
        assert not live.recording
        live.start_recording(tmp_path / "one.h5")
        assert live.recording
        time.sleep(0.5)
        assert live.stop_recording() == tmp_path / "one.h5"
        time.sleep(0.3)
        live.start_recording(tmp_path / "two.h5")
        time.sleep(0.5)
    finally:
        live.stop()
    one, two = load_recording(tmp_path / "one.h5"), load_recording(tmp_path / "two.h5")
    for placement in ("pelvis", "thigh_left"):
        a, b = one.sensors[placement].samples, two.sensors[placement].samples
        assert a.seq[0] > 0  # not the backlog since connecting: the recording began later
        assert 0.8 <= a.time_s[-1] - a.time_s[0] <= 1.3  # ~0.5 s wall at speed 2
        gap = int(b.seq[0]) - int(a.seq[-1])
        assert 0.4 * 100 <= gap <= 1.0 * 100  # the 0.3 s wall between them (x2, at 100 Hz)
    assert live.recording_paths == [tmp_path / "one.h5", tmp_path / "two.h5"]


def test_the_runner_knows_no_simulator() -> None:
    """The runner takes its sensors from a source; nothing virtual is imported by it."""
    import ast
    import inspect

    from hipscope.acquisition import runner

    tree = ast.parse(inspect.getsource(runner))
    imported = {
        node.module or ""
        for node in ast.walk(tree)
        if isinstance(node, ast.ImportFrom)
    } | {alias.name for node in ast.walk(tree) if isinstance(node, ast.Import)
         for alias in node.names}
    assert not [name for name in imported if "virtual" in name or "simulator" in name]
    assert not hasattr(LiveAcquisition, "cut_link")
