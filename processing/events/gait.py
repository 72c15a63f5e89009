"""Gait events: initial contacts (with side) from a pelvis sensor, thigh sensors, or both.

Pelvis alone follows McCamley 2012 as modified by Paraschiv-Ionescu 2020: band-passed
vertical acceleration is integrated to vertical velocity, one Ricker CWT scale turns it
into a smooth "contact" signal whose negative peaks are the contacts. The lobe comes
~70 ms before the heel strike, and its place depends on the neighbouring steps' durations
(a smoothed feature), so each contact is placed at its own loading peak of the vertical
acceleration (the new stance leg taking the weight, ~40 ms after the heel strike on IPOL
walkers) less that delay: first the walk's typical lobe-to-loading-peak delay from each
step's first clear peak, then each contact at the highest loading peak near that place.
A bout's closing step (the trailing foot brought alongside when
stopping) barely moves the pelvis: a weak lobe about one step after a bout's last contact
is accepted when the vertical jerk shows a heel-strike impact. Starting to walk, the
push-off lobe comes only a swing before the first heel strike and is dropped.

The side comes from the pelvis roll rate just after the contact: loading one leg lets the
free side of the pelvis drop (roll about the anterior axis), contrasted with the
neighbouring contacts, which belong to the other foot; as feet alternate, each contact's
side is the posterior of a left/right chain over these scores, so confident neighbours
outvote a weak score (turns).

With thigh sensors the leading (more flexed) thigh at a contact names its side, and peak
thigh flexion / extension give contacts and approximate final contacts without a pelvis.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy.integrate import cumulative_trapezoid
from scipy.signal import find_peaks

from hipscope.base.errors import HipscopeError
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


@dataclass(frozen=True)
class GaitEvents:
    """Contacts of one walk on the session clock, sorted in time.

    ``ic_side`` / ``fc_side`` hold "left" / "right" ("" when the side is unknown).
    ``fc_*`` is empty when the sensors cannot give final contacts.
    """

    ic_time_s: NDArray[np.float64]
    ic_side: NDArray[np.str_]
    fc_time_s: NDArray[np.float64] = field(default_factory=lambda: np.empty(0))
    fc_side: NDArray[np.str_] = field(default_factory=lambda: np.empty(0, dtype="<U5"))
    source: str = ""

    def initial_contacts(self, side: str) -> NDArray[np.float64]:
        return self.ic_time_s[self.ic_side == side]

    def final_contacts(self, side: str) -> NDArray[np.float64]:
        return self.fc_time_s[self.fc_side == side]


def _median_step(times_s: NDArray[np.float64], default_s: float = 0.55) -> float:
    if times_s.shape[0] < 3:
        return default_s
    return float(np.median(np.diff(times_s)))


class PelvisContacts(Algorithm):
    """Initial contacts and their side from one pelvis (lower-back) sensor.

    Parameters
    ----------
    band_hz
        Band-pass of the vertical acceleration before integration, Hz. Default (0.15, 3.14)
        (Paraschiv-Ionescu 2020).
    cwt_width_s
        Width of the Ricker wavelet applied to the vertical velocity, s. Default 0.09.
    min_step_s
        Shortest accepted interval between two contacts, s. Default 0.25.
    min_prominence_ratio
        A candidate is kept when its prominence is at least this fraction of the median
        prominence of the stronger half of all candidates (drops weak sub-step wiggles).
        Default 0.15.
    refine_window_s
        The vertical-jerk peak after each lobe (a closing step's impact; with timing "lobe"
        the walk's median shift) is searched from 0.03 s before to this long after it, s.
        Default 0.15.
    refine_lowpass_hz
        Low-pass of the vertical acceleration before differentiating for the jerk, Hz.
        Default 10.
    side_band_hz
        Band-pass of the roll rate used to name the side, Hz. Default (0.5, 2.5).
    side_window_s
        The roll rate is averaged over this window after the contact, s. Default (0.05, 0.20).
    edge_margin_s
        Contacts up to this far outside [start_s, end_s] are kept: a walk's first and last
        contacts sit on its boundaries, s. Default 0.15.
    weak_prominence_ratio
        Candidates below ``min_prominence_ratio`` but at least this fraction of the scale
        may still be a bout's closing step (see ``closing_step``). Default 0.04.
    weak_jolt_ratio
        A closing-step candidate needs a vertical-jerk peak (heel-strike impact) of at
        least this fraction of the median of the accepted contacts'. Default 0.1.
    closing_step
        The closing step is searched this many median steps after the last contact of a
        bout (a contact no other follows within the upper bound). Default (0.5, 1.35):
        the closing step is often shorter than a walking step.
    side_alternation
        Probability that two contacts one step apart belong to different feet; the sides
        are the posterior of a two-state chain over the roll scores (0.5: each contact on
        its own score). Default 0.9.
    push_off_step
        A bout's first contact followed by the next within this many median steps is the
        push-off of gait initiation and is dropped (0 keeps it). Default 0.8 (a swing is ~0.75
        step; an asymmetric walker's short first step stays above it).
    timing
        Where each contact is placed. "loading_peak": at its own loading peak of the vertical
        acceleration (the weight taken on the new stance leg) less ``loading_delay_s``; a
        step without a clear loading peak (starting, stopping, turning) at its lobe plus the
        walk's median lobe-to-loading-peak delay, less ``loading_delay_s``. "lobe": the lobe
        shifted by the walk's median delay to the nearby vertical-jerk peak alone. The
        lobe's minimum is a smoothed feature whose place depends on the neighbouring steps'
        durations (an asymmetric walker's contacts shift by side), and the jerk peak it is
        anchored to sits on the heel strike in some walkers and ~70 ms before it in others;
        the loading peak is local and follows the heel strike by a steady delay.
        Default "loading_peak".
    loading_window_s
        The loading peak is searched this long after the lobe, s. Default (0.02, 0.22): on
        IPOL subjects 1-10 it follows the lobe by 0.11 s (SD over walks 0.02 s).
    loading_lowpass_hz
        Low-pass of the vertical acceleration for the loading peak, Hz. Default 15.
    loading_floor_ratio
        Only a loading peak of at least this fraction of the walk's median (above the walk's
        median level) counts. Default 0.5.
    loading_delay_s
        The loading peak follows the heel strike by this long, s. Default 0.04 (IPOL subjects
        1-10: 43 ms median over walks, SD 19 ms; subjects 11-19 gave 42 ms).
    loading_first_within
        Many walkers' loading shows two peaks ~0.1 s apart (the impact, then weight
        acceptance); the contact takes the first local maximum of at least this fraction
        of the window's highest, so the choice does not alternate between the two.
        Default 0.5.
    loading_snap_s
        Each contact then takes the highest loading peak within this of the walk's typical
        place (lobe + the walk's median lobe-to-first-peak delay), s; a bout's first step
        (no step before it: its lobe sits differently and its loading is weaker) keeps its
        own first peak. Default 0.05.
    """

    _action_method = "detect"

    def __init__(
        self,
        *,
        band_hz: tuple[float, float] = (0.15, 3.14),
        cwt_width_s: float = 0.09,
        min_step_s: float = 0.25,
        min_prominence_ratio: float = 0.15,
        refine_window_s: float = 0.15,
        refine_lowpass_hz: float = 10.0,
        side_band_hz: tuple[float, float] = (0.5, 2.5),
        side_window_s: tuple[float, float] = (0.05, 0.20),
        edge_margin_s: float = 0.15,
        weak_prominence_ratio: float = 0.04,
        weak_jolt_ratio: float = 0.1,
        closing_step: tuple[float, float] = (0.5, 1.35),
        side_alternation: float = 0.9,
        push_off_step: float = 0.8,
        timing: str = "loading_peak",
        loading_window_s: tuple[float, float] = (0.02, 0.22),
        loading_lowpass_hz: float = 15.0,
        loading_floor_ratio: float = 0.5,
        loading_delay_s: float = 0.04,
        loading_first_within: float = 0.5,
        loading_snap_s: float = 0.05,
    ) -> None:
        self.band_hz = band_hz
        self.cwt_width_s = cwt_width_s
        self.min_step_s = min_step_s
        self.min_prominence_ratio = min_prominence_ratio
        self.refine_window_s = refine_window_s
        self.refine_lowpass_hz = refine_lowpass_hz
        self.side_band_hz = side_band_hz
        self.side_window_s = side_window_s
        self.edge_margin_s = edge_margin_s
        self.weak_prominence_ratio = weak_prominence_ratio
        self.weak_jolt_ratio = weak_jolt_ratio
        self.closing_step = closing_step
        self.side_alternation = side_alternation
        self.push_off_step = push_off_step
        self.timing = timing
        self.loading_window_s = loading_window_s
        self.loading_lowpass_hz = loading_lowpass_hz
        self.loading_floor_ratio = loading_floor_ratio
        self.loading_delay_s = loading_delay_s
        self.loading_first_within = loading_first_within
        self.loading_snap_s = loading_snap_s

    def detect(
        self,
        time_s: ArrayLike,
        acc_vertical_m_s2: ArrayLike,
        gyr_roll_rad_s: ArrayLike | None = None,
        *,
        start_s: float | None = None,
        end_s: float | None = None,
    ) -> PelvisContacts:
        """Find contacts in [start_s, end_s] of a uniformly sampled signal.

        ``acc_vertical_m_s2`` is the world-vertical specific force (gravity may be
        included; it is filtered out); ``gyr_roll_rad_s`` the pelvis angular velocity about
        its anterior axis (positive when the right side drops). The whole signal is
        filtered, so give some context around the walk for clean edges.
        """
        t = np.asarray(time_s, dtype=np.float64)
        acc = fill_nan(acc_vertical_m_s2)
        rate_hz = (t.shape[0] - 1) / (t[-1] - t[0]) if t.shape[0] > 1 else 100.0
        start = t[0] if start_s is None else start_s
        end = t[-1] if end_s is None else end_s

        self.contact_signal_ = np.zeros_like(acc)
        self.ic_time_s_ = np.empty(0)
        self.ic_side_ = np.empty(0, dtype="<U5")
        self.side_score_ = np.empty(0)
        self.side_log_odds_ = np.empty(0)
        self.refine_offset_s_ = 0.0
        if t.shape[0] < int(2.0 * rate_hz) or not np.isfinite(acc).all():
            return self

        filtered = bandpass(acc - np.mean(acc), self.band_hz[0], self.band_hz[1], rate_hz)
        velocity = cumulative_trapezoid(filtered, dx=1.0 / rate_hz, initial=0.0)
        velocity -= lowpass(velocity, 0.3, rate_hz)
        contact = ricker_cwt(velocity, self.cwt_width_s, rate_hz)
        self.contact_signal_ = contact

        peaks, props = find_peaks(
            -contact, distance=max(1, int(self.min_step_s * rate_hz)), prominence=0.0
        )
        margin = self.edge_margin_s + self.refine_window_s
        inside = (t[peaks] >= start - margin) & (t[peaks] <= end + margin)
        inside &= contact[peaks] < 0.0
        peaks = peaks[inside]
        prominence = props["prominences"][inside]
        if peaks.shape[0] == 0:
            return self
        scale = float(np.median(prominence[prominence >= np.median(prominence)]))
        strong = prominence >= self.min_prominence_ratio * scale
        weak = ~strong & (prominence >= self.weak_prominence_ratio * scale)

        jerk = np.gradient(lowpass(acc, self.refine_lowpass_hz, rate_hz))
        before = round(0.03 * rate_hz)
        after = max(1, round(self.refine_window_s * rate_hz))
        jolt = np.zeros(peaks.shape[0])
        delay = np.zeros(peaks.shape[0], dtype=np.int64)
        for k, p in enumerate(peaks):
            lo = max(p - before, 0)
            window = jerk[lo : p + after]
            if window.shape[0]:
                delay[k] = lo + int(np.argmax(window)) - p
                jolt[k] = float(np.max(window))
        if self.weak_prominence_ratio < self.min_prominence_ratio and strong.sum() >= 3:
            strong |= self._closing_contacts(t[peaks], strong, weak, jolt)
        peaks = peaks[strong]
        delays = delay[strong].tolist()
        offset = float(np.median(delays)) if delays else 0.0
        self.refine_offset_s_ = offset / rate_hz

        sub = np.array([parabolic_peak(-contact, int(p)) for p in peaks])
        if self.timing == "loading_peak":
            ic_index = self._at_loading_peaks(acc, peaks + sub, rate_hz)
        elif self.timing == "lobe":
            ic_index = peaks + sub + offset
        else:
            raise HipscopeError(
                f"gait_events.pelvis.timing: expected 'loading_peak' or 'lobe', got {self.timing!r}"
            )
        ic_time = np.interp(ic_index, np.arange(t.shape[0]), t)
        keep = (ic_time >= start - self.edge_margin_s) & (ic_time <= end + self.edge_margin_s)
        ic_time = ic_time[keep]
        ic_time = self._drop_push_offs(ic_time)
        self.ic_time_s_ = ic_time
        self.ic_side_ = np.full(ic_time.shape[0], "", dtype="<U5")
        if gyr_roll_rad_s is not None:
            roll = fill_nan(gyr_roll_rad_s)
            if np.isfinite(roll).all():
                self.side_score_ = self._side_scores(t, roll, ic_time, rate_hz)
                self.side_log_odds_ = alternating_side_evidence(
                    ic_time, self.side_score_, self.side_alternation
                )
                self.ic_side_ = np.where(self.side_log_odds_ >= 0.0, LEFT, RIGHT).astype("<U5")
        return self

    def _at_loading_peaks(
        self, acc: NDArray[np.float64], lobe_index: NDArray[np.float64], rate_hz: float
    ) -> NDArray[np.float64]:
        """Each contact at its own loading peak less ``loading_delay_s``; a contact without
        a clear one at its lobe plus the walk's median lobe-to-loading-peak delay."""
        if lobe_index.shape[0] == 0:
            return lobe_index
        smooth = lowpass(acc, self.loading_lowpass_hz, rate_hz)
        lo, hi = (round(x * rate_hz) for x in self.loading_window_s)
        peak, height = _local_peaks(
            smooth - float(np.median(smooth)), lobe_index, lo, hi, self.loading_first_within
        )
        found = np.isfinite(peak)
        if found.any():
            found &= height >= self.loading_floor_ratio * float(np.median(height[found]))
        if not found.any():
            return lobe_index + 0.5 * (lo + hi) - self.loading_delay_s * rate_hz
        delay = float(np.median(peak[found] - lobe_index[found]))
        # each contact: the highest loading peak near the walk's typical place
        half = round(self.loading_snap_s * rate_hz)
        expected = lobe_index + delay
        near, height = _local_peaks(smooth - float(np.median(smooth)), expected, -half, half)
        clear = np.isfinite(near)
        if clear.any():
            clear &= height >= self.loading_floor_ratio * float(np.median(height[clear]))
        placed = np.where(clear, near, expected)
        # A bout's first step has no step before it, so its lobe is not where a walking
        # step's is, and its loading is weaker: it keeps its own first loading peak.
        spacing = np.diff(lobe_index)
        typical = float(np.median(spacing)) if spacing.shape[0] else 1.0
        first = np.concatenate(([True], spacing > 1.6 * max(typical, 1.0)))
        placed = np.where(first & np.isfinite(peak), peak, placed)
        return placed - self.loading_delay_s * rate_hz

    def _drop_push_offs(self, ic_time_s: NDArray[np.float64]) -> NDArray[np.float64]:
        """Drop a bout's first "contact" when the next follows within ``push_off_step``.

        Starting to walk, the push-off of the trailing leg lowers the pelvis like a contact
        does, but only a swing (~0.75 of a step) separates it from the first heel strike,
        whereas a true first contact is a whole step (or more, when accelerating) before
        the next. Bouts start at the walk's first contact and after pauses longer than
        1.6 median steps.
        """
        if ic_time_s.shape[0] < 4 or self.push_off_step <= 0.0:
            return ic_time_s
        gaps = np.diff(ic_time_s) / _median_step(ic_time_s)
        starts = np.concatenate(([0], np.flatnonzero(gaps > 1.6) + 1))
        starts = starts[starts < gaps.shape[0]]
        return np.delete(ic_time_s, starts[gaps[starts] < self.push_off_step])

    def _closing_contacts(
        self,
        peak_s: NDArray[np.float64],
        strong: NDArray[np.bool_],
        weak: NDArray[np.bool_],
        jolt: NDArray[np.float64],
    ) -> NDArray[np.bool_]:
        """The closing step of each bout: a weak lobe one step after its last contact.

        Stopping, the trailing foot is brought alongside the other with little vertical
        pelvis motion, so the last contact's lobe is weak. After every accepted contact
        that no other follows within ``closing_step[1]`` median steps, the first weak
        candidate ``closing_step`` median steps later is kept when its vertical jerk shows
        an impact (``weak_jolt_ratio`` of the median of the accepted contacts').
        """
        accepted = peak_s[strong]
        step_s = _median_step(accepted)
        jolt_ref = float(np.median(jolt[strong]))
        lo, hi = self.closing_step
        extra = np.zeros(peak_s.shape[0], dtype=bool)
        ends = accepted[np.append(np.diff(accepted) > hi * step_s, True)]
        for last in ends:
            gap = (peak_s - last) / step_s
            fits = weak & (gap >= lo) & (gap <= hi) & (jolt >= self.weak_jolt_ratio * jolt_ref)
            following = accepted[accepted > last + lo * step_s]
            if following.shape[0]:
                # a pause, not the end: the next contact must not follow the candidate in rhythm
                fits &= peak_s < following[0] - hi * step_s
            if fits.any():
                extra[np.flatnonzero(fits)[0]] = True
        return extra

    def _side_scores(
        self,
        t: NDArray[np.float64],
        roll_rad_s: NDArray[np.float64],
        ic_time_s: NDArray[np.float64],
        rate_hz: float,
    ) -> NDArray[np.float64]:
        roll = bandpass(roll_rad_s, self.side_band_hz[0], self.side_band_hz[1], rate_hz)
        raw = np.empty(ic_time_s.shape[0])
        for i, ic in enumerate(ic_time_s):
            window = (t >= ic + self.side_window_s[0]) & (t <= ic + self.side_window_s[1])
            raw[i] = float(np.mean(roll[window])) if window.any() else 0.0
        # Neighbouring contacts belong to the other foot: contrast with them.
        step_s = _median_step(ic_time_s)
        score = raw.copy()
        for i in range(raw.shape[0]):
            neighbours = []
            if i > 0 and ic_time_s[i] - ic_time_s[i - 1] < 1.6 * step_s:
                neighbours.append(raw[i - 1])
            if i + 1 < raw.shape[0] and ic_time_s[i + 1] - ic_time_s[i] < 1.6 * step_s:
                neighbours.append(raw[i + 1])
            if neighbours:
                score[i] = raw[i] - float(np.mean(neighbours))
        return score


def _local_peaks(
    signal: NDArray[np.float64],
    index: NDArray[np.float64],
    lo: int,
    hi: int,
    first_within: float = 1.0,
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """For each fractional index, a local maximum of ``signal`` within samples
    [index + lo, index + hi] (sub-sample by a parabola) and its value: the earliest one at
    least ``first_within`` of the highest (1: the highest); NaN and 0 where the window has
    no interior maximum."""
    n = signal.shape[0]
    peak = np.full(index.shape[0], np.nan)
    height = np.zeros(index.shape[0])
    for k, x in enumerate(index):
        centre = round(float(x))
        first, last = max(centre + lo, 1), min(centre + hi, n - 2)
        if last < first:
            continue
        window = signal[first : last + 1]
        interior = (window >= signal[first - 1 : last]) & (window >= signal[first + 1 : last + 2])
        candidates = np.flatnonzero(interior)
        if candidates.shape[0] == 0:
            continue
        tall = window[candidates] >= first_within * float(np.max(window[candidates]))
        best = first + int(candidates[np.argmax(tall)])
        peak[k] = best + parabolic_peak(signal, best)
        height[k] = float(signal[best])
    return peak, height


def alternating_side_evidence(
    ic_time_s: NDArray[np.float64],
    score: NDArray[np.float64],
    alternate_p: float = 0.9,
    rhythm: tuple[float, float] = (0.6, 1.6),
) -> NDArray[np.float64]:
    """Posterior log-odds of "left" per contact from noisy scores and alternating feet.

    A two-state hidden Markov chain (left / right) over the contacts: consecutive contacts
    one step apart (``rhythm`` in median steps) belong to the other foot with probability
    ``alternate_p``; across a pause or a missed / extra contact nothing is assumed. Each
    score enters as a logistic likelihood scaled by the walk's median absolute score.
    Forward-backward gives each contact's posterior, so a weak or contradicting score is
    outvoted by confident neighbours, and a clear one stands.
    """
    n = score.shape[0]
    if n == 0:
        return score.copy()
    spread = float(np.median(np.abs(score)))
    if spread <= 0.0:
        return score.copy()
    z = np.clip(score / spread, -30.0, 30.0)
    like = np.column_stack([1.0 / (1.0 + np.exp(-z)), 1.0 / (1.0 + np.exp(z))])  # (left, right)
    step_s = _median_step(ic_time_s)
    gaps = np.diff(ic_time_s) / step_s
    p_alt = np.where((gaps >= rhythm[0]) & (gaps <= rhythm[1]), alternate_p, 0.5)
    forward = np.empty((n, 2))
    forward[0] = 0.5 * like[0]
    forward[0] /= forward[0].sum()
    for i in range(1, n):
        a = p_alt[i - 1]
        moved = np.array(
            [
                (1 - a) * forward[i - 1, 0] + a * forward[i - 1, 1],
                a * forward[i - 1, 0] + (1 - a) * forward[i - 1, 1],
            ]
        )
        forward[i] = moved * like[i]
        forward[i] /= forward[i].sum()
    backward = np.ones((n, 2))
    for i in range(n - 2, -1, -1):
        a = p_alt[i]
        nxt = backward[i + 1] * like[i + 1]
        backward[i] = np.array([(1 - a) * nxt[0] + a * nxt[1], a * nxt[0] + (1 - a) * nxt[1]])
        backward[i] /= backward[i].sum()
    post = forward * backward
    return np.log(post[:, 0] + 1e-300) - np.log(post[:, 1] + 1e-300)


class ThighTurningPoints(Algorithm):
    """Peak flexion and peak extension of each thigh during walking.

    Zero crossings of the thigh's sagittal angular velocity: flexion peaks come in late
    swing, just before that foot's contact; extension peaks near its toe-off.

    Parameters
    ----------
    lowpass_hz
        Low-pass of the thigh sagittal angle before differentiating, Hz. Default 6.
    min_step_s
        Shortest interval between two peaks of the same kind on one side, s (one per
        stride: use a value below the shortest stride). Default 0.6.
    min_excursion_deg
        A turning point is kept when the angle swings at least this much between it and
        its neighbours, degrees. Default 8.
    """

    _action_method = "detect"

    def __init__(
        self, *, lowpass_hz: float = 6.0, min_step_s: float = 0.6, min_excursion_deg: float = 8.0
    ) -> None:
        self.lowpass_hz = lowpass_hz
        self.min_step_s = min_step_s
        self.min_excursion_deg = min_excursion_deg

    def detect(
        self,
        time_s: ArrayLike,
        thigh_sagittal_rad: ArrayLike,
        *,
        start_s: float | None = None,
        end_s: float | None = None,
    ) -> ThighTurningPoints:
        t = np.asarray(time_s, dtype=np.float64)
        angle = fill_nan(thigh_sagittal_rad)
        rate_hz = (t.shape[0] - 1) / (t[-1] - t[0]) if t.shape[0] > 1 else 100.0
        start = t[0] if start_s is None else start_s
        end = t[-1] if end_s is None else end_s
        self.peak_flexion_s_ = np.empty(0)
        self.peak_extension_s_ = np.empty(0)
        if t.shape[0] < 10 or not np.isfinite(angle).all():
            return self
        smooth = lowpass(angle, self.lowpass_hz, rate_hz)
        distance = max(1, int(self.min_step_s * rate_hz))
        prominence = np.radians(self.min_excursion_deg)
        found = []
        for sign in (1.0, -1.0):
            peaks, _ = find_peaks(sign * smooth, distance=distance, prominence=prominence)
            peaks = peaks[(t[peaks] >= start) & (t[peaks] <= end)]
            sub = np.array([parabolic_peak(sign * smooth, int(p)) for p in peaks])
            found.append(np.interp(peaks + sub, np.arange(t.shape[0]), t))
        self.peak_flexion_s_, self.peak_extension_s_ = found
        return self


def sides_from_thighs(
    time_s: ArrayLike,
    ic_time_s: ArrayLike,
    thigh_sagittal_left_rad: ArrayLike,
    thigh_sagittal_right_rad: ArrayLike,
) -> NDArray[np.str_]:
    """At a contact the leading leg is the more flexed thigh: that names the side."""
    t = np.asarray(time_s, dtype=np.float64)
    ic = np.asarray(ic_time_s, dtype=np.float64)
    left = np.interp(ic, t, fill_nan(thigh_sagittal_left_rad))
    right = np.interp(ic, t, fill_nan(thigh_sagittal_right_rad))
    return np.where(left >= right, LEFT, RIGHT).astype("<U5")


def detect_gait_events(
    time_s: ArrayLike,
    *,
    acc_vertical_m_s2: ArrayLike | None = None,
    gyr_roll_rad_s: ArrayLike | None = None,
    thigh_sagittal_left_rad: ArrayLike | None = None,
    thigh_sagittal_right_rad: ArrayLike | None = None,
    start_s: float | None = None,
    end_s: float | None = None,
    thigh_contact_delay_s: float = 0.0,
    pelvis: PelvisContacts | None = None,
    thighs: ThighTurningPoints | None = None,
) -> GaitEvents:
    """Combine whatever sensors exist into one sorted list of contacts with sides.

    Pelvis present: pelvis contact times; sides from the thighs when both exist, otherwise
    from the pelvis roll rate. No pelvis but both thighs: contacts at peak thigh flexion
    (+ ``thigh_contact_delay_s``). Final contacts (approximate: peak thigh extension) only
    with thigh sensors. ``pelvis`` and ``thighs`` are the detectors (default: default
    parameters; each runs on a clone). ``GaitEventDetector`` holds all of these as
    parameters.
    """
    pelvis = pelvis or PelvisContacts()
    thighs = thighs or ThighTurningPoints()
    t = np.asarray(time_s, dtype=np.float64)
    has_thighs = thigh_sagittal_left_rad is not None and thigh_sagittal_right_rad is not None
    turning: dict[str, ThighTurningPoints] = {}
    if has_thighs:
        for side, angle in ((LEFT, thigh_sagittal_left_rad), (RIGHT, thigh_sagittal_right_rad)):
            turning[side] = thighs.clone().detect(t, angle, start_s=start_s, end_s=end_s)  # type: ignore[arg-type]

    fc_time = np.empty(0)
    fc_side = np.empty(0, dtype="<U5")
    if has_thighs:
        fc_time = np.concatenate([turning[s].peak_extension_s_ for s in (LEFT, RIGHT)])
        fc_side = np.repeat(
            np.array([LEFT, RIGHT]), [turning[s].peak_extension_s_.shape[0] for s in (LEFT, RIGHT)]
        ).astype("<U5")
        order = np.argsort(fc_time, kind="stable")
        fc_time, fc_side = fc_time[order], fc_side[order]

    if acc_vertical_m_s2 is not None:
        found = pelvis.clone().detect(
            t,
            acc_vertical_m_s2,
            gyr_roll_rad_s if not has_thighs else None,
            start_s=start_s,
            end_s=end_s,
        )
        ic_time = found.ic_time_s_
        if has_thighs:
            assert thigh_sagittal_left_rad is not None and thigh_sagittal_right_rad is not None
            ic_side = sides_from_thighs(
                t, ic_time, thigh_sagittal_left_rad, thigh_sagittal_right_rad
            )
            source = "pelvis contacts, thigh sides"
        else:
            ic_side = found.ic_side_
            source = (
                "pelvis contacts, pelvis roll sides" if gyr_roll_rad_s is not None else "pelvis"
            )
        return GaitEvents(ic_time, ic_side, fc_time, fc_side, source)

    if has_thighs:
        ic_time = np.concatenate([turning[s].peak_flexion_s_ for s in (LEFT, RIGHT)])
        ic_time = ic_time + thigh_contact_delay_s
        ic_side = np.repeat(
            np.array([LEFT, RIGHT]), [turning[s].peak_flexion_s_.shape[0] for s in (LEFT, RIGHT)]
        ).astype("<U5")
        order = np.argsort(ic_time, kind="stable")
        return GaitEvents(ic_time[order], ic_side[order], fc_time, fc_side, "thigh peak flexion")

    return GaitEvents(np.empty(0), np.empty(0, dtype="<U5"), source="none")


class GaitEventDetector(Algorithm):
    """Initial and final contacts with sides from whatever sensors exist (see
    ``detect_gait_events`` for the rules).

    Parameters
    ----------
    pelvis
        Contact detection from the pelvis sensor; default ``PelvisContacts()``.
    thighs
        Turning points of each thigh (contacts without a pelvis sensor, sides and final
        contacts); default ``ThighTurningPoints()``.
    thigh_contact_delay_s
        Without a pelvis sensor, a contact is this long after peak thigh flexion, s.
        Default 0.
    """

    _action_method = "detect"

    def __init__(
        self,
        *,
        pelvis: PelvisContacts = PelvisContacts(),
        thighs: ThighTurningPoints = ThighTurningPoints(),
        thigh_contact_delay_s: float = 0.0,
    ) -> None:
        self.pelvis = pelvis
        self.thighs = thighs
        self.thigh_contact_delay_s = thigh_contact_delay_s

    def detect(
        self,
        time_s: ArrayLike,
        *,
        acc_vertical_m_s2: ArrayLike | None = None,
        gyr_roll_rad_s: ArrayLike | None = None,
        thigh_sagittal_left_rad: ArrayLike | None = None,
        thigh_sagittal_right_rad: ArrayLike | None = None,
        start_s: float | None = None,
        end_s: float | None = None,
    ) -> GaitEventDetector:
        """Results: ``events_`` (``GaitEvents``, sorted in time)."""
        self.events_ = detect_gait_events(
            time_s,
            acc_vertical_m_s2=acc_vertical_m_s2,
            gyr_roll_rad_s=gyr_roll_rad_s,
            thigh_sagittal_left_rad=thigh_sagittal_left_rad,
            thigh_sagittal_right_rad=thigh_sagittal_right_rad,
            start_s=start_s,
            end_s=end_s,
            thigh_contact_delay_s=self.thigh_contact_delay_s,
            pelvis=self.pelvis,
            thighs=self.thighs,
        )
        return self
