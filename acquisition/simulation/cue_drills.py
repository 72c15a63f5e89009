"""Scripted rule breaks for the live-cue tests and benchmark: a single-leg stance whose
pelvis drops further in bouts at known times.

``DropBoutsSpec`` is a ``SingleLegStanceSpec`` (same task row, same truth) whose steady
drop rises to ``bout_drop_deg`` in each bout, along minimum-jerk ramps of ``bout_ramp_s``;
the truth lists every bout on the session clock (``drop_bouts``).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from hipscope.acquisition.simulation.body import ROLL, Body, Pose
from hipscope.acquisition.simulation.motions import FloatArray, SingleLegStanceMotion
from hipscope.acquisition.simulation.profiles import plateau
from hipscope.acquisition.simulation.specs import SingleLegStanceSpec
from hipscope.base.errors import HipscopeError


@dataclass(frozen=True)
class DropBoutsSpec(SingleLegStanceSpec):
    """Single-leg stance with bouts of a larger pelvic drop.

    Parameters (besides ``SingleLegStanceSpec``'s)
    ----------
    bouts
        (start, duration) of each bout in seconds from the start of the hold, in order and
        apart; each lies inside the hold and lasts at least two ramps.
    bout_drop_deg
        Pelvic drop reached in a bout (degrees, default 9.0).
    bout_ramp_s
        Duration of the rise into and the return from a bout (s, default 0.3).
    """

    bouts: tuple[tuple[float, float], ...] = ()
    bout_drop_deg: float = 9.0
    bout_ramp_s: float = 0.3

    def __post_init__(self) -> None:
        super().__post_init__()
        if not abs(self.bout_drop_deg) <= 30.0:
            raise HipscopeError(
                f"DropBoutsSpec.bout_drop_deg must be within ±30°, got {self.bout_drop_deg}"
            )
        if not self.bout_ramp_s >= 0.05:
            raise HipscopeError(
                f"DropBoutsSpec.bout_ramp_s must be >= 0.05 s, got {self.bout_ramp_s}"
            )
        end = 0.0
        for start_s, duration_s in self.bouts:
            if (
                start_s < end
                or duration_s < 2 * self.bout_ramp_s
                or start_s + duration_s > self.hold_s
            ):
                raise HipscopeError(
                    f"DropBoutsSpec.bouts: ({start_s}, {duration_s}) must start after the "
                    f"previous bout, last >= {2 * self.bout_ramp_s} s and end within the "
                    f"{self.hold_s} s hold"
                )
            end = start_s + duration_s


class DropBoutsMotion(SingleLegStanceMotion):
    """``SingleLegStanceMotion`` whose pelvis (and lifted thigh) drop further in the bouts."""

    spec: DropBoutsSpec

    def __init__(self, spec: DropBoutsSpec, body: Body, rng: np.random.Generator) -> None:
        super().__init__(spec, body, rng)

    def drop_deg(self, t: FloatArray) -> FloatArray:
        """The true pelvic drop (free side lower > 0) at local times ``t``."""
        spec = self.spec
        drop = spec.pelvic_drop_deg * self._lifted(t)
        for start_s, duration_s in spec.bouts:
            on = self.t_hold + start_s
            bout = plateau(t, on, on + duration_s, spec.bout_ramp_s)
            drop = drop + (spec.bout_drop_deg - spec.pelvic_drop_deg) * bout
        return drop

    def pose(self, t: FloatArray) -> Pose:
        pose = super().pose(t)
        obliquity = self.sign * np.radians(self.drop_deg(t))
        pose.set("pelvis", ROLL, obliquity)
        pose.set("thigh_right" if self.spec.side == "left" else "thigh_left", ROLL, obliquity)
        return pose

    def truth(self, t0_s: float) -> dict[str, object]:
        spec = self.spec
        return {
            **super().truth(t0_s),
            "drop_bouts": [
                {
                    "start_s": t0_s + self.t_hold + start_s,
                    "end_s": t0_s + self.t_hold + start_s + duration_s,
                    "peak_drop_deg": spec.bout_drop_deg,
                    "ramp_s": spec.bout_ramp_s,
                }
                for start_s, duration_s in spec.bouts
            ],
        }
