"""Hip drive: does hip extension lead the rise, or does the lower back go first?

Per repetition (hinge, bridge, squat), in the rising phase after the turning point:
- extension velocity = −d/dt of the low-passed flexion angle (hip: thigh on pelvis;
  lumbar: trunk on pelvis);
- detection: the first sample where extension velocity exceeds
  max(``min_velocity_deg_s``, ``peak_fraction`` × the repetition's peak) for at least
  ``min_duration_s`` (docs/DESIGN.md, "Metric definitions"); the 15°/s floor drops to half
  the joint's own peak for small excursions (the lumbar spine in a bridge);
- onset: from that detection, back along the velocity to where it last rose above b and
  4b (b = ``baseline_velocity_deg_s``); a minimum-jerk start (Flash & Hogan 1985) rises
  as v ∝ (t − t0)², so those two times extrapolate to t0. The plain threshold
  crossing comes later for a small, slow movement than for a big, fast one of the same
  start, which would bias hip lead by ~80 ms between a 40° hip and a 20° lumbar rise;
  the back-tracked onset removes that. The threshold crossings are reported too.
- ``hip_lead_ms = lumbar_onset − hip_onset`` (positive: hips lead).
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

from hipscope.processing.algorithm import Algorithm
from hipscope.processing.events.repetitions import Repetition, RepetitionSegmenter
from hipscope.processing.events.signals import crossing_time, fill_nan, lowpass
from hipscope.processing.metrics.common import median_or_none, number, rate_of, window


def _onset(
    time_s: NDArray[np.float64],
    velocity_deg_s: NDArray[np.float64],
    *,
    threshold_deg_s: float,
    min_samples: int,
    baseline_deg_s: float,
) -> tuple[float, float] | None:
    """(onset_s, threshold_crossing_s) of the first sustained run above the threshold."""
    above = velocity_deg_s > threshold_deg_s
    if above.sum() < min_samples:
        return None
    # first index i where above[i : i + min_samples] is all True
    run = np.convolve(above.astype(np.int32), np.ones(min_samples, dtype=np.int32), "valid")
    starts = np.flatnonzero(run == min_samples)
    if starts.shape[0] == 0:
        return None
    i = int(starts[0])
    crossing = crossing_time(time_s, velocity_deg_s, i, threshold_deg_s)

    def back_to(level: float) -> float | None:
        j = i
        while j > 0 and velocity_deg_s[j - 1] > level:
            j -= 1
        return crossing_time(time_s, velocity_deg_s, j, level) if j > 0 else None

    # Minimum-jerk start (Flash & Hogan 1985): v ∝ (t - t0)², so √v is linear in time and
    # the crossings of b and 4b give t0 = t_b - (t_4b - t_b).
    b = min(baseline_deg_s, 0.25 * threshold_deg_s)
    t_low, t_high = back_to(b), back_to(4.0 * b)
    if t_low is None:
        return float(time_s[0]), crossing
    if t_high is None or t_high <= t_low:
        return t_low, crossing
    return t_low - (t_high - t_low), crossing


class HipDrive(Algorithm):
    """Hip-drive timing per repetition.

    Parameters
    ----------
    lowpass_hz
        Low-pass of the flexion angles before differentiating, Hz. Default 6.
    min_velocity_deg_s
        Absolute floor of the detection threshold, deg/s (lowered to half the joint's own
        peak when that is smaller). Default 15.
    min_peak_velocity_deg_s
        A joint whose extension velocity never reaches this in the rise has no onset,
        deg/s. Default 5.
    peak_fraction
        Relative part of the detection threshold (fraction of the repetition's peak
        extension velocity). Default 0.05.
    min_duration_s
        The velocity must stay above the threshold this long, s. Default 0.05.
    baseline_velocity_deg_s
        The onset is extrapolated to zero velocity from where the velocity last rose above
        this and 4 times this before the detection, deg/s. Default 1.5.
    segmenter
        Repetition segmentation; default ``RepetitionSegmenter()``.
    """

    _action_method = "compute"

    def __init__(
        self,
        *,
        lowpass_hz: float = 6.0,
        min_velocity_deg_s: float = 15.0,
        min_peak_velocity_deg_s: float = 5.0,
        peak_fraction: float = 0.05,
        min_duration_s: float = 0.05,
        baseline_velocity_deg_s: float = 1.5,
        segmenter: RepetitionSegmenter = RepetitionSegmenter(),
    ) -> None:
        self.lowpass_hz = lowpass_hz
        self.min_velocity_deg_s = min_velocity_deg_s
        self.min_peak_velocity_deg_s = min_peak_velocity_deg_s
        self.peak_fraction = peak_fraction
        self.min_duration_s = min_duration_s
        self.baseline_velocity_deg_s = baseline_velocity_deg_s
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
        JSON-ready dicts), ``rep_count_``, ``hip_lead_ms_median_``, ``unavailable_``
        (key -> reason), ``series_`` (plots).
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
        for name, value in (("hip", hip_flexion_rad), ("lumbar", lumbar_flexion_rad)):
            if value is None:
                continue
            data = fill_nan(np.asarray(value, dtype=np.float64)[mask])
            if np.isfinite(data).all():
                angles[name] = np.degrees(lowpass(data, self.lowpass_hz, rate_hz))
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
        min_samples = max(1, int(np.ceil(self.min_duration_s * rate_hz)))
        for rep in reps:
            self.repetitions_.append(self._repetition(rep, ti, angles, velocity, min_samples))
        leads = [r["hip_lead_ms"] for r in self.repetitions_ if r["hip_lead_ms"] is not None]
        self.hip_lead_ms_median_ = median_or_none(leads)
        if "hip_lead_ms_median" not in self.unavailable_ and self.hip_lead_ms_median_ is None:
            self.unavailable_["hip_lead_ms_median"] = (
                "no repetition found" if not reps else "no extension onset found"
            )
        onsets = {"hip": [], "lumbar": []}
        for r in self.repetitions_:
            for k in onsets:
                if r[f"{k}_onset_s"] is not None:
                    onsets[k].append(r[f"{k}_onset_s"])
        for k, v in onsets.items():
            self.series_[f"{k}_onsets_s"] = np.array(v, dtype=np.float64)

    def _repetition(
        self,
        rep: Repetition,
        t: NDArray[np.float64],
        angles: dict[str, NDArray[np.float64]],
        velocity: dict[str, NDArray[np.float64]],
        min_samples: int,
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
        for k in ("hip", "lumbar"):
            out[f"{k}_onset_s"] = None
            out[f"{k}_threshold_s"] = None
            if k not in angles or search.sum() < 3:
                continue
            first = int(np.flatnonzero(search)[0] + np.argmax(angles[k][search]))
            rise = search.copy()
            rise[:first] = False
            rises[k] = rise
            tr = t[rise]
            if tr.shape[0] < 3:
                continue
            v = velocity[k][rise]
            peak = float(np.max(v))
            # A small joint excursion (a bridge's ~8° of lumbar extension peaks near 15°/s)
            # lowers the absolute floor to half its own peak.
            floor = min(self.min_velocity_deg_s, 0.5 * peak)
            threshold = max(floor, self.peak_fraction * peak)
            found = None
            if peak >= self.min_peak_velocity_deg_s:
                found = _onset(
                    tr,
                    v,
                    threshold_deg_s=threshold,
                    min_samples=min_samples,
                    baseline_deg_s=self.baseline_velocity_deg_s,
                )
            if found is not None:
                out[f"{k}_onset_s"] = number(found[0])
                out[f"{k}_threshold_s"] = number(found[1])
            a = angles[k][rise]
            excursion[k] = max(0.0, float(a[0] - np.min(a)))
        hip_on, lumbar_on = out["hip_onset_s"], out["lumbar_onset_s"]
        out["hip_lead_ms"] = (
            number(1000.0 * (lumbar_on - hip_on), 1)
            if hip_on is not None and lumbar_on is not None
            else None
        )
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

    def _task_metrics(self) -> dict[str, Any]:
        """JSON-ready task metrics."""
        shares = [r["hip_share_pct"] for r in self.repetitions_ if r["hip_share_pct"] is not None]
        if not shares:
            self.unavailable_.setdefault(
                "hip_share_pct_median",
                self.unavailable_.get("hip_lead_ms_median", "no repetition with hip and lumbar"),
            )
        return {
            "rep_count": self.rep_count_,
            "hip_lead_ms_median": number(self.hip_lead_ms_median_, 1),
            "hip_share_pct_median": number(median_or_none(shares), 1),
            "repetitions": self.repetitions_,
        }
