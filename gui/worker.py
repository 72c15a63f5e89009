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
from typing import Any

from hipscope.gui.hub import DataHub

log = logging.getLogger(__name__)

DEFAULT_PLACEMENTS = ("pelvis", "trunk", "thigh_left", "thigh_right")


@dataclass(frozen=True)
class ChipState:
    """What one sensor's status chip shows."""

    placement: str
    connected: bool
    rate_hz: float
    lost_samples: int
    clock_offset_s: float
    level: str  # "good" | "warn" | "bad"

    @property
    def text(self) -> str:
        dot = "●" if self.connected else "○"
        rate = f"{self.rate_hz:5.0f} Hz" if math.isfinite(self.rate_hz) else "  -- Hz"
        offset = "--"
        if math.isfinite(self.clock_offset_s):
            seconds = self.clock_offset_s
            offset = f"{seconds:+.2f} s" if abs(seconds) >= 1.0 else f"{1000 * seconds:+.1f} ms"
        state = "" if self.connected else "  DISCONNECTED"
        return f"{dot} {self.placement}  {rate}  lost {self.lost_samples}  Δt {offset}{state}"


def _get(obj: Any, name: str, default: Any) -> Any:
    if isinstance(obj, dict):
        return obj.get(name, default)
    return getattr(obj, name, default)


def chip_states(status: dict[str, Any], nominal_rate_hz: float) -> dict[str, ChipState]:
    """Turn ``LiveAcquisition.status()`` into chip states (tolerant of missing fields)."""
    chips = {}
    for placement, sensor in status.items():
        connected = bool(_get(sensor, "connected", False))
        rate = float(_get(sensor, "rate_hz", math.nan) or math.nan)
        lost = int(_get(sensor, "lost_samples", 0) or 0)
        offset = _get(sensor, "clock_offset_s", math.nan)
        offset = math.nan if offset is None else float(offset)
        if not connected:
            level = "bad"
        elif lost > 0 or (
            nominal_rate_hz > 0 and math.isfinite(rate) and rate < 0.9 * nominal_rate_hz
        ):
            level = "warn"
        else:
            level = "good"
        chips[placement] = ChipState(placement, connected, rate, lost, offset, level)
    return chips


def _kit(acquisition: Any) -> Any:
    """The kit of a real-sensor acquisition (placements and the requested rate), or None."""
    path = _get(acquisition, "kit_path", None)
    if path is None:
        return None
    from hipscope.acquisition.kit import load_kit

    return load_kit(path)  # a bad kit file fails here, before any window exists


def _owners(acquisition: Any) -> tuple[Any, ...]:
    return (acquisition, _get(acquisition, "virtual", None), _kit(acquisition))


def acquisition_mountings(acquisition: Any) -> dict[str, Any]:
    """The kit's nominal mounting per placement (``q_segment_sensor``); empty when virtual."""
    kit = _kit(acquisition)
    return {} if kit is None else kit.mountings()


def acquisition_placements(acquisition: Any) -> tuple[str, ...]:
    """The placements a LiveAcquisition will stream (virtual options, kit, or status)."""
    for owner in _owners(acquisition):
        if owner is None:
            continue
        placements = _get(owner, "placements", None)
        if placements:
            return tuple(placements)
    try:
        status = acquisition.status()
    except Exception:
        status = {}
    return tuple(status) or DEFAULT_PLACEMENTS


def acquisition_rate_hz(acquisition: Any) -> float:
    """The sample rate fusion is configured with (virtual options or the kit's rate)."""
    for owner in _owners(acquisition):
        if owner is None:
            continue
        for name in ("rate_hz", "nominal_rate_hz"):
            rate = _get(owner, name, None)
            if isinstance(rate, int | float) and rate > 0:
                return float(rate)
    return 100.0


class AcquisitionBridge:
    """Connects a LiveAcquisition to a DataHub and exposes GUI-safe, non-blocking calls.

    Parameters
    ----------
    acquisition
        B2's ``LiveAcquisition`` (or anything with the same methods).
    hub
        Receives every batch through ``on_samples`` from the acquisition thread.
    """

    def __init__(self, acquisition: Any, hub: DataHub) -> None:
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
