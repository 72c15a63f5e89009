"""Gait symmetry from contacts, thigh angles and pelvis vertical acceleration.

A left step ends at a left initial contact (docs/DESIGN.md). Step and stride times per side are
means over the walk of the intervals within ±30% of their median (a missed or extra
contact is left out), stance and swing times medians;
SI = 100 (L − R) / (0.5 (L + R)) (Robinson 1987).
Thigh sagittal range of motion per stride and side; step and stride regularity are the
unbiased autocorrelation of vertical acceleration at the step and stride lags (Moe-Nilssen
& Helbostad 2004), their difference the regularity symmetry; the harmonic ratio is Σ even /
Σ odd of the first 20 harmonics of each stride for vertical and anterior-posterior
acceleration, the inverse for mediolateral (Menz 2003), median over strides. Regularity
and harmonic ratios use straight walking only when a straight-walking mask is given.
"""

from __future__ import annotations

import itertools
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

from hipscope.processing.algorithm import Algorithm
from hipscope.processing.events.gait import LEFT, RIGHT, GaitEvents
from hipscope.processing.events.signals import (
    fill_nan,
    runs,
    symmetry_index_pct,
    unbiased_autocorrelation,
)
from hipscope.processing.metrics.common import (
    median_or_none,
    number,
    numbers,
    rate_of,
    robust_mean_or_none,
    window,
)

SIDES = (LEFT, RIGHT)


STANCE_SWING_KEYS = (
    "stance_time_left_s",
    "stance_time_right_s",
    "swing_time_left_s",
    "swing_time_right_s",
    "stance_time_si_pct",
    "swing_time_si_pct",
)
"""The metrics that need final contacts (foot-off)."""


class GaitSymmetry(Algorithm):
    """Temporal and symmetry measures of one walk.

    Parameters
    ----------
    max_step_s
        Intervals longer than this (pauses, turns) do not count as steps, s. Default 1.5.
    harmonics
        Number of harmonics in the harmonic ratio. Default 20.
    lag_tolerance
        The autocorrelation peak is searched within ±this fraction of the expected lag.
        Default 0.25.
    """

    _action_method = "compute"

    def __init__(
        self, *, max_step_s: float = 1.5, harmonics: int = 20, lag_tolerance: float = 0.25
    ) -> None:
        self.max_step_s = max_step_s
        self.harmonics = harmonics
        self.lag_tolerance = lag_tolerance

    def compute(
        self,
        time_s: ArrayLike,
        events: GaitEvents,
        *,
        start_s: float,
        end_s: float,
        acc_vertical_m_s2: ArrayLike | None = None,
        thigh_sagittal_left_rad: ArrayLike | None = None,
        thigh_sagittal_right_rad: ArrayLike | None = None,
        straight_mask: ArrayLike | None = None,
        acc_ap_m_s2: ArrayLike | None = None,
        acc_ml_m_s2: ArrayLike | None = None,
    ) -> GaitSymmetry:
        """Results: ``metrics_`` (JSON-ready), ``unavailable_``, ``steps_`` (one dict per
        step, for tables), ``series_`` (plots).

        ``straight_mask`` (True where the athlete walks straight, e.g. from the pelvis
        heading) keeps turns out of the regularity and harmonic ratios. ``acc_ap_m_s2`` and
        ``acc_ml_m_s2`` (the pelvis's own anterior-posterior and mediolateral acceleration)
        give ``harmonic_ratio_ap`` and ``harmonic_ratio_ml``.
        """
        t_all = np.asarray(time_s, dtype=np.float64)
        self._straight = (
            np.ones(t_all.shape[0], dtype=bool)
            if straight_mask is None
            else np.asarray(straight_mask, dtype=bool)
        )
        t = np.asarray(time_s, dtype=np.float64)
        m: dict[str, Any] = {}
        un: dict[str, str] = {}
        self.metrics_, self.unavailable_ = m, un
        self.steps_: list[dict[str, Any]] = []
        self.series_: dict[str, NDArray[np.float64]] = {}

        ic, side = events.ic_time_s, events.ic_side
        known = side != ""
        steps: dict[str, list[float]] = {s: [] for s in SIDES}
        strides: dict[str, list[float]] = {s: [] for s in SIDES}
        for k in range(ic.shape[0]):
            entry: dict[str, Any] = {"side": str(side[k]), "contact_s": number(ic[k])}
            step = None
            if k > 0 and known[k] and known[k - 1] and side[k] != side[k - 1]:
                dt = ic[k] - ic[k - 1]
                if dt <= self.max_step_s:
                    step = dt
                    steps[side[k]].append(dt)
            same = (
                np.flatnonzero((side[:k] == side[k]) & known[:k])
                if known[k]
                else np.empty(0, dtype=np.intp)
            )
            stride = None
            if len(same):
                dt = ic[k] - ic[same[-1]]
                if dt <= 2.0 * self.max_step_s and same[-1] == k - 2:
                    stride = dt
                    strides[side[k]].append(dt)
            entry["step_time_s"] = number(step)
            entry["stride_time_s"] = number(stride)
            self.steps_.append(entry)

        for s in SIDES:
            m[f"step_time_{s}_s"] = number(robust_mean_or_none(steps[s]))
            m[f"n_steps_{s}"] = len(steps[s])
            m[f"initial_contacts_{s}_s"] = numbers(events.initial_contacts(s))
        all_strides = strides[LEFT] + strides[RIGHT]
        m["stride_time_s"] = number(robust_mean_or_none(all_strides))
        all_steps = steps[LEFT] + steps[RIGHT]
        median_step = median_or_none(all_steps)
        # cadence from the mean step: the median of a mix of two step times is one of them
        m["cadence_steps_min"] = number(60.0 / np.mean(all_steps), 2) if all_steps else None
        m["step_time_si_pct"] = number(
            symmetry_index_pct(m["step_time_left_s"], m["step_time_right_s"]), 2
        )
        if ic.shape[0] == 0:
            reason = (
                "no initial contacts found"
                if events.source != "none"
                else ("needs a pelvis sensor or both thigh sensors")
            )
            for key in (
                "step_time_left_s",
                "step_time_right_s",
                "step_time_si_pct",
                "stride_time_s",
                "cadence_steps_min",
            ):
                un[key] = reason
        elif not known.any():
            for key in ("step_time_left_s", "step_time_right_s", "step_time_si_pct"):
                un[key] = "contact sides unknown (no pelvis gyroscope or thigh sensors)"
        else:
            for key in (
                "step_time_left_s",
                "step_time_right_s",
                "step_time_si_pct",
                "stride_time_s",
                "cadence_steps_min",
            ):
                if m[key] is None:
                    un[key] = "too few alternating contacts"

        self._stance_swing(events, steps_available=bool(all_steps))
        self._thigh_rom(
            t, events, start_s, end_s, thigh_sagittal_left_rad, thigh_sagittal_right_rad
        )
        self._regularity(t, events, start_s, end_s, acc_vertical_m_s2, median_step)
        self._horizontal_harmonic_ratios(t, events, acc_ap_m_s2, acc_ml_m_s2)
        return self

    def _stance_swing(self, events: GaitEvents, *, steps_available: bool) -> None:
        m, un = self.metrics_, self.unavailable_
        stance: dict[str, list[float]] = {s: [] for s in SIDES}
        swing: dict[str, list[float]] = {s: [] for s in SIDES}
        for s in SIDES:
            ics = events.initial_contacts(s)
            fcs = events.final_contacts(s)
            for a, b in itertools.pairwise(ics):
                if b - a > 2.0 * self.max_step_s:
                    continue
                inside = fcs[(fcs > a) & (fcs < b)]
                if inside.shape[0] == 1:
                    stance[s].append(inside[0] - a)
                    swing[s].append(b - inside[0])
        for s in SIDES:
            m[f"stance_time_{s}_s"] = number(median_or_none(stance[s]))
            m[f"swing_time_{s}_s"] = number(median_or_none(swing[s]))
        m["stance_time_si_pct"] = number(
            symmetry_index_pct(m["stance_time_left_s"], m["stance_time_right_s"]), 2
        )
        m["swing_time_si_pct"] = number(
            symmetry_index_pct(m["swing_time_left_s"], m["swing_time_right_s"]), 2
        )
        reason = (
            "needs final contacts (both thigh sensors)"
            if events.fc_time_s.shape[0] == 0
            else "too few strides with one final contact"
        )
        for key in STANCE_SWING_KEYS:
            if m[key] is None:
                un[key] = reason

    def _thigh_rom(
        self,
        t: NDArray[np.float64],
        events: GaitEvents,
        start_s: float,
        end_s: float,
        left: ArrayLike | None,
        right: ArrayLike | None,
    ) -> None:
        m, un = self.metrics_, self.unavailable_
        mask = window(t, start_s, end_s)
        for s, angle in ((LEFT, left), (RIGHT, right)):
            key = f"thigh_rom_{s}_deg"
            m[key] = None
            if angle is None:
                un[key] = f"no thigh_{s} sensor"
                continue
            a = np.degrees(fill_nan(np.asarray(angle, dtype=np.float64)))
            self.series_[f"thigh_sagittal_{s}_deg"] = a[mask]
            ics = events.initial_contacts(s)
            per_stride = []
            for x, y in itertools.pairwise(ics):
                if y - x <= 2.0 * self.max_step_s:
                    seg = a[window(t, x, y)]
                    if seg.size > 2 and np.isfinite(seg).all():
                        per_stride.append(float(np.ptp(seg)))
            if per_stride:
                m[key] = number(np.median(per_stride), 2)
            else:
                seg = a[mask]
                seg = seg[np.isfinite(seg)]
                if seg.size > 10:
                    m[key] = number(np.percentile(seg, 98) - np.percentile(seg, 2), 2)
            if m[key] is None:
                un[key] = "no thigh data in the walk"
        m["thigh_rom_si_pct"] = number(
            symmetry_index_pct(m["thigh_rom_left_deg"], m["thigh_rom_right_deg"]), 2
        )
        if m["thigh_rom_si_pct"] is None:
            un["thigh_rom_si_pct"] = "needs both thigh sensors"
        self.series_["time_s"] = t[mask]

    def _regularity(
        self,
        t: NDArray[np.float64],
        events: GaitEvents,
        start_s: float,
        end_s: float,
        acc_vertical: ArrayLike | None,
        median_step_s: float | None,
    ) -> None:
        m, un = self.metrics_, self.unavailable_
        keys = ("step_regularity", "stride_regularity", "harmonic_ratio_vertical")
        for key in keys:
            m[key] = None
        if acc_vertical is None:
            for key in keys:
                un[key] = "no pelvis acceleration (needs a pelvis sensor)"
            return
        acc = fill_nan(np.asarray(acc_vertical, dtype=np.float64))
        ic = events.ic_time_s
        lo, hi = (ic[0], ic[-1]) if ic.shape[0] >= 4 else (start_s, end_s)
        mask = window(t, lo, hi)
        rate_hz = rate_of(t[mask])
        if mask.sum() < 20 or not np.isfinite(acc[mask]).all() or rate_hz <= 0.0:
            for key in keys:
                un[key] = "walk too short"
            return
        self.series_["acc_vertical_m_s2"] = acc[window(t, start_s, end_s)]
        step_s = median_step_s or 0.55
        lag = step_s * rate_hz
        max_lag = int(2.0 * lag * (1.0 + self.lag_tolerance)) + 2
        # straight bouts long enough for the stride lag; turns are left out
        bouts = [(a, b) for a, b in runs(mask & self._straight) if b - a > 2 * max_lag]
        m["regularity_window_s"] = number(sum(b - a for a, b in bouts) / rate_hz, 2)
        if not bouts:
            bouts = [runs(mask)[0]]
            m["regularity_window_s"] = number((bouts[0][1] - bouts[0][0]) / rate_hz, 2)
        found: dict[str, list[tuple[float, int]]] = {"step": [], "stride": []}
        for a, b in bouts:
            ac = unbiased_autocorrelation(acc[a:b], max_lag)

            def peak_near(
                expected: float, ac: NDArray[np.float64] = ac
            ) -> tuple[float, int] | None:
                lo_lag = int(expected * (1.0 - self.lag_tolerance))
                hi_lag = min(int(expected * (1.0 + self.lag_tolerance)) + 1, ac.shape[0])
                if hi_lag - lo_lag < 2:
                    return None
                k = lo_lag + int(np.argmax(ac[lo_lag:hi_lag]))
                return float(ac[k]), k

            first = peak_near(lag)
            if first is not None:
                found["step"].append((first[0], b - a))
                second = peak_near(2.0 * first[1])
                if second is not None:
                    found["stride"].append((second[0], b - a))
        for name in ("step", "stride"):
            if found[name]:
                values, weights = zip(*found[name], strict=True)
                m[f"{name}_regularity"] = number(np.average(values, weights=weights))
        for key in ("step_regularity", "stride_regularity"):
            if m[key] is None:
                un[key] = "walk too short for the autocorrelation"

        m["regularity_symmetry"] = (
            number(abs(m["step_regularity"] - m["stride_regularity"]))
            if m["step_regularity"] is not None and m["stride_regularity"] is not None
            else None
        )
        if m["regularity_symmetry"] is None:
            un["regularity_symmetry"] = "needs step and stride regularity"
        m["harmonic_ratio_vertical"] = self._harmonic_ratio(t, events, acc, even_over_odd=True)
        if m["harmonic_ratio_vertical"] is None:
            un["harmonic_ratio_vertical"] = "needs left strides (contacts with sides)"

    def _harmonic_ratio(
        self,
        t: NDArray[np.float64],
        events: GaitEvents,
        acc: NDArray[np.float64],
        *,
        even_over_odd: bool,
    ) -> float | None:
        """Median over left strides of Σ even / Σ odd harmonic amplitudes (or the inverse)."""
        ratios = []
        lefts = events.initial_contacts(LEFT)
        for x, y in itertools.pairwise(lefts):
            if y - x > 2.0 * self.max_step_s:
                continue
            inside = (t >= x) & (t < y)  # half-open: exactly one period
            if not self._straight[inside].all():
                continue
            stride = acc[inside]
            if stride.size < 2 * self.harmonics + 2 or not np.isfinite(stride).all():
                continue
            amplitude = np.abs(np.fft.rfft(stride - stride.mean()))[1 : self.harmonics + 1]
            even, odd = amplitude[1::2].sum(), amplitude[0::2].sum()
            if even_over_odd and odd > 0.0:
                ratios.append(even / odd)
            elif not even_over_odd and even > 0.0:
                ratios.append(odd / even)
        return number(median_or_none(ratios), 3)

    def _horizontal_harmonic_ratios(
        self,
        t: NDArray[np.float64],
        events: GaitEvents,
        acc_ap_m_s2: ArrayLike | None,
        acc_ml_m_s2: ArrayLike | None,
    ) -> None:
        """``harmonic_ratio_ap`` (even/odd) and ``harmonic_ratio_ml`` (odd/even, Menz 2003)."""
        for key, value, even_over_odd in (
            ("harmonic_ratio_ap", acc_ap_m_s2, True),
            ("harmonic_ratio_ml", acc_ml_m_s2, False),
        ):
            self.metrics_[key] = None
            if value is None:
                self.unavailable_[key] = "no pelvis acceleration (needs a pelvis sensor)"
                continue
            acc = fill_nan(np.asarray(value, dtype=np.float64))
            self.metrics_[key] = self._harmonic_ratio(t, events, acc, even_over_odd=even_over_odd)
            if self.metrics_[key] is None:
                self.unavailable_[key] = "needs left strides (contacts with sides)"
