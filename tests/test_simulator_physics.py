"""Simulator physics: gravity at rest, gyro = derivative of the orientation, acc = motion.

Checks use only the IMU signals and the true orientations, with integrators and geometry
written here (not the simulator's own derivative code).
"""

from __future__ import annotations

import numpy as np
import pytest
from numpy.typing import NDArray
from scipy.spatial.transform import Rotation

from hipscope.acquisition.simulator import (
    GaitSpec,
    RepetitionSpec,
    SimulatedSession,
    SingleLegStanceSpec,
    StaticSpec,
    simulate,
)
from hipscope.base.errors import HipscopeError
from hipscope.base.rotations import quat_conjugate, quat_multiply, to_rotation

G = 9.81


@pytest.fixture(scope="module")
def ideal_60hz() -> SimulatedSession:
    """The default protocol at the lowest supported rate, largest misalignment, no noise."""
    return simulate(rate_hz=60.0, seed=3, noise=False, misalignment_deg=15.0)


def _integrate_gyro(q0: NDArray[np.float64], gyr: NDArray[np.float64], dt: float) -> Rotation:
    """Second-order strapdown integration: trapezoidal rate plus the coning correction."""
    increments = 0.5 * (gyr[:-1] + gyr[1:]) * dt + dt * dt / 12.0 * np.cross(gyr[:-1], gyr[1:])
    steps = Rotation.from_rotvec(increments).as_matrix()
    out = np.empty((len(gyr), 3, 3))
    out[0] = to_rotation(q0).as_matrix()
    for k, step in enumerate(steps):
        out[k + 1] = out[k] @ step
    return Rotation.from_matrix(out)


def test_at_rest_the_accelerometer_reads_gravity_plus_noise() -> None:
    sim = simulate([StaticSpec(duration_s=6.0, sway_m_s2=0.0)], rate_hz=100.0, seed=1)
    for placement, batch in sim.samples.items():
        norm = np.linalg.norm(batch.acc_m_s2.astype(np.float64), axis=1)
        assert np.mean(norm) == pytest.approx(G, abs=0.005), placement
        assert 0.012 < np.std(norm) < 0.03, placement  # the 0.02 m/s² white noise, radially
        # gravity points along the sensor's true "up" (world +z seen from the sensor)
        up = to_rotation(sim.q_world_sensor(placement)).inv().apply([0.0, 0.0, 1.0])
        np.testing.assert_allclose(np.mean(batch.acc_m_s2, axis=0), G * up[0], atol=0.01)


def test_integrating_ideal_gyro_reproduces_sensor_orientation(ideal_60hz: SimulatedSession) -> None:
    sim = ideal_60hz
    assert sim.duration_s > 85.0
    for placement, batch in sim.samples.items():
        q_true = sim.q_world_sensor(placement)
        estimate = _integrate_gyro(q_true[0], batch.gyr_rad_s.astype(np.float64), 1.0 / sim.rate_hz)
        error_deg = np.degrees((estimate.inv() * to_rotation(q_true)).magnitude())
        assert error_deg.max() < 0.5, f"{placement}: {error_deg.max():.3f}°"


def test_gyro_is_sensitive_to_a_wrong_frame(ideal_60hz: SimulatedSession) -> None:
    """The integration check can fail: the gyro expressed in the segment frame drifts away."""
    sim = ideal_60hz
    batch = sim.samples["thigh_left"]
    in_segment = to_rotation(sim.q_segment_sensor["thigh_left"]).apply(batch.gyr_rad_s)
    q_true = sim.q_world_sensor("thigh_left")
    estimate = _integrate_gyro(q_true[0], in_segment, 1.0 / sim.rate_hz)
    assert np.degrees((estimate.inv() * to_rotation(q_true)).magnitude()).max() > 5.0


def test_accelerometer_integrates_to_the_walking_speed() -> None:
    """World-frame specific force minus gravity, integrated once, gives the pelvis velocity."""
    spec = GaitSpec(duration_s=12.0, speed_m_s=1.3, step_time_left_s=0.52, step_time_right_s=0.56)
    sim = simulate([StaticSpec(3.0, sway_m_s2=0.0), spec], rate_hz=100.0, noise=False, seed=5)
    gait = sim.truth[1]
    batch = sim.samples["pelvis"]
    acc_world = to_rotation(sim.q_world_sensor("pelvis")).apply(batch.acc_m_s2.astype(np.float64))
    acc_world[:, 2] -= G
    dt = 1.0 / sim.rate_hz
    velocity = np.concatenate(
        [[[0, 0, 0]], np.cumsum(0.5 * (acc_world[1:] + acc_world[:-1]) * dt, axis=0)]
    )
    steady = (sim.time_s >= gait["steady_start_s"]) & (
        sim.time_s < gait["steady_start_s"] + 5 * gait["stride_time_s"]
    )
    assert np.mean(velocity[steady, 0]) == pytest.approx(1.3, abs=0.03)
    assert abs(np.mean(velocity[steady, 2])) < 0.02
    assert np.abs(velocity[-1]).max() < 0.05  # standing still again at the end


def test_sway_is_the_requested_rms_horizontal_acceleration() -> None:
    spec = SingleLegStanceSpec("right", hold_s=8.0, pelvic_drop_deg=6.0, sway_m_s2=0.2)
    sim = simulate([StaticSpec(3.0), spec], rate_hz=200.0, noise=False, seed=8)
    truth = sim.truth[1]
    hold = (sim.time_s >= truth["hold_start_s"]) & (sim.time_s <= truth["hold_end_s"])
    acc_world = to_rotation(sim.q_world_sensor("pelvis")[hold]).apply(
        sim.samples["pelvis"].acc_m_s2[hold].astype(np.float64)
    )
    rms = float(np.sqrt(np.mean(np.sum(acc_world[:, :2] ** 2, axis=1))))
    assert truth["sway_m_s2"] == 0.2
    assert rms == pytest.approx(0.2, rel=0.02)


def test_magnetometer_is_the_earth_field_in_the_sensor_frame() -> None:
    sim = simulate([StaticSpec(3.0), RepetitionSpec(reps=1)], with_mag=True, noise=False, seed=2)
    field = np.array(sim.mag_world_ut)
    for _placement, batch in sim.samples.items():
        assert batch.mag_ut is not None
        norm = np.linalg.norm(batch.mag_ut, axis=1)
        np.testing.assert_allclose(norm, np.linalg.norm(field), rtol=1e-4)
        # the angle between gravity and the field (the dip) is the same in every pose at rest
        dip = np.degrees(
            np.arcsin(np.sum(batch.mag_ut[:50] * batch.acc_m_s2[:50], axis=1) / (norm[:50] * G))
        )
        assert dip == pytest.approx(
            np.degrees(np.arcsin(field[2] / np.linalg.norm(field))), abs=0.01
        )
    assert simulate([StaticSpec(3.0)]).samples["pelvis"].mag_ut is None


def test_nominal_mounting_matches_the_design() -> None:
    """docs/DESIGN.md: pelvis/trunk +x up, +z backwards; thighs +x up, +z outwards."""
    sim = simulate([StaticSpec(3.0)], misalignment_deg=0.0, noise=False)
    expected = {  # sensor (x, z) axes in the world at neutral standing facing +x
        "pelvis": ((0, 0, 1), (-1, 0, 0)),
        "trunk": ((0, 0, 1), (-1, 0, 0)),
        "thigh_left": ((0, 0, 1), (0, 1, 0)),  # world +y is the athlete's left
        "thigh_right": ((0, 0, 1), (0, -1, 0)),
    }
    for placement, (x_axis, z_axis) in expected.items():
        rotation = to_rotation(sim.q_world_sensor(placement)[0])
        np.testing.assert_allclose(rotation.apply([1.0, 0, 0]), x_axis, atol=1e-12)
        np.testing.assert_allclose(rotation.apply([0, 0, 1.0]), z_axis, atol=1e-12)
        np.testing.assert_allclose(sim.samples[placement].acc_m_s2[0], [G, 0, 0], atol=1e-5)


@pytest.mark.parametrize("max_deg", [5.0, 15.0])
def test_misalignment_is_within_the_bound(max_deg: float) -> None:
    nominal = simulate([StaticSpec(3.0)], misalignment_deg=0.0, noise=False).q_segment_sensor
    for seed in range(4):
        sim = simulate([StaticSpec(3.0)], misalignment_deg=max_deg, seed=seed, noise=False)
        for placement, q in sim.q_segment_sensor.items():
            angle = np.degrees(
                2
                * np.arccos(min(1.0, abs(quat_multiply(quat_conjugate(nominal[placement]), q)[0])))
            )
            assert 0.5 * max_deg - 1e-6 <= angle <= max_deg + 1e-6
            assert angle == pytest.approx(sim.misalignment_deg[placement])


def test_seeds_are_deterministic_and_different() -> None:
    protocol = [StaticSpec(3.0), SingleLegStanceSpec("left", hold_s=2.0)]
    a = simulate(protocol, seed=1)
    b = simulate(protocol, seed=1)
    c = simulate(protocol, seed=2)
    for placement in a.samples:
        np.testing.assert_array_equal(a.samples[placement].acc_m_s2, b.samples[placement].acc_m_s2)
        np.testing.assert_array_equal(
            a.samples[placement].gyr_rad_s, b.samples[placement].gyr_rad_s
        )
        assert not np.array_equal(a.samples[placement].acc_m_s2, c.samples[placement].acc_m_s2)
        assert not np.allclose(a.q_segment_sensor[placement], c.q_segment_sensor[placement])
    assert a.truth == b.truth
    assert not np.allclose(a.position_m["pelvis"], c.position_m["pelvis"])


def test_a_subset_of_placements_gives_the_same_signals() -> None:
    protocol = [StaticSpec(3.0), SingleLegStanceSpec("left", hold_s=2.0)]
    full = simulate(protocol, seed=6)
    subset = simulate(protocol, seed=6, placements=("thigh_right", "pelvis"))
    assert set(subset.samples) == {"pelvis", "thigh_right"}
    for placement in subset.samples:
        np.testing.assert_array_equal(
            subset.samples[placement].acc_m_s2, full.samples[placement].acc_m_s2
        )
        np.testing.assert_array_equal(
            subset.samples[placement].gyr_rad_s, full.samples[placement].gyr_rad_s
        )


def test_noise_free_signals_have_no_bias() -> None:
    sim = simulate([StaticSpec(3.0, sway_m_s2=0.0)], noise=False, seed=4)
    for batch in sim.samples.values():
        assert np.abs(batch.gyr_rad_s).max() < 1e-6
    noisy = simulate([StaticSpec(3.0, sway_m_s2=0.0)], noise=True, seed=4)
    for placement, batch in noisy.samples.items():
        bias = noisy.gyr_bias_rad_s[placement]
        assert np.abs(bias).max() <= 0.01
        np.testing.assert_allclose(np.mean(batch.gyr_rad_s, axis=0), bias, atol=0.001)


@pytest.mark.parametrize("rate_hz", [60.0, 100.0, 200.0])
def test_rates_give_a_uniform_clock_and_counters(rate_hz: float) -> None:
    sim = simulate([StaticSpec(3.0), RepetitionSpec(reps=1)], rate_hz=rate_hz, seed=0)
    for batch in sim.samples.values():
        np.testing.assert_allclose(np.diff(batch.time_s), 1.0 / rate_hz, rtol=1e-9)
        assert batch.time_s[0] == 0.0
        np.testing.assert_array_equal(batch.seq, np.arange(len(batch), dtype=np.uint32))
        assert batch.seq.dtype == np.uint32


@pytest.mark.parametrize(
    "kwargs",
    [
        {"rate_hz": 5.0},
        {"misalignment_deg": -1.0},
        {"placements": ("pelvis", "shank_left")},
        {"placements": ("pelvis", "pelvis")},
    ],
)
def test_bad_arguments_are_refused(kwargs: dict[str, object]) -> None:
    with pytest.raises(HipscopeError):
        simulate([StaticSpec(3.0)], **kwargs)  # type: ignore[arg-type]


def test_soft_tissue_motion_is_in_the_true_orientation_and_the_gyro() -> None:
    protocol = [StaticSpec(3.0, sway_m_s2=0.0), GaitSpec(duration_s=10.0)]
    soft = simulate(protocol, rate_hz=100.0, noise=False, seed=1, soft_tissue_deg=3.0)
    rigid = simulate(protocol, rate_hz=100.0, noise=False, seed=1)
    assert not rigid.q_soft_tissue and set(soft.q_soft_tissue) == set(soft.samples)
    standing = soft.time_s < 3.0
    for placement, batch in soft.samples.items():
        np.testing.assert_allclose(
            soft.q_world_segment[placement], rigid.q_world_segment[placement]
        )
        q_soft = soft.q_world_sensor(placement)
        estimate = _integrate_gyro(q_soft[0], batch.gyr_rad_s.astype(np.float64), 0.01)
        assert np.degrees((estimate.inv() * to_rotation(q_soft)).magnitude()).max() < 0.5
        moved = np.degrees(
            (to_rotation(rigid.q_world_sensor(placement)).inv() * to_rotation(q_soft)).magnitude()
        )
        assert moved[standing].max() < 1e-6
        expected_max = 3.0 if placement.startswith("thigh") else 1.5
        assert 0.5 * expected_max < moved.max() < 2.5 * expected_max, placement
        # the sensor only turns on the tissue: the specific force keeps its magnitude
        np.testing.assert_allclose(
            np.linalg.norm(batch.acc_m_s2, axis=1),
            np.linalg.norm(rigid.samples[placement].acc_m_s2, axis=1),
            atol=1e-3,
        )
