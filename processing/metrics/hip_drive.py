"""Hip drive: does hip extension lead the rise, or does the lower back go first?

Per repetition (hinge, bridge, squat), in the rising phase after the turning point, each
joint (hip: thigh on pelvis; lumbar: trunk on pelvis) gets an onset from a
**minimum-jerk fit to its normalised rise** (docs/DESIGN.md, "Metric definitions"):

- the low-passed flexion angle is normalised from the joint's own flexion peak (0) to the
  end of its rise (1);
- the times where that normalised rise crosses the levels of ``fit_band`` (default 15 %
  to 85 %, 15 levels; each the midpoint of the first and the last crossing, so noise that
  wobbles across a level does not pull it early) are regressed on the minimum-jerk
  profile's own times for those levels (Flash & Hogan 1985:
  s(τ) = 10τ³ − 15τ⁴ + 6τ⁵): t_level = onset + duration · τ(level);
- the onset is that line's intercept, the duration its slope.

Why not a velocity threshold: the start of a rise is where the signal is smallest, so any
threshold or back-extrapolation there is at the mercy of noise (0.3° of angle noise gave
a per-repetition SD of 84 ms), and in a "bounce" repetition the velocity passes through
zero without a pause, which biased the lead by about −20 ms. The middle of the rise is
where the signal is largest; normalising by each joint's own excursion makes a 20° lumbar
rise and a 60° hip rise comparable. The fit assumes both joints follow a smooth
bell-shaped velocity profile; a rise that does not (residual too large) is rejected with
its reason, never guessed.

``hip_lead_ms = lumbar_onset − hip_onset`` (positive: hips lead). Per task: the number of
repetitions with a valid lead, their median and quartiles, the rejection reasons, and a
verdict that is "hips first" or "back first" only when the median clears an
indeterminate zone derived from the measured per-repetition spread (``verdict_zone_ms``).
"""

from __future__ import annotations

import functools
from collections import Counter
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy.optimize import least_squares

from hipscope.processing.algorithm import Algorithm
from hipscope.processing.events.repetitions import Repetition, RepetitionSegmenter
from hipscope.processing.events.signals import fill_nan, lowpass
from hipscope.processing.metrics.common import median_or_none, number, rate_of, window

HIPS_FIRST = "hips first"
BACK_FIRST = "back first"
UNCLEAR = "unclear"
IQR_PER_SD = 1.349
"""Interquartile range of a normal distribution in standard deviations."""
MEDIAN_SE_PER_SD = 1.2533
"""Standard error of a sample median, per SD / √n (normal data, large n)."""


def min_jerk_position(tau: ArrayLike) -> NDArray[np.float64]:
    """Normalised minimum-jerk position s(τ) = 10τ³ − 15τ⁴ + 6τ⁵ for τ in [0, 1]."""
    u = np.clip(np.asarray(tau, dtype=np.float64), 0.0, 1.0)
    return u**3 * (10.0 - 15.0 * u + 6.0 * u**2)


_TAU_GRID = np.linspace(0.0, 1.0, 4001)
_S_GRID = min_jerk_position(_TAU_GRID)


def min_jerk_time(level: ArrayLike) -> NDArray[np.float64]:
    """τ where the minimum-jerk profile reaches ``level`` (inverse of ``min_jerk_position``)."""
    return np.interp(np.asarray(level, dtype=np.float64), _S_GRID, _TAU_GRID)


def level_crossings(
    time_s: NDArray[np.float64], progress: NDArray[np.float64], levels: NDArray[np.float64]
) -> NDArray[np.float64]:
    """Per level: the midpoint of the first and the last upward crossing (NaN if none)."""
    out = np.full(levels.shape[0], np.nan)
    for k, level in enumerate(levels):
        above = progress >= level
        up = np.flatnonzero(above[1:] & ~above[:-1]) + 1
        if up.shape[0] == 0:
            continue
        times = []
        for i in (int(up[0]), int(up[-1])):
            x0, x1 = float(progress[i - 1]), float(progress[i])
            frac = (level - x0) / (x1 - x0) if x1 != x0 else 1.0
            times.append(float(time_s[i - 1] + frac * (time_s[i] - time_s[i - 1])))
        out[k] = 0.5 * (times[0] + times[1])
    return out


def fit_rise_onset(
    time_s: NDArray[np.float64],
    flexion_deg: NDArray[np.float64],
    fit_band: tuple[float, float],
    n_levels: int = 15,
) -> tuple[float, float, float] | None:
    """(onset_s, duration_s, residual_fraction) of a rise that starts at ``flexion_deg[0]``
    (its peak) and ends at its minimum, or None when it cannot be fitted.

    A first estimate regresses the level-crossing times on the minimum-jerk times of those
    levels; a least-squares fit of the whole rise (start level, excursion, onset, duration)
    then refines it, so noise on the peak and end values does not tilt the normalisation.
    ``residual_fraction``: RMS of the angle residuals over the fitted excursion.
    """
    end = int(np.argmin(flexion_deg))
    if end < 3:
        return None
    # what follows the trough (a next descent) is not part of this rise
    time_s, flexion_deg = time_s[: end + 1], flexion_deg[: end + 1]
    excursion = float(flexion_deg[0] - flexion_deg[end])
    if excursion <= 0.0:
        return None
    progress = (flexion_deg[0] - flexion_deg) / excursion
    levels = np.linspace(fit_band[0], fit_band[1], n_levels)
    crossing_s = level_crossings(time_s, progress, levels)
    good = np.isfinite(crossing_s)
    if good.sum() < max(3, n_levels // 2):
        return None
    tau = min_jerk_time(levels[good])
    duration_s, onset_s = np.polyfit(tau, crossing_s[good], 1)
    if duration_s <= 0.0:
        return None

    def residuals(p: NDArray[np.float64]) -> NDArray[np.float64]:
        start_deg, excursion_deg, t0, d = p
        return flexion_deg - (
            start_deg - excursion_deg * min_jerk_position((time_s - t0) / max(d, 1e-3))
        )

    guess = np.array([float(flexion_deg[0]), excursion, float(onset_s), float(duration_s)])
    try:
        fit = least_squares(residuals, guess, x_scale=[excursion, excursion, 0.1, 0.1])
    except ValueError:
        return None
    _, excursion_deg, onset_s, duration_s = (float(x) for x in fit.x)
    if not fit.success or excursion_deg <= 0.0 or duration_s <= 0.0:
        return None
    rms = float(np.sqrt(np.mean(fit.fun**2)))
    return onset_s, duration_s, rms / excursion_deg


@functools.lru_cache(maxsize=4096)
def filter_correction(
    duration_s: float, rate_hz: float, lowpass_hz: float, fit_band: tuple[float, float]
) -> tuple[float, float]:
    """(onset shift s, true duration s) of the ``lowpass_hz`` filter for a rise whose
    filtered fit lasted ``duration_s``.

    The filter spreads a rise: its fit starts early and lasts long. A clean minimum-jerk
    rise is filtered and fitted the same way, its duration adjusted until the fitted
    duration matches; the onset is then moved by that rise's shift. Equal for two joints
    whose rises last equally long, so it leaves their lead alone.
    """
    if not 0.05 <= duration_s <= 20.0 or rate_hz <= 0.0:
        return 0.0, duration_s
    true_s, shift_s = duration_s, 0.0
    for _ in range(4):
        pad_s = max(1.0, true_s)
        grid = np.arange(-pad_s, true_s + pad_s, 1.0 / rate_hz)
        clean = 10.0 * (1.0 - min_jerk_position(grid / true_s))
        smooth = lowpass(clean, lowpass_hz, rate_hz)
        first = int(np.argmax(smooth))
        fit = fit_rise_onset(grid[first:], smooth[first:], fit_band)
        if fit is None:
            return 0.0, duration_s
        shift_s = -fit[0]
        true_s = float(np.clip(true_s * duration_s / fit[1], 0.05, 20.0))
    return shift_s, true_s


def verdict_zone_ms(iqr_ms: float, n_valid: int, floor_ms: float, se_factor: float) -> float:
    """Half-width of the indeterminate zone around 0 ms for a median of ``n_valid`` leads.

    The per-repetition SD is estimated from the interquartile range (IQR / 1.349); the
    median's standard error is 1.2533 · SD / √n; the zone is ``se_factor`` standard errors,
    never narrower than ``floor_ms`` (the method's own bias bound in simulation).
    """
    sd_ms = iqr_ms / IQR_PER_SD
    se_ms = MEDIAN_SE_PER_SD * sd_ms / np.sqrt(max(n_valid, 1))
    return float(max(floor_ms, se_factor * se_ms))


class HipDrive(Algorithm):
    """Hip-drive timing per repetition.

    Parameters
    ----------
    lowpass_hz
        Low-pass of the flexion angles before differentiating (peak extension speed), Hz.
        Default 6.
    fit_lowpass_hz
        Low-pass of the flexion angles before the onset fit, Hz. Default 1.2: soft-tissue
        artefact sits at 2–10 Hz (at 1.5° of artefact the per-repetition SD is about 5 ms
        at 1.2 Hz against about 20 ms at 2 Hz; below 1.2 Hz the bias of bounce repetitions
        grows, docs/VALIDATION.md). The filter's effect on the onsets is measured on the
        repetition's own context and removed.
    min_velocity_deg_s
        A joint whose peak extension velocity in the rise stays below this has not risen:
        the repetition's lead is rejected, deg/s. Default 5.
    min_excursion_deg
        A joint that extends less than this in the rise has not risen, degrees. Default 3.
    fit_band
        The part of each joint's normalised rise (fractions of its excursion, low and high)
        whose level crossings the minimum-jerk fit uses. Default (0.15, 0.85).
    max_fit_residual
        A rise whose angle strays from the fitted minimum-jerk rise by more than this
        fraction of its excursion (RMS) is not one smooth extension: rejected. Default 0.15.
    min_duration_s
        Shortest and longest plausible rise, s: a fitted duration outside
        [``min_duration_s``, ``max_duration_s``] is rejected. Default 0.15.
    max_duration_s
        See ``min_duration_s``. Default 5.
    min_valid_reps
        A verdict ("hips first" / "back first") needs at least this many valid leads.
        Default 3.
    verdict_floor_ms
        Narrowest indeterminate zone around 0 ms, ms (the method's bias bound in the
        simulation study, docs/VALIDATION.md). Default 10.
    verdict_se_factor
        The zone is this many standard errors of the median (from the measured
        per-repetition spread). Default 2.
    segmenter
        Repetition segmentation; default ``RepetitionSegmenter()``.
    """

    _action_method = "compute"

    def __init__(
        self,
        *,
        lowpass_hz: float = 6.0,
        fit_lowpass_hz: float = 1.2,
        min_velocity_deg_s: float = 5.0,
        min_excursion_deg: float = 3.0,
        fit_band: tuple[float, float] = (0.15, 0.85),
        max_fit_residual: float = 0.15,
        min_duration_s: float = 0.15,
        max_duration_s: float = 5.0,
        min_valid_reps: int = 3,
        verdict_floor_ms: float = 10.0,
        verdict_se_factor: float = 2.0,
        segmenter: RepetitionSegmenter = RepetitionSegmenter(),
    ) -> None:
        self.lowpass_hz = lowpass_hz
        self.fit_lowpass_hz = fit_lowpass_hz
        self.min_velocity_deg_s = min_velocity_deg_s
        self.min_excursion_deg = min_excursion_deg
        self.fit_band = fit_band
        self.max_fit_residual = max_fit_residual
        self.min_duration_s = min_duration_s
        self.max_duration_s = max_duration_s
        self.min_valid_reps = min_valid_reps
        self.verdict_floor_ms = verdict_floor_ms
        self.verdict_se_factor = verdict_se_factor
        self.segmenter = segmenter

    def compute(
        self,
        time_s: ArrayLike,
        *,
        hip_flexion_rad: ArrayLike | None,
        lumbar_flexion_rad: ArrayLike | None,
        start_s: float,
        end_s: float,
        start_posture: str = "extended",
    ) -> HipDrive:
        """Segment the task and time each repetition's rise.

        ``start_posture``: "extended" for hinge and squat, "flexed" for the bridge (see
        ``RepetitionSegmenter.detect``).

        Results: ``metrics_`` (the task's JSON-ready metrics), ``repetitions_`` (list of
        JSON-ready dicts, each with ``rejected``: None or the reason its lead is not
        used), ``rep_count_``, ``valid_rep_count_``, ``hip_lead_ms_median_``,
        ``verdict_``, ``unavailable_`` (key -> reason), ``series_`` (plots).
        """
        self._time_repetitions(
            time_s,
            hip_flexion_rad=hip_flexion_rad,
            lumbar_flexion_rad=lumbar_flexion_rad,
            start_s=start_s,
            end_s=end_s,
            start_posture=start_posture,
        )
        self.metrics_ = self._task_metrics()
        return self

    def _time_repetitions(
        self,
        time_s: ArrayLike,
        *,
        hip_flexion_rad: ArrayLike | None,
        lumbar_flexion_rad: ArrayLike | None,
        start_s: float,
        end_s: float,
        start_posture: str,
    ) -> None:
        t = np.asarray(time_s, dtype=np.float64)
        self.repetitions_: list[dict[str, Any]] = []
        self.unavailable_: dict[str, str] = {}
        self.series_: dict[str, NDArray[np.float64]] = {}
        self.rep_count_: int | None = None
        self.hip_lead_ms_median_: float | None = None

        segmenter = self.segmenter.clone()
        mask = window(t, start_s - segmenter.margin_s, end_s + segmenter.margin_s)
        rate_hz = rate_of(t[mask])
        if window(t, start_s, end_s).sum() < 10 or rate_hz <= 0.0:
            self.unavailable_["rep_count"] = "task too short"
            self.unavailable_["hip_lead_ms_median"] = "task too short"
            return
        ti = t[mask]
        angles: dict[str, NDArray[np.float64]] = {}
        self._raw_deg: dict[str, NDArray[np.float64]] = {}
        for name, value in (("hip", hip_flexion_rad), ("lumbar", lumbar_flexion_rad)):
            if value is None:
                continue
            data = fill_nan(np.asarray(value, dtype=np.float64)[mask])
            if np.isfinite(data).all():
                angles[name] = np.degrees(lowpass(data, self.lowpass_hz, rate_hz))
                self._raw_deg[name] = np.degrees(data)
        if not angles:
            reason = "needs thigh, pelvis or trunk sensors for hip or lumbar flexion"
            self.unavailable_["rep_count"] = reason
            self.unavailable_["hip_lead_ms_median"] = reason
            return
        if "hip" not in angles:
            self.unavailable_["hip_lead_ms_median"] = "no hip flexion (needs pelvis and thighs)"
        elif "lumbar" not in angles:
            self.unavailable_["hip_lead_ms_median"] = "no lumbar flexion (needs pelvis and trunk)"

        velocity = {k: -np.gradient(v, ti) for k, v in angles.items()}
        self.series_["time_s"] = ti
        for k in angles:
            self.series_[f"{k}_flexion_deg"] = angles[k]
            self.series_[f"{k}_ext_vel_deg_s"] = velocity[k]

        total = np.radians(sum(angles.values()))
        reps = segmenter.detect(
            ti, total, start_s=start_s, end_s=end_s, start_posture=start_posture
        ).repetitions_
        self.rep_count_ = len(reps)
        self._shifts: list[float] = []
        for rep in reps:
            self.repetitions_.append(self._repetition(rep, ti, angles, velocity))
        # the filter's shift of the onsets is common to both joints (it cancels in the
        # lead); its median over every rise puts the onsets on the true time scale
        shift_s = float(np.median(self._shifts)) if self._shifts else 0.0
        for r in self.repetitions_:
            for k in ("hip", "lumbar"):
                if r[f"{k}_onset_s"] is not None:
                    r[f"{k}_onset_s"] = number(r[f"{k}_onset_s"] + shift_s)
            if r["time_to_peak_hip_ext_vel_s"] is not None:
                r["time_to_peak_hip_ext_vel_s"] = number(r["time_to_peak_hip_ext_vel_s"] - shift_s)
        leads = [r["hip_lead_ms"] for r in self.repetitions_ if r["hip_lead_ms"] is not None]
        self.hip_lead_ms_median_ = median_or_none(leads)
        if "hip_lead_ms_median" not in self.unavailable_ and self.hip_lead_ms_median_ is None:
            self.unavailable_["hip_lead_ms_median"] = (
                "no repetition found" if not reps else "no repetition gave a valid lead"
            )
        onsets: dict[str, list[float]] = {"hip": [], "lumbar": []}
        for r in self.repetitions_:
            for k in onsets:
                if r[f"{k}_onset_s"] is not None:
                    onsets[k].append(r[f"{k}_onset_s"])
        for k, v in onsets.items():
            self.series_[f"{k}_onsets_s"] = np.array(v, dtype=np.float64)

    def _estimate(
        self,
        t: NDArray[np.float64],
        flexion_deg: NDArray[np.float64],
        search: NDArray[np.bool_],
        fit_end_s: float,
        rate_hz: float,
    ) -> tuple[float, float, float] | None:
        """(onset_s, duration_s, residual) of the rise of ``flexion_deg`` as the metric
        sees it: low-passed at ``fit_lowpass_hz``, from its peak in ``search`` to its
        trough before ``fit_end_s``."""
        smooth = lowpass(flexion_deg, self.fit_lowpass_hz, rate_hz)
        peak = int(np.flatnonzero(search)[0] + np.argmax(smooth[search]))
        window_ = (t >= t[peak]) & (t <= fit_end_s)
        if window_.sum() < 5:
            return None
        return fit_rise_onset(t[window_], smooth[window_], self.fit_band)

    def _joint_onset(
        self,
        t: NDArray[np.float64],
        raw_deg: NDArray[np.float64],
        flexion_deg: NDArray[np.float64],
        search: NDArray[np.bool_],
        fit_end_s: float,
        v: NDArray[np.float64],
    ) -> tuple[tuple[float, float] | None, str | None]:
        """((onset_s, filter_shift_s), None) or (None, the reason this rise gives no onset).

        ``onset_s`` comes from the ``fit_lowpass_hz`` signal: robust to artefact, but the
        filter moves it earlier by an amount set by the repetition's context (the same for
        both joints, so the lead keeps it out). ``filter_shift_s`` is that shift as seen
        here: the minimum-jerk fit of the ``lowpass_hz`` signal from its own peak, minus
        ``onset_s`` (noisy per rise; the task uses its median).
        """
        rate_hz = rate_of(t)
        excursion = float(np.max(flexion_deg[search]) - np.min(flexion_deg[search]))
        if excursion < self.min_excursion_deg or float(np.max(v[search])) < (
            self.min_velocity_deg_s
        ):
            return None, "no extension"
        seen = self._estimate(t, raw_deg, search, fit_end_s, rate_hz)
        if seen is None:
            return None, "rise could not be fitted"
        onset_s, duration_s, residual = seen
        if residual > self.max_fit_residual:
            return None, "rise is not one smooth extension"
        # the filter's effect on a rise of this duration in a quiet context: it tracks the
        # noise of the fitted duration, so it also steadies the lead
        clean_shift_s, duration_s = filter_correction(
            round(duration_s, 3), round(rate_hz, 1), self.fit_lowpass_hz, tuple(self.fit_band)
        )
        onset_s -= clean_shift_s
        if not self.min_duration_s <= duration_s <= self.max_duration_s:
            return None, f"implausible rise duration {duration_s:.2f} s"
        near = search & (t >= onset_s - 0.3 * duration_s) & (t <= onset_s + 0.5 * duration_s)
        shift_s = 0.0
        if near.sum() >= 3:
            peak = int(np.flatnonzero(near)[0] + np.argmax(flexion_deg[near]))
            window_ = (t >= t[peak]) & (t <= fit_end_s)
            fine = fit_rise_onset(t[window_], flexion_deg[window_], self.fit_band)
            if fine is not None and abs(fine[0] - onset_s) < duration_s:
                shift_s = fine[0] - onset_s
        return (onset_s, shift_s), None

    def _repetition(
        self,
        rep: Repetition,
        t: NDArray[np.float64],
        angles: dict[str, NDArray[np.float64]],
        velocity: dict[str, NDArray[np.float64]],
    ) -> dict[str, Any]:
        # Each joint's rise starts at its own flexion peak, which may sit a little before
        # or after the turning point of the summed flexion used for segmentation.
        search = (t >= rep.turn_s - 0.5 * (rep.turn_s - rep.start_s)) & (t <= rep.end_s)
        out: dict[str, Any] = {
            "start_s": number(rep.start_s),
            "turn_s": number(rep.turn_s),
            "end_s": number(rep.end_s),
        }
        excursion: dict[str, float] = {}
        rises: dict[str, NDArray[np.bool_]] = {}
        reasons: list[str] = []
        for k in ("hip", "lumbar"):
            out[f"{k}_onset_s"] = None
            if k not in angles or search.sum() < 3:
                continue
            first = int(np.flatnonzero(search)[0] + np.argmax(angles[k][search]))
            rise = search.copy()
            rise[:first] = False
            rises[k] = rise
            joint = "lower back" if k == "lumbar" else "hip"
            if rise.sum() < 5:
                reasons.append(f"{joint}: rise too short")
                continue
            a = angles[k][rise]
            excursion[k] = max(0.0, float(a[0] - np.min(a)))
            # the smoothing spreads the rise past the repetition's end: the fit runs on to
            # the smooth signal's own trough (the next descent, if any, starts after it)
            found, reason = self._joint_onset(
                t,
                self._raw_deg[k],
                angles[k],
                search,
                rep.end_s + 1.0 / self.fit_lowpass_hz,
                velocity[k],
            )
            if reason is not None:
                reasons.append(f"{joint}: {reason}")
            if found is not None:
                # raw onset; the task's common filter shift is added in _time_repetitions
                out[f"{k}_onset_s"] = found[0]
                self._shifts.append(found[1])
        hip_on, lumbar_on = out["hip_onset_s"], out["lumbar_onset_s"]
        valid = hip_on is not None and lumbar_on is not None
        out["hip_lead_ms"] = number(1000.0 * (lumbar_on - hip_on), 1) if valid else None
        out["rejected"] = None if valid else ("; ".join(reasons) or "a joint is not measured")
        out["peak_hip_ext_vel_deg_s"] = None
        out["time_to_peak_hip_ext_vel_s"] = None
        if "hip" in rises and rises["hip"].sum() >= 3:
            v = velocity["hip"][rises["hip"]]
            k_peak = int(np.argmax(v))
            out["peak_hip_ext_vel_deg_s"] = number(v[k_peak], 2)
            if hip_on is not None:
                out["time_to_peak_hip_ext_vel_s"] = number(t[rises["hip"]][k_peak] - hip_on)
        out["hip_ext_deg"] = number(excursion.get("hip"), 2)
        out["lumbar_ext_deg"] = number(excursion.get("lumbar"), 2)
        total = excursion.get("hip", 0.0) + excursion.get("lumbar", 0.0)
        out["hip_share_pct"] = (
            number(100.0 * excursion["hip"] / total, 1)
            if "hip" in excursion and "lumbar" in excursion and total > 0.0
            else None
        )
        return out

    def _verdict(self, leads: list[float]) -> tuple[str | None, float | None, float | None]:
        """(verdict, zone half-width ms, IQR ms) of the valid leads."""
        if not leads:
            return None, None, None
        q1, q3 = np.percentile(leads, [25.0, 75.0])
        iqr = float(q3 - q1)
        zone = verdict_zone_ms(iqr, len(leads), self.verdict_floor_ms, self.verdict_se_factor)
        median = float(np.median(leads))
        if len(leads) < self.min_valid_reps:
            return UNCLEAR, zone, iqr
        if median > zone:
            return HIPS_FIRST, zone, iqr
        if median < -zone:
            return BACK_FIRST, zone, iqr
        return UNCLEAR, zone, iqr

    def _task_metrics(self) -> dict[str, Any]:
        """JSON-ready task metrics."""
        shares = [r["hip_share_pct"] for r in self.repetitions_ if r["hip_share_pct"] is not None]
        if not shares:
            self.unavailable_.setdefault(
                "hip_share_pct_median",
                self.unavailable_.get("hip_lead_ms_median", "no repetition with hip and lumbar"),
            )
        leads = [r["hip_lead_ms"] for r in self.repetitions_ if r["hip_lead_ms"] is not None]
        self.valid_rep_count_: int | None = None if self.rep_count_ is None else len(leads)
        self.verdict_, zone, iqr = self._verdict(leads)
        q1 = q3 = None
        if leads:
            q1, q3 = (float(x) for x in np.percentile(leads, [25.0, 75.0]))
        rejected = Counter(r["rejected"] for r in self.repetitions_ if r["rejected"] is not None)
        for key in (
            "hip_lead_verdict",
            "hip_lead_ms_q1",
            "hip_lead_ms_q3",
            "hip_lead_ms_iqr",
            "hip_lead_zone_ms",
        ):
            if not leads:
                self.unavailable_.setdefault(
                    key, self.unavailable_.get("hip_lead_ms_median", "no valid lead")
                )
        if self.rep_count_ is None:
            self.unavailable_.setdefault("valid_rep_count", self.unavailable_["rep_count"])
        return {
            "rep_count": self.rep_count_,
            "valid_rep_count": self.valid_rep_count_,
            "hip_lead_ms_median": number(self.hip_lead_ms_median_, 1),
            "hip_lead_ms_q1": number(q1, 1),
            "hip_lead_ms_q3": number(q3, 1),
            "hip_lead_ms_iqr": number(iqr, 1),
            "hip_lead_zone_ms": number(zone, 1),
            "hip_lead_verdict": self.verdict_,
            "rejected_reps": dict(sorted(rejected.items())),
            "hip_share_pct_median": number(median_or_none(shares), 1),
            "repetitions": self.repetitions_,
        }
