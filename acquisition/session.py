"""A live session: find the kit's sensors, connect them all, and fan their samples out
on one session clock to the recorder and to live consumers.

Everything here runs on one asyncio loop (the acquisition thread's). Consumers are called
on that loop with ``fn(placement, batch)`` and must be quick; the notify callbacks only
queue batches, and one fan-out task appends them to the recorder and calls consumers.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import time
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

import numpy as np
from bleak import BleakScanner
from bleak.backends.client import BaseBleakClient
from bleak.backends.device import BLEDevice
from bleak.backends.scanner import AdvertisementData, BaseBleakScanner
from numpy.typing import NDArray

from hipscope.acquisition.clock import SessionTiming
from hipscope.acquisition.kit import Kit
from hipscope.acquisition.link import SensorLink, SensorStatus
from hipscope.acquisition.profiles import SensorProfile, load_profile
from hipscope.acquisition.recorder import Recorder, SensorMeta, retime_recording
from hipscope.acquisition.samples import SampleBatch, Task
from hipscope.base.cues import CueEvent
from hipscope.base.errors import HipscopeError, LinkError, RecordingError

logger = logging.getLogger(__name__)

Consumer = Callable[[str, SampleBatch], None]
BACKLOG_BATCHES = 2000
BACKLOG_S = 1.0
SKEW_REFRESH_S = 1.0


@dataclass(frozen=True)
class LiveStatus(SensorStatus):
    """A link's status plus what the session knows about it (NaN/None: not known)."""

    skew_ms: float = math.nan
    """Live timing of this sensor against the session's median sensor (ms, data clock)."""
    latency_ms: float = math.nan
    """Recent delay of packets beyond the link's fastest (real ms)."""
    rssi_dbm: int | None = None
    """Advertised signal strength when the sensor was found."""
    battery_pct: float | None = None
    """Battery level, for families whose profile reports one."""


@dataclass(frozen=True)
class SessionDevice:
    """One sensor the session must find: by advertised name or by address."""

    placement: str
    profile: SensorProfile
    name: str = ""
    address: str = ""
    q_segment_sensor: tuple[float, float, float, float] | None = None
    """The kit's nominal mounting (w, x, y, z), stored with the recording for calibration."""

    def matches(self, device: BLEDevice, adv: AdvertisementData) -> bool:
        if self.address and device.address.upper() == self.address.upper():
            return True
        name = adv.local_name or device.name or ""
        return bool(self.name) and name == self.name


def devices_from_kit(kit: Kit) -> list[SessionDevice]:
    """The sensors of a kit as session devices."""
    mountings = kit.mountings()
    return [
        SessionDevice(
            placement=item.placement,
            profile=load_profile(item.profile),
            name=item.name,
            address=item.address,
            q_segment_sensor=_as_tuple(mountings.get(item.placement)),
        )
        for item in kit.devices
    ]


def _as_tuple(q: NDArray[np.float64] | None) -> tuple[float, float, float, float] | None:
    if q is None:
        return None
    w, x, y, z = (float(v) for v in q)
    return (w, x, y, z)


def rates_from_kit(kit: Kit) -> dict[str, float]:
    """Requested rate per placement: the sensor's own, else the kit's (0: profile default)."""
    rates = {}
    for item in kit.devices:
        rate = item.rate_hz or kit.rate_hz
        if rate:
            rates[item.placement] = float(rate)
    return rates


def _constant(value: float) -> Callable[[], float]:
    return lambda: value


async def scan(
    *, timeout_s: float = 5.0, backend: type[BaseBleakScanner] | None = None
) -> list[tuple[BLEDevice, AdvertisementData]]:
    """Every advertiser heard within ``timeout_s`` (strongest first)."""
    # bleak's own default backend unless one is given (the virtual stack passes its own)
    options: dict[str, Any] = {} if backend is None else {"backend": backend}
    found = await BleakScanner.discover(timeout=timeout_s, return_adv=True, **options)
    return sorted(found.values(), key=lambda item: -item[1].rssi)


class Session:
    """All links of one kit on one session clock.

    Parameters
    ----------
    devices:
        The sensors to find (``devices_from_kit(kit)``).
    scanner_backend, client_backend:
        bleak backend classes (None: the platform's; the virtual kit supplies its own).
    scan_timeout_s:
        How long to look for the kit's sensors before giving up (default 10 s).
    rate_hz:
        Requested rate per placement (default: each profile's default rate).
    time_scale:
        Session seconds per host second (1 for real sensors; a virtual kit running at
        ``speed`` X uses X so that recordings keep the simulated timeline).
    t0_monotonic_s:
        ``time.monotonic()`` reading that is session time 0 (default: now), or a function
        returning it (a virtual kit fixes its time origin only once its sensors stream).
    first_data_timeout_s:
        How long connected sensors may take to send their first packet (default 10 s).
    connect_timeout_s:
        Timeout of one connection attempt (default 10 s); reconnections retry after it.
    """

    def __init__(
        self,
        devices: Sequence[SessionDevice],
        *,
        scanner_backend: type[BaseBleakScanner] | None = None,
        client_backend: type[BaseBleakClient] | None = None,
        scan_timeout_s: float = 10.0,
        rate_hz: dict[str, float] | None = None,
        time_scale: float = 1.0,
        t0_monotonic_s: float | Callable[[], float] | None = None,
        first_data_timeout_s: float = 10.0,
        connect_timeout_s: float = 10.0,
    ) -> None:
        if not devices:
            raise HipscopeError("a session needs at least one sensor")
        placements = [d.placement for d in devices]
        if len(set(placements)) != len(placements):
            raise HipscopeError(f"each placement may appear only once, got {placements}")
        self.devices = list(devices)
        self.scanner_backend = scanner_backend
        self.client_backend = client_backend
        self.scan_timeout_s = scan_timeout_s
        self.rate_hz = dict(rate_hz or {})
        self.time_scale = float(time_scale)
        self.first_data_timeout_s = float(first_data_timeout_s)
        self.connect_timeout_s = float(connect_timeout_s)
        if t0_monotonic_s is None:
            t0_monotonic_s = time.monotonic()
        self._t0: Callable[[], float] = (
            t0_monotonic_s if callable(t0_monotonic_s) else _constant(float(t0_monotonic_s))
        )
        self.links: dict[str, SensorLink] = {}
        self.consumers: list[Consumer] = []
        self.recorder: Recorder | None = None
        self.tasks: list[Task] = []
        self._open_task: tuple[str, str, float] | None = None
        self._queue: deque[tuple[str, SampleBatch, float]] = deque()
        # Batches from connection until the first recording starts, so a recording started
        # right after connecting keeps the very first samples; dropped BACKLOG_S after
        # every link is open.
        self._backlog: deque[tuple[str, SampleBatch]] | None = deque(maxlen=BACKLOG_BATCHES)
        self._connected_at = float("inf")  # set once every link is open
        self._wake = asyncio.Event()
        self._fanout: asyncio.Task[None] | None = None
        self.latencies_s: deque[float] = deque(maxlen=100_000)
        self.recording_end_s = float("inf")
        """Session time after which samples no longer reach the recorder."""
        self.consumer_errors = 0
        self.rssi_dbm: dict[str, int] = {}
        """Signal strength of each sensor's advertisements while it was found (dBm)."""
        self._skews_s: dict[str, float] = {}
        self._skew_at = -math.inf
        self.timings: dict[str, SessionTiming] = {}
        """Per sensor with a sample counter: its receive times, to align the recording."""
        self.aligned: list[str] = []
        """Placements whose recorded times the last recording's alignment replaced."""
        self.recording_error: RecordingError | None = None
        """Why the recording stopped early (full disk, failed write), if it did."""
        self.cue_rules: tuple[str, ...] = ()
        """Live cue rules in force; every recording started stores them (``cue_rules``)."""

    # -- clock -----------------------------------------------------------------------------
    @property
    def t0_monotonic_s(self) -> float:
        """The ``time.monotonic()`` reading that is session time 0."""
        return self._t0()

    def session_time_s(self) -> float:
        """Seconds since the session started (scaled for fast virtual kits)."""
        return (time.monotonic() - self._t0()) * self.time_scale

    # -- connect ---------------------------------------------------------------------------
    async def discover(self) -> dict[str, BLEDevice]:
        """Scan until every sensor is found; ``LinkError`` names the missing ones."""
        found: dict[str, BLEDevice] = {}
        done = asyncio.Event()

        def on_detect(device: BLEDevice, adv: AdvertisementData) -> None:
            for entry in self.devices:
                if entry.placement not in found and entry.matches(device, adv):
                    found[entry.placement] = device
                    self.rssi_dbm[entry.placement] = int(adv.rssi)
            if len(found) == len(self.devices):
                done.set()

        async with BleakScanner(detection_callback=on_detect, backend=self.scanner_backend):
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(done.wait(), timeout=self.scan_timeout_s)
        missing = [d for d in self.devices if d.placement not in found]
        if missing:
            names = ", ".join(f"{d.placement} ({d.name or d.address})" for d in missing)
            raise LinkError(f"not found within {self.scan_timeout_s:g} s: {names}")
        return found

    async def connect(self) -> None:
        """Find and connect every sensor and start streaming (all or nothing)."""
        found = await self.discover()
        lock = asyncio.Lock()
        for entry in self.devices:
            self.links[entry.placement] = SensorLink(
                entry.placement,
                found[entry.placement],
                entry.profile,
                on_batch=self._on_batch,
                clock=self.session_time_s,
                rate_hz=self.rate_hz.get(entry.placement),
                backend=self.client_backend,
                connect_lock=lock,
                connect_timeout_s=self.connect_timeout_s,
                rediscover=self._rediscover,
            )
        for entry in self.devices:
            timing = entry.profile.timing
            if timing.counter and timing.counter_bits:
                link = self.links[entry.placement]
                # Device timestamps mean a crystal clocks the samples: its rate error is
                # ppm, so arrivals implying more than 200 ppm are a host falling behind.
                self.timings[entry.placement] = SessionTiming(
                    link.rate_hz,
                    timing.counter_bits,
                    max_rate_error=2e-4 if timing.device_time else 0.1,
                )
        self._fanout = asyncio.get_running_loop().create_task(self._fan_out(), name="fan-out")
        try:
            results = await asyncio.gather(
                *(link.open() for link in self.links.values()), return_exceptions=True
            )
            errors = [r for r in results if isinstance(r, BaseException)]
            if errors:
                raise errors[0]
            self._connected_at = time.monotonic()
            await self._wait_streaming()
        except BaseException:
            await self.close()
            raise

    async def _rediscover(self, address: str) -> BLEDevice | None:
        options: dict[str, Any] = (
            {} if self.scanner_backend is None else {"backend": self.scanner_backend}
        )
        return await BleakScanner.find_device_by_address(
            address, timeout=self.connect_timeout_s, **options
        )

    async def _wait_streaming(self) -> None:
        """Wait for every sensor's first packet (it tells whether packets carry mag)."""
        deadline = time.monotonic() + self.first_data_timeout_s
        while time.monotonic() < deadline:
            if all(link.samples > 0 for link in self.links.values()):
                return
            await asyncio.sleep(0.02)
        silent = [p for p, link in self.links.items() if link.samples == 0]
        raise LinkError(
            f"connected but no data within {self.first_data_timeout_s:g} s: {', '.join(silent)}"
        )

    # -- data ------------------------------------------------------------------------------
    def add_consumer(self, consumer: Consumer) -> None:
        self.consumers.append(consumer)

    def _on_batch(self, placement: str, batch: SampleBatch, host_time_s: float) -> None:
        timing = self.timings.get(placement)
        if timing is not None and batch.seq is not None:
            timing.add(batch.seq, time.monotonic())
            timing.note_mapped(float(batch.time_s[-1]), host_time_s)
        self._queue.append((placement, batch, time.monotonic()))
        self._wake.set()

    async def _fan_out(self) -> None:
        while True:
            await self._wake.wait()
            self._wake.clear()
            self.drain()

    def drain(self) -> None:
        """Hand every queued batch to the recorder and the consumers."""
        while self._queue:
            placement, batch, queued_at = self._queue.popleft()
            if self.recorder is not None:
                if batch.time_s[-1] > self.recording_end_s:
                    batch = batch.take(batch.time_s <= self.recording_end_s)
                    if len(batch) == 0:
                        continue
                with self._recorder_guard():
                    self.recorder.append(placement, batch)
                self.latencies_s.append(time.monotonic() - queued_at)
            elif self._backlog is not None:
                if time.monotonic() - self._connected_at > BACKLOG_S:
                    self._backlog = None
                else:
                    self._backlog.append((placement, batch))
            for consumer in self.consumers:
                try:
                    consumer(placement, batch)
                except Exception:
                    self.consumer_errors += 1
                    logger.exception("live consumer failed on %s", placement)

    # -- recording -------------------------------------------------------------------------
    @contextlib.contextmanager
    def _recorder_guard(self) -> Iterator[None]:
        """A recorder that fails (full disk, write error) has closed its file: keep its one
        line in ``recording_error`` and stop recording; live streaming goes on."""
        try:
            yield
        except RecordingError as error:
            recorder, self.recorder = self.recorder, None
            if recorder is not None and not recorder.closed:
                with contextlib.suppress(HipscopeError):
                    recorder.close()
            if self.recording_error is None:
                self.recording_error = error
            logger.error("%s", error)

    def start_recording(
        self, path: Path | str, *, athlete: str = "", session_id: str | None = None
    ) -> Recorder:
        """Record to a new file; the first recording also keeps what arrived since connect."""
        if self.recorder is not None:
            raise HipscopeError(f"already recording to {self.recorder.path}")
        sensors = []
        for entry in self.devices:
            link = self.links.get(entry.placement)
            profile = entry.profile
            sensors.append(
                SensorMeta(
                    placement=entry.placement,
                    device_name=(link.device_name if link else "") or entry.name,
                    device_address=link.address if link else entry.address,
                    profile=profile.id,
                    nominal_rate_hz=link.rate_hz if link else profile.default_rate_hz,
                    has_mag=profile.has_mag and link is not None and bool(link.has_mag),
                    has_seq=profile.timing.counter,
                )
            )
        self.drain()
        recorder = Recorder(
            path, sensors, session_id=session_id, athlete=athlete, cue_rules=self.cue_rules
        )
        backlog, self._backlog = self._backlog, None
        self.recorder = recorder
        with self._recorder_guard():
            for placement, batch in backlog or ():
                recorder.append(placement, batch)
            if self._open_task is not None:
                recorder.start_task(*self._open_task)
        return recorder

    def stop_recording(self) -> Path | None:
        """Close the recording (counters go into the sensor attributes); returns its path."""
        if self.recorder is None:
            return None
        self.drain()
        if self._open_task is not None:
            self.end_task()
        recorder = self.recorder
        if recorder is None:  # the recorder failed while draining
            return None
        for placement, link in self.links.items():
            recorder.set_sensor_attrs(placement, **link.attrs())
        for entry in self.devices:
            if entry.q_segment_sensor is not None and entry.placement in self.links:
                recorder.set_sensor_attrs(
                    entry.placement, nominal_q_segment_sensor=np.array(entry.q_segment_sensor)
                )
        with self._recorder_guard():
            recorder.close()
        self.recorder = None
        self._align(recorder.path)
        return recorder.path

    def _alignment_method(self, placement: str) -> str:
        timing = self.timings.get(placement)
        if timing is not None and timing.fell_behind:
            return "session_nominal_rate"  # the host fell behind: counters at nominal rate
        return "session_lower_envelope"

    def _align(self, path: Path) -> None:
        """Put every sensor of the closed recording on one clock (``SessionTiming``)."""

        def retime(
            placement: str, seq: NDArray[np.uint32], time_s: NDArray[np.float64]
        ) -> NDArray[np.float64] | None:
            timing = self.timings.get(placement)
            if timing is None or len(time_s) < 2:
                return None
            # A host that fell behind stretches the streamed times by up to a few tens of
            # per cent; anything beyond that is not a timing error the counters can fix.
            max_shift_s = 2.0 + 0.3 * float(time_s[-1] - time_s[0])
            return timing.retime(seq, time_s, max_shift_s, self.t0_monotonic_s, self.time_scale)

        try:
            self.aligned = retime_recording(path, retime, self._alignment_method)
        except (OSError, RuntimeError, KeyError) as error:
            logger.warning("%s: recorded times kept as streamed (%s)", path, error)

    def start_task(self, kind: str, side: str = "") -> None:
        """Mark the start of a task now (an open task is ended first)."""
        if self._open_task is not None:
            self.end_task()
        Task(kind, side, 0.0, 0.0)  # validates kind and side now, not at the end
        start_s = self.session_time_s()
        self._open_task = (kind, side, start_s)
        if self.recorder is not None:
            # The open row reaches the file now: a killed recorder keeps the task's label.
            self.drain()
            if self.recorder is not None:
                with self._recorder_guard():
                    self.recorder.start_task(kind, side, start_s)

    def end_task(self) -> Task | None:
        """End the open task now and write its row; None when no task is open."""
        if self._open_task is None:
            return None
        kind, side, start_s = self._open_task
        self._open_task = None
        task = Task(kind, side, start_s, max(start_s, self.session_time_s()))
        self.tasks.append(task)
        if self.recorder is not None:
            self.drain()
        recorder = self.recorder
        if recorder is not None:
            with self._recorder_guard():
                if recorder.open_task is not None:
                    recorder.end_task(task.end_s)
                else:  # recording started while the task was under way
                    recorder.add_task(task)
        return task

    def add_cue(self, event: CueEvent) -> bool:
        """Write a live cue into the recording (False when not recording or refused)."""
        recorder = self.recorder
        if recorder is None or recorder.closed:
            return False
        with self._recorder_guard():
            return recorder.add_cue(event)
        return False

    def add_task(self, task: Task) -> None:
        self.tasks.append(task)
        if self.recorder is not None:
            self.drain()
        if self.recorder is not None:
            with self._recorder_guard():
                self.recorder.add_task(task)

    # -- status / close --------------------------------------------------------------------
    def status(self) -> dict[str, SensorStatus]:
        """Each link's status with what a coach can act on (``LiveStatus``)."""
        now = time.monotonic()
        if now - self._skew_at >= SKEW_REFRESH_S:
            self._skew_at = now
            self._skews_s = self._live_skews_s()
        out: dict[str, SensorStatus] = {}
        for placement, link in self.links.items():
            base = link.status()
            timing = self.timings.get(placement)
            lag_s = float(np.median(timing.lags_s)) if timing and timing.lags_s else math.nan
            out[placement] = LiveStatus(
                **{f.name: getattr(base, f.name) for f in fields(SensorStatus)},
                skew_ms=self._skews_s.get(placement, math.nan) * 1e3,
                latency_ms=lag_s / self.time_scale * 1e3,
                rssi_dbm=self.rssi_dbm.get(placement),
            )
        return out

    def _live_skews_s(self) -> dict[str, float]:
        """Each sensor's live timing relative to the session's median sensor (session s)."""
        t0 = self.t0_monotonic_s
        offsets = {
            p: t.live_offset_s(t0, self.time_scale) for p, t in self.timings.items()
        }
        known = [v for v in offsets.values() if math.isfinite(v)]
        if len(known) < 2:
            return {}
        middle = float(np.median(known))
        return {p: v - middle for p, v in offsets.items() if math.isfinite(v)}

    @property
    def all_connected(self) -> bool:
        return bool(self.links) and all(link.connected for link in self.links.values())

    async def close(self) -> None:
        """Stop every link, flush and close the recording (idempotent)."""
        await asyncio.gather(
            *(link.close() for link in self.links.values()), return_exceptions=True
        )
        self.drain()
        if self._fanout is not None:
            self._fanout.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._fanout
            self._fanout = None
        self.stop_recording()
