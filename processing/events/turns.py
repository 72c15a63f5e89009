"""Straight walking: where the pelvis heading is steady, so turns stay out of gait measures."""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike

from hipscope.base.rotations import to_rotation
from hipscope.processing.algorithm import Algorithm
from hipscope.processing.events.signals import fill_nan, lowpass


class StraightWalking(Algorithm):
    """Samples of steady pelvis heading (not turning), with a margin around each turn.

    The heading is the direction of the pelvis's anterior axis in the horizontal plane,
    unwrapped and low-passed; a turn is where it changes faster than the threshold.

    Parameters
    ----------
    max_turn_rate_deg_s
        Heading changes faster than this mark a turn, deg/s. Default 25.
    heading_lowpass_hz
        Low-pass of the heading before differentiating, Hz. Default 0.5.
    turn_margin_s
        This much on both sides of a turn counts as turning too, s. Default 0.5.
    """

    _action_method = "detect"

    def __init__(
        self,
        *,
        max_turn_rate_deg_s: float = 25.0,
        heading_lowpass_hz: float = 0.5,
        turn_margin_s: float = 0.5,
    ) -> None:
        self.max_turn_rate_deg_s = max_turn_rate_deg_s
        self.heading_lowpass_hz = heading_lowpass_hz
        self.turn_margin_s = turn_margin_s

    def detect(self, q_world_pelvis: ArrayLike, rate_hz: float) -> StraightWalking:
        """Results: ``straight_`` (bool per sample; all True with fewer than 10 valid
        orientations, when the heading cannot be followed)."""
        q = np.asarray(q_world_pelvis, dtype=np.float64)
        forward = np.full((q.shape[0], 3), np.nan)
        good = np.isfinite(q).all(axis=1)
        if good.sum() >= 10:
            forward[good] = to_rotation(q[good]).apply(np.array([1.0, 0.0, 0.0]))
        return self.detect_heading(np.arctan2(forward[:, 1], forward[:, 0]), rate_hz)

    def detect_heading(self, heading_rad: ArrayLike, rate_hz: float) -> StraightWalking:
        """The same from the pelvis heading about the vertical (radians, wrapped or not;
        e.g. the live window's ``pelvis_rotation``). Results as ``detect``."""
        raw = np.asarray(heading_rad, dtype=np.float64)
        if np.isfinite(raw).sum() < 10:
            self.straight_ = np.ones(raw.shape[0], dtype=bool)
            return self
        heading = np.unwrap(fill_nan(raw))
        rate = np.gradient(lowpass(heading, self.heading_lowpass_hz, rate_hz)) * rate_hz
        turning = np.abs(rate) > np.radians(self.max_turn_rate_deg_s)
        pad = max(1, int(self.turn_margin_s * rate_hz))
        turning = np.convolve(turning.astype(float), np.ones(2 * pad + 1), "same") > 0
        self.straight_ = ~turning
        return self


def turning_intervals(
    time_s: ArrayLike, straight: ArrayLike, start_s: float, end_s: float
) -> list[list[float]]:
    """[start, end] (s, 2 decimals) of each run of not-straight samples within
    [start_s, end_s], clipped to it."""
    t = np.asarray(time_s, dtype=np.float64)
    inside = (t >= start_s) & (t <= end_s)
    turning = ~np.asarray(straight, dtype=bool) & inside
    edges = np.diff(np.concatenate(([0], turning.astype(np.int8), [0])))
    starts, stops = np.flatnonzero(edges == 1), np.flatnonzero(edges == -1) - 1
    return [
        [round(float(t[a]), 2), round(float(t[b]), 2)] for a, b in zip(starts, stops, strict=True)
    ]
