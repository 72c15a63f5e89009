"""Motions placed one after another on the session clock, with quiet standing in between."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from hipscope.acquisition.simulation.body import Body, Pose
from hipscope.acquisition.simulation.motions import Motion

FloatArray = NDArray[np.float64]


@dataclass(frozen=True)
class Placed:
    """A motion starting at ``start_s`` with the athlete standing at ``base_m`` (world)."""

    start_s: float
    motion: Motion
    base_m: FloatArray

    @property
    def end_s(self) -> float:
        return self.start_s + self.motion.duration_s


class Timeline:
    """The whole session: ``lead_in_s`` standing, motions separated by ``pause_s``, ``tail_s``."""

    def __init__(
        self,
        motions: Sequence[Motion],
        body: Body,
        *,
        lead_in_s: float,
        pause_s: float,
        tail_s: float,
    ) -> None:
        self.body = body
        self.placed: list[Placed] = []
        t, base = float(lead_in_s), np.zeros(3)
        for motion in motions:
            self.placed.append(Placed(t, motion, base.copy()))
            base = base + motion.displacement_m
            t += motion.duration_s + pause_s
        self.duration_s = t - pause_s + tail_s

    def pose(self, t: FloatArray) -> Pose:
        """Whole-body pose at session times t (any times; standing outside the motions)."""
        t = np.asarray(t, dtype=np.float64)
        pose = Pose.standing(len(t), self.body)
        for placed in self.placed:
            pose.pelvis_m[t >= placed.end_s] += placed.motion.displacement_m
        for placed in self.placed:
            inside = (t >= placed.start_s) & (t < placed.end_s)
            if not np.any(inside):
                continue
            part = placed.motion.pose(t[inside] - placed.start_s)
            pose.angles_rad[:, :, inside] = part.angles_rad
            pose.pelvis_m[inside] = part.pelvis_m + placed.base_m
            if part.wobble is not None:
                if pose.wobble is None:
                    pose.wobble = np.zeros(len(t))
                pose.wobble[inside] = part.wobble
        return pose
