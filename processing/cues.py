"""Live cues of a recording, attached to the tasks they were given in (``docs/DESIGN.md``,
"Live cues").

A cue belongs to the first task whose time span contains it; a cue in no task is listed as
given outside the tasks. The texts stay data: the report escapes them, the terminal shows
them escaped.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from hipscope.acquisition.samples import Task
from hipscope.base.cues import CueEvent


@dataclass(frozen=True)
class CueAssignment:
    """The cues of each task (same order as the tasks) and those outside every task."""

    per_task: tuple[tuple[CueEvent, ...], ...]
    outside: tuple[CueEvent, ...]


def assign_cues(tasks: Sequence[Task], cues: Sequence[CueEvent]) -> CueAssignment:
    """Each cue to the first task with ``start_s <= time_s <= end_s``, in time order."""
    per_task: list[list[CueEvent]] = [[] for _ in tasks]
    outside: list[CueEvent] = []
    for cue in sorted(cues, key=lambda c: c.time_s):
        index = next(
            (i for i, t in enumerate(tasks) if t.start_s <= cue.time_s <= t.end_s), None
        )
        (outside if index is None else per_task[index]).append(cue)
    return CueAssignment(tuple(tuple(c) for c in per_task), tuple(outside))


def cue_dict(cue: CueEvent) -> dict[str, Any]:
    """One cue as the metrics contract's ``Cue``."""
    return {
        "time_s": round(float(cue.time_s), 3),
        "rule": cue.rule,
        "metric": cue.metric,
        "value": round(float(cue.value), 3),
        "threshold": float(cue.threshold),
        "task_kind": cue.task_kind,
        "task_side": cue.task_side,
    }


def cue_summary(
    rules: Sequence[str], cues: Sequence[CueEvent], outside: Sequence[CueEvent]
) -> dict[str, Any] | None:
    """The document's ``cues`` (None when the recording had neither rules nor cues)."""
    if not rules and not cues:
        return None
    return {
        "rules": list(rules),
        "count": len(cues),
        "outside_tasks": [cue_dict(c) for c in outside],
    }
