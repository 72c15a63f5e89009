"""The virtual kit as a ``SensorSource``: simulated sensors on the bumble radio.

Everything simulation-specific lives here, not in the runner: the simulated protocol,
``speed``, radio loss, the connection interval, and cutting or restoring one sensor's link
(``cut``/``restore``, callable from any thread while the source is open).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Sequence
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from hipscope.acquisition.kit import Kit, load_kit
from hipscope.acquisition.session import devices_from_kit, rates_from_kit
from hipscope.acquisition.sources import CloseHook, SensorSource, SourceSetup
from hipscope.acquisition.virtual.kit import DEFAULT_PLACEMENTS, VirtualKit
from hipscope.base.errors import HipscopeError

CONTROL_TIMEOUT_S = 5.0


@dataclass(frozen=True)
class VirtualOptions:
    """A virtual kit instead of real sensors.

    ``placements`` (default pelvis, trunk, thighs); ``profile``: sensor family of every
    virtual sensor (default ``hipscope_open``); ``rate_hz``: sampling rate (default 100);
    ``speed``: simulated seconds per second (default 1); ``loss_fraction``: notifications
    the radio drops (default 0); ``seed`` (default 0); ``protocol``: simulated protocol,
    ``"screen"`` or a sequence of simulator task specs (``hipscope.acquisition.simulator``);
    ``connection_interval_s``: radio batching (default 7.5 ms).
    """

    placements: tuple[str, ...] = DEFAULT_PLACEMENTS
    profile: str = "hipscope_open"
    rate_hz: float = 100.0
    speed: float = 1.0
    loss_fraction: float = 0.0
    seed: int = 0
    protocol: str | Sequence[Any] = "screen"
    connection_interval_s: float = 0.0075


class VirtualSource(SensorSource):
    """Virtual sensors streaming a simulated session.

    Parameters
    ----------
    options:
        The simulation and radio settings.
    kit_path:
        Impersonate this kit file's devices (names, addresses, families, rates): a
        rehearsal of the real-kit path without hardware.
    """

    def __init__(self, options: VirtualOptions | None = None, kit_path: Path | None = None):
        self.options = options or VirtualOptions()
        self.kit_path = kit_path
        self._kit: Kit | None = None
        self._env: VirtualKit | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        _simulator_protocol(self.options.protocol)  # refuse a bad protocol now

    @property
    def kit(self) -> Kit | None:
        if self.kit_path is not None and self._kit is None:
            self._kit = load_kit(self.kit_path)
        return self._kit

    @property
    def placements(self) -> tuple[str, ...]:
        kit = self.kit
        return kit.placements if kit is not None else tuple(self.options.placements)

    @property
    def rate_hz(self) -> float:
        kit = self.kit
        if kit is not None:
            rates = rates_from_kit(kit)
            return max(rates.values()) if rates else 100.0
        return float(self.options.rate_hz)

    @property
    def speed(self) -> float:
        return float(self.options.speed)

    def _virtual_kit(self, repeat: bool) -> VirtualKit:
        options = self.options
        settings: dict[str, Any] = {
            "speed": options.speed,
            "loss_fraction": options.loss_fraction,
            "seed": options.seed,
            "connection_interval_s": options.connection_interval_s,
            "protocol": _simulator_protocol(options.protocol),
            "loop": repeat,
        }
        kit = self.kit
        if kit is not None:
            return VirtualKit.from_kit(kit, **settings)
        return VirtualKit(
            placements=options.placements,
            profile=options.profile,
            rate_hz=options.rate_hz,
            **settings,
        )

    @asynccontextmanager
    async def _open(self, on_close: CloseHook, repeat: bool) -> AsyncIterator[SourceSetup]:
        virtual_kit = self._virtual_kit(repeat)
        async with virtual_kit as env:
            env.add_cleanup(on_close)
            kit = self.kit
            if kit is not None:
                devices, rates = devices_from_kit(kit), rates_from_kit(kit)
            else:
                devices, rates = env.session_devices, env.rates_hz
            self._env, self._loop = env, asyncio.get_running_loop()
            try:
                yield SourceSetup(
                    devices=devices,
                    rates_hz=rates,
                    scanner_backend=env.scanner_backend,
                    client_backend=env.client_backend,
                    time_scale=env.speed,
                    t0_monotonic_s=env.session_t0,
                    planned_tasks=tuple(env.tasks),
                    protocol_end_s=env.duration_s if env.tasks else None,
                )
            finally:
                self._env = self._loop = None

    def open(
        self, *, on_close: CloseHook, repeat: bool
    ) -> AbstractAsyncContextManager[SourceSetup]:
        return self._open(on_close, repeat)

    # -- radio control (any thread) --------------------------------------------------------
    def cut(self, placement: str) -> None:
        """Radio loss on one virtual sensor (it stays silent until ``restore``)."""
        self._control(lambda env: env.cut(placement))

    def restore(self, placement: str) -> None:
        self._control(lambda env: env.restore(placement))

    def _control(self, action: Any) -> None:
        env, loop = self._env, self._loop
        if env is None or loop is None:
            raise HipscopeError("the virtual kit is not running")

        async def run() -> None:
            action(env)

        try:
            running = asyncio.get_running_loop()
        except RuntimeError:
            running = None
        if running is loop:
            action(env)
            return
        asyncio.run_coroutine_threadsafe(run(), loop).result(CONTROL_TIMEOUT_S)


def _simulator_protocol(protocol: str | Sequence[Any] | None) -> Any:
    """The simulator's task specs (None: the simulator's default, the screen)."""
    if protocol is None or protocol == "screen":
        return None
    if isinstance(protocol, str):
        raise HipscopeError(f"unknown simulated protocol {protocol!r}; expected 'screen'")
    return list(protocol)
