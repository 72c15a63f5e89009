"""Memory follows the samples, not the time span: clock jumps and long pauses."""

from __future__ import annotations

from pathlib import Path

import hostile_files
import numpy as np
import pytest

from hipscope.acquisition.recording import load_recording
from hipscope.base.errors import HipscopeError
from hipscope.processing.kinematics import (
    LONG_GAP_S,
    compute_kinematics,
    covered_spans,
    session_grid,
)
from hipscope.processing.pipeline import analyze_recording


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("gaps")
    hostile_files.base_recording(folder / "base.h5")
    return folder


def _stance_drop(doc: dict) -> float | None:
    stance = next(t for t in doc["tasks"] if t["kind"] == "single_leg_stance")
    return stance["metrics"]["pelvic_drop_mean_deg"]


def test_a_plain_recording_keeps_its_one_uniform_grid(folder: Path) -> None:
    recording = load_recording(folder / "base.h5")
    grid, rate = session_grid(recording, None)
    assert covered_spans(recording) == [(recording.start_s, recording.end_s)]
    expected = recording.start_s + np.arange(round(recording.duration_s * rate) + 1) / rate
    np.testing.assert_array_equal(grid, expected)


@pytest.mark.parametrize("jump_s", [86_400.0, 1e6, 1e12])
def test_a_clock_jump_costs_no_grid_and_keeps_the_tasks(folder: Path, jump_s: float) -> None:
    """The issue's probe: a 1-day jump made analyze use 4 GB, 1e6 s a MemoryError."""
    base = load_recording(folder / "base.h5")
    path = hostile_files.clock_jump(folder / "base.h5", folder, jump_s)
    recording = load_recording(path)
    grid, _ = session_grid(recording, None)
    assert len(grid) <= sum(s.n_samples for s in base.sensors.values())
    assert np.all(np.diff(grid) > 0)
    jump = int(np.flatnonzero(np.diff(grid) > LONG_GAP_S)[0])
    assert grid[jump] < 7.1 and grid[jump + 1] > jump_s  # one NaN row, then the far side
    kin = compute_kinematics(recording)
    assert not np.isfinite(kin.q_world_segment["pelvis"][jump]).any()
    assert np.isfinite(kin.q_world_segment["pelvis"][jump - 2]).all()
    assert kin.index_of(jump_s + 10.0) == int(np.argmin(np.abs(grid - (jump_s + 10.0))))
    doc = analyze_recording(recording).to_dict()
    static = doc["tasks"][0]["metrics"]
    assert static["pelvis_tilt_mean_deg"] is not None  # before the jump: analysed as before
    assert _stance_drop(doc) is None  # the stance's samples now lie a jump later


def test_a_jump_of_one_sensor_leaves_the_others_alone(folder: Path) -> None:
    base = analyze_recording(folder / "base.h5").to_dict()
    path = hostile_files.clock_jump_day_one_sensor(folder / "base.h5", folder)
    doc = analyze_recording(path).to_dict()
    assert _stance_drop(doc) == pytest.approx(_stance_drop(base), abs=0.2)


def test_sparse_time_stamps_are_refused_not_allocated(tmp_path: Path) -> None:
    from hipscope.acquisition.recorder import Recorder, SensorMeta
    from hipscope.acquisition.samples import SampleBatch

    n = 2000
    time_s = np.arange(n) * 9.0  # under the long-gap limit: one covered span of 5 hours
    rng = np.random.default_rng(0)
    acc = np.array([9.81, 0.0, 0.0]) + rng.normal(0, 0.01, (n, 3))
    path = tmp_path / "sparse.h5"
    meta = SensorMeta("pelvis", "dev", "", "p", 1000.0)
    with Recorder(path, [meta]) as recorder:
        recorder.append("pelvis", SampleBatch(time_s, acc, rng.normal(0, 0.01, (n, 3))))
    with pytest.raises(HipscopeError, match="time stamps are too sparse to analyse"):
        session_grid(load_recording(path), None)
