"""Repetition segmentation for hinge, bridge and squat from a flexion signal.

Each repetition has a turning point (peak flexion: the bottom of a hinge or squat, the
floor in a bridge) and a rising phase that runs to the next flexion minimum. The flexion
signal is typically hip flexion (thigh on pelvis) plus lumbar flexion (trunk on pelvis), so
either joint's motion shows the repetition.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike
from scipy.signal import find_peaks

from processing.events.signals import fill_nan, lowpass


@dataclass(frozen=True)
class Repetition:
    """One repetition on the session clock: descent start, turning point, end of rise."""

    start_s: float
    turn_s: float
    end_s: float


class RepetitionSegmenter:
    """Find repetitions as prominent flexion peaks.

    Parameters
    ----------
    lowpass_hz
        Low-pass of the flexion signal before peak picking, Hz. Default 1.5.
    min_range_deg
        Smallest flexion excursion that counts as a repetition, degrees. Default 15.
    min_prominence_ratio
        A peak must stand out by at least this fraction of the task's flexion range.
        Default 0.4.
    min_interval_s
        Shortest time between two turning points, s. Default 1.0.
    """

    def __init__(
        self,
        *,
        lowpass_hz: float = 1.5,
        min_range_deg: float = 15.0,
        min_prominence_ratio: float = 0.4,
        min_interval_s: float = 1.0,
    ) -> None:
        self.lowpass_hz = lowpass_hz
        self.min_range_deg = min_range_deg
        self.min_prominence_ratio = min_prominence_ratio
        self.min_interval_s = min_interval_s

    def detect(
        self, time_s: ArrayLike, flexion_rad: ArrayLike, *, start_s: float, end_s: float
    ) -> RepetitionSegmenter:
        """Results: ``repetitions_`` (list of ``Repetition``)."""
        t = np.asarray(time_s, dtype=np.float64)
        self.repetitions_: list[Repetition] = []
        inside = np.flatnonzero((t >= start_s) & (t <= end_s))
        if inside.shape[0] < 10:
            return self
        ti = t[inside]
        flexion = fill_nan(np.asarray(flexion_rad, dtype=np.float64)[inside])
        if not np.isfinite(flexion).all():
            return self
        rate_hz = (ti.shape[0] - 1) / (ti[-1] - ti[0])
        smooth = np.degrees(lowpass(flexion, self.lowpass_hz, rate_hz))
        span = float(np.ptp(smooth))
        if span < self.min_range_deg:
            return self
        prominence = max(self.min_range_deg, self.min_prominence_ratio * span)
        distance = max(1, int(self.min_interval_s * rate_hz))
        peaks, _ = find_peaks(smooth, prominence=prominence, distance=distance)
        if peaks.shape[0] == 0:
            return self
        bounds = [0]
        for a, b in itertools.pairwise(peaks):
            bounds.append(a + int(np.argmin(smooth[a:b])))
        bounds.append(smooth.shape[0] - 1)
        # The first descent starts where flexion leaves the standing level, not at sample 0.
        first_low = int(np.argmin(smooth[: peaks[0] + 1]))
        last_low = peaks[-1] + int(np.argmin(smooth[peaks[-1] :]))
        bounds[0] = first_low
        bounds[-1] = last_low
        for k, peak in enumerate(peaks):
            self.repetitions_.append(
                Repetition(float(ti[bounds[k]]), float(ti[peak]), float(ti[bounds[k + 1]]))
            )
        return self
