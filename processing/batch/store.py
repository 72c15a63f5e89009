"""The batch's on-disk state: content hashes, per-file part files and the merged tables.

Layout for ``--out lib.parquet``::

    lib.parquet          one row per task per recording (the merged table)
    lib.errors.parquet   one row per file that could not be analysed, with the reason
    lib.parts/           one JSON part per analysed file content, software version and
                         analysis parameters:
                         <blake2b-128 hex>-<version>-<parameters hash>.json
                         ({"status": "ok", "rows": [...]}
                         or {"status": "error", "error_type": ..., "error": ...})

A part is written (atomically) as soon as its file's result arrives, so an interrupted run
loses nothing already analysed; the tables are rebuilt from the parts at the end of a run.
A file is analysed again only when its content hash, the hipscope version or the analysis
parameters (``AnalysisConfig.parameters_hash``) change.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from stat import S_ISDIR, S_ISREG
from typing import Any

from hipscope.base.atomic import atomic_path, atomic_write_bytes
from hipscope.base.errors import HipscopeError
from hipscope.processing.batch.flatten import RECORDING_COLUMNS, TASK_COLUMNS, TRAILING_COLUMNS

HASH_CHUNK_BYTES = 1 << 20
FILE_COLUMNS = (
    "path",
    "file_name",
    "content_hash",
    "file_size_bytes",
    "file_mtime_ns",
    "software",
    "analysed_utc",
    "analysis_s",
    "analysis_cpu_s",
)
ERROR_COLUMNS = (
    "path",
    "file_name",
    "content_hash",
    "file_size_bytes",
    "file_mtime_ns",
    "software",
    "analysed_utc",
    "error_type",
    "error",
)


def software() -> str:
    """ "hipscope <installed version>" (read from the package metadata, as ``hipscope``
    does, without importing the command-line layer)."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        return f"hipscope {version('hipscope')}"
    except PackageNotFoundError:  # a source tree without installation
        return "hipscope 0.0.0+unknown"


def content_hash(path: str | Path) -> str:
    """BLAKE2b (128-bit) of the file's bytes, hex."""
    digest = hashlib.blake2b(digest_size=16)
    with open(path, "rb") as handle:
        while chunk := handle.read(HASH_CHUNK_BYTES):
            digest.update(chunk)
    return digest.hexdigest()


@dataclass(frozen=True)
class FileState:
    """What the batch knows about one input file (``content_hash`` None: unreadable)."""

    path: Path
    size_bytes: int
    mtime_ns: int
    content_hash: str | None = None
    error: str | None = None


@dataclass(frozen=True)
class TablePaths:
    table: Path
    errors: Path
    parts: Path

    @classmethod
    def for_table(cls, table: str | Path) -> TablePaths:
        table = Path(table)
        if table.suffix.lower() != ".parquet":
            raise HipscopeError(f"{table}: the batch table must end in .parquet")
        stem = table.with_suffix("")
        return cls(table, Path(f"{stem}.errors.parquet"), Path(f"{stem}.parts"))


class PartStore:
    """Per-content part files for one software version.

    Parameters
    ----------
    folder
        The ``<table>.parts`` folder (created on the first write).
    software
        The analysing software, e.g. "hipscope 0.1.0": parts of other versions are ignored.
    parameters_hash
        Hash of the analysis parameters (``AnalysisConfig.parameters_hash``): parts analysed
        with other parameters are ignored.
    """

    def __init__(self, folder: Path, software: str, parameters_hash: str) -> None:
        self.folder = folder
        self.software = software
        self.parameters_hash = parameters_hash

    def path_for(self, digest: str) -> Path:
        version = re.sub(r"[^A-Za-z0-9.+_-]", "_", self.software.removeprefix("hipscope "))
        parameters = re.sub(r"[^A-Za-z0-9]", "_", self.parameters_hash)
        return self.folder / f"{digest}-{version}-{parameters}.json"

    def get(self, digest: str) -> dict[str, Any] | None:
        """The stored part of this content, or None (missing, unreadable, another version or
        other parameters)."""
        try:
            part = json.loads(self.path_for(digest).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None
        if not isinstance(part, dict) or part.get("software") != self.software:
            return None
        if part.get("parameters_hash") != self.parameters_hash:
            return None
        return part

    def put(self, digest: str, part: Mapping[str, Any]) -> None:
        data = json.dumps(
            {**part, "software": self.software, "parameters_hash": self.parameters_hash},
            allow_nan=False,
        )
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            atomic_write_bytes(self.path_for(digest), data.encode("utf-8"))
        except OSError as error:
            raise HipscopeError(
                f"{self.folder}: cannot write a part file ({error.strerror})"
            ) from None


def previous_states(paths: TablePaths) -> dict[str, tuple[int, int, str]]:
    """path -> (size, mtime_ns, content_hash) from the tables of an earlier run (if any)."""
    import pyarrow.parquet as pq

    known: dict[str, tuple[int, int, str]] = {}
    for table_path in (paths.table, paths.errors):
        if not table_path.exists():
            continue
        try:
            table = pq.read_table(
                table_path, columns=["path", "file_size_bytes", "file_mtime_ns", "content_hash"]
            )
        except Exception:  # an unreadable old table only costs re-hashing
            continue
        for row in table.to_pylist():
            if row["content_hash"] and row["file_size_bytes"] is not None:
                known[row["path"]] = (
                    int(row["file_size_bytes"]),
                    int(row["file_mtime_ns"]),
                    str(row["content_hash"]),
                )
    return known


def file_state(path: Path, known: Mapping[str, tuple[int, int, str]], *, rehash: bool) -> FileState:
    """Stat the file; hash it unless size and mtime match the earlier run (and not rehash).

    A dangling or looping symlink, or anything but a regular file (a FIFO would block the
    hash), gets an error instead of a hash: it is listed in the errors table."""
    try:
        stat = path.stat()
        if not S_ISREG(stat.st_mode):
            problem = "is a folder" if S_ISDIR(stat.st_mode) else "is not a regular file"
            return FileState(path, stat.st_size, stat.st_mtime_ns, None, f"{path}: {problem}")
        previous = known.get(str(path))
        if not rehash and previous and previous[:2] == (stat.st_size, stat.st_mtime_ns):
            return FileState(path, stat.st_size, stat.st_mtime_ns, previous[2])
        return FileState(path, stat.st_size, stat.st_mtime_ns, content_hash(path))
    except OSError as error:
        what = "broken symlink" if path.is_symlink() else "cannot read"
        return FileState(path, -1, -1, None, f"{path}: {what} ({error.strerror})")


def _column(values: list[Any]) -> Any:
    import pyarrow as pa

    try:
        return pa.array(values)
    except (pa.ArrowInvalid, pa.ArrowTypeError):  # mixed kinds across files: keep as text
        return pa.array([None if v is None else str(v) for v in values], type=pa.string())


def rows_table(rows: Sequence[Mapping[str, Any]], leading: Iterable[str]) -> Any:
    """A pyarrow table: ``leading`` columns first, the rest in order of first appearance,
    ``TRAILING_COLUMNS`` last; types inferred per column (int, float, bool, string)."""
    import pyarrow as pa

    order: dict[str, None] = dict.fromkeys(leading)
    for row in rows:
        order.update(dict.fromkeys(k for k in row if k not in TRAILING_COLUMNS))
    order.update(dict.fromkeys(c for c in TRAILING_COLUMNS if any(c in r for r in rows)))
    if not rows:
        return pa.table({name: pa.array([], type=pa.string()) for name in order})
    return pa.table({name: _column([row.get(name) for row in rows]) for name in order})


def spreadsheet_safe(table: Any) -> Any:
    """The table with every text cell passed through the CSV formula guard
    (``hipscope.processing.exports.spreadsheet_text``), for the CSV copy only."""
    import pyarrow as pa

    from hipscope.processing.exports import spreadsheet_text

    columns = []
    for column in table.columns:
        if pa.types.is_string(column.type) or pa.types.is_large_string(column.type):
            values = [None if v is None else spreadsheet_text(v) for v in column.to_pylist()]
            column = pa.array(values, type=column.type)
        columns.append(column)
    return pa.table(columns, names=table.column_names)


def write_table(table: Any, path: Path, *, csv_path: Path | None = None) -> None:
    """Write a pyarrow table as Parquet and optionally as CSV, each atomically (a failed
    write leaves the earlier file as it was)."""
    import pyarrow.csv as pcsv
    import pyarrow.parquet as pq

    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with atomic_path(path) as temp:
            pq.write_table(table, temp)
        if csv_path is not None:
            csv_path.parent.mkdir(parents=True, exist_ok=True)
            with atomic_path(csv_path) as temp:
                pcsv.write_csv(spreadsheet_safe(table), temp)
    except OSError as error:
        raise HipscopeError(f"{error.filename or path}: cannot write ({error.strerror})") from None


def error_text(state: FileState, part: Mapping[str, Any]) -> str | None:
    """A cached error as it applies to this file: parts are shared by every file with the
    same content, so the path the error was found under is replaced by this file's."""
    error = part.get("error")
    if not isinstance(error, str):
        return error
    found_as = part.get("error_path")
    if isinstance(found_as, str) and found_as:
        error = error.replace(found_as, str(state.path))
    return error if str(state.path) in error else f"{state.path}: {error}"


def file_columns(state: FileState, part: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "path": str(state.path),
        "file_name": state.path.name,
        "content_hash": state.content_hash,
        "file_size_bytes": state.size_bytes,
        "file_mtime_ns": state.mtime_ns,
        "software": part.get("software"),
        "analysed_utc": part.get("analysed_utc"),
    }


def merge(
    states: Sequence[FileState], store: PartStore, extra_errors: Sequence[dict[str, Any]] = ()
) -> tuple[Any, Any]:
    """(results table, errors table) for the given files from their parts."""
    rows: list[dict[str, Any]] = []
    errors: list[dict[str, Any]] = list(extra_errors)
    for state in states:
        if state.content_hash is None:
            continue
        part = store.get(state.content_hash)
        if part is None:
            continue
        columns = file_columns(state, part)
        if part.get("status") == "ok":
            for row in part.get("rows") or []:
                timing = {k: part.get(k) for k in ("analysis_s", "analysis_cpu_s")}
                rows.append({**columns, **timing, **row})
        else:
            errors.append(
                {**columns, "error_type": part.get("error_type"), "error": error_text(state, part)}
            )
    leading = (*FILE_COLUMNS, *RECORDING_COLUMNS, *TASK_COLUMNS)
    return rows_table(rows, leading), rows_table(errors, ERROR_COLUMNS)
