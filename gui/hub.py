"""The one path from samples to plots: a live kit and a replayed recording both feed a DataHub.

``on_samples`` is the consumer callback (any thread): it fills lock-protected raw ring
buffers and queues the batch for fusion. ``process_pending`` runs on the GUI timer: it
feeds queued batches to streaming kinematics and appends the new angles to ring buffers.
"""

from __future__ import annotations

import collections
import logging
import threading
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np
from numpy.typing import NDArray

from hipscope.acquisition.samples import SampleBatch
from hipscope.gui.ringbuffer import RingBuffer

log = logging.getLogger(__name__)

# The angles the views draw (radians inside the hub, degrees on screen).
DISPLAY_ANGLES: tuple[str, ...] = (
    "pelvis_obliquity",
    "pelvis_tilt",
    "pelvis_rotation",
    "trunk_obliquity",
    "trunk_tilt",
    "hip_flexion_left",
    "hip_flexion_right",
    "hip_adduction_left",
    "hip_adduction_right",
    "lumbar_flexion",
    "lumbar_lateral_bend",
    "thigh_sagittal_left",
    "thigh_sagittal_right",
)

KinematicsFactory = Callable[[Sequence[str], float], Any]


def default_kinematics_factory(
    placements: Sequence[str], rate_hz: float, mountings: Mapping[str, Any] | None = None
) -> Any | None:
    """The streaming fusion, or None when it is not importable (angles then stay empty).

    ``mountings``: the kit's nominal mounting per placement (``KitDevice.q_segment_sensor``).
    """
    try:
        from hipscope.processing.streaming import StreamingKinematics
    except ImportError as error:  # pragma: no cover - only while processing is incomplete
        log.debug("streaming kinematics unavailable: %s", error)
        return None
    return StreamingKinematics(tuple(placements), rate_hz, mountings=mountings)


def kit_kinematics_factory(mountings: Mapping[str, Any]) -> KinematicsFactory:
    """The default streaming fusion, started from a kit's mountings."""
    return lambda placements, rate_hz: default_kinematics_factory(placements, rate_hz, mountings)


class DataHub:
    """Ring buffers of raw signals and derived angles, filled from one sample stream.

    Parameters
    ----------
    placements
        Sensor placements expected (others are ignored).
    rate_hz
        Nominal sample rate, used to size the buffers and configure fusion.
    history_s
        Seconds kept in every ring buffer (default 30 s; the plots show the last 10 s).
    kinematics_factory
        Builds the streaming kinematics object ``(placements, rate_hz) -> obj`` with
        ``update(placement, batch)``, ``set_reference()`` and ``angles_since(t_s)``;
        defaults to ``processing.streaming.StreamingKinematics``.
    """

    def __init__(
        self,
        placements: Sequence[str],
        rate_hz: float,
        *,
        history_s: float = 30.0,
        kinematics_factory: KinematicsFactory | None = default_kinematics_factory,
    ) -> None:
        self.placements = tuple(placements)
        self.rate_hz = float(rate_hz) if rate_hz > 0 else 100.0
        self.history_s = float(history_s)
        self._factory = kinematics_factory
        capacity = int(self.history_s * self.rate_hz * 1.5) + 64
        self.raw: dict[str, RingBuffer] = {p: RingBuffer(capacity, 6) for p in self.placements}
        self.angles: dict[str, RingBuffer] = {
            name: RingBuffer(capacity, 1) for name in DISPLAY_ANGLES
        }
        self._pending: collections.deque[tuple[str, SampleBatch]] = collections.deque()
        self._lock = threading.Lock()
        self._last_angle_s = -np.inf
        self.samples_received: dict[str, int] = {p: 0 for p in self.placements}
        self.kinematics_error: str = ""
        self.reference_set = False
        self.kinematics: Any | None = self._make_kinematics()

    def _make_kinematics(self) -> Any | None:
        if self._factory is None:
            return None
        try:
            return self._factory(self.placements, self.rate_hz)
        except Exception as error:  # fusion must never take the monitor down
            self.kinematics_error = f"fusion unavailable: {error}"
            log.exception("streaming kinematics could not start")
            return None

    # -- producer side (any thread) -------------------------------------------------------
    def on_samples(self, placement: str, batch: SampleBatch) -> None:
        """Consumer callback: store one batch. Safe to call from the acquisition thread."""
        buffer = self.raw.get(placement)
        if buffer is None or len(batch) == 0:
            return
        buffer.append(batch.time_s, np.hstack([batch.acc_m_s2, batch.gyr_rad_s]))
        with self._lock:
            self.samples_received[placement] += len(batch)
            self._pending.append((placement, batch))

    # -- consumer side (GUI thread) -------------------------------------------------------
    def process_pending(self) -> int:
        """Feed queued batches to fusion and store the new angles; returns batches handled."""
        with self._lock:
            batches = list(self._pending)
            self._pending.clear()
        kin = self.kinematics
        if kin is None or not batches:
            return len(batches)
        try:
            for placement, batch in batches:
                kin.update(placement, batch)
            self._drain_angles()
        except Exception as error:
            self.kinematics_error = f"fusion stopped: {error}"
            log.exception("streaming kinematics failed")
            self.kinematics = None
        return len(batches)

    def _drain_angles(self) -> None:
        kin = self.kinematics
        if kin is None:
            return
        time_s, angles = kin.angles_since(self._last_angle_s)
        time_s = np.asarray(time_s, dtype=np.float64)
        if time_s.size == 0:
            return
        keep = time_s > self._last_angle_s
        time_s = time_s[keep]
        if time_s.size == 0:
            return
        for name, buffer in self.angles.items():
            values = angles.get(name)
            if values is not None:
                buffer.append(time_s, np.asarray(values, dtype=np.float64)[keep])
        self._last_angle_s = float(time_s[-1])

    def set_reference(self) -> bool:
        """Take the last quiet standing period as the calibration; False when not possible."""
        self.process_pending()
        if self.kinematics is None:
            return False
        try:
            self.kinematics.set_reference()
        except Exception as error:
            self.kinematics_error = f"calibration failed: {error}"
            log.warning("set_reference failed: %s", error)
            return False
        self.reference_set = True
        self.kinematics_error = ""
        return True

    def calibrate_with(
        self,
        batches: Sequence[tuple[str, SampleBatch]],
        *,
        warmup: Sequence[tuple[str, SampleBatch]] = (),
    ) -> bool:
        """Feed a quiet standing period straight to fusion and take it as the reference.

        Used by replay (the recording's static task) so every seek starts calibrated;
        ``warmup`` samples follow so the filters settle before the visible window. Neither
        reaches the raw buffers and the angles computed on them are dropped.
        """
        kin = self.kinematics
        if kin is None:
            return False
        try:
            for placement, batch in batches:
                if placement in self.raw and len(batch):
                    kin.update(placement, batch)
        except Exception as error:
            self.kinematics_error = f"calibration failed: {error}"
            log.warning("calibration feed failed: %s", error)
            return False
        ok = self.set_reference()
        try:
            for placement, batch in warmup:
                if placement in self.raw and len(batch):
                    kin.update(placement, batch)
        except Exception as error:
            self.kinematics_error = f"fusion warm-up failed: {error}"
            log.warning("fusion warm-up failed: %s", error)
        self._discard_angles()
        return ok

    def _discard_angles(self) -> None:
        kin = self.kinematics
        if kin is None:
            return
        try:
            time_s, _ = kin.angles_since(self._last_angle_s)
            if len(time_s):
                self._last_angle_s = float(np.max(time_s))
        except Exception as error:
            log.debug("discarding calibration angles failed: %s", error)
        for buffer in self.angles.values():
            buffer.clear()

    def reset(self, *, keep_kinematics: bool = False) -> None:
        """Forget every sample (e.g. before a replay seek); fusion restarts unless kept."""
        with self._lock:
            self._pending.clear()
        for buffer in (*self.raw.values(), *self.angles.values()):
            buffer.clear()
        self._last_angle_s = -np.inf
        if not keep_kinematics:
            self.kinematics = self._make_kinematics()
            self.reference_set = False

    # -- queries --------------------------------------------------------------------------
    def now_s(self) -> float:
        """Newest sample time over all sensors (NaN before any data)."""
        times = [b.last_time_s() for b in self.raw.values() if len(b)]
        return max(times) if times else float("nan")

    def raw_window(self, placement: str, start_s: float, end_s: float) -> tuple[NDArray, NDArray]:
        return self.raw[placement].window(start_s, end_s)

    def angle_window(self, name: str, start_s: float, end_s: float) -> tuple[NDArray, NDArray]:
        time_s, values = self.angles[name].window(start_s, end_s)
        return time_s, values[:, 0]

    def latest_angle(self, name: str) -> float:
        buffer = self.angles.get(name)
        if buffer is None or len(buffer) == 0:
            return float("nan")
        return float(buffer.latest(1)[1][0, 0])

    def has_angle(self, name: str) -> bool:
        buffer = self.angles.get(name)
        return buffer is not None and len(buffer) > 0
