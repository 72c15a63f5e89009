"""Pelvic stability in single-leg stance: pelvic drop, sway, trunk lean, hold duration.

Signs (docs/DESIGN.md): ``pelvis_obliquity`` is positive when the RIGHT side is lower, so the
drop of the free side is +Δobliquity in left stance and −Δobliquity in right stance.
Trunk lean is the trunk's own frontal-plane inclination relative to world vertical
(``trunk_obliquity``, positive when its right side is lower, i.e. leaning right), so the
lean towards the stance side is +Δobliquity in right stance and −Δobliquity in left
stance. A pelvic drop with a vertical trunk is no lean. The trunk-on-pelvis bend
(``lumbar_lateral_bend``, positive = trunk leaning right on the pelvis) is reported
separately as ``lumbar_lateral_bend_mean_deg`` with that same sign. Sway
uses the horizontal pelvis acceleration split into the pelvis's own anterior-posterior and
mediolateral directions (APDM / Mancini 2012): RMS, path, 95% ellipse area
π·5.991·√(λ1 λ2) of the covariance.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

from hipscope.base.rotations import to_rotation
from hipscope.processing.algorithm import Algorithm
from hipscope.processing.events.signals import fill_nan, lowpass
from hipscope.processing.events.stance import StanceHold
from hipscope.processing.metrics.common import number, rate_of, window

CHI2_95_2DOF = 5.991


def sway_measures(ap_m_s2: NDArray[np.float64], ml_m_s2: NDArray[np.float64]) -> dict[str, float]:
    """RMS (total, AP, ML), path and 95% ellipse area of mean-removed horizontal acceleration."""
    ap = ap_m_s2 - np.mean(ap_m_s2)
    ml = ml_m_s2 - np.mean(ml_m_s2)
    covariance = np.cov(np.vstack([ap, ml]))
    eigen = np.clip(np.linalg.eigvalsh(covariance), 0.0, None)
    path = float(np.sum(np.hypot(np.diff(ap), np.diff(ml))))
    return {
        "sway_rms_m_s2": float(np.sqrt(np.mean(ap**2 + ml**2))),
        "sway_ap_rms_m_s2": float(np.sqrt(np.mean(ap**2))),
        "sway_ml_rms_m_s2": float(np.sqrt(np.mean(ml**2))),
        "sway_path_m_s2": path,
        "sway_ellipse_area_m2_s4": float(np.pi * CHI2_95_2DOF * np.sqrt(eigen[0] * eigen[1])),
    }


def _held_mean(values_deg: NDArray[np.float64], hold: NDArray[np.bool_]) -> float | None:
    held = values_deg[hold]
    held = held[np.isfinite(held)]
    return number(np.mean(held), 2) if held.size else None


class PelvicStability(Algorithm):
    """Metrics of one single-leg stance.

    Parameters
    ----------
    sway_lowpass_hz
        Low-pass of the horizontal pelvis acceleration before the sway measures, Hz.
        Default 3.5 (Mancini 2012).
    hold
        Hold detection; default ``StanceHold()``.
    """

    _action_method = "compute"

    def __init__(self, *, sway_lowpass_hz: float = 3.5, hold: StanceHold = StanceHold()) -> None:
        self.sway_lowpass_hz = sway_lowpass_hz
        self.hold = hold

    def compute(
        self,
        time_s: ArrayLike,
        *,
        stance_side: str,
        start_s: float,
        end_s: float,
        pelvis_obliquity_rad: ArrayLike | None = None,
        free_thigh_sagittal_rad: ArrayLike | None = None,
        trunk_obliquity_rad: ArrayLike | None = None,
        lumbar_lateral_bend_rad: ArrayLike | None = None,
        acc_world_pelvis_m_s2: ArrayLike | None = None,
        q_world_pelvis: ArrayLike | None = None,
        reference_obliquity_rad: float = 0.0,
        reference_trunk_obliquity_rad: float = 0.0,
        reference_lateral_bend_rad: float = 0.0,
    ) -> PelvicStability:
        """Results: ``metrics_`` (JSON-ready), ``unavailable_`` (key -> reason), ``series_``.

        Every mean and peak is over the steady hold (``hold_start_s`` .. ``hold_end_s``).
        """
        t = np.asarray(time_s, dtype=np.float64)
        self.metrics_: dict[str, Any] = {}
        self.unavailable_: dict[str, str] = {}
        self.series_: dict[str, NDArray[np.float64]] = {}
        keys = (
            "pelvic_drop_peak_deg",
            "pelvic_drop_mean_deg",
            "trunk_lean_mean_deg",
            "lumbar_lateral_bend_mean_deg",
            "sway_rms_m_s2",
            "sway_ap_rms_m_s2",
            "sway_ml_rms_m_s2",
            "sway_path_m_s2",
            "sway_ellipse_area_m2_s4",
            "hold_s",
            "hold_start_s",
            "hold_end_s",
        )
        for key in keys:
            self.metrics_[key] = None
        if stance_side not in ("left", "right"):
            for key in keys:
                self.unavailable_[key] = "single-leg stance task has no side"
            return self

        hold = self.hold.clone().detect(t, free_thigh_sagittal_rad, start_s=start_s, end_s=end_s)
        self.metrics_["hold_detection"] = hold.method_
        if hold.method_ == "free thigh" and not hold.found_:
            reason = "free thigh never lifted above the threshold and held still"
            for key in keys:
                self.unavailable_[key] = reason
            return self
        self.metrics_["hold_start_s"] = number(hold.hold_start_s_)
        self.metrics_["hold_end_s"] = number(hold.hold_end_s_)
        self.metrics_["hold_s"] = number(hold.hold_end_s_ - hold.hold_start_s_)
        if hold.method_ == "task window":
            self.unavailable_["hold_s"] = "no free-thigh sensor: the hold is the task window"
            self.metrics_["hold_s"] = None

        mask = window(t, hold.hold_start_s_, hold.hold_end_s_)
        task_mask = window(t, start_s, end_s)
        if mask.sum() < 3:
            for key in keys:
                self.unavailable_.setdefault(key, "hold too short")
                self.metrics_[key] = None
            return self
        rate_hz = rate_of(t[task_mask])
        self.series_["time_s"] = t[task_mask]

        if pelvis_obliquity_rad is not None:
            obliquity = np.asarray(pelvis_obliquity_rad, dtype=np.float64) - reference_obliquity_rad
            sign = 1.0 if stance_side == "left" else -1.0
            drop = np.degrees(sign * obliquity)
            self.series_["pelvic_drop_deg"] = drop[task_mask]
            held = drop[mask]
            held = held[np.isfinite(held)]
            if held.size:
                self.metrics_["pelvic_drop_peak_deg"] = number(np.max(held), 2)
                self.metrics_["pelvic_drop_mean_deg"] = number(np.mean(held), 2)
        for key in ("pelvic_drop_peak_deg", "pelvic_drop_mean_deg"):
            if self.metrics_[key] is None:
                self.unavailable_.setdefault(key, "no pelvis obliquity (needs a pelvis sensor)")

        if trunk_obliquity_rad is not None:
            trunk = (
                np.asarray(trunk_obliquity_rad, dtype=np.float64) - reference_trunk_obliquity_rad
            )
            sign = 1.0 if stance_side == "right" else -1.0
            lean = np.degrees(sign * trunk)
            self.series_["trunk_lean_deg"] = lean[task_mask]
            self.metrics_["trunk_lean_mean_deg"] = _held_mean(lean, mask)
        if self.metrics_["trunk_lean_mean_deg"] is None:
            self.unavailable_.setdefault(
                "trunk_lean_mean_deg", "no trunk obliquity (needs a trunk sensor)"
            )
        if lumbar_lateral_bend_rad is not None:
            bend = np.degrees(
                np.asarray(lumbar_lateral_bend_rad, dtype=np.float64) - reference_lateral_bend_rad
            )
            self.series_["lumbar_lateral_bend_deg"] = bend[task_mask]
            self.metrics_["lumbar_lateral_bend_mean_deg"] = _held_mean(bend, mask)
        if self.metrics_["lumbar_lateral_bend_mean_deg"] is None:
            self.unavailable_.setdefault(
                "lumbar_lateral_bend_mean_deg",
                "no lumbar lateral bend (needs pelvis and trunk sensors)",
            )

        sway_keys = [k for k in keys if k.startswith("sway_")]
        if acc_world_pelvis_m_s2 is not None and q_world_pelvis is not None:
            acc = fill_nan(np.asarray(acc_world_pelvis_m_s2, dtype=np.float64)[task_mask])
            q = np.asarray(q_world_pelvis, dtype=np.float64)[mask]
            good = np.isfinite(q).all(axis=1)
            if np.isfinite(acc).all() and good.sum() >= 3:
                acc = lowpass(acc, self.sway_lowpass_hz, rate_hz)
                acc = acc[mask[task_mask]]
                forward = to_rotation(q[good]).apply(np.array([1.0, 0.0, 0.0]))
                heading = np.arctan2(np.mean(forward[:, 1]), np.mean(forward[:, 0]))
                ap_dir = np.array([np.cos(heading), np.sin(heading)])
                ml_dir = np.array([-np.sin(heading), np.cos(heading)])
                ap = acc[:, :2] @ ap_dir
                ml = acc[:, :2] @ ml_dir
                for key, value in sway_measures(ap, ml).items():
                    self.metrics_[key] = number(value, 5)
        for key in sway_keys:
            if self.metrics_[key] is None:
                self.unavailable_.setdefault(key, "no pelvis acceleration (needs a pelvis sensor)")
        return self
