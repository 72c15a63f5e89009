"""Recorder and reader: format v1 round trip, files written from the spec alone, refusals."""

from __future__ import annotations

from pathlib import Path

import h5py
import numpy as np
import pytest

from hipscope.acquisition.recorder import Recorder, SensorMeta
from hipscope.acquisition.recording import load_recording, open_recording
from hipscope.acquisition.samples import SampleBatch, Task
from hipscope.base.errors import RecordingError


def _batch(t0: float, n: int, rate_hz: float = 100.0, seq0: int = 0) -> SampleBatch:
    rng = np.random.default_rng(int(t0 * 1000) + n)
    return SampleBatch(
        time_s=t0 + np.arange(n) / rate_hz,
        acc_m_s2=rng.normal(0, 1, (n, 3)) + np.array([9.81, 0.0, 0.0]),
        gyr_rad_s=rng.normal(0, 0.1, (n, 3)),
        mag_ut=rng.normal(0, 30, (n, 3)),
        seq=np.arange(seq0, seq0 + n),
    )


def _write(path: Path) -> list[SampleBatch]:
    batches = [_batch(i * 0.1, 10, seq0=i * 10) for i in range(20)]
    sensors = [
        SensorMeta("pelvis", "dev-a", "C0:00:00:00:00:01", "hipscope_open", 100.0, True, True),
        SensorMeta("thigh_left", "dev-b", "", "simulated", 100.0),
    ]
    with Recorder(path, sensors, session_id="s1", athlete="Zoë <x>") as rec:
        for b in batches:
            rec.append("pelvis", b)
            rec.append("thigh_left", SampleBatch(b.time_s, b.acc_m_s2, b.gyr_rad_s))
        rec.add_task(Task("static", "", 0.0, 1.0))
        rec.add_task(Task("single_leg_stance", "left", 1.0, 1.9))
        rec.set_sensor_attrs("pelvis", lost_samples=0, reconnects=2)
    return batches


def test_round_trip_keeps_every_sample_and_task(tmp_path: Path) -> None:
    path = tmp_path / "r.h5"
    batches = _write(path)
    rec = load_recording(path)
    expected = SampleBatch.concat(batches)
    pelvis = rec.sensors["pelvis"]
    np.testing.assert_array_equal(pelvis.samples.time_s, expected.time_s)
    np.testing.assert_array_equal(pelvis.samples.acc_m_s2, expected.acc_m_s2)
    np.testing.assert_array_equal(pelvis.samples.mag_ut, expected.mag_ut)
    np.testing.assert_array_equal(pelvis.samples.seq, expected.seq)
    assert rec.sensors["thigh_left"].samples.mag_ut is None
    assert rec.sensors["thigh_left"].samples.seq is None
    assert rec.athlete == "Zoë <x>" and rec.session_id == "s1"
    assert rec.tasks == (Task("static", "", 0.0, 1.0), Task("single_leg_stance", "left", 1.0, 1.9))
    assert pelvis.attrs["reconnects"] == 2
    assert pelvis.rate_hz == pytest.approx(100.0)
    assert pelvis.lost_samples == 0


def test_recorder_drops_and_counts_bad_rows(tmp_path: Path) -> None:
    path = tmp_path / "r.h5"
    b = _batch(0.0, 10)
    acc = b.acc_m_s2.copy()
    acc[3] = np.nan
    time_s = b.time_s.copy()
    time_s[6] = time_s[5]  # duplicate time
    with Recorder(path, [SensorMeta("pelvis", has_mag=True, has_seq=True)]) as rec:
        kept = rec.append("pelvis", SampleBatch(time_s, acc, b.gyr_rad_s, b.mag_ut, b.seq))
        kept += rec.append("pelvis", _batch(0.05, 3))  # entirely in the past
        assert kept == 8
        assert rec.dropped_rows["pelvis"] == 5
    loaded = load_recording(path)
    assert len(loaded.sensors["pelvis"].samples) == 8
    assert loaded.sensors["pelvis"].attrs["dropped_rows"] == 5


def test_gaps_from_sequence_counter(tmp_path: Path) -> None:
    path = tmp_path / "r.h5"
    with Recorder(path, [SensorMeta("pelvis", has_seq=True)]) as rec:
        rec.append("pelvis", _batch(0.0, 10, seq0=0))
        rec.append("pelvis", _batch(0.2, 10, seq0=20))
    gaps = load_recording(path).sensors["pelvis"].gaps()
    assert len(gaps) == 1 and gaps[0].lost_samples == 10
    assert gaps[0].start_s == pytest.approx(0.09) and gaps[0].end_s == pytest.approx(0.2)


def test_lazy_slice_reads_only_the_window(tmp_path: Path) -> None:
    path = tmp_path / "r.h5"
    _write(path)
    with open_recording(path) as f:
        assert f.placements == ("pelvis", "thigh_left")
        batch = f.read("pelvis", 0.5, 0.8)
        assert batch.time_s[0] == pytest.approx(0.5) and batch.time_s[-1] == pytest.approx(0.8)
        assert f.time_range("pelvis") == pytest.approx((0.0, 1.99))
        assert f.sensor_info("pelvis")["n_samples"] == 200


def _write_from_spec(path: Path) -> None:
    """A file written by independent code from docs/DESIGN.md alone (vlen strings, no SWMR)."""
    with h5py.File(path, "w") as f:
        f.attrs.update(
            format="hipscope-recording",
            format_version=1,
            created_utc="2026-01-02T03:04:05Z",
            session_id="third-party",
            athlete="A",
            software="other 1.0",
        )
        g = f.create_group("sensors/trunk")
        g.attrs.update(device_name="x", device_address="y", profile="z", nominal_rate_hz=50.0)
        n = 100
        g["time_s"] = np.linspace(0, 1.98, n)
        g["acc_m_s2"] = np.tile(np.float32([9.81, 0, 0]), (n, 1))
        g["gyr_rad_s"] = np.zeros((n, 3), np.float32)
        t = f.create_group("tasks")
        t["start_s"] = [0.0]
        t["end_s"] = [1.0]
        t["kind"] = np.array(["static"], dtype=h5py.string_dtype())
        t["side"] = np.array([""], dtype=h5py.string_dtype())


def test_reads_file_written_from_spec_alone(tmp_path: Path) -> None:
    path = tmp_path / "third.h5"
    _write_from_spec(path)
    rec = load_recording(path)
    assert rec.session_id == "third-party"
    assert rec.sensors["trunk"].rate_hz == pytest.approx(50.0)
    assert rec.tasks[0].kind == "static"


def _mutate(path: Path, action: str) -> None:
    _write_from_spec(path)
    with h5py.File(path, "r+") as f:
        if action == "format":
            f.attrs["format"] = "something-else"
        elif action == "version":
            f.attrs["format_version"] = 7
        elif action == "missing":
            del f["sensors/trunk/gyr_rad_s"]
        elif action == "shape":
            del f["sensors/trunk/acc_m_s2"]
            f["sensors/trunk/acc_m_s2"] = np.zeros((100, 2), np.float32)
        elif action == "time":
            f["sensors/trunk/time_s"][50] = 0.0
        elif action == "nan":
            f["sensors/trunk/acc_m_s2"][10, 1] = np.nan
        elif action == "tasks":
            del f["tasks/end_s"]
            f["tasks/end_s"] = [1.0, 2.0]
        elif action == "placement":
            f.move("sensors/trunk", "sensors/elbow")


@pytest.mark.parametrize(
    ("action", "message"),
    [
        ("format", "not a hipscope recording"),
        ("version", "unsupported format_version 7"),
        ("missing", "missing dataset /sensors/trunk/gyr_rad_s"),
        ("shape", "acc_m_s2 has shape (100, 2), expected (100, 3)"),
        ("time", "time_s is not strictly increasing"),
        ("nan", "acc_m_s2 holds NaN or inf"),
        ("tasks", "task rows of unequal length"),
        ("placement", "unknown placement 'elbow'"),
    ],
)
def test_refuses_bad_files_with_one_line(tmp_path: Path, action: str, message: str) -> None:
    path = tmp_path / "bad.h5"
    _mutate(path, action)
    with pytest.raises(RecordingError) as info:
        load_recording(path)
    text = str(info.value)
    assert message in text and str(path) in text and "\n" not in text


def test_refuses_random_bytes_and_truncated_file(tmp_path: Path) -> None:
    noise = tmp_path / "noise.h5"
    noise.write_bytes(np.random.default_rng(0).bytes(4096))
    with pytest.raises(RecordingError, match="not an HDF5 file"):
        load_recording(noise)
    good = tmp_path / "good.h5"
    _write(good)
    truncated = tmp_path / "truncated.h5"
    truncated.write_bytes(good.read_bytes()[: good.stat().st_size // 2])
    with pytest.raises(RecordingError, match=r"truncated\.h5"):
        load_recording(truncated)
    with pytest.raises(RecordingError, match="no such file"):
        load_recording(tmp_path / "absent.h5")


def test_recorder_refuses_overwrite_and_unknown_placement(tmp_path: Path) -> None:
    path = tmp_path / "r.h5"
    _write(path)
    with pytest.raises(RecordingError, match="refusing to overwrite"):
        Recorder(path, [SensorMeta("pelvis")])
    with pytest.raises(RecordingError, match="unknown placement 'wrist'"):
        Recorder(tmp_path / "x.h5", [SensorMeta("wrist")])


def test_batch_missing_a_declared_column_is_dropped_not_filled(tmp_path: Path) -> None:
    path = tmp_path / "r.h5"
    full = _batch(0.0, 10)
    with Recorder(path, [SensorMeta("pelvis", has_mag=True, has_seq=True)]) as rec:
        assert rec.append("pelvis", full) == 10
        no_mag = _batch(0.1, 10, seq0=10)
        assert (
            rec.append(
                "pelvis",
                SampleBatch(no_mag.time_s, no_mag.acc_m_s2, no_mag.gyr_rad_s, seq=no_mag.seq),
            )
            == 0
        )
        assert rec.dropped_rows["pelvis"] == 10
    loaded = load_recording(path)  # still a valid file: no NaN written
    assert len(loaded.sensors["pelvis"].samples) == 10


def test_task_row_is_written_open_at_start_and_closed_at_end(tmp_path: Path) -> None:
    path = tmp_path / "tasks.h5"
    rec = Recorder(path, [SensorMeta("pelvis", nominal_rate_hz=100.0)])
    rec.append("pelvis", _batch(0.0, 300))
    rec.start_task("hip_hinge", "", 1.0)
    with h5py.File(path, "r", swmr=True) as f:  # on disk already, while still recording
        assert f["tasks/kind"][0].decode() == "hip_hinge"
        assert np.isnan(f["tasks/end_s"][0])
    with pytest.raises(RecordingError, match="already open"):
        rec.start_task("squat", "", 1.5)
    assert rec.end_task(2.5) == Task("hip_hinge", "", 1.0, 2.5)
    rec.start_task("squat", "", 2.6)  # still open at close: closed at the last sample
    rec.close()
    recording = load_recording(path)
    assert recording.tasks == (Task("hip_hinge", "", 1.0, 2.5), Task("squat", "", 2.6, 2.99))
    assert recording.notes == ()
