"""One metrics document (``processing/contract.py``) -> tidy rows, one per task.

Every scalar metric (number, string, bool, null) becomes a column under its own key. Lists
are not spread into columns: per-repetition tables (``repetitions``) are summarised by the
statistics in ``REPETITION_SUMMARIES`` (e.g. ``hip_lead_ms_sd``), lists of numbers (the
gait's initial-contact times) are left to the ``task_json`` column, which holds the task's
complete ``metrics`` and ``unavailable`` as JSON so nothing is lost. Nested dicts are
flattened one level as ``<key>_<subkey>``.
"""

from __future__ import annotations

import json
import math
import statistics
from collections.abc import Mapping
from typing import Any

from hipscope.processing.contract import MetricsDocument, as_document

RECORDING_COLUMNS = (
    "session_id",
    "athlete",
    "created_utc",
    "created_date",
    "recording_duration_s",
    "placements",
    "lost_samples",
    "calibration_method",
)
TASK_COLUMNS = ("task_index", "kind", "side", "start_s", "end_s", "task_duration_s")
TRAILING_COLUMNS = ("unavailable", "task_json")

REPETITION_SUMMARIES: dict[str, tuple[str, ...]] = {
    "hip_lead_ms": ("mean", "sd", "min", "max"),
    "peak_hip_ext_vel_deg_s": ("median",),
    "time_to_peak_hip_ext_vel_s": ("median",),
    "hip_ext_deg": ("median",),
    "lumbar_ext_deg": ("median",),
}
"""Per-repetition fields summarised into columns ``<field>_<statistic>`` (sd: sample SD)."""

Scalar = str | int | float | bool | None


def _scalar(value: Any) -> bool:
    return value is None or isinstance(value, str | int | float | bool)


def _finite(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    x = float(value)
    return x if math.isfinite(x) else None


def _stat(values: list[float], name: str) -> float | None:
    if not values:
        return None
    if name == "mean":
        result = statistics.fmean(values)
    elif name == "median":
        result = statistics.median(values)
    elif name == "sd":
        if len(values) < 2:
            return None
        result = statistics.stdev(values)
    elif name == "min":
        result = min(values)
    elif name == "max":
        result = max(values)
    else:
        raise ValueError(f"unknown statistic {name!r}")
    return round(result, 4)


def _summarise_rows(rows: list[Any]) -> dict[str, Scalar]:
    out: dict[str, Scalar] = {}
    dicts = [r for r in rows if isinstance(r, Mapping)]
    for field, stats in REPETITION_SUMMARIES.items():
        if not any(field in r for r in dicts):
            continue
        values = [v for r in dicts if (v := _finite(r.get(field))) is not None]
        for name in stats:
            out[f"{field}_{name}"] = _stat(values, name)
    return out


def flatten_metrics(metrics: Mapping[str, Any]) -> dict[str, Scalar]:
    """The scalar columns of one task's ``metrics`` (see the module docstring)."""
    out: dict[str, Scalar] = {}
    for key, value in metrics.items():
        if _scalar(value):
            out[key] = None if isinstance(value, float) and not math.isfinite(value) else value
        elif isinstance(value, Mapping):
            for sub, item in value.items():
                if _scalar(item):
                    out[f"{key}_{sub}"] = item
        elif isinstance(value, list) and value and all(isinstance(v, Mapping) for v in value):
            for column, item in _summarise_rows(value).items():
                out.setdefault(column, item)
    return out


def _recording_columns(doc: MetricsDocument) -> dict[str, Scalar]:
    rec = doc.recording
    created = rec.created_utc
    return {
        "session_id": rec.session_id,
        "athlete": rec.athlete,
        "created_utc": created,
        "created_date": created[:10] if len(created) >= 10 else None,
        "recording_duration_s": rec.duration_s,
        "placements": ",".join(sorted(rec.sensors)),
        "lost_samples": sum(sensor.lost_samples for sensor in rec.sensors.values()),
        "calibration_method": doc.calibration.method,
    }


def task_rows(document: MetricsDocument | Mapping[str, Any]) -> list[dict[str, Scalar]]:
    """Rows of one recording's metrics document: one per task, in the recording's order.

    The document passes the metrics contract first (a dict that breaks it gives one
    ``MetricsError`` line). A recording without task rows gives one row whose task columns
    are null, so every analysed file appears in the table. Metric keys that clash with the
    fixed columns are prefixed ``metric_``.
    """
    doc = as_document(document)
    base = _recording_columns(doc)
    fixed = set(RECORDING_COLUMNS) | set(TASK_COLUMNS) | set(TRAILING_COLUMNS)
    if not doc.tasks:
        return [{**base, **dict.fromkeys(TASK_COLUMNS)}]
    rows = []
    for index, task in enumerate(doc.tasks):
        start, end = task.start_s, task.end_s
        row: dict[str, Scalar] = {
            **base,
            "task_index": index,
            "kind": task.kind,
            "side": task.side,
            "start_s": start,
            "end_s": end,
            "task_duration_s": None if start is None or end is None else round(end - start, 4),
        }
        metrics = task.metrics.model_dump(mode="json", exclude_unset=True)
        for key, value in flatten_metrics(metrics).items():
            row[f"metric_{key}" if key in fixed else key] = value
        unavailable = task.unavailable
        row["unavailable"] = "; ".join(f"{k}: {v}" for k, v in sorted(unavailable.items()))
        row["task_json"] = json.dumps(
            {"metrics": metrics, "unavailable": unavailable},
            allow_nan=False,
            separators=(",", ":"),
        )
        rows.append(row)
    return rows
