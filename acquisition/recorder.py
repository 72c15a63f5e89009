"""Write hipscope recordings (HDF5 format version 1), crash-safe.

All datasets are created up front, then the file switches to SWMR mode: appended rows
become visible to a reader (and survive a killed writer) at every flush. Flushes happen at
least every ``flush_interval_s`` while data arrives, and on every task row (a task's row is
written when it starts, with ``end_s`` NaN, and completed when it ends).

A full disk never reaches HDF5: before every flush the recorder checks that the new chunks
it would allocate, plus a fixed headroom for metadata and closing, fit in the free space.
When they do not, it writes the rows that fit into chunks already allocated, closes the
file cleanly and raises ``DiskFullError`` saying how much was saved. A write that fails
anyway (another program filled the disk between the check and the write) closes the file
and raises ``RecordingError``; the HDF5 library is not touched again after such a failure,
because an HDF5 file that failed a write cannot be used safely.
"""

from __future__ import annotations

import atexit
import contextlib
import gc
import logging
import math
import os
import re
import shutil
import sys
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from numbers import Real
from pathlib import Path
from types import TracebackType
from typing import Any

import h5py
import numpy as np
from numpy.typing import NDArray

from hipscope.acquisition.samples import PLACEMENTS, SampleBatch, Task
from hipscope.base.cues import CueEvent
from hipscope.base.errors import RecordingError

log = logging.getLogger(__name__)

FORMAT_NAME = "hipscope-recording"
FORMAT_VERSION = 1
_TASK_TEXT_BYTES = 32
_TASK_CHUNK_ROWS = 64
TASK_COLUMNS: tuple[str, ...] = ("kind", "side", "start_s", "end_s", "source")
"""The /tasks datasets in row order: ``start_s`` and ``end_s`` float64, the rest UTF-8 text."""
DISK_HEADROOM_BYTES = 256 * 1024
"""Free space kept for metadata growth and a clean close (measured: a 4-sensor file needs
under 40 kB of metadata beyond its chunks)."""


class DiskFullError(RecordingError):
    """The disk filled up: the recording was closed cleanly with everything that fit."""


def _first_line(error: BaseException) -> str:
    """HDF5 errors span lines (with a timestamp and buffer address): keep the operation and
    the system's reason ("No space left on device")."""
    text = str(error).strip()
    if not text:
        return type(error).__name__
    first = text.splitlines()[0].split(" (", 1)[0]
    reason = re.search(r"error message = '([^']*)'", text)
    return f"{first}: {reason.group(1)}" if reason else first


@contextlib.contextmanager
def _quiet_hdf5_releases() -> Iterator[None]:
    """After a failed write h5py reports every object it releases as an "Exception ignored"
    traceback on stderr; log those instead (the failure itself is raised once, clearly)."""
    previous = sys.unraisablehook

    def log_release(unraisable: Any) -> None:
        log.debug("HDF5 release after a failed write: %s", unraisable.exc_value)

    sys.unraisablehook = log_release
    try:
        yield
    finally:
        sys.unraisablehook = previous


_ABANDONED: list[h5py.File | h5py.Dataset] = []
"""Files whose write failed. HDF5 cannot close such a file: the close, or the library's own
clean-up at exit, crashes the process (HDF5 1.14, SWMR). They are kept out of the garbage
collector, and a process that holds one ends without the library's clean-up."""


def _end_without_hdf5_cleanup() -> None:
    if _ABANDONED:
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(1)


atexit.register(_end_without_hdf5_cleanup)


def software_name() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return f"hipscope {version('hipscope')}"
    except PackageNotFoundError:
        return "hipscope"


@dataclass(frozen=True)
class SensorMeta:
    """What the recorder needs to know about one sensor before the first sample."""

    placement: str
    device_name: str = ""
    device_address: str = ""
    profile: str = ""
    nominal_rate_hz: float = 0.0
    has_mag: bool = False
    has_seq: bool = False


class _SensorWriter:
    """Buffers batches for one sensor and appends them to its datasets on flush."""

    def __init__(self, group: h5py.Group, meta: SensorMeta, chunk_rows: int) -> None:
        self.meta = meta
        self.chunk_rows = chunk_rows
        self.pending: list[SampleBatch] = []
        self.rows = 0
        self.last_time_s = -np.inf
        self.first_written_s = math.nan
        self.last_written_s = math.nan
        self.datasets: dict[str, h5py.Dataset] = {
            # NaN fill: rows whose extent reached the file but whose data never did (a write
            # that failed half-way) read as NaN, and the reader drops them as unwritten.
            "time_s": group.create_dataset(
                "time_s",
                shape=(0,),
                maxshape=(None,),
                dtype="f8",
                chunks=(chunk_rows,),
                fillvalue=np.nan,
            ),
            "acc_m_s2": group.create_dataset(
                "acc_m_s2", shape=(0, 3), maxshape=(None, 3), dtype="f4", chunks=(chunk_rows, 3)
            ),
            "gyr_rad_s": group.create_dataset(
                "gyr_rad_s", shape=(0, 3), maxshape=(None, 3), dtype="f4", chunks=(chunk_rows, 3)
            ),
        }
        if meta.has_mag:
            self.datasets["mag_ut"] = group.create_dataset(
                "mag_ut", shape=(0, 3), maxshape=(None, 3), dtype="f4", chunks=(chunk_rows, 3)
            )
        if meta.has_seq:
            self.datasets["seq"] = group.create_dataset(
                "seq", shape=(0,), maxshape=(None,), dtype="u4", chunks=(chunk_rows,)
            )

    def keep_valid(self, batch: SampleBatch) -> SampleBatch:
        """Rows whose time strictly increases and whose values are all finite.

        A batch without the magnetometer or counter its sensor declared has no valid row:
        filling the columns in would write samples the sensor never sent.
        """
        missing = [
            name
            for name, declared, value in (
                ("mag_ut", self.meta.has_mag, batch.mag_ut),
                ("seq", self.meta.has_seq, batch.seq),
            )
            if declared and value is None
        ]
        if missing:
            log.error(
                "%s: batch without the declared %s; its %d row(s) are dropped",
                self.meta.placement,
                " and ".join(missing),
                len(batch),
            )
            return batch.take(slice(0, 0))
        finite = np.isfinite(batch.time_s)
        finite &= np.isfinite(batch.acc_m_s2).all(axis=1)
        finite &= np.isfinite(batch.gyr_rad_s).all(axis=1)
        if self.meta.has_mag and batch.mag_ut is not None:
            finite &= np.isfinite(batch.mag_ut).all(axis=1)
        time_s = np.where(finite, batch.time_s, -np.inf)
        running_max = np.maximum.accumulate(np.concatenate([[self.last_time_s], time_s]))
        increasing = finite & (time_s > running_max[:-1])
        if increasing.all():
            return batch
        return batch.take(increasing)

    @property
    def pending_rows(self) -> int:
        return sum(len(batch) for batch in self.pending)

    @property
    def row_bytes(self) -> int:
        return sum(
            int(np.prod(d.shape[1:], dtype=np.int64)) * d.dtype.itemsize
            for d in self.datasets.values()
        )

    @property
    def allocated_rows(self) -> int:
        """Rows that fit in the chunks already on disk (HDF5 allocates a chunk on write)."""
        return math.ceil(self.rows / self.chunk_rows) * self.chunk_rows

    def bytes_to_write(self, rows: int) -> int:
        """New file space that appending ``rows`` rows allocates (whole chunks)."""
        new_chunks = math.ceil((self.rows + rows) / self.chunk_rows) - math.ceil(
            self.rows / self.chunk_rows
        )
        return new_chunks * self.chunk_rows * self.row_bytes

    def write_pending(self, max_rows: int | None = None) -> int:
        """Append the queued rows (at most ``max_rows``; the rest are discarded).

        Returns how many queued rows were discarded.
        """
        if not self.pending:
            return 0
        batch = SampleBatch.concat(self.pending)
        self.pending.clear()
        discarded = 0
        if max_rows is not None and len(batch) > max_rows:
            discarded = len(batch) - max_rows
            batch = batch.take(slice(0, max_rows))
        n = len(batch)
        if n == 0:
            return discarded
        start, stop = self.rows, self.rows + n
        columns: dict[str, np.ndarray | None] = {
            "time_s": batch.time_s,
            "acc_m_s2": batch.acc_m_s2,
            "gyr_rad_s": batch.gyr_rad_s,
            "mag_ut": batch.mag_ut,
            "seq": batch.seq,
        }
        for name, dataset in self.datasets.items():
            values = columns[name]  # keep_valid let no batch lacking a declared column through
            dataset.resize(stop, axis=0)
            dataset[start:stop] = values
        if start == 0:
            self.first_written_s = float(batch.time_s[0])
        self.rows = stop
        self.last_written_s = float(batch.time_s[-1])
        return discarded


CUE_RULE_BYTES = 96
"""Fixed length of a cue's rule text (rules are at most 80 characters as typed; the
canonical spelling can add a few)."""
CUE_TEXT_BYTES = 32
_CUE_CHUNK_ROWS = 64


def cue_dtype() -> np.dtype[Any]:
    """The row type of ``/cues``: one compound row per cue, so a row is written whole."""
    rule = h5py.string_dtype("utf-8", CUE_RULE_BYTES)
    text = h5py.string_dtype("utf-8", CUE_TEXT_BYTES)
    return np.dtype(
        [
            ("time_s", "f8"),
            ("rule", rule),
            ("metric", text),
            ("value", "f8"),
            ("threshold", "f8"),
            ("task_kind", text),
            ("task_side", text),
        ]
    )


def _fits(text: str, limit: int) -> bool:
    return isinstance(text, str) and len(text.encode("utf-8")) <= limit


class _CueWriter:
    """Queues live cues and appends them to ``/cues`` on the recorder's flushes.

    ``/cues`` is created with the file (a file in SWMR mode cannot get new datasets), empty
    until the first cue. Its fill value has ``time_s`` NaN: a row whose extent reached the
    file but whose data never did reads as unwritten. The rules in force are the root
    attribute ``cue_rules``, written at creation and again at close when rules were added.
    """

    def __init__(self, file: h5py.File, rules: Sequence[str]) -> None:
        self.rules: list[str] = []
        for rule in rules:
            self.add_rule(rule)
        self._rules_on_disk = list(self.rules)
        fill = np.zeros((), cue_dtype())
        for name in ("time_s", "value", "threshold"):
            fill[name] = np.nan
        self.dataset: h5py.Dataset | None = file.create_dataset(
            "cues",
            (0,),
            cue_dtype(),
            maxshape=(None,),
            chunks=(_CUE_CHUNK_ROWS,),
            fillvalue=fill,
        )
        file.attrs["cue_rules"] = np.array(self.rules, dtype=h5py.string_dtype("utf-8"))
        self.pending: list[CueEvent] = []
        self.rows = 0
        self.dropped = 0

    def add_rule(self, rule: str) -> bool:
        if not _fits(rule, CUE_RULE_BYTES) or not rule:
            return False
        if rule not in self.rules:
            self.rules.append(rule)
        return True

    def add(self, event: CueEvent) -> str:
        """Queue one cue; returns "" or why it was refused."""
        numbers = (event.time_s, event.value, event.threshold)
        if not all(isinstance(v, Real) and math.isfinite(v) for v in numbers):
            return "time, value and threshold must be finite numbers"
        for name, limit in (
            ("rule", CUE_RULE_BYTES),
            ("metric", CUE_TEXT_BYTES),
            ("task_kind", CUE_TEXT_BYTES),
            ("task_side", CUE_TEXT_BYTES),
        ):
            if not _fits(getattr(event, name), limit):
                return f"{name} must be text of at most {limit} bytes"
        if not event.rule:
            return "rule must not be empty"
        self.add_rule(event.rule)
        self.pending.append(event)
        return ""

    def write_pending(self) -> None:
        if not self.pending or self.dataset is None:
            return
        rows = np.zeros(len(self.pending), cue_dtype())
        for i, event in enumerate(self.pending):
            rows[i] = (
                float(event.time_s),
                event.rule.encode("utf-8"),
                event.metric.encode("utf-8"),
                float(event.value),
                float(event.threshold),
                event.task_kind.encode("utf-8"),
                event.task_side.encode("utf-8"),
            )
        start, stop = self.rows, self.rows + len(rows)
        self.dataset.resize(stop, axis=0)
        self.dataset[start:stop] = rows
        self.rows = stop
        self.pending.clear()

    def abandon(self) -> h5py.Dataset | None:
        """Hand the dataset over to be kept alive after a failed write (see _ABANDONED)."""
        dataset, self.dataset = self.dataset, None
        self.pending.clear()
        return dataset

    def store_rules(self, path: Path) -> None:
        """Rewrite ``cue_rules`` after close when rules were added during the recording."""
        if self.rules == self._rules_on_disk:
            return
        try:
            with h5py.File(path, "r+") as file:
                file.attrs["cue_rules"] = np.array(self.rules, dtype=h5py.string_dtype("utf-8"))
            self._rules_on_disk = list(self.rules)
        except (OSError, RuntimeError) as error:
            raise RecordingError(
                path,
                f"cannot store the cue rules ({_first_line(error)}); the samples, tasks and "
                "cues are saved",
            ) from None


class Recorder:
    """Append sample batches and task rows to a new format-v1 recording.

    Parameters
    ----------
    path
        File to create; an existing file is refused rather than overwritten.
    sensors
        Every sensor that will deliver samples (placements must be unique).
    session_id
        Identifier stored in the root attributes; a random UUID by default.
    athlete
        Athlete name or code stored in the root attributes (may be empty).
    flush_interval_s
        Longest time appended data waits in memory before it reaches the file
        (default 0.5 s; a killed writer loses at most about this much).
    chunk_rows
        HDF5 chunk length in rows (default 4096: ~20 s at 200 Hz per chunk).
    cue_rules
        The live cue rules in force when the recording starts (their canonical texts,
        ``hipscope.base.cues``), stored as the root attribute ``cue_rules``.
    """

    def __init__(
        self,
        path: str | Path,
        sensors: Sequence[SensorMeta],
        *,
        session_id: str | None = None,
        athlete: str = "",
        flush_interval_s: float = 0.5,
        chunk_rows: int = 4096,
        cue_rules: Sequence[str] = (),
    ) -> None:
        self.path = Path(path)
        self.flush_interval_s = float(flush_interval_s)
        placements = [s.placement for s in sensors]
        if not sensors:
            raise RecordingError(self.path, "a recording needs at least one sensor")
        unknown = [p for p in placements if p not in PLACEMENTS]
        if unknown:
            raise RecordingError(
                self.path,
                f"unknown placement {unknown[0]!r}; expected one of {', '.join(PLACEMENTS)}",
            )
        if len(set(placements)) != len(placements):
            raise RecordingError(self.path, "each placement may appear only once")
        if self.path.exists():
            raise RecordingError(self.path, "file exists; refusing to overwrite a recording")
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._writers: dict[str, _SensorWriter] = {}
        self._task_datasets: dict[str, h5py.Dataset] = {}
        try:
            # A small per-dataset chunk cache (a few chunks) keeps memory flat over hours.
            self._file = h5py.File(self.path, "w", libver="latest", rdcc_nbytes=256 * 1024)
        except OSError as error:
            self.path.unlink(missing_ok=True)
            raise RecordingError(self.path, f"cannot create file ({_first_line(error)})") from None
        try:
            self._create_layout(sensors, session_id, athlete, chunk_rows)
            self._cues = _CueWriter(self._file, cue_rules)
            self._file.swmr_mode = True
            self._file.flush()
        except (OSError, RuntimeError) as error:
            with contextlib.suppress(OSError, RuntimeError):
                self._file.close()
            self.path.unlink(missing_ok=True)
            raise RecordingError(self.path, f"cannot create file ({_first_line(error)})") from None
        # [kind, side, start_s, end_s, source]; NaN end: open
        self._task_rows: list[list[Any]] = []
        self._task_rows_on_disk = 0
        self._first_dirty_task = 0
        self._open_task: int | None = None
        self._extra_attrs: dict[str, dict[str, Any]] = {}
        self.dropped_rows: dict[str, int] = dict.fromkeys(placements, 0)
        self.discarded_rows = 0
        self.fsyncs = 0
        """Rows that arrived after the disk filled (never written)."""
        self._last_flush = time.monotonic()
        self._closed = False

    def _create_layout(
        self,
        sensors: Sequence[SensorMeta],
        session_id: str | None,
        athlete: str,
        chunk_rows: int,
    ) -> None:
        root = self._file
        root.attrs["format"] = FORMAT_NAME
        root.attrs["format_version"] = np.int64(FORMAT_VERSION)
        root.attrs["created_utc"] = datetime.now(UTC).isoformat(timespec="seconds")
        root.attrs["session_id"] = session_id or uuid.uuid4().hex
        root.attrs["athlete"] = athlete
        root.attrs["software"] = software_name()
        sensors_group = root.create_group("sensors")
        self._writers = {}
        for meta in sensors:
            group = sensors_group.create_group(meta.placement)
            group.attrs["device_name"] = meta.device_name
            group.attrs["device_address"] = meta.device_address
            group.attrs["profile"] = meta.profile
            group.attrs["nominal_rate_hz"] = float(meta.nominal_rate_hz)
            self._writers[meta.placement] = _SensorWriter(group, meta, chunk_rows)
        tasks = root.create_group("tasks")
        text = h5py.string_dtype("utf-8", _TASK_TEXT_BYTES)
        self._task_datasets = {
            name: tasks.create_dataset(
                name,
                (0,),
                "f8" if name.endswith("_s") else text,
                maxshape=(None,),
                chunks=(_TASK_CHUNK_ROWS,),
            )
            for name in TASK_COLUMNS
        }

    @property
    def placements(self) -> tuple[str, ...]:
        return tuple(self._writers)

    @property
    def rows_written(self) -> dict[str, int]:
        return {p: w.rows for p, w in self._writers.items()}

    @property
    def closed(self) -> bool:
        return self._closed

    @property
    def open_task(self) -> tuple[str, str, float] | None:
        """(kind, side, start_s) of the task in progress, if any."""
        if self._open_task is None:
            return None
        kind, side, start_s = self._task_rows[self._open_task][:3]
        return (kind, side, start_s)

    def saved_summary(self) -> str:
        """How much the file holds, in words (for the one line that ends a session)."""
        rows = sum(w.rows for w in self._writers.values())
        starts = [w.first_written_s for w in self._writers.values() if w.rows]
        ends = [w.last_written_s for w in self._writers.values() if w.rows]
        span_s = max(ends) - min(starts) if starts else 0.0
        return (
            f"{span_s:.1f} s saved ({rows} samples from {len(self._writers)} sensor(s), "
            f"{len(self._task_rows)} task row(s))"
        )

    def append(self, placement: str, batch: SampleBatch) -> int:
        """Queue a batch; returns how many rows were kept (the rest are counted as dropped)."""
        if self._closed:
            raise RecordingError(self.path, "recorder is closed")
        writer = self._writers.get(placement)
        if writer is None:
            raise RecordingError(self.path, f"no sensor declared for placement {placement!r}")
        kept = writer.keep_valid(batch)
        dropped = len(batch) - len(kept)
        if dropped:
            self.dropped_rows[placement] += dropped
            log.warning(
                "%s: dropped %d row(s) with non-finite values or non-increasing time",
                placement,
                dropped,
            )
        if len(kept):
            writer.pending.append(kept)
            writer.last_time_s = float(kept.time_s[-1])
        self.maybe_flush()
        return len(kept)

    def add_task(self, task: Task) -> None:
        """Record one finished task row; it reaches the file at once."""
        if self._closed:
            raise RecordingError(self.path, "recorder is closed")
        self._task_rows.append([task.kind, task.side, task.start_s, task.end_s, task.source])
        self.flush()

    def start_task(self, kind: str, side: str, start_s: float) -> None:
        """Write an open task row now (``end_s`` NaN) so a killed recorder keeps its label."""
        if self._closed:
            raise RecordingError(self.path, "recorder is closed")
        if self._open_task is not None:
            raise RecordingError(self.path, "a task is already open; end it first")
        Task(kind, side, start_s, start_s)  # validates kind, side and start
        self._open_task = len(self._task_rows)
        self._task_rows.append([kind, side, float(start_s), math.nan, "recorded"])
        self.flush()

    def end_task(self, end_s: float) -> Task | None:
        """Complete the open task row (None when no task is open)."""
        if self._open_task is None:
            return None
        index, self._open_task = self._open_task, None
        row = self._task_rows[index]
        row[3] = max(float(end_s), row[2])
        self._first_dirty_task = min(self._first_dirty_task, index)
        task = Task(row[0], row[1], row[2], row[3], row[4])
        if not self._closed:
            self.flush()
        return task

    def set_sensor_attrs(self, placement: str, **attrs: Any) -> None:
        """Attributes (e.g. lost-sample counts) written to the sensor's group at close."""
        if placement not in self._writers:
            raise RecordingError(self.path, f"no sensor declared for placement {placement!r}")
        self._extra_attrs.setdefault(placement, {}).update(attrs)

    # -- live cues (hipscope.base.cues) ----------------------------------------------------
    def add_cue(self, event: CueEvent) -> bool:
        """Queue one live cue; it reaches the file with the next flush (at most
        ``flush_interval_s`` later while samples arrive). A malformed cue is counted in
        ``dropped_cues`` and logged, never raised: the cue was shown, the session goes on."""
        if self._closed:
            raise RecordingError(self.path, "recorder is closed")
        problem = self._cues.add(event) if isinstance(event, CueEvent) else "not a CueEvent"
        if problem:
            self._cues.dropped += 1
            log.warning("%s: cue not recorded (%s): %r", self.path, problem, event)
            return False
        self.maybe_flush()
        return True

    def set_cue_rules(self, rules: Sequence[str]) -> None:
        """Add rules set during the recording (rules already listed stay: they were in force
        for part of it). Stored in ``cue_rules`` at close."""
        for rule in rules:
            self._cues.add_rule(rule)

    @property
    def cue_rules(self) -> tuple[str, ...]:
        return tuple(self._cues.rules)

    @property
    def cues_written(self) -> int:
        return self._cues.rows

    @property
    def dropped_cues(self) -> int:
        return self._cues.dropped

    def maybe_flush(self) -> None:
        if time.monotonic() - self._last_flush >= self.flush_interval_s:
            self.flush()

    def _fsync(self) -> None:
        """Push the flushed bytes from the OS cache to the disk (power loss)."""
        handle = self._file.id.get_vfd_handle()
        if isinstance(handle, int):
            os.fsync(handle)
        self.fsyncs += 1

    def _free_bytes(self) -> int | None:
        try:
            return shutil.disk_usage(self.path.parent).free
        except OSError:
            return None

    def flush(self) -> None:
        """Write everything queued and make it durable for SWMR readers.

        Raises ``DiskFullError`` (the file is then closed and readable) when the queued rows
        do not fit on the disk, ``RecordingError`` when a write fails.
        """
        if self._closed:
            return
        needed = sum(w.bytes_to_write(w.pending_rows) for w in self._writers.values())
        if needed:
            free = self._free_bytes()
            if free is not None and needed + DISK_HEADROOM_BYTES > free:
                self._stop_on_full_disk(free)
        failure = ""
        with _quiet_hdf5_releases():
            try:
                for writer in self._writers.values():
                    writer.write_pending()
                self._write_tasks()
                self._cues.write_pending()
                self._file.flush()
                self._fsync()
            except (OSError, RuntimeError) as error:
                failure = _first_line(error)  # the traceback (and its HDF5 objects) goes here
            if failure:
                self._abandon(failure)
        self._last_flush = time.monotonic()

    def _write_tasks(self) -> None:
        rows = self._task_rows
        first = min(self._first_dirty_task, self._task_rows_on_disk)
        if first >= len(rows):
            return
        stop = len(rows)
        for column, dataset in enumerate(self._task_datasets.values()):
            if dataset.shape[0] != stop:
                dataset.resize(stop, axis=0)
            dataset[first:stop] = [row[column] for row in rows[first:stop]]
        self._task_rows_on_disk = stop
        self._first_dirty_task = stop

    def _stop_on_full_disk(self, free_bytes: int) -> None:
        """Write what fits in chunks already on disk, close cleanly, raise DiskFullError."""
        failure = ""
        with _quiet_hdf5_releases():
            try:
                for writer in self._writers.values():
                    self.discarded_rows += writer.write_pending(
                        writer.allocated_rows - writer.rows
                    )
                if self._open_task is not None:
                    ends = [w.last_written_s for w in self._writers.values() if w.rows]
                    self.end_task(max(ends) if ends else self._task_rows[self._open_task][2])
                self._write_tasks()
                self._cues.write_pending()
                self._file.flush()
            except (OSError, RuntimeError) as error:
                failure = _first_line(error)
            if failure:
                self._abandon(failure)
        self.close()
        raise DiskFullError(
            self.path,
            f"disk full ({free_bytes // 1024} kB free): recording stopped; "
            f"{self.saved_summary()}; {self.discarded_rows} later sample(s) did not fit",
        )

    def _abandon(self, reason: str) -> None:
        """A write failed: stop without touching the file again (HDF5 cannot close it)."""
        self._closed = True
        for writer in self._writers.values():
            writer.pending.clear()
        # Keep every HDF5 handle alive (see _ABANDONED): releasing one reaches the failed file.
        _ABANDONED.extend(d for w in self._writers.values() for d in w.datasets.values())
        _ABANDONED.extend(self._task_datasets.values())
        _ABANDONED.append(self._cues.abandon())
        for writer in self._writers.values():
            writer.datasets.clear()
        self._task_datasets.clear()
        _ABANDONED.append(self._file)
        with _quiet_hdf5_releases():
            gc.collect()
        raise RecordingError(
            self.path,
            f"write failed ({reason}); recording stopped; the file keeps what was flushed "
            f"before: {self.saved_summary()}",
        ) from None

    def close(self) -> None:
        """Flush, close, then store the per-sensor attributes gathered during the session.

        A task still open is closed at the last sample written.
        """
        if self._closed:
            return
        if self._open_task is not None:
            ends = [w.last_time_s for w in self._writers.values() if w.rows or w.pending]
            start_s = self._task_rows[self._open_task][2]
            self.end_task(max([*ends, start_s]))
        self.flush()
        self._file.close()
        self._closed = True
        extra = {p: a for p, a in self._extra_attrs.items() if a}
        dropped = {p: n for p, n in self.dropped_rows.items() if n}
        if extra or dropped:
            try:
                with h5py.File(self.path, "r+") as file:
                    for placement, count in dropped.items():
                        file["sensors"][placement].attrs["dropped_rows"] = np.int64(count)
                    for placement, attrs in extra.items():
                        for key, value in attrs.items():
                            file["sensors"][placement].attrs[key] = value
            except (OSError, RuntimeError) as error:
                raise RecordingError(
                    self.path,
                    f"cannot store the session counters ({_first_line(error)}); "
                    "the samples and tasks are saved",
                ) from None
        self._cues.store_rules(self.path)

    def __enter__(self) -> Recorder:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()


def retime_recording(
    path: Path,
    retime: Callable[[str, NDArray[np.uint32], NDArray[np.float64]], NDArray[np.float64] | None],
    method: Callable[[str], str],
) -> list[str]:
    """Replace sensors' ``time_s`` with ``retime(placement, seq, time_s)`` where it returns
    times (a closed recording; sensors without ``seq`` are left alone). Returns the
    placements re-timed; each gets the attribute ``time_alignment = method(placement)``."""
    done = []
    with h5py.File(path, "r+") as file:
        for placement, group in file["sensors"].items():
            if "seq" not in group:
                continue
            times = retime(placement, group["seq"][()], group["time_s"][()])
            if times is None:
                continue
            group["time_s"][...] = times
            group.attrs["time_alignment"] = method(placement)
            done.append(placement)
    return done


def add_task_rows(path: str | Path, tasks: Sequence[Task]) -> Path:
    """Append task rows (each with its ``source``) to a closed recording, atomically.

    The recording is copied to a hidden temporary file beside it; in the copy every existing
    task row keeps its values (a file without a ``source`` column gets one saying
    ``recorded`` for them) and ``tasks`` follow; the copy is fsynced and renamed over the
    original. A read-only file, a full disk or any failed write raises ``RecordingError``
    in one line and leaves the original byte for byte as it was.
    """
    from hipscope.base.atomic import atomic_path

    path = Path(path)
    try:
        stat = path.stat()
    except OSError as error:
        raise RecordingError(path, f"cannot save task rows ({error.strerror})") from None
    size = stat.st_size
    if stat.st_mode & 0o222 == 0 or not os.access(path, os.W_OK):
        raise RecordingError(path, "cannot save task rows: the file is read-only")
    free = shutil.disk_usage(path.parent).free
    if size + DISK_HEADROOM_BYTES > free:
        raise RecordingError(
            path,
            f"cannot save task rows: disk full (a copy needs {size // 1024 + 256} kB, "
            f"{free // 1024} kB free)",
        )
    try:
        with atomic_path(path) as temp:
            shutil.copyfile(path, temp)
            with h5py.File(temp, "r+") as file:
                _append_task_rows(file, tasks)
    except (OSError, RuntimeError, ValueError, TypeError) as error:
        reason = error.strerror if isinstance(error, OSError) and error.strerror else None
        raise RecordingError(
            path, f"cannot save task rows ({reason or _first_line(error)}); file unchanged"
        ) from None
    return path


def _append_task_rows(file: h5py.File, tasks: Sequence[Task]) -> None:
    """Rewrite /tasks as its existing rows, unchanged, followed by ``tasks``."""
    group = file.require_group("tasks")
    old: dict[str, list[Any]] = {}
    attrs: dict[str, dict[str, Any]] = {}
    for name in TASK_COLUMNS:
        if name in group:
            dataset = group[name]
            attrs[name] = dict(dataset.attrs)
            values = dataset[()]
            old[name] = [
                v.decode("utf-8") if isinstance(v, bytes) else v for v in np.atleast_1d(values)
            ]
    n_old = len(old.get("start_s", []))
    old.setdefault("source", ["recorded"] * n_old)
    new: dict[str, list[Any]] = {
        "kind": [t.kind for t in tasks],
        "side": [t.side for t in tasks],
        "start_s": [float(t.start_s) for t in tasks],
        "end_s": [float(t.end_s) for t in tasks],
        "source": [t.source for t in tasks],
    }
    for name in TASK_COLUMNS:
        values = [*old.get(name, []), *new[name]]
        if name in group:
            del group[name]
        if name.endswith("_s"):
            data: Any = np.asarray(values, dtype="f8")
            dtype: Any = "f8"
        else:
            longest = max((len(str(v).encode("utf-8")) for v in values), default=0)
            dtype = h5py.string_dtype("utf-8", max(_TASK_TEXT_BYTES, longest))
            data = [str(v) for v in values]
        dataset = group.create_dataset(
            name,
            (len(values),),
            dtype,
            maxshape=(None,),
            chunks=(_TASK_CHUNK_ROWS,),
        )
        if values:
            dataset[:] = data
        for key, value in attrs.get(name, {}).items():
            dataset.attrs[key] = value
