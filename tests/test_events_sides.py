"""Side assignment on synthetic signals: thighs alone, and three voting pelvis cues."""

from __future__ import annotations

import numpy as np
import pytest
from numpy.typing import NDArray

from hipscope.processing.events.sides import PelvisSides, ThighSides, align_polarities

RATE_HZ = 100.0
STEP_S = 0.55


def _walk(n_steps: int = 30) -> tuple[NDArray[np.float64], NDArray[np.float64], NDArray[np.str_]]:
    t = np.arange(0.0, 2.0 + n_steps * STEP_S + 2.0, 1.0 / RATE_HZ)
    ic = 2.0 + STEP_S * np.arange(n_steps)
    sides = np.where(np.arange(n_steps) % 2 == 0, "left", "right").astype("<U5")
    return t, ic, sides


def _pelvis_signals(
    t: NDArray[np.float64], yaw: float = 1.0, roll: float = 1.0, sway: float = 1.0, seed: int = 0
) -> dict[str, NDArray[np.float64]]:
    """Stride-periodic cues with the physical phases: stride phase 0 at each left contact."""
    rng = np.random.default_rng(seed)
    phase = 2.0 * np.pi * (t - 2.0) / (2.0 * STEP_S)
    return {
        # clockwise (negative) just before and at a left contact, counter-clockwise at a right one
        "gyr_yaw_rad_s": yaw * 0.3 * -np.cos(phase) + 0.02 * rng.standard_normal(t.shape[0]),
        # after a left contact the right side drops (positive roll rate)
        "gyr_roll_rad_s": roll * 0.2 * np.sin(phase + 0.6) + 0.02 * rng.standard_normal(t.shape[0]),
        # the pelvis moves left around a left contact: velocity peaks there, so the
        # acceleration (its derivative) leads it by a quarter stride
        "acc_ml_m_s2": sway * -0.8 * np.sin(phase) + 0.05 * rng.standard_normal(t.shape[0]),
    }


def test_pelvis_cues_with_physical_phases_give_every_side() -> None:
    t, ic, truth = _walk()
    found = PelvisSides().assign(t, ic, **_pelvis_signals(t))
    assert np.array_equal(found.side_, truth)
    # each cue on its own points the right way too
    for name, score in found.scores_.items():
        assert np.mean(np.where(score >= 0, "left", "right") == truth) > 0.9, name
    assert all(p == 1.0 for p in found.polarity_.values())


@pytest.mark.parametrize("reversed_cue", ["yaw", "roll", "sway"])
def test_one_reversed_cue_cannot_turn_a_walk_round(reversed_cue: str) -> None:
    t, ic, truth = _walk()
    flips = {"yaw": 1.0, "roll": 1.0, "sway": 1.0, reversed_cue: -1.0}
    found = PelvisSides().assign(t, ic, **_pelvis_signals(t, **flips, seed=3))
    assert np.array_equal(found.side_, truth)
    assert found.polarity_[reversed_cue] == -1.0
    assert sum(p == -1.0 for p in found.polarity_.values()) == 1


def test_two_cues_alone_keep_their_physical_polarity() -> None:
    t, ic, truth = _walk()
    signals = _pelvis_signals(t, roll=-1.0)
    found = PelvisSides().assign(t, ic, gyr_roll_rad_s=signals["gyr_roll_rad_s"])
    assert np.array_equal(found.side_, np.where(truth == "left", "right", "left"))
    none = PelvisSides().assign(t, ic)
    assert (none.side_ == "").all()


def test_align_polarities_flips_at_most_one_cue() -> None:
    base = np.tile([1.0, -1.0], 20)
    scores = {"a": base, "b": -base, "c": -base * 0.5 + 0.01 * np.arange(40) % 2}
    polarity = align_polarities(scores)
    assert polarity == {"a": -1.0, "b": 1.0, "c": 1.0}
    assert align_polarities({"a": base, "b": -base}) == {"a": 1.0, "b": 1.0}


def test_thigh_sides_ignore_offsets_and_unequal_ranges() -> None:
    t, ic, truth = _walk()
    phase = 2.0 * np.pi * (t - 2.0) / (2.0 * STEP_S)
    # the left thigh peaks in flexion at its contacts; the right half a stride later
    left = np.radians(35.0) + np.radians(20.0) * np.cos(phase)
    right = np.radians(-25.0) + np.radians(35.0) * np.cos(phase + np.pi)
    found = ThighSides().assign(t, ic, left, right, start_s=2.0, end_s=ic[-1])
    assert np.array_equal(found.side_, truth)
    # a raw comparison of the angles would call every contact left (offsets differ by 60°)
    assert (np.interp(ic, t, left) > np.interp(ic, t, right)).all()


def test_the_yaw_cue_is_read_where_mccamleys_contact_sits_ahead_of_the_heel_strike() -> None:
    """A yaw rate that changes sign 25 ms before each heel strike: read 50 ms ahead (where
    McCamley's CWT contact falls) it names every side; read on the heel strike it would
    invert them all."""
    t = np.arange(0.0, 30.0, 0.01)
    ic = 5.0 + 0.55 * np.arange(40)
    truth = np.where(np.arange(40) % 2 == 0, "left", "right")
    # negative (clockwise) ahead of a left contact, as the left leg swings forward
    yaw = 0.3 * np.sin(2 * np.pi * (t - ic[0] + 0.025) / 1.1)
    ahead = PelvisSides().assign(t, ic, gyr_yaw_rad_s=yaw)
    assert (ahead.side_ == truth).all()
    on_strike = PelvisSides(yaw_lead_s=0.0).assign(t, ic, gyr_yaw_rad_s=yaw)
    assert (on_strike.side_ != truth).all()
