"""Analyse many recordings on a Dask cluster, incrementally, one failure costing one file.

Every file is one Dask task running the same per-recording function as ``hipscope
analyze`` (``hipscope.processing.pipeline.analyze_file``); Dask places the tasks on the workers.
A local cluster (worker processes, one thread each) is started unless a scheduler address
is given. The tasks are marked as data producers so the scheduler keeps them queued and
hands each worker one file at a time (``worker-saturation`` 1.0); with ``allowed-failures``
0 a worker that dies (segfault, out of memory) fails exactly the file it was running.
"""

from __future__ import annotations

import functools
import logging
import os
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from hipscope.base.errors import HipscopeError
from hipscope.processing.batch.discover import discover_recordings
from hipscope.processing.batch.flatten import task_rows
from hipscope.processing.batch.store import (
    FileState,
    PartStore,
    TablePaths,
    file_state,
    merge,
    previous_states,
    software,
    write_table,
)

if TYPE_CHECKING:
    from hipscope.processing.config import AnalysisConfig

Analyze = Callable[[Path], dict[str, Any]]

LOCAL_CLUSTER_CONFIG = {
    "distributed.scheduler.allowed-failures": 0,
    "distributed.scheduler.worker-saturation": 1.0,
}
"""Scheduler settings of the local cluster (see the module docstring)."""

SUBMIT_CHUNK = 1000
"""Tasks per graph submission (keeps each message far below Dask's large-graph warning)."""


class BatchProgress(Protocol):
    """Progress sink of ``run_batch`` (the CLI's rich bar; None means silent)."""

    def stage(self, name: str, total: int) -> None: ...

    def advance(self, path: Path, status: str) -> None: ...


@dataclass
class BatchSummary:
    """What a run did. ``errors``: (path, one-line reason) of every file in the errors table."""

    table_path: Path
    errors_path: Path
    csv_path: Path | None
    n_files: int
    n_analysed: int
    n_skipped: int
    n_failed: int
    n_failed_earlier: int
    """Failed files skipped because an earlier run failed on the same content (see
    ``retry_errors``)."""
    n_rows: int
    n_workers: int
    wall_s: float
    cluster_start_s: float = 0.0
    analysis_wall_s: float = 0.0
    """From submitting the first file to the last result (excludes cluster start-up)."""
    errors: list[tuple[str, str]] = field(default_factory=list)


def _now_utc() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def _one_line(text: str) -> str:
    lines = [line.strip() for line in text.strip().splitlines() if line.strip()]
    return lines[0] if lines else ""


def analyze_task(path: str, analyze: Analyze | None = None) -> dict[str, Any]:
    """The work of one file on a worker: a part dict with status "ok" (rows) or "error".

    Any exception of the analysis becomes an error part (its type and a one-line message);
    only the death of the worker process escapes, and the client records that.
    """
    start, start_cpu = time.perf_counter(), time.process_time()
    try:
        if analyze is None:
            from hipscope.processing.pipeline import analyze_file

            analyze = analyze_file
        doc = analyze(Path(path))
        rows = task_rows(doc)
    except HipscopeError as error:
        return {
            "status": "error",
            "error_type": type(error).__name__,
            "error": _one_line(str(error)) or f"{path}: {type(error).__name__}",
            "error_path": path,
            "analysed_utc": _now_utc(),
        }
    except Exception as error:  # a bug or a file the reader let through: one file's failure
        message = _one_line(str(error))
        return {
            "status": "error",
            "error_type": type(error).__name__,
            "error": f"{path}: {type(error).__name__}" + (f": {message}" if message else ""),
            "error_path": path,
            "analysed_utc": _now_utc(),
        }
    return {
        "status": "ok",
        "rows": rows,
        "analysis_s": round(time.perf_counter() - start, 3),
        "analysis_cpu_s": round(time.process_time() - start_cpu, 3),
        "analysed_utc": _now_utc(),
        "worker_software": software(),
    }


def default_workers() -> int:
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not on Linux
        return max(1, os.cpu_count() or 1)


@contextmanager
def dask_client(scheduler: str | None, n_workers: int) -> Iterator[Any]:
    """A distributed Client: to ``scheduler`` when given, else to a new LocalCluster."""
    import dask
    from distributed import Client, LocalCluster

    if scheduler:
        try:
            client = Client(scheduler, timeout="10s")
        except (OSError, TimeoutError) as error:
            raise HipscopeError(
                f"--scheduler {scheduler}: cannot connect ({_one_line(str(error))})"
            ) from None
        with client:
            yield client
        return
    with dask.config.set(LOCAL_CLUSTER_CONFIG):
        cluster = LocalCluster(
            n_workers=n_workers,
            threads_per_worker=1,
            processes=True,
            dashboard_address=None,
            # the scheduler's HTTP endpoints would otherwise claim (or warn about) port 8787
            scheduler_kwargs={"dashboard_address": "127.0.0.1:0"},
            silence_logs=logging.CRITICAL,
        )
    with cluster, Client(cluster) as client:
        from hipscope.processing.batch.plugins import IgnoreInterrupts

        client.register_plugin(IgnoreInterrupts(), name=IgnoreInterrupts.name)
        yield client


def _submit(
    client: Any, jobs: Sequence[tuple[str, str]], analyze: Analyze | None
) -> dict[str, Any]:
    """Futures keyed by Dask key for (key, path) jobs, as queued data-producer tasks."""
    futures: dict[str, Any] = {}
    extra = () if analyze is None else (analyze,)
    graph: Callable[[Sequence[tuple[str, str]]], dict[str, Any]] | None
    try:  # dask's own marker for root tasks (used by its readers); not a public API yet
        from dask._task_spec import Task

        Task("probe", analyze_task, "", _data_producer=True)

        def graph(chunk: Sequence[tuple[str, str]]) -> dict[str, Any]:
            return {
                key: Task(key, analyze_task, path, *extra, _data_producer=True)
                for key, path in chunk
            }
    except (ImportError, TypeError):  # another dask: plain tasks (queued in large batches)
        graph = None
    for i in range(0, len(jobs), SUBMIT_CHUNK):
        chunk = jobs[i : i + SUBMIT_CHUNK]
        keys = [key for key, _ in chunk]
        if graph is not None:
            batch = client.get(graph(chunk), keys, sync=False)
        else:
            args = [[p for _, p in chunk], *([a] * len(chunk) for a in extra)]
            batch = client.map(analyze_task, *args, key=keys)
        futures.update(zip(keys, batch, strict=True))
    return futures


def _outcome(future: Any, path: Path, software: str) -> dict[str, Any]:
    from distributed import KilledWorker

    try:
        part = future.result()
        worker = part.get("worker_software", software)
        if worker == software:
            return part
        reason = f"the worker runs {worker}, this client {software}; install one version"
        error_type = "VersionMismatch"
    except KilledWorker:
        reason = "the worker process died while analysing this file (crash or out of memory)"
        error_type = "KilledWorker"
    except Exception as error:  # lost data, cancelled task, undeserialisable result
        reason = _one_line(str(error)) or "the task failed"
        error_type = type(error).__name__
    return {
        "status": "error",
        "error_type": error_type,
        "error": f"{path}: {reason}",
        "error_path": str(path),
        "analysed_utc": _now_utc(),
    }


def run_batch(
    paths: Sequence[str | Path],
    out: str | Path,
    *,
    csv_path: str | Path | None = None,
    scheduler: str | None = None,
    n_workers: int | None = None,
    force: bool = False,
    retry_errors: bool = False,
    rehash: bool = False,
    analyze: Analyze | None = None,
    progress: BatchProgress | None = None,
    config: AnalysisConfig | None = None,
) -> BatchSummary:
    """Analyse every recording under ``paths`` into the table ``out`` (Parquet).

    Parameters
    ----------
    paths
        Recordings, folders (searched recursively for *.h5 / *.hdf5) and glob patterns.
    out
        The results table, ``*.parquet``; ``<stem>.errors.parquet`` and ``<stem>.parts/``
        are kept next to it (see ``hipscope.processing.batch.store``).
    csv_path
        Also write the results table as CSV here (default: no CSV).
    scheduler
        Address of a running Dask scheduler (``tcp://host:port``); default: a local cluster.
    n_workers
        Worker processes of the local cluster (default: the usable CPU cores, at most one
        per file to analyse). Ignored with ``scheduler``.
    force
        Analyse every file again, even when an up-to-date part exists.
    retry_errors
        Analyse files again whose earlier attempt failed (default: their error is kept).
    rehash
        Hash every file's content (default: trust the earlier hash when size and
        modification time are unchanged).
    analyze
        The per-file function (default ``hipscope.processing.pipeline.analyze_file``); it must be
        importable or picklable on the workers.
    progress
        Receives the stages ("hashing", "analysing") and one ``advance`` per file.
    config
        The analysis algorithms and their parameters (default: all defaults). The hash of
        the parameters is part of each file's cache key, so changed parameters re-analyse.
    """
    started = time.perf_counter()
    table_paths = TablePaths.for_table(out)
    files = discover_recordings(paths)
    if not files:
        raise HipscopeError(f"no recordings (*.h5, *.hdf5) in {', '.join(map(str, paths))}")
    from hipscope.processing.config import AnalysisConfig

    config = config or AnalysisConfig()
    if analyze is None:
        from hipscope.processing.pipeline import analyze_file

        analyze = functools.partial(analyze_file, config=config)
    store = PartStore(table_paths.parts, software(), config.parameters_hash())
    known = previous_states(table_paths)

    if progress is not None:
        progress.stage("hashing", len(files))
    states: list[FileState] = []
    for path in files:
        states.append(file_state(path, known, rehash=rehash))
        if progress is not None:
            progress.advance(path, "hashed")

    todo: dict[str, FileState] = {}
    n_skipped = n_failed_earlier = 0
    for state in states:
        digest = state.content_hash
        if digest is None or digest in todo:
            continue
        part = None if force else store.get(digest)
        if part is not None and (part.get("status") == "ok" or not retry_errors):
            n_skipped += 1
            n_failed_earlier += part.get("status") != "ok"
            continue
        todo[digest] = state

    workers_used = 0
    cluster_start_s = analysis_wall_s = 0.0
    if progress is not None:
        progress.stage("analysing", len(todo))
    if todo:
        wanted = n_workers if n_workers is not None else default_workers()
        if wanted < 1:
            raise HipscopeError(f"--workers must be at least 1, got {wanted}")
        run_id = uuid.uuid4().hex[:8]
        jobs = {
            f"hipscope-analyze-{run_id}-{i}": (digest, state)
            for i, (digest, state) in enumerate(todo.items())
        }
        cluster_started = time.perf_counter()
        with dask_client(scheduler, min(wanted, len(todo))) as client:
            from distributed import as_completed

            workers_used = len(client.scheduler_info().get("workers", {}))
            submitted = time.perf_counter()
            cluster_start_s = submitted - cluster_started
            futures = _submit(client, [(k, str(s.path)) for k, (_, s) in jobs.items()], analyze)
            for future in as_completed(list(futures.values())):
                digest, state = jobs[future.key]
                part = _outcome(future, state.path, store.software)
                future.release()
                store.put(digest, part)
                if progress is not None:
                    progress.advance(state.path, part["status"])
            analysis_wall_s = time.perf_counter() - submitted

    unreadable = [
        {
            "path": str(s.path),
            "file_name": s.path.name,
            "software": store.software,
            "analysed_utc": _now_utc(),
            "error_type": "OSError",
            "error": s.error,
        }
        for s in states
        if s.content_hash is None
    ]
    results, errors = merge(states, store, unreadable)
    csv = Path(csv_path) if csv_path is not None else None
    write_table(results, table_paths.table, csv_path=csv)
    write_table(errors, table_paths.errors)
    error_list = [(str(r["path"]), str(r["error"])) for r in errors.to_pylist()]
    return BatchSummary(
        table_path=table_paths.table,
        errors_path=table_paths.errors,
        csv_path=csv,
        n_files=len(files),
        n_analysed=len(todo),
        n_skipped=n_skipped,
        n_failed=errors.num_rows,
        n_failed_earlier=n_failed_earlier,
        n_rows=results.num_rows,
        n_workers=workers_used,
        wall_s=time.perf_counter() - started,
        cluster_start_s=cluster_start_s,
        analysis_wall_s=analysis_wall_s,
        errors=error_list,
    )
