"""Pure packet decoders: ``bytes -> DecodedPacket`` for every sensor family.

The decoders themselves live with their family classes in ``hipscope.acquisition.families``;
this module is the entry point the link and the tools use. A decoder is built once per
device from its ``SensorProfile`` (``decoder_for``) and then called on every notification.
It does no I/O, keeps no state and raises ``DecodeError`` for anything that does not match
the layout — nothing else, ever. The caller counts and drops such packets.

Two families split one set of samples over several notifications: MbientLab MetaMotion
(accelerometer and gyroscope in separate packets) and Movesense (a data packet continued
by a second one). For them ``assembler_for`` returns a small stateful ``PacketAssembler``
per device that joins the parts. Every family has an assembler, so link code can always
write::

    assembler = assembler_for(profile, rate_hz)
    packet = assembler.feed(data)        # DecodedPacket, or None while waiting for a part
"""

from __future__ import annotations

from hipscope.acquisition.families import family_of
from hipscope.acquisition.families.metamotion import (
    MetaMotionAssembler,
    MetaMotionPart,
)
from hipscope.acquisition.families.metamotion import (
    part_decoder as metamotion_part_decoder,
)
from hipscope.acquisition.families.movesense import MovesenseAssembler
from hipscope.acquisition.families.packets import (
    DecodedPacket,
    Decoder,
    PacketAssembler,
    guarded,
)
from hipscope.acquisition.profiles import SensorProfile
from hipscope.base.errors import ProfileError

__all__ = [
    "DecodedPacket",
    "Decoder",
    "MetaMotionAssembler",
    "MetaMotionPart",
    "MovesenseAssembler",
    "PacketAssembler",
    "assembler_for",
    "decoder_for",
    "metamotion_part_decoder",
]


def _rate(profile: SensorProfile, rate_hz: float | None) -> float:
    rate = profile.default_rate_hz if rate_hz is None else float(rate_hz)
    if not rate > 0:
        raise ProfileError(f"{profile.source.name}: rate must be positive, got {rate_hz}")
    return rate


def decoder_for(profile: SensorProfile, rate_hz: float | None = None) -> Decoder:
    """The pure decoder of one family at a nominal rate (default: the profile's default).

    ``rate_hz`` is used only where a packet carries one timestamp for several samples and
    no sample period (Movesense). MetaMotion needs pairing: use ``assembler_for``. For
    Movesense this decodes joined packets only; use ``assembler_for`` on live notifications.
    """
    rate = _rate(profile, rate_hz)
    return guarded(profile.id, family_of(profile).decoder(profile, rate))


def assembler_for(profile: SensorProfile, rate_hz: float | None = None) -> PacketAssembler:
    """A fresh per-device assembler for live notifications of any family."""
    return family_of(profile).assembler(profile, _rate(profile, rate_hz))
