"""The bridge between a LiveAcquisition (its own thread and asyncio loop) and the GUI thread.

The acquisition thread only calls ``DataHub.on_samples`` (lock-protected ring buffers);
the GUI polls ``status()`` on its timer. Nothing here blocks the GUI waiting for a device.
"""

from __future__ import annotations

import logging
import math
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from hipscope.acquisition.kit import Kit
from hipscope.acquisition.sources import SensorSource
from hipscope.gui.hub import DataHub, default_kinematics_factory, kit_kinematics_factory

if TYPE_CHECKING:
    from hipscope.acquisition.runner import LiveAcquisition

log = logging.getLogger(__name__)

DEFAULT_PLACEMENTS = ("pelvis", "trunk", "thigh_left", "thigh_right")


SKEW_WARN_MS = 10.0
"""Inter-sensor skew a coach should hear about: timing metrics (hip lead) move by as much."""
LATENCY_WARN_MS = 150.0
RSSI_WARN_DBM = -85
BATTERY_WARN_PCT = 20.0


@dataclass(frozen=True)
class ChipState:
    """What one sensor's status chip shows: what a coach can act on (NaN/None: unknown)."""

    placement: str
    connected: bool
    rate_hz: float
    lost_samples: int
    skew_ms: float
    latency_ms: float
    rssi_dbm: int | None
    battery_pct: float | None
    level: str  # "good" | "warn" | "bad"
    reasons: tuple[str, ...] = ()

    @property
    def text(self) -> str:
        """Compact (four chips share the tool bar): rate and losses only when they matter;
        the tooltip says why a chip is amber."""
        dot = "●" if self.connected else "○"
        parts = [f"{dot} {self.placement}"]
        if math.isfinite(self.skew_ms):
            parts.append(f"skew {round(self.skew_ms):+d} ms")  # never "-0"
        if math.isfinite(self.latency_ms):
            parts.append(f"lag {self.latency_ms:.0f} ms")
        if self.rssi_dbm is not None:
            parts.append(f"{self.rssi_dbm} dBm")
        if self.battery_pct is not None:
            parts.append(f"batt {self.battery_pct:.0f}%")
        if self.low_rate:
            parts.append(f"{self.rate_hz:.0f} Hz")
        if self.lost_samples:
            parts.append(f"lost {self.lost_samples}")
        text = " · ".join(parts)
        return text if self.connected else f"{text} · DISCONNECTED"

    @property
    def low_rate(self) -> bool:
        return any(reason.startswith("rate ") for reason in self.reasons)

    @property
    def tooltip(self) -> str:
        return "; ".join(self.reasons) or "link healthy"


def _get(obj: Any, name: str, default: Any) -> Any:
    if isinstance(obj, dict):
        return obj.get(name, default)
    return getattr(obj, name, default)


def _number(value: Any) -> float:
    try:
        return math.nan if value is None else float(value)
    except (TypeError, ValueError):
        return math.nan


def chip_states(status: dict[str, Any], nominal_rate_hz: float) -> dict[str, ChipState]:
    """Turn ``LiveAcquisition.status()`` into chip states (tolerant of missing fields)."""
    chips = {}
    for placement, sensor in status.items():
        connected = bool(_get(sensor, "connected", False))
        rate = _number(_get(sensor, "rate_hz", math.nan)) or math.nan
        lost = int(_get(sensor, "lost_samples", 0) or 0)
        skew_ms = _number(_get(sensor, "skew_ms", math.nan))
        latency_ms = _number(_get(sensor, "latency_ms", math.nan))
        rssi = _get(sensor, "rssi_dbm", None)
        rssi_dbm = None if rssi is None else int(rssi)
        battery = _get(sensor, "battery_pct", None)
        battery_pct = None if battery is None else float(battery)
        reasons = []
        if lost > 0:
            reasons.append(f"{lost} samples lost")
        if nominal_rate_hz > 0 and math.isfinite(rate) and rate < 0.9 * nominal_rate_hz:
            reasons.append(f"rate {rate:.0f} Hz below {nominal_rate_hz:.0f} Hz")
        if math.isfinite(skew_ms) and abs(skew_ms) > SKEW_WARN_MS:
            reasons.append(f"timing {skew_ms:+.0f} ms off the other sensors")
        if math.isfinite(latency_ms) and latency_ms > LATENCY_WARN_MS:
            reasons.append(f"packets {latency_ms:.0f} ms late")
        if rssi_dbm is not None and rssi_dbm < RSSI_WARN_DBM:
            reasons.append(f"weak signal ({rssi_dbm} dBm): move closer")
        if battery_pct is not None and battery_pct < BATTERY_WARN_PCT:
            reasons.append(f"battery {battery_pct:.0f}%")
        if not connected:
            level = "bad"
            reasons.insert(0, "disconnected")
        else:
            level = "warn" if reasons else "good"
        chips[placement] = ChipState(
            placement,
            connected,
            rate,
            lost,
            skew_ms,
            latency_ms,
            rssi_dbm,
            battery_pct,
            level,
            tuple(reasons),
        )
    return chips


def _source(acquisition: Any) -> SensorSource | None:
    source = _get(acquisition, "source", None)
    return source if isinstance(source, SensorSource) else None


def _kit(acquisition: Any) -> Kit | None:
    """The kit file behind an acquisition (real, or rehearsed by virtual sensors), or None."""
    source = _source(acquisition)
    if source is not None:
        return source.kit  # a bad kit file fails here, before any window exists
    path = _get(acquisition, "kit_path", None)  # duck-typed acquisitions (tests, tools)
    if path is None:
        return None
    from hipscope.acquisition.kit import load_kit

    return load_kit(path)


def acquisition_mountings(acquisition: Any) -> dict[str, Any]:
    """The kit's nominal mounting per placement (``q_segment_sensor``); empty without a kit."""
    kit = _kit(acquisition)
    return {} if kit is None else kit.mountings()


def acquisition_placements(acquisition: Any) -> tuple[str, ...]:
    """The placements an acquisition will stream (its source, else its status)."""
    source = _source(acquisition)
    if source is not None and source.placements:
        return tuple(source.placements)
    kit = _kit(acquisition)
    if kit is not None:
        return tuple(kit.placements)
    try:
        status = acquisition.status()
    except Exception:
        status = {}
    return tuple(status) or DEFAULT_PLACEMENTS


def acquisition_rate_hz(acquisition: Any) -> float:
    """The sample rate fusion is configured with (the source's rate)."""
    source = _source(acquisition)
    if source is not None and source.rate_hz > 0:
        return float(source.rate_hz)
    kit = _kit(acquisition)
    if kit is not None and kit.rate_hz:
        return float(kit.rate_hz)
    return 100.0


def acquisition_hub(acquisition: Any, *, history_s: float) -> DataHub:
    """The DataHub a live view of ``acquisition`` reads: its placements and rate, fused with
    the kit's nominal mountings (the default ones without a kit)."""
    mountings = acquisition_mountings(acquisition)
    return DataHub(
        acquisition_placements(acquisition),
        acquisition_rate_hz(acquisition),
        history_s=history_s,
        kinematics_factory=(
            kit_kinematics_factory(mountings) if mountings else default_kinematics_factory
        ),
    )


def planned_task_at(acquisition: Any, time_s: float) -> tuple[str, str, float] | None:
    """(kind, side, start_s) of the virtual protocol's task under way at ``time_s``."""
    for task in _get(acquisition, "planned_tasks", None) or ():
        if task.start_s <= time_s <= task.end_s:
            return (task.kind, task.side, task.start_s)
    return None


class AcquisitionBridge:
    """Connects a LiveAcquisition to a DataHub and exposes GUI-safe, non-blocking calls.

    Parameters
    ----------
    acquisition
        A ``LiveAcquisition`` (or anything with the same methods).
    hub
        Receives every batch through ``on_samples`` from the acquisition thread.
    """

    def __init__(self, acquisition: LiveAcquisition, hub: DataHub) -> None:
        self.acquisition = acquisition
        self.hub = hub
        self.started = False
        self.last_error = ""
        self.recording_path: Path | None = None
        self._status_cache: dict[str, ChipState] = {}
        self._status_at = -math.inf

    def start(self) -> None:
        """Register the consumer and start the acquisition thread (returns at once)."""
        if self.started:
            return
        self.acquisition.add_consumer(self.hub.on_samples)
        if not _get(self.acquisition, "running", False):
            self.acquisition.start()
        self.started = True

    def stop(self) -> None:
        if not self.started:
            return
        self.started = False
        try:
            self.acquisition.stop()
        except Exception as error:
            self.last_error = str(error)
            log.warning("stopping acquisition failed: %s", error)

    def session_time_s(self) -> float:
        try:
            return float(self.acquisition.session_time_s())
        except Exception:
            return self.hub.now_s()

    def chips(self, *, max_age_s: float = 0.25) -> dict[str, ChipState]:
        """Sensor status, polled at most every ``max_age_s``."""
        now = time.monotonic()
        if now - self._status_at < max_age_s:
            return self._status_cache
        self._status_at = now
        try:
            status = self.acquisition.status()
        except Exception as error:
            self.last_error = f"status failed: {error}"
            return self._status_cache
        self._status_cache = chip_states(dict(status), self.hub.rate_hz)
        return self._status_cache

    def error(self) -> str:
        error = _get(self.acquisition, "error", None)
        if error:
            return str(error)
        return self.last_error

    def finished(self) -> bool:
        finished = _get(self.acquisition, "finished", False)
        if hasattr(finished, "is_set"):
            return bool(finished.is_set())
        return bool(finished)

    def call(self, name: str, *args: Any) -> bool:
        """Call an acquisition method; failures become ``last_error`` (never an exception)."""
        try:
            getattr(self.acquisition, name)(*args)
        except Exception as error:
            self.last_error = f"{name} failed: {error}"
            log.warning("%s failed: %s", name, error)
            return False
        return True
