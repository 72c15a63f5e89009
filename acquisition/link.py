"""One sensor over Bluetooth LE: connect, start streaming, decode, map clocks, reconnect.

Only bleak's public API is used (``BleakClient``), with an optional ``backend=`` so the
same code drives real sensors and the virtual ones. The notify callback decodes,
maps the packet onto the session clock and hands the batch on; it never waits. A packet
that does not decode is counted and dropped. After an unsolicited disconnection the link
reconnects with exponential backoff while the other sensors keep recording; samples lost
meanwhile are counted from the device counter (never invented).

MTU: bleak has no public MTU request; the virtual backend asks for 247 while connecting
and BlueZ negotiates on its own (its ``mtu_size`` reports 23 regardless), so nothing here
sizes packets from ``mtu_size`` — the status only shows it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
from bleak import BleakClient
from bleak.backends.characteristic import BleakGATTCharacteristic
from bleak.backends.client import BaseBleakClient
from bleak.backends.device import BLEDevice
from bleak.exc import BleakDeviceNotFoundError, BleakError

from hipscope.acquisition.clock import ClockMapper
from hipscope.acquisition.decoders import assembler_for
from hipscope.acquisition.families import family_of
from hipscope.acquisition.profiles import SensorProfile
from hipscope.acquisition.samples import SampleBatch
from hipscope.base.errors import DecodeError, HipscopeError, LinkError

logger = logging.getLogger(__name__)

BatchSink = Callable[[str, SampleBatch, float], None]
"""``fn(placement, batch, host_time_s)`` called on the acquisition loop for every packet."""


@dataclass(frozen=True)
class SensorStatus:
    """A snapshot of one sensor's link, safe to hand to another thread."""

    placement: str
    device_name: str
    address: str
    profile: str
    connected: bool
    rate_hz: float
    """Measured over the last few seconds of the session clock (0 until data flows)."""
    samples: int
    lost_samples: int
    dropped_packets: int
    """Packets that failed to decode (counted and dropped)."""
    reconnects: int
    clock_offset_s: float
    drift_ppm: float
    mtu: int = 0


class SensorLink:
    """One device: connect, start, decode, map to the session clock, reconnect.

    Parameters
    ----------
    placement:
        Where the sensor sits (``pelvis``, ``thigh_left``...).
    device:
        The device found by a scan (or an address string).
    profile:
        Its sensor family.
    on_batch:
        Receives every decoded batch on the session clock (``fn(placement, batch,
        host_time_s)``); called from the notify callback, so it must be quick.
    clock:
        The session clock in seconds (host time since the session started).
    rate_hz:
        Requested output rate (default: the profile's default rate).
    backend:
        bleak client backend class (None: the platform's).
    connect_lock:
        Serialises connects across links (one pending LE connect per adapter).
    connect_timeout_s:
        Timeout of one connection attempt (default 10 s).
    reconnect_min_s, reconnect_max_s:
        First and longest wait between reconnection attempts (defaults 0.05 s and 2 s).
    rediscover:
        ``await rediscover(address)`` -> a fresh ``BLEDevice`` (or None), tried when a
        reconnection cannot find the device any more (default: none).
    """

    def __init__(
        self,
        placement: str,
        device: BLEDevice | str,
        profile: SensorProfile,
        *,
        on_batch: BatchSink,
        clock: Callable[[], float],
        rate_hz: float | None = None,
        backend: type[BaseBleakClient] | None = None,
        connect_lock: asyncio.Lock | None = None,
        connect_timeout_s: float = 10.0,
        reconnect_min_s: float = 0.05,
        reconnect_max_s: float = 2.0,
        rediscover: Callable[[str], Awaitable[BLEDevice | None]] | None = None,
    ) -> None:
        self.placement = placement
        self.device = device
        self.profile = profile
        self.base_profile = profile
        """The profile as configured; ``profile`` is the variant the connected device needs."""
        self.on_batch = on_batch
        self.clock = clock
        self.rate_hz = float(rate_hz if rate_hz is not None else profile.default_rate_hz)
        self.backend = backend
        self.connect_lock = connect_lock or asyncio.Lock()
        self.connect_timeout_s = connect_timeout_s
        self.reconnect_min_s = reconnect_min_s
        self.reconnect_max_s = reconnect_max_s
        self.rediscover = rediscover
        self.device_name = (device.name or "") if isinstance(device, BLEDevice) else ""
        self.address = device.address if isinstance(device, BLEDevice) else str(device)
        self._assembler = assembler_for(profile, self.rate_hz)
        timing = profile.timing
        self.mapper = ClockMapper(
            self.rate_hz,
            has_device_time=timing.device_time,
            counter_bits=timing.counter_bits if timing.counter else 0,
            time_wrap_s=timing.time_wrap_s,
        )
        self._client: BleakClient | None = None
        self._closing = False
        self._reconnect_task: asyncio.Task[None] | None = None
        self.connected = False
        self.samples = 0
        self.dropped_packets = 0
        self.reconnects = 0
        self.reconnect_attempts = 0
        self.disconnect_times_s: list[float] = []
        self.reconnect_times_s: list[float] = []
        self._recent: deque[tuple[float, int]] = deque()
        self._last_decode_log_s = -np.inf
        self.mtu = 0
        self.has_mag: bool | None = None
        """Whether packets carry a magnetometer (None until the first packet)."""

    # -- connection ------------------------------------------------------------------------
    async def open(self) -> None:
        """Connect and start streaming; raises ``LinkError`` naming the device on failure."""
        self._closing = False
        try:
            await self._connect_and_start()
        except (BleakError, TimeoutError, OSError, HipscopeError) as error:
            raise LinkError(
                f"{self.placement}: cannot start {self.device_name or self.address} "
                f"({self.profile.id}): {error}"
            ) from error

    async def _connect_and_start(self) -> None:
        client = BleakClient(
            self.device,
            disconnected_callback=self._on_disconnected,
            timeout=self.connect_timeout_s,
            backend=self.backend,
        )
        async with self.connect_lock:
            await client.connect()
        self._client = client
        self._assembler.reset()
        try:
            self.mtu = int(client.mtu_size)
            prepared = await family_of(self.base_profile).prepare(self.base_profile, client)
            if prepared is not self.profile:  # e.g. the board model selects a register set
                self.profile = prepared
                self._assembler = assembler_for(prepared, self.rate_hz)
            await _write_steps(client, self.profile, "set_rate", self.rate_hz)
            await client.start_notify(self.profile.data_uuid, self._on_notify)
            await _write_steps(client, self.profile, "start", self.rate_hz)
        except BaseException:
            self._client = None
            with contextlib.suppress(Exception):
                await client.disconnect()
            raise
        self.connected = True

    def _on_disconnected(self, _client: BleakClient) -> None:
        if self._closing or not self.connected:
            return
        self.connected = False
        self._client = None
        self.disconnect_times_s.append(self.clock())
        logger.warning("%s: link to %s lost; reconnecting", self.placement, self.address)
        if self._reconnect_task is None or self._reconnect_task.done():
            self._reconnect_task = asyncio.get_running_loop().create_task(
                self._reconnect(), name=f"reconnect-{self.placement}"
            )

    async def _reconnect(self) -> None:
        delay_s = self.reconnect_min_s
        while not self._closing:
            await asyncio.sleep(delay_s)
            if self._closing:
                return
            self.reconnect_attempts += 1
            try:
                await self._connect_and_start()
            except (BleakError, TimeoutError, OSError, HipscopeError) as error:
                logger.info("%s: reconnection failed (%s); retry in %.2f s", self.placement,
                            error, min(delay_s * 2, self.reconnect_max_s))
                delay_s = min(delay_s * 2.0, self.reconnect_max_s)
                if isinstance(error, BleakDeviceNotFoundError) and self.rediscover is not None:
                    with contextlib.suppress(BleakError, TimeoutError, OSError):
                        found = await self.rediscover(self.address)
                        if found is not None:  # the OS may have forgotten the device
                            self.device = found
                continue
            self.reconnects += 1
            self.reconnect_times_s.append(self.clock())
            logger.info("%s: reconnected", self.placement)
            return

    async def close(self) -> None:
        """Stop streaming and disconnect (idempotent)."""
        self._closing = True
        task = self._reconnect_task
        if task is not None and not task.done():
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        client = self._client
        self._client = None
        if client is not None and client.is_connected:
            with contextlib.suppress(Exception):
                for char, payload in self.profile.writes("stop"):
                    await _write(client, char, payload)
            with contextlib.suppress(Exception):
                await client.disconnect()
        self.connected = False

    # -- data ------------------------------------------------------------------------------
    def _on_notify(self, _char: BleakGATTCharacteristic, data: bytearray) -> None:
        host_time_s = self.clock()
        try:
            packet = self._assembler.feed(data)
            if packet is None:
                return
            time_s = self.mapper.map(packet, host_time_s)
            batch = packet.to_batch(time_s)
            fresh = np.isfinite(time_s)
            if not fresh.all():  # repeated or stale samples
                batch = batch.take(fresh)
        except DecodeError as error:
            self.dropped_packets += 1
            if host_time_s - self._last_decode_log_s > 5.0:
                logger.warning("%s: dropped a bad packet (%s)", self.placement, error)
                self._last_decode_log_s = host_time_s
            return
        if len(batch) == 0:
            return
        if not self.profile.has_mag and batch.mag_ut is not None:
            batch = SampleBatch(batch.time_s, batch.acc_m_s2, batch.gyr_rad_s, None, batch.seq)
        if self.has_mag is None:
            self.has_mag = batch.mag_ut is not None
        self.samples += len(batch)
        self._recent.append((host_time_s, len(batch)))
        self.on_batch(self.placement, batch, host_time_s)

    def measured_rate_hz(self, window_s: float = 3.0) -> float:
        now_s = self.clock()
        while self._recent and self._recent[0][0] < now_s - window_s:
            self._recent.popleft()
        if len(self._recent) < 2:
            return 0.0
        span_s = max(now_s - self._recent[0][0], 1e-3)
        return float(sum(n for _, n in self._recent) / span_s)

    def status(self) -> SensorStatus:
        return SensorStatus(
            placement=self.placement,
            device_name=self.device_name,
            address=self.address,
            profile=self.profile.id,
            connected=self.connected,
            rate_hz=self.measured_rate_hz(),
            samples=self.samples,
            lost_samples=int(self.mapper.lost_samples),
            dropped_packets=self.dropped_packets,
            reconnects=self.reconnects,
            clock_offset_s=float(self.mapper.offset_s),
            drift_ppm=float(self.mapper.drift_ppm),
            mtu=self.mtu,
        )

    def attrs(self) -> dict[str, Any]:
        """Counters stored with the recording's sensor group at close."""
        return {
            "lost_samples": np.int64(self.mapper.lost_samples),
            "reconnects": np.int64(self.reconnects),
            "dropped_packets": np.int64(self.dropped_packets),
            "clock_offset_s": float(self.mapper.offset_s),
            "drift_ppm": float(self.mapper.drift_ppm),
            "gap_start_s": np.array([g.start_s for g in self.mapper.gaps], dtype=np.float64),
            "gap_end_s": np.array([g.end_s for g in self.mapper.gaps], dtype=np.float64),
            "gap_lost_samples": np.array([g.n_lost for g in self.mapper.gaps], dtype=np.int64),
            "disconnect_times_s": np.array(self.disconnect_times_s, dtype=np.float64),
            "reconnect_times_s": np.array(self.reconnect_times_s, dtype=np.float64),
        }


async def _write_steps(
    client: BleakClient, profile: SensorProfile, action: str, rate_hz: float
) -> None:
    """The writes of one control action, pausing where the profile says (e.g. WitMotion's
    100 ms between unlock, rate and save)."""
    for step in profile.write_steps(action, rate_hz):
        await _write(client, step.char_uuid, step.payload)
        if step.wait_s > 0.0:
            await asyncio.sleep(step.wait_s)


async def _write(client: BleakClient, uuid: str, payload: bytes) -> None:
    """A control write, with response when the characteristic offers it."""
    char = client.services.get_characteristic(uuid)
    if char is None:
        raise LinkError(f"{client.address} has no characteristic {uuid}")
    await client.write_gatt_char(char, payload, response="write" in char.properties)
