"""Sides and final contacts for detected initial contacts, from whatever sensors exist.

Sides: both thighs worn -> the thighs alone (``sides.ThighSides``); otherwise the pelvis's
yaw, roll and mediolateral-sway cues (``sides.PelvisSides``). Final contacts: the pelvis
(``final_contacts.PelvisFinalContacts``, validated against IPOL toe-offs) when a pelvis
sensor exists; otherwise the thighs' peak extension, labelled as such.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np
from numpy.typing import ArrayLike

from hipscope.processing.events.final_contacts import PelvisFinalContacts
from hipscope.processing.events.gait import GaitEvents
from hipscope.processing.events.sides import PelvisSides, ThighSides

FC_PELVIS = "pelvis foot-off"
FC_THIGH = "peak thigh extension"


def refine_gait_events(
    time_s: ArrayLike,
    events: GaitEvents,
    *,
    acc_vertical_m_s2: ArrayLike | None = None,
    gyr_yaw_rad_s: ArrayLike | None = None,
    gyr_roll_rad_s: ArrayLike | None = None,
    acc_ml_m_s2: ArrayLike | None = None,
    thigh_sagittal_left_rad: ArrayLike | None = None,
    thigh_sagittal_right_rad: ArrayLike | None = None,
    start_s: float | None = None,
    end_s: float | None = None,
) -> GaitEvents:
    """``events`` with sides (re)assigned and final contacts added; ``source`` names both,
    e.g. "pelvis contacts, pelvis sides (yaw+roll+sway), pelvis foot-off"."""
    t = np.asarray(time_s, dtype=np.float64)
    ic = events.ic_time_s
    if ic.shape[0] == 0 or acc_vertical_m_s2 is None:
        return events  # thigh-only contacts already carry their sides and peak extensions
    has_thighs = thigh_sagittal_left_rad is not None and thigh_sagittal_right_rad is not None
    if has_thighs:
        sides = ThighSides().assign(
            t,
            ic,
            thigh_sagittal_left_rad,  # type: ignore[arg-type]
            thigh_sagittal_right_rad,  # type: ignore[arg-type]
            start_s=start_s,
            end_s=end_s,
        )
        ic_side, side_source = sides.side_, "thigh sides"
    else:
        pelvis = PelvisSides().assign(
            t,
            ic,
            gyr_yaw_rad_s=gyr_yaw_rad_s,
            gyr_roll_rad_s=gyr_roll_rad_s,
            acc_ml_m_s2=acc_ml_m_s2,
        )
        ic_side = pelvis.side_
        side_source = f"pelvis sides ({'+'.join(pelvis.scores_)})" if pelvis.scores_ else "no sides"
    final = PelvisFinalContacts().detect(t, acc_vertical_m_s2, ic, ic_side)
    known = final.fc_side_ != ""
    return replace(
        events,
        ic_side=ic_side,
        fc_time_s=final.fc_time_s_[known],
        fc_side=final.fc_side_[known],
        source=f"pelvis contacts, {side_source}, {FC_PELVIS}",
    )
