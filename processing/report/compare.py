"""Session history: the same athlete across sessions, as one self-contained HTML page.

Sessions come from recordings (.h5, analysed on the way in) or metrics JSON files; they are
sorted by recording date. The page shows trend charts (pelvic drop left/right, hip lead per
exercise, step-time symmetry) and a table of the key numbers with the change between
consecutive sessions; pelvic-drop changes beyond the minimal detectable change are marked.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from html import escape
from pathlib import Path
from typing import Any

from hipscope.base.atomic import atomic_write_text
from hipscope.base.errors import HipscopeError
from hipscope.processing.report import plots
from hipscope.processing.report.html import REP_KINDS, _Citer, load_metrics_json
from hipscope.processing.report.labels import TASK_TITLES, format_value
from hipscope.processing.report.references import (
    PELVIC_DROP_MDC_DEG,
    STEP_TIME_SI_HEALTHY_IQR_PCT,
    Verdict,
    reference_for,
)
from hipscope.processing.report.style import CSS

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


def summarize(doc: Mapping[str, Any], source: str) -> SessionSummary:
    """Pull the trend values out of one metrics document (the JSON contract)."""
    rec = doc.get("recording") or {}
    values: dict[str, float | None] = {}
    collected: dict[str, list[float]] = {}

    def add(key: str, value: Any) -> None:
        number = _num(value)
        if number is not None:
            collected.setdefault(key, []).append(number)

    for task in doc.get("tasks") or []:
        if not isinstance(task, Mapping):
            continue
        kind, side = task.get("kind"), task.get("side")
        metrics = task.get("metrics") or {}
        if kind == "single_leg_stance" and side in ("left", "right"):
            for key in (
                "pelvic_drop_peak_deg",
                "pelvic_drop_mean_deg",
                "trunk_lean_mean_deg",
                "sway_rms_m_s2",
            ):
                add(f"{key}:{side}", metrics.get(key))
        elif kind in REP_KINDS:
            add(f"hip_lead_ms_median:{kind}", metrics.get("hip_lead_ms_median"))
        elif kind == "gait":
            for key in (
                "step_time_si_pct",
                "cadence_steps_min",
                "thigh_rom_si_pct",
                "stride_regularity",
            ):
                add(key, metrics.get(key))
    values = {key: _mean(numbers) for key, numbers in collected.items()}
    return SessionSummary(
        source=source,
        athlete=str(rec.get("athlete") or ""),
        created_utc=str(rec.get("created_utc") or ""),
        session_id=str(rec.get("session_id") or ""),
        values=values,
    )


def load_session(
    path: str | Path, *, analyze: Callable[[Path], dict[str, Any]] | None = None
) -> SessionSummary:
    """One session from a recording (analysed with the pipeline) or a metrics JSON file."""
    path = Path(path)
    if not path.exists():
        raise HipscopeError(f"{path}: no such file")
    if path.suffix.lower() in RECORDING_SUFFIXES:
        if analyze is None:
            from hipscope.processing.pipeline import analyze_file

            analyze = analyze_file
        doc = analyze(path)
    elif path.suffix.lower() == ".json":
        doc = load_metrics_json(path)
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
                PELVIC_DROP_MDC_DEG,
            )
        )
    for side in ("left", "right"):
        rows.append(
            TrendRow(
                f"pelvic_drop_mean_deg:{side}",
                f"Pelvic drop mean, standing on {side}",
                "°",
                1,
                PELVIC_DROP_MDC_DEG,
            )
        )
    for side in ("left", "right"):
        rows.append(
            TrendRow(f"trunk_lean_mean_deg:{side}", f"Trunk lean, standing on {side}", "°", 1)
        )
    for side in ("left", "right"):
        rows.append(TrendRow(f"sway_rms_m_s2:{side}", f"Sway RMS, standing on {side}", "m/s²", 3))
    for kind in REP_KINDS:
        rows.append(
            TrendRow(
                f"hip_lead_ms_median:{kind}",
                f"Hip lead, {TASK_TITLES.get(kind, kind).lower()}",
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


def _charts(sessions: Sequence[SessionSummary]) -> str:
    x = list(range(len(sessions)))
    axes_kw = {"x_ticks": _ticks(sessions), "x_label": "session"}
    figs: list[str] = []
    left = _series(sessions, "pelvic_drop_peak_deg:left")
    right = _series(sessions, "pelvic_drop_peak_deg:right")
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
                    y_label="pelvic drop peak (°)", zero_line=True, y_min_span=6.0, **axes_kw
                ),
                title="Pelvic drop in single-leg stance",
                width=540,
                height=250,
            )
        )
    lead_points = []
    colors = {
        "hip_hinge": plots.HIP_COLOR,
        "hip_bridge": plots.LUMBAR_COLOR,
        "squat": plots.NEUTRAL_COLOR,
    }
    for kind in REP_KINDS:
        values = _series(sessions, f"hip_lead_ms_median:{kind}")
        if any(math.isfinite(v) for v in values):
            lead_points.append(
                plots.Points(
                    x, values, TASK_TITLES.get(kind, kind).lower(), colors[kind], joined=True
                )
            )
    if lead_points:
        figs.append(
            plots.line_chart(
                points=lead_points,
                axes=plots.Axes(
                    y_label="hip lead (ms)", zero_line=True, y_min_span=100.0, **axes_kw
                ),
                title="Hip lead (positive = hips first)",
                width=540,
                height=250,
            )
        )
    si = _series(sessions, "step_time_si_pct")
    if any(math.isfinite(v) for v in si):
        upper = STEP_TIME_SI_HEALTHY_IQR_PCT[1]
        figs.append(
            plots.line_chart(
                points=[plots.Points(x, si, "step-time SI", plots.NEUTRAL_COLOR, joined=True)],
                bands=[plots.Band(-upper, upper, f"healthy |SI| ≤ {upper:.0f} % (upper quartile)")],
                axes=plots.Axes(
                    y_label="step-time SI (%)", zero_line=True, y_min_span=12.0, **axes_kw
                ),
                title="Walking: step-time symmetry",
                width=540,
                height=250,
            )
        )
    if not figs:
        return ""
    return '<div class="figs">' + "".join(f"<figure>{f}</figure>" for f in figs) + "</div>"


def _signed(change: float, decimals: int) -> str:
    text = f"{change:+.{decimals}f}"
    return "0" + text[2:] if float(text) == 0.0 else text.replace("-", "−")


def _change_cell(
    change: float | None, row: TrendRow, citer: _Citer, *, small: bool
) -> tuple[str, str]:
    """(css classes, html) of a change; pelvic-drop changes beyond the MDC are marked."""
    if change is None:
        return "", ""
    mdc_ref = reference_for("pelvic_drop_change_deg")
    verdict: Verdict = "neutral"
    if row.mdc is not None and mdc_ref is not None:
        verdict = mdc_ref.judge(change)
    text = escape(_signed(change, row.decimals))
    text = f'<span class="refnote">{text}</span>' if small else text
    if verdict == "watch" and mdc_ref is not None:
        return " asym watch", text + citer.mark(mdc_ref.citations)
    return "", text


def _table(sessions: Sequence[SessionSummary], citer: _Citer) -> str:
    rows = trend_rows(sessions)
    head = "".join(f'<th class="num">{escape(s.label)}</th>' for s in sessions)
    if len(sessions) > 1:
        head += '<th class="num">First → last</th>'
    body = []
    for row in rows:
        cells = []
        previous: float | None = None
        first: float | None = None
        for session in sessions:
            value = session.values.get(row.key)
            text = format_value(value, row.decimals, row.unit)
            css = "num"
            if value is not None and previous is not None:
                extra_css, change_html = _change_cell(value - previous, row, citer, small=True)
                css += extra_css
                text += "<br>" + change_html
            if value is not None:
                previous = value
                first = value if first is None else first
            cells.append(f'<td class="{css}">{text}</td>')
        if len(sessions) > 1:
            total = previous - first if previous is not None and first is not None else None
            extra_css, change_html = _change_cell(total, row, citer, small=False)
            cells.append(f'<td class="num{extra_css}"><b>{change_html or "–"}</b></td>')
        body.append(f"<tr><td>{escape(row.name)}</td>{''.join(cells)}</tr>")
    if not body:
        return "<p>No comparable measures in these sessions.</p>"
    mdc_ref = reference_for("pelvic_drop_change_deg")
    return (
        # many sessions make a wide table: it scrolls sideways instead of running off the page
        f'<div class="scroll-x"><table><thead><tr><th>Measure</th>{head}</tr></thead>'
        f"<tbody>{''.join(body)}</tbody></table></div>"
        f'<p class="refnote">Small numbers: change from the previous session. Pelvic-drop '
        f"changes above {PELVIC_DROP_MDC_DEG:.0f}° exceed the minimal detectable change and are "
        f"marked in red{citer.mark(mdc_ref.citations) if mdc_ref else ''}.</p>"
    )


def render_comparison(sessions: Sequence[SessionSummary], *, athlete: str | None = None) -> str:
    """The session-history page as a string; sessions are sorted by recording date."""
    if not sessions:
        raise HipscopeError("compare needs at least one session")
    ordered = sorted(sessions, key=_sort_key)
    names = sorted({s.athlete for s in ordered if s.athlete})
    name = athlete if athlete is not None else (names[0] if len(names) == 1 else "")
    citer = _Citer()
    warning = ""
    if len(names) > 1 and athlete is None:
        warning = (
            '<p class="refnote quality-watch">These sessions name different athletes: '
            + escape(", ".join(names))
            + ".</p>"
        )
    source_rows = "".join(
        f'<tr><td>{escape(s.label)}</td><td class="long">{escape(Path(s.source).name)}</td>'
        f'<td class="long">{escape(s.session_id)}</td><td class="long">{escape(s.athlete)}</td>'
        "</tr>"
        for s in ordered
    )
    sources = (
        "<section><h2>Sessions</h2><table><thead><tr><th>Date</th><th>File</th><th>Session</th>"
        f"<th>Athlete</th></tr></thead><tbody>{source_rows}</tbody></table></section>"
    )
    charts = _charts(ordered)
    table = _table(ordered, citer)
    title = f"hipscope history — {name}" if name else "hipscope history"
    first, last = ordered[0].label, ordered[-1].label
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{escape(title)}</title><style>{CSS}</style></head><body>"
        '<header class="top"><div class="inner"><div><div class="kicker">hipscope session '
        f'history</div><h1 class="long">{escape(name) if name else "Session history"}</h1></div>'
        f"<dl><dt>Sessions</dt><dd>{len(ordered)}</dd><dt>From</dt><dd>{escape(first)}</dd>"
        f"<dt>To</dt><dd>{escape(last)}</dd></dl></div></header><main>"
        + '<section id="trends"><h2>Trends</h2><p class="lead">Key measures per session, '
        "oldest first.</p>"
        + warning
        + charts
        + table
        + "</section>"
        + sources
        + citer.html()
        + "<footer>Generated by hipscope. A movement screen supports coaching decisions; it is "
        "not a medical diagnosis.</footer></main></body></html>\n"
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
