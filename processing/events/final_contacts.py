"""Final contacts (foot-off): from the pelvis (McCamley 2012) and from the thighs.

Pelvis: the vertical acceleration is band-passed and integrated to vertical velocity, one
Ricker CWT scale gives the "contact" signal whose negative peaks are initial contacts (as in
``events.gait.PelvisContacts``); differentiated and transformed again, its positive peaks
mark final contacts (McCamley et al., Gait & Posture 2012). After each initial contact the
other foot leaves the ground within its double support, so the peak is searched in the
first half of the step that contact opens, and the foot-off takes the other side. The
feature comes a roughly constant time before toe-off; ``offset_s`` moves it there. The
default was measured on one group of IPOL walkers (subjects 1-10) and is checked on the
others (benchmarks/gait_ipol.py, docs/VALIDATION.md).

Thighs: peak thigh extension comes shortly before that foot's toe-off. No reference with
real thigh sensors and toe-off has been measured yet, so these are labelled
"peak thigh extension" and stance and swing are not derived from them.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy.integrate import cumulative_trapezoid

from hipscope.processing.algorithm import Algorithm
from hipscope.processing.events.signals import (
    bandpass,
    fill_nan,
    lowpass,
    parabolic_peak,
    ricker_cwt,
)

LEFT = "left"
RIGHT = "right"


def other_side(side: NDArray[np.str_]) -> NDArray[np.str_]:
    """Swap "left" and "right"; unknown ("") stays unknown."""
    out = np.full(side.shape[0], "", dtype="<U5")
    out[side == LEFT] = RIGHT
    out[side == RIGHT] = LEFT
    return out


class PelvisFinalContacts(Algorithm):
    """Final contacts from the pelvis vertical acceleration, given the initial contacts.

    Parameters
    ----------
    band_hz
        Band-pass of the vertical acceleration before integration, Hz. Default (0.15, 3.14).
    cwt_width_s
        Width of both Ricker wavelets, s. Default 0.09.
    search_step
        The peak is searched from ``search_step[0]`` s after a contact to ``search_step[1]``
        of the step that follows. Default (0.02, 0.5).
    max_step_s
        No final contact is searched after a contact the next one follows only this much
        later or more (pauses, turns), s. Default 1.2.
    offset_s
        Added to the peak's time: the feature comes before toe-off, s. Default 0.07.
    """

    _action_method = "detect"

    def __init__(
        self,
        *,
        band_hz: tuple[float, float] = (0.15, 3.14),
        cwt_width_s: float = 0.09,
        search_step: tuple[float, float] = (0.02, 0.5),
        max_step_s: float = 1.2,
        offset_s: float = 0.07,
    ) -> None:
        self.band_hz = band_hz
        self.cwt_width_s = cwt_width_s
        self.search_step = search_step
        self.max_step_s = max_step_s
        self.offset_s = offset_s

    def detect(
        self,
        time_s: ArrayLike,
        acc_vertical_m_s2: ArrayLike,
        ic_time_s: ArrayLike,
        ic_side: ArrayLike,
    ) -> PelvisFinalContacts:
        """Results: ``fc_time_s_`` and ``fc_side_`` (the side opposite the contact before)."""
        t = np.asarray(time_s, dtype=np.float64)
        ic = np.asarray(ic_time_s, dtype=np.float64)
        sides = np.asarray(ic_side).astype("<U5")
        acc = fill_nan(acc_vertical_m_s2)
        self.fc_time_s_ = np.empty(0)
        self.fc_side_ = np.empty(0, dtype="<U5")
        rate_hz = (t.shape[0] - 1) / (t[-1] - t[0]) if t.shape[0] > 1 else 100.0
        if ic.shape[0] < 2 or t.shape[0] < int(2.0 * rate_hz) or not np.isfinite(acc).all():
            return self
        filtered = bandpass(acc - np.mean(acc), self.band_hz[0], self.band_hz[1], rate_hz)
        velocity = cumulative_trapezoid(filtered, dx=1.0 / rate_hz, initial=0.0)
        velocity -= lowpass(velocity, 0.3, rate_hz)
        contact = ricker_cwt(velocity, self.cwt_width_s, rate_hz)
        feature = ricker_cwt(np.gradient(contact) * rate_hz, self.cwt_width_s, rate_hz)
        self.feature_ = feature
        times, fc_sides = [], []
        for k in range(ic.shape[0] - 1):
            step_s = ic[k + 1] - ic[k]
            if step_s >= self.max_step_s:
                continue
            lo = ic[k] + self.search_step[0]
            hi = ic[k] + self.search_step[1] * step_s
            inside = np.flatnonzero((t > lo) & (t < hi))
            if inside.shape[0] < 3:
                continue
            best = int(inside[np.argmax(feature[inside])])
            if best in (inside[0], inside[-1]):
                continue  # no peak inside the window, only its edge
            index = best + parabolic_peak(feature, best)
            times.append(float(np.interp(index, np.arange(t.shape[0]), t)) + self.offset_s)
            fc_sides.append(k)
        if times:
            self.fc_time_s_ = np.array(times)
            self.fc_side_ = other_side(sides[np.array(fc_sides)])
        return self


def thigh_peak_extension(
    peak_extension_left_s: ArrayLike, peak_extension_right_s: ArrayLike
) -> tuple[NDArray[np.float64], NDArray[np.str_]]:
    """Both thighs' peak-extension times, sorted, with their sides (a proxy for foot-off)."""
    left = np.asarray(peak_extension_left_s, dtype=np.float64)
    right = np.asarray(peak_extension_right_s, dtype=np.float64)
    times = np.concatenate([left, right])
    sides = np.repeat(np.array([LEFT, RIGHT]), [left.shape[0], right.shape[0]]).astype("<U5")
    order = np.argsort(times, kind="stable")
    return times[order], sides[order]
