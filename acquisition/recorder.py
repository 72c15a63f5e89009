"""Write hipscope recordings (HDF5 format version 1), crash-safe.

All datasets are created up front, then the file switches to SWMR mode: appended rows
become visible to a reader (and survive a killed writer) at every flush. Flushes happen at
least every ``flush_interval_s`` while data arrives, and on every task row.
"""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from types import TracebackType
from typing import Any

import h5py
import numpy as np

from hipscope.acquisition.samples import PLACEMENTS, SampleBatch, Task
from hipscope.base.errors import RecordingError

log = logging.getLogger(__name__)

FORMAT_NAME = "hipscope-recording"
FORMAT_VERSION = 1
_TASK_TEXT_BYTES = 32


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
        self.pending: list[SampleBatch] = []
        self.rows = 0
        self.last_time_s = -np.inf
        self.datasets: dict[str, h5py.Dataset] = {
            "time_s": group.create_dataset(
                "time_s", shape=(0,), maxshape=(None,), dtype="f8", chunks=(chunk_rows,)
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

    def write_pending(self) -> None:
        if not self.pending:
            return
        batch = SampleBatch.concat(self.pending)
        self.pending.clear()
        n = len(batch)
        if n == 0:
            return
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
        self.rows = stop


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
        try:
            # A small per-dataset chunk cache (a few chunks) keeps memory flat over hours.
            self._file = h5py.File(self.path, "w", libver="latest", rdcc_nbytes=256 * 1024)
        except OSError as error:
            raise RecordingError(self.path, f"cannot create file ({error})") from error
        root = self._file
        root.attrs["format"] = FORMAT_NAME
        root.attrs["format_version"] = np.int64(FORMAT_VERSION)
        root.attrs["created_utc"] = datetime.now(UTC).isoformat(timespec="seconds")
        root.attrs["session_id"] = session_id or uuid.uuid4().hex
        root.attrs["athlete"] = athlete
        root.attrs["software"] = software_name()
        sensors_group = root.create_group("sensors")
        self._writers: dict[str, _SensorWriter] = {}
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
            "start_s": tasks.create_dataset("start_s", (0,), "f8", maxshape=(None,), chunks=(64,)),
            "end_s": tasks.create_dataset("end_s", (0,), "f8", maxshape=(None,), chunks=(64,)),
            "kind": tasks.create_dataset("kind", (0,), text, maxshape=(None,), chunks=(64,)),
            "side": tasks.create_dataset("side", (0,), text, maxshape=(None,), chunks=(64,)),
        }
        self._n_tasks = 0
        self._pending_tasks: list[Task] = []
        self._extra_attrs: dict[str, dict[str, Any]] = {}
        self.dropped_rows: dict[str, int] = dict.fromkeys(placements, 0)
        self._file.swmr_mode = True
        self._file.flush()
        self._last_flush = time.monotonic()
        self._closed = False

    @property
    def placements(self) -> tuple[str, ...]:
        return tuple(self._writers)

    @property
    def rows_written(self) -> dict[str, int]:
        return {p: w.rows for p, w in self._writers.items()}

    @property
    def closed(self) -> bool:
        return self._closed

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
        """Record one task row; it reaches the file at once."""
        if self._closed:
            raise RecordingError(self.path, "recorder is closed")
        self._pending_tasks.append(task)
        self.flush()

    def set_sensor_attrs(self, placement: str, **attrs: Any) -> None:
        """Attributes (e.g. lost-sample counts) written to the sensor's group at close."""
        if placement not in self._writers:
            raise RecordingError(self.path, f"no sensor declared for placement {placement!r}")
        self._extra_attrs.setdefault(placement, {}).update(attrs)

    def maybe_flush(self) -> None:
        if time.monotonic() - self._last_flush >= self.flush_interval_s:
            self.flush()

    def flush(self) -> None:
        """Write everything queued and make it durable for SWMR readers."""
        if self._closed:
            return
        for writer in self._writers.values():
            writer.write_pending()
        if self._pending_tasks:
            n = len(self._pending_tasks)
            start, stop = self._n_tasks, self._n_tasks + n
            for name, dataset in self._task_datasets.items():
                dataset.resize(stop, axis=0)
                dataset[start:stop] = [getattr(t, name) for t in self._pending_tasks]
            self._n_tasks = stop
            self._pending_tasks.clear()
        self._file.flush()
        self._last_flush = time.monotonic()

    def close(self) -> None:
        """Flush, close, then store the per-sensor attributes gathered during the session."""
        if self._closed:
            return
        self.flush()
        self._file.close()
        self._closed = True
        extra = {p: a for p, a in self._extra_attrs.items() if a}
        dropped = {p: n for p, n in self.dropped_rows.items() if n}
        if extra or dropped:
            with h5py.File(self.path, "r+") as file:
                for placement, count in dropped.items():
                    file["sensors"][placement].attrs["dropped_rows"] = np.int64(count)
                for placement, attrs in extra.items():
                    for key, value in attrs.items():
                        file["sensors"][placement].attrs[key] = value

    def __enter__(self) -> Recorder:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()
