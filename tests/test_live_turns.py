"""Turns stay out of the live step-time SI as they do in the session analysis: the live
window finds them from the pelvis heading (``pelvis_rotation``) with the same
``StraightWalking`` the pipeline runs on the pelvis orientation."""

from __future__ import annotations

import numpy as np
import pytest
from numpy.typing import NDArray

from hipscope.gui.hub import DataHub
from hipscope.gui.livealgorithms import live_step_times, step_times
from hipscope.processing.events.turns import StraightWalking, turning_intervals

RATE_HZ = 100.0
STRIDE_S = 1.1
TURN_S = (8.0, 11.0)


def _smooth_step(t: NDArray[np.float64], start_s: float, end_s: float) -> NDArray[np.float64]:
    """0 before start, 1 after end, a raised cosine between."""
    u = np.clip((t - start_s) / (end_s - start_s), 0.0, 1.0)
    return 0.5 - 0.5 * np.cos(np.pi * u)


def _turn_weight(t: NDArray[np.float64]) -> NDArray[np.float64]:
    """1 inside the turn, 0 outside, half-second ramps."""
    return _smooth_step(t, TURN_S[0], TURN_S[0] + 0.5) - _smooth_step(t, TURN_S[1] - 0.5, TURN_S[1])


def _walk_with_a_turn() -> tuple[NDArray[np.float64], dict[str, NDArray[np.float64]]]:
    """Even steps (0.55 s) on the straight; in the turn the left steps shorten to 0.44 s
    and the right lengthen to 0.66 s, while the pelvis turns by 180° (60°/s)."""
    t = np.arange(0.0, 14.0, 1.0 / RATE_HZ)
    phase = 2.0 * np.pi * t / STRIDE_S
    lag = np.pi * (1.0 + 0.2 * _turn_weight(t))
    return t, {
        "thigh_sagittal_left": 0.4 * np.cos(phase),
        "thigh_sagittal_right": 0.4 * np.cos(phase - lag),
        # the hub holds the heading as an Euler angle: wrapped to ±180°
        "pelvis_rotation": np.angle(np.exp(1j * np.pi * _smooth_step(t, *TURN_S))),
    }


def _hub(angles: dict[str, NDArray[np.float64]], t: NDArray[np.float64]) -> DataHub:
    hub = DataHub(("pelvis", "thigh_left", "thigh_right"), RATE_HZ, history_s=30.0)
    for name, values in angles.items():
        hub.angles[name].append(t, values)
    return hub


def _si(left: float | None, right: float | None) -> float:
    assert left is not None and right is not None
    return 100.0 * (left - right) / (0.5 * (left + right))


def test_heading_and_orientation_find_the_same_turn() -> None:
    t, angles = _walk_with_a_turn()
    heading = angles["pelvis_rotation"]
    q = np.column_stack(
        [np.cos(heading / 2), np.zeros_like(t), np.zeros_like(t), np.sin(heading / 2)]
    )
    from_q = StraightWalking().detect(q, RATE_HZ).straight_
    from_heading = StraightWalking().detect_heading(heading, RATE_HZ).straight_
    assert np.array_equal(from_q, from_heading)
    assert not from_heading[(t > 9.0) & (t < 10.0)].any()
    assert from_heading[t < 7.0].all() and from_heading[t > 12.5].all()


def test_live_step_si_leaves_the_turn_out() -> None:
    t, angles = _walk_with_a_turn()
    now_s = TURN_S[1] + 1.0
    with_heading = live_step_times(_hub(angles, t), 0.0, now_s, last_steps=10)
    thighs_only = {k: v for k, v in angles.items() if k != "pelvis_rotation"}
    without = live_step_times(_hub(thighs_only, t), 0.0, now_s, last_steps=10)
    # the newest 10 steps include the turn's unless the heading takes them out
    assert _si(without.left_s, without.right_s) < -15.0
    assert with_heading.steps == 10
    assert _si(with_heading.left_s, with_heading.right_s) == pytest.approx(0.0, abs=2.0)


def test_step_times_skip_steps_touching_a_turn() -> None:
    times = np.arange(8) * 0.5
    sides = np.array(["right", "left"] * 4)
    straight = np.array([True, True, True, False, True, True, True, True])
    _, _, count = step_times(times, sides, contact_straight=straight)
    assert count == 5  # the steps into and out of contact 3 are left out


def test_turning_intervals_clip_to_the_walk() -> None:
    t = np.arange(0.0, 10.0, 0.01)
    straight = ~(((t > 2.0) & (t < 3.0)) | (t > 8.0))
    assert turning_intervals(t, straight, 1.0, 9.0) == [[2.01, 2.99], [8.01, 9.0]]
    assert turning_intervals(t, np.ones(t.size, dtype=bool), 0.0, 10.0) == []
