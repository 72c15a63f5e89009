"""Single-leg stance: the steady part of the hold, found from the lifted (free) thigh.

Rule (no published standard; docs/DESIGN.md, "Metric definitions"): the hold begins once
the free thigh is flexed more than ``lift_threshold_deg`` above standing and its angular
velocity has fallen back under ``still_velocity_deg_s``; it ends at the last such still
sample before the thigh moves back down. Without a free-thigh sensor the task window minus
a margin is used, and the result says so.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike

from hipscope.processing.algorithm import Algorithm
from hipscope.processing.events.signals import fill_nan, lowpass, runs


class StanceHold(Algorithm):
    """Steady hold of one single-leg stance.

    Parameters
    ----------
    lift_threshold_deg
        The free thigh counts as lifted above this flexion relative to standing, degrees.
        Default 10.
    still_velocity_deg_s
        The hold is steady while the free thigh's angular velocity stays under this, deg/s.
        Default 10.
    lowpass_hz
        Low-pass of the thigh angle before differentiating, Hz. Default 4.
    fallback_margin_s
        Without a thigh sensor, this much is cut from both ends of the task window, s.
        Default 1.
    """

    _action_method = "detect"

    def __init__(
        self,
        *,
        lift_threshold_deg: float = 10.0,
        still_velocity_deg_s: float = 10.0,
        lowpass_hz: float = 4.0,
        fallback_margin_s: float = 1.0,
    ) -> None:
        self.lift_threshold_deg = lift_threshold_deg
        self.still_velocity_deg_s = still_velocity_deg_s
        self.lowpass_hz = lowpass_hz
        self.fallback_margin_s = fallback_margin_s

    def detect(
        self,
        time_s: ArrayLike,
        free_thigh_sagittal_rad: ArrayLike | None,
        *,
        start_s: float,
        end_s: float,
    ) -> StanceHold:
        """Find the steady hold inside [start_s, end_s]; ``free_thigh_sagittal_rad`` may be None.

        Results: ``hold_start_s_``, ``hold_end_s_``, ``method_`` ("free thigh" or
        "task window"), ``found_`` (False when the thigh never lifted and still).
        """
        t = np.asarray(time_s, dtype=np.float64)
        margin = min(self.fallback_margin_s, 0.25 * (end_s - start_s))
        self.hold_start_s_ = float(start_s + margin)
        self.hold_end_s_ = float(end_s - margin)
        self.method_ = "task window"
        self.found_ = False
        if free_thigh_sagittal_rad is None:
            return self
        inside = (t >= start_s) & (t <= end_s)
        if inside.sum() < 10:
            return self
        angle = fill_nan(np.asarray(free_thigh_sagittal_rad, dtype=np.float64)[inside])
        if not np.isfinite(angle).all():
            return self
        ti = t[inside]
        rate_hz = (ti.shape[0] - 1) / (ti[-1] - ti[0])
        smooth = lowpass(angle, self.lowpass_hz, rate_hz)
        velocity = np.gradient(smooth, ti)
        lifted = np.degrees(smooth) > self.lift_threshold_deg
        lifted_runs = runs(lifted)
        if not lifted_runs:
            self.method_ = "free thigh"
            return self
        a, b = max(lifted_runs, key=lambda r: r[1] - r[0])
        still = np.flatnonzero(np.abs(np.degrees(velocity[a:b])) < self.still_velocity_deg_s)
        self.method_ = "free thigh"
        if still.shape[0] < 2:
            return self
        self.hold_start_s_ = float(ti[a + still[0]])
        self.hold_end_s_ = float(ti[a + still[-1]])
        self.found_ = self.hold_end_s_ > self.hold_start_s_
        return self
