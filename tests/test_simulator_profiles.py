"""The simulator's smooth profiles: properties checked numerically over random inputs."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hipscope.acquisition.simulation.profiles import (
    impacts_m,
    skewed_phase,
    smoothstep,
    smoothstep_integral,
)
from hipscope.acquisition.simulator import GaitSpec, StaticSpec, simulate
from hipscope.base.rotations import to_rotation


@settings(max_examples=40, deadline=None)
@given(st.floats(0.28, 0.72))
def test_skewed_phase_is_a_smooth_monotonic_warp(p: float) -> None:
    phi = np.linspace(-1.0, 2.0, 3001)
    w = skewed_phase(phi, p)
    assert np.all(np.diff(w) > 0.0)
    np.testing.assert_allclose(
        skewed_phase(np.array([0.0, p, 1.0]), p), [0.0, 0.5, 1.0], atol=1e-12
    )
    np.testing.assert_allclose(skewed_phase(phi + 1.0, p), w + 1.0, atol=1e-12)


def test_smoothstep_integral_is_the_integral() -> None:
    u = np.linspace(-0.5, 2.0, 25001)
    numeric = np.concatenate(
        [[0.0], np.cumsum(0.5 * (smoothstep(u[1:]) + smoothstep(u[:-1])) * np.diff(u))]
    )
    np.testing.assert_allclose(smoothstep_integral(u), numeric, atol=1e-8)
    # flat ends: zero slope and curvature at 0 and 1
    h = 1e-4
    for x in (0.0, 1.0):
        slope = (smoothstep(x + h) - smoothstep(x - h)) / (2 * h)
        curvature = (smoothstep(x + h) - 2 * smoothstep(x) + smoothstep(x - h)) / h**2
        assert abs(slope) < 1e-6 and abs(curvature) < 1e-2


def test_impact_pulse_peaks_at_the_impact() -> None:
    h = 1e-4
    t = np.arange(-0.2, 0.2, h)
    z = impacts_m(t, [0.0], [4.0], 0.015)
    acc = np.gradient(np.gradient(z, h), h)
    assert abs(t[np.argmax(acc)]) < 2 * h
    assert abs(acc.max() - 4.0) < 0.01


@settings(max_examples=8, deadline=None)
@given(
    st.floats(0.45, 0.7),
    st.floats(0.75, 1.33),
    st.floats(0.55, 0.65),
    st.floats(20.0, 60.0),
)
def test_any_valid_gait_keeps_its_contact_schedule(
    step_left_s: float, ratio: float, stance_fraction: float, rom_deg: float
) -> None:
    step_right_s = step_left_s / ratio
    spec = GaitSpec(
        duration_s=8.0 * (step_left_s + step_right_s),
        step_time_left_s=step_left_s,
        step_time_right_s=step_right_s,
        thigh_rom_left_deg=rom_deg,
        thigh_rom_right_deg=rom_deg,
        stance_fraction=stance_fraction,
    )
    sim = simulate([StaticSpec(3.0), spec], rate_hz=60.0, noise=False, placements=("pelvis",))
    truth = sim.truth[1]
    left = np.array(truth["initial_contacts_left_s"])
    right = np.array(truth["initial_contacts_right_s"])
    n = min(len(left), len(right))
    assert n >= 5
    offset = 0 if right[0] < left[0] else 1  # step ending at left contact k starts at right contact
    np.testing.assert_allclose(left[offset:n] - right[: n - offset], step_left_s, atol=1e-9)
    stance = truth["stance_time_left_s"] + truth["stance_time_right_s"]
    np.testing.assert_allclose(stance / (2 * truth["stride_time_s"]), stance_fraction, rtol=1e-9)
    assert np.all(np.isfinite(sim.samples["pelvis"].acc_m_s2))
    # the thigh's sagittal range of motion in steady walking is the requested one
    steady = (sim.time_s >= truth["steady_start_s"]) & (sim.time_s <= truth["steady_end_s"])
    y = to_rotation(sim.q_world_segment["thigh_left"][steady]).as_matrix()[:, :, 1]
    inclination_deg = np.degrees(np.arctan2(-y[:, 0], y[:, 2]))
    assert np.ptp(inclination_deg) == pytest.approx(rom_deg, abs=0.5)
