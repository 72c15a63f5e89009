"""Read hipscope recordings (HDF5 format version 1) and refuse anything else clearly.

Two ways in, one opening path: ``load_recording`` reads everything into a ``Recording``;
``open_recording`` checks the same things and then reads slices on demand (replaying an
hour-long file). Both go through ``RecordingFile``, which, before reading any sample:

- opens only regular files, mapping every h5py/HDF5 error to one line;
- refuses soft and external links (another file's data must never be analysed as this one);
- checks every dataset's declared size against the file's size, so a small file that
  declares gigabytes is refused instead of allocated;
- checks the values (finite, time strictly increasing) block by block, in bounded memory.

Every refusal is a ``RecordingError`` whose message names the file and says what is wrong
in one line. What the reader repairs instead of refusing (an open task row left by a killed
recorder, rows a failed write never filled, task rows outside the recording) is listed in
``notes`` and logged.
"""

from __future__ import annotations

import contextlib
import logging
import math
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Any

import h5py
import numpy as np
from numpy.typing import NDArray

from hipscope.acquisition.recorder import FORMAT_NAME, FORMAT_VERSION
from hipscope.acquisition.samples import PLACEMENTS, SampleBatch, Task
from hipscope.base.cues import CueEvent
from hipscope.base.errors import HipscopeError, RecordingError

log = logging.getLogger(__name__)

_SENSOR_ATTRS = ("device_name", "device_address", "profile", "nominal_rate_hz")
_TASK_FIELDS = ("start_s", "end_s", "kind", "side")
_TASK_SOURCE = "source"
"""Optional /tasks column (docs/RECORDING_FORMAT.md "Task source"); without it, where a
row's value is empty and for rows past its end, a row reads as ``recorded``."""
DECLARED_SIZE_RATIO = 16
"""Datasets may declare at most this many times the file's size (room for compression)..."""
DECLARED_SIZE_BASE_BYTES = 64 * 1024 * 1024
"""...plus this much (small files with generous chunking)."""
CHECK_BLOCK_ROWS = 1 << 18
HDF5_ERRORS = (OSError, RuntimeError, KeyError, ValueError, TypeError)
"""What h5py raises on damaged files (RuntimeError for broken metadata, KeyError for
dangling names, OSError for I/O and format errors)."""


@dataclass(frozen=True)
class Gap:
    """Samples the device counted but hipscope never received."""

    start_s: float
    end_s: float
    lost_samples: int


@dataclass(frozen=True, eq=False)
class SensorData:
    """One sensor's samples and metadata, read from a recording."""

    placement: str
    device_name: str
    device_address: str
    profile: str
    nominal_rate_hz: float
    samples: SampleBatch
    attrs: dict[str, Any] = field(default_factory=dict)

    @property
    def n_samples(self) -> int:
        return len(self.samples)

    @property
    def duration_s(self) -> float:
        t = self.samples.time_s
        return float(t[-1] - t[0]) if len(t) > 1 else 0.0

    @property
    def rate_hz(self) -> float:
        """Measured rate: the median sample interval, robust to gaps."""
        t = self.samples.time_s
        if len(t) < 2:
            return float(self.nominal_rate_hz)
        return float(1.0 / np.median(np.diff(t)))

    def gaps(self) -> list[Gap]:
        """Gaps from jumps in the device counter (empty when the sensor has no counter)."""
        return sequence_gaps(self.samples.time_s, self.samples.seq)

    @property
    def lost_samples(self) -> int:
        return sum(g.lost_samples for g in self.gaps())


def sequence_gaps(time_s: NDArray[np.float64], seq: NDArray[np.uint32] | None) -> list[Gap]:
    """Gaps where consecutive counters jump by more than one (uint32 roll-over allowed)."""
    if seq is None or len(seq) < 2:
        return []
    step = np.mod(np.diff(seq.astype(np.int64)), 1 << 32)
    where = np.flatnonzero(step > 1)
    return [Gap(float(time_s[i]), float(time_s[i + 1]), int(step[i] - 1)) for i in where]


@dataclass(frozen=True, eq=False)
class Recording:
    """A whole recording in memory."""

    path: Path
    format_version: int
    created_utc: str
    session_id: str
    athlete: str
    software: str
    sensors: dict[str, SensorData]
    tasks: tuple[Task, ...]
    notes: tuple[str, ...] = ()
    """What the reader repaired (open task rows, unwritten rows, tasks outside the data)."""
    cues: tuple[CueEvent, ...] = ()
    """Live cues given during the recording, in the order they were given (empty in files
    written without cues)."""
    cue_rules: tuple[str, ...] = ()
    """The cue rules in force at some time during the recording (canonical texts)."""

    @property
    def start_s(self) -> float:
        starts = [s.samples.time_s[0] for s in self.sensors.values() if s.n_samples]
        return float(min(starts)) if starts else 0.0

    @property
    def end_s(self) -> float:
        ends = [s.samples.time_s[-1] for s in self.sensors.values() if s.n_samples]
        return float(max(ends)) if ends else 0.0

    @property
    def duration_s(self) -> float:
        return self.end_s - self.start_s


def _text(value: Any) -> str:
    if isinstance(value, bytes):
        return value.decode("utf-8", errors="replace")
    if isinstance(value, np.ndarray) and value.shape == ():
        return _text(value[()])
    return str(value)


class RecordingFile:
    """An open recording: structure, sizes and values checked, samples read on demand.

    Use as a context manager; ``read`` returns the samples of one placement, optionally
    limited to a time window, without reading the rest of the file.
    """

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self._file = open_hdf5(self.path)
        self._time_cache: dict[str, NDArray[np.float64]] = {}
        self._rows: dict[str, int] = {}
        self.notes: list[str] = []
        try:
            with hdf5_errors(self.path):
                self.header = self._check_root()
                self._sensors = self._check_sensors()
                self._check_declared_size()
                for placement in self._sensors:
                    self._check_values(placement)
                self.tasks = self._read_tasks()
                self.cues, self.cue_rules = self._read_cues()
        except BaseException:
            self._file.close()
            raise
        for note in self.notes:
            log.warning("%s: %s", self.path, note)

    def _fail(self, problem: str) -> RecordingError:
        return RecordingError(self.path, problem)

    def _check_root(self) -> dict[str, Any]:
        attrs = self._file.attrs
        if "format" not in attrs:
            raise self._fail(
                f"not a hipscope recording (no 'format' attribute; expected {FORMAT_NAME!r})"
            )
        fmt = _text(attrs["format"])
        if fmt != FORMAT_NAME:
            raise self._fail(
                f"not a hipscope recording (format is {fmt!r}, expected {FORMAT_NAME!r})"
            )
        if "format_version" not in attrs:
            raise self._fail("format_version attribute missing")
        raw = np.asarray(attrs["format_version"])
        if raw.shape != () or raw.dtype.kind not in "iu":
            shown = _text(raw) if raw.dtype.kind in "SUO" else repr(raw.tolist())
            raise self._fail(
                f"format_version is {shown[:40]}, expected the integer {FORMAT_VERSION}"
            )
        version = int(raw)
        if version != FORMAT_VERSION:
            raise self._fail(
                f"unsupported format_version {version} "
                f"(this hipscope reads version {FORMAT_VERSION})"
            )
        header: dict[str, str | int] = {
            key: _text(attrs[key]) for key in attrs if key not in ("format_version",)
        }
        header["format_version"] = version
        for key in ("created_utc", "session_id", "athlete", "software"):
            header.setdefault(key, "")
        return header

    def _member(self, group: h5py.Group, name: str, where: str) -> Any:
        """``group[name]``, refusing soft and external links (checked before following)."""
        link = group.get(name, getlink=True)
        if link is None:
            return None
        if isinstance(link, h5py.ExternalLink):
            raise self._fail(
                f"{where}/{name} is an external link to {link.filename}:{link.path}; "
                "links to other files are refused"
            )
        if isinstance(link, h5py.SoftLink):
            raise self._fail(f"{where}/{name} is a soft link to {link.path}; links are refused")
        return group[name]

    def _dataset(self, group: h5py.Group, name: str, where: str) -> h5py.Dataset:
        item = self._member(group, name, where)
        if not isinstance(item, h5py.Dataset):
            raise self._fail(f"missing dataset {where}/{name}")
        return item

    def _check_sensors(self) -> dict[str, h5py.Group]:
        group = self._member(self._file, "sensors", "")
        if not isinstance(group, h5py.Group):
            raise self._fail("missing group /sensors")
        if len(group) == 0:
            raise self._fail("/sensors holds no sensor")
        sensors: dict[str, h5py.Group] = {}
        for placement in list(group.keys()):
            where = f"/sensors/{placement}"
            if placement not in PLACEMENTS:
                raise self._fail(
                    f"unknown placement {placement!r} (expected one of {', '.join(PLACEMENTS)})"
                )
            sensor = self._member(group, placement, "/sensors")
            if not isinstance(sensor, h5py.Group):
                raise self._fail(f"{where} is not a group")
            time_s = self._dataset(sensor, "time_s", where)
            if time_s.ndim != 1:
                raise self._fail(f"{where}/time_s has shape {time_s.shape}, expected (N,)")
            if time_s.dtype.kind != "f":
                raise self._fail(f"{where}/time_s has dtype {time_s.dtype}, expected float64")
            n = time_s.shape[0]
            for name in ("acc_m_s2", "gyr_rad_s", "mag_ut"):
                if name == "mag_ut" and name not in sensor:
                    continue
                data = self._dataset(sensor, name, where)
                if data.shape != (n, 3):
                    raise self._fail(f"{where}/{name} has shape {data.shape}, expected ({n}, 3)")
                if data.dtype.kind not in "fiu":
                    raise self._fail(f"{where}/{name} has dtype {data.dtype}, expected float32")
            if "seq" in sensor:
                seq = self._dataset(sensor, "seq", where)
                if seq.shape != (n,):
                    raise self._fail(f"{where}/seq has shape {seq.shape}, expected ({n},)")
                if seq.dtype.kind not in "iu":
                    raise self._fail(f"{where}/seq has dtype {seq.dtype}, expected uint32")
            if "nominal_rate_hz" in sensor.attrs:
                rate = np.asarray(sensor.attrs["nominal_rate_hz"])
                if not (
                    rate.shape == ()
                    and rate.dtype.kind in "fiu"
                    and math.isfinite(float(rate))
                    and float(rate) >= 0
                ):
                    shown = _text(rate) if rate.dtype.kind in "SUO" else repr(rate.tolist())
                    raise self._fail(
                        f"{where} attribute nominal_rate_hz is {shown[:40]!r}, "
                        "expected a rate in Hz (a number >= 0)"
                    )
            sensors[placement] = sensor
        return sensors

    def _datasets(self) -> Iterator[tuple[str, h5py.Dataset]]:
        for placement, sensor in self._sensors.items():
            for name in ("time_s", "acc_m_s2", "gyr_rad_s", "mag_ut", "seq"):
                if name in sensor:
                    yield f"/sensors/{placement}/{name}", sensor[name]
        tasks = self._member(self._file, "tasks", "")
        if isinstance(tasks, h5py.Group):
            for name in (*_TASK_FIELDS, _TASK_SOURCE):
                item = self._member(tasks, name, "/tasks")
                if isinstance(item, h5py.Dataset):
                    yield f"/tasks/{name}", item
        cues = self._member(self._file, "cues", "")
        if isinstance(cues, h5py.Dataset):
            yield "/cues", cues

    def _check_declared_size(self) -> None:
        """Refuse datasets that declare far more data than the file can hold, before any
        read allocates it (a 1 MB file declaring 10 GB)."""
        file_bytes = self.path.stat().st_size
        limit = DECLARED_SIZE_RATIO * file_bytes + DECLARED_SIZE_BASE_BYTES
        total = 0
        for where, dataset in self._datasets():
            declared = int(np.prod(dataset.shape, dtype=np.float64)) * dataset.dtype.itemsize
            total += declared
            if total > limit:
                raise self._fail(
                    f"{where} declares shape {dataset.shape} ({_size(declared)}); datasets "
                    f"declaring {_size(total)} cannot be real in a {_size(file_bytes)} file"
                )

    def _check_values(self, placement: str) -> None:
        """Time finite and strictly increasing, vectors finite; read in bounded blocks.

        Trailing rows whose time is NaN are rows a failed write never filled (the recorder
        writes NaN as time's fill value); they are dropped with a note.
        """
        where = f"/sensors/{placement}"
        sensor = self._sensors[placement]
        time_s = np.asarray(sensor["time_s"][()], dtype=np.float64)
        n = time_s.shape[0]
        finite = np.isfinite(time_s)
        if n and not finite[-1]:
            written = int(np.flatnonzero(finite)[-1]) + 1 if finite.any() else 0
            if np.isnan(time_s[written:]).all():
                self.notes.append(
                    f"{where}: {n - written} trailing row(s) were never written "
                    "(the recorder stopped during a write); ignored"
                )
                time_s = time_s[:written]
                finite = finite[:written]
                n = written
        if not finite.all():
            row = int(np.flatnonzero(~finite)[0])
            raise self._fail(f"{where}/time_s holds NaN or inf (first at row {row})")
        steps = np.diff(time_s)
        if len(steps) and not (steps > 0).all():
            row = int(np.flatnonzero(steps <= 0)[0]) + 1
            raise self._fail(
                f"{where}/time_s is not strictly increasing "
                f"(row {row}: {float(time_s[row])!r} after {float(time_s[row - 1])!r})"
            )
        self._rows[placement] = n
        self._time_cache[placement] = time_s
        for name in ("acc_m_s2", "gyr_rad_s", "mag_ut"):
            if name not in sensor:
                continue
            dataset = sensor[name]
            for first in range(0, n, CHECK_BLOCK_ROWS):
                block = dataset[first : min(n, first + CHECK_BLOCK_ROWS)]
                bad = ~np.isfinite(block).all(axis=1)
                if bad.any():
                    row = first + int(np.flatnonzero(bad)[0])
                    raise self._fail(f"{where}/{name} holds NaN or inf (first at row {row})")

    def _read_tasks(self) -> tuple[Task, ...]:
        group = self._member(self._file, "tasks", "")
        if group is None:
            return ()
        if not isinstance(group, h5py.Group):
            raise self._fail("/tasks is not a group")
        columns: dict[str, Any] = {}
        for name in _TASK_FIELDS:
            data = self._dataset(group, name, "/tasks")
            if data.ndim != 1:
                raise self._fail(f"/tasks/{name} has shape {data.shape}, expected (N,)")
            columns[name] = data[()]
        if self._member(group, _TASK_SOURCE, "/tasks") is not None:
            data = self._dataset(group, _TASK_SOURCE, "/tasks")
            if data.ndim != 1:
                raise self._fail(f"/tasks/{_TASK_SOURCE} has shape {data.shape}, expected (N,)")
            sources = data[()]
        else:
            sources = ()
        lengths = {name: len(values) for name, values in columns.items()}
        if len(set(lengths.values())) > 1:
            shown = ", ".join(f"{k}={v}" for k, v in lengths.items())
            raise self._fail(f"task rows of unequal length ({shown})")
        if len(sources) > lengths["start_s"]:
            raise self._fail(
                f"/tasks/{_TASK_SOURCE} has {len(sources)} rows, more than the "
                f"{lengths['start_s']} task rows"
            )
        data_start_s, data_end_s = self._data_span()
        tasks = []
        for i in range(lengths["start_s"]):
            try:
                kind = _text(columns["kind"][i])
                side = _text(columns["side"][i])
                start_s = float(columns["start_s"][i])
                end_s = float(columns["end_s"][i])
                if math.isnan(end_s) and math.isfinite(start_s):
                    # An open row: the recorder writes it when a task starts and completes
                    # it when the task ends; a killed recorder leaves it open.
                    end_s = max(start_s, data_end_s)
                    self.notes.append(
                        f"/tasks row {i} ({kind}) was still open when recording stopped; "
                        f"closed at the last sample ({end_s:.2f} s)"
                    )
                # rows appended by a writer that does not know the column read as recorded
                source = (_text(sources[i]) if i < len(sources) else "") or "recorded"
                task = Task(kind=kind, side=side, start_s=start_s, end_s=end_s, source=source)
            except (HipscopeError, ValueError, TypeError) as error:
                raise self._fail(f"/tasks row {i}: {error}") from None
            if data_end_s > data_start_s and (
                task.end_s <= data_start_s or task.start_s >= data_end_s
            ):
                self.notes.append(
                    f"/tasks row {i} ({task.label}, {task.start_s:.2f}-{task.end_s:.2f} s) "
                    f"lies outside the recorded samples ({data_start_s:.2f}-{data_end_s:.2f} s):"
                    " it has no data to analyse"
                )
            tasks.append(task)
        return tuple(tasks)

    def _data_span(self) -> tuple[float, float]:
        times = [t for t in self._time_cache.values() if len(t)]
        if not times:
            return (0.0, 0.0)
        return (float(min(t[0] for t in times)), float(max(t[-1] for t in times)))

    def _read_cues(self) -> tuple[tuple[CueEvent, ...], tuple[str, ...]]:
        """The live cues (``/cues``) and the rules in force (root attribute ``cue_rules``).

        Cues never decide whether a recording can be analysed: a ``/cues`` of the wrong
        shape or type is ignored and unusable rows are dropped, each with a note. Texts are
        kept as data (shown escaped), cut to ``MAX_CUE_TEXT`` characters.
        """
        rules = self._read_cue_rules()
        item = self._member(self._file, "cues", "")
        if item is None:
            return (), rules
        problem = _cue_layout_problem(item)
        if problem:
            self.notes.append(f"/cues ignored: {problem}")
            return (), rules
        rows = item[()]
        times = np.asarray(rows["time_s"], dtype=np.float64)
        written = len(rows)
        while written and math.isnan(times[written - 1]):
            written -= 1  # rows a write never filled (time NaN is the fill value)
        if written < len(rows):
            self.notes.append(
                f"/cues: {len(rows) - written} trailing row(s) were never written "
                "(the recorder stopped during a write); ignored"
            )
        cues: list[CueEvent] = []
        bad = 0
        for row in rows[:written]:
            numbers = [float(row[name]) for name in ("time_s", "value", "threshold")]
            rule = _cue_text(row["rule"])
            if not all(math.isfinite(v) for v in numbers) or not rule:
                bad += 1
                continue
            cues.append(
                CueEvent(
                    time_s=numbers[0],
                    rule=rule,
                    metric=_cue_text(row["metric"]),
                    value=numbers[1],
                    threshold=numbers[2],
                    task_kind=_cue_text(row["task_kind"]),
                    task_side=_cue_text(row["task_side"]),
                )
            )
        if bad:
            self.notes.append(
                f"/cues: {bad} row(s) without a rule or with a time, value or threshold that "
                "is not a finite number; left out"
            )
        # a recorder killed before close kept only the rules set when it started
        return tuple(cues), tuple(dict.fromkeys([*rules, *(c.rule for c in cues)]))

    def _read_cue_rules(self) -> tuple[str, ...]:
        attrs = self._file.attrs
        if "cue_rules" not in attrs:
            return ()
        raw = np.asarray(attrs["cue_rules"])
        if raw.dtype.kind not in "SUO" or raw.ndim > 1:
            self.notes.append(
                f"attribute cue_rules ignored: expected a list of texts, got {raw.dtype} "
                f"of shape {raw.shape}"
            )
            return ()
        values = [_cue_text(v) for v in raw.reshape(-1)[:MAX_CUE_RULES]]
        if raw.size > MAX_CUE_RULES:
            self.notes.append(
                f"attribute cue_rules lists {raw.size} rules; the first {MAX_CUE_RULES} are kept"
            )
        return tuple(dict.fromkeys(v for v in values if v))

    @property
    def placements(self) -> tuple[str, ...]:
        return tuple(self._sensors)

    def sensor_info(self, placement: str) -> dict[str, Any]:
        sensor = self._group(placement)
        with hdf5_errors(self.path):
            info: dict[str, Any] = {key: _attr(sensor, key) for key in sensor.attrs}
        for key in _SENSOR_ATTRS:
            info.setdefault(key, 0.0 if key == "nominal_rate_hz" else "")
        info["nominal_rate_hz"] = float(info["nominal_rate_hz"] or 0.0)
        info["n_samples"] = self._rows[placement]
        info["has_mag"] = "mag_ut" in sensor
        info["has_seq"] = "seq" in sensor
        return info

    def _group(self, placement: str) -> h5py.Group:
        try:
            return self._sensors[placement]
        except KeyError:
            raise self._fail(f"no sensor at placement {placement!r}") from None

    def time_range(self, placement: str) -> tuple[float, float]:
        self._group(placement)
        time_s = self._time_cache[placement]
        if time_s.shape[0] == 0:
            return (0.0, 0.0)
        return (float(time_s[0]), float(time_s[-1]))

    def read(
        self, placement: str, start_s: float | None = None, end_s: float | None = None
    ) -> SampleBatch:
        """Samples of one placement with ``start_s <= time_s <= end_s`` (all when omitted)."""
        sensor = self._group(placement)
        time_all = self._time_cache[placement]
        first, last = 0, time_all.shape[0]
        if start_s is not None:
            first = int(np.searchsorted(time_all, start_s, side="left"))
        if end_s is not None:
            last = int(np.searchsorted(time_all, end_s, side="right"))
        last = max(first, last)
        rows = slice(first, last)
        with hdf5_errors(self.path, f"/sensors/{placement}: cannot read data"):
            return SampleBatch(
                time_s=time_all[first:last],
                acc_m_s2=sensor["acc_m_s2"][rows],
                gyr_rad_s=sensor["gyr_rad_s"][rows],
                mag_ut=sensor["mag_ut"][rows] if "mag_ut" in sensor else None,
                seq=sensor["seq"][rows] if "seq" in sensor else None,
            )

    def close(self) -> None:
        self._file.close()

    def __enter__(self) -> RecordingFile:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    def __iter__(self) -> Iterator[str]:
        return iter(self._sensors)


MAX_CUE_TEXT = 120
"""Longest cue text kept from a file (hipscope writes rules of at most 96 bytes)."""
MAX_CUE_RULES = 200
_CUE_NUMBERS = ("time_s", "value", "threshold")
_CUE_TEXTS = ("rule", "metric", "task_kind", "task_side")


def _cue_layout_problem(item: Any) -> str:
    """Why ``/cues`` is not a cue table ("" when it is one)."""
    if not isinstance(item, h5py.Dataset):
        return "it is not a dataset"
    fields = item.dtype.fields
    if item.ndim != 1 or fields is None:
        return f"expected a 1-D table of cue rows, got dtype {item.dtype} of shape {item.shape}"
    missing = [name for name in (*_CUE_NUMBERS, *_CUE_TEXTS) if name not in fields]
    if missing:
        return f"cue rows lack the field(s) {', '.join(missing)}"
    for name in _CUE_NUMBERS:
        dtype = fields[name][0]
        if dtype.kind not in "fiu" or dtype.shape:
            return f"field {name} has dtype {dtype}, expected float64"
    for name in _CUE_TEXTS:
        dtype = fields[name][0]
        if (dtype.kind not in "SUO" or dtype.shape) or (
            dtype.kind == "O" and h5py.check_string_dtype(dtype) is None
        ):
            return f"field {name} has dtype {dtype}, expected UTF-8 text"
    return ""


def _cue_text(value: Any) -> str:
    text = _text(value).replace("\x00", "")
    return text if len(text) <= MAX_CUE_TEXT else text[: MAX_CUE_TEXT - 1] + "…"


def _size(n_bytes: float) -> str:
    for unit, scale in (("GB", 1e9), ("MB", 1e6), ("kB", 1e3)):
        if n_bytes >= scale:
            return f"{n_bytes / scale:.1f} {unit}"
    return f"{int(n_bytes)} bytes"


def _attr(group: h5py.Group, key: str) -> Any:
    value = group.attrs[key]
    if isinstance(value, bytes | str):
        return _text(value)
    if isinstance(value, np.generic):
        return value.item()
    return value


def _first_line(error: BaseException) -> str:
    text = str(error).strip()
    return text.splitlines()[0].rstrip(" (") if text else type(error).__name__


@contextlib.contextmanager
def hdf5_errors(path: Path, context: str = "damaged file") -> Iterator[None]:
    """Turn whatever h5py raises on a damaged file into one ``RecordingError`` line."""
    try:
        yield
    except HipscopeError:
        raise
    except HDF5_ERRORS as error:
        raise RecordingError(
            path, f"{context} ({type(error).__name__}: {_first_line(error)})"
        ) from None


def open_hdf5(path: Path) -> h5py.File:
    """Open an HDF5 file for reading, or refuse it in one line (the one opening path)."""
    try:
        if not path.exists():
            raise RecordingError(path, "no such file")
        if path.is_dir():
            raise RecordingError(path, "is a folder, not a recording file")
        if not path.is_file():
            raise RecordingError(path, "not a regular file")
        if not h5py.is_hdf5(path):
            raise RecordingError(path, "not an HDF5 file")
    except OSError as error:
        raise RecordingError(path, f"cannot read ({_first_line(error)})") from None
    try:
        return h5py.File(path, "r")
    except HDF5_ERRORS as error:
        first = _first_line(error)
    if "truncated" in first:
        raise RecordingError(path, f"cannot open HDF5 file (truncated: {first})")
    try:
        # A writer still running (or killed) in SWMR mode leaves the file readable only
        # through SWMR: that is how a crashed session's recording is recovered.
        return h5py.File(path, "r", swmr=True)
    except HDF5_ERRORS:
        raise RecordingError(path, f"cannot open HDF5 file (damaged: {first})") from None


def open_recording(path: str | Path) -> RecordingFile:
    """Open a recording for on-demand reading (every check of ``load_recording`` passed)."""
    return RecordingFile(path)


def load_recording(path: str | Path) -> Recording:
    """Read and validate a whole recording."""
    path = Path(path)
    with RecordingFile(path) as file:
        sensors: dict[str, SensorData] = {}
        for placement in file.placements:
            info = file.sensor_info(placement)
            batch = file.read(placement)
            attrs = {
                k: v
                for k, v in info.items()
                if k not in (*_SENSOR_ATTRS, "n_samples", "has_mag", "has_seq")
            }
            sensors[placement] = SensorData(
                placement=placement,
                device_name=str(info["device_name"]),
                device_address=str(info["device_address"]),
                profile=str(info["profile"]),
                nominal_rate_hz=float(info["nominal_rate_hz"]),
                samples=batch,
                attrs=attrs,
            )
        header = file.header
        return Recording(
            path=path,
            format_version=int(header["format_version"]),
            created_utc=str(header["created_utc"]),
            session_id=str(header["session_id"]),
            athlete=str(header["athlete"]),
            software=str(header["software"]),
            sensors=sensors,
            tasks=file.tasks,
            notes=tuple(file.notes),
            cues=file.cues,
            cue_rules=file.cue_rules,
        )
