"""Repetition segmentation for hinge, bridge and squat from a flexion signal.

Each repetition has a turning point (peak flexion: the bottom of a hinge or squat, the
floor in a bridge) and a rising phase that runs to the next flexion minimum (standing up,
or the top of the bridge). The flexion
signal is typically hip flexion (thigh on pelvis) plus lumbar flexion (trunk on pelvis), so
either joint's motion shows the repetition.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike
from scipy.signal import find_peaks

from hipscope.processing.algorithm import Algorithm
from hipscope.processing.events.signals import fill_nan, lowpass


@dataclass(frozen=True)
class Repetition:
    """One repetition on the session clock: descent start, turning point, end of rise."""

    start_s: float
    turn_s: float
    end_s: float


class RepetitionSegmenter(Algorithm):
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
    margin_s
        The flexion signal is searched this far beyond both ends of the task, s. Default 1.
    """

    _action_method = "detect"

    def __init__(
        self,
        *,
        lowpass_hz: float = 1.5,
        min_range_deg: float = 15.0,
        min_prominence_ratio: float = 0.4,
        min_interval_s: float = 1.0,
        margin_s: float = 1.0,
    ) -> None:
        self.lowpass_hz = lowpass_hz
        self.min_range_deg = min_range_deg
        self.min_prominence_ratio = min_prominence_ratio
        self.min_interval_s = min_interval_s
        self.margin_s = margin_s

    def detect(
        self,
        time_s: ArrayLike,
        flexion_rad: ArrayLike,
        *,
        start_s: float,
        end_s: float,
        start_posture: str = "extended",
    ) -> RepetitionSegmenter:
        """Results: ``repetitions_`` (list of ``Repetition``).

        ``start_posture`` "extended" (hinge, squat: standing, each repetition a flexion
        peak) or "flexed" (bridge: lying with the hips flexed, each repetition a flexion
        trough at the top; its turning point is the last flexion maximum before it).
        The signal is searched ``margin_s`` beyond the task, since a marked task may start
        right at the first rise; repetitions whose rise overlaps the task are kept.
        """
        if start_posture not in ("extended", "flexed"):
            raise ValueError(f"start_posture must be 'extended' or 'flexed', got {start_posture!r}")
        t = np.asarray(time_s, dtype=np.float64)
        self.repetitions_: list[Repetition] = []
        inside = np.flatnonzero((t >= start_s - self.margin_s) & (t <= end_s + self.margin_s))
        if inside.shape[0] < 10 or end_s - start_s <= 0.0:
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
        reps: list[tuple[int, int, int]] = []
        if start_posture == "extended":
            peaks, _ = find_peaks(smooth, prominence=prominence, distance=distance)
            if peaks.shape[0] == 0:
                return self
            # a descent starts at the lowest point since the previous repetition
            lows = [int(np.argmin(smooth[: peaks[0] + 1]))]
            for a, b in itertools.pairwise(peaks):
                lows.append(a + int(np.argmin(smooth[a:b])))
            lows.append(peaks[-1] + int(np.argmin(smooth[peaks[-1] :])))
            reps = [(lows[k], int(p), lows[k + 1]) for k, p in enumerate(peaks)]
        else:
            tops, _ = find_peaks(-smooth, prominence=prominence, distance=distance)
            previous = 0
            for top in tops:
                turn = previous + int(np.argmax(smooth[previous : top + 1]))
                reps.append((previous, turn, int(top)))
                previous = int(top)
        for lo, turn, hi in reps:
            if ti[hi] > start_s and ti[turn] < end_s:
                self.repetitions_.append(Repetition(float(ti[lo]), float(ti[turn]), float(ti[hi])))
        return self
