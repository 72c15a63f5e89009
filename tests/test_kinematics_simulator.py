"""Kinematics of simulated screen sessions against the simulator's true segment orientations.

The simulator (acquisition.simulator, written by another engineer) produces IMU signals with
noise, gyroscope bias and a random mounting misalignment; its ``q_world_segment`` is the
truth. Angles of the truth come from the same angle definitions, so what is tested here is
fusion + resampling + calibration.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pytest
from scipy.spatial.transform import Rotation

from hipscope.acquisition.recording import load_recording
from hipscope.acquisition.samples import SampleBatch
from hipscope.acquisition.simulator import simulate
from hipscope.processing.angles import compute_angles
from hipscope.processing.kinematics import compute_kinematics

CHECKED = {
    "pelvis_obliquity": 1.0,
    "pelvis_tilt": 1.5,
    "hip_flexion_left": 1.5,
    "hip_flexion_right": 1.5,
    "hip_adduction_left": 1.5,
    "hip_adduction_right": 1.5,
    "lumbar_flexion": 1.5,
    "thigh_sagittal_left": 1.5,
}


def _tilt_pelvis_sensor(sim, tilt_deg: float):  # type: ignore[no-untyped-def]
    """Re-mount the pelvis sensor tilted about its (nominally mediolateral) y axis."""
    extra = Rotation.from_rotvec([0.0, np.radians(tilt_deg), 0.0])  # R_old_new
    b = sim.samples["pelvis"]
    tilted = SampleBatch(
        b.time_s,
        extra.inv().apply(b.acc_m_s2.astype(np.float64)),
        extra.inv().apply(b.gyr_rad_s.astype(np.float64)),
        seq=b.seq,
    )
    return dataclasses.replace(sim, samples={**sim.samples, "pelvis": tilted})


@pytest.mark.parametrize(
    ("rate_hz", "misalignment_deg", "seed", "pelvis_tilt_deg"),
    [(60.0, 15.0, 11, 0.0), (200.0, 15.0, 12, 35.0)],
)
def test_simulated_session_angles_match_truth(
    tmp_path: Path, rate_hz: float, misalignment_deg: float, seed: int, pelvis_tilt_deg: float
) -> None:
    sim = simulate(rate_hz=rate_hz, seed=seed, misalignment_deg=misalignment_deg)
    if pelvis_tilt_deg:
        sim = _tilt_pelvis_sensor(sim, pelvis_tilt_deg)
    path = tmp_path / "session.h5"
    sim.write(path)
    kin = compute_kinematics(load_recording(path))
    assert kin.calibration.method == "static task"
    if pelvis_tilt_deg:
        assert kin.calibration.segments["pelvis"].misalignment_rad > np.radians(25.0)
    truth = compute_angles(sim.q_world_segment)
    for name, bound_deg in CHECKED.items():
        reference = np.interp(kin.time_s, sim.time_s, truth[name])
        error = kin.angles_rad[name] - reference
        assert np.isfinite(error).mean() > 0.99
        rms = float(np.degrees(np.sqrt(np.nanmean(error**2))))
        assert rms < bound_deg, f"{name}: {rms:.2f}° RMS"


def test_missing_sensor_gives_only_the_angles_it_allows(tmp_path: Path) -> None:
    sim = simulate(rate_hz=100.0, seed=4, placements=("pelvis", "thigh_left"))
    sim.write(tmp_path / "two.h5")
    kin = compute_kinematics(load_recording(tmp_path / "two.h5"))
    assert set(kin.q_world_segment) == {"pelvis", "thigh_left"}
    assert "hip_flexion_left" in kin.angles_rad and "pelvis_obliquity" in kin.angles_rad
    unexpected = [
        k for k in kin.angles_rad if k.endswith("_right") or k.startswith(("trunk", "lumbar"))
    ]
    assert not unexpected
    # At the calibration standing window the world specific force is +g along z.
    i = kin.index_of(0.5 * (kin.calibration.window_start_s + kin.calibration.window_end_s))
    np.testing.assert_allclose(kin.acc_world_m_s2["pelvis"][i], [0.0, 0.0, 9.81], atol=0.15)


def test_9d_kinematics_with_magnetometers_match_truth(tmp_path: Path) -> None:
    sim = simulate(rate_hz=100.0, seed=13, misalignment_deg=15.0, with_mag=True)
    sim.write(tmp_path / "mag.h5")
    recording = load_recording(tmp_path / "mag.h5")
    assert all(s.samples.mag_ut is not None for s in recording.sensors.values())
    kin = compute_kinematics(recording, use_mag=True)
    truth = compute_angles(sim.q_world_segment)
    for name in ("pelvis_obliquity", "hip_flexion_left", "hip_rotation_right", "lumbar_flexion"):
        error = kin.angles_rad[name] - np.interp(kin.time_s, sim.time_s, truth[name])
        rms = float(np.degrees(np.sqrt(np.nanmean(error**2))))
        assert rms < 1.5, f"{name}: {rms:.2f}° RMS"
