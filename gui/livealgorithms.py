"""The offline algorithms applied to the live ring buffers (hip drive, gait steps).

The same algorithm objects the session analysis uses, run on the angles buffered since
the task started; the live numbers and the review numbers therefore agree in definition.
"""

from __future__ import annotations

import math

import numpy as np
from numpy.typing import NDArray

from hipscope.base import tasks as task_registry
from hipscope.gui.cuevalues import HipDriveNow, StepsNow
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


SETTLE_MARGIN_S = 0.1


def live_hip_drive(hub: DataHub, kind: str, start_s: float, now_s: float) -> HipDriveNow:
    """Repetitions so far and the hip lead (ms) of the last finished repetition that has one
    (its rise and the fit's filter period after it are in the buffers)."""
    from hipscope.processing.metrics.hip_drive import HipDrive

    names = ("hip_flexion_left", "hip_flexion_right", "lumbar_flexion")
    time_s, angles = _angles(hub, names, start_s, now_s)
    if time_s.size < 10:
        return HipDriveNow(None, None, math.nan)
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
    # The onset fit runs past a repetition's end (by the fit filter's period): a repetition
    # counts once the data reach that far, else its lead comes from a cut-off rise.
    settled_s = float(time_s[-1]) - 1.0 / drive.fit_lowpass_hz - SETTLE_MARGIN_S
    leads = [
        r.get("hip_lead_ms") if (r.get("end_s") or math.inf) <= settled_s else None
        for r in drive.repetitions_
    ]
    last = next((i for i in reversed(range(len(leads))) if leads[i] is not None), None)
    lead = None if last is None else leads[last]
    end_s = math.nan if last is None else float(drive.repetitions_[last]["end_s"])
    return HipDriveNow(
        drive.rep_count_, None if lead is None else float(lead), float(time_s[-1]), end_s
    )


def step_times(
    ic_time_s: NDArray,
    ic_side: NDArray,
    *,
    last_steps: int | None = None,
    contact_straight: NDArray | None = None,
) -> tuple[float | None, float | None, int]:
    """Median left and right step times and the steps used: a left step ends at a left
    contact. ``last_steps``: only the newest that many steps (both sides together).
    ``contact_straight`` (one bool per contact): steps with a contact in a turn are left
    out, as the session analysis does."""
    order = np.argsort(ic_time_s)
    times, sides = np.asarray(ic_time_s)[order], np.asarray(ic_side)[order]
    straight = (
        np.ones(times.size, dtype=bool)
        if contact_straight is None
        else np.asarray(contact_straight, dtype=bool)[order]
    )
    found: list[tuple[str, float]] = [
        (str(sides[i]), float(times[i] - times[i - 1]))
        for i in range(1, times.size)
        if sides[i] in ("left", "right")
        and sides[i - 1] != sides[i]
        and straight[i]
        and straight[i - 1]
    ]
    if last_steps is not None:
        found = found[-last_steps:]
    left = [duration for side, duration in found if side == "left"]
    right = [duration for side, duration in found if side == "right"]
    return (
        float(np.median(left)) if left else None,
        float(np.median(right)) if right else None,
        len(found),
    )


def live_step_times(
    hub: DataHub,
    start_s: float,
    now_s: float,
    *,
    window_s: float = 20.0,
    last_steps: int | None = None,
) -> StepsNow:
    """Median step time per side over the last ``window_s`` of a running walk (and at most
    its ``last_steps`` newest steps); with a pelvis sensor, steps in turns are left out."""
    from hipscope.processing.events.gait import detect_gait_events
    from hipscope.processing.events.turns import StraightWalking
    from hipscope.processing.metrics.step_asymmetry import contacts_in_straight_walking

    names = ("thigh_sagittal_left", "thigh_sagittal_right", "pelvis_rotation")
    time_s, angles = _angles(hub, names, max(start_s, now_s - window_s), now_s)
    if names[0] not in angles or names[1] not in angles or time_s.size < 50:
        return StepsNow(None, None, 0, math.nan)
    events = detect_gait_events(
        time_s,
        thigh_sagittal_left_rad=angles[names[0]],
        thigh_sagittal_right_rad=angles[names[1]],
    )
    straight = None
    if names[2] in angles:
        rate_hz = (time_s.size - 1) / float(time_s[-1] - time_s[0])
        mask = StraightWalking().detect_heading(angles[names[2]], rate_hz).straight_
        straight = contacts_in_straight_walking(time_s, mask, events.ic_time_s)
    left, right, count = step_times(
        events.ic_time_s, events.ic_side, last_steps=last_steps, contact_straight=straight
    )
    return StepsNow(left, right, count, float(time_s[-1]))
