"""Plot-ready traces for the report, from a task's ``series`` or, failing that, from kinematics.

The pipeline's ``TaskAnalysis.series`` is the first choice; when a series is missing (an
older pipeline, a metrics JSON without arrays) the traces are rebuilt from the session
kinematics and the task's typed metrics (``processing/contract.py``), so the report always
shows what the data allow.
Everything returned is in display units (degrees, seconds relative to the task start).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from hipscope.processing.contract import (
    GaitMetrics,
    HipDriveMetrics,
    SingleLegStanceMetrics,
    TaskResult,
)

Array = NDArray[np.float64]


@dataclass(frozen=True)
class StanceTrace:
    """Pelvic drop over one single-leg stance (positive = free side lower)."""

    side: str
    time_s: Array  # relative to the task start
    pelvic_drop_deg: Array
    hold_start_s: float | None
    hold_end_s: float | None
    trunk_lean_deg: Array | None = None  # towards the stance side positive


@dataclass(frozen=True)
class RepTrace:
    """One repetition: hip and lumbar flexion angles and extension velocities."""

    index: int
    time_s: Array  # relative to the hip-extension onset
    hip_flexion_deg: Array
    lumbar_flexion_deg: Array
    hip_ext_vel_deg_s: Array
    lumbar_ext_vel_deg_s: Array
    lumbar_onset_s: float | None  # relative to the hip-extension onset


@dataclass(frozen=True)
class StepSeries:
    """Step times per side over the walk: contact time (session clock) and step duration."""

    contact_time_s: dict[str, Array]
    step_time_s: dict[str, Array]


def _array(value: Any) -> Array | None:
    if value is None:
        return None
    try:
        array = np.asarray(value, dtype=float)
    except (TypeError, ValueError):
        return None
    return array if array.ndim == 1 and array.size else None


def _first(series: Mapping[str, Any], *keys: str) -> Array | None:
    for key in keys:
        if key in series:
            array = _array(series[key])
            if array is not None:
                return array
    return None


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    value = float(value)
    return value if np.isfinite(value) else None


def _window(kin: Any, start_s: float, end_s: float) -> NDArray[np.bool_]:
    time_s = np.asarray(kin.time_s, dtype=float)
    return (time_s >= start_s) & (time_s <= end_s)


def stance_trace(
    task: TaskResult, series: Mapping[str, Any] | None, kinematics: Any | None
) -> StanceTrace | None:
    """The pelvic-drop trace of one single-leg-stance task."""
    side = task.side
    if task.start_s is None or task.end_s is None:
        return None
    start_s, end_s = task.start_s, task.end_s
    metrics = task.metrics
    stance = metrics if isinstance(metrics, SingleLegStanceMetrics) else None
    hold_start = _number(stance.hold_start_s) if stance else None
    hold_end = _number(stance.hold_end_s) if stance else None
    time_s = drop_deg = lean_deg = None
    if series:
        time_s = _first(series, "time_s", "t_s")
        drop_deg = _first(series, "pelvic_drop_deg", "drop_deg")
        lean_deg = _first(series, "trunk_lean_deg")
        if time_s is not None and drop_deg is not None and time_s.size == drop_deg.size:
            # series may come on the session clock or relative to the task start
            if time_s[0] >= start_s - 1e-6 and time_s[-1] > start_s:
                time_s = time_s - start_s
            if lean_deg is not None and lean_deg.size != time_s.size:
                lean_deg = None
        else:
            time_s = drop_deg = lean_deg = None
    if time_s is None and kinematics is not None:
        obliquity = kinematics.angles_rad.get("pelvis_obliquity")
        if obliquity is not None and side in ("left", "right"):
            mask = _window(kinematics, start_s, end_s)
            sign = 1.0 if side == "left" else -1.0
            time_s = np.asarray(kinematics.time_s, dtype=float)[mask] - start_s
            drop_deg = sign * np.degrees(np.asarray(obliquity, dtype=float)[mask])
    if time_s is None or drop_deg is None or time_s.size == 0:
        return None
    return StanceTrace(
        side=side,
        time_s=time_s,
        pelvic_drop_deg=drop_deg,
        hold_start_s=None if hold_start is None else hold_start - start_s,
        hold_end_s=None if hold_end is None else hold_end - start_s,
        trunk_lean_deg=lean_deg,
    )


def _hip_flexion_rad(kinematics: Any) -> Array | None:
    angles = kinematics.angles_rad
    sides = [
        np.asarray(angles[k], dtype=float)
        for k in ("hip_flexion_left", "hip_flexion_right")
        if k in angles
    ]
    if not sides:
        return None
    stacked = np.vstack(sides)
    with np.errstate(invalid="ignore"):
        count = np.sum(np.isfinite(stacked), axis=0)
        total = np.nansum(stacked, axis=0)
    return np.where(count > 0, total / np.maximum(count, 1), np.nan)


def rep_traces(
    task: TaskResult,
    series: Mapping[str, Any] | None,
    kinematics: Any | None,
    *,
    before_s: float = 1.2,
    after_s: float = 1.6,
) -> list[RepTrace]:
    """Per-repetition hip and lumbar traces aligned on each hip-extension onset."""
    metrics = task.metrics
    reps = metrics.repetitions if isinstance(metrics, HipDriveMetrics) else []
    if not reps:
        return []
    time_s = hip = lumbar = hip_vel = lumbar_vel = None
    if series:
        time_s = _first(series, "time_s", "t_s")
        hip = _first(series, "hip_flexion_deg", "hip_deg", "hip_angle_deg")
        lumbar = _first(series, "lumbar_flexion_deg", "lumbar_deg", "lumbar_angle_deg")
        if (
            time_s is None
            or hip is None
            or lumbar is None
            or not (time_s.size == hip.size == lumbar.size)
        ):
            time_s = hip = lumbar = None
        else:
            # the pipeline's velocities are low-passed; prefer them to a raw gradient
            hip_vel = _first(series, "hip_ext_vel_deg_s")
            lumbar_vel = _first(series, "lumbar_ext_vel_deg_s")
    if time_s is None and kinematics is not None:
        hip_rad = _hip_flexion_rad(kinematics)
        lumbar_rad = kinematics.angles_rad.get("lumbar_flexion")
        if hip_rad is not None and lumbar_rad is not None:
            time_s = np.asarray(kinematics.time_s, dtype=float)
            hip = np.degrees(hip_rad)
            lumbar = np.degrees(np.asarray(lumbar_rad, dtype=float))
    if time_s is None or hip is None or lumbar is None or time_s.size < 3:
        return []
    dt = np.gradient(time_s)
    if hip_vel is None or hip_vel.size != time_s.size:
        hip_vel = -np.gradient(hip) / dt
    if lumbar_vel is None or lumbar_vel.size != time_s.size:
        lumbar_vel = -np.gradient(lumbar) / dt
    traces: list[RepTrace] = []
    for index, rep in enumerate(reps, start=1):
        hip_onset = _number(rep.hip_onset_s)
        lumbar_onset = _number(rep.lumbar_onset_s)
        anchor = hip_onset if hip_onset is not None else lumbar_onset
        if anchor is None:
            continue
        mask = (time_s >= anchor - before_s) & (time_s <= anchor + after_s)
        if mask.sum() < 3:
            continue
        traces.append(
            RepTrace(
                index=index,
                time_s=time_s[mask] - anchor,
                hip_flexion_deg=hip[mask],
                lumbar_flexion_deg=lumbar[mask],
                hip_ext_vel_deg_s=hip_vel[mask],
                lumbar_ext_vel_deg_s=lumbar_vel[mask],
                lumbar_onset_s=None
                if lumbar_onset is None or hip_onset is None
                else lumbar_onset - hip_onset,
            )
        )
    return traces


def step_series(metrics: GaitMetrics, *, max_step_s: float = 2.0) -> StepSeries | None:
    """Step times from the initial contacts: a left step ends at a left contact and starts
    at the previous right contact (and vice versa); pauses longer than ``max_step_s`` skip."""
    left = _array(metrics.initial_contacts_left_s)
    right = _array(metrics.initial_contacts_right_s)
    if left is None or right is None:
        return None
    contacts = np.concatenate([left, right])
    sides = np.concatenate([np.zeros(left.size, int), np.ones(right.size, int)])
    order = np.argsort(contacts, kind="stable")
    contacts, sides = contacts[order], sides[order]
    result_t: dict[str, list[float]] = {"left": [], "right": []}
    result_step: dict[str, list[float]] = {"left": [], "right": []}
    for i in range(1, contacts.size):
        step = contacts[i] - contacts[i - 1]
        if sides[i] == sides[i - 1] or not 0.0 < step <= max_step_s:
            continue
        name = "left" if sides[i] == 0 else "right"
        result_t[name].append(float(contacts[i]))
        result_step[name].append(float(step))
    if not result_t["left"] and not result_t["right"]:
        return None
    return StepSeries(
        contact_time_s={k: np.asarray(v) for k, v in result_t.items()},
        step_time_s={k: np.asarray(v) for k, v in result_step.items()},
    )
