"""The offline algorithms applied to the live ring buffers (hip drive, gait steps).

The same algorithm objects the session analysis uses, run on the angles buffered since
the task started; the live numbers and the review numbers therefore agree in definition.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from hipscope.base import tasks as task_registry
from hipscope.gui.hub import DataHub


def _angles(
    hub: DataHub, names: tuple[str, ...], start_s: float, end_s: float
) -> tuple[NDArray, dict[str, NDArray]]:
    """Angles on their shared time grid (buffers filled together share time stamps)."""
    time_s: NDArray = np.empty(0)
    out: dict[str, NDArray] = {}
    for name in names:
        t, values = hub.angle_window(name, start_s, end_s)
        if t.size < 10:
            continue
        if time_s.size == 0:
            time_s = t
        if t.size != time_s.size:
            values = np.interp(time_s, t, values)
        out[name] = values.astype(np.float64)
    return time_s, out


def live_hip_drive(
    hub: DataHub, kind: str, start_s: float, now_s: float
) -> tuple[int | None, float | None]:
    """(repetitions so far, hip lead of the last repetition in ms) for a running rep task."""
    from hipscope.processing.metrics.hip_drive import HipDrive

    names = ("hip_flexion_left", "hip_flexion_right", "lumbar_flexion")
    time_s, angles = _angles(hub, names, start_s, now_s)
    if time_s.size < 10:
        return None, None
    hips = [angles[n] for n in names[:2] if n in angles]
    hip = np.mean(hips, axis=0) if hips else None
    drive = HipDrive().compute(
        time_s,
        hip_flexion_rad=hip,
        lumbar_flexion_rad=angles.get("lumbar_flexion"),
        start_s=float(time_s[0]),
        end_s=now_s,
        start_posture=task_registry.get(kind).option("start_posture", "extended"),
    )
    leads = [r.get("hip_lead_ms") for r in drive.repetitions_]
    last = next((v for v in reversed(leads) if v is not None), None)
    return drive.rep_count_, None if last is None else float(last)


def step_times(ic_time_s: NDArray, ic_side: NDArray) -> tuple[float | None, float | None]:
    """Median left and right step times: a left step ends at a left contact."""
    order = np.argsort(ic_time_s)
    times, sides = np.asarray(ic_time_s)[order], np.asarray(ic_side)[order]
    steps: dict[str, list[float]] = {"left": [], "right": []}
    for i in range(1, times.size):
        if sides[i] in steps and sides[i - 1] != sides[i]:
            steps[str(sides[i])].append(float(times[i] - times[i - 1]))
    left = float(np.median(steps["left"])) if steps["left"] else None
    right = float(np.median(steps["right"])) if steps["right"] else None
    return left, right


def live_step_times(
    hub: DataHub, start_s: float, now_s: float, *, window_s: float = 20.0
) -> tuple[float | None, float | None]:
    """Median step time per side over the last ``window_s`` of a running walk."""
    from hipscope.processing.events.gait import detect_gait_events

    names = ("thigh_sagittal_left", "thigh_sagittal_right")
    time_s, angles = _angles(hub, names, max(start_s, now_s - window_s), now_s)
    if len(angles) < 2 or time_s.size < 50:
        return None, None
    events = detect_gait_events(
        time_s,
        thigh_sagittal_left_rad=angles[names[0]],
        thigh_sagittal_right_rad=angles[names[1]],
    )
    return step_times(events.ic_time_s, events.ic_side)
