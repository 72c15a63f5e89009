"""Live kinematics for the monitor: the same angle names as ``compute_kinematics``, batch by batch.

Each sensor is fused as its samples arrive (real-time VQF by default, ``updateBatch`` per
batch: microseconds per sample) and kept in a ring buffer of ``buffer_s`` seconds. A
reference (``set_reference``: quiet standing over the last ``reference_s`` seconds; set
automatically once every sensor has been still that long, unless ``auto_reference=False``)
aligns the sensors to their segments and to one forward direction; ``angles_since(t)`` then
interpolates every sensor onto one grid (multiples of 1 / ``rate_hz`` on the session clock)
and returns the named angles of ``hipscope.processing.angles`` for grid times after ``t``.

Feed it from one thread (the GUI feeds it from the Qt thread with what the acquisition
thread hands over); it does no locking of its own.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
from numpy.typing import NDArray

from hipscope.acquisition.samples import SampleBatch
from hipscope.base.errors import HipscopeError
from hipscope.base.rotations import quat_conjugate, quat_multiply
from hipscope.processing.angles import compute_angles, interp_quat
from hipscope.processing.calibration import (
    NOMINAL_SENSOR_SEGMENT,
    CalibrationResult,
    reference_from_window,
)
from hipscope.processing.fusion import STREAMING_METHODS, FusionParams, OrientationFilter

_RATE_PROBE_SAMPLES = 16


class _Ring:
    """Time-ordered rows (time_s, q) with a bounded age; amortised O(1) appends."""

    def __init__(self, capacity: int) -> None:
        self._time = np.empty(max(16, 2 * capacity))
        self._q = np.empty((len(self._time), 4))
        self._start = 0
        self._stop = 0
        self._capacity = capacity

    def append(self, time_s: NDArray[np.float64], q: NDArray[np.float64]) -> None:
        n = len(time_s)
        if n == 0:
            return
        if n > self._capacity:
            time_s, q, n = time_s[-self._capacity :], q[-self._capacity :], self._capacity
        if self._stop + n > len(self._time):
            keep = min(self._stop - self._start, self._capacity - n)
            self._time[:keep] = self._time[self._stop - keep : self._stop]
            self._q[:keep] = self._q[self._stop - keep : self._stop]
            self._start, self._stop = 0, keep
        self._time[self._stop : self._stop + n] = time_s
        self._q[self._stop : self._stop + n] = q
        self._stop += n
        if self._stop - self._start > self._capacity:
            self._start = self._stop - self._capacity

    @property
    def time_s(self) -> NDArray[np.float64]:
        return self._time[self._start : self._stop]

    @property
    def q(self) -> NDArray[np.float64]:
        return self._q[self._start : self._stop]

    def __len__(self) -> int:
        return self._stop - self._start


class StreamingKinematics:
    """Segment orientations and named angles, live.

    placements: the placements that will be fed (pelvis, trunk, thigh_left, thigh_right...).
    rate_hz: the sensors' nominal sampling rate and the output grid rate, Hz. A sensor whose
        first samples show a rate more than 10% off is fused at its measured rate
        (``sensor_rates_hz_``); its first 16 samples only measure that rate.
    fusion: a streaming fusion method (``vqf`` default, ``madgwick``, ``mahony``, ``ekf``).
    fusion_params: that method's parameter object, None for defaults.
    buffer_s: how much history is kept per sensor, s (60.0).
    reference_s: length of the quiet-standing window used by ``set_reference``, s (2.0).
    auto_reference: set the reference automatically once every sensor has been still
        (within ``still_deg``) for ``reference_s`` (True); call ``set_reference`` while the
        athlete stands still to redo it.
    still_deg: largest orientation change within the window for the automatic reference,
        degrees (5.0).
    max_gap_s: grid times farther than this from a sensor's samples give NaN, s (0.1).
    mountings: placement -> the kit's nominal mounting (``KitDevice.q_segment_sensor``,
        sensor-frame vectors into the segment frame) whose mediolateral axis the reference
        uses; default docs/DESIGN.md's.
    """

    def __init__(
        self,
        placements: Sequence[str],
        rate_hz: float,
        fusion: str = "vqf",
        *,
        fusion_params: FusionParams | None = None,
        buffer_s: float = 60.0,
        reference_s: float = 2.0,
        auto_reference: bool = True,
        still_deg: float = 5.0,
        max_gap_s: float = 0.1,
        mountings: Mapping[str, NDArray[np.float64]] | None = None,
    ) -> None:
        if fusion not in STREAMING_METHODS:
            raise HipscopeError(
                f"live fusion method {fusion!r} is not one of {', '.join(STREAMING_METHODS)}"
            )
        unknown = [p for p in placements if p not in NOMINAL_SENSOR_SEGMENT]
        if unknown:
            raise HipscopeError(f"live kinematics: unknown placement(s) {', '.join(unknown)}")
        if not placements:
            raise HipscopeError("live kinematics needs at least one placement")
        self.placements = tuple(placements)
        self.rate_hz = float(rate_hz)
        self.fusion = fusion
        self.buffer_s = buffer_s
        self.reference_s = reference_s
        self.auto_reference = auto_reference
        self.still_deg = still_deg
        self.max_gap_s = max_gap_s
        self.fusion_params = fusion_params
        # Kept as q_sensor_segment, the form set_reference takes.
        self.mountings = {
            p: quat_conjugate(np.asarray(q, dtype=np.float64)) for p, q in (mountings or {}).items()
        }
        self.reference_: CalibrationResult | None = None
        self.sensor_rates_hz_: dict[str, float] = {}
        self.reset()

    def reset(self) -> None:
        """Forget all samples, filter states and the reference."""
        self._filters: dict[str, OrientationFilter] = {}
        self._pending: dict[str, list[SampleBatch]] = {p: [] for p in self.placements}
        self._last_time_s: dict[str, float] = {p: -np.inf for p in self.placements}
        capacity = int(np.ceil(self.buffer_s * self.rate_hz)) + 1
        self._rings = {p: _Ring(capacity) for p in self.placements}
        self.reference_ = None
        self.sensor_rates_hz_ = {}

    def _start_filter(self, placement: str, time_s: NDArray[np.float64]) -> None:
        """Create the sensor's filter at its measured rate when that differs from rate_hz."""
        measured = 1.0 / float(np.median(np.diff(time_s)))
        rate = self.rate_hz if abs(measured / self.rate_hz - 1.0) < 0.1 else measured
        self.sensor_rates_hz_[placement] = rate
        self._filters[placement] = OrientationFilter(
            self.fusion, rate, params=self.fusion_params
        )
        self._rings[placement] = _Ring(int(np.ceil(self.buffer_s * rate)) + 1)

    def update(self, placement: str, batch: SampleBatch) -> None:
        """Fuse one sensor's next samples (session clock, strictly increasing)."""
        if placement not in self._rings:
            raise HipscopeError(f"live kinematics: placement {placement!r} was not configured")
        if len(batch) == 0:
            return
        time_s = batch.time_s
        keep = time_s > self._last_time_s[placement]
        keep[1:] &= np.diff(time_s) > 0
        if not keep.all():
            batch = batch.take(keep)
            time_s = batch.time_s
        if len(batch) == 0:
            return
        self._last_time_s[placement] = float(time_s[-1])
        if placement not in self._filters:
            # The first samples only measure the sensor's rate (VQF needs it fixed).
            pending = self._pending[placement]
            pending.append(batch)
            if sum(len(b) for b in pending) < _RATE_PROBE_SAMPLES:
                return
            batch = SampleBatch.concat(pending)
            pending.clear()
            time_s = batch.time_s
            self._start_filter(placement, time_s)
        q = self._filters[placement].update(batch.gyr_rad_s, batch.acc_m_s2)
        finite = np.isfinite(q).all(axis=1)
        self._rings[placement].append(time_s[finite], q[finite])
        if self.auto_reference and self.reference_ is None and self._ready():
            self.set_reference()

    def _ready(self) -> bool:
        """Every sensor has reference_s of data and held still over the last reference_s."""
        end = self.latest_time_s
        if not np.isfinite(end):
            return False
        cos_half = np.cos(0.5 * np.radians(self.still_deg))
        for ring in self._rings.values():
            if len(ring) < 2 or ring.time_s[-1] - ring.time_s[0] < self.reference_s:
                return False
            q = ring.q[ring.time_s >= end - self.reference_s]
            # |<q_i, q_last>| = cos(angle_i / 2): every orientation within still_deg of the last.
            if np.min(np.abs(q @ q[-1])) < cos_half:
                return False
        return True

    @property
    def latest_time_s(self) -> float:
        """The latest time every sensor has reached (NaN before all have data)."""
        if any(len(r) == 0 for r in self._rings.values()):
            return float("nan")
        return float(min(r.time_s[-1] for r in self._rings.values()))

    def set_reference(
        self,
        end_s: float | None = None,
        *,
        q_sensor_segment: Mapping[str, NDArray[np.float64]] | None = None,
    ) -> CalibrationResult:
        """Take the ``reference_s`` seconds before ``end_s`` (default: now) as quiet standing.

        q_sensor_segment: mountings from an earlier full calibration (their mediolateral
        axes are reused); default the nominal mounting.
        """
        end = self.latest_time_s if end_s is None else float(end_s)
        if not np.isfinite(end):
            raise HipscopeError("live kinematics: no data from every sensor yet for a reference")
        start = end - self.reference_s
        windows: dict[str, NDArray[np.float64]] = {}
        for p, ring in self._rings.items():
            rows = (ring.time_s >= start) & (ring.time_s <= end)
            if rows.sum() < 2:
                raise HipscopeError(
                    f"live kinematics: {p} has no data between {start:.2f} s and {end:.2f} s"
                )
            windows[p] = ring.q[rows]
        given = {**self.mountings, **(q_sensor_segment or {})}
        self.reference_ = reference_from_window(windows, start, end, given or None)
        return self.reference_

    def orientations_since(
        self, t_s: float | None = None
    ) -> tuple[NDArray[np.float64], dict[str, NDArray[np.float64]]]:
        """Grid times after ``t_s`` (up to the latest common time) and ``q_world_segment``."""
        reference = self.reference_
        latest = self.latest_time_s
        if reference is None or not np.isfinite(latest):
            return np.empty(0), {}
        earliest = max(float(r.time_s[0]) for r in self._rings.values())
        first = earliest if t_s is None else max(earliest, float(t_s) + 0.5 / self.rate_hz)
        k0 = int(np.ceil(first * self.rate_hz - 1e-9))
        k1 = int(np.floor(latest * self.rate_hz + 1e-9))
        if k1 < k0:
            return np.empty(0), {}
        grid = np.arange(k0, k1 + 1) / self.rate_hz
        out: dict[str, NDArray[np.float64]] = {}
        for p, ring in self._rings.items():
            seg = reference.segments.get(p)
            if seg is None:
                continue
            t, q = ring.time_s, ring.q
            lo = max(0, int(np.searchsorted(t, grid[0])) - 1)
            t, q = t[lo:], q[lo:]
            q_grid = interp_quat(t, q, grid)
            idx = np.clip(np.searchsorted(t, grid), 1, len(t) - 1)
            gap = (t[idx] - t[idx - 1] > self.max_gap_s) | (grid < t[0]) | (grid > t[-1])
            q_grid[gap] = np.nan
            q_ws = quat_multiply(quat_multiply(seg.q_world_fusion, q_grid), seg.q_sensor_segment)
            out[p] = np.where(q_ws[:, :1] < 0.0, -q_ws, q_ws)
        return grid, out

    def angles_since(
        self, t_s: float | None = None
    ) -> tuple[NDArray[np.float64], dict[str, NDArray[np.float64]]]:
        """Grid times after ``t_s`` and every named angle (radians) the sensors allow.

        Empty until a reference exists. Pass the last time received to get only new rows.
        """
        grid, q = self.orientations_since(t_s)
        if len(grid) == 0:
            return grid, {}
        return grid, compute_angles(q)
