"""Final contacts from the pelvis on a simulated walk, and the walk variants they face."""

from __future__ import annotations

import numpy as np
import pytest

from hipscope.acquisition.simulation.gait import GaitVariantSpec
from hipscope.acquisition.simulator import StaticSpec, simulate
from hipscope.base.errors import HipscopeError
from hipscope.base.rotations import to_rotation
from hipscope.processing.events.final_contacts import (
    PelvisFinalContacts,
    other_side,
    thigh_peak_extension,
)


def test_one_foot_off_per_step_on_the_other_side_inside_the_step() -> None:
    session = simulate(
        [StaticSpec(duration_s=3.0), GaitVariantSpec(duration_s=12.0)],
        seed=4,
        placements=("pelvis",),
    )
    batch = session.samples["pelvis"]
    acc = to_rotation(session.q_world_sensor("pelvis")).apply(batch.acc_m_s2.astype(np.float64))
    truth = session.truth[-1]
    ic = np.concatenate([truth["initial_contacts_left_s"], truth["initial_contacts_right_s"]])
    sides = np.array(
        ["left"] * len(truth["initial_contacts_left_s"])
        + ["right"] * len(truth["initial_contacts_right_s"])
    )
    order = np.argsort(ic)
    ic, sides = ic[order], sides[order]
    found = PelvisFinalContacts().detect(batch.time_s, acc[:, 2], ic, sides)
    assert found.fc_time_s_.shape[0] >= ic.shape[0] - 3
    for fc, side in zip(found.fc_time_s_, found.fc_side_, strict=True):
        before = np.flatnonzero(ic < fc)[-1]
        assert side != sides[before]  # the trailing foot leaves after the other's contact
        assert fc - ic[before] < 0.5 * 0.55 + PelvisFinalContacts().offset_s


def test_too_little_data_gives_no_final_contacts() -> None:
    t = np.arange(0.0, 1.0, 0.01)
    found = PelvisFinalContacts().detect(t, np.zeros_like(t), [0.2, 0.7], ["left", "right"])
    assert found.fc_time_s_.shape[0] == 0


def test_sides_and_thigh_extensions() -> None:
    assert other_side(np.array(["left", "right", ""])).tolist() == ["right", "left", ""]
    times, sides = thigh_peak_extension([1.0, 2.0], [1.5])
    assert times.tolist() == [1.0, 1.5, 2.0] and sides.tolist() == ["left", "right", "left"]


def test_walk_variants_change_only_the_pelvis_and_are_checked() -> None:
    kwargs = {"seed": 1, "placements": ("pelvis",), "noise": False}
    plain = simulate([StaticSpec(duration_s=3.0), GaitVariantSpec(duration_s=8.0)], **kwargs)
    flipped = simulate(
        [StaticSpec(duration_s=3.0), GaitVariantSpec(duration_s=8.0, obliquity_scale=-1.0)],
        **kwargs,
    )
    # the roll rate (about the pelvis's anterior axis) reverses; vertical motion stays
    gyr_plain = plain.samples["pelvis"].gyr_rad_s.astype(np.float64)
    gyr_flip = flipped.samples["pelvis"].gyr_rad_s.astype(np.float64)
    assert not np.allclose(gyr_plain, gyr_flip)
    assert (
        plain.truth[-1]["initial_contacts_left_s"] == flipped.truth[-1]["initial_contacts_left_s"]
    )
    with pytest.raises(HipscopeError, match="obliquity_scale"):
        GaitVariantSpec(obliquity_scale=3.0)
    with pytest.raises(HipscopeError, match="lateral_lean_deg"):
        GaitVariantSpec(lateral_lean_deg=20.0)
