"""The coaching report: one self-contained HTML file from a session analysis.

``render_report`` accepts a ``SessionAnalysis`` (from ``hipscope.processing.pipeline``), a
``MetricsDocument`` of the contract (``processing/contract.py``), a metrics JSON file or its
dict; everything is validated by the contract on the way in. With a
``SessionAnalysis`` the plots use the task series (or the session kinematics); a bare JSON
still gives every table and the step-time plot. Styles and plots (SVG) are inline, there is
no JavaScript. The markup lives in jinja2 templates (``processing/report/templates/``) with
autoescaping: this module computes what to show, every string that came from a user or a
file reaches the page as text, and only hipscope's own SVG charts are ``Markup``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np
from markupsafe import Markup

from hipscope.base import tasks as task_registry
from hipscope.base.atomic import atomic_write_text
from hipscope.base.errors import HipscopeError
from hipscope.processing.contract import (
    GaitMetrics,
    HipDriveMetrics,
    MetricsDocument,
    SingleLegStanceMetrics,
    TaskMetrics,
    TaskResult,
    as_document,
)
from hipscope.processing.report import plots
from hipscope.processing.report.cue_section import cue_section
from hipscope.processing.report.labels import format_value, label_for
from hipscope.processing.report.references import (
    CITATIONS,
    NO_NORM_TEXT,
    Verdict,
    reference_for,
    reference_text,
    verdict_for,
)
from hipscope.processing.report.style import CSS
from hipscope.processing.report.templating import render
from hipscope.processing.report.traces import (
    RepTrace,
    StanceTrace,
    rep_traces,
    stance_trace,
    step_series,
)
from hipscope.processing.uncertainty import plus_minus, plus_minus_note

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
    ("pelvic_drop_single_support_left_deg", "pelvic_drop_single_support_right_deg"),
    ("hip_flexion_peak_left_deg", "hip_flexion_peak_right_deg"),
    ("hip_extension_peak_left_deg", "hip_extension_peak_right_deg"),
    ("hip_sagittal_range_left_deg", "hip_sagittal_range_right_deg"),
    ("n_steps_left", "n_steps_right"),
)
GAIT_SESSION = (
    "step_time_si_pct",
    "stance_time_si_pct",
    "swing_time_si_pct",
    "thigh_rom_si_pct",
    "pelvic_obliquity_range_deg",
    "stride_time_s",
    "cadence_steps_min",
    "step_regularity",
    "stride_regularity",
    "harmonic_ratio_vertical",
)
GAIT_HIDDEN = {"initial_contacts_left_s", "initial_contacts_right_s", "turns_s"}
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
    "rejected",
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
    "rejected": "Not used because",
}


@dataclass(frozen=True)
class ReportInput:
    """What the report draws from: the validated metrics document, per-task series and
    kinematics."""

    document: MetricsDocument
    series: Sequence[Mapping[str, Any] | None]
    kinematics: Any | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.document, MetricsDocument):
            object.__setattr__(self, "document", as_document(self.document))


def report_input(source: Any) -> ReportInput:
    """Normalise a ``SessionAnalysis``, a ``MetricsDocument``, a metrics dict or a metrics
    JSON path; the contract validates each (one-line ``MetricsError`` otherwise)."""
    if hasattr(source, "to_document") and hasattr(source, "tasks"):
        series = [getattr(task, "series", None) for task in source.tasks]
        return ReportInput(source.to_document(), series, getattr(source, "kinematics", None))
    if not isinstance(source, MetricsDocument | Mapping | str | Path):
        raise HipscopeError(f"cannot build a report from {type(source).__name__}")
    return ReportInput(as_document(source), [])


# --------------------------------------------------------------------------- small pieces


def _num(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    value = float(value)
    return value if math.isfinite(value) else None


class _Citer:
    """Numbers citations in order of first use, for ``[n]`` marks and the reference list."""

    def __init__(self) -> None:
        self.order: list[str] = []

    def mark(self, keys: Sequence[str]) -> Markup:
        numbers = []
        for key in keys:
            if key not in CITATIONS:
                continue
            if key not in self.order:
                self.order.append(key)
            numbers.append(self.order.index(key) + 1)
        return render("cite.html.j2", numbers=numbers).strip()

    def html(self) -> Markup:
        items = [(n, CITATIONS[key].full) for n, key in enumerate(self.order, start=1)]
        return render("references.html.j2", items=items)


def _fmt(key: str, value: Any) -> str:
    label = label_for(key)
    return format_value(value, label.decimals, label.unit)


def _when(iso: str) -> str:
    try:
        moment = datetime.fromisoformat(str(iso).replace("Z", "+00:00"))
    except ValueError:
        return str(iso)
    return moment.strftime("%d %b %Y, %H:%M UTC" if moment.tzinfo else "%d %b %Y, %H:%M")


def _times(task: TaskResult) -> tuple[float | None, float | None]:
    return _num(task.start_s), _num(task.end_s)


def _values(metrics: TaskMetrics) -> dict[str, Any]:
    """A task's metrics as the analyser set them, in the model's field order (for the
    tables that show every measure)."""
    return metrics.model_dump(mode="json", exclude_unset=True)


def _unavailable(*tasks: TaskResult | None) -> list[tuple[str, str]]:
    """The "not available" reasons of one or more tasks, each distinct line once."""
    lines: list[tuple[str, str]] = []
    for task in tasks:
        for key, reason in (task.unavailable if task is not None else {}).items():
            line = (label_for(key).name, reason)
            if line not in lines:
                lines.append(line)
    return lines


def _other_metrics(metrics: TaskMetrics | None, shown: set[str]) -> list[tuple[str, str]]:
    """(name, value) of the metrics a section does not show in its own tables."""
    if metrics is None:
        return []
    rows = []
    for key, value in _values(metrics).items():
        if key in shown or isinstance(value, dict):
            continue
        if isinstance(value, list) and value and isinstance(value[0], dict):
            continue
        rows.append((label_for(key).name, _fmt(key, value)))
    return rows


# --------------------------------------------------------------------------- sections


def _header_rows(doc: MetricsDocument) -> list[tuple[str, str]]:
    rec = doc.recording
    rows = [
        ("Recorded", _when(rec.created_utc)),
        ("Duration", format_value(_num(rec.duration_s), 0, "s")),
        ("Session", rec.session_id),
        ("File", rec.file_name or rec.path),
    ]
    return [(k, v) for k, v in rows if v]


def _si_interval(metrics: GaitMetrics) -> str:
    """The step-time SI's bootstrap 95 % interval, or why there is none."""
    ci = metrics.step_time_si_ci95_pct
    if ci is not None and len(ci) == 2:
        low, high = (f"{v:+.1f}".replace("-", "−") for v in ci)
        return f" (strides: 95 % CI {low} to {high})"
    state = metrics.step_time_si_state
    return f" ({state})" if state and state != "ok" else ""


def _cite_if_judged(metric: str, verdict: Verdict, citer: _Citer) -> Markup:
    """The citation mark of the norm that coloured a number (nothing for a neutral one)."""
    ref = reference_for(metric)
    return citer.mark(ref.citations) if ref is not None and verdict != "neutral" else Markup("")


def _glance(doc: MetricsDocument, citer: _Citer) -> list[dict[str, Any]]:
    cards: list[dict[str, Any]] = []
    left, right = _first_sls_pair(doc.tasks)
    if left or right:
        # one definition of the left-right difference: the mean drops over the steady holds
        lv = _stance(left).pelvic_drop_mean_deg
        rv = _stance(right).pelvic_drop_mean_deg
        verdict: Verdict = "neutral"
        note = "Mean drop of the free side over the steady hold, standing on each leg."
        cite, after = Markup(""), ""
        if lv is not None and rv is not None:
            verdict = verdict_for("pelvic_drop_lr_diff_deg", lv - rv)
            difference = f"{lv - rv:+.1f}°".replace("-", "−")
            note = (
                f"Mean drop over the steady hold; left − right {difference}"
                f"{_pm('pelvic_drop_lr_diff_deg', 1, '°')}. "
                f"{reference_text('pelvic_drop_lr_diff_deg')}"
            )
            cite = _cite_if_judged("pelvic_drop_lr_diff_deg", verdict, citer)
        cards.append(
            {
                "what": "Pelvic drop (single-leg stance)",
                "left": _with_pm(lv, "pelvic_drop_mean_deg", 1, "°"),
                "right": _with_pm(rv, "pelvic_drop_mean_deg", 1, "°"),
                "note": note,
                "cite": cite,
                "note_after": after,
                "verdict": verdict,
            }
        )
    for task in doc.tasks:
        if _section(task.kind) == "repetitions" and isinstance(task.metrics, HipDriveMetrics):
            lead = task.metrics.hip_lead_ms_median
            text = _with_pm(lead, "hip_lead_ms_median", 0, "ms", task.kind)
            note = _lead_summary(task.metrics)
            cards.append(_card(f"Hip lead ({task.title})", text, note, "neutral"))
    for task in doc.tasks:
        if _section(task.kind) == "gait" and isinstance(task.metrics, GaitMetrics):
            si = task.metrics.step_time_si_pct
            card = _card(
                "Walking rhythm",
                _with_pm(si, "step_time_si_pct", 1, "%", contacts=task.metrics.contact_source),
                f"Step-time symmetry index. {reference_text('step_time_si_pct')}",
                verdict_for("step_time_si_pct", si),
            )
            card["cite"] = _cite_if_judged("step_time_si_pct", card["verdict"], citer)
            cards.append(card)
            break
    sensors = doc.recording.sensors
    if sensors:
        lost = sum(s.lost_samples for s in sensors.values())
        gaps = sum(len(s.gaps) for s in sensors.values())
        verdict = "typical" if lost == 0 and gaps == 0 else "watch"
        received = sum(s.n_samples for s in sensors.values())
        note = (
            "Complete data, no lost samples."
            if verdict == "typical"
            else f"{lost} samples lost ({_share(lost, received)}) in {gaps} gaps — see data "
            "quality."
        )
        cards.append(_card("Data quality", f"{len(sensors)} sensors", note, verdict))
    return cards


def _pm(
    key: str, decimals: int, unit: str, kind: str | None = None, contacts: str | None = None
) -> str:
    """ " ± x": hipscope's own 95 % error (``processing/uncertainty.py``), or ""."""
    text = plus_minus(key, decimals, unit, kind, contacts)
    return f" {text}" if text else ""


def _with_pm(
    value: Any,
    key: str,
    decimals: int,
    unit: str,
    kind: str | None = None,
    contacts: str | None = None,
) -> str:
    """A value with its " ± x" where its error was measured (not beside a dash)."""
    text = format_value(value, decimals, unit)
    return text + _pm(key, decimals, unit, kind, contacts) if value is not None else text


def _lead_summary(metrics: HipDriveMetrics) -> str:
    """The median lead, its spread, how many reps gave it, and the verdict."""
    lead = metrics.hip_lead_ms_median
    if lead is None:
        return "Hip lead could not be measured."
    valid, count = metrics.valid_rep_count, metrics.rep_count
    q1, q3, zone = metrics.hip_lead_ms_q1, metrics.hip_lead_ms_q3, metrics.hip_lead_zone_ms
    spread = f", quartiles {q1:+.0f} to {q3:+.0f} ms" if q1 is not None and q3 is not None else ""
    reps = f"{valid} of {count} repetitions" if valid is not None else f"{count} repetitions"
    within = f" (within ±{zone:.0f} ms of 0 is unclear)" if zone is not None else ""
    verdict = metrics.hip_lead_verdict or "unclear"
    text = f"Median hip lead {lead:+.0f} ms over {reps}{spread}: {verdict}{within}."
    return text.replace("-", "−")


def _card(what: str, value: str, note: str, verdict: Verdict) -> dict[str, Any]:
    return {
        "what": what,
        "value": value,
        "note": note,
        "cite": Markup(""),
        "note_after": "",
        "verdict": verdict,
    }


def _share(lost: int, received: int) -> str:
    """Lost samples as a percentage of all samples the sensors sent."""
    total = lost + received
    if total <= 0:
        return "–"
    share = 100.0 * lost / total
    return f"{share:.1f} %" if share >= 0.1 or share == 0 else f"{share:.2f} %"


def _quality(doc: MetricsDocument) -> Markup:
    sensors = []
    for placement, info in doc.recording.sensors.items():
        gaps = len(info.gaps)
        sensors.append(
            {
                "placement": placement.replace("_", " "),
                "device": info.device_name,
                "profile": info.profile,
                "rate": format_value(_num(info.rate_hz), 1, "Hz"),
                "samples": format_value(info.n_samples, 0),
                "complete": info.lost_samples == 0 and gaps == 0,
                "lost": info.lost_samples,
                "share": _share(info.lost_samples, info.n_samples),
                "gaps": gaps,
            }
        )
    cal = doc.calibration
    axis_sources = [(k.replace("_", " "), v) for k, v in cal.mediolateral_axis_source.items()]
    calibration = {
        "method": cal.method,
        "window_s": _num(cal.window_s),
        "window_start_s": _num(cal.window_start_s),
        "window_end_s": _num(cal.window_end_s),
        "misalignment": [
            (k.replace("_", " "), format_value(_num(v), 1, "°"))
            for k, v in cal.misalignment_deg.items()
        ],
        "notes": cal.notes,
        "more": [("Mediolateral axis source", axis_sources)] if axis_sources else [],
    }
    return render("quality.html.j2", sensors=sensors, calibration=calibration)


def _section(kind: str) -> task_registry.ReportSection:
    """The report section of a task kind (its registry record's; generic if unknown)."""
    record = task_registry.find(kind)
    return record.report_section if record is not None else "generic"


def _stance(task: TaskResult | None) -> SingleLegStanceMetrics:
    """A stance task's metrics (empty for a missing side)."""
    if task is not None and isinstance(task.metrics, SingleLegStanceMetrics):
        return task.metrics
    return SingleLegStanceMetrics()


def _first_sls_pair(
    tasks: Sequence[TaskResult],
) -> tuple[TaskResult | None, TaskResult | None]:
    stances = [t for t in tasks if _section(t.kind) == "stance"]
    left = next((t for t in stances if t.side == "left"), None)
    right = next((t for t in stances if t.side == "right"), None)
    return left, right


Indexed = tuple[int, TaskResult]


def _sls_pairs(indexed: list[Indexed]) -> list[tuple[Indexed | None, Indexed | None]]:
    lefts = [it for it in indexed if it[1].side == "left"]
    rights = [it for it in indexed if it[1].side == "right"]
    others = [it for it in indexed if it[1].side not in ("left", "right")]
    n = max(len(lefts), len(rights))
    pairs: list[tuple[Indexed | None, Indexed | None]] = [
        (lefts[i] if i < len(lefts) else None, rights[i] if i < len(rights) else None)
        for i in range(n)
    ]
    pairs.extend((it, None) for it in others)
    return pairs


def _sls_section(
    pair: tuple[Indexed | None, Indexed | None],
    data: ReportInput,
    citer: _Citer,
    number: int,
    total: int,
) -> Markup:
    li, left = pair[0] if pair[0] is not None else (None, None)
    ri, right = pair[1] if pair[1] is not None else (None, None)
    lm, rm = _stance(left), _stance(right)
    either = left if left is not None else right
    kind = either.kind if either is not None else "single_leg_stance"
    title = task_registry.title(kind) + (f" ({number} of {total})" if total > 1 else "")
    rows = []
    for key in SLS_KEYS:
        lv, rv = getattr(lm, key), getattr(rm, key)
        if (
            lv is None
            and rv is None
            and key not in ("pelvic_drop_peak_deg", "pelvic_drop_mean_deg")
        ):
            continue
        label = label_for(key)
        diff = lv - rv if lv is not None and rv is not None else None
        # one definition of the left-right difference: the mean drops over the holds
        verdict: Verdict = (
            verdict_for("pelvic_drop_lr_diff_deg", diff)
            if key == "pelvic_drop_mean_deg"
            else "neutral"
        )
        rows.append(
            {
                "name": label.name,
                "left": _with_pm(lv, key, label.decimals, label.unit),
                "right": _with_pm(rv, key, label.decimals, label.unit),
                "diff": "–" if diff is None else format_value(diff, label.decimals, label.unit),
                "cite": _cite_if_judged("pelvic_drop_lr_diff_deg", verdict, citer),
                "verdict": verdict,
                "bars": plots.lr_bars(_num(lv), _num(rv), highlight=verdict == "watch"),
                "meaning": label.meaning,
            }
        )
    sway_cite = citer.mark(("mancini2012",))
    traces = []
    for index, task in ((li, left), (ri, right)):
        if task is None:
            continue
        series = data.series[index] if index is not None and index < len(data.series) else None
        trace = stance_trace(task, series, data.kinematics)
        if trace is not None:
            traces.append((trace, _stance(task).pelvic_drop_peak_deg))
    figures = _stance_figures(traces)
    return render(
        "stance.html.j2",
        title=title,
        times=[_times(t) for t in (left, right) if t is not None],
        rows=rows,
        no_norm=NO_NORM_TEXT,
        sway_cite=sway_cite,
        figures=figures,
        no_plot=Markup("") if figures else _no_plot_note(data),
        missing=_unavailable(left, right),
        more_left=_other_metrics(left.metrics if left else None, set(SLS_KEYS) | SLS_HIDDEN),
        more_right=_other_metrics(right.metrics if right else None, set(SLS_KEYS) | SLS_HIDDEN),
    )


def _no_plot_note(data: ReportInput) -> Markup:
    """Why a section has no plot: a metrics file carries numbers, not time series."""
    return render("no_plot.html.j2", show=data.kinematics is None and not any(data.series))


def _stance_figures(traces: list[tuple[StanceTrace, Any]]) -> list[tuple[Markup, bool]]:
    """(chart, has trunk lean) per stance trace."""
    if not traces:
        return []
    all_values = np.concatenate(
        [t.pelvic_drop_deg for t, _ in traces]
        + [t.trunk_lean_deg for t, _ in traces if t.trunk_lean_deg is not None]
    )
    finite = all_values[np.isfinite(all_values)]
    if finite.size == 0:
        return []
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
        figs.append((svg, trace.trunk_lean_deg is not None))
    return figs


def _rep_section(index: int, task: TaskResult, data: ReportInput, citer: _Citer) -> Markup:
    metrics = task.metrics if isinstance(task.metrics, HipDriveMetrics) else HipDriveMetrics()
    ref = reference_for("hip_lead_ms_median")
    lead = metrics.hip_lead_ms_median
    summary = []
    for key in REP_SUMMARY:
        label = label_for(key)
        with_ref = key == "hip_lead_ms_median" and ref is not None
        summary.append(
            {
                "name": label.name,
                "value": _with_pm(
                    getattr(metrics, key), key, label.decimals, label.unit, task.kind
                ),
                "meaning": label.meaning,
                "reference": ref.text if with_ref and ref is not None else "",
                "cite": citer.mark(ref.citations) if with_ref and ref is not None else "",
            }
        )
    reps = []
    for n, rep in enumerate(metrics.repetitions, start=1):
        # one repetition's lead is within its own noise (docs/VALIDATION.md): no per-rep
        # verdict; a rejected repetition says why
        tag = ""
        cells = [format_value(getattr(rep, k), label_for(k).decimals) for k in REP_COLUMNS]
        reps.append({"number": n, "cells": cells, "tag": tag})
    series = data.series[index] if index < len(data.series) else None
    traces = _rep_figures(rep_traces(task, series, data.kinematics))
    lead_text = f" {_lead_summary(metrics)}" if lead is not None else ""
    start_s, end_s = _times(task)
    return render(
        "repetitions.html.j2",
        title=task.title,
        start_s=start_s,
        end_s=end_s,
        lead_text=lead_text,
        summary=summary,
        headers=[REP_HEADERS[k] for k in REP_COLUMNS],
        reps=reps,
        traces=traces,
        no_plot=_no_plot_note(data) if reps and not traces else Markup(""),
        missing=_unavailable(task),
        more=_other_metrics(task.metrics, set(REP_SUMMARY) | {"repetitions"}),
    )


def _rep_figures(traces: list[RepTrace]) -> list[dict[str, Any]]:
    if not traces:
        return []
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
        cells.append({"index": trace.index, "lead": lead, "top": top, "bottom": bottom})
    return cells


def _padded_range(values: np.ndarray) -> tuple[float, float] | None:
    finite = values[np.isfinite(values)]
    if finite.size == 0:
        return None
    lo, hi = float(finite.min()), float(finite.max())
    pad = 0.06 * max(hi - lo, 1.0)
    return lo - pad, hi + pad


def _gait_section(task: TaskResult, citer: _Citer) -> Markup:
    metrics = task.metrics if isinstance(task.metrics, GaitMetrics) else GaitMetrics()
    sides = []
    for lkey, rkey in GAIT_LR:
        label = label_for(lkey)
        lv, rv = getattr(metrics, lkey), getattr(metrics, rkey)
        sides.append(
            {
                "name": label.name,
                "left": _fmt(lkey, lv),
                "right": _fmt(rkey, rv),
                "bars": plots.lr_bars(_num(lv), _num(rv)),
                "meaning": label.meaning,
            }
        )
    session = []
    for key in GAIT_SESSION:
        label = label_for(key)
        value = getattr(metrics, key)
        ref = reference_for(key)
        verdict: Verdict = verdict_for(key, _num(value))
        shown = _fmt(key, value)
        if key == "step_time_si_pct":
            # the ± (error against the feet) and the strides' interval answer different
            # questions; both are shown, the wider one first
            pm = _pm(key, 1, "%", contacts=metrics.contact_source)
            shown += (pm if value is not None else "") + _si_interval(metrics)
        session.append(
            {
                "name": label.name,
                "value": shown,
                "verdict": verdict,
                "badge": ref is not None and ref.upper_abs is not None and _num(value) is not None,
                "meaning": label.meaning,
                "reference": reference_text(key),
                "cite": citer.mark(ref.citations) if ref is not None else "",
            }
        )
    si_cite = citer.mark(("siebers2021",))
    steps = step_series(metrics)
    steps_svg = None
    if steps is not None:
        steps_svg = plots.line_chart(
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
            spans=[
                plots.Span(start, end, "turn (left out of the symmetry index)")
                for start, end in metrics.turns_s
            ],
            axes=plots.Axes(x_label="session time (s)", y_label="step time (s)", y_min_span=0.1),
            title="Step times over the walk",
            width=700,
            height=250,
        )
    start_s, end_s = _times(task)
    return render(
        "gait.html.j2",
        title=task.title,
        start_s=start_s,
        end_s=end_s,
        sides=sides,
        session=session,
        si_cite=si_cite,
        steps_svg=steps_svg,
        missing=_unavailable(task),
        more=_other_metrics(
            task.metrics, {k for pair in GAIT_LR for k in pair} | set(GAIT_SESSION) | GAIT_HIDDEN
        ),
    )


def _generic_section(task: TaskResult) -> Markup:
    rows = [
        (label_for(k).name, _fmt(k, v), label_for(k).meaning)
        for k, v in _values(task.metrics).items()
        if not isinstance(v, dict | list)
    ]
    record = task.record
    lead = (
        "Reference posture for everything else: angles are measured relative to this standing."
        if _section(task.kind) == "reference"
        else "Recorded, no metrics: hipscope does not analyse this task kind yet."
        if record is not None and not record.has_metrics
        else ""
    )
    start_s, end_s = _times(task)
    return render(
        "generic.html.j2",
        title=task.title,
        start_s=start_s,
        end_s=end_s,
        lead=lead,
        rows=rows,
        missing=_unavailable(task),
    )


# --------------------------------------------------------------------------- the page


def render_report(source: Any, *, athlete: str | None = None) -> str:
    """The complete HTML report as a string (see the module docstring for ``source``)."""
    data = source if isinstance(source, ReportInput) else report_input(source)
    doc = data.document
    name = athlete if athlete is not None else doc.recording.athlete
    citer = _Citer()
    cards = _glance(doc, citer)
    sections: list[Markup] = []
    sls = [(i, t) for i, t in enumerate(doc.tasks) if _section(t.kind) == "stance"]
    sls_done = False
    static: list[Markup] = []
    for index, task in enumerate(doc.tasks):
        section = _section(task.kind)
        if section == "stance":
            if not sls_done:
                pairs = _sls_pairs(sls)
                for number, pair in enumerate(pairs, start=1):
                    sections.append(_sls_section(pair, data, citer, number, len(pairs)))
                sls_done = True
        elif section == "repetitions":
            sections.append(_rep_section(index, task, data, citer))
        elif section == "gait":
            sections.append(_gait_section(task, citer))
        elif section == "reference":
            static.append(_generic_section(task))  # the reference posture: after the screens
        else:
            sections.append(_generic_section(task))
    sections.extend(static)
    quality = _quality(doc)
    return str(
        render(
            "report.html.j2",
            title=f"hipscope report — {name}" if name else "hipscope report",
            css=Markup(CSS),
            athlete=name,
            header_rows=_header_rows(doc),
            cards=cards,
            sections=sections,
            has_tasks=bool(doc.tasks),
            cues=cue_section(doc),
            pm_note=plus_minus_note(),
            quality=quality,
            references=citer.html(),
            software=doc.software,
        )
    )


def write_report(source: Any, out_path: str | Path, *, athlete: str | None = None) -> Path:
    """Render and write the report; returns the path written."""
    out = Path(out_path)
    html = render_report(source, athlete=athlete)
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        atomic_write_text(out, html)
    except OSError as error:
        raise HipscopeError(f"{out}: cannot write the report ({error.strerror})") from None
    return out
