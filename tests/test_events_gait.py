"""Pelvis-only contact detection on simulated walks, using the simulator's true orientation.

This isolates the event detector from fusion and calibration: vertical acceleration and
the pelvis roll rate come from the ground-truth sensor orientation and mounting.
"""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from numpy.typing import NDArray

from hipscope.acquisition.simulator import GaitSpec, StaticSpec, simulate
from hipscope.base.errors import HipscopeError
from hipscope.base.rotations import to_rotation
from hipscope.processing.events.gait import (
    PelvisContacts,
    ThighTurningPoints,
    alternating_side_evidence,
)


@pytest.mark.parametrize(
    ("rate_hz", "seed", "steps"), [(60.0, 0, (0.55, 0.58)), (200.0, 1, (0.62, 0.52))]
)
def test_pelvis_contacts_and_sides_match_truth(
    rate_hz: float, seed: int, steps: tuple[float, float]
) -> None:
    spec = GaitSpec(duration_s=20.0, step_time_left_s=steps[0], step_time_right_s=steps[1])
    session = simulate([StaticSpec(duration_s=4.0), spec], rate_hz=rate_hz, seed=seed)
    batch = session.samples["pelvis"]
    q_world_sensor = session.q_world_sensor("pelvis")
    acc_world = to_rotation(q_world_sensor).apply(batch.acc_m_s2.astype(np.float64))
    # angular velocity in the segment frame: sensor gyro rotated by the true mounting
    gyr_segment = to_rotation(session.q_segment_sensor["pelvis"]).apply(
        batch.gyr_rad_s.astype(np.float64)
    )
    task = session.tasks[-1]
    found = PelvisContacts().detect(
        batch.time_s, acc_world[:, 2], gyr_segment[:, 0], start_s=task.start_s, end_s=task.end_s
    )
    truth = session.truth[-1]
    true_times = np.concatenate(
        [truth["initial_contacts_left_s"], truth["initial_contacts_right_s"]]
    )
    true_sides = np.array(
        ["left"] * len(truth["initial_contacts_left_s"])
        + ["right"] * len(truth["initial_contacts_right_s"])
    )
    # Inside the truth's span (the simulated start and stop of the walk move the pelvis
    # too), every detection is a true contact within 40 ms, on the right side.
    span = (found.ic_time_s_ > true_times.min() - 0.2) & (found.ic_time_s_ < true_times.max() + 0.2)
    assert (~span).sum() <= 2
    distance = np.abs(found.ic_time_s_[span][:, None] - true_times[None, :])
    nearest = np.argmin(distance, axis=1)
    error = distance[np.arange(nearest.shape[0]), nearest]
    assert np.all(error[1:-1] < 0.04)
    assert np.all(error < 0.1)  # the first and last step of a walk are less crisp
    assert np.mean(found.ic_side_[span] == true_sides[nearest]) >= 0.95
    # and almost every true contact inside the task is found
    inside = (true_times > task.start_s + 0.3) & (true_times < task.end_s - 0.3)
    assert len(set(nearest.tolist())) >= inside.sum() - 1


def test_thigh_turning_points_precede_simulated_contacts() -> None:
    session = simulate([StaticSpec(duration_s=4.0), GaitSpec(duration_s=12.0)], seed=2)
    truth = session.truth[-1]
    from hipscope.processing.angles import sagittal_inclination

    thigh = sagittal_inclination(session.q_world_segment["thigh_left"])
    task = session.tasks[-1]
    peaks = ThighTurningPoints().detect(
        session.time_s, thigh, start_s=task.start_s, end_s=task.end_s
    )
    contacts = np.array(truth["initial_contacts_left_s"])
    delay = contacts[:, None] - peaks.peak_flexion_s_[None, :]
    best = delay[np.arange(contacts.shape[0]), np.argmin(np.abs(delay), axis=1)]
    # peak thigh flexion comes just before the contact (a few tens of ms in the simulator)
    assert np.all(best > -0.02) and np.all(best < 0.15)


def _walk_that_stops(
    closing_impact_m_s2: float, rate_hz: float = 100.0
) -> tuple[NDArray[np.float64], NDArray[np.float64], NDArray[np.float64], float]:
    """Vertical specific force of 16 regular steps (sinusoid + a heel-strike spike at each
    contact), then a closing step 0.5 s later that only shows its impact spike, then quiet."""
    t = np.arange(0.0, 16.0, 1.0 / rate_hz)
    step_s = 0.55
    contacts = 3.0 + step_s * np.arange(16)
    closing_s = float(contacts[-1] + 0.5)
    acc = np.zeros_like(t)
    walking = (t >= contacts[0] - step_s / 2) & (t <= contacts[-1] + step_s / 2)
    acc[walking] = 2.5 * np.cos(2 * np.pi * (t[walking] - contacts[0] - 0.05) / step_s)

    def spike(at_s: float, height: float) -> NDArray[np.float64]:
        return height * np.exp(-0.5 * ((t - at_s - 0.02) / 0.012) ** 2)

    for c in contacts:
        acc += spike(c, 6.0)
    acc += spike(closing_s, closing_impact_m_s2)
    acc += 9.81 + np.random.default_rng(0).normal(0.0, 0.05, t.shape)
    return t, acc, contacts, closing_s


@pytest.mark.parametrize("impact", [0.0, 1.5])
def test_closing_step_needs_an_impact(impact: float) -> None:
    t, acc, contacts, closing_s = _walk_that_stops(impact)
    found = PelvisContacts().detect(t, acc, start_s=contacts[0] - 0.5, end_s=closing_s)
    # every walking contact once, within 20 ms
    distance = np.abs(found.ic_time_s_[:, None] - contacts[None, :])
    assert np.all(distance.min(axis=0) < 0.02)
    near_closing = np.abs(found.ic_time_s_ - closing_s) < 0.05
    if impact:
        assert near_closing.sum() == 1
        assert found.ic_time_s_.shape[0] == contacts.shape[0] + 1
        # without the closing-step rule the weak lobe is dropped
        plain = PelvisContacts(weak_prominence_ratio=0.15).detect(
            t, acc, start_s=contacts[0] - 0.5, end_s=closing_s
        )
        assert plain.ic_time_s_.shape[0] == contacts.shape[0]
    else:
        # quiet standing after the walk gives no contact
        assert found.ic_time_s_.shape[0] == contacts.shape[0]


def _brute_force_log_odds(
    time_s: NDArray[np.float64], score: NDArray[np.float64], p: float
) -> NDArray[np.float64]:
    """Posterior log-odds of left by enumerating every labelling (independent of the code)."""
    import itertools

    spread = np.median(np.abs(score))
    step = np.median(np.diff(time_s))
    gaps = np.diff(time_s) / step
    post = np.zeros((score.shape[0], 2))
    for labels in itertools.product((0, 1), repeat=score.shape[0]):  # 0 left, 1 right
        weight = 1.0
        for i, lab in enumerate(labels):
            z = score[i] / spread
            weight *= 1 / (1 + np.exp(-z)) if lab == 0 else 1 / (1 + np.exp(z))
            if i:
                a = p if 0.6 <= gaps[i - 1] <= 1.6 else 0.5
                weight *= a if labels[i - 1] != lab else 1 - a
        for i, lab in enumerate(labels):
            post[i, lab] += weight
    return np.log(post[:, 0]) - np.log(post[:, 1])


def test_alternating_sides_match_enumeration_and_outvote_weak_scores() -> None:
    rng = np.random.default_rng(3)
    time_s = np.array([0.0, 0.55, 1.1, 1.66, 2.2, 2.74, 4.5, 5.05, 5.6])  # a pause before 4.5
    truth = np.array([1, -1, 1, -1, 1, -1, -1, 1, -1], dtype=float)  # +1 left
    score = truth * rng.uniform(0.5, 1.5, truth.shape)
    score[3] = 0.2  # one weak, wrong score inside the rhythm
    got = alternating_side_evidence(time_s, score, 0.9)
    np.testing.assert_allclose(got, _brute_force_log_odds(time_s, score, 0.9), atol=1e-9)
    assert np.all(np.sign(got) == truth)
    # no alternation assumed: each side follows its own score
    alone = alternating_side_evidence(time_s, score, 0.5)
    assert np.all(np.sign(alone) == np.sign(score))


def test_push_off_before_the_first_contact_is_dropped() -> None:
    t, acc, contacts, closing_s = _walk_that_stops(0.0)
    step_s = 0.55
    push_off_s = contacts[0] - 0.4  # a swing (~0.73 step) before the first heel strike
    near = np.abs(t - push_off_s) < step_s / 2
    acc[near] += (
        2.5
        * np.cos(2 * np.pi * (t[near] - push_off_s - 0.05) / step_s)
        * np.cos(np.pi * (t[near] - push_off_s) / step_s) ** 2
    )
    acc += 6.0 * np.exp(-0.5 * ((t - push_off_s - 0.02) / 0.012) ** 2)
    window = {"start_s": push_off_s - 0.3, "end_s": closing_s}
    kept = PelvisContacts(push_off_step=0.0).detect(t, acc, **window).ic_time_s_
    assert kept.shape[0] == contacts.shape[0] + 1
    assert abs(kept[0] - push_off_s) < 0.03
    found = PelvisContacts().detect(t, acc, **window).ic_time_s_
    assert found.shape[0] == contacts.shape[0]
    assert np.all(np.abs(found - contacts) < 0.03)


def _asymmetric_walk(
    short_s: float = 0.50,
    long_s: float = 0.62,
    rate_hz: float = 100.0,
    second_peak_m_s2: float = 0.0,
) -> tuple[NDArray[np.float64], NDArray[np.float64], NDArray[np.float64]]:
    """Vertical specific force of a walk whose steps alternate short / long: each step is one
    cosine cycle stretched over its own duration (the pelvis low just after the contact),
    plus a loading peak 40 ms after each contact (and, if given, a second one 110 ms after
    the first, as weight acceptance gives in many walkers); standing before and after."""
    durations = np.resize([short_s, long_s], 30)
    contacts = 3.0 + np.concatenate(([0.0], np.cumsum(durations)))
    t = np.arange(0.0, contacts[-1] + 3.0, 1.0 / rate_hz)
    acc = np.zeros_like(t)
    for start, stop in itertools.pairwise(contacts):
        inside = (t >= start) & (t < stop)
        acc[inside] = 2.0 * np.cos(2 * np.pi * (t[inside] - start - 0.08) / (stop - start))
    for c in contacts:
        acc += 4.0 * np.exp(-0.5 * ((t - c - 0.04) / 0.02) ** 2)
        acc += second_peak_m_s2 * np.exp(-0.5 * ((t - c - 0.15) / 0.025) ** 2)
    acc += 9.81 + np.random.default_rng(3).normal(0.0, 0.05, t.shape)
    return t, acc, contacts


def _mean_step_si(ic_time_s: NDArray[np.float64]) -> float:
    steps = np.diff(ic_time_s)
    odd, even = steps[0::2].mean(), steps[1::2].mean()
    return float(100.0 * (odd - even) / (0.5 * (odd + even)))


def test_contacts_follow_their_own_loading_peak_not_the_neighbouring_steps() -> None:
    """A contact's time must not depend on the duration of the step next to it: with the
    loading-peak timing the detected step-time asymmetry is the true one; the CWT lobe
    (``timing="lobe"``) is pulled by the neighbouring steps and compresses it."""
    t, acc, contacts = _asymmetric_walk()
    window = {"start_s": contacts[0] - 0.2, "end_s": contacts[-1] + 0.2}
    true_si = _mean_step_si(contacts)

    def detected_si(timing: str) -> tuple[float, NDArray[np.float64]]:
        found = PelvisContacts(timing=timing).detect(t, acc, **window).ic_time_s_
        nearest = found[np.argmin(np.abs(found[:, None] - contacts[None, :]), axis=0)]
        inner = slice(2, -2)  # starting and stopping steps aside
        return _mean_step_si(nearest[inner]), nearest[inner] - contacts[inner]

    si, error = detected_si("loading_peak")
    assert abs(si - _mean_step_si(contacts[2:-2])) < 0.5
    # the loading peak 40 ms after each contact, less the 40 ms loading delay: on the contact
    assert np.all(np.abs(error) < 0.006)
    lobe_si, lobe_error = detected_si("lobe")
    assert abs(lobe_si) < abs(true_si) - 1.0  # the lobe alone compresses the asymmetry
    assert np.ptp(lobe_error) > 0.01


def test_an_unknown_timing_is_refused_with_its_key() -> None:
    t, acc, _ = _asymmetric_walk()
    with pytest.raises(HipscopeError, match=r"gait_events\.pelvis\.timing"):
        PelvisContacts(timing="peak").detect(t, acc)


@pytest.mark.parametrize("second_peak", [3.0, 5.0])
def test_a_double_loading_peak_gives_the_first_one_at_every_step(second_peak: float) -> None:
    """With two loading peaks per step (the second even higher), every contact takes the first
    one, including the walk's first step (no step before it), so the choice never alternates
    between steps and sides."""
    t, acc, contacts = _asymmetric_walk(second_peak_m_s2=second_peak)
    found = (
        PelvisContacts()
        .detect(t, acc, start_s=contacts[0] - 0.2, end_s=contacts[-1] + 0.2)
        .ic_time_s_
    )
    nearest = found[np.argmin(np.abs(found[:, None] - contacts[None, :]), axis=0)]
    assert np.all(np.abs(nearest[:-1] - contacts[:-1]) < 0.01)


def test_one_step_gives_one_contact_without_warnings() -> None:
    t = np.arange(0.0, 6.0, 0.01)
    step = (t >= 3.0) & (t < 3.55)
    acc = 9.81 + np.random.default_rng(4).normal(0.0, 0.02, t.shape)
    acc[step] += 2.0 * np.cos(2 * np.pi * (t[step] - 3.08) / 0.55)
    acc += 4.0 * np.exp(-0.5 * ((t - 3.04) / 0.02) ** 2)
    found = PelvisContacts().detect(t, acc, start_s=2.9, end_s=3.05).ic_time_s_
    assert found.shape[0] == 1
    assert abs(found[0] - 3.0) < 0.01
