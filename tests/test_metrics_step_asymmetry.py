"""Step-time SI with its bootstrap interval, steps per side, "too few steps", stance policy."""

from __future__ import annotations

import numpy as np
import pytest
from numpy.typing import NDArray

from hipscope.processing.events.gait import GaitEvents
from hipscope.processing.metrics.step_asymmetry import (
    TOO_FEW_STEPS,
    StepTimeAsymmetry,
    apply_step_asymmetry,
    contacts_in_straight_walking,
    steps_from_contacts,
    symmetry_index,
)


def _contacts(
    left_s: float, right_s: float, n_strides: int, cv: float = 0.0, seed: int = 0
) -> tuple[NDArray[np.float64], NDArray[np.str_]]:
    """Right contact first; a left step (right -> left) lasts left_s."""
    rng = np.random.default_rng(seed)
    steps = np.tile([left_s, right_s], n_strides) * (1.0 + cv * rng.standard_normal(2 * n_strides))
    times = np.concatenate([[0.0], np.cumsum(steps)])
    sides = np.array(["right"] + ["left", "right"] * n_strides, dtype="<U5")
    return times, sides


def test_si_matches_the_step_times_and_sign_convention() -> None:
    times, sides = _contacts(0.60, 0.50, 15)
    result = StepTimeAsymmetry().compute(times, sides)
    m = result.metrics_
    assert m["n_steps_left"] == 15 and m["n_steps_right"] == 15
    assert m["step_time_si_pct"] == pytest.approx(symmetry_index(0.6, 0.5), abs=0.01)
    assert m["step_time_si_pct"] > 0  # left steps longer: positive
    low, high = m["step_time_si_ci95_pct"]
    assert low <= m["step_time_si_pct"] <= high
    assert m["step_time_si_state"] == "ok"


def test_interval_covers_the_truth_and_narrows_with_more_strides() -> None:
    true_si = symmetry_index(0.58, 0.52)
    widths: dict[int, list[float]] = {10: [], 90: []}
    covered = 0
    for n_strides in widths:
        for seed in range(20):
            times, sides = _contacts(0.58, 0.52, n_strides, cv=0.03, seed=seed)
            m = StepTimeAsymmetry().compute(times, sides).metrics_
            low, high = m["step_time_si_ci95_pct"]
            covered += low < true_si < high
            widths[n_strides].append(high - low)
    assert covered >= 35  # of 40 walks (95 % nominal)
    # nine times the strides: about a third of the width
    assert np.mean(widths[90]) < 0.5 * np.mean(widths[10])
    # the same walk always reads the same interval (seeded)
    again = StepTimeAsymmetry().compute(times, sides).metrics_["step_time_si_ci95_pct"]
    assert again == m["step_time_si_ci95_pct"]


def test_too_few_steps_withholds_the_si_with_a_reason() -> None:
    times, sides = _contacts(0.6, 0.5, 5)
    result = StepTimeAsymmetry().compute(times, sides)
    assert result.metrics_["step_time_si_state"] == TOO_FEW_STEPS
    assert result.metrics_["step_time_si_pct"] is None
    assert result.metrics_["step_time_si_ci95_pct"] is None
    assert "5 left / 5 right" in result.unavailable_["step_time_si_pct"]
    assert StepTimeAsymmetry(min_steps_per_side=5).compute(times, sides).metrics_[
        "step_time_si_pct"
    ] == pytest.approx(symmetry_index(0.6, 0.5), abs=0.01)


def test_steps_skip_pauses_unknown_and_repeated_sides() -> None:
    times = np.array([0.0, 0.5, 1.0, 3.0, 3.5, 4.0, 4.5])
    sides = np.array(["right", "left", "left", "right", "", "left", "right"])
    steps = steps_from_contacts(times, sides)
    assert [(s.side, round(s.duration_s, 2)) for s in steps] == [("left", 0.5), ("right", 0.5)]


def _events(fc: NDArray[np.float64], source: str) -> GaitEvents:
    times, sides = _contacts(0.55, 0.55, 12)
    fc_side = np.resize(np.array(["left", "right"], dtype="<U5"), fc.shape[0])
    return GaitEvents(times, sides, fc, fc_side, source)


def test_stance_swing_only_from_foot_off() -> None:
    metrics = {"stance_time_left_s": 0.6, "stance_time_si_pct": 1.0}
    unavailable: dict[str, str] = {}
    events = _events(np.array([0.1, 0.7]), "pelvis contacts, thigh sides, peak thigh extension")
    apply_step_asymmetry(metrics, unavailable, events)
    assert metrics["stance_time_left_s"] is None and metrics["stance_time_si_pct"] is None
    assert "before" in unavailable["stance_time_left_s"]
    assert metrics["final_contact_source"] == "peak thigh extension"
    assert metrics["step_time_si_ci95_pct"] is not None

    metrics = {"stance_time_left_s": 0.6}
    unavailable = {}
    events = _events(np.array([0.1, 0.7]), "pelvis contacts, pelvis sides, pelvis foot-off")
    apply_step_asymmetry(metrics, unavailable, events)
    assert metrics["stance_time_left_s"] == 0.6
    assert metrics["final_contact_source"] == "pelvis foot-off (McCamley 2012)"


def test_steps_in_turns_stay_out_of_the_si() -> None:
    # even straight walking, then a left turn whose inner (left) steps are short, then even
    steps = [0.55] * 20 + [0.40, 0.62] * 3 + [0.55] * 20
    times = np.concatenate([[0.0], np.cumsum(steps)])
    sides = np.array(["right", "left"] * (len(times) // 2) + ["right"] * (len(times) % 2))
    turn = (times[20] - 0.01, times[26] + 0.01)
    time_s = np.arange(0.0, times[-1] + 1.0, 0.01)
    straight_mask = ~((time_s > turn[0]) & (time_s < turn[1]))
    straight = contacts_in_straight_walking(time_s, straight_mask, times)
    assert not straight[20:27].any() and straight[:20].all() and straight[27:].all()

    everything = StepTimeAsymmetry().compute(times, sides).metrics_
    result = StepTimeAsymmetry().compute(times, sides, contact_straight=straight).metrics_
    assert abs(everything["step_time_si_pct"]) > 3.0  # the turn reads as an asymmetry
    assert result["step_time_si_pct"] == pytest.approx(0.0, abs=0.01)
    assert result["n_steps_in_turns"] == 8  # six in the turn, the steps into and out of it
    assert result["n_steps_left"] + result["n_steps_right"] == len(steps) - 8
    assert everything["n_steps_in_turns"] is None
    # the step times beside the SI are the straight steps', not the turn's
    assert result["step_time_left_s"] == result["step_time_right_s"] == pytest.approx(0.55)
    assert "step_time_left_s" not in everything


def test_contacts_outside_the_signal_are_not_straight() -> None:
    time_s = np.arange(0.0, 2.0, 0.01)
    straight = contacts_in_straight_walking(time_s, np.ones(time_s.shape[0]), [-0.5, 1.0, 2.5])
    assert straight.tolist() == [False, True, False]


def test_straight_contacts_take_the_nearest_sample() -> None:
    time_s = np.array([0.0, 0.1, 0.2, 0.3])
    mask = np.array([True, False, True, True])
    found = contacts_in_straight_walking(time_s, mask, [0.04, 0.06, 0.14, 0.16, 0.3])
    assert found.tolist() == [True, False, False, True, True]
    assert contacts_in_straight_walking([5.0], [True], [5.0, 5.1]).tolist() == [True, False]
