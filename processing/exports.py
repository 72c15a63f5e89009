"""Spreadsheet-friendly CSV tables of a session's metrics: one file per table.

Tables (``<recording stem>_<table>.csv``): ``static`` and ``single_leg_stance`` (one row per
task / hold), ``hip_hinge`` / ``hip_bridge`` / ``squat`` (one row per repetition), ``gait``
(one row per walk, scalar metrics) and ``gait_steps`` (one row per initial contact). Every
row starts with the file, athlete, session, task number, kind and side. Written with the
csv module (strings always quoted, numbers bare, missing values empty), UTF-8 with a byte
order mark so spreadsheet programs read names correctly; text that a spreadsheet would run
as a formula (leading = + - @) is prefixed with an apostrophe.
"""

from __future__ import annotations

import csv
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from hipscope.base import tasks as task_registry
from hipscope.base.atomic import atomic_open
from hipscope.base.errors import HipscopeError

if TYPE_CHECKING:
    from hipscope.processing.pipeline import SessionAnalysis

LEADING = (
    "file_name",
    "athlete",
    "session_id",
    "task",
    "kind",
    "side",
    "task_start_s",
    "task_end_s",
)
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


def spreadsheet_text(text: str) -> str:
    """Text a spreadsheet shows as text: a leading = + - @ tab or CR (a formula such as
    ``=HYPERLINK(...)`` or ``=cmd|...``) gets an apostrophe in front. The one guard of every
    CSV hipscope writes (``hipscope analyze --csv`` and ``hipscope batch --csv``)."""
    if text.startswith(FORMULA_PREFIXES):
        return "'" + text
    return text


def _cell(value: Any) -> Any:
    if value is None:
        return ""
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, int | float):
        return value
    return spreadsheet_text(str(value))


def _scalars(values: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in values.items() if not isinstance(v, list | dict | tuple)}


def session_tables(analysis: SessionAnalysis) -> dict[str, list[dict[str, Any]]]:
    """Table name -> rows (dicts in column order) for one analysed session."""
    rec = analysis.recording
    tables: dict[str, list[dict[str, Any]]] = {}
    for number, result in enumerate(analysis.tasks, start=1):
        task = result.task
        lead = {
            "file_name": Path(rec.path).name,
            "athlete": rec.athlete,
            "session_id": rec.session_id,
            "task": number,
            "kind": task.kind,
            "side": task.side,
            "task_start_s": round(task.start_s, 4),
            "task_end_s": round(task.end_s, 4),
        }
        if task_registry.get(task.kind).family == "gait":
            tables.setdefault("gait", []).append({**lead, **_scalars(result.metrics)})
            for row in result.rows:
                tables.setdefault("gait_steps", []).append({**lead, **_scalars(row)})
        elif result.rows:
            for row in result.rows:
                tables.setdefault(task.kind, []).append({**lead, **_scalars(row)})
        else:
            tables.setdefault(task.kind, []).append({**lead, **_scalars(result.metrics)})
    return tables


def write_table(path: Path, rows: Sequence[dict[str, Any]]) -> None:
    """Write rows (dicts) with the union of their keys as columns, in first-seen order."""
    columns: list[str] = []
    for row in rows:
        for key in row:
            if key not in columns:
                columns.append(key)
    with atomic_open(path, "w", newline="", encoding="utf-8-sig") as handle:
        writer = csv.writer(handle, quoting=csv.QUOTE_NONNUMERIC)
        writer.writerow(columns)
        for row in rows:
            writer.writerow([_cell(row.get(c)) for c in columns])


def write_csv_tables(analysis: SessionAnalysis, directory: str | Path) -> list[Path]:
    """Write every table of the session into ``directory`` (created); returns the paths."""
    out_dir = Path(directory)
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise HipscopeError(
            f"{out_dir}: cannot create the CSV folder ({error.strerror})"
        ) from error
    if not out_dir.is_dir():
        raise HipscopeError(f"{out_dir}: not a folder")
    stem = Path(analysis.recording.path).stem
    written = []
    for name, rows in session_tables(analysis).items():
        path = out_dir / f"{stem}_{name}.csv"
        try:
            write_table(path, rows)
        except OSError as error:
            raise HipscopeError(f"{path}: cannot write ({error.strerror})") from error
        written.append(path)
    return written
