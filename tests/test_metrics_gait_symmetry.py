"""GaitSymmetry and the thigh-based gait events on synthetic walks with known timing."""

from __future__ import annotations

import numpy as np
import pytest
from numpy.typing import NDArray

from hipscope.processing.events.gait import GaitEvents, ThighTurningPoints, detect_gait_events
from hipscope.processing.metrics.gait_symmetry import GaitSymmetry

STEP_LEFT_S = 0.55
STEP_RIGHT_S = 0.60
STRIDE_S = STEP_LEFT_S + STEP_RIGHT_S


def contacts(n_strides: int = 20, t0: float = 2.0) -> tuple[NDArray[np.float64], NDArray[np.str_]]:
    """Right contact at t0 + k·stride, left contact a left step later."""
    right = t0 + STRIDE_S * np.arange(n_strides)
    left = right + STEP_LEFT_S
    times = np.concatenate([right, left])
    sides = np.array(["right"] * n_strides + ["left"] * n_strides)
    order = np.argsort(times)
    return times[order], sides[order]


def thigh(t: NDArray[np.float64], first_contact_s: float, rom_deg: float) -> NDArray[np.float64]:
    """Sagittal thigh angle peaking (flexion) at each of this side's contacts."""
    return np.radians(0.5 * rom_deg * np.cos(2 * np.pi * (t - first_contact_s) / STRIDE_S) + 5.0)


def test_step_times_symmetry_and_thigh_rom() -> None:
    rate_hz = 100.0
    t = np.arange(0.0, 27.0, 1.0 / rate_hz)
    ic, side = contacts()
    events = GaitEvents(ic, side)
    left = thigh(t, 2.0 + STEP_LEFT_S, 50.0)
    right = thigh(t, 2.0, 40.0)
    g = GaitSymmetry().compute(
        t,
        events,
        start_s=1.0,
        end_s=26.0,
        thigh_sagittal_left_rad=left,
        thigh_sagittal_right_rad=right,
    )
    m = g.metrics_
    assert m["step_time_left_s"] == pytest.approx(STEP_LEFT_S)
    assert m["step_time_right_s"] == pytest.approx(STEP_RIGHT_S)
    si = 100 * (STEP_LEFT_S - STEP_RIGHT_S) / (0.5 * (STEP_LEFT_S + STEP_RIGHT_S))
    assert m["step_time_si_pct"] == pytest.approx(si, abs=0.01)
    assert m["stride_time_s"] == pytest.approx(STRIDE_S)
    assert m["cadence_steps_min"] == pytest.approx(
        60 / np.median([STEP_LEFT_S, STEP_RIGHT_S]), rel=0.05
    )
    assert m["thigh_rom_left_deg"] == pytest.approx(50.0, abs=0.5)
    assert m["thigh_rom_right_deg"] == pytest.approx(40.0, abs=0.5)
    assert m["thigh_rom_si_pct"] == pytest.approx(100 * 10 / 45, abs=1.0)
    assert m["n_steps_left"] == 20 and m["n_steps_right"] == 19
    assert m["stance_time_left_s"] is None
    assert "final contacts" in g.unavailable_["stance_time_left_s"]
    assert m["step_regularity"] is None and "pelvis" in g.unavailable_["step_regularity"]
    assert len(g.steps_) == ic.shape[0]


def test_regularity_and_harmonic_ratio_of_a_known_signal() -> None:
    rate_hz = 100.0
    t = np.arange(0.0, 27.0, 1.0 / rate_hz)
    ic, side = contacts()
    events = GaitEvents(ic, side)
    # two bounces per stride (2nd harmonic) plus a smaller stride-frequency part (1st)
    f = 1.0 / STRIDE_S
    acc = 9.81 + 2.0 * np.cos(2 * np.pi * 2 * f * t) + 0.5 * np.cos(2 * np.pi * f * t)
    g = GaitSymmetry().compute(t, events, start_s=1.0, end_s=26.0, acc_vertical_m_s2=acc)
    m = g.metrics_
    assert m["harmonic_ratio_vertical"] == pytest.approx(4.0, rel=0.05)
    assert m["stride_regularity"] == pytest.approx(1.0, abs=0.02)
    # at the step lag the 2nd harmonic is in phase and the 1st in anti-phase: (4 - 0.25)/(4.25)
    assert m["step_regularity"] == pytest.approx((2.0**2 - 0.5**2) / (2.0**2 + 0.5**2), abs=0.05)


def test_stance_and_swing_from_final_contacts() -> None:
    t = np.arange(0.0, 27.0, 0.01)
    ic, side = contacts()
    fc = ic + 0.65  # each foot leaves the ground 0.65 s after its contact
    events = GaitEvents(ic, side, fc, side.copy())
    m = GaitSymmetry().compute(t, events, start_s=1.0, end_s=26.0).metrics_
    for s in ("left", "right"):
        assert m[f"stance_time_{s}_s"] == pytest.approx(0.65)
        assert m[f"swing_time_{s}_s"] == pytest.approx(STRIDE_S - 0.65)
    assert m["stance_time_si_pct"] == pytest.approx(0.0)


def test_thigh_turning_points_and_thigh_only_events() -> None:
    rate_hz = 120.0
    t = np.arange(0.0, 27.0, 1.0 / rate_hz)
    left = thigh(t, 2.0 + STEP_LEFT_S, 50.0)
    right = thigh(t, 2.0, 40.0)
    turning = ThighTurningPoints().detect(t, left, start_s=1.0, end_s=26.0)
    expected = 2.0 + STEP_LEFT_S + STRIDE_S * np.arange(-2, 22)
    expected = expected[(expected >= 1.0) & (expected <= 26.0)]
    np.testing.assert_allclose(turning.peak_flexion_s_, expected, atol=0.005)
    events = detect_gait_events(
        t, thigh_sagittal_left_rad=left, thigh_sagittal_right_rad=right, start_s=1.0, end_s=26.0
    )
    assert events.source == "thigh peak flexion"
    np.testing.assert_allclose(events.initial_contacts("left"), expected, atol=0.005)
    assert events.final_contacts("left").shape[0] >= 19
    g = GaitSymmetry().compute(t, events, start_s=1.0, end_s=26.0)
    assert g.metrics_["step_time_left_s"] == pytest.approx(STEP_LEFT_S, abs=0.005)
    assert g.metrics_["step_time_right_s"] == pytest.approx(STEP_RIGHT_S, abs=0.005)


def test_no_sensors_no_contacts_no_crash() -> None:
    t = np.arange(0.0, 10.0, 0.01)
    events = detect_gait_events(t, start_s=0.0, end_s=10.0)
    assert events.source == "none" and events.ic_time_s.shape == (0,)
    g = GaitSymmetry().compute(t, events, start_s=0.0, end_s=10.0)
    assert g.metrics_["step_time_si_pct"] is None
    assert "thigh" in g.unavailable_["step_time_left_s"]


def test_turns_are_left_out_of_regularity() -> None:
    rate_hz = 100.0
    t = np.arange(0.0, 27.0, 1.0 / rate_hz)
    ic, side = contacts()
    events = GaitEvents(ic, side)
    f = 1.0 / STRIDE_S
    acc = 9.81 + 2.0 * np.cos(2 * np.pi * 2 * f * t) + 0.5 * np.cos(2 * np.pi * f * t)
    turn = (t > 11.0) & (t < 15.0)
    acc[turn] = 9.81 + np.random.default_rng(0).normal(0.0, 2.0, turn.sum())
    plain = GaitSymmetry().compute(t, events, start_s=1.0, end_s=26.0, acc_vertical_m_s2=acc)
    masked = GaitSymmetry().compute(
        t, events, start_s=1.0, end_s=26.0, acc_vertical_m_s2=acc, straight_mask=~turn
    )
    assert plain.metrics_["stride_regularity"] < 0.9
    assert masked.metrics_["stride_regularity"] == pytest.approx(1.0, abs=0.03)
    assert masked.metrics_["harmonic_ratio_vertical"] == pytest.approx(4.0, rel=0.05)
    assert masked.metrics_["regularity_window_s"] < plain.metrics_["regularity_window_s"]
