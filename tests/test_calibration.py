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
    lowpass_runs,
    principal_horizontal_axis,
    segment_frame,
    standing_up,
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
    cal = (
        Calibrator()
        .calibrate(
            time_s, {"pelvis": q}, {"pelvis": gyr}, {"pelvis": acc}, [Task("static", "", 0.5, 3.5)]
        )
        .result_
    )
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


@pytest.mark.parametrize("heading_deg", [120.0, -75.0])
def test_standing_and_walking_recover_a_35_degree_tilt_and_any_heading(
    tmp_path, heading_deg: float
) -> None:
    # Every sensor turned about its segment's long axis, then tilted by 17.5..35° about a
    # random axis; the recording says nothing about the mounting (nominal prior is wrong).
    from hipscope.acquisition.recording import load_recording
    from hipscope.acquisition.simulator import GaitSpec, StaticSpec, simulate
    from hipscope.processing.kinematics import compute_kinematics

    sim = simulate(
        [StaticSpec(duration_s=5.0), GaitSpec(duration_s=12.0)],
        seed=7,
        misalignment_deg=35.0,
        mounting_heading_deg=heading_deg,
        skin_artefact_deg=1.0,
    )
    assert min(sim.misalignment_deg.values()) > 60.0  # beyond what the nominal prior allows
    path = tmp_path / "walk.h5"
    sim.write(path)
    cal = compute_kinematics(load_recording(path)).calibration
    summary = cal.to_dict()
    for placement, truth in sim.q_segment_sensor.items():
        r_sensor_segment = to_rotation(truth).inv()
        found = to_rotation(cal.segments[placement].q_sensor_segment)
        error_deg = np.degrees((found.inv() * r_sensor_segment).magnitude())
        assert error_deg < 3.0, (placement, error_deg)
        assert summary["misalignment_deg"][placement] == pytest.approx(
            sim.misalignment_deg[placement], abs=3.0
        )
        sources = summary["axis_sources"][placement]
        assert sources["superior"].startswith("gravity")
    assert summary["axis_sources"]["pelvis"]["mediolateral"] == "walking: direction of progression"
    assert summary["axis_sources"]["thigh_left"]["mediolateral"] == "functional: gait"


def test_without_walking_the_hinge_itself_signs_the_pelvis_and_trunk_axes(tmp_path) -> None:
    # Sensors turned 150° about the long axis: the nominal mounting points the functional
    # axis the wrong way; leaning forward on the way down says which way is right.
    from hipscope.acquisition.recording import load_recording
    from hipscope.acquisition.simulator import RepetitionSpec, StaticSpec, simulate
    from hipscope.processing.kinematics import compute_kinematics

    sim = simulate(
        [StaticSpec(duration_s=5.0), RepetitionSpec("squat", reps=4)],
        seed=4,
        misalignment_deg=20.0,
        mounting_heading_deg=150.0,
        skin_artefact_deg=1.0,
    )
    path = tmp_path / "squats.h5"
    sim.write(path)
    cal = compute_kinematics(load_recording(path)).calibration
    for placement, truth in sim.q_segment_sensor.items():
        found = to_rotation(cal.segments[placement].q_sensor_segment)
        error_deg = np.degrees((found.inv() * to_rotation(truth).inv()).magnitude())
        assert error_deg < 3.0, (placement, error_deg)
        assert cal.segments[placement].axis_source == "functional: squat (sign from the movement)"


def _synthetic_walk(
    r_heading_sensor: Rotation,
    heading_rad: np.ndarray,
    t: np.ndarray,
    seed: int = 0,
    flight: bool = False,
    bounce: float = 1.0,
) -> tuple[np.ndarray, np.ndarray]:
    """Quaternions and specific force of a sensor carried along a walk at 1.8 steps/s.

    ``heading_rad``: the walk's direction in the world per sample; ``r_heading_sensor``:
    the sensor in the walker's heading frame (x forward, y left, z up). The pelvis bobs
    like an inverted pendulum (lowest and fastest at each contact), sways once per stride,
    and the accelerometer has a 0.1 m/s² bias and noise. ``flight``: 0.1 s of free fall in
    every step (running). ``bounce`` -1: lowest at mid-stance instead (spring-mass, as in
    running).
    """
    rng = np.random.default_rng(seed)
    dt = t[1] - t[0]
    step_hz = 1.8
    envelope = np.clip((t - t[0]) / 1.5, 0.0, 1.0) * np.clip((t[-1] - t) / 1.5, 0.0, 1.0)
    phase = 2 * np.pi * step_hz * t
    forward_m_s = envelope * (1.2 + 0.025 * 2 * np.pi * step_hz * np.cos(phase))
    sway_m_s = envelope * -0.03 * np.pi * step_hz * np.sin(phase / 2)
    height_m = envelope * -0.025 * bounce * np.cos(phase)
    velocity = np.column_stack(
        [
            forward_m_s * np.cos(heading_rad) - sway_m_s * np.sin(heading_rad),
            forward_m_s * np.sin(heading_rad) + sway_m_s * np.cos(heading_rad),
            np.gradient(height_m, dt),
        ]
    )
    acc_world = np.gradient(velocity, dt, axis=0) + np.array([0.0, 0.0, 9.81])
    if flight:
        in_flight = (np.mod(t * step_hz, 1.0) < 0.1 * step_hz) & (envelope > 0.5)
        acc_world[in_flight] = 0.0
    r_world_sensor = Rotation.from_euler("z", heading_rad[:, None]) * r_heading_sensor
    acc = r_world_sensor.inv().apply(acc_world) + np.array([0.05, -0.08, 0.03])
    return from_rotation(r_world_sensor), acc + rng.normal(0.0, 0.2, acc.shape)


# Any heading about the long axis, then 30° of tilt about an oblique axis.
_ODD_MOUNTING = Rotation.from_rotvec(np.radians(30.0) * np.array([0.6, 0.8, 0.0])) * (
    Rotation.from_euler("z", 137.0, degrees=True)
)


@pytest.mark.parametrize(
    ("walk", "turn_deg"),
    [("straight", 0.0), ("turn", 90.0), ("u-turn", 180.0), ("out and back", 180.0)],
)
def test_progression_direction_holds_for_turns_and_out_and_back_walks(
    walk: str, turn_deg: float
) -> None:
    from hipscope.processing.calibration import progression_direction

    t = np.arange(0.0, 24.0, 1.0 / RATE)
    turn = np.clip((t - 11.0) / 2.0, 0.0, 1.0)
    if walk == "out and back":  # turned on the spot: back where it started, no net path
        turn = (t > 12.0).astype(float)
    heading = np.radians(40.0) + np.radians(turn_deg) * turn
    q, acc = _synthetic_walk(_ODD_MOUNTING, heading, t)
    up = _ODD_MOUNTING.inv().apply([0.0, 0.0, 1.0])
    found = progression_direction(t, q, acc, [(0.0, 24.0)], up)
    truth = _ODD_MOUNTING.inv().apply([1.0, 0.0, 0.0])
    error_deg = np.degrees(np.arccos(np.clip(found.forward @ truth, -1.0, 1.0)))
    assert error_deg < 3.0, error_deg
    assert found.windows == 8 and found.consistency > 0.95


def test_ambiguous_walking_falls_back_to_the_nominal_mounting_and_says_so() -> None:
    # A "walk" without the pendular rhythm (the sensor jiggled by hand): the windows
    # point every which way, so the calibration keeps the nominal mounting and says why.
    rng = np.random.default_rng(5)
    t = np.arange(0.0, 40.0, 1.0 / RATE)
    r_world_sensor = Rotation.from_matrix(NOMINAL_SENSOR_SEGMENT["pelvis"]).inv()
    r_world_sensor = Rotation.from_rotvec([np.pi / 2, 0.0, 0.0]) * r_world_sensor
    q = np.tile(from_rotation(r_world_sensor), (len(t), 1))
    acc = np.tile(r_world_sensor.inv().apply([0.0, 0.0, 9.81]), (len(t), 1))
    acc[t > 4.0] += rng.normal(0.0, 1.5, ((t > 4.0).sum(), 3))
    tasks = [Task("static", "", 0.0, 3.5), Task("gait", "", 4.0, 40.0)]
    cal = (
        Calibrator()
        .calibrate(t, {"pelvis": q}, {"pelvis": np.zeros_like(acc)}, {"pelvis": acc}, tasks)
        .result_
    )
    source = "nominal mounting (walking direction ambiguous)"
    assert cal.segments["pelvis"].axis_source == source
    assert cal.to_dict()["axis_sources"]["pelvis"]["mediolateral"] == source
    assert any("no clear direction of progression (consistency" in n for n in cal.notes)
    nominal = to_rotation(cal.segments["pelvis"].q_sensor_segment).inv() * Rotation.from_matrix(
        NOMINAL_SENSOR_SEGMENT["pelvis"]
    )
    assert np.degrees(nominal.magnitude()) < 1.0


def test_running_gives_the_axis_and_its_mean_velocity_the_sign() -> None:
    # Running reverses the pendular relation (falling and braking at each contact): its
    # flight phases mark it; those windows give the axis only, the way the run went its sign.
    from hipscope.processing.calibration import progression_direction

    t = np.arange(0.0, 24.0, 1.0 / RATE)
    q, acc = _synthetic_walk(_ODD_MOUNTING, np.full(len(t), 0.3), t, flight=True, bounce=-1.0)
    up = _ODD_MOUNTING.inv().apply([0.0, 0.0, 1.0])
    found = progression_direction(t, q, acc, [(0.0, 24.0)], up)
    assert found.windows == 0 and found.running_windows == 8
    assert np.isnan(found.forward).all()
    truth = _ODD_MOUNTING.inv().apply([1.0, 0.0, 0.0])
    assert abs(found.running_axis @ truth) > np.cos(np.radians(3.0))
    standing = t < 3.0
    acc[standing] = _ODD_MOUNTING.inv().apply([0.0, 0.0, 9.81])
    tasks = [Task("static", "", 0.0, 3.0), Task("gait", "", 3.0, 24.0)]
    gyr = np.zeros_like(acc)
    result = Calibrator().calibrate(t, {"pelvis": q}, {"pelvis": gyr}, {"pelvis": acc}, tasks)
    segment = result.result_.segments["pelvis"]
    assert segment.axis_source == (
        "walking: direction of progression (running: sign from the mean velocity)"
    )
    found_forward = to_rotation(segment.q_sensor_segment).apply([1.0, 0.0, 0.0])
    assert found_forward @ truth > np.cos(np.radians(5.0))


def test_standing_up_is_the_mean_specific_force_not_the_fused_tilt() -> None:
    rng = np.random.default_rng(3)
    up = np.array([0.2, 0.95, -0.1])
    up /= np.linalg.norm(up)
    acc = 9.81 * up + rng.normal(0.0, 0.02, (100, 3))
    # A fused orientation 1° off the truth (what a forward-backward filter carries into
    # the standing before a walk starts) does not move the measured up axis.
    truth = Rotation.align_vectors([[0.0, 0.0, 1.0]], [up])[0]
    tilted = Rotation.from_rotvec([np.radians(1.0), 0.0, 0.0]) * truth
    q = np.tile(from_rotation(tilted), (100, 1))
    found = standing_up(q, acc)
    assert np.degrees(np.arccos(np.clip(found @ up, -1.0, 1.0))) < 0.05
    acc[:] = np.nan  # no sample: the fused up is all there is
    fused = tilted.inv().apply([0.0, 0.0, 1.0])
    assert standing_up(q, acc) == pytest.approx(fused, abs=1e-9)


def test_lowpass_runs_halves_the_cutoff_and_leaves_other_rows_alone() -> None:
    rate = 200.0
    t = np.arange(0.0, 40.0, 1.0 / rate)
    mask = (t > 5.0) & (t < 35.0)
    middle = (t > 10.0) & (t < 30.0)
    for freq_hz, gain in ((0.5, 0.98), (3.0, 0.5), (6.0, 0.0625), (10.0, 0.0)):
        x = np.column_stack([np.sin(2 * np.pi * freq_hz * t)] * 3)
        y = lowpass_runs(x, mask, 3.0, rate)
        assert np.std(y[middle, 0]) / np.std(x[middle, 0]) == pytest.approx(gain, abs=0.01)
        assert np.array_equal(y[~mask], x[~mask])


def test_a_run_without_flight_phases_is_caught_by_its_mean_velocity() -> None:
    # A bouncing gait (lowest at mid-stance, as in running) whose flights are too short to
    # see reverses the pendular relation; the integrated velocity says which way is forward,
    # so the two disagree and the calibration keeps the nominal mounting.
    t = np.arange(0.0, 24.0, 1.0 / RATE)
    tilt = Rotation.from_rotvec([np.pi / 2, 0.0, 0.0])
    r_heading_sensor = tilt * Rotation.from_matrix(NOMINAL_SENSOR_SEGMENT["pelvis"]).inv()
    q, acc = _synthetic_walk(r_heading_sensor, np.full(len(t), 1.0), t, bounce=-1.0)
    standing = t < 3.0
    tasks = [Task("static", "", 0.0, 3.0), Task("gait", "", 3.0, 24.0)]
    acc[standing] = r_heading_sensor.inv().apply([0.0, 0.0, 9.81])
    gyr = np.zeros_like(acc)
    cal = Calibrator().calibrate(t, {"pelvis": q}, {"pelvis": gyr}, {"pelvis": acc}, tasks)
    result = cal.result_
    assert result.segments["pelvis"].axis_source == "nominal mounting (walking direction ambiguous)"
    assert any("mean velocity points" in n for n in result.notes)
    # the same walk with the pendular bounce: the direction of progression
    q, acc = _synthetic_walk(r_heading_sensor, np.full(len(t), 1.0), t)
    acc[standing] = r_heading_sensor.inv().apply([0.0, 0.0, 9.81])
    result = cal.calibrate(t, {"pelvis": q}, {"pelvis": gyr}, {"pelvis": acc}, tasks).result_
    assert result.segments["pelvis"].axis_source == "walking: direction of progression"


def test_a_sensor_that_only_turns_gives_no_votes() -> None:
    # Swinging about the walker's axes without any bob (a thigh rig, a sensor in the hand):
    # sensor noise alone must not vote for a direction.
    from hipscope.processing.calibration import progression_direction

    rng = np.random.default_rng(6)
    t = np.arange(0.0, 24.0, 1.0 / RATE)
    swing = np.radians(20.0) * np.sin(2 * np.pi * 0.9 * t)
    r_world_sensor = Rotation.from_euler("y", swing[:, None]) * _ODD_MOUNTING
    acc = r_world_sensor.inv().apply([0.0, 0.0, 9.81]) + rng.normal(0.0, 0.03, (len(t), 3))
    up = _ODD_MOUNTING.inv().apply([0.0, 0.0, 1.0])
    found = progression_direction(t, from_rotation(r_world_sensor), acc, [(0.0, 24.0)], up)
    assert found.windows == 0 and found.running_windows == 0 and found.weak_windows == 8
