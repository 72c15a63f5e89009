"""Simulated tasks show their truth in the segment orientations and signals.

Angles are computed here from ``q_world_segment`` with plain geometry (axis projections),
independently of how the simulator parameterises its poses.
"""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from numpy.typing import NDArray

from hipscope.acquisition.simulator import (
    GaitSpec,
    RepetitionSpec,
    SimulatedSession,
    SingleLegStanceSpec,
    StaticSpec,
    screen_protocol,
    simulate,
)
from hipscope.base.rotations import quat_conjugate, quat_multiply, to_rotation

FloatArray = NDArray[np.float64]


def _axis(q: FloatArray, axis: int) -> FloatArray:
    """A segment axis (0 x anterior, 1 y superior, 2 z right) in the world, (N, 3)."""
    return to_rotation(q).as_matrix()[:, :, axis]


def _obliquity_deg(q_pelvis: FloatArray) -> FloatArray:
    """Rotation about the anterior axis, positive when the right side (z) is lower."""
    return np.degrees(-np.arcsin(_axis(q_pelvis, 2)[:, 2]))


def _relative(q_parent: FloatArray, q_child: FloatArray) -> FloatArray:
    return quat_multiply(quat_conjugate(q_parent), q_child)


def _sagittal_deg(q_parent: FloatArray, q_child: FloatArray) -> FloatArray:
    """Child superior axis tilt backwards in the parent's sagittal plane (flexion of a thigh)."""
    y = _axis(_relative(q_parent, q_child), 1)
    return np.degrees(np.arctan2(-y[:, 0], y[:, 1]))


def _thigh_inclination_deg(q_thigh: FloatArray) -> FloatArray:
    """Forward inclination of the thigh's lower end, in the world (athlete walks along +x)."""
    y = _axis(q_thigh, 1)
    return np.degrees(np.arctan2(-y[:, 0], y[:, 2]))


def _window(sim: SimulatedSession, start_s: float, end_s: float) -> NDArray[np.bool_]:
    return (sim.time_s >= start_s) & (sim.time_s <= end_s)


@pytest.fixture(scope="module")
def screen() -> SimulatedSession:
    return simulate(rate_hz=100.0, seed=11, noise=False, misalignment_deg=15.0)


def test_screen_protocol_opens_with_static_and_has_every_task(screen: SimulatedSession) -> None:
    labels = [t.label for t in screen.tasks]
    assert labels == [
        "static",
        "single_leg_stance (left)",
        "single_leg_stance (right)",
        "hip_hinge",
        "gait",
    ]
    assert screen.tasks[0].end_s - screen.tasks[0].start_s >= 3.0
    assert 85.0 <= screen.duration_s <= 125.0
    for before, after in zip(screen.tasks, screen.tasks[1:], strict=False):
        assert after.start_s - before.end_s >= 2.0  # quiet standing between tasks
    assert len(screen.truth) == len(screen.tasks)
    assert [row["kind"] for row in screen.truth] == [t.kind for t in screen.tasks]
    left, right = screen.truth[1], screen.truth[2]
    assert left["pelvic_drop_deg"] != right["pelvic_drop_deg"]


def test_no_motion_between_tasks(screen: SimulatedSession) -> None:
    outside = np.ones(len(screen.time_s), dtype=bool)
    for task in screen.tasks:
        outside &= ~_window(screen, task.start_s - 0.02, task.end_s + 0.02)
    for batch in screen.samples.values():
        assert np.abs(batch.gyr_rad_s[outside]).max() < 1e-5
        np.testing.assert_allclose(np.linalg.norm(batch.acc_m_s2[outside], axis=1), 9.81, atol=1e-4)


def test_a_protocol_without_opening_static_gets_one() -> None:
    sim = simulate([RepetitionSpec(reps=1)], noise=False)
    assert [t.kind for t in sim.tasks] == ["static", "hip_hinge"]
    assert sim.tasks[0].end_s - sim.tasks[0].start_s >= 3.0


@pytest.mark.parametrize("side", ["left", "right"])
def test_pelvic_drop_and_trunk_lean_show_in_segment_orientation(
    screen: SimulatedSession, side: str
) -> None:
    index = 1 if side == "left" else 2
    truth = screen.truth[index]
    assert screen.tasks[index].side == side
    static = screen.tasks[0]
    q_pelvis, q_trunk = screen.q_world_segment["pelvis"], screen.q_world_segment["trunk"]
    obliquity = _obliquity_deg(q_pelvis)
    reference = np.mean(obliquity[_window(screen, static.start_s, static.end_s)])
    hold = _window(screen, truth["hold_start_s"], truth["hold_end_s"])
    assert truth["hold_end_s"] - truth["hold_start_s"] == pytest.approx(truth["hold_s"])
    free_side_lower = 1.0 if side == "left" else -1.0  # obliquity > 0: the right side is lower
    drop = free_side_lower * (obliquity[hold] - reference)
    np.testing.assert_allclose(drop, truth["pelvic_drop_deg"], atol=1e-6)
    # trunk lean relative to world vertical: the trunk's right side lower = leaning right
    trunk_obliquity = _obliquity_deg(q_trunk)
    static_trunk = np.mean(trunk_obliquity[_window(screen, static.start_s, static.end_s)])
    lean_right = trunk_obliquity[hold] - static_trunk
    towards_stance = lean_right if side == "right" else -lean_right
    np.testing.assert_allclose(towards_stance, truth["trunk_lean_deg"], atol=1e-6)
    # trunk on the pelvis: the trunk's superior axis towards the pelvis' right (+z)
    y_trunk = _axis(_relative(q_pelvis, q_trunk), 1)
    bend_right = np.degrees(np.arcsin(y_trunk[hold, 2]))
    np.testing.assert_allclose(bend_right, truth["lumbar_lateral_bend_deg"], atol=1e-6)
    # the free thigh is lifted, the stance thigh stays near vertical
    free, stance = (
        ("thigh_right", "thigh_left") if side == "left" else ("thigh_left", "thigh_right")
    )
    lifted = _thigh_inclination_deg(screen.q_world_segment[free])[hold]
    assert np.mean(lifted) == pytest.approx(truth["free_hip_flexion_deg"], abs=1.0)
    assert np.abs(_thigh_inclination_deg(screen.q_world_segment[stance])[hold]).max() < 1.0
    # the hold starts after the lift and ends before the foot is down, inside the task row
    task = screen.tasks[index]
    assert task.start_s < truth["lift_start_s"] < truth["hold_start_s"]
    assert truth["hold_end_s"] < truth["foot_down_s"] < task.end_s


def test_gait_contacts_follow_the_requested_step_times() -> None:
    spec = GaitSpec(duration_s=25.0, step_time_left_s=0.55, step_time_right_s=0.58)
    sim = simulate([StaticSpec(3.0), spec], rate_hz=100.0, noise=False, seed=2)
    truth = sim.truth[-1]
    left = np.array(truth["initial_contacts_left_s"])
    right = np.array(truth["initial_contacts_right_s"])
    assert len(left) >= 19 and len(right) >= 19
    contacts = sorted([(t, "L") for t in left] + [(t, "R") for t in right])
    sides = [s for _, s in contacts]
    assert all(a != b for a, b in itertools.pairwise(sides))  # alternating
    for (t0, _), (t1, s1) in itertools.pairwise(contacts):
        expected = 0.55 if s1 == "L" else 0.58  # a left step ends at a left contact
        assert t1 - t0 == pytest.approx(expected, abs=1e-9)
    assert truth["step_time_si_pct"] == pytest.approx(100 * (0.55 - 0.58) / 0.565)
    stride = truth["stride_time_s"]
    assert stride == pytest.approx(1.13)
    stance_fraction = (truth["stance_time_left_s"] + truth["stance_time_right_s"]) / (2 * stride)
    assert stance_fraction == pytest.approx(0.6)
    final_left = np.array(truth["final_contacts_left_s"])
    np.testing.assert_allclose(final_left - left, truth["stance_time_left_s"])
    assert truth["swing_time_left_s"] == pytest.approx(stride - truth["stance_time_left_s"])
    task = sim.tasks[-1]
    assert task.start_s < contacts[0][0] and contacts[-1][0] < task.end_s


def test_screen_gait_varies_around_the_requested_step_times(screen: SimulatedSession) -> None:
    truth = screen.truth[-1]
    left = np.array(truth["initial_contacts_left_s"])
    right = np.array(truth["initial_contacts_right_s"])
    contacts = sorted([(t, "L") for t in left] + [(t, "R") for t in right])
    assert all(a[1] != b[1] for a, b in itertools.pairwise(contacts))
    steps = {"L": [], "R": []}
    for (t0, _), (t1, s1) in itertools.pairwise(contacts):
        steps[s1].append(t1 - t0)
    np.testing.assert_allclose(steps["L"], truth["step_times_left_s"][-len(steps["L"]) :])
    assert np.mean(steps["L"]) == pytest.approx(0.55, abs=0.012)
    assert np.mean(steps["R"]) == pytest.approx(0.58, abs=0.012)
    cv = np.std(steps["L"]) / np.mean(steps["L"])
    assert 0.01 < cv < 0.035
    si = (
        100
        * (np.mean(steps["L"]) - np.mean(steps["R"]))
        / (0.5 * np.sum([np.mean(v) for v in steps.values()]))
    )
    assert truth["step_time_si_pct"] == pytest.approx(si, abs=0.3)


def test_gait_contacts_show_in_pelvis_acc_and_thigh_angles(screen: SimulatedSession) -> None:
    truth = screen.truth[-1]
    acc_norm = np.linalg.norm(screen.samples["pelvis"].acc_m_s2, axis=1)
    t = screen.time_s
    for side, rom in (("left", 44.0), ("right", 40.0)):
        inclination = _thigh_inclination_deg(screen.q_world_segment[f"thigh_{side}"])
        for ic in truth[f"initial_contacts_{side}_s"]:
            # the heel-strike transient: the largest |acc| within ±60 ms sits on the contact
            near = np.flatnonzero(np.abs(t - ic) <= 0.06)
            assert abs(t[near[np.argmax(acc_norm[near])]] - ic) <= 0.011
            # in steady walking, peak thigh flexion comes just before the contact
            if not truth["steady_start_s"] < ic < truth["steady_end_s"]:
                continue
            before = np.flatnonzero((t >= ic - 0.3) & (t <= ic + 0.2))
            peak = t[before[np.argmax(inclination[before])]]
            assert -0.1 <= peak - ic <= 0.0
        steady = _window(screen, truth["steady_start_s"], truth["steady_end_s"])
        measured_rom = np.ptp(inclination[steady])
        assert measured_rom == pytest.approx(truth[f"thigh_rom_{side}_deg"], abs=0.5)
        assert truth[f"thigh_rom_{side}_deg"] == rom


def _extension_onsets(
    sim: SimulatedSession, rep: dict[str, float], fraction: float = 1e-3
) -> tuple[float, float]:
    """First time after the turning point where hip / lumbar flexion has fallen by `fraction`
    of its own excursion (the same relative threshold for both, so shapes compare fairly)."""
    q = sim.q_world_segment
    hip = _sagittal_deg(q["pelvis"], q["thigh_left"])
    lumbar = -_sagittal_deg(q["pelvis"], q["trunk"])  # trunk forward on the pelvis = flexion
    onsets = []
    for angle in (hip, lumbar):
        segment = _window(sim, rep["start_s"], rep["end_s"])
        values, times = angle[segment], sim.time_s[segment]
        turn = np.argmax(values)
        excursion = values[turn] - values.min() if values[0] < values[turn] else np.ptp(values)
        falling = np.flatnonzero(values[turn:] < values[turn] - fraction * excursion)
        onsets.append(float(times[turn + falling[0]]))
    return onsets[0], onsets[1]


@pytest.mark.parametrize(
    ("kind", "lead_ms"),
    [("hip_hinge", 80.0), ("hip_hinge", -60.0), ("squat", 120.0), ("hip_bridge", 50.0)],
)
def test_hip_lead_appears_in_the_segment_angles(kind: str, lead_ms: float) -> None:
    spec = RepetitionSpec(kind, reps=3, hip_lead_ms=lead_ms, hip_lead_jitter_ms=15.0)
    sim = simulate([StaticSpec(3.0), spec], rate_hz=200.0, noise=False, seed=9)
    truth = sim.truth[1]
    assert len(truth["reps"]) == 3
    leads = [r["hip_lead_ms"] for r in truth["reps"]]
    assert len(set(leads)) == 3  # per-repetition variation, recorded
    assert np.mean(leads) == pytest.approx(lead_ms, abs=40.0)
    for rep in truth["reps"]:
        assert rep["lumbar_onset_s"] - rep["hip_onset_s"] == pytest.approx(rep["hip_lead_ms"] / 1e3)
        hip_onset, lumbar_onset = _extension_onsets(sim, rep)
        # a 0.1% threshold on a minimum-jerk profile triggers ~46 ms after its start
        assert 0.02 < hip_onset - rep["hip_onset_s"] < 0.07
        assert 0.02 < lumbar_onset - rep["lumbar_onset_s"] < 0.07
        assert 1e3 * (lumbar_onset - hip_onset) == pytest.approx(rep["hip_lead_ms"], abs=6.0)
        _check_peak_velocity(sim, rep)
    hip, lumbar = truth["hip_extension_deg"], truth["lumbar_extension_deg"]
    assert truth["hip_share_pct"] == pytest.approx(100 * hip / (hip + lumbar))


def _check_peak_velocity(sim: SimulatedSession, rep: dict[str, float]) -> None:
    """Peak extension velocity (value and time) of hip and lumbar angles, by differentiation."""
    q = sim.q_world_segment
    dt = 1.0 / sim.rate_hz
    segment = _window(sim, rep["rise_start_s"] - 0.1, rep["end_s"] + 0.1)
    times = sim.time_s[segment]
    for name, angle in (
        ("hip", _sagittal_deg(q["pelvis"], q["thigh_right"])),
        ("lumbar", -_sagittal_deg(q["pelvis"], q["trunk"])),
    ):
        velocity = -np.gradient(angle[segment], dt)  # extension = falling flexion
        if np.ptp(angle[segment]) < 1.0:
            continue
        sign = 1.0 if velocity.max() > -velocity.min() else -1.0  # a bridge extends the other way
        peak = int(np.argmax(sign * velocity))
        assert sign * velocity[peak] == pytest.approx(
            rep[f"{name}_peak_extension_velocity_deg_s"], rel=0.01
        )
        assert times[peak] == pytest.approx(rep[f"{name}_peak_extension_velocity_s"], abs=dt)


def test_bridge_is_done_lying_supine() -> None:
    protocol = [StaticSpec(3.0), RepetitionSpec("hip_bridge", reps=2)]
    sim = simulate(protocol, noise=False, seed=1, misalignment_deg=0.0)
    task = sim.tasks[1]
    first_rep = sim.truth[1]["reps"][0]
    before = _window(sim, task.start_s - 0.8, first_rep["hip_onset_s"] - 0.05)
    # lying on the back: the pelvis' anterior axis points up, its sensor's +z (out of the
    # sacrum) points down into the floor, so gravity reads -9.81 on z
    assert _axis(sim.q_world_segment["pelvis"][before], 0)[:, 2].min() > 0.99
    acc = sim.samples["pelvis"].acc_m_s2[before]
    np.testing.assert_allclose(acc, np.broadcast_to([0.0, 0.0, -9.81], acc.shape), atol=1e-3)
    # hips come up during the bridge: pelvis sensor rises, hip extends towards neutral
    top = _window(sim, first_rep["hip_onset_s"] + 1.05, first_rep["hip_onset_s"] + 1.2)
    rise = sim.position_m["pelvis"][top, 2].mean() - sim.position_m["pelvis"][before, 2].mean()
    assert 0.08 < rise < 0.3
    hip = _sagittal_deg(sim.q_world_segment["pelvis"], sim.q_world_segment["thigh_right"])
    assert np.mean(hip[before]) == pytest.approx(45.0, abs=0.5)
    assert abs(np.mean(hip[top])) < 1.0


def test_screen_protocol_values_are_asymmetric() -> None:
    specs = screen_protocol()
    gait = specs[-1]
    assert isinstance(gait, GaitSpec)
    assert gait.step_time_left_s != gait.step_time_right_s
    stances = [s for s in specs if isinstance(s, SingleLegStanceSpec)]
    assert {s.side for s in stances} == {"left", "right"}
    assert stances[0].pelvic_drop_deg != stances[1].pelvic_drop_deg


def test_step_time_variability_is_recorded_and_visible() -> None:
    spec = GaitSpec(
        duration_s=40.0,
        step_time_left_s=0.55,
        step_time_right_s=0.55,
        step_time_cv=0.03,
        peak_flexion_before_contact_s=0.08,
    )
    sim = simulate([StaticSpec(3.0), spec], rate_hz=200.0, noise=False, seed=4)
    truth = sim.truth[1]
    steps = np.array(truth["step_times_left_s"] + truth["step_times_right_s"])
    assert 0.015 < np.std(steps) / np.mean(steps) < 0.045
    assert truth["step_time_left_s"] == pytest.approx(np.mean(truth["step_times_left_s"]))
    left = np.array(truth["initial_contacts_left_s"])
    right = np.array(truth["initial_contacts_right_s"])
    for ic, step in zip(left, truth["step_times_left_s"], strict=True):
        assert ic - right[right < ic][-1] == pytest.approx(step)
    t = sim.time_s
    acc_norm = np.linalg.norm(sim.samples["pelvis"].acc_m_s2, axis=1)
    inclination = _thigh_inclination_deg(sim.q_world_segment["thigh_left"])
    for ic in left:
        near = np.flatnonzero(np.abs(t - ic) <= 0.06)
        assert abs(t[near[np.argmax(acc_norm[near])]] - ic) <= 0.006
        if truth["steady_start_s"] < ic < truth["steady_end_s"]:
            window = np.flatnonzero((t >= ic - 0.35) & (t <= ic + 0.15))
            peak = t[window[np.argmax(inclination[window])]]
            assert peak - ic == pytest.approx(-0.08, abs=0.01)
