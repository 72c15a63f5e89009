"""Pelvic drop in single support, obliquity range and hip range while walking."""

from __future__ import annotations

import numpy as np
import pytest

from hipscope.processing.events.gait import GaitEvents
from hipscope.processing.metrics.walking_pelvis import WalkingPelvis

RATE = 100.0
STRIDE_S = 1.1


def _events(with_fc: bool) -> GaitEvents:
    left = np.arange(0.0, 20.0, STRIDE_S)
    right = left + STRIDE_S / 2
    ic = np.concatenate([left, right])
    side = np.array(["left"] * len(left) + ["right"] * len(right))
    order = np.argsort(ic)
    if not with_fc:
        return GaitEvents(ic[order], side[order])
    fc = ic + 0.6 * STRIDE_S  # 60 % stance
    return GaitEvents(ic[order], side[order], fc[order], side[order])


def _signals() -> tuple[np.ndarray, dict[str, np.ndarray]]:
    t = np.arange(0.0, 20.0, 1.0 / RATE)
    wave = np.sin(2 * np.pi * t / STRIDE_S)
    # Right side lower (positive) in left single support, by 5°; left side lower by 3°.
    obliquity = np.radians(np.where(wave > 0, 5.0, 3.0) * wave + 0.5)
    hip_left = np.radians(10.0 + 20.0 * np.cos(2 * np.pi * t / STRIDE_S))
    hip_right = np.radians(8.0 + 22.0 * np.cos(2 * np.pi * (t - STRIDE_S / 2) / STRIDE_S))
    return t, {"obliquity": obliquity, "left": hip_left, "right": hip_right}


@pytest.mark.parametrize("with_fc", [True, False])
def test_drop_per_stance_side_range_and_hip_extremes(with_fc: bool) -> None:
    t, s = _signals()
    result = WalkingPelvis().compute(
        t,
        _events(with_fc),
        start_s=0.0,
        end_s=20.0,
        pelvis_obliquity_rad=s["obliquity"],
        hip_flexion_left_rad=s["left"],
        hip_flexion_right_rad=s["right"],
        reference={"pelvis_obliquity": np.radians(0.5)},
    )
    m = result.metrics_
    assert m["pelvic_drop_single_support_left_deg"] == pytest.approx(5.0, abs=0.05)
    assert m["pelvic_drop_single_support_right_deg"] == pytest.approx(3.0, abs=0.05)
    assert m["pelvic_obliquity_range_deg"] == pytest.approx(8.0, abs=0.05)
    assert m["hip_flexion_peak_left_deg"] == pytest.approx(30.0, abs=0.05)
    assert m["hip_extension_peak_left_deg"] == pytest.approx(10.0, abs=0.05)
    assert m["hip_sagittal_range_right_deg"] == pytest.approx(44.0, abs=0.05)
    assert m["strides_used"] >= 32 and not result.unavailable_
    assert ("final contacts" in m["single_support_source"]) == with_fc


def test_running_single_support_is_the_stance_not_the_flight() -> None:
    # Running: 0.7 s strides, each stance 35 % of it, so both feet are off the ground
    # between one foot's final contact and the other's initial contact.
    stride_s, stance_s = 0.7, 0.245
    left = np.arange(0.0, 14.0, stride_s)
    right = left + stride_s / 2
    ic = np.concatenate([left, right])
    side = np.array(["left"] * len(left) + ["right"] * len(right))
    order = np.argsort(ic)
    events = GaitEvents(ic[order], side[order], ic[order] + stance_s, side[order])
    t = np.arange(0.0, 14.0, 1.0 / RATE)
    phase = np.mod(t, stride_s / 2)  # time since the last contact of either foot
    right_stance = np.mod(t, stride_s) >= stride_s / 2
    in_stance = phase < stance_s
    bump = np.sin(np.pi * np.clip(phase / stance_s, 0.0, 1.0))
    # Free side drops 6° (left stance) / 4° (right stance) in stance; in the flight after
    # it the pelvis rolls on by 9°, which no foot supports: not a single-support drop.
    drop_deg = np.where(right_stance, -4.0, 6.0) * bump
    flight_deg = np.where(right_stance, -9.0, 9.0) * np.sin(
        np.pi * np.clip((phase - stance_s) / (stride_s / 2 - stance_s), 0.0, 1.0)
    )
    obliquity = np.radians(np.where(in_stance, drop_deg, flight_deg))
    result = WalkingPelvis().compute(
        t, events, start_s=0.0, end_s=14.0, pelvis_obliquity_rad=obliquity
    )
    m = result.metrics_
    assert m["single_support_source"] == "final contacts"
    assert m["pelvic_drop_single_support_left_deg"] == pytest.approx(6.0, abs=0.05)
    assert m["pelvic_drop_single_support_right_deg"] == pytest.approx(4.0, abs=0.05)
    assert m["strides_used"] >= 36


def test_missing_sensors_and_turns_are_said() -> None:
    t, s = _signals()
    straight = t < 10.0
    result = WalkingPelvis().compute(
        t,
        _events(True),
        start_s=0.0,
        end_s=20.0,
        pelvis_obliquity_rad=s["obliquity"],
        straight_mask=straight,
    )
    assert result.metrics_["hip_flexion_peak_left_deg"] is None
    assert "needs its sensors" in result.unavailable_["hip_flexion_peak_left_deg"]
    assert result.metrics_["strides_left_out"] >= 16  # the second half turns
    assert result.metrics_["pelvic_drop_single_support_left_deg"] == pytest.approx(5.5, abs=0.05)


FAST_GAIT = {
    "speed_m_s": 2.8,
    "step_time_left_s": 0.34,
    "step_time_right_s": 0.34,
    "stance_fraction": 0.55,
    "heel_strike_m_s2": 10.0,
}
"""The fastest gait the simulator makes: 176 steps/min at 2.8 m/s, still without flight."""


@pytest.mark.parametrize(
    ("gait", "tolerance_deg"), [({}, 1.0), (FAST_GAIT, 1.5)], ids=["walk", "fast"]
)
def test_simulated_walk_matches_the_truth(
    tmp_path, gait: dict[str, float], tolerance_deg: float
) -> None:
    # Estimated angles (35° mounting error, any heading, skin artefact) against the true
    # segment angles, both cut at the simulator's true contacts. In the fast gait the
    # artefact (which grows with the segments' angular speed) adds to the peaks.
    from hipscope.acquisition.recording import load_recording
    from hipscope.acquisition.simulator import GaitSpec, StaticSpec, simulate
    from hipscope.processing.angles import compute_angles
    from hipscope.processing.kinematics import compute_kinematics

    sim = simulate(
        [StaticSpec(duration_s=5.0), GaitSpec(duration_s=20.0, **gait)],
        seed=2,
        misalignment_deg=35.0,
        mounting_heading_deg=None,
        skin_artefact_deg=1.0,
    )
    path = tmp_path / "walk.h5"
    sim.write(path)
    kin = compute_kinematics(load_recording(path))
    gait = sim.truth[1]
    ic = np.concatenate([gait["initial_contacts_left_s"], gait["initial_contacts_right_s"]])
    fc = np.concatenate([gait["final_contacts_left_s"], gait["final_contacts_right_s"]])
    ic_side = ["left"] * len(gait["initial_contacts_left_s"]) + ["right"] * len(
        gait["initial_contacts_right_s"]
    )
    fc_side = ["left"] * len(gait["final_contacts_left_s"]) + ["right"] * len(
        gait["final_contacts_right_s"]
    )
    events = GaitEvents(
        ic[np.argsort(ic)],
        np.array(ic_side)[np.argsort(ic)],
        fc[np.argsort(fc)],
        np.array(fc_side)[np.argsort(fc)],
    )
    window = {"start_s": gait["steady_start_s"], "end_s": gait["steady_end_s"]}
    truth = compute_angles(sim.q_world_segment)
    expected = (
        WalkingPelvis()
        .compute(
            sim.time_s,
            events,
            **window,
            pelvis_obliquity_rad=truth["pelvis_obliquity"],
            hip_flexion_left_rad=truth["hip_flexion_left"],
            hip_flexion_right_rad=truth["hip_flexion_right"],
        )
        .metrics_
    )
    found = (
        WalkingPelvis()
        .compute(
            kin.time_s,
            events,
            **window,
            pelvis_obliquity_rad=kin.angles_rad["pelvis_obliquity"],
            hip_flexion_left_rad=kin.angles_rad["hip_flexion_left"],
            hip_flexion_right_rad=kin.angles_rad["hip_flexion_right"],
        )
        .metrics_
    )
    assert expected["pelvic_drop_single_support_left_deg"] > 2.0
    for key, value in expected.items():
        if key.endswith("_deg"):
            assert found[key] == pytest.approx(value, abs=tolerance_deg), key
