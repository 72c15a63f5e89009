"""Where a live session's sensors come from: one interface, a real kit or a virtual one.

``LiveAcquisition`` (``acquisition/runner.py``) is given a ``SensorSource`` and knows
nothing else about it: a ``KitSource`` finds the kit file's devices over the platform's
Bluetooth (bleak); ``VirtualSource`` (``acquisition/virtual/source.py``) runs virtual
sensors on the bumble radio and supplies the bleak backends that reach them. Anything
simulation-specific (speed, radio loss, cutting a link) lives with the virtual source.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from hipscope.acquisition.kit import Kit, load_kit
from hipscope.acquisition.samples import Task
from hipscope.acquisition.session import SessionDevice, devices_from_kit, rates_from_kit

CloseHook = Callable[[], Awaitable[None]]


@dataclass(frozen=True)
class SourceSetup:
    """What a session needs from an open source."""

    devices: list[SessionDevice]
    rates_hz: dict[str, float]
    scanner_backend: Any = None
    """bleak scanner backend class (None: the platform's)."""
    client_backend: Any = None
    """bleak client backend class (None: the platform's)."""
    time_scale: float = 1.0
    """Session seconds per host second (above 1 only for a fast virtual kit)."""
    t0_monotonic_s: float | Callable[[], float] | None = None
    """Host time of session time 0 (None: when the session is made)."""
    planned_tasks: tuple[Task, ...] = field(default_factory=tuple)
    """A scripted protocol's task rows on the session clock (empty for real athletes)."""
    protocol_end_s: float | None = None
    """When the scripted protocol ends (session clock)."""


class SensorSource(ABC):
    """A kit of sensors a live session can connect to."""

    @property
    @abstractmethod
    def placements(self) -> tuple[str, ...]:
        """The placements the source equips."""

    @property
    @abstractmethod
    def rate_hz(self) -> float:
        """The sample rate live fusion should assume (the highest of the kit)."""

    @property
    def kit(self) -> Kit | None:
        """The kit file behind the source, if any (nominal mountings for live fusion)."""
        return None

    @abstractmethod
    def open(
        self, *, on_close: CloseHook, repeat: bool
    ) -> AbstractAsyncContextManager[SourceSetup]:
        """An async context manager yielding the ``SourceSetup``; ``on_close`` runs before
        the source's own resources go (the session's links must close first). ``repeat``:
        a scripted source replays its script when it ends instead of falling silent."""


class KitSource(SensorSource):
    """Real sensors named by a kit file, reached through the platform's Bluetooth."""

    def __init__(self, kit_path: Path) -> None:
        self.kit_path = Path(kit_path)
        self._kit: Kit | None = None

    @property
    def kit(self) -> Kit:
        if self._kit is None:
            self._kit = load_kit(self.kit_path)  # a bad kit file fails here, clearly
        return self._kit

    @property
    def placements(self) -> tuple[str, ...]:
        return tuple(device.placement for device in self.kit.devices)

    @property
    def rate_hz(self) -> float:
        rates = rates_from_kit(self.kit)
        return max(rates.values()) if rates else 100.0

    @asynccontextmanager
    async def _open(self) -> AsyncIterator[SourceSetup]:
        yield SourceSetup(devices_from_kit(self.kit), rates_from_kit(self.kit))

    def open(
        self, *, on_close: CloseHook, repeat: bool
    ) -> AbstractAsyncContextManager[SourceSetup]:
        return self._open()
