"""Calibration building blocks: stillness, functional axis, mounting and the JSON summary."""

from __future__ import annotations

import json

import numpy as np
import pytest
from scipy.spatial.transform import Rotation

from hipscope.acquisition.samples import Task
from hipscope.base.rotations import from_rotation, to_rotation
from hipscope.processing.calibration import (
    NOMINAL_SENSOR_SEGMENT,
    Calibrator,
    principal_horizontal_axis,
    segment_frame,
    stillness_score,
)

RATE = 100.0


def test_stillness_score_finds_the_quiet_second_and_refuses_gaps() -> None:
    rng = np.random.default_rng(0)
    n = 1000
    gyr = rng.normal(0.0, 0.3, (n, 3))
    acc = np.tile([0.0, 0.0, 9.81], (n, 1)) + rng.normal(0.0, 1.0, (n, 3))
    gyr[400:500] *= 0.01
    acc[400:500] = [0.0, 0.0, 9.81]
    gyr[700:720] = np.nan
    score = stillness_score(gyr, acc, 100)
    assert int(np.argmin(score)) == 400
    assert np.isinf(score[650:720]).all() and np.isfinite(score[:600]).all()


def test_principal_axis_ignores_rotation_about_up_and_finds_the_swing_axis() -> None:
    rng = np.random.default_rng(1)
    t = np.arange(0.0, 10.0, 1.0 / RATE)
    up = np.array([0.1, 0.98, -0.17])
    up /= np.linalg.norm(up)
    swing = np.cross(up, [0.0, 0.0, 1.0])
    swing /= np.linalg.norm(swing)
    gyr = (
        np.outer(2.0 * np.sin(2 * np.pi * t), swing)
        + np.outer(3.0 * np.cos(2 * np.pi * 0.7 * t), up)  # larger, but vertical
        + rng.normal(0.0, 0.05, (len(t), 3))
    )
    axis, ratio = principal_horizontal_axis(gyr, up)
    assert abs(np.dot(axis, swing)) > np.cos(np.radians(1.0))
    assert abs(np.dot(axis, up)) < 1e-9
    assert ratio > 100.0


def test_segment_frame_is_right_handed_with_the_given_axes() -> None:
    up = np.array([1.0, 0.05, 0.0])
    right = np.array([0.0, -1.0, 0.1])
    q = segment_frame(up, right)
    matrix = to_rotation(q).as_matrix()
    assert np.linalg.det(matrix) == pytest.approx(1.0)
    assert matrix[:, 1] @ up / np.linalg.norm(up) == pytest.approx(1.0)
    assert matrix[:, 2] @ right / np.linalg.norm(right) > 0.99


def test_static_only_calibration_reports_tilt_and_says_where_axes_came_from() -> None:
    # One pelvis sensor standing still, mounted 20° off about its mediolateral axis.
    n = 400
    tilt = Rotation.from_rotvec([0.0, 0.0, np.radians(20.0)])  # about segment z
    r_sensor_segment = Rotation.from_matrix(NOMINAL_SENSOR_SEGMENT["pelvis"]) * tilt.inv()
    r_world_segment = Rotation.from_rotvec([np.pi / 2, 0.0, 0.0])
    r_world_sensor = r_world_segment * r_sensor_segment.inv()
    q = np.tile(from_rotation(r_world_sensor), (n, 1))
    gyr = np.zeros((n, 3))
    acc = np.tile(r_world_sensor.inv().apply([0.0, 0.0, 9.81]), (n, 1))
    time_s = np.arange(n) / RATE
    cal = Calibrator().calibrate(
        time_s, {"pelvis": q}, {"pelvis": gyr}, {"pelvis": acc}, [Task("static", "", 0.5, 3.5)]
    ).result_
    summary = cal.to_dict()
    json.dumps(summary)  # JSON-ready
    assert summary["method"] == "static task"
    assert summary["misalignment_deg"]["pelvis"] == pytest.approx(20.0, abs=0.1)
    assert summary["mediolateral_axis_source"]["pelvis"] == "nominal mounting"
    assert any("pelvis: nominal mediolateral axis (no functional task)" in n for n in cal.notes)
    assert 0.5 <= summary["window_start_s"] and summary["window_end_s"] <= 3.5
    assert summary["window_s"] == pytest.approx(0.99)
    recovered = to_rotation(cal.segments["pelvis"].q_sensor_segment)
    assert (recovered.inv() * r_sensor_segment).magnitude() < np.radians(0.1)


def test_still_gyro_bias_is_the_rate_at_rest_and_zero_without_rest() -> None:
    from hipscope.processing.kinematics import still_gyro_bias

    rng = np.random.default_rng(2)
    n = 2000
    bias = np.array([0.01, -0.004, 0.007])
    gyr = bias + rng.normal(0.0, 0.003, (n, 3))
    acc = np.tile([0.0, 0.0, 9.81], (n, 1)) + rng.normal(0.0, 0.02, (n, 3))
    moving = slice(300, 2000)
    gyr[moving] += np.outer(np.sin(np.arange(1700) / 20.0), [1.0, 0.5, 0.0])
    acc[moving] += rng.normal(0.0, 1.0, (1700, 3))
    np.testing.assert_allclose(still_gyro_bias(gyr, acc, RATE), bias, atol=1e-3)
    assert not still_gyro_bias(gyr[moving], acc[moving], RATE).any()
