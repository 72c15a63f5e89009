"""Session history: the same athlete across sessions, as one self-contained HTML page.

Sessions come from recordings (.h5, analysed on the way in) or metrics JSON files; they are
sorted by recording date. The page shows trend charts (pelvic drop left/right, hip lead per
exercise, step-time symmetry) and a table of the key numbers with the change between
consecutive sessions. A change is marked only against a verified norm (references.py).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from markupsafe import Markup

from hipscope.base import tasks as task_registry
from hipscope.base.atomic import atomic_write_text
from hipscope.base.errors import HipscopeError
from hipscope.processing.contract import (
    GaitMetrics,
    HipDriveMetrics,
    MetricsDocument,
    SingleLegStanceMetrics,
    TaskResult,
    as_document,
    read_metrics,
)
from hipscope.processing.report import plots
from hipscope.processing.report.html import _Citer
from hipscope.processing.report.labels import format_value
from hipscope.processing.report.references import (
    NO_NORM_TEXT,
    Verdict,
    reference_for,
)
from hipscope.processing.report.style import CSS
from hipscope.processing.report.templating import render

RECORDING_SUFFIXES = (".h5", ".hdf5")


@dataclass(frozen=True)
class SessionSummary:
    """The key numbers of one session (None where the session did not measure them)."""

    source: str
    athlete: str
    created_utc: str
    session_id: str
    values: dict[str, float | None] = field(default_factory=dict)

    @property
    def moment(self) -> datetime | None:
        try:
            return datetime.fromisoformat(self.created_utc.replace("Z", "+00:00"))
        except ValueError:
            return None

    @property
    def label(self) -> str:
        moment = self.moment
        return moment.strftime("%d %b %Y") if moment else Path(self.source).name


@dataclass(frozen=True)
class TrendRow:
    key: str
    name: str
    unit: str
    decimals: int
    mdc: float | None = None  # change beyond which the row is marked


def _num(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    value = float(value)
    return value if math.isfinite(value) else None


def _mean(values: list[float]) -> float | None:
    return sum(values) / len(values) if values else None


STANCE_TRENDS = (
    "pelvic_drop_peak_deg",
    "pelvic_drop_mean_deg",
    "trunk_lean_mean_deg",
    "sway_rms_m_s2",
)
GAIT_TRENDS = ("step_time_si_pct", "cadence_steps_min", "thigh_rom_si_pct", "stride_regularity")


def _repetition_kinds() -> tuple[str, ...]:
    return tuple(r.kind for r in task_registry.task_kinds() if r.report_section == "repetitions")


def summarize(document: MetricsDocument | Mapping[str, Any], source: str) -> SessionSummary:
    """Pull the trend values out of one metrics document (validated by the contract)."""
    doc = as_document(document, source)
    return summarize_tasks(
        doc.tasks,
        source=source,
        athlete=doc.recording.athlete,
        created_utc=doc.recording.created_utc,
        session_id=doc.recording.session_id,
    )


def summarize_tasks(
    tasks: Sequence[TaskResult], *, source: str, athlete: str, created_utc: str, session_id: str
) -> SessionSummary:
    """The trend values of one session's task results."""
    collected: dict[str, list[float]] = {}

    def add(key: str, value: Any) -> None:
        number = _num(value)
        if number is not None:
            collected.setdefault(key, []).append(number)

    for task in tasks:
        metrics = task.metrics
        if isinstance(metrics, SingleLegStanceMetrics) and task.side in ("left", "right"):
            for key in STANCE_TRENDS:
                add(f"{key}:{task.side}", getattr(metrics, key))
        elif isinstance(metrics, HipDriveMetrics):
            add(f"hip_lead_ms_median:{task.kind}", metrics.hip_lead_ms_median)
        elif isinstance(metrics, GaitMetrics):
            for key in GAIT_TRENDS:
                add(key, getattr(metrics, key))
    return SessionSummary(
        source=source,
        athlete=athlete,
        created_utc=created_utc,
        session_id=session_id,
        values={key: _mean(numbers) for key, numbers in collected.items()},
    )


def load_session(
    path: str | Path, *, analyze: Callable[[Path], Any] | None = None
) -> SessionSummary:
    """One session from a recording (analysed with the pipeline) or a metrics JSON file."""
    path = Path(path)
    if not path.exists():
        raise HipscopeError(f"{path}: no such file")
    if path.suffix.lower() in RECORDING_SUFFIXES:
        if analyze is None:
            from hipscope.processing.pipeline import analyze_file

            analyze = analyze_file
        doc = as_document(analyze(path), str(path))
    elif path.suffix.lower() == ".json":
        doc = read_metrics(path)
    else:
        raise HipscopeError(f"{path}: expected a recording (.h5) or a metrics file (.json)")
    return summarize(doc, str(path))


def _sort_key(session: SessionSummary) -> tuple[float, str]:
    moment = session.moment
    stamp = moment.timestamp() if moment else math.inf
    return stamp, Path(session.source).name


def trend_rows(sessions: Sequence[SessionSummary]) -> list[TrendRow]:
    """The table rows, in a fixed order, for the values present in any session."""
    present = {key for s in sessions for key, v in s.values.items() if v is not None}
    rows: list[TrendRow] = []
    for side in ("left", "right"):
        rows.append(
            TrendRow(
                f"pelvic_drop_peak_deg:{side}",
                f"Pelvic drop peak, standing on {side}",
                "°",
                1,
            )
        )
    for side in ("left", "right"):
        rows.append(
            TrendRow(
                f"pelvic_drop_mean_deg:{side}",
                f"Pelvic drop mean, standing on {side}",
                "°",
                1,
            )
        )
    for side in ("left", "right"):
        rows.append(
            TrendRow(
                f"trunk_lean_mean_deg:{side}",
                f"Trunk lean from vertical, standing on {side}",
                "°",
                1,
            )
        )
    for side in ("left", "right"):
        rows.append(TrendRow(f"sway_rms_m_s2:{side}", f"Sway RMS, standing on {side}", "m/s²", 3))
    for kind in _repetition_kinds():
        rows.append(
            TrendRow(
                f"hip_lead_ms_median:{kind}",
                f"Hip lead, {task_registry.title(kind).lower()}",
                "ms",
                0,
            )
        )
    rows += [
        TrendRow("step_time_si_pct", "Step-time symmetry index", "%", 1),
        TrendRow("thigh_rom_si_pct", "Thigh ROM symmetry index", "%", 1),
        TrendRow("cadence_steps_min", "Cadence", "steps/min", 0),
        TrendRow("stride_regularity", "Stride regularity", "", 2),
    ]
    return [row for row in rows if row.key in present]


def _ticks(sessions: Sequence[SessionSummary], max_labels: int = 7) -> list[tuple[float, str]]:
    """Session dates as x labels; with many sessions every k-th one (always the last)."""
    step = max(1, math.ceil(len(sessions) / max_labels))
    last = len(sessions) - 1
    return [(float(i), s.label) for i, s in enumerate(sessions) if (last - i) % step == 0]


def _series(sessions: Sequence[SessionSummary], key: str) -> list[float]:
    return [v if (v := s.values.get(key)) is not None else math.nan for s in sessions]


def _charts(sessions: Sequence[SessionSummary]) -> list[Markup]:
    x = list(range(len(sessions)))
    ticks = _ticks(sessions)
    figs: list[Markup] = []
    # one definition of the sides' comparison: the mean drop over the steady hold
    left = _series(sessions, "pelvic_drop_mean_deg:left")
    right = _series(sessions, "pelvic_drop_mean_deg:right")
    if any(math.isfinite(v) for v in left + right):
        figs.append(
            plots.line_chart(
                points=[
                    plots.Points(x, left, "standing on left", plots.LEFT_COLOR, joined=True),
                    plots.Points(
                        x,
                        right,
                        "standing on right",
                        plots.RIGHT_COLOR,
                        shape="square",
                        joined=True,
                    ),
                ],
                axes=plots.Axes(
                    y_label="pelvic drop, mean over the hold (°)",
                    zero_line=True,
                    y_min_span=6.0,
                    x_ticks=ticks,
                    x_label="session",
                ),
                title="Pelvic drop in single-leg stance",
                width=540,
                height=250,
            )
        )
    lead_points = []
    colors = (plots.HIP_COLOR, plots.LUMBAR_COLOR, plots.NEUTRAL_COLOR, plots.LEFT_COLOR)
    for number, kind in enumerate(_repetition_kinds()):
        values = _series(sessions, f"hip_lead_ms_median:{kind}")
        if any(math.isfinite(v) for v in values):
            lead_points.append(
                plots.Points(
                    x,
                    values,
                    task_registry.title(kind).lower(),
                    colors[number % len(colors)],
                    joined=True,
                )
            )
    if lead_points:
        figs.append(
            plots.line_chart(
                points=lead_points,
                axes=plots.Axes(
                    y_label="hip lead (ms)",
                    zero_line=True,
                    y_min_span=100.0,
                    x_ticks=ticks,
                    x_label="session",
                ),
                title="Hip lead (positive = hips first)",
                width=540,
                height=250,
            )
        )
    si = _series(sessions, "step_time_si_pct")
    if any(math.isfinite(v) for v in si):
        figs.append(
            plots.line_chart(
                points=[plots.Points(x, si, "step-time SI", plots.NEUTRAL_COLOR, joined=True)],
                axes=plots.Axes(
                    y_label="step-time SI (%)",
                    zero_line=True,
                    y_min_span=12.0,
                    x_ticks=ticks,
                    x_label="session",
                ),
                title="Walking: step-time symmetry",
                width=540,
                height=250,
            )
        )
    return figs


def _signed(change: float, decimals: int) -> str:
    text = f"{change:+.{decimals}f}"
    return "0" + text[2:] if float(text) == 0.0 else text.replace("-", "−")


def _change(change: float | None, row: TrendRow, citer: _Citer) -> dict[str, Any]:
    """A change as text, with its css classes and citation: pelvic-drop changes beyond the
    minimal detectable change are marked."""
    if change is None:
        return {"css": "", "change": "", "cite": ""}
    mdc_ref = reference_for("pelvic_drop_change_deg")
    verdict: Verdict = "neutral"
    if row.mdc is not None and mdc_ref is not None:
        verdict = mdc_ref.judge(change)
    text = _signed(change, row.decimals)
    if verdict == "watch" and mdc_ref is not None:
        return {"css": " asym watch", "change": text, "cite": citer.mark(mdc_ref.citations)}
    return {"css": "", "change": text, "cite": ""}


def _table_rows(sessions: Sequence[SessionSummary], citer: _Citer) -> list[dict[str, Any]]:
    body = []
    for row in trend_rows(sessions):
        cells = []
        previous: float | None = None
        first: float | None = None
        for session in sessions:
            value = session.values.get(row.key)
            cell = {"value": format_value(value, row.decimals, row.unit), "css": "", "change": ""}
            if value is not None and previous is not None:
                cell.update(_change(value - previous, row, citer))
            if value is not None:
                previous = value
                first = value if first is None else first
            cells.append(cell)
        total = None
        if len(sessions) > 1:
            change = previous - first if previous is not None and first is not None else None
            total = _change(change, row, citer)
        body.append({"name": row.name, "cells": cells, "total": total})
    return body


def render_comparison(sessions: Sequence[SessionSummary], *, athlete: str | None = None) -> str:
    """The session-history page as a string; sessions are sorted by recording date."""
    if not sessions:
        raise HipscopeError("compare needs at least one session")
    ordered = sorted(sessions, key=_sort_key)
    names = sorted({s.athlete for s in ordered if s.athlete})
    name = athlete if athlete is not None else (names[0] if len(names) == 1 else "")
    citer = _Citer()
    charts = _charts(ordered)
    rows = _table_rows(ordered, citer)
    mdc_ref = reference_for("pelvic_drop_change_deg")
    mdc_cite = citer.mark(mdc_ref.citations) if rows and mdc_ref else ""
    return str(
        render(
            "compare.html.j2",
            title=f"hipscope history — {name}" if name else "hipscope history",
            css=Markup(CSS),
            athlete=name,
            first=ordered[0].label,
            last=ordered[-1].label,
            other_athletes=names if len(names) > 1 and athlete is None else [],
            charts=charts,
            sessions=[
                {
                    "label": s.label,
                    "file_name": Path(s.source).name,
                    "session_id": s.session_id,
                    "athlete": s.athlete,
                }
                for s in ordered
            ],
            rows=rows,
            no_norm=NO_NORM_TEXT,
            mdc_cite=mdc_cite,
            references=citer.html(),
        )
    )


def write_comparison(
    paths: Sequence[str | Path],
    out_path: str | Path,
    *,
    athlete: str | None = None,
    analyze: Callable[[Path], dict[str, Any]] | None = None,
) -> Path:
    """Load every session, render the history page and write it; returns the path."""
    sessions = [load_session(p, analyze=analyze) for p in paths]
    html = render_comparison(sessions, athlete=athlete)
    out = Path(out_path)
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        atomic_write_text(out, html)
    except OSError as error:
        raise HipscopeError(f"{out}: cannot write the comparison ({error.strerror})") from None
    return out
