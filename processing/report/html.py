"""The coaching report: one self-contained HTML file from a session analysis.

``render_report`` accepts a ``SessionAnalysis`` (from ``hipscope.processing.pipeline``), or the
metrics JSON of the contract (``format: hipscope-metrics``) as a dict. With a
``SessionAnalysis`` the plots use the task series (or the session kinematics); a bare JSON
still gives every table and the step-time plot. Styles and plots (SVG) are inline, there is
no JavaScript, and every string that came from a user or a file is escaped.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from html import escape
from pathlib import Path
from typing import Any

import numpy as np

from hipscope.base.errors import HipscopeError
from hipscope.processing.report import plots
from hipscope.processing.report.labels import TASK_TITLES, format_value, label_for
from hipscope.processing.report.references import (
    CITATIONS,
    NO_NORM_TEXT,
    Verdict,
    reference_for,
    reference_text,
    verdict_for,
)
from hipscope.processing.report.style import CSS
from hipscope.processing.report.traces import (
    RepTrace,
    StanceTrace,
    rep_traces,
    stance_trace,
    step_series,
)
from hipscope.processing.uncertainty import plus_minus, study_note

REP_KINDS = ("hip_hinge", "hip_bridge", "squat")
SLS_KEYS = (
    "pelvic_drop_peak_deg",
    "pelvic_drop_mean_deg",
    "trunk_lean_mean_deg",
    "lumbar_lateral_bend_mean_deg",
    "sway_rms_m_s2",
    "sway_ml_rms_m_s2",
    "sway_ap_rms_m_s2",
    "sway_ellipse_area_m2_s4",
    "sway_path_m_s2",
    "hold_s",
)
SLS_HIDDEN = {"hold_start_s", "hold_end_s", "pelvic_drop_lr_diff_deg"}
GAIT_LR = (
    ("step_time_left_s", "step_time_right_s"),
    ("stance_time_left_s", "stance_time_right_s"),
    ("swing_time_left_s", "swing_time_right_s"),
    ("thigh_rom_left_deg", "thigh_rom_right_deg"),
    ("n_steps_left", "n_steps_right"),
)
GAIT_SESSION = (
    "step_time_si_pct",
    "stance_time_si_pct",
    "swing_time_si_pct",
    "thigh_rom_si_pct",
    "stride_time_s",
    "cadence_steps_min",
    "step_regularity",
    "stride_regularity",
    "harmonic_ratio_vertical",
)
GAIT_HIDDEN = {"initial_contacts_left_s", "initial_contacts_right_s"}
REP_SUMMARY = (
    "rep_count",
    "valid_rep_count",
    "hip_lead_ms_median",
    "hip_lead_ms_iqr",
    "hip_lead_verdict",
    "hip_share_pct_median",
)
REP_COLUMNS = (
    "hip_onset_s",
    "lumbar_onset_s",
    "hip_lead_ms",
    "peak_hip_ext_vel_deg_s",
    "time_to_peak_hip_ext_vel_s",
    "hip_ext_deg",
    "lumbar_ext_deg",
    "hip_share_pct",
)


REP_HEADERS = {
    "hip_onset_s": "Hip onset (s)",
    "lumbar_onset_s": "Back onset (s)",
    "hip_lead_ms": "Hip lead (ms)",
    "peak_hip_ext_vel_deg_s": "Peak hip speed (°/s)",
    "time_to_peak_hip_ext_vel_s": "To peak (s)",
    "hip_ext_deg": "Hip ext. (°)",
    "lumbar_ext_deg": "Back ext. (°)",
    "hip_share_pct": "Hip share (%)",
}


@dataclass(frozen=True)
class ReportInput:
    """What the report draws from: the metrics document, per-task series and kinematics."""

    doc: Mapping[str, Any]
    series: Sequence[Mapping[str, Any] | None]
    kinematics: Any | None = None


def report_input(source: Any) -> ReportInput:
    """Normalise a ``SessionAnalysis``, a metrics dict or a metrics JSON path."""
    if isinstance(source, str | Path):
        return ReportInput(load_metrics_json(source), [])
    if isinstance(source, Mapping):
        _check_doc(source, "metrics")
        return ReportInput(source, [])
    to_dict = getattr(source, "to_dict", None)
    if callable(to_dict):
        doc = to_dict()
        _check_doc(doc, "analysis")
        series = [getattr(task, "series", None) for task in getattr(source, "tasks", [])]
        return ReportInput(doc, series, getattr(source, "kinematics", None))
    raise HipscopeError(f"cannot build a report from {type(source).__name__}")


def load_metrics_json(path: str | Path) -> dict[str, Any]:
    """Read a metrics JSON file (``hipscope analyze --json``) and check its format."""
    path = Path(path)
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise HipscopeError(f"{path}: no such file") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
        raise HipscopeError(f"{path}: not a metrics JSON file ({error})") from None
    _check_doc(doc, str(path))
    return doc


def _check_doc(doc: Any, where: str) -> None:
    if not isinstance(doc, Mapping) or doc.get("format") != "hipscope-metrics":
        raise HipscopeError(f"{where}: field 'format' must be 'hipscope-metrics'")
    if doc.get("format_version") != 1:
        raise HipscopeError(
            f"{where}: field 'format_version' must be 1, got {doc.get('format_version')!r}"
        )
    if not isinstance(doc.get("tasks"), list):
        raise HipscopeError(f"{where}: field 'tasks' must be a list")


# --------------------------------------------------------------------------- small pieces


def _num(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    value = float(value)
    return value if math.isfinite(value) else None


def _verdict_badge(verdict: Verdict, text: str | None = None) -> str:
    words = {"typical": "within reference", "watch": "outside reference", "neutral": "no norm"}
    return f'<span class="verdict {verdict}">{escape(text or words[verdict])}</span>'


class _Citer:
    """Numbers citations in order of first use, for ``[n]`` marks and the reference list."""

    def __init__(self) -> None:
        self.order: list[str] = []

    def mark(self, keys: Sequence[str]) -> str:
        marks = []
        for key in keys:
            if key not in CITATIONS:
                continue
            if key not in self.order:
                self.order.append(key)
            n = self.order.index(key) + 1
            marks.append(f'<a href="#ref-{n}">{n}</a>')
        return f"<sup>[{', '.join(marks)}]</sup>" if marks else ""

    def html(self) -> str:
        if not self.order:
            return ""
        items = "".join(
            f'<li id="ref-{n}">{escape(CITATIONS[key].full)}</li>'
            for n, key in enumerate(self.order, start=1)
        )
        return (
            '<section id="references"><h2>References</h2><p class="lead">Each source below '
            "is quoted, with what it applies to, in hipscope's docs/REFERENCES.md. Where no "
            'published norm exists, none is shown.</p><ol class="refs">' + items + "</ol></section>"
        )


def _pm(key: str, decimals: int, unit: str) -> str:
    """ " ± x" (hipscope's own 95 % error from the simulation study) as HTML, or ""."""
    text = plus_minus(key, decimals, unit)
    return f' <span class="pm" title="{escape(study_note())}">{escape(text)}</span>' if text else ""


def _pm_text(key: str, decimals: int, unit: str) -> str:
    text = plus_minus(key, decimals, unit)
    return f" {text}" if text else ""


def _lead_summary(metrics: Mapping[str, Any]) -> str:
    """Plain text: the median lead, its spread, how many reps, and the verdict."""
    lead = _num(metrics.get("hip_lead_ms_median"))
    if lead is None:
        return "Hip lead could not be measured."
    valid, count = metrics.get("valid_rep_count"), metrics.get("rep_count")
    q1, q3 = _num(metrics.get("hip_lead_ms_q1")), _num(metrics.get("hip_lead_ms_q3"))
    zone = _num(metrics.get("hip_lead_zone_ms"))
    spread = f", quartiles {q1:+.0f} to {q3:+.0f} ms" if q1 is not None and q3 is not None else ""
    verdict = metrics.get("hip_lead_verdict") or "unclear"
    reps = f"{valid} of {count} repetitions" if valid is not None else f"{count} repetitions"
    within = f" (within ±{zone:.0f} ms of 0 is unclear)" if zone is not None else ""
    text = f"Median hip lead {lead:+.0f} ms over {reps}{spread}: {verdict}{within}."
    return text.replace("-", "−")


def _fmt(key: str, value: Any) -> str:
    label = label_for(key)
    return format_value(value, label.decimals, label.unit)


def _when(iso: str) -> str:
    try:
        moment = datetime.fromisoformat(str(iso).replace("Z", "+00:00"))
    except ValueError:
        return escape(str(iso))
    return escape(moment.strftime("%d %b %Y, %H:%M UTC" if moment.tzinfo else "%d %b %Y, %H:%M"))


def _task_time(task: Mapping[str, Any]) -> str:
    start, end = _num(task.get("start_s")), _num(task.get("end_s"))
    if start is None or end is None:
        return ""
    return f'<span class="when">{start:.1f}–{end:.1f} s</span>'


def _unavailable(*tasks: Mapping[str, Any] | None) -> str:
    """The "not available" reasons of one or more tasks, each distinct line once."""
    lines: list[str] = []
    for task in tasks:
        missing = (task or {}).get("unavailable") or {}
        if not isinstance(missing, Mapping):
            continue
        for key, reason in missing.items():
            line = f"<li>{escape(label_for(str(key)).name)}: {escape(str(reason))}</li>"
            if line not in lines:
                lines.append(line)
    if not lines:
        return ""
    items = "".join(lines)
    return f'<p class="refnote">Not available:</p><ul class="unavailable">{items}</ul>'


def _other_metrics(
    metrics: Mapping[str, Any], shown: set[str], title: str = "More measures"
) -> str:
    rest = {k: v for k, v in metrics.items() if k not in shown and not isinstance(v, dict)}
    rest = {
        k: v for k, v in rest.items() if not (isinstance(v, list) and v and isinstance(v[0], dict))
    }
    if not rest:
        return ""
    rows = "".join(
        f'<tr><td>{escape(label_for(k).name)}</td><td class="num">{_fmt(k, v)}</td></tr>'
        for k, v in rest.items()
    )
    return (
        f"<details><summary>{escape(title)}</summary><table><tbody>" + rows + "</tbody></table>"
        "</details>"
    )


# --------------------------------------------------------------------------- sections


def _header(doc: Mapping[str, Any], athlete: str) -> str:
    rec = doc.get("recording") or {}
    rows = [
        ("Recorded", _when(rec.get("created_utc", ""))),
        ("Duration", format_value(_num(rec.get("duration_s")), 0, "s")),
        ("Session", escape(str(rec.get("session_id", "")))),
        ("File", escape(str(rec.get("file_name") or rec.get("path") or ""))),
    ]
    dl = "".join(f"<dt>{k}</dt><dd>{v}</dd>" for k, v in rows if v)
    name = escape(athlete) if athlete else "Unnamed athlete"
    return (
        '<header class="top"><div class="inner"><div><div class="kicker">hipscope movement '
        f'screen</div><h1 class="long">{name}</h1></div><dl>{dl}</dl></div></header>'
    )


def _glance(doc: Mapping[str, Any], citer: _Citer) -> str:
    cards: list[str] = []
    tasks = doc.get("tasks") or []
    left, right = _first_sls_pair(tasks)
    if left or right:
        lv = _num(((left or {}).get("metrics") or {}).get("pelvic_drop_mean_deg"))
        rv = _num(((right or {}).get("metrics") or {}).get("pelvic_drop_mean_deg"))
        verdict: Verdict = "neutral"
        note = "Mean drop of the free side over the steady hold, standing on each leg."
        if lv is not None and rv is not None:
            verdict = verdict_for("pelvic_drop_lr_diff_deg", lv - rv)
            note = (
                f"Mean drop over the steady hold; left − right {lv - rv:+.1f}°"
                f"{_pm_text('pelvic_drop_lr_diff_deg', 1, '°')}. "
                f"{reference_text('pelvic_drop_lr_diff_deg')}"
            ).replace("-", "−")
        cards.append(
            _card(
                "Pelvic drop (single-leg stance)",
                f'<span class="lr l">L</span> {format_value(lv, 1, "°")} &nbsp; '
                f'<span class="lr r">R</span> {format_value(rv, 1, "°")}'
                + _pm("pelvic_drop_mean_deg", 1, "°"),
                note,
                verdict,
            )
        )
    for task in tasks:
        kind = task.get("kind")
        if kind in REP_KINDS:
            metrics = task.get("metrics") or {}
            lead = _num(metrics.get("hip_lead_ms_median"))
            if lead is None:
                text, note = "–", "Hip lead could not be measured."
            else:
                text = format_value(lead, 0, "ms") + _pm("hip_lead_ms_median", 0, "ms")
                note = escape(_lead_summary(metrics))
            cards.append(_card(f"Hip lead ({TASK_TITLES.get(kind, kind)})", text, note, "neutral"))
    for task in tasks:
        if task.get("kind") == "gait":
            si = _num((task.get("metrics") or {}).get("step_time_si_pct"))
            verdict = verdict_for("step_time_si_pct", si)
            note = f"Step-time symmetry index. {reference_text('step_time_si_pct')}"
            value = format_value(si, 1, "%") + (_pm("step_time_si_pct", 1, "%") if si else "")
            cards.append(_card("Walking rhythm", value, note, verdict))
            break
    sensors = (doc.get("recording") or {}).get("sensors") or {}
    if sensors:
        lost = sum(int(_num(s.get("lost_samples")) or 0) for s in sensors.values())
        gaps = sum(_gap_count(s.get("gaps")) for s in sensors.values())
        verdict = "typical" if lost == 0 and gaps == 0 else "watch"
        text = f"{len(sensors)} sensors"
        received = sum(int(_num(s.get("n_samples")) or 0) for s in sensors.values())
        note = (
            "Complete data, no lost samples."
            if verdict == "typical"
            else f"{lost} samples lost ({_share(lost, received)}) in {gaps} gaps — see data "
            "quality."
        )
        cards.append(_card("Data quality", escape(text), note, verdict))
    if not cards:
        return ""
    return (
        '<section id="glance"><h2>At a glance</h2><p class="lead">Grey: no published norm; '
        "compare sides and sessions. Green or red only against a published norm quoted in "
        "docs/REFERENCES.md, or for data quality (all samples arrived or not).</p>"
        '<div class="cards">' + "".join(cards) + "</div></section>"
    )


def _card(what: str, value_html: str, note_html: str, verdict: Verdict) -> str:
    return (
        f'<div class="card {verdict}"><div class="what">{escape(what)}</div>'
        f'<div class="value">{value_html}</div><div class="note">{note_html}</div></div>'
    )


def _share(lost: int, received: int) -> str:
    """Lost samples as a percentage of all samples the sensors sent."""
    total = lost + received
    if total <= 0:
        return "–"
    share = 100.0 * lost / total
    return f"{share:.1f} %" if share >= 0.1 or share == 0 else f"{share:.2f} %"


def _gap_count(gaps: Any) -> int:
    if isinstance(gaps, list):
        return len(gaps)
    value = _num(gaps)
    return int(value) if value is not None else 0


def _quality(doc: Mapping[str, Any]) -> str:
    rec = doc.get("recording") or {}
    sensors = rec.get("sensors") or {}
    rows = []
    for placement, info in sensors.items():
        info = info or {}
        lost = int(_num(info.get("lost_samples")) or 0)
        n_samples = int(_num(info.get("n_samples")) or 0)
        gaps = _gap_count(info.get("gaps"))
        status = (
            '<span class="quality-ok">complete</span>'
            if lost == 0 and gaps == 0
            else f'<span class="quality-watch">{lost} lost ({_share(lost, n_samples)}) in '
            f"{gaps} gap(s)</span>"
        )
        rows.append(
            f"<tr><td>{escape(str(placement).replace('_', ' '))}</td>"
            f'<td class="long">{escape(str(info.get("device_name", "")))}</td>'
            f"<td>{escape(str(info.get('profile', '')))}</td>"
            f'<td class="num">{format_value(_num(info.get("rate_hz")), 1, "Hz")}</td>'
            f'<td class="num">{format_value(info.get("n_samples"), 0)}</td>'
            f"<td>{status}</td></tr>"
        )
    table = (
        "<table><thead><tr><th>Placement</th><th>Device</th><th>Profile</th>"
        '<th class="num">Rate</th><th class="num">Samples</th><th>Lost samples</th></tr>'
        "</thead><tbody>" + "".join(rows) + "</tbody></table>"
        if rows
        else "<p>No sensor information.</p>"
    )
    cal = doc.get("calibration") or {}
    cal_html = ""
    if isinstance(cal, Mapping) and cal:
        items = []
        method = cal.get("method")
        if method:
            window = _num(cal.get("window_s"))
            w0, w1 = _num(cal.get("window_start_s")), _num(cal.get("window_end_s"))
            where = f", {w0:.1f}–{w1:.1f} s" if w0 is not None and w1 is not None else ""
            items.append(
                f"<li>Method: <b>{escape(str(method))}</b>"
                + (f" ({window:.1f} s window{where})" if window is not None else "")
                + "</li>"
            )
        mis = cal.get("misalignment_deg")
        if isinstance(mis, Mapping) and mis:
            parts = ", ".join(
                f"{escape(str(k).replace('_', ' '))} {format_value(_num(v), 1, '°')}"
                for k, v in mis.items()
            )
            items.append(f"<li>Sensor mounting corrected by: {parts}</li>")
        notes = cal.get("notes")
        if isinstance(notes, str) and notes:
            notes = [notes]
        if isinstance(notes, list):
            items.extend(f"<li>{escape(str(n))}</li>" for n in notes)
        for key, value in cal.items():
            if key in (
                "method",
                "window_s",
                "window_start_s",
                "window_end_s",
                "misalignment_deg",
                "notes",
            ):
                continue
            name = escape(str(key).replace("_", " ").capitalize())
            if isinstance(value, str | int | float | bool) or value is None:
                items.append(f"<li>{name}: {format_value(value, 2)}</li>")
            elif isinstance(value, Mapping):
                parts = "; ".join(
                    f"{escape(str(k).replace('_', ' '))}: {format_value(v, 2)}"
                    for k, v in value.items()
                )
                items.append(f"<li>{name}: {parts}</li>")
        cal_html = "<h3>Calibration</h3><ul>" + "".join(items) + "</ul>"
    return (
        '<section id="quality"><h2>Sensors and data quality</h2><p class="lead">Lost samples '
        "are counted from the sensors' sequence numbers and never filled in.</p>"
        + table
        + cal_html
        + "</section>"
    )


def _first_sls_pair(
    tasks: Sequence[Mapping[str, Any]],
) -> tuple[Mapping[str, Any] | None, Mapping[str, Any] | None]:
    left = next(
        (t for t in tasks if t.get("kind") == "single_leg_stance" and t.get("side") == "left"), None
    )
    right = next(
        (t for t in tasks if t.get("kind") == "single_leg_stance" and t.get("side") == "right"),
        None,
    )
    return left, right


def _sls_pairs(
    indexed: list[tuple[int, Mapping[str, Any]]],
) -> list[tuple[tuple[int, Mapping[str, Any]] | None, tuple[int, Mapping[str, Any]] | None]]:
    lefts = [it for it in indexed if it[1].get("side") == "left"]
    rights = [it for it in indexed if it[1].get("side") == "right"]
    others = [it for it in indexed if it[1].get("side") not in ("left", "right")]
    n = max(len(lefts), len(rights))
    pairs: list[tuple[Any, Any]] = [
        (lefts[i] if i < len(lefts) else None, rights[i] if i < len(rights) else None)
        for i in range(n)
    ]
    pairs.extend((it, None) for it in others)
    return pairs


def _sls_section(
    pair: tuple[Any, Any], data: ReportInput, citer: _Citer, number: int, total: int
) -> str:
    (li, left), (ri, right) = (pair[0] or (None, None)), (pair[1] or (None, None))
    lm = (left or {}).get("metrics") or {}
    rm = (right or {}).get("metrics") or {}
    title = "Single-leg stance" + (f" ({number} of {total})" if total > 1 else "")
    rows = []
    for key in SLS_KEYS:
        lv, rv = lm.get(key), rm.get(key)
        if (
            lv is None
            and rv is None
            and key not in ("pelvic_drop_peak_deg", "pelvic_drop_mean_deg")
        ):
            continue
        label = label_for(key)
        ln, rn = _num(lv), _num(rv)
        diff = ln - rn if ln is not None and rn is not None else None
        # one definition of the left-right difference: the mean drops over the holds
        verdict: Verdict = (
            verdict_for("pelvic_drop_lr_diff_deg", diff)
            if key == "pelvic_drop_mean_deg"
            else "neutral"
        )
        diff_html = format_value(diff, label.decimals, label.unit) if diff is not None else "–"
        rows.append(
            f'<tr class="{verdict if verdict == "watch" else ""}"><td>{escape(label.name)}</td>'
            f'<td class="num left">{format_value(lv, label.decimals, label.unit)}'
            f"{_pm(key, label.decimals, label.unit) if lv is not None else ''}</td>"
            f'<td class="num right">{format_value(rv, label.decimals, label.unit)}'
            f"{_pm(key, label.decimals, label.unit) if rv is not None else ''}</td>"
            f'<td class="num asym {verdict}">{diff_html}</td>'
            f'<td class="bars">{plots.lr_bars(ln, rn, highlight=verdict == "watch")}</td>'
            f'<td class="meaning">{escape(label.meaning)}</td></tr>'
        )
    table = (
        '<table><thead><tr><th>Measure</th><th class="num left">Standing on left</th>'
        '<th class="num right">Standing on right</th><th class="num">Left − right</th>'
        '<th class="bars"></th><th>What it means</th></tr></thead><tbody>'
        + "".join(rows)
        + "</tbody></table>"
    )
    note = (
        f'<p class="refnote">{NO_NORM_TEXT} Sway RMS and path follow Mancini et al.'
        f"{citer.mark(('mancini2012',))}.</p>"
    )
    traces = []
    for index, task in ((li, left), (ri, right)):
        if task is None:
            continue
        series = data.series[index] if index is not None and index < len(data.series) else None
        trace = stance_trace(task, series, data.kinematics)
        if trace is not None:
            traces.append(
                (
                    trace,
                    lm.get("pelvic_drop_peak_deg")
                    if task is left
                    else rm.get("pelvic_drop_peak_deg"),
                )
            )
    figs = _stance_figures(traces) or _no_plot_note(data)
    missing = _unavailable(left, right)
    when = " ".join(_task_time(t) for t in (left, right) if t is not None)
    return (
        f'<section class="task sls"><h2>{escape(title)}{when}</h2><p class="lead">Standing on '
        "one leg: does the pelvis stay level, and does the trunk lean to compensate? The "
        "drop is measured on the free (lifted) side.</p>"
        + table
        + note
        + figs
        + missing
        + _other_metrics(lm, set(SLS_KEYS) | SLS_HIDDEN, "More measures, standing on left")
        + _other_metrics(rm, set(SLS_KEYS) | SLS_HIDDEN, "More measures, standing on right")
        + "</section>"
    )


def _no_plot_note(data: ReportInput) -> str:
    """Why a section has no plot: a metrics file carries numbers, not time series."""
    if data.kinematics is None and not any(data.series):
        return (
            '<p class="refnote">Plots need the recording: this report was made from a metrics '
            "file (run <code>hipscope report</code> on the .h5 recording to see them).</p>"
        )
    return ""


def _stance_figures(traces: list[tuple[StanceTrace, Any]]) -> str:
    if not traces:
        return ""
    all_values = np.concatenate(
        [t.pelvic_drop_deg for t, _ in traces]
        + [t.trunk_lean_deg for t, _ in traces if t.trunk_lean_deg is not None]
    )
    finite = all_values[np.isfinite(all_values)]
    if finite.size == 0:
        return ""
    lo, hi = float(min(finite.min(), -2.0)), float(max(finite.max(), 6.0))
    pad = 0.08 * (hi - lo)
    figs = []
    for trace, peak in traces:
        color = plots.LEFT_COLOR if trace.side == "left" else plots.RIGHT_COLOR
        markers = []
        if trace.hold_start_s is not None:
            markers.append(plots.Marker(trace.hold_start_s, "hold", plots.NEUTRAL_COLOR))
        if trace.hold_end_s is not None:
            markers.append(plots.Marker(trace.hold_end_s, "", plots.NEUTRAL_COLOR))
        points = []
        peak_v = _num(peak)
        if peak_v is not None and trace.pelvic_drop_deg.size:
            i = int(np.nanargmin(np.abs(trace.pelvic_drop_deg - peak_v)))
            points.append(
                plots.Points(
                    [trace.time_s[i]],
                    [peak_v],
                    f"peak {peak_v:.1f}°",
                    color,
                    shape="diamond",
                    radius=4.5,
                )
            )
        lines = [plots.Line(trace.time_s, trace.pelvic_drop_deg, "pelvic drop", color, 2.0)]
        if trace.trunk_lean_deg is not None:
            lines.append(
                plots.Line(
                    trace.time_s,
                    trace.trunk_lean_deg,
                    "trunk lean",
                    plots.NEUTRAL_COLOR,
                    1.3,
                    dash="5 3",
                )
            )
        svg = plots.line_chart(
            lines=lines,
            points=points,
            markers=markers,
            axes=plots.Axes(
                x_label="time in task (s)",
                x_range=(min(0.0, float(trace.time_s[0])), float(np.ceil(trace.time_s[-1]))),
                y_label="angle (°)",
                y_range=(lo - pad, hi + pad),
                zero_line=True,
            ),
            title=f"Standing on {trace.side or 'one'} leg",
            width=540,
            height=240,
        )
        lean = (
            " and trunk lean towards the stance leg (dashed)"
            if trace.trunk_lean_deg is not None
            else ""
        )
        figs.append(
            f"<figure>{svg}<figcaption>Free-side pelvic drop relative to quiet standing "
            f"(0 = level as in standing){lean}. Vertical dashed lines: the steady hold "
            "analysed.</figcaption></figure>"
        )
    return '<div class="figs">' + "".join(figs) + "</div>"


def _rep_section(index: int, task: Mapping[str, Any], data: ReportInput, citer: _Citer) -> str:
    kind = str(task.get("kind"))
    metrics = task.get("metrics") or {}
    ref = reference_for("hip_lead_ms_median")
    lead = _num(metrics.get("hip_lead_ms_median"))
    summary_rows = []
    for key in REP_SUMMARY:
        label = label_for(key)
        extra = ""
        if key == "hip_lead_ms_median" and ref is not None:
            extra = " " + escape(ref.text) + citer.mark(ref.citations)
        summary_rows.append(
            f"<tr><td>{escape(label.name)}</td>"
            f'<td class="num">{_fmt(key, metrics.get(key))}'
            f"{_pm(key, label.decimals, label.unit) if metrics.get(key) is not None else ''}</td>"
            f'<td class="meaning">{escape(label.meaning)}{extra}</td></tr>'
        )
    reps = metrics.get("repetitions") or []
    rep_rows = []
    for n, rep in enumerate(reps if isinstance(reps, list) else [], start=1):
        if not isinstance(rep, Mapping):
            continue
        # one repetition's lead is within its own noise (docs/VALIDATION.md): no verdict
        rejected = rep.get("rejected")
        tag = f'<span class="tag">not used: {escape(str(rejected))}</span>' if rejected else ""
        cells = "".join(
            f'<td class="num">{format_value(rep.get(k), label_for(k).decimals)}</td>'
            for k in REP_COLUMNS
        )
        rep_rows.append(f'<tr><td class="num">{n}</td>{cells}<td>{tag}</td></tr>')
    header = "".join(f'<th class="num">{escape(REP_HEADERS[k])}</th>' for k in REP_COLUMNS)
    rep_table = (
        f'<h3>Repetitions</h3><table><thead><tr><th class="num">#</th>{header}<th></th></tr>'
        "</thead><tbody>" + "".join(rep_rows) + "</tbody></table>"
        if rep_rows
        else "<p>No repetitions found.</p>"
    )
    series = data.series[index] if index < len(data.series) else None
    traces = rep_traces(task, series, data.kinematics)
    figs = _rep_figures(traces) or (_no_plot_note(data) if reps else "")
    lead_text = f" {_lead_summary(metrics)}" if lead is not None else ""
    return (
        f'<section class="task repsec"><h2>{escape(TASK_TITLES.get(kind, kind))}'
        f'{_task_time(task)}</h2><p class="lead">Hip drive: in the rising phase, does hip '
        "extension (thigh on pelvis) start before the lower back (trunk on pelvis)?"
        f"{escape(lead_text)}</p><table><tbody>"
        + "".join(summary_rows)
        + "</tbody></table>"
        + rep_table
        + figs
        + _unavailable(task)
        + _other_metrics(metrics, set(REP_SUMMARY) | {"repetitions"})
        + "</section>"
    )


def _rep_figures(traces: list[RepTrace]) -> str:
    if not traces:
        return ""
    angle = np.concatenate([np.r_[t.hip_flexion_deg, t.lumbar_flexion_deg] for t in traces])
    vel = np.concatenate([np.r_[t.hip_ext_vel_deg_s, t.lumbar_ext_vel_deg_s] for t in traces])
    a_rng = _padded_range(angle)
    v_rng = _padded_range(vel)
    cells = []
    for trace in traces:
        back_first = trace.lumbar_onset_s is not None and trace.lumbar_onset_s < 0
        markers = [
            plots.Marker(0.0, "hip", plots.HIP_COLOR, anchor="start" if back_first else "end")
        ]
        if trace.lumbar_onset_s is not None:
            markers.append(
                plots.Marker(
                    trace.lumbar_onset_s,
                    "back",
                    plots.LUMBAR_COLOR,
                    anchor="end" if back_first else "start",
                )
            )
        top = plots.line_chart(
            lines=[
                plots.Line(trace.time_s, trace.hip_flexion_deg, "hip flexion", plots.HIP_COLOR),
                plots.Line(
                    trace.time_s, trace.lumbar_flexion_deg, "lumbar flexion", plots.LUMBAR_COLOR
                ),
            ],
            markers=markers,
            axes=plots.Axes(y_label="angle (°)", y_range=a_rng),
            width=340,
            height=170,
        )
        bottom = plots.line_chart(
            lines=[
                plots.Line(trace.time_s, trace.hip_ext_vel_deg_s, "", plots.HIP_COLOR),
                plots.Line(trace.time_s, trace.lumbar_ext_vel_deg_s, "", plots.LUMBAR_COLOR),
            ],
            markers=[plots.Marker(m.x, "", m.color) for m in markers],
            axes=plots.Axes(
                x_label="time from hip onset (s)",
                y_label="extension (°/s)",
                y_range=v_rng,
                zero_line=True,
            ),
            width=340,
            height=150,
        )
        lead = (
            ""
            if trace.lumbar_onset_s is None
            else f" — hip lead {trace.lumbar_onset_s * 1000:+.0f} ms".replace("-", "−")
        )
        cells.append(
            f'<div class="rep"><h4>Rep {trace.index}{escape(lead)}</h4>{top}{bottom}</div>'
        )
    return (
        '<h3>Each repetition</h3><p class="refnote">Top: flexion angles (down = extending). '
        "Bottom: extension speed (up = extending). Vertical lines: onset of hip (green) and "
        'lower-back (purple) extension.</p><div class="repgrid">' + "".join(cells) + "</div>"
    )


def _padded_range(values: np.ndarray) -> tuple[float, float] | None:
    finite = values[np.isfinite(values)]
    if finite.size == 0:
        return None
    lo, hi = float(finite.min()), float(finite.max())
    pad = 0.06 * max(hi - lo, 1.0)
    return lo - pad, hi + pad


def _gait_section(task: Mapping[str, Any], citer: _Citer) -> str:
    metrics = task.get("metrics") or {}
    rows = []
    for lkey, rkey in GAIT_LR:
        label = label_for(lkey)
        ln, rn = _num(metrics.get(lkey)), _num(metrics.get(rkey))
        rows.append(
            f"<tr><td>{escape(label.name)}</td>"
            f'<td class="num left">{_fmt(lkey, metrics.get(lkey))}</td>'
            f'<td class="num right">{_fmt(rkey, metrics.get(rkey))}</td>'
            f'<td class="bars">{plots.lr_bars(ln, rn)}</td>'
            f'<td class="meaning">{escape(label.meaning)}</td></tr>'
        )
    lr_table = (
        '<table><thead><tr><th>Measure</th><th class="num left">Left</th>'
        '<th class="num right">Right</th><th class="bars"></th><th>What it means</th></tr>'
        "</thead><tbody>" + "".join(rows) + "</tbody></table>"
    )
    srows = []
    for key in GAIT_SESSION:
        label = label_for(key)
        value = metrics.get(key)
        ref = reference_for(key)
        verdict: Verdict = ref.judge(_num(value)) if ref is not None else "neutral"
        ref_html = escape(ref.text) + citer.mark(ref.citations) if ref is not None else NO_NORM_TEXT
        badge = (
            _verdict_badge(verdict)
            if ref is not None and ref.upper_abs is not None and _num(value) is not None
            else ""
        )
        srows.append(
            f'<tr class="{"watch" if verdict == "watch" else ""}"><td>{escape(label.name)}</td>'
            f'<td class="num">{_fmt(key, value)}</td><td>{badge}</td>'
            f'<td class="meaning">{escape(label.meaning)}</td>'
            f'<td class="refnote">{ref_html}</td></tr>'
        )
    session_table = (
        '<h3>Rhythm and symmetry</h3><table><thead><tr><th>Measure</th><th class="num">Value'
        "</th><th></th><th>What it means</th><th>Reference</th></tr></thead><tbody>"
        + "".join(srows)
        + "</tbody></table>"
        + f'<p class="refnote">Symmetry index SI = 100 (L − R) / (0.5 (L + R))'
        f"{citer.mark(('siebers2021',))}: 0 = symmetric, positive = left larger.</p>"
    )
    steps = step_series(metrics)
    fig = ""
    if steps is not None:
        svg = plots.line_chart(
            points=[
                plots.Points(
                    steps.contact_time_s["left"],
                    steps.step_time_s["left"],
                    "left steps",
                    plots.LEFT_COLOR,
                    joined=True,
                ),
                plots.Points(
                    steps.contact_time_s["right"],
                    steps.step_time_s["right"],
                    "right steps",
                    plots.RIGHT_COLOR,
                    shape="square",
                    joined=True,
                ),
            ],
            axes=plots.Axes(x_label="session time (s)", y_label="step time (s)", y_min_span=0.1),
            title="Step times over the walk",
            width=700,
            height=250,
        )
        fig = (
            f'<div class="figs"><figure>{svg}<figcaption>Each point is one step, ending at '
            "that foot's initial contact. Two separate bands mean one side's steps are "
            "consistently longer.</figcaption></figure></div>"
        )
    return (
        f'<section class="task gait"><h2>Walking{_task_time(task)}</h2><p class="lead">Gait '
        "symmetry: is the rhythm even between left and right, and do both thighs swing "
        "the same?</p>"
        + lr_table
        + session_table
        + fig
        + _unavailable(task)
        + _other_metrics(
            metrics, {k for pair in GAIT_LR for k in pair} | set(GAIT_SESSION) | GAIT_HIDDEN
        )
        + "</section>"
    )


def _generic_section(task: Mapping[str, Any]) -> str:
    kind = str(task.get("kind", ""))
    metrics = task.get("metrics") or {}
    rows = "".join(
        f'<tr><td>{escape(label_for(k).name)}</td><td class="num">{_fmt(k, v)}</td>'
        f'<td class="meaning">{escape(label_for(k).meaning)}</td></tr>'
        for k, v in metrics.items()
        if not isinstance(v, dict | list)
    )
    side = str(task.get("side") or "")
    title = TASK_TITLES.get(kind, kind.replace("_", " ").capitalize())
    if side:
        title += f" — {side}"
    lead = (
        "Reference posture for everything else: angles are measured relative to this standing."
        if kind == "static"
        else ""
    )
    return (
        f'<section class="task generic"><h2>{escape(title)}{_task_time(task)}</h2>'
        + (f'<p class="lead">{escape(lead)}</p>' if lead else "")
        + (f"<table><tbody>{rows}</tbody></table>" if rows else "<p>No measures.</p>")
        + _unavailable(task)
        + "</section>"
    )


# --------------------------------------------------------------------------- the page


def render_report(source: Any, *, athlete: str | None = None) -> str:
    """The complete HTML report as a string (see the module docstring for ``source``)."""
    data = source if isinstance(source, ReportInput) else report_input(source)
    doc = data.doc
    rec = doc.get("recording") or {}
    name = athlete if athlete is not None else str(rec.get("athlete") or "")
    citer = _Citer()
    tasks: list[Mapping[str, Any]] = [t for t in doc.get("tasks") or [] if isinstance(t, Mapping)]
    body: list[str] = [_glance(doc, citer)]
    sls = [(i, t) for i, t in enumerate(tasks) if t.get("kind") == "single_leg_stance"]
    sls_done = False
    static: list[str] = []
    for index, task in enumerate(tasks):
        kind = task.get("kind")
        if kind == "single_leg_stance":
            if not sls_done:
                pairs = _sls_pairs(sls)
                for number, pair in enumerate(pairs, start=1):
                    body.append(_sls_section(pair, data, citer, number, len(pairs)))
                sls_done = True
        elif kind in REP_KINDS:
            body.append(_rep_section(index, task, data, citer))
        elif kind == "gait":
            body.append(_gait_section(task, citer))
        elif kind == "static":
            static.append(_generic_section(task))  # the reference posture: after the screens
        else:
            body.append(_generic_section(task))
    body.extend(static)
    if not tasks:
        body.append("<section><h2>No tasks</h2><p>This recording has no task rows.</p></section>")
    body.append(_quality(doc))
    body.append(citer.html())
    software = escape(str(doc.get("software", "hipscope")))
    title = f"hipscope report — {name}" if name else "hipscope report"
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{escape(title)}</title><style>{CSS}</style></head><body>"
        + _header(doc, name)
        + "<main>"
        + "".join(body)
        + f"<footer>Generated by {software}. A movement screen supports coaching decisions; "
        "it is not a medical diagnosis.</footer></main></body></html>\n"
    )


def write_report(source: Any, out_path: str | Path, *, athlete: str | None = None) -> Path:
    """Render and write the report; returns the path written."""
    out = Path(out_path)
    html = render_report(source, athlete=athlete)
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(html, encoding="utf-8")
    except OSError as error:
        raise HipscopeError(f"{out}: cannot write the report ({error.strerror})") from None
    return out
