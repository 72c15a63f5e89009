"""Live kinematics fed batch by batch converge to the offline kinematics of the same session."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from test_kinematics_synthetic import synthetic_session

from hipscope.acquisition.samples import SampleBatch
from hipscope.base.errors import HipscopeError
from hipscope.processing.kinematics import compute_kinematics
from hipscope.processing.streaming import StreamingKinematics

ANGLES = (
    "pelvis_obliquity",
    "pelvis_tilt",
    "hip_flexion_left",
    "hip_flexion_right",
    "lumbar_flexion",
)


def _feed(live: StreamingKinematics, recording, batch_size: int = 7) -> None:
    sensors = recording.sensors
    n = max(len(s.samples) for s in sensors.values())
    for start in range(0, n, batch_size):
        for placement, sensor in sensors.items():
            part = sensor.samples.take(slice(start, start + batch_size))
            if len(part):
                live.update(placement, part)


def _rms_deg(a: np.ndarray, b: np.ndarray) -> float:
    ok = np.isfinite(a) & np.isfinite(b)
    assert ok.sum() > 0.9 * len(a)
    return float(np.degrees(np.sqrt(np.mean((a[ok] - b[ok]) ** 2))))


@pytest.mark.parametrize("rate_hz", [60.0, 100.0])
def test_streaming_angles_converge_to_batch_angles(rate_hz: float) -> None:
    recording, _, _ = synthetic_session(rate_hz=rate_hz, misalignment_deg=12.0, seed=5)
    batch = compute_kinematics(recording)
    live = StreamingKinematics(list(recording.sensors), rate_hz, auto_reference=False)
    _feed(live, recording)
    mounts = {p: s.q_sensor_segment for p, s in batch.calibration.segments.items()}
    live.set_reference(batch.calibration.window_end_s, q_sensor_segment=mounts)
    time_s, angles = live.angles_since(None)
    assert set(batch.angles_rad) == set(angles)
    for name in ANGLES:
        reference = np.interp(time_s, batch.time_s, batch.angles_rad[name])
        error = _rms_deg(angles[name], reference)
        assert error < 1.0, f"{name}: {error:.2f}° RMS from the batch angles"


def test_auto_reference_and_incremental_reads() -> None:
    recording, t, truth = synthetic_session(rate_hz=100.0, misalignment_deg=0.0, seed=6)
    live = StreamingKinematics(list(recording.sensors), 100.0, reference_s=2.0)
    empty_time, empty = live.angles_since(None)
    assert len(empty_time) == 0 and empty == {}
    _feed(live, recording)
    assert live.reference_ is not None and live.reference_.method == "live reference"
    # The automatic reference happened during the first seconds of quiet standing.
    assert live.reference_.window_end_s < recording.start_s + 2.2
    time_a, first = live.angles_since(130.0)
    time_b, _ = live.angles_since(float(time_a[-1]))
    assert len(time_b) == 0
    assert np.all(np.diff(time_a) > 0) and time_a[0] > 130.0
    # With nominal mounting (no misalignment) the live angles follow the truth.
    truth_flexion = np.interp(time_a, t, truth["hip_flexion_left"])
    assert _rms_deg(first["hip_flexion_left"], truth_flexion) < 1.5


def test_buffer_keeps_only_recent_history_and_bad_input_is_refused() -> None:
    recording, _, _ = synthetic_session(rate_hz=100.0, seed=7)
    live = StreamingKinematics(list(recording.sensors), 100.0, buffer_s=5.0)
    _feed(live, recording, batch_size=50)
    time_s, angles = live.angles_since(None)
    assert time_s[-1] - time_s[0] <= 5.0 + 1e-6
    assert "pelvis_obliquity" in angles
    with pytest.raises(HipscopeError, match="not configured"):
        live.update("foot_left", SampleBatch.empty())
    with pytest.raises(HipscopeError, match="not one of"):
        StreamingKinematics(["pelvis"], 100.0, fusion="vqf-offline")


def test_mixed_rate_kit_fuses_each_sensor_at_its_own_rate() -> None:
    fast, t, truth = synthetic_session(rate_hz=100.0, misalignment_deg=0.0, seed=12)
    slow, _, _ = synthetic_session(rate_hz=60.0, misalignment_deg=0.0, seed=12)
    sensors = {**fast.sensors, "thigh_left": slow.sensors["thigh_left"]}
    recording = dataclasses.replace(fast, sensors=sensors)
    live = StreamingKinematics(list(sensors), 100.0)
    _feed(live, recording, batch_size=5)
    assert live.sensor_rates_hz_["thigh_left"] == pytest.approx(60.0, rel=0.01)
    assert live.sensor_rates_hz_["pelvis"] == 100.0
    time_s, angles = live.angles_since(106.0)
    for name in ("hip_flexion_left", "hip_flexion_right"):
        reference = np.interp(time_s, t, truth[name])
        assert _rms_deg(angles[name], reference) < 1.5, name
    # The offline path copes with the same kit.
    batch = compute_kinematics(recording)
    reference = np.interp(batch.time_s, t, truth["hip_flexion_left"])
    assert _rms_deg(batch.angles_rad["hip_flexion_left"], reference) < 1.0


def test_auto_reference_waits_until_every_sensor_is_still() -> None:
    recording, _, _ = synthetic_session(rate_hz=100.0, seed=16)
    moving_from = {
        p: dataclasses.replace(s, samples=s.samples.take(s.samples.time_s >= 106.0))
        for p, s in recording.sensors.items()
    }
    live = StreamingKinematics(list(moving_from), 100.0, reference_s=2.0)
    _feed(live, dataclasses.replace(recording, sensors=moving_from))
    assert live.reference_ is not None
    # 106-112 s single-leg stance, 113-122 s hinge: the first 2 s of stillness end after 123 s.
    assert live.reference_.window_end_s > 123.0


def test_kit_mounting_is_used_by_the_live_reference() -> None:
    from scipy.spatial.transform import Rotation
    from test_kinematics_synthetic import MOUNT

    from hipscope.base.rotations import from_rotation

    recording, t, truth = synthetic_session(rate_hz=100.0, misalignment_deg=0.0, seed=18)
    turn = Rotation.from_rotvec([np.pi / 2, 0.0, 0.0])  # thigh sensor turned on its long axis
    thigh = recording.sensors["thigh_left"]
    b = thigh.samples
    turned = SampleBatch(b.time_s, turn.inv().apply(b.acc_m_s2), turn.inv().apply(b.gyr_rad_s))
    sensors = {**recording.sensors, "thigh_left": dataclasses.replace(thigh, samples=turned)}
    remounted = dataclasses.replace(recording, sensors=sensors)
    kit_q = from_rotation((turn.inv() * Rotation.from_matrix(MOUNT["thigh_left"])).inv())

    def adduction_error(mountings: dict) -> float:
        live = StreamingKinematics(list(sensors), 100.0, mountings=mountings)
        _feed(live, remounted)
        time_s, angles = live.angles_since(106.0)
        reference = np.interp(time_s, t, truth["hip_adduction_left"])
        return _rms_deg(angles["hip_adduction_left"], reference)

    assert adduction_error({"thigh_left": kit_q}) < 1.5
    assert adduction_error({}) > 5.0
