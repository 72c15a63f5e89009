"""Sensor families: one class per family, found by name in one registry.

This follows bleak's backend pattern: the rest of hipscope asks the registry for the class
named by a profile's ``family`` key and talks to it through ``SensorFamily`` only. A family
class owns

- the checks of its profile beyond the common schema (``check``, ``params_model``,
  ``header_needs``/``sample_needs``),
- the decoder of one notification (``decoder``) or, where a set of samples spans several
  notifications, a per-device assembler (``assembler``),
- optionally, the encoder a virtual sensor speaks (``encoder``), derived from the same
  profile (so the TOML is the only description of the bytes),
- anything to do right after connecting (``prepare``, e.g. reading the board model).

Adding a family: a module with a ``SensorFamily`` subclass decorated with ``@register``,
listed in ``BUILTIN_MODULES`` (or imported by the user before loading a profile), and a
profile TOML that names it with ``family = "<name>"``. See docs/DESIGN.md section 7.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, ClassVar, TypeVar

from pydantic import BaseModel, ConfigDict, ValidationError

from hipscope.acquisition.families.packets import (
    DecodedPacket,
    Decoder,
    PacketAssembler,
    PacketEncoder,
    guarded,
)
from hipscope.base.errors import ProfileError

if TYPE_CHECKING:
    from hipscope.acquisition.profiles import SensorProfile

__all__ = [
    "BUILTIN_MODULES",
    "DecodedPacket",
    "Decoder",
    "PacketAssembler",
    "PacketEncoder",
    "SensorFamily",
    "family_of",
    "get_family",
    "register",
    "registered_families",
]

BUILTIN_MODULES: tuple[str, ...] = (
    "layout",
    "hipscope_open",
    "movella_dot",
    "witmotion",
    "metamotion",
    "movesense",
    "thingy52",
)
"""Modules of ``hipscope.acquisition.families`` that register the built-in families."""


class NoParams(BaseModel):
    """A family without ``[params]``: any key there is refused."""

    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)


class SensorFamily:
    """Base class of a sensor family (subclass, set ``name``, decorate with ``@register``)."""

    name: ClassVar[str] = ""
    params_model: ClassVar[type[BaseModel]] = NoParams
    header_needs: ClassVar[tuple[str, ...]] = ()
    """Header fields the decoder reads (checked when a profile loads)."""
    sample_needs: ClassVar[tuple[str, ...]] = ()
    """Sample fields the decoder reads (checked when a profile loads)."""

    # -- validation ----------------------------------------------------------------------
    def check_profile(self, profile: SensorProfile) -> None:
        """Refuse a profile this family cannot decode (``ProfileError`` naming file and key)."""
        self.params(profile)
        for name in self.header_needs:
            if name not in profile.layout.header:
                raise self.fail(
                    profile, f"layout.header.{name}", f"missing (the {self.name} decoder reads it)"
                )
        for name in self.sample_needs:
            if name not in profile.layout.sample:
                raise self.fail(
                    profile, f"layout.sample.{name}", f"missing (the {self.name} decoder reads it)"
                )
        self.check(profile)

    def check(self, profile: SensorProfile) -> None:
        """Family-specific checks beyond params and needed fields (override)."""

    def params(self, profile: SensorProfile) -> Any:
        """The profile's ``[params]`` validated by ``params_model``."""
        try:
            return self.params_model.model_validate(profile.params)
        except ValidationError as error:
            from hipscope.acquisition.profile_schema import validation_message

            message = validation_message(profile.source.name, error)
            prefix = f"{profile.source.name}: "
            where = f" (variant {profile.variant})" if profile.variant else ""
            raise ProfileError(f"{prefix}params.{message[len(prefix) :]}{where}") from None

    @staticmethod
    def fail(profile: SensorProfile, key: str, problem: str) -> ProfileError:
        return ProfileError(f"{profile.source.name}: {key}: {problem}")

    # -- decoding ------------------------------------------------------------------------
    def decoder(self, profile: SensorProfile, rate_hz: float) -> Callable[[bytes], DecodedPacket]:
        """The pure decoder of one notification (unguarded; ``decoder_for`` guards it)."""
        raise ProfileError(
            f"{profile.source.name}: the {self.name} family joins several notifications; "
            "use assembler_for(profile)"
        )

    def assembler(self, profile: SensorProfile, rate_hz: float) -> PacketAssembler:
        """A fresh per-device assembler for live notifications."""
        return PacketAssembler(guarded(profile.id, self.decoder(profile, rate_hz)))

    # -- virtual sensors -----------------------------------------------------------------
    def encoder(
        self,
        profile: SensorProfile,
        rate_hz: float,
        *,
        samples_per_packet: int | None = None,
        mag: bool = True,
    ) -> PacketEncoder | None:
        """The encoder of a virtual sensor of this family (None: no virtual sensor)."""
        return None

    def virtual_reads(self, profile: SensorProfile) -> Mapping[str, bytes]:
        """Readable characteristics (role -> value) a virtual sensor serves, e.g. a model."""
        return {}

    # -- connecting ----------------------------------------------------------------------
    async def prepare(self, profile: SensorProfile, client: Any) -> SensorProfile:
        """Called once connected, before any write: the profile to use with this device.

        ``client`` is a connected ``bleak.BleakClient``. The default changes nothing.
        """
        return profile


_REGISTRY: dict[str, SensorFamily] = {}
_BUILTINS_LOADED = False

F = TypeVar("F", bound=type[SensorFamily])


def register(cls: F) -> F:
    """Class decorator: make ``cls`` the family named ``cls.name``."""
    if not cls.name:
        raise ProfileError(f"{cls.__name__}: a sensor family needs a name")
    _REGISTRY[cls.name] = cls()
    return cls


def _load_builtins() -> None:
    global _BUILTINS_LOADED
    if not _BUILTINS_LOADED:
        _BUILTINS_LOADED = True
        for module in BUILTIN_MODULES:
            importlib.import_module(f"{__name__}.{module}")


def get_family(name: str) -> SensorFamily:
    """The registered family ``name`` (``ProfileError`` when there is none)."""
    _load_builtins()
    try:
        return _REGISTRY[name]
    except KeyError:
        known = ", ".join(sorted(_REGISTRY))
        raise ProfileError(f"unknown sensor family {name!r} (known: {known})") from None


def registered_families() -> list[str]:
    """Names of every registered family."""
    _load_builtins()
    return sorted(_REGISTRY)


def family_of(profile: SensorProfile) -> SensorFamily:
    """The family class instance that decodes ``profile``."""
    return get_family(profile.family)
