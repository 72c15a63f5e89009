"""Hostile recordings: each one is built here from the input that once broke a command.

The contract for every reader (info, analyze, replay, review, batch all open files through
``RecordingFile``): a clear one-line ``RecordingError`` naming the file, or a readable
recording whose repairs are listed in ``notes``. Never an h5py traceback, never gigabytes.
"""

from __future__ import annotations

import os
import resource
from pathlib import Path

import h5py
import numpy as np
import pytest

from hipscope.acquisition.recorder import Recorder, SensorMeta
from hipscope.acquisition.recording import load_recording, open_recording
from hipscope.acquisition.samples import SampleBatch, Task
from hipscope.base.errors import RecordingError

PLACEMENTS = ("pelvis", "trunk")


def _good(path: Path, seconds: float = 4.0, rate_hz: float = 100.0) -> Path:
    n = int(seconds * rate_hz)
    t = np.arange(n) / rate_hz
    batch = SampleBatch(t, np.tile([9.81, 0.0, 0.0], (n, 1)), np.zeros((n, 3)))
    with Recorder(path, [SensorMeta(p, nominal_rate_hz=rate_hz) for p in PLACEMENTS]) as rec:
        for placement in PLACEMENTS:
            rec.append(placement, batch)
        rec.add_task(Task("static", "", 0.0, 3.0))
    return path


def _refused(path: Path, *fragments: str) -> str:
    for opener in (load_recording, open_recording):
        with pytest.raises(RecordingError) as info:
            opener(path)
        text = str(info.value)
        assert str(path) in text and "\n" not in text, text
        for fragment in fragments:
            assert fragment in text, text
    return text


def test_hdf5_signature_followed_by_garbage(tmp_path: Path) -> None:
    path = tmp_path / "garbage.h5"
    path.write_bytes(b"\x89HDF\r\n\x1a\n" + np.random.default_rng(1).bytes(4096))
    _refused(path, "cannot open HDF5 file")


def test_file_cut_to_eight_bytes(tmp_path: Path) -> None:
    good = _good(tmp_path / "good.h5")
    path = tmp_path / "cut.h5"
    path.write_bytes(good.read_bytes()[:8])
    _refused(path)


def test_soft_link_to_itself_is_refused(tmp_path: Path) -> None:
    path = _good(tmp_path / "loop.h5")
    with h5py.File(path, "r+") as f:
        f["sensors/trunk/mag_ut"] = h5py.SoftLink("/sensors/trunk/mag_ut")
    _refused(path, "/sensors/trunk/mag_ut is a soft link", "links are refused")


def test_external_link_to_another_file_is_refused(tmp_path: Path) -> None:
    other = _good(tmp_path / "other.h5")
    path = _good(tmp_path / "linked.h5")
    with h5py.File(path, "r+") as f:
        del f["sensors/trunk/acc_m_s2"]
        f["sensors/trunk/acc_m_s2"] = h5py.ExternalLink(str(other), "/sensors/trunk/acc_m_s2")
    _refused(path, "external link", "other.h5")


def test_ten_gb_declared_datasets_are_refused_without_allocating(tmp_path: Path) -> None:
    path = _good(tmp_path / "huge.h5")
    rows = 10 * 10**9 // 32  # time (8 B) + acc and gyr (12 B each): ~10 GB declared
    with h5py.File(path, "r+") as f:
        group = f["sensors/trunk"]
        for name in ("time_s", "acc_m_s2", "gyr_rad_s"):
            del group[name]
        group.create_dataset("time_s", (rows,), "f8", chunks=(4096,))
        group.create_dataset("acc_m_s2", (rows, 3), "f4", chunks=(4096, 3))
        group.create_dataset("gyr_rad_s", (rows, 3), "f4", chunks=(4096, 3))
    assert path.stat().st_size < 2_000_000
    before_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    _refused(path, "/sensors/trunk/", "cannot be real in a")
    grown_mb = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before_kb) / 1024
    assert grown_mb < 100


@pytest.mark.parametrize("value", [1.9, 1.0, "1", np.array([1, 1])])
def test_format_version_must_be_the_integer_one(tmp_path: Path, value: object) -> None:
    path = _good(tmp_path / "version.h5")
    with h5py.File(path, "r+") as f:
        f.attrs["format_version"] = value
    _refused(path, "expected the integer 1")


@pytest.mark.parametrize("value", [np.nan, -5.0, "fast", np.array([100.0, 50.0])])
def test_bad_nominal_rate_is_refused(tmp_path: Path, value: object) -> None:
    path = _good(tmp_path / "rate.h5")
    with h5py.File(path, "r+") as f:
        f["sensors/trunk"].attrs["nominal_rate_hz"] = value
    _refused(path, "/sensors/trunk attribute nominal_rate_hz")


@pytest.mark.parametrize(
    ("row", "value", "fragment"),
    [
        (50, 0.1, "not strictly increasing (row 50"),  # time going backwards
        (50, 0.49, "not strictly increasing (row 50"),  # a duplicate time
        (50, np.nan, "time_s holds NaN or inf (first at row 50)"),
    ],
)
def test_replay_refuses_what_info_refuses(
    tmp_path: Path, row: int, value: float, fragment: str
) -> None:
    path = _good(tmp_path / "time.h5")
    with h5py.File(path, "r+") as f:
        f["sensors/trunk/time_s"][row] = value
    _refused(path, fragment)
    pytest.importorskip("PySide6")
    from hipscope.gui.replay import ReplaySource

    with pytest.raises(RecordingError, match="trunk/time_s"):
        ReplaySource(path)


def test_nan_vector_deep_in_a_long_file_is_found(tmp_path: Path) -> None:
    path = _good(tmp_path / "nan.h5", seconds=40.0, rate_hz=200.0)
    with h5py.File(path, "r+") as f:
        f["sensors/pelvis/gyr_rad_s"][7999, 2] = np.inf
    _refused(path, "gyr_rad_s holds NaN or inf (first at row 7999)")


def test_fifo_is_refused_without_hanging(tmp_path: Path) -> None:
    path = tmp_path / "fifo.h5"
    os.mkfifo(path)
    _refused(path, "not a regular file")


def test_open_task_row_from_a_killed_recorder_is_closed_at_the_last_sample(
    tmp_path: Path,
) -> None:
    path = _good(tmp_path / "open.h5")
    with h5py.File(path, "r+") as f:
        for name, value in (("kind", "single_leg_stance"), ("side", "left"),
                            ("start_s", 3.2), ("end_s", np.nan)):
            f["tasks"][name].resize(2, axis=0)
            f["tasks"][name][1] = value
    recording = load_recording(path)
    assert recording.tasks[-1] == Task("single_leg_stance", "left", 3.2, 3.99)
    assert any("still open" in note and "3.99" in note for note in recording.notes)


def test_tasks_outside_the_recording_are_named(tmp_path: Path) -> None:
    path = _good(tmp_path / "outside.h5")
    with h5py.File(path, "r+") as f:
        for name, value in (("kind", "squat"), ("side", ""), ("start_s", 200.0),
                            ("end_s", 230.0)):
            f["tasks"][name].resize(2, axis=0)
            f["tasks"][name][1] = value
    recording = load_recording(path)
    assert [t.kind for t in recording.tasks] == ["static", "squat"]  # kept: rows are data
    (note,) = recording.notes
    assert "squat" in note and "outside the recorded samples (0.00-3.99 s)" in note
    assert "no data to analyse" in note


def test_unwritten_tail_rows_are_dropped_with_a_note(tmp_path: Path) -> None:
    path = _good(tmp_path / "tail.h5")
    with h5py.File(path, "r+") as f:  # extent written, data never: what a failed write leaves
        for name in ("time_s", "acc_m_s2", "gyr_rad_s"):
            f["sensors/trunk"][name].resize(450, axis=0)
    recording = load_recording(path)
    assert recording.sensors["trunk"].n_samples == 400
    assert any("50 trailing row(s) were never written" in n for n in recording.notes)
    with open_recording(path) as file:
        assert file.time_range("trunk") == (0.0, 3.99)
        assert len(file.read("trunk", 3.5)) == 50
