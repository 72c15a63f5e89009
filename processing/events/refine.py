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

from hipscope.processing.algorithm import Algorithm
from hipscope.processing.events.final_contacts import PelvisFinalContacts
from hipscope.processing.events.gait import GaitEvents
from hipscope.processing.events.sides import PelvisSides, ThighSides

FC_PELVIS = "pelvis foot-off"
FC_THIGH = "peak thigh extension"


class GaitRefinement(Algorithm):
    """Sides and final contacts for a walk's initial contacts (see the module doc).

    Parameters
    ----------
    thigh_sides
        Side assignment when both thigh sensors are worn.
    pelvis_sides
        Side assignment from the pelvis's yaw, roll and mediolateral-sway cues otherwise.
    final_contacts
        Foot-off from the pelvis vertical acceleration.
    """

    _action_method = "refine"

    def __init__(
        self,
        *,
        thigh_sides: ThighSides = ThighSides(),
        pelvis_sides: PelvisSides = PelvisSides(),
        final_contacts: PelvisFinalContacts = PelvisFinalContacts(),
    ) -> None:
        self.thigh_sides = thigh_sides
        self.pelvis_sides = pelvis_sides
        self.final_contacts = final_contacts

    def refine(
        self,
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
    ) -> GaitRefinement:
        """Result: ``events_``, ``events`` with sides (re)assigned and final contacts added;
        its ``source`` names both, e.g. "pelvis contacts, pelvis sides (yaw+roll+sway),
        pelvis foot-off"."""
        t = np.asarray(time_s, dtype=np.float64)
        ic = events.ic_time_s
        self.events_ = events
        if ic.shape[0] == 0 or acc_vertical_m_s2 is None:
            return self  # thigh-only contacts already carry their sides and peak extensions
        if thigh_sagittal_left_rad is not None and thigh_sagittal_right_rad is not None:
            sides = self.thigh_sides.clone().assign(
                t,
                ic,
                thigh_sagittal_left_rad,
                thigh_sagittal_right_rad,
                start_s=start_s,
                end_s=end_s,
            )
            ic_side, side_source = sides.side_, "thigh sides"
        else:
            pelvis = self.pelvis_sides.clone().assign(
                t,
                ic,
                gyr_yaw_rad_s=gyr_yaw_rad_s,
                gyr_roll_rad_s=gyr_roll_rad_s,
                acc_ml_m_s2=acc_ml_m_s2,
            )
            ic_side = pelvis.side_
            cues = "+".join(pelvis.scores_)
            side_source = f"pelvis sides ({cues})" if pelvis.scores_ else "no sides"
        final = self.final_contacts.clone().detect(t, acc_vertical_m_s2, ic, ic_side)
        known = final.fc_side_ != ""
        self.events_ = replace(
            events,
            ic_side=ic_side,
            fc_time_s=final.fc_time_s_[known],
            fc_side=final.fc_side_[known],
            source=f"pelvis contacts, {side_source}, {FC_PELVIS}",
        )
        return self

