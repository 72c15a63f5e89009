"""One virtual IMU: a bumble GATT server that speaks a sensor family's profile.

The GATT table, advertised name and service, and the control writes it obeys come from
the family's ``SensorProfile`` (``firmware_configs/*.toml``); the packet bytes come from
an encoder (``hipscope.acquisition.virtual.encoders``) so they are the bytes the real device sends.

The sensor samples continuously from power-on at its own clock, like a real one: sample
``k`` is taken at device time ``k / rate_hz``. ``speed`` makes the world pass faster than
the host clock (speed 2: two seconds of samples per host second). Whatever is sampled
while no central listens (not connected, not subscribed, not started, radio cut) is lost,
so a reconnection shows as a jump in the sample counter, never as invented samples.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable, Sequence
from typing import Protocol

import numpy as np
from bumble import core, gatt, hci
from bumble.core import AdvertisingData
from bumble.device import Connection, Device
from numpy.typing import ArrayLike

from hipscope.acquisition.families import family_of
from hipscope.acquisition.profiles import SensorProfile, uuid_bytes
from hipscope.acquisition.samples import SampleBatch
from hipscope.acquisition.virtual.radio import VirtualLink, new_device
from hipscope.base.errors import HipscopeError

logger = logging.getLogger(__name__)

DEVICE_INFORMATION_SERVICE = "0000180a-0000-1000-8000-00805f9b34fb"


class Encoder(Protocol):
    """What a virtual sensor needs from ``acquisition.virtual.encoders.PacketEncoder``."""

    samples_per_packet: int

    def encode(self, batch: SampleBatch, device_time_s: ArrayLike) -> Sequence[bytes]: ...


EncoderFactory = Callable[[SensorProfile, float], Encoder]
"""``(profile, rate_hz) -> encoder``; called again when the central changes the rate."""


def _service_uuid_ad(uuid_text: str) -> tuple[int, bytes]:
    as_bumble = core.UUID(uuid_text)
    raw = as_bumble.to_bytes()
    ad_type = {
        2: AdvertisingData.COMPLETE_LIST_OF_16_BIT_SERVICE_CLASS_UUIDS,
        4: AdvertisingData.COMPLETE_LIST_OF_32_BIT_SERVICE_CLASS_UUIDS,
    }.get(len(raw), AdvertisingData.COMPLETE_LIST_OF_128_BIT_SERVICE_CLASS_UUIDS)
    return int(ad_type), raw


class VirtualSensor:
    """A virtual sensor of one family streaming ``source`` (looped when it runs out).

    Parameters
    ----------
    link:
        The virtual radio it lives on.
    address:
        Its random static address.
    name:
        Advertised local name (should start with one of the profile's name prefixes).
    profile:
        The sensor family.
    source:
        Samples to stream in order (``time_s`` is ignored: the device clock is its own).
    source_rate_hz:
        Rate at which ``source`` was sampled; the sensor resamples by index when the
        central asks for another rate.
    make_encoder:
        ``(profile, rate_hz) -> encoder`` producing the family's bytes.
    rate_hz:
        Rate before any ``set_rate`` write (default: the profile's default rate).
    speed:
        Simulated seconds per host second (default 1).
    device_time_offset_s:
        Device clock reading at power-on, in seconds (real devices do not start at 0).
    clock:
        Host clock in seconds (default ``time.monotonic``).
    loop:
        Start ``source`` again when it runs out (default True); False: the sensor falls
        silent after the last sample (a simulated protocol that ends).
    """

    def __init__(
        self,
        link: VirtualLink,
        address: hci.Address,
        name: str,
        profile: SensorProfile,
        source: SampleBatch,
        source_rate_hz: float,
        make_encoder: EncoderFactory,
        *,
        rate_hz: float | None = None,
        speed: float = 1.0,
        device_time_offset_s: float = 0.0,
        clock: Callable[[], float] = time.monotonic,
        loop: bool = True,
    ) -> None:
        if len(source) == 0:
            raise HipscopeError("a virtual sensor needs at least one sample to stream")
        if speed <= 0.0:
            raise HipscopeError(f"speed must be positive, got {speed}")
        self.link = link
        self.address = address
        self.name = name
        self.profile = profile
        self.source = source
        self.source_rate_hz = float(source_rate_hz)
        self.make_encoder = make_encoder
        self.rate_hz = float(rate_hz if rate_hz is not None else profile.default_rate_hz)
        self.encoder = make_encoder(profile, self.rate_hz)
        self.speed = float(speed)
        self.device_time_offset_s = float(device_time_offset_s)
        self.clock = clock
        self.loop = loop
        self.device: Device = new_device(link, name, address)
        self.connection: Connection | None = None
        self.started = not profile.control.get("start")  # some families stream on subscribe
        self.subscribed = False
        self.sent_samples = 0
        self.sent_notifications = 0
        self.skipped_samples = 0
        self.send_errors = 0
        self.writes: list[tuple[str, bytes]] = []
        self._next_seq = 0
        self._anchor_time_s = 0.0
        self._anchor_seq = 0
        self._task: asyncio.Task[None] | None = None
        self._wake = asyncio.Event()
        self.on_state: Callable[[], None] | None = None
        """Called when streaming is started or subscribed to (the kit's start trigger)."""
        self._build_gatt()
        self._control_table()
        self.device.on(Device.EVENT_CONNECTION, self._on_connection)

    # -- GATT ------------------------------------------------------------------------------
    def _build_gatt(self) -> None:
        props = gatt.Characteristic.Properties
        chars: list[gatt.Characteristic[bytes]] = []
        self._data_char: gatt.Characteristic[bytes] | None = None
        seen: dict[bytes, gatt.Characteristic[bytes]] = {}
        reads = dict(family_of(self.profile).virtual_reads(self.profile))
        for role, uuid_text in self.profile.characteristics.items():
            key = uuid_bytes(uuid_text)
            if key in seen or role in reads:
                continue
            if role == "data":
                char = gatt.Characteristic(
                    uuid_text, props.NOTIFY | props.READ, gatt.Characteristic.READABLE, b""
                )
                char.on(gatt.Characteristic.EVENT_SUBSCRIPTION, self._on_subscription)
                self._data_char = char
            else:
                value = gatt.CharacteristicValue(
                    read=lambda _c: b"", write=self._writer(uuid_text)
                )
                char = gatt.Characteristic(
                    uuid_text,
                    props.READ | props.WRITE | props.WRITE_WITHOUT_RESPONSE,
                    gatt.Characteristic.READABLE | gatt.Characteristic.WRITEABLE,
                    value,
                )
            seen[key] = char
            chars.append(char)
        if self._data_char is None:
            raise HipscopeError(f"profile {self.profile.id} has no data characteristic")
        self.device.add_service(gatt.Service(self.profile.service_uuid, chars))
        if reads:  # e.g. the board model a family reads after connecting (Device Information)
            info = [
                gatt.Characteristic(
                    self.profile.characteristics[role],
                    props.READ,
                    gatt.Characteristic.READABLE,
                    value,
                )
                for role, value in reads.items()
            ]
            self.device.add_service(gatt.Service(DEVICE_INFORMATION_SERVICE, info))

    def _writer(self, uuid_text: str) -> Callable[[Connection, bytes], None]:
        def on_write(_connection: Connection, value: bytes) -> None:
            self._on_control_write(uuid_text, bytes(value))

        return on_write

    def _control_table(self) -> None:
        """Which (characteristic, bytes) writes set a rate, start or stop streaming."""
        self._rate_writes: dict[tuple[bytes, bytes], float] = {}
        self._start_writes: set[tuple[bytes, bytes]] = set()
        self._stop_writes: set[tuple[bytes, bytes]] = set()
        control = self.profile.control
        for rate in self.profile.rates_hz:
            for action in ("set_rate", "start"):
                templates = control.get(action, ())
                for template, (char, value) in zip(
                    templates, self.profile.writes(action, rate), strict=True
                ):
                    if "{rate" in template.hex:
                        self._rate_writes[(uuid_bytes(char), value)] = rate
            if control.get("start"):
                char, value = self.profile.writes("start", rate)[-1]
                self._start_writes.add((uuid_bytes(char), value))
        if control.get("stop"):
            char, value = self.profile.writes("stop")[-1]
            self._stop_writes.add((uuid_bytes(char), value))

    def _on_control_write(self, uuid_text: str, value: bytes) -> None:
        self.writes.append((uuid_text, value))
        key = (uuid_bytes(uuid_text), value)
        if key in self._rate_writes:
            self._set_rate(self._rate_writes[key])
        if key in self._start_writes:
            self._set_started(True)
        elif key in self._stop_writes:
            self._set_started(False)

    def _set_rate(self, rate_hz: float) -> None:
        if rate_hz != self.rate_hz:
            self._resync()
            self.rate_hz = float(rate_hz)
            self.encoder = self.make_encoder(self.profile, self.rate_hz)
            if self.clock() >= self._anchor_time_s:  # sampling already: restart the time base
                self._anchor_time_s = self.clock()
                self._anchor_seq = self._next_seq

    def _set_started(self, started: bool) -> None:
        self._resync()
        self.started = started
        self._wake.set()
        if self.on_state is not None:
            self.on_state()

    def _on_subscription(self, _bearer: object, notify_enabled: bool, _indicate: bool) -> None:
        self._resync()
        self.subscribed = bool(notify_enabled)
        self._wake.set()
        if self.on_state is not None:
            self.on_state()

    def _on_connection(self, connection: Connection) -> None:
        self._resync()
        self.connection = connection
        self.subscribed = False
        if self.profile.control.get("start"):
            self.started = False
        connection.on(Connection.EVENT_DISCONNECTION, self._on_disconnection)

    def _on_disconnection(self, _reason: int) -> None:
        self._resync()
        self.connection = None
        self.subscribed = False

    # -- lifecycle -------------------------------------------------------------------------
    def advertising_data(self) -> bytes:
        """Flags, complete local name, the service the family advertises and its
        manufacturer data, as the real device sends them, in one payload (the virtual
        controller sends no separate scan response, so everything goes here)."""
        advertised = self.profile.advertised_services or (self.profile.service_uuid,)
        ad_type, raw = _service_uuid_ad(advertised[0])
        fields: list[tuple[int, bytes]] = [
            (AdvertisingData.FLAGS, bytes([0x06])),
            (AdvertisingData.COMPLETE_LOCAL_NAME, self.name.encode()),
            (ad_type, raw),
        ]
        if self.profile.company_ids:
            company = self.profile.company_ids[0].to_bytes(2, "little")
            fields.append((AdvertisingData.MANUFACTURER_SPECIFIC_DATA, company))
        return bytes(AdvertisingData(fields))

    async def start(self) -> None:
        """Power on, advertise and start sampling."""
        await self.device.power_on()
        await self.device.start_advertising(
            advertising_data=self.advertising_data(),
            auto_restart=True,
            advertising_interval_min=20.0,
            advertising_interval_max=20.0,
        )
        self._anchor_time_s = self.clock()
        self._anchor_seq = 0
        self._task = asyncio.create_task(self._stream(), name=f"virtual-sensor-{self.name}")

    def rebase(self, anchor_monotonic_s: float) -> None:
        """Make sample 0 the one taken at host time ``anchor_monotonic_s`` (shared by a kit)."""
        self._anchor_time_s = anchor_monotonic_s
        self._anchor_seq = 0
        self._next_seq = 0
        self._wake.set()

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        with contextlib.suppress(Exception):
            await self.device.stop_advertising()

    # -- streaming -------------------------------------------------------------------------
    def due_seq(self) -> int:
        """Samples the device has taken so far (its counter value for the next sample).

        Sample ``k`` is taken at host time ``anchor + k / (rate_hz * speed)``.
        """
        elapsed_s = (self.clock() - self._anchor_time_s) * self.speed
        if elapsed_s < 0.0:
            return self._anchor_seq
        return self._anchor_seq + int(np.floor(elapsed_s * self.rate_hz + 1e-9)) + 1

    def last_seq(self) -> int | None:
        """Counter of the last sample when the source does not loop (None: it loops)."""
        if self.loop:
            return None
        return int(np.floor(len(self.source) * self.rate_hz / self.source_rate_hz + 1e-9)) - 1

    def taken_at(self, seq: int) -> float:
        """Host time at which sample ``seq`` is taken."""
        return self._anchor_time_s + (seq - self._anchor_seq) / (self.rate_hz * self.speed)

    @property
    def listening(self) -> bool:
        """A central is connected, subscribed and has started streaming."""
        return self._listening()

    def _listening(self) -> bool:
        return (
            self.connection is not None
            and self.subscribed
            and self.started
            and not self.link.is_silenced(self.address)
        )

    def _resync(self) -> None:
        """Drop what was sampled while nobody listened (called on every state change)."""
        due = self.due_seq()
        if due > self._next_seq and not self._listening():
            self.skipped_samples += due - self._next_seq
            self._next_seq = due

    def samples(self, first_seq: int, count: int) -> SampleBatch:
        """Samples ``first_seq ..`` on the device clock, taken from the looped source."""
        seq = np.arange(first_seq, first_seq + count, dtype=np.int64)
        rows = np.floor(seq * (self.source_rate_hz / self.rate_hz) + 1e-9).astype(np.int64)
        rows %= len(self.source)
        src = self.source
        return SampleBatch(
            time_s=self.device_time_offset_s + seq / self.rate_hz,
            acc_m_s2=src.acc_m_s2[rows],
            gyr_rad_s=src.gyr_rad_s[rows],
            mag_ut=None if src.mag_ut is None else src.mag_ut[rows],
            seq=(seq % (1 << 32)).astype(np.uint32),
        )

    async def _stream(self) -> None:
        while True:
            if not self._listening():
                self._resync()
                self._wake.clear()
                with contextlib.suppress(asyncio.TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), timeout=0.05)
                continue
            per_packet = self.encoder.samples_per_packet
            due = self.due_seq()
            last_seq = self.last_seq()
            if last_seq is not None:
                if self._next_seq > last_seq:  # the source ended: silence
                    self._wake.clear()
                    with contextlib.suppress(asyncio.TimeoutError):
                        await asyncio.wait_for(self._wake.wait(), timeout=0.5)
                    continue
                due = min(due, last_seq + 1)
                per_packet = min(per_packet, last_seq + 1 - self._next_seq)
            while due - self._next_seq >= per_packet > 0 and self._listening():
                try:
                    await self._send(self._next_seq, per_packet)
                except Exception as error:  # the link dropped mid-send: those samples are lost
                    logger.debug("%s: notification failed (%s)", self.name, error)
                    self.send_errors += 1
                self._next_seq += per_packet
                if last_seq is not None:
                    per_packet = min(per_packet, last_seq + 1 - self._next_seq)
            # Wake when the last sample of the next packet is taken (or the state changes).
            ready_s = self.taken_at(self._next_seq + per_packet - 1)
            self._wake.clear()
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(self._wake.wait(), max(0.0, ready_s - self.clock()))

    async def _send(self, first_seq: int, count: int) -> None:
        connection = self.connection
        assert connection is not None and self._data_char is not None
        batch = self.samples(first_seq, count)
        for payload in self.encoder.encode(batch, batch.time_s):
            await self.device.notify_subscriber(connection, self._data_char, payload)
            self.sent_notifications += 1
        self.sent_samples += count

    async def notify_raw(self, payload: bytes) -> None:
        """Send arbitrary bytes on the data characteristic (tests: corrupt packets)."""
        if self.connection is not None and self._data_char is not None:
            await self.device.notify_subscriber(self.connection, self._data_char, payload)
