"""One athlete's metrics over time from a batch table, as the report's history page.

The table's ``task_json`` column holds each task's complete metrics, so every session's
tasks are rebuilt through the metrics contract and summarised by
``hipscope.processing.report.compare``: the same trend values, charts, styling and escaping
as ``hipscope compare``, without re-analysing.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from hipscope.base.atomic import atomic_write_text
from hipscope.base.errors import HipscopeError
from hipscope.processing.contract import parse_tasks
from hipscope.processing.report.compare import (
    SessionSummary,
    render_comparison,
    summarize_tasks,
)

REQUIRED_COLUMNS = (
    "path",
    "content_hash",
    "athlete",
    "created_utc",
    "session_id",
    "task_index",
    "kind",
    "side",
    "start_s",
    "end_s",
    "task_json",
)


def read_table_rows(table_path: str | Path) -> list[dict[str, Any]]:
    """The rows of a batch table (only the columns trends need)."""
    import pyarrow.parquet as pq

    path = Path(table_path)
    if not path.is_file():
        raise HipscopeError(f"{path}: no such batch table")
    try:
        schema = pq.read_schema(path)
    except Exception as error:
        raise HipscopeError(f"{path}: not a Parquet file ({error})") from None
    missing = [c for c in REQUIRED_COLUMNS if c not in schema.names]
    if missing:
        raise HipscopeError(
            f"{path}: not a hipscope batch table (missing column {', '.join(missing)})"
        )
    return pq.read_table(path, columns=list(REQUIRED_COLUMNS)).to_pylist()


@dataclass
class _Session:
    source: str
    athlete: str
    created_utc: str
    session_id: str
    tasks: list[tuple[int, dict[str, Any]]] = field(default_factory=list)


def session_summaries(
    rows: Sequence[dict[str, Any]], table: str | Path = "batch table"
) -> list[SessionSummary]:
    """One summary per recording content; each task's metrics pass the metrics contract
    (a row that breaks it gives one line naming the table, the file and the field)."""
    sessions: dict[str, _Session] = {}
    for row in rows:
        key = row["content_hash"] or row["path"]
        session = sessions.setdefault(
            key,
            _Session(
                str(row["path"]),
                row["athlete"] or "",
                row["created_utc"] or "",
                row["session_id"] or "",
            ),
        )
        if row["task_index"] is None or row["kind"] is None:
            continue
        try:
            detail = json.loads(row["task_json"] or "{}")
        except ValueError:
            detail = {}
        detail = detail if isinstance(detail, dict) else {}
        session.tasks.append(
            (
                int(row["task_index"]),
                {
                    "kind": row["kind"],
                    "side": row["side"] or "",
                    "start_s": row["start_s"],
                    "end_s": row["end_s"],
                    "metrics": detail.get("metrics") or {},
                    "unavailable": detail.get("unavailable") or {},
                },
            )
        )
    summaries = []
    for session in sessions.values():
        ordered = [task for _, task in sorted(session.tasks, key=lambda item: item[0])]
        tasks = parse_tasks(ordered, f"{table} ({Path(session.source).name})")
        summaries.append(
            summarize_tasks(
                tasks,
                source=session.source,
                athlete=session.athlete,
                created_utc=session.created_utc,
                session_id=session.session_id,
            )
        )
    return summaries


def _choose_athlete(names: Sequence[str], wanted: str | None, table: Path) -> str:
    listed = ", ".join(repr(n) for n in names[:12]) + (" ..." if len(names) > 12 else "")
    if wanted is None:
        if len(names) == 1:
            return names[0]
        raise HipscopeError(
            f"{table}: holds {len(names)} athletes; choose one with --athlete ({listed})"
        )
    if wanted in names:
        return wanted
    folded = [n for n in names if n.casefold().strip() == wanted.casefold().strip()]
    if len(folded) == 1:
        return folded[0]
    raise HipscopeError(f"{table}: no sessions of athlete {wanted!r} (athletes: {listed})")


def athlete_sessions(
    table_path: str | Path, athlete: str | None = None, *, last: int | None = None
) -> tuple[str, list[SessionSummary]]:
    """(athlete name, the athlete's sessions oldest first; the last ``last`` when > 0)."""
    every = session_summaries(read_table_rows(table_path), table_path)
    names = sorted({s.athlete for s in every})
    if not names:
        raise HipscopeError(f"{table_path}: the batch table holds no sessions")
    name = _choose_athlete(names, athlete, Path(table_path))
    sessions = [s for s in every if s.athlete == name]
    sessions.sort(key=lambda s: (s.created_utc, Path(s.source).name))
    if last is not None and last > 0:
        sessions = sessions[-last:]
    return name, sessions


DEFAULT_LAST = 8
"""Sessions on the page by default: the history table has one column per session and
stays readable up to about eight."""


def write_trends(
    table_path: str | Path,
    out_path: str | Path,
    *,
    athlete: str | None = None,
    last: int | None = DEFAULT_LAST,
) -> tuple[Path, int, int]:
    """Write the athlete's trend page (self-contained HTML) with the most recent ``last``
    sessions (None or 0: all); returns (path, sessions shown, sessions in the table)."""
    name, every = athlete_sessions(table_path, athlete)
    sessions = every[-last:] if last else every
    html = render_comparison(sessions, athlete=name)
    out = Path(out_path)
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        atomic_write_text(out, html)
    except OSError as error:
        raise HipscopeError(f"{out}: cannot write the trends page ({error.strerror})") from None
    return out, len(sessions), len(every)
