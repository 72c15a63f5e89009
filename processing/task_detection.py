"""Automatic task detection: which tasks a session holds, found from the kinematics alone.

Each kind is found from a signal with a physical reason, on the session kinematics of
``hipscope.processing.kinematics.compute_kinematics``:

- **activity**: every boundary sits where the body stops or starts moving. Activity is the
  larger of the moving RMS of the angular rate of every segment and of the pelvis
  acceleration (its slow part removed, so a small tilt error of the fusion does not count
  as motion), each divided by its stillness threshold; below 1 the athlete is still.
- **repetition blocks**: both hips flexed together (the smaller of the two hip flexions
  above ``rep_flexion_deg``) while the pelvis is not lying supine is one hinge or squat
  repetition; the thighs' inclination at the deepest point tells them apart (a hinge
  keeps the shins and thighs near vertical while the trunk tips forward, a squat brings
  the thighs towards horizontal). Lying supine (the pelvis tipped backwards past
  ``supine_deg``), the hips extending from the lying rest is one bridge repetition.
  Repetitions of one kind less than ``rep_gap_s`` apart form one block.
- **single-leg stance**: one thigh flexed ``lift_deg`` more than the other for at least
  ``min_hold_s``; the lifted thigh is the free side, the other the stance side.
- **walking**: a step rhythm, i.e. the autocorrelation of the pelvis's vertical
  acceleration peaks at a step lag of ``step_lag_s`` with at least ``min_step_correlation``
  (and, with both thigh sensors, the thighs swing in anti-phase). Bouts closer than
  ``gait_gap_s`` (a turn) are joined.
- **quiet standing**: still, upright and both hips near neutral for at least
  ``min_static_s``.

A task found from a core (repetitions, lifted thigh, step rhythm) is widened to the
activity on each side: it starts where the athlete started moving before the core and
ends where they were still again after it. Quiet standing cannot be told apart from rest
between tasks, so every still, upright stretch long enough is reported as ``static``.

A recording with the pelvis sensor only gives walking bouts and quiet standing; single-leg
stance and repetition blocks need both thigh sensors (``notes_`` says so).
See docs/DESIGN.md, "Task detection".
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from itertools import pairwise

import numpy as np
from numpy.typing import NDArray
from scipy.ndimage import median_filter

from hipscope.acquisition.samples import Task
from hipscope.processing.algorithm import Algorithm
from hipscope.processing.events.signals import bandpass, fill_nan, lowpass, runs
from hipscope.processing.kinematics import SessionKinematics

SOURCE_DETECTED = "detected"
SOURCE_RECORDED = "recorded"
GRAVITY_M_S2 = 9.81

Mask = NDArray[np.bool_]
Floats = NDArray[np.float64]


@dataclass(frozen=True)
class DetectedTask:
    """One task found in the kinematics: the task row, a confidence in [0, 1] and why."""

    task: Task
    confidence: float
    evidence: str


class TaskDetector(Algorithm):
    """Find quiet standing, single-leg stance, repetition blocks and walking bouts.

    Parameters
    ----------
    smooth_s
        Window of the moving RMS that makes the activity signal (s, 0.25).
    still_gyr_rad_s
        Angular rate of any segment below which it counts as still (rad/s, 0.15).
    still_acc_m_s2
        Pelvis acceleration (slow part removed) below which it counts as still (m/s², 0.15).
    close_gap_s
        Shorter still or active flickers are bridged (s, 0.2).
    max_widen_s
        A task reaches at most this far beyond its core (repetitions, lifted thigh, step
        rhythm) into the movement around it: a weight shift or the first descent, not an
        athlete fidgeting before the task (s, 2.0).
    min_static_s
        Shortest quiet standing reported (s, 3.0).
    standing_hip_deg
        Both hips within this of neutral in quiet standing (degrees, 15.0).
    upright_deg
        Pelvis tilted less than this in quiet standing (degrees, 25.0).
    supine_deg
        Pelvis tipped backwards by more than this is lying supine (degrees, 70.0).
    rep_flexion_deg
        Both hips flexed more than this is one hinge or squat repetition; the hips extended
        this far from the lying rest is one bridge repetition (degrees, 25.0).
    min_rep_s
        Shortest repetition core (s, 0.3).
    rep_gap_s
        Repetitions closer than this belong to one block (s, 4.0).
    squat_thigh_deg
        Thigh inclination at the deepest point above which a repetition is a squat
        rather than a hinge (degrees, 45.0).
    lift_deg
        One hip flexed this much more than the other is a lifted free leg (degrees, 20.0).
    min_hold_s
        Shortest single-leg stance core (s, 1.0).
    gait_window_s
        Window of the step-rhythm autocorrelation (s, 3.0).
    step_lag_s
        Range of step times searched (s, (0.35, 0.9)).
    min_step_correlation
        Smallest autocorrelation peak at the step lag that counts as walking (0.35).
    min_gait_acc_m_s2
        Smallest RMS of the band-passed vertical pelvis acceleration in walking (m/s², 0.4).
    gait_gap_s
        Walking bouts closer than this are one bout (a turn between them) (s, 2.5).
    min_gait_s
        Shortest walking bout reported (s, 3.0).
    turn_s
        Walking bouts apart by at most this long, with no still moment between them, are
        one bout (a turn breaks the step rhythm) (s, 5.0).
    gait_edge_activity
        A walking bout ends where the activity falls below this many times the stillness
        thresholds: walking shakes the pelvis far more than shifting on the spot does
        (3.0).
    """

    _action_method = "detect"

    def __init__(
        self,
        smooth_s: float = 0.25,
        still_gyr_rad_s: float = 0.15,
        still_acc_m_s2: float = 0.15,
        close_gap_s: float = 0.2,
        max_widen_s: float = 2.0,
        min_static_s: float = 3.0,
        standing_hip_deg: float = 15.0,
        upright_deg: float = 25.0,
        supine_deg: float = 70.0,
        rep_flexion_deg: float = 25.0,
        min_rep_s: float = 0.3,
        rep_gap_s: float = 4.0,
        squat_thigh_deg: float = 45.0,
        lift_deg: float = 20.0,
        min_hold_s: float = 1.0,
        gait_window_s: float = 3.0,
        step_lag_s: tuple[float, float] = (0.35, 0.9),
        min_step_correlation: float = 0.5,
        min_gait_acc_m_s2: float = 0.4,
        gait_gap_s: float = 2.5,
        min_gait_s: float = 3.0,
        turn_s: float = 5.0,
        gait_edge_activity: float = 5.0,
    ) -> None:
        self.smooth_s = smooth_s
        self.still_gyr_rad_s = still_gyr_rad_s
        self.still_acc_m_s2 = still_acc_m_s2
        self.close_gap_s = close_gap_s
        self.max_widen_s = max_widen_s
        self.min_static_s = min_static_s
        self.standing_hip_deg = standing_hip_deg
        self.upright_deg = upright_deg
        self.supine_deg = supine_deg
        self.rep_flexion_deg = rep_flexion_deg
        self.min_rep_s = min_rep_s
        self.rep_gap_s = rep_gap_s
        self.squat_thigh_deg = squat_thigh_deg
        self.lift_deg = lift_deg
        self.min_hold_s = min_hold_s
        self.gait_window_s = gait_window_s
        self.step_lag_s = step_lag_s
        self.min_step_correlation = min_step_correlation
        self.min_gait_acc_m_s2 = min_gait_acc_m_s2
        self.gait_gap_s = gait_gap_s
        self.min_gait_s = min_gait_s
        self.turn_s = turn_s
        self.gait_edge_activity = gait_edge_activity

    def detect(
        self,
        time_s: Floats,
        rate_hz: float,
        *,
        angles_rad: Mapping[str, Floats],
        gyr_segment_rad_s: Mapping[str, Floats],
        acc_world_pelvis_m_s2: Floats | None,
    ) -> TaskDetector:
        """Find the tasks on a uniform grid ``time_s`` at ``rate_hz`` from the named angles,
        every segment's angular rate (N, 3) and the pelvis acceleration in the world frame
        (N, 3, z up) (the fields of ``SessionKinematics``; ``detect_tasks`` passes them).

        Results: ``tasks_`` (time order), ``notes_`` (what could not be looked for),
        ``activity_`` (the activity signal; below 1 = still)."""
        self.notes_: list[str] = []
        self.tasks_: list[DetectedTask] = []
        rate = float(rate_hz)
        n = len(time_s)
        self.activity_ = _activity(
            n,
            rate,
            gyr_segment_rad_s,
            acc_world_pelvis_m_s2,
            self.smooth_s,
            self.still_gyr_rad_s,
            self.still_acc_m_s2,
        )
        if n < 2 or acc_world_pelvis_m_s2 is None or "pelvis_tilt" not in angles_rad:
            self.notes_.append("task detection needs the pelvis sensor: no tasks detected")
            return self
        gap = round(self.close_gap_s * rate)
        active = ~_close(~_close(self.activity_ >= 1.0, gap), gap)
        walking = _close(self.activity_ >= self.gait_edge_activity, gap)
        taken = np.zeros(n, dtype=bool)
        found: list[tuple[int, int, str, str, float, str]] = []

        def add(i0: int, i1: int, kind: str, side: str, conf: float, why: str) -> None:
            mask = walking if kind == "gait" else active
            i0, i1 = _widen(mask, i0, i1, taken, round(self.max_widen_s * rate))
            if i1 - i0 < 2:
                return
            taken[i0:i1] = True
            found.append((i0, i1, kind, side, conf, why))

        angle = {name: fill_nan(v) for name, v in angles_rad.items() if np.isfinite(v).any()}
        pelvis_tilt_deg = np.degrees(angle.get("pelvis_tilt", np.zeros(n)))
        hips = "hip_flexion_left" in angle and "hip_flexion_right" in angle
        if hips:
            hip_l = np.degrees(lowpass(angle["hip_flexion_left"], 4.0, rate))
            hip_r = np.degrees(lowpass(angle["hip_flexion_right"], 4.0, rate))
            for block in self._repetitions(rate, hip_l, hip_r, pelvis_tilt_deg, angle):
                add(*block)
            for stance in self._single_leg_stances(rate, hip_l, hip_r, pelvis_tilt_deg, taken):
                add(*stance)
        else:
            self.notes_.append(
                "single-leg stance and repetition blocks need both thigh sensors: "
                "only walking and quiet standing were looked for"
            )
        for bout in self._walking(rate, acc_world_pelvis_m_s2, angle, taken):
            add(*bout)
        standing = np.abs(pelvis_tilt_deg) < self.upright_deg
        if hips:
            standing &= (np.abs(hip_l) < self.standing_hip_deg) & (
                np.abs(hip_r) < self.standing_hip_deg
            )
        still = ~active & standing & ~taken
        for i0, i1 in runs(still):
            if (i1 - i0) / rate >= self.min_static_s:
                margin = float(np.median(self.activity_[i0:i1]))
                conf = float(np.clip(1.0 - margin, 0.0, 1.0))
                found.append((i0, i1, "static", "", conf, "still and upright"))
        found.sort()
        last = n - 1
        self.tasks_ = [
            DetectedTask(
                Task(kind, side, float(time_s[i0]), float(time_s[min(i1, last)])),
                round(conf, 3),
                why,
            )
            for i0, i1, kind, side, conf, why in found
        ]
        return self

    def _repetitions(
        self,
        rate: float,
        hip_l: Floats,
        hip_r: Floats,
        pelvis_tilt_deg: Floats,
        angle: dict[str, Floats],
    ) -> list[tuple[int, int, str, str, float, str]]:
        """Repetition cores, classified one by one, grouped into blocks of one kind."""
        hip_min = np.minimum(hip_l, hip_r)
        hip_mean = 0.5 * (hip_l + hip_r)
        supine = _close(pelvis_tilt_deg < -self.supine_deg, round(0.5 * rate))
        min_len = round(self.min_rep_s * rate)
        reps: list[tuple[int, int, str, float]] = []
        # a hinge or squat tips the pelvis forwards, never backwards (lying down does)
        forwards = pelvis_tilt_deg > -self.upright_deg
        for i0, i1 in runs(~supine & forwards & (hip_min > self.rep_flexion_deg)):
            if i1 - i0 < min_len:
                continue
            deepest = i0 + int(np.argmax(hip_mean[i0:i1]))
            thigh = _thigh_inclination_deg(angle, deepest)
            if thigh is None:  # sagittal plane: thigh inclination = hip flexion - pelvis tilt
                thigh = float(hip_mean[deepest] - pelvis_tilt_deg[deepest])
            kind = "squat" if thigh > self.squat_thigh_deg else "hip_hinge"
            margin = abs(thigh - self.squat_thigh_deg) / self.squat_thigh_deg
            reps.append((i0, i1, kind, 0.5 + 0.5 * min(1.0, 2.0 * margin)))
        for s0, s1 in runs(supine):
            rest = float(np.percentile(hip_mean[s0:s1], 90))
            extended = hip_mean[s0:s1] < rest - self.rep_flexion_deg
            for i0, i1 in runs(extended):
                if i1 - i0 >= min_len:
                    tipped = float(-np.median(pelvis_tilt_deg[s0 + i0 : s0 + i1]))
                    conf = 0.5 + 0.5 * min(1.0, (tipped - self.supine_deg) / 20.0 + 0.5)
                    reps.append((s0 + i0, s0 + i1, "hip_bridge", conf))
        reps.sort()
        blocks: list[tuple[int, int, str, str, float, str]] = []
        gap = round(self.rep_gap_s * rate)
        group: list[tuple[int, int, str, float]] = []
        for rep in [*reps, None]:
            if group and (rep is None or rep[2] != group[-1][2] or rep[0] - group[-1][1] > gap):
                kind = group[0][2]
                conf = float(np.mean([g[3] for g in group]))
                why = f"{len(group)} repetitions ({_REP_EVIDENCE[kind]})"
                blocks.append((group[0][0], group[-1][1], kind, "", conf, why))
                group = []
            if rep is not None:
                group.append(rep)
        return blocks

    def _single_leg_stances(
        self,
        rate: float,
        hip_l: Floats,
        hip_r: Floats,
        pelvis_tilt_deg: Floats,
        taken: Mask,
    ) -> list[tuple[int, int, str, str, float, str]]:
        upright = np.abs(pelvis_tilt_deg) < self.upright_deg
        out = []
        for free, stance, diff in (
            ("right", "left", hip_r - hip_l),
            ("left", "right", hip_l - hip_r),
        ):
            for i0, i1 in runs(upright & ~taken & (diff > self.lift_deg)):
                if (i1 - i0) / rate < self.min_hold_s:
                    continue
                lift = float(np.median(diff[i0:i1]))
                conf = 0.5 + 0.5 * min(1.0, (lift - self.lift_deg) / self.lift_deg)
                why = f"{free} thigh lifted {lift:.0f}° for {(i1 - i0) / rate:.1f} s"
                out.append((i0, i1, "single_leg_stance", stance, conf, why))
        return out

    def _walking(
        self, rate: float, acc: Floats, angle: dict[str, Floats], taken: Mask
    ) -> list[tuple[int, int, str, str, float, str]]:
        if not np.isfinite(acc[:, 2]).any():
            self.notes_.append("walking needs the pelvis acceleration: not looked for")
            return []
        vertical = bandpass(fill_nan(acc[:, 2]), 0.5, 5.0, rate)
        vertical[taken] = 0.0
        thighs = None
        if "thigh_sagittal_left" in angle and "thigh_sagittal_right" in angle:
            thighs = (
                np.gradient(lowpass(angle["thigh_sagittal_left"], 3.0, rate)),
                np.gradient(lowpass(angle["thigh_sagittal_right"], 3.0, rate)),
            )
        win = round(self.gait_window_s * rate)
        hop = max(1, round(0.1 * rate))
        lag0, lag1 = (round(x * rate) for x in self.step_lag_s)
        n = len(vertical)
        score = np.zeros(n)
        rhythmic = np.zeros(n, dtype=bool)
        if n < win or lag1 + 2 >= win:
            return []
        for start in range(0, n - win + 1, hop):
            seg = vertical[start : start + win]
            if np.sqrt(np.mean(seg**2)) < self.min_gait_acc_m_s2:
                continue
            r = _autocorrelation(seg, lag1 + 2)
            inner = r[lag0 : lag1 + 1]
            k = int(np.argmax(inner)) + lag0
            is_peak = r[k] >= r[k - 1] and r[k] >= r[k + 1] and lag0 < k < lag1
            if not is_peak or r[k] < self.min_step_correlation:
                continue
            if thighs is not None:
                vl, vr = thighs[0][start : start + win], thighs[1][start : start + win]
                if np.corrcoef(vl, vr)[0, 1] > -0.2:
                    continue
            centre = slice(start + win // 2 - hop, start + win // 2 + hop)
            rhythmic[centre] = True
            score[centre] = np.maximum(score[centre], r[k])
        rhythmic = _close(rhythmic, round(self.gait_gap_s * rate))
        # rhythm broken by a turn, with no still moment in it, is still one walk
        still = self.activity_ < 1.0
        spans = runs(rhythmic & ~taken)
        joined: list[tuple[int, int]] = []
        for i0, i1 in spans:
            if joined and (i0 - joined[-1][1]) / rate <= self.turn_s:
                if not still[joined[-1][1] : i0].any():
                    joined[-1] = (joined[-1][0], i1)
                    continue
            joined.append((i0, i1))
        out = []
        for i0, i1 in joined:
            # a window centred in the standing next to a walk may still show the rhythm:
            # keep the moving part; the caller widens it to where the walk starts and ends
            j0, j1 = _trim_to(self.activity_ >= self.gait_edge_activity, i0, i1)
            if (j1 - j0) / rate < self.min_gait_s:
                continue
            conf = float(np.clip(np.max(score[i0:i1]), 0.0, 1.0))
            why = f"step rhythm (autocorrelation {conf:.2f})"
            out.append((j0, j1, "gait", "", conf, why))
        return out


_REP_EVIDENCE = {
    "hip_hinge": "both hips flexed, thighs near vertical",
    "squat": "both hips flexed, thighs towards horizontal",
    "hip_bridge": "lying supine, hips extending",
}


def _thigh_inclination_deg(angle: dict[str, Floats], index: int) -> float | None:
    values = [
        float(np.degrees(angle[name][index]))
        for name in ("thigh_sagittal_left", "thigh_sagittal_right")
        if name in angle
    ]
    return float(np.mean(values)) if values else None


def _moving_rms(x: Floats, width: int) -> Floats:
    width = max(1, width)
    kernel = np.ones(width) / width
    return np.sqrt(np.convolve(x**2, kernel, mode="same"))


def _activity(
    n: int,
    rate: float,
    gyr_segment_rad_s: Mapping[str, Floats],
    acc: Floats | None,
    smooth_s: float,
    still_gyr_rad_s: float,
    still_acc_m_s2: float,
) -> Floats:
    """Largest of every segment's angular rate and the pelvis acceleration, each over its
    stillness threshold, as a moving RMS (NaN samples count as still)."""
    width = round(smooth_s * rate)
    out = np.zeros(n)
    for gyr in gyr_segment_rad_s.values():
        rate_norm = np.nan_to_num(np.linalg.norm(gyr, axis=1))
        out = np.maximum(out, _moving_rms(rate_norm, width) / still_gyr_rad_s)
    if acc is not None and np.isfinite(acc).any():
        filled = fill_nan(acc)
        # a moving median keeps the slow part (a tilt error) without smearing a movement
        # into the stillness around it, as a moving mean or a high-pass would
        slow = median_filter(filled, size=(max(1, round(2.0 * rate)), 1), mode="nearest")
        fast = np.linalg.norm(filled - slow, axis=1)
        out = np.maximum(out, _moving_rms(fast, width) / still_acc_m_s2)
    return out


def _close(mask: Mask, max_gap: int) -> Mask:
    """Fill False gaps of at most ``max_gap`` samples between True runs."""
    out = np.asarray(mask, dtype=bool).copy()
    spans = runs(out)
    for (_, a1), (b0, _) in pairwise(spans):
        if b0 - a1 <= max_gap:
            out[a1:b0] = True
    return out


def _widen(active: Mask, i0: int, i1: int, taken: Mask, most: int) -> tuple[int, int]:
    """Extend [i0, i1) outwards through active samples, by at most ``most`` samples on each
    side and not into another task."""
    n = len(active)
    lo, hi = max(0, i0 - most), min(n, i1 + most)
    while i0 > lo and active[i0 - 1] and not taken[i0 - 1]:
        i0 -= 1
    while i1 < hi and active[i1] and not taken[i1]:
        i1 += 1
    return i0, i1


def _trim_to(active: Mask, i0: int, i1: int) -> tuple[int, int]:
    """The span from the first to the last active sample inside [i0, i1)."""
    inside = np.flatnonzero(active[i0:i1])
    if inside.size == 0:
        return i0, i0
    return i0 + int(inside[0]), i0 + int(inside[-1]) + 1


def _autocorrelation(x: Floats, max_lag: int) -> Floats:
    """Normalised (unbiased) autocorrelation of a window for lags 0..max_lag."""
    x = x - np.mean(x)
    energy = float(np.dot(x, x))
    if energy <= 0.0:
        return np.zeros(max_lag + 1)
    n = len(x)
    full = np.correlate(x, x, mode="full")[n - 1 : n + max_lag]
    return full / energy * n / (n - np.arange(max_lag + 1))


def detect_tasks(kin: SessionKinematics, detector: TaskDetector | None = None) -> TaskDetector:
    """Run (a clone of) ``detector`` (default parameters if None) on session kinematics."""
    return (
        (detector or TaskDetector())
        .clone()
        .detect(
            kin.time_s,
            kin.rate_hz,
            angles_rad=kin.angles_rad,
            gyr_segment_rad_s=kin.gyr_segment_rad_s,
            acc_world_pelvis_m_s2=kin.acc_world_m_s2.get("pelvis"),
        )
    )
