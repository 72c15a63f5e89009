"""Read hipscope recordings (HDF5 format version 1) and refuse anything else clearly.

Two ways in: ``load_recording`` reads and validates everything into a ``Recording``;
``open_recording`` validates the structure and reads slices on demand (replaying an
hour-long file). Every refusal is a ``RecordingError`` whose message names the file and
says what is wrong in one line.
"""

from __future__ import annotations

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
from hipscope.base.errors import HipscopeError, RecordingError

_SENSOR_ATTRS = ("device_name", "device_address", "profile", "nominal_rate_hz")
_TASK_FIELDS = ("start_s", "end_s", "kind", "side")


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
    step = np.diff(seq.astype(np.int64)) % (1 << 32)
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
    """An open recording: structure validated, samples read on demand.

    Use as a context manager; ``read`` returns the samples of one placement, optionally
    limited to a time window, without reading the rest of the file.
    """

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self._file = _open_h5(self.path)
        self._time_cache: dict[str, NDArray[np.float64]] = {}
        try:
            self.header = self._check_root()
            self._sensors = self._check_sensors()
            self.tasks = self._read_tasks()
        except BaseException:
            self._file.close()
            raise

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
        try:
            version = int(np.asarray(attrs.get("format_version")).item())
        except (TypeError, ValueError):
            raise self._fail("format_version attribute missing or not an integer") from None
        if version != FORMAT_VERSION:
            raise self._fail(
                f"unsupported format_version {version} "
                f"(this hipscope reads version {FORMAT_VERSION})"
            )
        header = {key: _text(attrs[key]) for key in attrs if key not in ("format_version",)}
        header["format_version"] = version
        for key in ("created_utc", "session_id", "athlete", "software"):
            header.setdefault(key, "")
        return header

    def _dataset(self, group: h5py.Group, name: str, where: str) -> h5py.Dataset:
        item = group.get(name)
        if not isinstance(item, h5py.Dataset):
            raise self._fail(f"missing dataset {where}/{name}")
        return item

    def _check_sensors(self) -> dict[str, h5py.Group]:
        group = self._file.get("sensors")
        if not isinstance(group, h5py.Group):
            raise self._fail("missing group /sensors")
        if len(group) == 0:
            raise self._fail("/sensors holds no sensor")
        sensors: dict[str, h5py.Group] = {}
        for placement, sensor in group.items():
            where = f"/sensors/{placement}"
            if placement not in PLACEMENTS:
                raise self._fail(
                    f"unknown placement {placement!r} (expected one of {', '.join(PLACEMENTS)})"
                )
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
            sensors[placement] = sensor
        return sensors

    def _read_tasks(self) -> tuple[Task, ...]:
        group = self._file.get("tasks")
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
        lengths = {name: len(values) for name, values in columns.items()}
        if len(set(lengths.values())) > 1:
            shown = ", ".join(f"{k}={v}" for k, v in lengths.items())
            raise self._fail(f"task rows of unequal length ({shown})")
        tasks = []
        for i in range(lengths["start_s"]):
            try:
                tasks.append(
                    Task(
                        kind=_text(columns["kind"][i]),
                        side=_text(columns["side"][i]),
                        start_s=float(columns["start_s"][i]),
                        end_s=float(columns["end_s"][i]),
                    )
                )
            except (HipscopeError, ValueError, TypeError) as error:
                raise self._fail(f"/tasks row {i}: {error}") from None
        return tuple(tasks)

    @property
    def placements(self) -> tuple[str, ...]:
        return tuple(self._sensors)

    def sensor_info(self, placement: str) -> dict[str, Any]:
        sensor = self._group(placement)
        info: dict[str, Any] = {key: _attr(sensor, key) for key in sensor.attrs}
        for key in _SENSOR_ATTRS:
            info.setdefault(key, 0.0 if key == "nominal_rate_hz" else "")
        info["nominal_rate_hz"] = float(info["nominal_rate_hz"] or 0.0)
        info["n_samples"] = int(sensor["time_s"].shape[0])
        info["has_mag"] = "mag_ut" in sensor
        info["has_seq"] = "seq" in sensor
        return info

    def _group(self, placement: str) -> h5py.Group:
        try:
            return self._sensors[placement]
        except KeyError:
            raise self._fail(f"no sensor at placement {placement!r}") from None

    def time_range(self, placement: str) -> tuple[float, float]:
        time_s = self._group(placement)["time_s"]
        if time_s.shape[0] == 0:
            return (0.0, 0.0)
        return (float(time_s[0]), float(time_s[-1]))

    def read(
        self, placement: str, start_s: float | None = None, end_s: float | None = None
    ) -> SampleBatch:
        """Samples of one placement with ``start_s <= time_s <= end_s`` (all when omitted)."""
        sensor = self._group(placement)
        time_ds = sensor["time_s"]
        first, last = 0, time_ds.shape[0]
        if start_s is not None or end_s is not None:
            time_all = self._time_index(placement, time_ds)
            if start_s is not None:
                first = int(np.searchsorted(time_all, start_s, side="left"))
            if end_s is not None:
                last = int(np.searchsorted(time_all, end_s, side="right"))
            last = max(first, last)
            time_s = time_all[first:last]
        else:
            time_s = time_ds[()]
        rows = slice(first, last)
        return SampleBatch(
            time_s=np.asarray(time_s, dtype=np.float64),
            acc_m_s2=sensor["acc_m_s2"][rows],
            gyr_rad_s=sensor["gyr_rad_s"][rows],
            mag_ut=sensor["mag_ut"][rows] if "mag_ut" in sensor else None,
            seq=sensor["seq"][rows] if "seq" in sensor else None,
        )

    def _time_index(self, placement: str, time_ds: h5py.Dataset) -> NDArray[np.float64]:
        """The placement's whole time axis, read once (again only if the file grew)."""
        cached = self._time_cache.get(placement)
        if cached is None or cached.shape[0] != time_ds.shape[0]:
            cached = np.asarray(time_ds[()], dtype=np.float64)
            self._time_cache[placement] = cached
        return cached

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


def _attr(group: h5py.Group, key: str) -> Any:
    value = group.attrs[key]
    if isinstance(value, bytes | str):
        return _text(value)
    if isinstance(value, np.generic):
        return value.item()
    return value


def _open_h5(path: Path) -> h5py.File:
    if not path.exists():
        raise RecordingError(path, "no such file")
    if path.is_dir():
        raise RecordingError(path, "is a folder, not a recording file")
    if not h5py.is_hdf5(path):
        raise RecordingError(path, "not an HDF5 file")
    try:
        return h5py.File(path, "r")
    except OSError as error:
        first = str(error).splitlines()[0] if str(error) else type(error).__name__
    if "truncated" in first:
        raise RecordingError(path, f"cannot open HDF5 file (truncated: {first})")
    try:
        # A writer still running (or killed) in SWMR mode leaves the file readable only
        # through SWMR: that is how a crashed session's recording is recovered.
        return h5py.File(path, "r", swmr=True)
    except OSError:
        raise RecordingError(path, f"cannot open HDF5 file (damaged: {first})") from None


def open_recording(path: str | Path) -> RecordingFile:
    """Open a recording for on-demand reading (validates structure, not every value)."""
    return RecordingFile(path)


def _check_values(path: Path, placement: str, batch: SampleBatch) -> None:
    where = f"/sensors/{placement}"
    time_s = batch.time_s
    if len(time_s) and not np.isfinite(time_s).all():
        raise RecordingError(path, f"{where}/time_s holds NaN or inf")
    steps = np.diff(time_s)
    if len(steps) and not (steps > 0).all():
        row = int(np.flatnonzero(steps <= 0)[0]) + 1
        raise RecordingError(
            path,
            f"{where}/time_s is not strictly increasing "
            f"(row {row}: {time_s[row]!r} after {time_s[row - 1]!r})",
        )
    for name in ("acc_m_s2", "gyr_rad_s", "mag_ut"):
        values = getattr(batch, name)
        if values is not None and len(values) and not np.isfinite(values).all():
            row = int(np.flatnonzero(~np.isfinite(values).all(axis=1))[0])
            raise RecordingError(path, f"{where}/{name} holds NaN or inf (first at row {row})")


def load_recording(path: str | Path) -> Recording:
    """Read and validate a whole recording."""
    path = Path(path)
    try:
        with RecordingFile(path) as file:
            sensors: dict[str, SensorData] = {}
            for placement in file.placements:
                info = file.sensor_info(placement)
                try:
                    batch = file.read(placement)
                except (OSError, ValueError) as error:
                    raise RecordingError(
                        path, f"/sensors/{placement}: cannot read data ({error})"
                    ) from None
                _check_values(path, placement, batch)
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
            )
    except RecordingError:
        raise
    except (OSError, KeyError, ValueError, TypeError) as error:
        raise RecordingError(path, f"damaged file ({type(error).__name__}: {error})") from None
