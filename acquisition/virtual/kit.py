"""A whole virtual kit: N virtual sensors on one virtual radio plus the central's adapter,
streaming a simulated session, with the handles tests need (cut a link, restore it).

Use it as an async context manager inside the loop that will run the product code::

    async with VirtualKit(rate_hz=200, speed=4) as env:
        session = Session(env.session_devices, scanner_backend=env.scanner_backend,
                          client_backend=env.client_backend, rate_hz=env.rates_hz,
                          time_scale=env.speed, t0_monotonic_s=env.session_t0)

Every sensor samples from one common anchor (``anchor_monotonic_s``, fixed once every
sensor streams): sample ``k`` of every sensor is the simulated sample ``k`` (taken at
simulated time ``k / rate``), so the session clock is the simulated timeline. After the
simulated data ends the sensors loop it (counters and clocks keep running).
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from types import TracebackType
from typing import Any

import numpy as np
from bumble import core, hci

from hipscope.acquisition.kit import Kit, KitDevice
from hipscope.acquisition.profiles import SensorProfile, load_profile
from hipscope.acquisition.samples import SampleBatch, Task
from hipscope.acquisition.session import SessionDevice
from hipscope.acquisition.virtual.bleak_backend import VirtualAdapter, bind_backends
from hipscope.acquisition.virtual.peripheral import Encoder, VirtualSensor
from hipscope.acquisition.virtual.radio import VirtualLink, random_static_address
from hipscope.base.errors import HipscopeError, KitError

DEFAULT_PLACEMENTS: tuple[str, ...] = ("pelvis", "trunk", "thigh_left", "thigh_right")
SETTLE_S = 0.05
START_MARGIN_S = 0.05


def _encoder(profile: SensorProfile, rate_hz: float) -> Encoder:
    from hipscope.acquisition.virtual import encoders

    return encoders.encoder_for(profile, rate_hz)


def still_samples(
    placements: Sequence[str] = DEFAULT_PLACEMENTS, rate_hz: float = 100.0, duration_s: float = 2.0
) -> dict[str, SampleBatch]:
    """Quiet standing without noise (sensor +x up): enough for scans and plumbing tests."""
    n = max(1, round(rate_hz * duration_s))
    acc = np.tile(np.array([9.80665, 0.0, 0.0], np.float32), (n, 1))
    zero = np.zeros((n, 3), np.float32)
    time_s = np.arange(n) / rate_hz
    return {p: SampleBatch(time_s, acc, zero) for p in placements}


def _static_address(placement: str, text: str) -> hci.Address:
    try:
        address = hci.Address(text.strip().upper(), hci.Address.RANDOM_DEVICE_ADDRESS)
    except (ValueError, core.InvalidArgumentError):
        raise KitError(f"{placement}: {text!r} is not a Bluetooth address") from None
    if address.address_bytes[5] < 0xC0:
        raise KitError(
            f"{placement}: a virtual sensor needs a random static address (first octet "
            f"C0..FF), got {text}"
        )
    return address


def device_name(profile: SensorProfile, placement: str) -> str:
    """The advertised name of a virtual sensor: the family's prefix and the placement."""
    tag = placement.upper()
    return f"{profile.name_prefixes[0]}-{tag}" if profile.name_prefixes else tag


class VirtualKit:
    """Virtual sensors for ``placements`` on one ``VirtualLink``.

    Parameters
    ----------
    placements:
        Placements to equip (default pelvis, trunk, thigh_left, thigh_right).
    profile:
        Family id for every sensor, or a mapping placement -> family id
        (default ``hipscope_open``).
    rate_hz:
        Sampling rate of the sensors (default 100 Hz), or a mapping placement -> rate; the
        simulation runs at the highest and each sensor picks its samples by index.
    speed:
        Simulated seconds per host second (default 1).
    loss_fraction:
        Fraction of notifications the radio drops (default 0).
    seed:
        Seed of the simulation, the radio's losses and the device clock offsets (default 0).
    connection_interval_s:
        Connection interval of the virtual radio (default 7.5 ms; 0 delivers at once).
    simulated:
        A ``SimulatedSession`` to stream (default: ``simulate(protocol, ...)``).
    samples:
        Samples to stream per placement instead of a simulation (tests).
    protocol:
        Protocol for the default simulation (default: the screen protocol).
    start_delay_s:
        Longest wait, in host seconds, between building the kit and the sensors' first
        sample (default 5). Sampling starts as soon as every sensor streams to a central
        (plus ``START_MARGIN_S``), so a session that connects them all records from
        simulated time 0 with nothing of the opening static task lost.
    names, addresses:
        Advertised names / random static addresses per placement (default: the family's
        name prefix and the placement; generated addresses). ``from_kit`` fills them in.
    loop:
        Replay the simulated data from the start when it ends (default True); False: the
        sensors fall silent after the last simulated sample.
    """

    def __init__(
        self,
        *,
        placements: Sequence[str] = DEFAULT_PLACEMENTS,
        profile: str | Mapping[str, str] = "hipscope_open",
        rate_hz: float | Mapping[str, float] = 100.0,
        speed: float = 1.0,
        loss_fraction: float = 0.0,
        seed: int = 0,
        connection_interval_s: float = 0.0075,
        simulated: Any = None,
        samples: Mapping[str, SampleBatch] | None = None,
        protocol: Any = None,
        start_delay_s: float = 5.0,
        names: Mapping[str, str] | None = None,
        addresses: Mapping[str, str] | None = None,
        loop: bool = True,
    ) -> None:
        self.placements = tuple(placements)
        if isinstance(profile, str):
            self.profiles = {p: load_profile(profile) for p in self.placements}
        else:
            self.profiles = {p: load_profile(profile[p]) for p in self.placements}
        if isinstance(rate_hz, Mapping):
            self.rates_hz = {p: float(rate_hz[p]) for p in self.placements}
        else:
            self.rates_hz = dict.fromkeys(self.placements, float(rate_hz))
        self.rate_hz = max(self.rates_hz.values())
        """Rate of the simulation that feeds every sensor."""
        self.speed = float(speed)
        self.loss_fraction = float(loss_fraction)
        self.seed = int(seed)
        self.connection_interval_s = float(connection_interval_s)
        self.simulated = simulated
        self._samples = dict(samples) if samples is not None else None
        self.protocol = protocol
        self.start_delay_s = float(start_delay_s)
        self.loop = bool(loop)
        self._names = dict(names or {})
        self._addresses = {p: _static_address(p, a) for p, a in (addresses or {}).items()}
        self.link: VirtualLink | None = None
        self.adapter: VirtualAdapter | None = None
        self.sensors: dict[str, VirtualSensor] = {}
        self.anchor_monotonic_s = 0.0
        self._cleanups: list[Callable[[], Awaitable[None]]] = []

    @classmethod
    def from_kit(cls, kit: Kit, **options: Any) -> VirtualKit:
        """Virtual sensors impersonating a kit file's devices (names, addresses, families,
        rates); the simulated mounting stays nominal whatever the kit says."""
        return cls(
            placements=kit.placements,
            profile={d.placement: d.profile for d in kit.devices},
            rate_hz={d.placement: d.rate_hz or kit.rate_hz or 100.0 for d in kit.devices},
            names={d.placement: d.name for d in kit.devices if d.name},
            addresses={d.placement: d.address for d in kit.devices if d.address},
            **options,
        )

    # -- what the product code needs -------------------------------------------------------
    @property
    def device_names(self) -> dict[str, str]:
        return {
            p: self._names.get(p) or device_name(self.profiles[p], p) for p in self.placements
        }

    @property
    def session_devices(self) -> list[SessionDevice]:
        return [
            SessionDevice(placement=p, profile=self.profiles[p], name=self.device_names[p])
            for p in self.placements
        ]

    @property
    def kit(self) -> Kit:
        """The kit naming the virtual sensors (nominal mounting)."""
        return Kit(
            name="virtual kit",
            rate_hz=self.rate_hz,
            devices=tuple(
                KitDevice(
                    placement=p,
                    profile=self.profiles[p].id,
                    name=self.device_names[p],
                    rate_hz=self.rates_hz[p],
                )
                for p in self.placements
            ),
        )

    @property
    def tasks(self) -> list[Task]:
        """The simulated protocol's tasks on the simulated timeline (empty without one)."""
        return list(getattr(self.simulated, "tasks", []) or [])

    @property
    def duration_s(self) -> float:
        """Length of the simulated data in seconds (it loops after that)."""
        n = min(len(b) for b in self._source().values())
        return n / self.rate_hz

    # -- control handles -------------------------------------------------------------------
    def cut(self, placement: str) -> None:
        """Radio loss for one sensor: both sides see reason 0x08; silent until ``restore``."""
        assert self.link is not None
        self.link.cut(self.sensors[placement].address)

    def restore(self, placement: str) -> None:
        assert self.link is not None
        self.link.restore(self.sensors[placement].address)

    async def outage(self, placement: str, duration_s: float) -> None:
        """Cut one sensor's radio for ``duration_s`` host seconds, then restore it."""
        self.cut(placement)
        await asyncio.sleep(duration_s)
        self.restore(placement)

    def dropped_values(self, placement: str) -> list[bytes]:
        """Notification payloads of this sensor that the radio dropped."""
        assert self.link is not None
        from hipscope.acquisition.virtual.radio import address_key

        return list(self.link.dropped_values.get(address_key(self.sensors[placement].address), []))

    def corrupt_next(self, placement: str, mangle: Any) -> None:
        assert self.link is not None
        self.link.corrupt_next(self.sensors[placement].address, mangle)

    # -- lifecycle -------------------------------------------------------------------------
    def _source(self) -> dict[str, SampleBatch]:
        if self._samples is not None:
            return self._samples
        if self.simulated is None:
            from hipscope.acquisition.simulator import simulate

            self.simulated = simulate(
                self.protocol, rate_hz=self.rate_hz, seed=self.seed, placements=self.placements
            )
        return dict(self.simulated.samples)

    async def __aenter__(self) -> VirtualKit:
        source = self._source()
        missing = [p for p in self.placements if p not in source]
        if missing:
            raise HipscopeError(f"no simulated samples for {', '.join(missing)}")
        self.link = VirtualLink(
            connection_interval_s=self.connection_interval_s,
            loss_fraction=self.loss_fraction,
            seed=self.seed,
        )
        self.adapter = VirtualAdapter(self.link)
        await self.adapter.power_on()
        rng = np.random.default_rng(self.seed + 7919)
        self.anchor_monotonic_s = time.monotonic() + self.start_delay_s
        for index, placement in enumerate(self.placements):
            profile = self.profiles[placement]
            sensor = VirtualSensor(
                self.link,
                self._addresses.get(placement) or random_static_address(index + 1),
                self.device_names[placement],
                profile,
                source[placement],
                self.rate_hz,
                _encoder,
                rate_hz=self.rates_hz[placement],
                speed=self.speed,
                device_time_offset_s=float(rng.uniform(1.0, 100.0)),
                loop=self.loop,
            )
            self.sensors[placement] = sensor
        self._anchored = False
        for sensor in self.sensors.values():
            await sensor.start()
            sensor.rebase(self.anchor_monotonic_s)
            sensor.on_state = self._maybe_start_sampling
        self.scanner_backend, self.client_backend = bind_backends(self.adapter)
        return self

    def session_t0(self) -> float:
        """Host time of simulated time 0 (moves earlier once every sensor streams)."""
        return self.anchor_monotonic_s

    def _maybe_start_sampling(self) -> None:
        if self._anchored or not all(s.listening for s in self.sensors.values()):
            return
        self._anchored = True
        anchor_s = time.monotonic() + START_MARGIN_S
        if anchor_s < self.anchor_monotonic_s:
            self.anchor_monotonic_s = anchor_s
            for sensor in self.sensors.values():
                sensor.rebase(anchor_s)

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.aclose()

    def add_cleanup(self, close: Callable[[], Awaitable[None]]) -> None:
        """Run ``await close()`` first when the kit closes, e.g. the session using it: its
        links must stop before the radio goes (bumble work left pending when the loop
        closes can deadlock the loop's shutdown)."""
        self._cleanups.append(close)

    async def aclose(self) -> None:
        cleanups, self._cleanups = self._cleanups, []
        for close in reversed(cleanups):
            with contextlib.suppress(Exception):
                await asyncio.wait_for(close(), timeout=10.0)
        for sensor in self.sensors.values():
            with contextlib.suppress(Exception):
                await sensor.close()
        if self.adapter is not None:
            with contextlib.suppress(Exception):
                await self.adapter.close()
        # Let pending HCI traffic finish before the loop closes (it raises otherwise).
        await asyncio.sleep(SETTLE_S)
