"""Which foot made each initial contact: from the thighs when worn, else from pelvis cues.

With both thigh sensors the thighs alone decide: at a contact the leading leg's thigh is
flexed and the trailing one extended, each judged against its own range over the walk, so
a calibration offset or a stiffer leg does not bias the call and no pelvis cue takes part.

With the pelvis alone, three cues that each have a physical reason vote (docs/DESIGN.md):

- **yaw** (McCamley 2012): the pelvis turns with the swinging leg; up to a left contact the
  left hip swings forward, so the pelvis turns clockwise seen from above and the
  band-passed world-vertical rate at the contact is negative (mobgap's LrcMcCamley reads
  the same sign). Its phase against the contact differs between walkers, so it is the
  weakest cue: on IPOL, on its own, 0.83 of the sides and 17 of 110 walks inverted,
  against 0.96-0.97 and 2 walks for roll and sway (docs/VALIDATION.md);
- **roll**: in the loading response after a left contact the free right side of the pelvis
  drops (roll rate about the anterior axis positive, "right side drops");
- **mediolateral sway**: the body moves over the new stance foot, so around a left contact
  the pelvis moves to the left (mediolateral velocity, the integrated band-passed
  acceleration, positive to the left).

Each cue is read at each contact and contrasted with the neighbouring contacts (the other
foot), then scaled by its walk's median magnitude. Real walkers differ: a stance-side drop
(Trendelenburg-like or with a cane) reverses the roll cue, some walk with almost no pelvis
rotation, and the yaw cue's phase differs between walkers. So a cue's polarity is checked
against the other two on the same walk: the one cue whose flip makes the three agree best
is flipped for that walk, never more than one. No single cue, and so no single
population's quirk, can turn a whole walk round. The sum of
the aligned cues is the evidence for "left"; a two-state alternating chain then lets
confident neighbours outvote a weak contact (turns).
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy.integrate import cumulative_trapezoid

from hipscope.processing.algorithm import Algorithm
from hipscope.processing.events.gait import (
    LEFT,
    RIGHT,
    alternating_side_evidence,
)
from hipscope.processing.events.signals import bandpass, fill_nan, lowpass

CUES = ("yaw", "roll", "sway")


def _rate_hz(t: NDArray[np.float64]) -> float:
    return (t.shape[0] - 1) / (t[-1] - t[0]) if t.shape[0] > 1 else 100.0


def _integrated(x: NDArray[np.float64], band_hz: tuple[float, float], rate_hz: float):
    """Band-passed x integrated once, with the slow drift of the integral removed."""
    filtered = bandpass(x - np.mean(x), band_hz[0], band_hz[1], rate_hz)
    out = cumulative_trapezoid(filtered, dx=1.0 / rate_hz, initial=0.0)
    return out - lowpass(out, band_hz[0], rate_hz)


def _window_mean(
    t: NDArray[np.float64],
    x: NDArray[np.float64],
    ic_time_s: NDArray[np.float64],
    window_s: tuple[float, float],
) -> NDArray[np.float64]:
    out = np.zeros(ic_time_s.shape[0])
    for i, ic in enumerate(ic_time_s):
        inside = (t >= ic + window_s[0]) & (t <= ic + window_s[1])
        out[i] = float(np.mean(x[inside])) if inside.any() else float(np.interp(ic, t, x))
    return out


def contrast_with_neighbours(
    ic_time_s: NDArray[np.float64], raw: NDArray[np.float64], rhythm: float = 1.6
) -> NDArray[np.float64]:
    """Each score minus the mean of its neighbours within ``rhythm`` median steps (the other
    foot), which removes slow trends and offsets; then scaled by the median magnitude."""
    if raw.shape[0] == 0:
        return raw.copy()
    step_s = float(np.median(np.diff(ic_time_s))) if ic_time_s.shape[0] >= 3 else 0.55
    score = raw.copy()
    for i in range(raw.shape[0]):
        neighbours = []
        if i > 0 and ic_time_s[i] - ic_time_s[i - 1] < rhythm * step_s:
            neighbours.append(raw[i - 1])
        if i + 1 < raw.shape[0] and ic_time_s[i + 1] - ic_time_s[i] < rhythm * step_s:
            neighbours.append(raw[i + 1])
        if neighbours:
            score[i] = raw[i] - float(np.mean(neighbours))
    spread = float(np.median(np.abs(score)))
    return score / spread if spread > 0.0 else np.zeros_like(score)


def align_polarities(scores: dict[str, NDArray[np.float64]]) -> dict[str, float]:
    """+1 / −1 per cue: at most one cue is flipped, the one whose flip makes the cues agree
    best (the sum of pairwise correlations, each counted with the product of the two
    polarities), and only when that beats flipping none. Needs three or more cues; with
    fewer each keeps its physical polarity."""
    names = [k for k, v in scores.items() if np.std(v) > 0.0]
    polarity = {k: 1.0 for k in scores}
    if len(names) < 3:
        return polarity
    corr = np.corrcoef(np.vstack([scores[k] for k in names]))
    upper = np.triu_indices(len(names), 1)

    def agreement(signs: NDArray[np.float64]) -> float:
        return float(np.sum((np.outer(signs, signs) * corr)[upper]))

    best, best_value = None, agreement(np.ones(len(names)))
    for i in range(len(names)):
        signs = np.ones(len(names))
        signs[i] = -1.0
        value = agreement(signs)
        if value > best_value:
            best, best_value = i, value
    if best is not None:
        polarity[names[best]] = -1.0
    return polarity


class PelvisSides(Algorithm):
    """Sides of contacts from a pelvis sensor: yaw, roll and mediolateral sway cues.

    Parameters
    ----------
    band_hz
        Band-pass of the yaw rate, roll rate and mediolateral acceleration, Hz. Default
        (0.5, 2.5) (mobgap's McCamley variant uses 0.5–2).
    yaw_lead_s
        The yaw rate is read this long before the contact, s. Default 0.05: McCamley's rule
        reads it at the contact its CWT gives, which comes 40-70 ms ahead of the heel strike
        (mobgap's IcdIonescu: 40 ms on IPOL); hipscope's contacts sit on the heel strike.
        On IPOL the yaw cue alone reads 0.80 of the sides at the heel strike and 0.86 here
        (subjects 1-10 and 11-19 alike; 1-10 alone would favour 0.10 s, 0.88).
    roll_window_s
        The roll rate is averaged this long after the contact, s. Default (0.05, 0.20).
    sway_window_s
        The mediolateral velocity is averaged over this window around the contact, s.
        Default (-0.10, 0.10).
    clip
        Each cue's scaled score is clipped to ±this before the sum, so one wild reading
        cannot decide a contact alone. Default 3.
    alternation
        Probability that two contacts one step apart belong to different feet. Default 0.9.
    """

    _action_method = "assign"

    def __init__(
        self,
        *,
        band_hz: tuple[float, float] = (0.5, 2.5),
        yaw_lead_s: float = 0.05,
        roll_window_s: tuple[float, float] = (0.05, 0.20),
        sway_window_s: tuple[float, float] = (-0.10, 0.10),
        clip: float = 3.0,
        alternation: float = 0.9,
    ) -> None:
        self.band_hz = band_hz
        self.yaw_lead_s = yaw_lead_s
        self.roll_window_s = roll_window_s
        self.sway_window_s = sway_window_s
        self.clip = clip
        self.alternation = alternation

    def assign(
        self,
        time_s: ArrayLike,
        ic_time_s: ArrayLike,
        *,
        gyr_yaw_rad_s: ArrayLike | None = None,
        gyr_roll_rad_s: ArrayLike | None = None,
        acc_ml_m_s2: ArrayLike | None = None,
    ) -> PelvisSides:
        """Results: ``side_`` ("left"/"right", "" without any cue), ``log_odds_`` (evidence
        for left), ``scores_`` (each cue's scaled score, physics polarity), ``polarity_``.

        ``gyr_yaw_rad_s`` is the angular velocity about the world vertical (positive
        counter-clockwise seen from above), ``gyr_roll_rad_s`` about the pelvis's anterior
        axis (positive when the right side drops), ``acc_ml_m_s2`` the horizontal
        acceleration to the pelvis's left.
        """
        t = np.asarray(time_s, dtype=np.float64)
        ic = np.asarray(ic_time_s, dtype=np.float64)
        rate_hz = _rate_hz(t)
        self.scores_: dict[str, NDArray[np.float64]] = {}
        self.polarity_: dict[str, float] = {}
        self.side_ = np.full(ic.shape[0], "", dtype="<U5")
        self.log_odds_ = np.zeros(ic.shape[0])
        if ic.shape[0] == 0 or t.shape[0] < int(2.0 * rate_hz):
            return self
        raw: dict[str, NDArray[np.float64]] = {}
        signals = (("yaw", gyr_yaw_rad_s), ("roll", gyr_roll_rad_s), ("sway", acc_ml_m_s2))
        for name, value in signals:
            if value is None:
                continue
            x = fill_nan(value)
            if not np.isfinite(x).all():
                continue
            if name == "yaw":
                filtered = bandpass(x, self.band_hz[0], self.band_hz[1], rate_hz)
                raw[name] = -np.interp(ic - self.yaw_lead_s, t, filtered)
            elif name == "roll":
                filtered = bandpass(x, self.band_hz[0], self.band_hz[1], rate_hz)
                raw[name] = _window_mean(t, filtered, ic, self.roll_window_s)
            else:
                velocity = _integrated(x, self.band_hz, rate_hz)
                raw[name] = _window_mean(t, velocity, ic, self.sway_window_s)
        if not raw:
            return self
        self.scores_ = {k: contrast_with_neighbours(ic, v) for k, v in raw.items()}
        self.polarity_ = align_polarities(self.scores_)
        total = np.zeros(ic.shape[0])
        for name, score in self.scores_.items():
            total += self.polarity_[name] * np.clip(score, -self.clip, self.clip)
        self.log_odds_ = alternating_side_evidence(ic, total, self.alternation)
        self.side_ = np.where(self.log_odds_ >= 0.0, LEFT, RIGHT).astype("<U5")
        return self


class ThighSides(Algorithm):
    """Sides of contacts from the two thigh sensors alone.

    At a contact the leading thigh is near its peak flexion and the trailing one near its
    peak extension. Each thigh's sagittal angle is placed within its own range over the walk
    (``range_percentiles``; the whole signal when the walk window is tiny), so offsets and
    unequal ranges do not bias the call; the more flexed of the two, relative to its own
    range, names the side.

    Parameters
    ----------
    range_percentiles
        Each thigh's range over the walk is taken between these percentiles of its
        sagittal angle. Default (5, 95).
    """

    _action_method = "assign"

    def __init__(self, *, range_percentiles: tuple[float, float] = (5.0, 95.0)) -> None:
        self.range_percentiles = range_percentiles

    def assign(
        self,
        time_s: ArrayLike,
        ic_time_s: ArrayLike,
        thigh_sagittal_left_rad: ArrayLike,
        thigh_sagittal_right_rad: ArrayLike,
        *,
        start_s: float | None = None,
        end_s: float | None = None,
    ) -> ThighSides:
        """Results: ``side_`` and ``margin_`` (left minus right relative flexion, 0..1 scale)."""
        t = np.asarray(time_s, dtype=np.float64)
        ic = np.asarray(ic_time_s, dtype=np.float64)
        lo = t[0] if start_s is None else start_s
        hi = t[-1] if end_s is None else end_s
        walk = (t >= lo) & (t <= hi)
        relative = []
        for value in (thigh_sagittal_left_rad, thigh_sagittal_right_rad):
            angle = fill_nan(value)
            inside = angle[walk & np.isfinite(angle)]
            if inside.shape[0] < 10:  # a tiny window: the whole recording gives the range
                inside = angle[np.isfinite(angle)]
            if inside.shape[0] < 10:
                self.side_ = np.full(ic.shape[0], "", dtype="<U5")
                self.margin_ = np.zeros(ic.shape[0])
                return self
            low, high = np.percentile(inside, self.range_percentiles)
            span = max(float(high - low), 1e-6)
            relative.append((np.interp(ic, t, angle) - low) / span)
        self.margin_ = relative[0] - relative[1]
        self.side_ = np.where(self.margin_ >= 0.0, LEFT, RIGHT).astype("<U5")
        return self
