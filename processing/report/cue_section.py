"""The report's "Live cues" section: the rules set in the live window and, per task, the
cues given (``docs/DESIGN.md``, "Live cues"). Nothing is shown for a session without rules.
Rule and task texts come from the recording: the template escapes them, control
characters show as visible escapes."""

from __future__ import annotations

from typing import Any

from markupsafe import Markup

from hipscope.base.cues import CUE_METRICS
from hipscope.base.text import visible_text
from hipscope.processing.contract import Cue, MetricsDocument
from hipscope.processing.report.labels import format_value
from hipscope.processing.report.templating import render


def _unit(metric: str) -> tuple[str, int]:
    definition = CUE_METRICS.get(metric)
    if definition is None:
        return "", 2
    return definition.unit, definition.decimals


def _rows(cues: list[Cue], start_s: float | None) -> list[dict[str, str]]:
    rows = []
    for cue in cues:
        unit, decimals = _unit(cue.metric)
        rows.append(
            {
                "time": f"{cue.time_s:.1f} s",
                "in_task": "–" if start_s is None else f"{cue.time_s - start_s:.1f} s",
                "rule": visible_text(cue.rule),
                "value": format_value(cue.value, decimals, unit),
                "threshold": format_value(cue.threshold, decimals, unit),
            }
        )
    return rows


def cue_section(doc: MetricsDocument) -> Markup:
    """The section's markup (empty when the recording had no cue rules and no cues)."""
    summary = doc.cues
    if summary is None:
        return Markup("")
    groups: list[dict[str, Any]] = []
    quiet: list[str] = []
    for task in doc.tasks:
        if not task.cues:
            quiet.append(task.title)
            continue
        groups.append(
            {
                "title": task.title,
                "start_s": task.start_s,
                "end_s": task.end_s,
                "rows": _rows(task.cues, task.start_s),
            }
        )
    if summary.outside_tasks:
        groups.append(
            {
                "title": "Outside any task",
                "start_s": None,
                "end_s": None,
                "rows": _rows(summary.outside_tasks, None),
            }
        )
    given = [c.rule for t in doc.tasks for c in t.cues] + [c.rule for c in summary.outside_tasks]
    return render(
        "cues.html.j2",
        rules=[(visible_text(rule), given.count(rule)) for rule in summary.rules],
        count=summary.count,
        groups=groups,
        quiet=quiet,
    )
