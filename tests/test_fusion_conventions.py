"""Every fusion method returns sensor-to-world quaternions in one z-up (ENU in 9D) frame.

Synthetic ground truth: a sensor in a known orientation (at rest, or turning at a known
rate), with the specific force and Earth field that orientation produces in ENU.
"""

from __future__ import annotations

import numpy as np
import pytest
from scipy.spatial.transform import Rotation

from hipscope.base.errors import HipscopeError
from hipscope.base.rotations import from_rotation, to_rotation
from hipscope.processing.fusion import (
    FUSION_METHODS,
    MadgwickParams,
    OrientationFilter,
    VQFParams,
    estimate_orientation,
    initial_orientation,
    orientation_error,
)

G = 9.81
# Earth field in ENU (µT): north and down, dip ~66° (central Europe).
MAG_ENU = np.array([0.0, 20.0, -45.0])
RATE = 100.0


def _signals(r_world_sensor: Rotation, rng: np.random.Generator) -> tuple[np.ndarray, ...]:
    n = len(r_world_sensor)
    step = (r_world_sensor[:-1].inv() * r_world_sensor[1:]).as_rotvec() * RATE
    gyr = np.vstack([step[:1], step]) + rng.normal(0.0, 0.002, (n, 3))
    acc = r_world_sensor.inv().apply([0.0, 0.0, G]) + rng.normal(0.0, 0.02, (n, 3))
    mag = r_world_sensor.inv().apply(MAG_ENU) + rng.normal(0.0, 0.2, (n, 3))
    return gyr, acc, mag


@pytest.mark.parametrize("method", FUSION_METHODS)
def test_all_methods_agree_on_gravity_and_enu_heading_at_rest(method: str) -> None:
    rng = np.random.default_rng(7)
    truth = Rotation.from_euler("ZYX", [130.0, 25.0, -40.0], degrees=True)
    r = Rotation.concatenate([truth] * 600)
    gyr, acc, mag = _signals(r, rng)
    q6 = estimate_orientation(gyr, acc, RATE, method=method)
    q9 = estimate_orientation(gyr, acc, RATE, mag_ut=mag, method=method)
    # Gravity: world up seen from the sensor equals the measured specific force direction.
    up_est = to_rotation(q6[-100:]).inv().apply([0.0, 0.0, 1.0]).mean(axis=0)
    up_true = truth.inv().apply([0.0, 0.0, 1.0])
    assert np.degrees(np.arccos(np.clip(up_est @ up_true / np.linalg.norm(up_est), -1, 1))) < 1.0
    # 9D: the whole orientation, heading included, in ENU.
    err = orientation_error(q9[-100:], np.tile(from_rotation(truth), (100, 1)))
    assert np.degrees(err.total_rad) < 2.0, f"{method}: {np.degrees(err.total_rad):.2f}°"
    assert np.all(q9[:, 0] >= 0.0)


@pytest.mark.parametrize("method", FUSION_METHODS)
def test_gyroscope_integrates_with_the_right_sign(method: str) -> None:
    rng = np.random.default_rng(3)
    t = np.arange(0.0, 8.0, 1.0 / RATE)
    yaw = np.radians(90.0) * np.clip(t - 2.0, 0.0, 4.0) / 4.0  # 90° turn left in 4 s
    pitch = np.radians(30.0) * np.sin(np.pi * np.clip(t - 2.0, 0.0, 4.0) / 4.0)
    r = Rotation.from_euler("ZY", np.column_stack([yaw, pitch]))
    gyr, acc, mag = _signals(r, rng)
    q = estimate_orientation(gyr, acc, RATE, mag_ut=mag, method=method)
    err = orientation_error(q, from_rotation(r))
    assert np.degrees(err.total_rad) < 4.0, f"{method}: {np.degrees(err.total_rad):.2f}°"


def test_nan_rows_stay_nan_and_6d_heading_continues_across_a_gap() -> None:
    rng = np.random.default_rng(1)
    t = np.arange(0.0, 10.0, 1.0 / RATE)
    r = Rotation.from_euler("ZX", np.column_stack([0.3 * np.sin(t), 0.2 * np.cos(t)]))
    gyr, acc, _ = _signals(r, rng)
    gyr[400:450] = np.nan
    q = estimate_orientation(gyr, acc, RATE, method="vqf-offline")
    assert np.isnan(q[400:450]).all()
    assert np.isfinite(q[:400]).all() and np.isfinite(q[450:]).all()
    # One constant heading offset explains the whole recording, both sides of the gap.
    truth = from_rotation(r)
    ok = np.isfinite(q).all(axis=1)
    err = orientation_error(q[ok], truth[ok], remove_heading_offset=True)
    assert np.degrees(err.total_rad) < 2.0


def test_streaming_filter_skips_bad_rows_without_losing_state() -> None:
    rng = np.random.default_rng(2)
    r = Rotation.concatenate([Rotation.from_euler("X", 20.0, degrees=True)] * 300)
    gyr, acc, _ = _signals(r, rng)
    acc[100] = np.nan
    for method in ("vqf", "madgwick"):
        out = OrientationFilter(method, RATE).update(gyr, acc)
        assert np.isnan(out[100]).all() and np.isfinite(np.delete(out, 100, axis=0)).all()


def test_initial_orientation_matches_truth_in_enu() -> None:
    truth = Rotation.from_euler("ZYX", [-60.0, 10.0, 5.0], degrees=True)
    q = initial_orientation(truth.inv().apply([0, 0, G])[None], truth.inv().apply(MAG_ENU)[None])
    err = orientation_error(q[None], from_rotation(truth)[None])
    assert np.degrees(err.total_rad) < 1e-6


def test_bad_method_and_params_are_refused() -> None:
    with pytest.raises(HipscopeError, match="not one of"):
        estimate_orientation(np.zeros((3, 3)), np.ones((3, 3)), RATE, method="kalman")
    with pytest.raises(HipscopeError, match="takes MadgwickParams"):
        estimate_orientation(
            np.zeros((3, 3)), np.ones((3, 3)), RATE, method="madgwick", params=VQFParams()
        )
    with pytest.raises(HipscopeError, match="shape"):
        estimate_orientation(np.zeros((3, 2)), np.ones((3, 3)), RATE)
    with pytest.raises(HipscopeError, match="not one of"):
        OrientationFilter("vqf-offline", RATE)
    assert MadgwickParams().gain_9d == pytest.approx(0.12)


def test_offline_vqf_is_tilted_little_by_the_start_and_stop_of_a_walk() -> None:
    # A level sensor that stands, speeds up to 1.2 m/s within one second, keeps that speed
    # for 20 s and stops again: no rotation at all, only the horizontal specific force of
    # the two velocity changes. Inclination error about dv / (2 g tau): ~0.6° at the
    # offline default of 6 s, ~1.2° at the library's 3 s.
    t = np.arange(0.0, 40.0, 1.0 / RATE)
    pulse = lambda t0: np.where((t > t0) & (t < t0 + 1.0), np.sin(np.pi * (t - t0)) ** 2, 0.0)  # noqa: E731
    forward = 2.4 * (pulse(10.0) - pulse(31.0))  # each pulse integrates to 1.2 m/s
    acc = np.column_stack([forward, np.zeros_like(t), np.full_like(t, G)])
    gyr = np.zeros_like(acc)

    def worst_tilt_deg(params: VQFParams | None) -> float:
        q = estimate_orientation(gyr, acc, RATE, method="vqf-offline", params=params)
        up = to_rotation(q).inv().apply([0.0, 0.0, 1.0])
        return float(np.degrees(np.arccos(np.clip(up[:, 2], -1.0, 1.0))).max())

    assert worst_tilt_deg(None) < 0.8
    assert worst_tilt_deg(VQFParams()) > 1.0
