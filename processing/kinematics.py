"""A recording -> segment orientations and named angles on one uniform session-clock grid.

Steps: resample every sensor onto the grid (linear; gaps longer than ``max_gap_s`` and times
outside a sensor's data become NaN rows), fuse each sensor (``hipscope.processing.fusion``),
calibrate (``hipscope.processing.calibration``), then
``q_world_segment = q_world_fusion ⊗ q_fusion_sensor ⊗ q_sensor_segment`` and the angles of
``hipscope.processing.angles``.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from hipscope.acquisition.recording import Recording, SensorData
from hipscope.base.errors import HipscopeError
from hipscope.base.rotations import quat_multiply, to_rotation
from hipscope.processing.angles import compute_angles, finite_rows, interp_quat, row_chunks
from hipscope.processing.calibration import (
    NOMINAL_SENSOR_SEGMENT,
    CalibrationResult,
    Calibrator,
    stillness_score,
)
from hipscope.processing.fusion import FUSION_METHODS, FusionParams, estimate_orientation


@dataclass(frozen=True)
class SessionKinematics:
    """Kinematics of one recording on a uniform grid (see the processing contract).

    time_s: (N,) session clock at ``rate_hz``. q_world_segment: placement -> (N, 4) ISB
    segment-to-world quaternion, NaN rows where that sensor had no data. gyr_segment_rad_s:
    angular velocity in the segment frame. acc_world_m_s2: specific force in the world frame
    (z up). angles_rad: angle name -> (N,). calibration: how the segments were aligned.
    """

    time_s: NDArray[np.float64]
    rate_hz: float
    q_world_segment: dict[str, NDArray[np.float64]]
    gyr_segment_rad_s: dict[str, NDArray[np.float64]]
    acc_world_m_s2: dict[str, NDArray[np.float64]]
    angles_rad: dict[str, NDArray[np.float64]]
    calibration: CalibrationResult

    def index_of(self, time_s: float) -> int:
        """Nearest grid index of a session time (clipped to the grid)."""
        t = self.time_s
        i = int(np.clip(np.searchsorted(t, time_s), 1, max(len(t) - 1, 1)))
        if len(t) < 2:
            return 0
        return i - 1 if abs(time_s - t[i - 1]) <= abs(t[i] - time_s) else i


LONG_GAP_S = 10.0
"""A stretch longer than this in which no sensor has a sample (a clock jump, a pause) is
left out of the grid, so memory follows the samples rather than the time span."""

MAX_GRID_POINTS_PER_SAMPLE = 20
"""The grid may hold at most this many points per recorded sample (plus a base of
``MAX_GRID_BASE_POINTS``); sparser data is refused instead of filling memory with NaN."""
MAX_GRID_BASE_POINTS = 1_000_000


def covered_spans(
    recording: Recording, long_gap_s: float = LONG_GAP_S
) -> list[tuple[float, float]]:
    """(start_s, end_s) of the stretches where some sensor has data, sorted and disjoint;
    stretches closer than ``long_gap_s`` are joined."""
    spans: list[tuple[float, float]] = []
    for sensor in recording.sensors.values():
        t = sensor.samples.time_s
        if len(t) == 0:
            continue
        breaks = np.flatnonzero(np.diff(t) > long_gap_s)
        starts = np.concatenate(([t[0]], t[breaks + 1]))
        ends = np.concatenate((t[breaks], [t[-1]]))
        spans.extend(zip(starts.tolist(), ends.tolist(), strict=True))
    spans.sort()
    merged: list[tuple[float, float]] = []
    for start, end in spans:
        if merged and start - merged[-1][1] <= long_gap_s:
            merged[-1] = (merged[-1][0], max(merged[-1][1], end))
        else:
            merged.append((start, end))
    return merged


def _grid_over(
    spans: list[tuple[float, float]], origin_s: float, rate_hz: float
) -> list[NDArray[np.int64]]:
    """Grid indices k (time ``origin_s + k / rate_hz``) of each span, plus one index after
    every span but the last: a row inside the gap where every sensor is NaN, so filters
    see the break instead of two samples a day apart."""
    pieces: list[NDArray[np.int64]] = []
    for i, (start, end) in enumerate(spans):
        k0 = int(np.ceil((start - origin_s) * rate_hz - 1e-9)) if i else 0
        k1 = int(np.floor((end - origin_s) * rate_hz + 1e-9))
        last = k1 + 1 if i < len(spans) - 1 else k1
        pieces.append(np.arange(k0, max(k0, last) + 1, dtype=np.int64))
    return pieces


def session_grid(recording: Recording, rate_hz: float | None) -> tuple[NDArray[np.float64], float]:
    """Uniform grid over the recording; the rate defaults to the highest sensor rate.

    Stretches longer than ``LONG_GAP_S`` without any sample are left out (one NaN row marks
    each), so the grid is uniform within each covered stretch; a grid far larger than the
    samples it holds is refused.
    """
    if rate_hz is None:
        rates = [
            s.nominal_rate_hz if s.nominal_rate_hz > 0 else s.rate_hz
            for s in recording.sensors.values()
            if s.n_samples > 1
        ]
        if not rates:
            raise HipscopeError(f"{recording.path}: no sensor has more than one sample")
        rate_hz = float(max(rates))
    if not (np.isfinite(rate_hz) and rate_hz > 0):
        raise HipscopeError(f"kinematics rate_hz must be a positive number, got {rate_hz}")
    spans = covered_spans(recording)
    n_samples = sum(s.n_samples for s in recording.sensors.values())
    n_grid = sum(int(np.floor((end - start) * rate_hz + 1e-9)) + 2 for start, end in spans)
    if n_grid > MAX_GRID_POINTS_PER_SAMPLE * n_samples + MAX_GRID_BASE_POINTS:
        raise HipscopeError(
            f"{recording.path}: {n_samples} samples spread over "
            f"{sum(end - start for start, end in spans):.0f} s of recording would need a "
            f"{n_grid}-point {rate_hz:g} Hz grid; the time stamps are too sparse to analyse"
        )
    origin = spans[0][0] if spans else recording.start_s
    k = np.concatenate(_grid_over(spans, origin, rate_hz)) if spans else np.zeros(1, np.int64)
    return origin + k / rate_hz, float(rate_hz)


def _fine_grid(
    grid_s: NDArray[np.float64], rate_hz: float, fine_rate_hz: float
) -> NDArray[np.float64]:
    """A ``fine_rate_hz`` grid over the same covered stretches as the ``rate_hz`` grid; each
    stretch ends on its coarse grid's last point (the NaN row marking a left-out gap)."""
    breaks = np.flatnonzero(np.diff(grid_s) > 1.5 / rate_hz)
    starts = np.concatenate(([grid_s[0]], grid_s[breaks + 1]))
    ends = np.concatenate((grid_s[breaks], [grid_s[-1]]))
    pieces: list[NDArray[np.float64]] = []
    for start, end in zip(starts, ends, strict=True):
        n = int(np.floor((end - start) * fine_rate_hz + 1e-9)) + 1
        piece = start + np.arange(n) / fine_rate_hz
        pieces.append(
            piece
            if end - piece[-1] < 1e-9 or len(pieces) == len(starts) - 1
            else np.append(piece, end)
        )
    return np.concatenate(pieces)


def resample(
    sensor: SensorData, grid_s: NDArray[np.float64], max_gap_s: float, *, with_mag: bool = True
) -> tuple[NDArray[np.float64], NDArray[np.float64], NDArray[np.float64] | None]:
    """(gyr, acc, mag) of one sensor linearly interpolated onto the grid, NaN in gaps.

    with_mag: False skips the magnetometer (mag is then None).
    """
    s = sensor.samples
    t = s.time_s
    idx = np.searchsorted(t, grid_s, side="right")
    inside = (grid_s >= t[0]) & (grid_s <= t[-1])
    hi = np.clip(idx, 1, len(t) - 1)
    span = t[hi] - t[hi - 1]
    valid = inside & (span <= max_gap_s)

    def interp(values: NDArray[np.float32]) -> NDArray[np.float64]:
        out = np.empty((len(grid_s), 3))
        for k in range(3):
            out[:, k] = np.interp(grid_s, t, values[:, k].astype(np.float64))
        out[~valid] = np.nan
        return out

    mag = None if s.mag_ut is None or not with_mag else interp(s.mag_ut)
    return interp(s.gyr_rad_s), interp(s.acc_m_s2), mag


def compute_kinematics(
    recording: Recording,
    *,
    fusion: str = "vqf-offline",
    rate_hz: float | None = None,
    use_mag: bool = False,
    fusion_params: FusionParams | None = None,
    max_gap_s: float = 0.1,
    calibrator: Calibrator | None = None,
    segment_signals: bool = True,
) -> SessionKinematics:
    """Orientations, calibration and angles of every sensor with a known placement.

    fusion: one of ``FUSION_METHODS`` (default offline VQF). rate_hz: grid rate, Hz (default
    the highest sensor rate). use_mag: 9D fusion where the sensor has a magnetometer (False:
    indoors near weights the field is unreliable). max_gap_s: longest gap between samples
    that is bridged by interpolation, s (0.1). calibrator: a configured ``Calibrator``.
    segment_signals: False leaves ``gyr_segment_rad_s`` and ``acc_world_m_s2`` empty (the
    angle export needs only orientations and angles).
    """
    if fusion not in FUSION_METHODS:
        raise HipscopeError(f"fusion method {fusion!r} is not one of {', '.join(FUSION_METHODS)}")
    sensors = {
        p: s
        for p, s in recording.sensors.items()
        if s.n_samples > 1 and p in NOMINAL_SENSOR_SEGMENT
    }
    if not sensors:
        raise HipscopeError(f"{recording.path}: no sensor with data to compute kinematics from")
    skipped = [
        f"{p}: {'fewer than 2 samples' if s.n_samples < 2 else 'no nominal mounting'}: left out"
        for p, s in recording.sensors.items()
        if p not in sensors
    ]
    time_s, rate = session_grid(recording, rate_hz)
    q_fusion: dict[str, NDArray[np.float64]] = {}
    gyr: dict[str, NDArray[np.float64]] = {}
    acc: dict[str, NDArray[np.float64]] = {}

    def fuse(p: str, heading_axis: NDArray[np.float64] | None = None) -> NDArray[np.float64]:
        return _fuse_sensor(
            sensors[p],
            time_s,
            rate,
            fusion,
            use_mag,
            fusion_params,
            max_gap_s,
            heading_axis,
            grid_data=(gyr[p], acc[p]) if p in gyr else None,
        )

    # Each sensor is resampled once: fusion and calibration share the grid data.
    for p, sensor in sensors.items():
        gyr[p], acc[p], _ = resample(sensor, time_s, max_gap_s, with_mag=False)
        q_fusion[p] = fuse(p)
    calibrator = calibrator or Calibrator()
    mountings = recorded_mountings(recording)
    calibration = calibrator.calibrate(
        time_s, q_fusion, gyr, acc, recording.tasks, mountings
    ).result_
    if not use_mag:
        # Across a dropout the heading is carried over by one body axis; the segment's
        # mediolateral axis stays horizontal in most movements, so redo those sensors with it.
        redo = [p for p in calibration.segments if _has_inner_gap(gyr[p], acc[p])]
        for p in redo:
            ml_axis = to_rotation(calibration.segments[p].q_sensor_segment).apply([0.0, 0.0, 1.0])
            q_fusion[p] = np.empty((0, 4))  # free it during the refusion; keeps the key order
            q_fusion[p] = fuse(p, ml_axis)
        if redo:
            calibration = calibrator.calibrate(
                time_s, q_fusion, gyr, acc, recording.tasks, mountings
            ).result_
    if skipped:
        calibration = dataclasses.replace(calibration, notes=(*skipped, *calibration.notes))
    q_world_segment: dict[str, NDArray[np.float64]] = {}
    gyr_segment: dict[str, NDArray[np.float64]] = {}
    acc_world: dict[str, NDArray[np.float64]] = {}
    for p in sensors:
        # Each sensor's grid data is dropped as soon as its outputs exist: a long session
        # holds only one set of (N, 3) / (N, 4) arrays per sensor at a time.
        q_fusion_p, gyr_p, acc_p = q_fusion.pop(p), gyr.pop(p), acc.pop(p)
        seg = calibration.segments.get(p)
        if seg is None:
            continue  # no data at the standing reference: the calibration notes say so
        q_world_segment[p], acc_world_p = _to_world(
            q_fusion_p, acc_p if segment_signals else None, seg.q_world_fusion, seg.q_sensor_segment
        )
        del q_fusion_p, acc_p
        if segment_signals:
            assert acc_world_p is not None
            acc_world[p] = acc_world_p
            gyr_segment[p] = _to_segment(gyr_p, seg.q_sensor_segment)
        del gyr_p, acc_world_p
    return SessionKinematics(
        time_s=time_s,
        rate_hz=rate,
        q_world_segment=q_world_segment,
        gyr_segment_rad_s=gyr_segment,
        acc_world_m_s2=acc_world,
        angles_rad=compute_angles(q_world_segment),
        calibration=calibration,
    )


def _fuse_sensor(
    sensor: SensorData,
    grid_s: NDArray[np.float64],
    rate_hz: float,
    fusion: str,
    use_mag: bool,
    params: FusionParams | None,
    max_gap_s: float,
    heading_axis: NDArray[np.float64] | None,
    grid_data: tuple[NDArray[np.float64], NDArray[np.float64]] | None = None,
) -> NDArray[np.float64]:
    """q_fusion_sensor on the grid; a sensor faster than the grid is fused at its own rate.

    grid_data: the sensor's (gyr, acc) already resampled onto ``grid_s`` (saves doing it again).
    """
    native = sensor.nominal_rate_hz if sensor.nominal_rate_hz > 0 else sensor.rate_hz
    fine_s, fine_rate = grid_s, rate_hz
    if native > 1.05 * rate_hz:
        fine_s, fine_rate = _fine_grid(grid_s, rate_hz, float(native)), float(native)
    mag: NDArray[np.float64] | None = None
    if fine_s is grid_s and grid_data is not None:
        gyr, acc = grid_data
        if use_mag:
            mag = resample(sensor, fine_s, max_gap_s)[2]
    else:
        gyr, acc, mag = resample(sensor, fine_s, max_gap_s, with_mag=use_mag)
    if not fusion.startswith("vqf"):
        # VQF estimates the gyroscope bias itself; for the others take it from stillness.
        gyr = gyr - still_gyro_bias(gyr, acc, fine_rate)
    q = estimate_orientation(
        gyr,
        acc,
        fine_rate,
        mag_ut=mag if use_mag else None,
        method=fusion,
        params=params,
        heading_axis=heading_axis,
    )
    if fine_s is grid_s:
        return q
    finite = finite_rows(q)
    if finite.sum() < 2:
        return np.full((len(grid_s), 4), np.nan)
    del gyr, acc, mag
    out = interp_quat(fine_s[finite], q[finite], grid_s)
    del q, finite
    if grid_data is not None:
        gyr_grid = grid_data[0]
    else:
        gyr_grid = resample(sensor, grid_s, max_gap_s, with_mag=False)[0]
    out[~finite_rows(gyr_grid)] = np.nan
    return out


def still_gyro_bias(
    gyr_rad_s: NDArray[np.float64],
    acc_m_s2: NDArray[np.float64],
    rate_hz: float,
    window_s: float = 1.0,
    max_rate_rad_s: float = 0.05,
) -> NDArray[np.float64]:
    """Mean angular rate over the stillest ``window_s`` (the gyroscope bias), rad/s.

    Zero when no window is still enough (mean rate above ``max_rate_rad_s``) to be rest.
    """
    n = max(2, round(window_s * rate_hz))
    if len(gyr_rad_s) < n:
        return np.zeros(3)
    score = stillness_score(gyr_rad_s, acc_m_s2, n)
    if not np.isfinite(score).any():
        return np.zeros(3)
    i0 = int(np.argmin(score))
    bias = np.mean(gyr_rad_s[i0 : i0 + n], axis=0)
    return bias if np.linalg.norm(bias) <= max_rate_rad_s else np.zeros(3)


MOUNTING_ATTR = "nominal_q_segment_sensor"
"""Optional sensor attribute: the kit's nominal mounting as a (w, x, y, z) quaternion taking
sensor-frame vectors into the ISB segment frame (``KitDevice.q_segment_sensor``)."""


def recorded_mountings(recording: Recording) -> dict[str, NDArray[np.float64]]:
    """The kit mountings (``q_segment_sensor``) stored as ``nominal_q_segment_sensor``."""
    out: dict[str, NDArray[np.float64]] = {}
    for p, sensor in recording.sensors.items():
        value = sensor.attrs.get(MOUNTING_ATTR)
        if value is None:
            continue
        q = np.asarray(value, dtype=np.float64).reshape(-1)
        if q.shape != (4,) or not np.isfinite(q).all() or abs(np.linalg.norm(q) - 1.0) > 1e-3:
            raise HipscopeError(
                f"{recording.path}: /sensors/{p} attribute {MOUNTING_ATTR} must be a unit "
                f"quaternion (w, x, y, z), got {q.tolist()}"
            )
        out[p] = q / np.linalg.norm(q)
    return out


def _has_inner_gap(gyr: NDArray[np.float64], acc: NDArray[np.float64]) -> bool:
    finite = finite_rows(gyr, acc)
    index = np.flatnonzero(finite)
    return len(index) > 0 and bool((~finite[index[0] : index[-1] + 1]).any())


def _to_world(
    q_fusion_sensor: NDArray[np.float64],
    acc_m_s2: NDArray[np.float64] | None,
    q_world_fusion: NDArray[np.float64],
    q_sensor_segment: NDArray[np.float64],
) -> tuple[NDArray[np.float64], NDArray[np.float64] | None]:
    """(q_world_segment with w >= 0, acc_world_m_s2 or None without ``acc_m_s2``), block by
    block (small temporaries)."""
    n = q_fusion_sensor.shape[0]
    q_world_segment = np.empty((n, 4))
    acc_world = None if acc_m_s2 is None else np.empty((n, 3))
    for rows in row_chunks(n):
        q_world_sensor = quat_multiply(q_world_fusion, q_fusion_sensor[rows])
        q_ws = quat_multiply(q_world_sensor, q_sensor_segment)
        np.negative(q_ws, out=q_ws, where=q_ws[:, :1] < 0.0)
        q_world_segment[rows] = q_ws
        if acc_world is not None and acc_m_s2 is not None:
            acc_world[rows] = _rotate(q_world_sensor, acc_m_s2[rows])
    return q_world_segment, acc_world


def _to_segment(
    gyr_rad_s: NDArray[np.float64], q_sensor_segment: NDArray[np.float64]
) -> NDArray[np.float64]:
    """Sensor-frame angular velocity in the segment frame, NaN rows kept, block by block."""
    r_segment_sensor = to_rotation(q_sensor_segment).inv()
    out = np.empty(gyr_rad_s.shape)
    for rows in row_chunks(gyr_rad_s.shape[0]):
        block = gyr_rad_s[rows]
        out[rows] = r_segment_sensor.apply(np.nan_to_num(block))
        out[rows][~finite_rows(block)] = np.nan
    return out


def _rotate(q: NDArray[np.float64], v: NDArray[np.float64]) -> NDArray[np.float64]:
    finite = finite_rows(q, v)
    if finite.all():
        return to_rotation(q).apply(v)
    out = np.full(v.shape, np.nan)
    if finite.any():
        out[finite] = to_rotation(q[finite]).apply(v[finite])
    return out
