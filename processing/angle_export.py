"""Angle curves of a session as a CSV table or an OpenSim motion file (.mot).

CSV (``write_angle_csv``): a header row, then one row per sample of the session grid:
``time_s`` (recording clock) and the angles in degrees the worn sensors allow, named and
signed as in docs/DESIGN.md section 2 (``pelvis_tilt_deg`` anterior positive, ...). A cell
is empty where the angle is unknown: outside a sensor's data, and wherever a sensor lost
samples (the kinematics bridges short gaps for the filters; the export does not hand
those bridged values out as measurements).

OpenSim (``write_angle_mot``): the same rows as a Storage/motion file with OpenSim's
coordinate names and signs (gait2392 / Rajagopal 2015 models, cited in docs/DESIGN.md
"Angle export"), ``inDegrees=yes``, tab separated; rows where the CSV has an empty cell
are left out (OpenSim's Storage reader stops at a ``NaN``). The
pelvis angles there are OpenSim's own decomposition (body-fixed Z-X-Y about the pelvis's
tilt, list and rotation axes), not hipscope's Y-X-Z segment angles.

Both are written block by block straight from the arrays (numbers are formatted by numpy,
not per value in Python) through a temporary file in the target folder that is flushed,
fsync-ed and renamed over the target: a reader never sees half a file.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import IO, TYPE_CHECKING

import numpy as np
from numpy.typing import NDArray

from hipscope.acquisition.recording import Recording, SensorData
from hipscope.base.errors import HipscopeError
from hipscope.processing.angles import _euler, relative_to_neutral

if TYPE_CHECKING:
    from hipscope.processing.kinematics import SessionKinematics

ROWS_PER_BLOCK = 1 << 15
"""Rows formatted at a time: bounds the text buffers to a few tens of MB."""


def row_chunks(n: int, size: int) -> list[slice]:
    """Consecutive row slices of at most ``size`` covering ``range(n)``."""
    return [slice(i, min(i + size, n)) for i in range(0, n, size)]


@dataclass(frozen=True)
class AngleColumn:
    """One exported column: where its values come from and which sensors it needs."""

    csv_name: str
    source: str
    """Angle name in ``SessionKinematics.angles_rad``."""
    sensors: tuple[str, ...]
    mot_name: str
    mot_sign: float
    """OpenSim value = mot_sign * hipscope value (both degrees)."""


def _hip(side: str, short: str) -> list[AngleColumn]:
    sensors = ("pelvis", f"thigh_{side}")
    return [
        AngleColumn(
            f"hip_{kind}_{side}_deg", f"hip_{kind}_{side}", sensors, f"hip_{kind}_{short}", 1.0
        )
        for kind in ("flexion", "adduction", "rotation")
    ]


_LUMBAR = ("pelvis", "trunk")
COLUMNS: tuple[AngleColumn, ...] = (
    AngleColumn("pelvis_tilt_deg", "pelvis_tilt", ("pelvis",), "pelvis_tilt", 1.0),
    AngleColumn("pelvis_obliquity_deg", "pelvis_obliquity", ("pelvis",), "pelvis_list", 1.0),
    AngleColumn("pelvis_rotation_deg", "pelvis_rotation", ("pelvis",), "pelvis_rotation", 1.0),
    *_hip("left", "l"),
    *_hip("right", "r"),
    AngleColumn("lumbar_flexion_deg", "lumbar_flexion", _LUMBAR, "lumbar_extension", -1.0),
    AngleColumn("lumbar_lateral_bend_deg", "lumbar_lateral_bend", _LUMBAR, "lumbar_bending", 1.0),
    AngleColumn("lumbar_rotation_deg", "lumbar_rotation", _LUMBAR, "lumbar_rotation", 1.0),
)
"""Every exportable angle, in column order (the CSV and the .mot share it)."""

def opensim_pelvis_angles(q_world_pelvis: NDArray[np.float64]) -> dict[str, NDArray[np.float64]]:
    """(pelvis_tilt, pelvis_list, pelvis_rotation) of OpenSim's ground_pelvis joint, radians.

    OpenSim's ground is x forward, y up, z right: the ISB pelvis frame at the calibration
    stance. Its CustomJoint turns the pelvis about z (tilt), then x (list), then y
    (rotation), each about the already turned axes: intrinsic Z-X-Y. Positive tilt lifts the
    front of the pelvis (posterior tilt), positive list lowers the right side, positive
    rotation turns the anterior axis to the left.
    """
    angles = _euler(relative_to_neutral(q_world_pelvis), "ZXY")
    return {
        "pelvis_tilt": angles[:, 0],
        "pelvis_obliquity": angles[:, 1],
        "pelvis_rotation": angles[:, 2],
    }


def measured_rows(sensor: SensorData, grid_s: NDArray[np.float64]) -> NDArray[np.bool_]:
    """True for grid times between two real samples no further apart than 1.5 sample periods.

    False outside the sensor's data and across lost samples (the interval is measured from
    the samples' own clock, so sensors without a counter are covered too). The period is
    the longer of the nominal and the measured (median) one: a sensor that delivers fewer
    samples than its profile promises is not blanked throughout.
    """
    t = sensor.samples.time_s
    if len(t) < 2:
        return np.zeros(len(grid_s), dtype=bool)
    period_s = 1.0 / sensor.rate_hz
    if sensor.nominal_rate_hz > 0:
        period_s = max(period_s, 1.0 / sensor.nominal_rate_hz)
    max_span_s = 1.5 * period_s
    hi = np.clip(np.searchsorted(t, grid_s, side="left"), 1, len(t) - 1)
    span = t[hi] - t[hi - 1]
    inside = (grid_s >= t[0] - 1e-9) & (grid_s <= t[-1] + 1e-9)
    return inside & (span <= max_span_s)


@dataclass
class AngleTable:
    """The rows to export: time and each available column in degrees, NaN where unknown."""

    time_s: NDArray[np.float64]
    columns: list[AngleColumn]
    values_deg: list[NDArray[np.float64]]

    @property
    def n_rows(self) -> int:
        return len(self.time_s)

    def empty_cells(self) -> int:
        return int(sum(np.count_nonzero(~np.isfinite(v)) for v in self.values_deg))


def angle_table(
    time_s: NDArray[np.float64],
    angles_rad: Mapping[str, NDArray[np.float64]],
    valid_rows: Mapping[str, NDArray[np.bool_]] | None = None,
    *,
    opensim: bool = False,
    q_world_pelvis: NDArray[np.float64] | None = None,
) -> AngleTable:
    """The exportable columns of a session's angles.

    valid_rows: placement -> grid rows where that sensor measured (``measured_rows``); an
    angle is blanked wherever any sensor it needs did not. opensim: take the pelvis angles
    from ``opensim_pelvis_angles(q_world_pelvis)`` and apply the OpenSim signs.
    """
    n = len(time_s)
    sources = dict(angles_rad)
    if opensim and q_world_pelvis is not None:
        sources.update(opensim_pelvis_angles(q_world_pelvis))
    columns: list[AngleColumn] = []
    values: list[NDArray[np.float64]] = []
    for column in COLUMNS:
        value = sources.get(column.source)
        if value is None:
            continue
        if len(value) != n:
            raise HipscopeError(f"angle {column.source}: {len(value)} values for {n} time rows")
        deg = np.degrees(np.asarray(value, dtype=np.float64))
        if opensim:
            deg *= column.mot_sign
        for placement in column.sensors:
            if valid_rows is not None and placement in valid_rows:
                deg[~valid_rows[placement]] = np.nan
        columns.append(column)
        values.append(deg)
    return AngleTable(np.asarray(time_s, dtype=np.float64), columns, values)


def _digits(
    values: NDArray[np.float64], decimals: int, sep: int, nan_text: bytes
) -> tuple[NDArray[np.uint8], NDArray[np.bool_]]:
    """Fixed-point text of one column as a (rows, width) byte block and a keep-mask.

    Each row holds sign, integer digits, '.', decimals and the separator; the mask drops the
    unused sign and the leading zeros. NaN rows hold ``nan_text`` (empty: an empty cell).
    """
    finite = np.isfinite(values)
    ints = np.rint(np.where(finite, np.abs(values), 0.0) * 10.0**decimals).astype(np.int64)
    negative = finite & (values < 0) & (ints > 0)
    largest = int(ints.max()) if len(ints) else 0
    n_digits = max(len(str(largest)), decimals + 1)
    width = max(1 + n_digits + (1 if decimals else 0), len(nan_text)) + 1
    out = np.full((len(values), width), ord(" "), dtype=np.uint8)
    keep = np.zeros((len(values), width), dtype=bool)
    out[:, 0] = ord("-")
    keep[:, 0] = negative
    position = 1
    for k in range(n_digits - 1, -1, -1):
        if decimals and k == decimals - 1:
            out[:, position] = ord(".")
            keep[:, position] = True
            position += 1
        out[:, position] = ord("0") + (ints // 10**k) % 10
        keep[:, position] = ints >= 10**k if k > decimals else True
        position += 1
    out[:, -1] = sep
    keep[:, -1] = True
    if not finite.all():
        bad = ~finite
        keep[bad, :-1] = False
        if nan_text:
            out[np.ix_(bad, np.arange(len(nan_text)))] = np.frombuffer(nan_text, dtype=np.uint8)
            keep[np.ix_(bad, np.arange(len(nan_text)))] = True
    return out, keep


def format_block(
    columns: Sequence[NDArray[np.float64]],
    decimals: Sequence[int],
    delimiter: str,
    nan_text: bytes = b"",
) -> bytes:
    """Rows of fixed-point numbers, ``delimiter`` between cells and a newline after each
    row; a NaN becomes ``nan_text`` (default: an empty cell)."""
    blocks, masks = [], []
    last = len(columns) - 1
    for i, (values, dec) in enumerate(zip(columns, decimals, strict=True)):
        sep = ord("\n") if i == last else ord(delimiter)
        block, keep = _digits(np.asarray(values, dtype=np.float64), dec, sep, nan_text)
        blocks.append(block)
        masks.append(keep)
    text = np.concatenate(blocks, axis=1)
    keep = np.concatenate(masks, axis=1)
    return text[keep].tobytes()


@contextmanager
def atomic_writer(path: Path) -> Iterator[IO[bytes]]:
    """A binary handle on a temporary file next to ``path``, renamed over it on success.

    The data is flushed and fsync-ed before the rename and the folder after it, so a crash
    leaves either the old file or the complete new one; on failure the temporary is removed.
    """
    folder = path.parent
    try:
        folder.mkdir(parents=True, exist_ok=True)
        fd, tmp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=folder)
    except OSError as error:
        raise HipscopeError(f"{path}: cannot write ({error.strerror})") from error
    tmp = Path(tmp_name)
    try:
        with os.fdopen(fd, "wb") as handle:
            yield handle
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except OSError as error:
        tmp.unlink(missing_ok=True)
        raise HipscopeError(f"{path}: cannot write ({error.strerror})") from error
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    try:
        dir_fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(dir_fd)
    except OSError:
        pass
    finally:
        os.close(dir_fd)


TIME_DECIMALS = 6
ANGLE_DECIMALS = 3


def _write_rows(handle: IO[bytes], table: AngleTable, delimiter: str, nan_text: bytes) -> None:
    decimals = [TIME_DECIMALS] + [ANGLE_DECIMALS] * len(table.columns)
    for rows in row_chunks(table.n_rows, ROWS_PER_BLOCK):
        cols = [table.time_s[rows]] + [v[rows] for v in table.values_deg]
        handle.write(format_block(cols, decimals, delimiter, nan_text))


def write_angle_csv(path: str | Path, table: AngleTable) -> Path:
    """The CSV table (UTF-8, comma separated, empty cells where unknown); returns the path."""
    target = Path(path)
    header = ",".join(["time_s", *(c.csv_name for c in table.columns)]) + "\n"
    with atomic_writer(target) as handle:
        handle.write(header.encode("utf-8"))
        _write_rows(handle, table, ",", b"")
    return target


def complete_rows(table: AngleTable) -> AngleTable:
    """The rows where every column is known (a motion file has no empty value)."""
    keep = np.ones(table.n_rows, dtype=bool)
    for values in table.values_deg:
        keep &= np.isfinite(values)
    if keep.all():
        return table
    return AngleTable(table.time_s[keep], table.columns, [v[keep] for v in table.values_deg])


def write_angle_mot(path: str | Path, table: AngleTable, name: str = "hipscope_angles") -> Path:
    """An OpenSim motion file (``table`` made with ``opensim=True``); returns the path.

    Rows with an unknown angle are left out, not filled: OpenSim's legacy Storage reader
    (the GUI's motion loader) stops at the first ``NaN`` it meets, and an invented value
    would be worse. The time column then has holes where the CSV has empty cells.
    """
    target = Path(path)
    table = complete_rows(table)
    labels = ["time", *(c.mot_name for c in table.columns)]
    header = (
        f"{name}\nversion=1\nnRows={table.n_rows}\nnColumns={len(labels)}\n"
        "inDegrees=yes\nendheader\n" + "\t".join(labels) + "\n"
    )
    with atomic_writer(target) as handle:
        handle.write(header.encode("ascii"))
        _write_rows(handle, table, "\t", b"NaN")
    return target


FORMATS = (".csv", ".mot")


def export_angles(
    path: str | Path,
    time_s: NDArray[np.float64],
    angles_rad: Mapping[str, NDArray[np.float64]],
    q_world_segment: Mapping[str, NDArray[np.float64]],
    sensors: Mapping[str, SensorData],
) -> AngleTable:
    """Write a session's angles as CSV or OpenSim motion file, chosen by the suffix.

    sensors: the recording's sensors by placement (their samples decide which rows are
    measured). Returns the table written.
    """
    target = Path(path)
    suffix = target.suffix.lower()
    if suffix not in FORMATS:
        raise HipscopeError(
            f"{target}: unknown angle file type {suffix or '(none)'!r} (expected .csv or .mot)"
        )
    valid = {p: measured_rows(s, time_s) for p, s in sensors.items()}
    opensim = suffix == ".mot"
    table = angle_table(
        time_s,
        angles_rad,
        valid,
        opensim=opensim,
        q_world_pelvis=q_world_segment.get("pelvis"),
    )
    if not table.columns:
        raise HipscopeError(
            f"{target}: no angle to export (needs a pelvis sensor; hips also need thighs, "
            "lumbar angles a trunk sensor)"
        )
    if opensim:
        name = "".join(c if c.isprintable() and not c.isspace() else "_" for c in target.stem)
        write_angle_mot(target, table, name=name or "hipscope_angles")
    else:
        write_angle_csv(target, table)
    return table


def export_session_angles(
    path: str | Path, recording: Recording, kinematics: SessionKinematics
) -> AngleTable | None:
    """``export_angles`` for a recording and its kinematics; None (nothing written) when the
    worn sensors allow no exported angle (no pelvis sensor)."""
    if not any(c.source in kinematics.angles_rad for c in COLUMNS):
        return None
    return export_angles(
        path,
        kinematics.time_s,
        kinematics.angles_rad,
        kinematics.q_world_segment,
        recording.sensors,
    )
