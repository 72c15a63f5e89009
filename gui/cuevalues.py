"""The live values of the running task, from the hub's angle buffers (no Qt).

One set of definitions serves the live metrics panel (``gui/metricspanel.py``) and the cue
rules (``hipscope.base.cues``): pelvic drop of the free side and trunk lean towards the
stance side in single-leg stance, the hip lead of the last repetition, the step-time
symmetry index over the last steps of a walk. Pelvic drop and trunk lean are read every
redraw (a cue must come at once); the hip-drive and step-detection algorithms run on the
task's buffered angles at most every ``SLOW_METRIC_PERIOD_S`` and their result is cached in
the ``TaskState``, which the panel and the cues share.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar, cast

import numpy as np

from hipscope.base import tasks as task_registry
from hipscope.base.cues import CUE_METRICS, CueEngine, CueEvent, CueValue
from hipscope.gui.hub import DataHub

log = logging.getLogger(__name__)
_T = TypeVar("_T")

SLOW_METRIC_PERIOD_S = 0.5
"""Hip drive and step detection rerun on the task's angles at most this often (2 Hz)."""

SI_LAST_STEPS = 10
"""The step-time symmetry index is taken over this many of the newest steps."""

PER_EVENT_GRACE_S = 2.0
"""Per-event rules (the hip lead) are still judged this long after their task ended: the
last repetition's lead settles about 1 s after the repetition, which often ends the task."""


@dataclass
class TaskState:
    """The running task and what its live metrics keep between redraws."""

    kind: str
    side: str
    start_s: float
    peak_drop_rad: float = -math.inf
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def family(self) -> str:
        record = task_registry.find(self.kind)
        return record.family if record is not None else "recorded"


@dataclass(frozen=True)
class Sampled:
    """A live value (radians for angles) and the session time of the newest sample behind it."""

    value: float
    time_s: float


NO_VALUE = Sampled(math.nan, math.nan)


@dataclass(frozen=True)
class HipDriveNow:
    """Repetitions so far and the last finished repetition with a valid hip lead: its lead
    and its end (session s; ``repetition_id`` numbers repetitions by it)."""

    rep_count: int | None
    last_lead_ms: float | None
    time_s: float
    last_end_s: float = math.nan


@dataclass(frozen=True)
class StepsNow:
    """Median left and right step times over the newest steps, and how many steps."""

    left_s: float | None
    right_s: float | None
    steps: int
    time_s: float

    @property
    def si_pct(self) -> float | None:
        """SI = 100 (L - R) / (0.5 (L + R)), docs/DESIGN.md's convention; None before
        ``SI_LAST_STEPS`` steps (the first steps of a walk are gait initiation)."""
        if self.steps < SI_LAST_STEPS or self.left_s is None or self.right_s is None:
            return None
        if self.left_s + self.right_s <= 0:
            return None
        return 100.0 * (self.left_s - self.right_s) / (0.5 * (self.left_s + self.right_s))


def drop_sign(side: str) -> float:
    """Pelvic drop from obliquity: left stance drops the right side (obliquity +)."""
    return 1.0 if side == "left" else -1.0


def pelvic_drop(hub: DataHub, state: TaskState, now_s: float) -> Sampled:
    """Current drop of the free side (radians, positive = free side lower); keeps the peak."""
    time_s, obliquity = hub.angle_window("pelvis_obliquity", state.start_s, now_s)
    finite = np.isfinite(obliquity)
    if not finite.any():
        return NO_VALUE
    drops = drop_sign(state.side) * obliquity[finite]
    state.peak_drop_rad = max(state.peak_drop_rad, float(drops.max()))
    return Sampled(float(drops[-1]), float(time_s[finite][-1]))


def trunk_lean(hub: DataHub, state: TaskState, now_s: float) -> Sampled:
    """Trunk lean from world vertical towards the stance side (radians).

    Trunk obliquity > 0 is leaning right; a pelvic drop under an upright trunk is no lean.
    """
    time_s, values = hub.angles["trunk_obliquity"].latest(1)
    if time_s.size == 0 or not math.isfinite(float(values[0, 0])):
        return NO_VALUE
    return Sampled(-drop_sign(state.side) * float(values[0, 0]), float(time_s[0]))


def hip_drive(hub: DataHub, state: TaskState, now_s: float) -> HipDriveNow:
    """The hip-drive metric on the task's angles so far, rerun at most every 0.5 s."""
    from hipscope.gui.livealgorithms import live_hip_drive

    return _throttled(
        state,
        "hip_drive",
        now_s,
        HipDriveNow(None, None, math.nan),
        lambda: live_hip_drive(hub, state.kind, state.start_s, now_s),
    )


def _throttled(
    state: TaskState, key: str, now_s: float, fallback: _T, compute: Callable[[], _T]
) -> _T:
    """``compute()``, cached in ``state.extra[key]`` for ``SLOW_METRIC_PERIOD_S``; a failure
    gives ``fallback`` (live metrics are a bonus: they never break the redraw)."""
    cached = state.extra.get(key)
    if cached is not None and now_s - cached[0] < SLOW_METRIC_PERIOD_S:
        return cast(_T, cached[1])
    result = fallback
    try:
        result = compute()
    except Exception as error:
        log.debug("live %s failed: %s", key, error)
    state.extra[key] = (now_s, result)
    return result


REP_MATCH_S = 0.3
"""Two estimates of a repetition's end this close belong to the same repetition."""


def repetition_id(state: TaskState, end_s: float) -> int:
    """A repetition's number in the task, stable while the buffers drop its predecessors
    (an index into the buffered repetitions shifts once the first leaves the ring)."""
    ends: list[float] = state.extra.setdefault("repetition_ends", [])
    for number, known_s in enumerate(ends):
        if abs(known_s - end_s) < REP_MATCH_S:
            return number
    ends.append(end_s)
    return len(ends) - 1


def steps(hub: DataHub, state: TaskState, now_s: float) -> StepsNow:
    """Step times over the newest ``SI_LAST_STEPS`` steps, rerun at most every 0.5 s."""
    from hipscope.gui.livealgorithms import live_step_times

    return _throttled(
        state,
        "gait",
        now_s,
        StepsNow(None, None, 0, math.nan),
        lambda: live_step_times(hub, state.start_s, now_s, last_steps=SI_LAST_STEPS),
    )


def cue_values(hub: DataHub, state: TaskState, now_s: float) -> dict[str, CueValue]:
    """The value of every cue metric the running task's family has (``CUE_METRICS``)."""
    family = state.family
    if family == "stance":
        drop, lean = pelvic_drop(hub, state, now_s), trunk_lean(hub, state, now_s)
        return {
            "pelvic_drop_deg": CueValue(_deg(drop.value), drop.time_s),
            "trunk_lean_deg": CueValue(_deg(lean.value), lean.time_s),
        }
    if family == "repetitions":
        drive = hip_drive(hub, state, now_s)
        event = None if math.isnan(drive.last_end_s) else repetition_id(state, drive.last_end_s)
        return {"hip_lead_ms": CueValue(drive.last_lead_ms, drive.time_s, event=event)}
    if family == "gait":
        walk = steps(hub, state, now_s)
        return {"step_time_si_pct": CueValue(walk.si_pct, walk.time_s)}
    return {}


def running_state(
    state: TaskState | None, running: tuple[str, str, float] | None
) -> TaskState | None:
    """``state`` while it describes the ``running`` (kind, side, start_s), else a fresh one."""
    if running is None:
        return None
    if state is not None and (state.kind, state.side, state.start_s) == running:
        return state
    return TaskState(*running)


def _deg(angle_rad: float) -> float | None:
    return math.degrees(angle_rad) if math.isfinite(angle_rad) else None


@dataclass
class CueJudge:
    """Runs the rule engine on the running task's live values, once per redraw.

    The live window and the tests call ``judge``; the task state may be shared with the
    metrics panel (the slow metrics then run once per period for both).
    """

    engine: CueEngine
    grace_s: float = PER_EVENT_GRACE_S
    state: TaskState | None = None
    _running_seen_s: float = -math.inf

    def judge(
        self,
        hub: DataHub,
        running: tuple[str, str, float] | None,
        now_s: float,
        state: TaskState | None = None,
    ) -> list[CueEvent]:
        """New cues at ``now_s`` for the ``running`` (kind, side, start_s) task or None."""
        per_event_only = False
        if (
            running is None
            and self.state is not None
            and now_s - self._running_seen_s <= self.grace_s
        ):
            state, per_event_only = self.state, True
            running = (state.kind, state.side, state.start_s)
        else:
            state = running_state(state if state is not None else self.state, running)
            if running is not None:
                self._running_seen_s = now_s
        self.state = state
        if state is None or running is None:
            return self.engine.update(None, None, {})
        values = cue_values(hub, state, now_s)
        if per_event_only:
            values = {k: v for k, v in values.items() if CUE_METRICS[k].per_event}
        return self.engine.update(running, state.family, values)
