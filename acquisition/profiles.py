"""Sensor profiles: the validated contents of ``firmware_configs/<id>.toml``.

A profile says how to recognise a device (advertised name prefixes, services and
manufacturer company IDs), which characteristics carry data and commands, which bytes
start/stop streaming and set the rate, what the device puts in its packets (timestamps,
counters, magnetometer) and the packet layout. Its ``family`` names the class in
``hipscope.acquisition.families`` that decodes it; that class also checks the profile's
``[params]`` and whatever its decoder needs.

The common schema is a set of pydantic models (``hipscope.acquisition.profile_schema``);
every problem raises ``ProfileError`` naming the file and the key, e.g.
``movella_dot.toml: layout.sample.acc.offset: expected an integer, got 'x'``.

Keys of a profile file (``nordic_thingy52.toml`` is the simplest complete example)::

    id, name, notes                  lower-case id = file name; human name; free text
    family = "layout"                or a registered family (hipscope_open, witmotion, ...)
    name_prefixes = [...]            advertised names that identify the family
    service_uuid                     primary GATT service (16-bit or 128-bit form)
    advertised_services = [...]      services in the advertisement (default: service_uuid)
    company_ids = [0x0886]           Bluetooth SIG company IDs of its manufacturer data
    has_mag, rates_hz, default_rate_hz
    [characteristics]                data = notify UUID (required), control = write UUID, ...
    [control]                        start/stop/set_rate = [{ char = "control", hex = "...",
                                     wait_s = 0.1 }]; hex may hold {rate_u8}, {rate_u16le},
                                     {rate_code} or {rate_code_<table>}
    [control.rate_codes]             "<Hz>" = "<hex>" for {rate_code}
    [control.rate_codes_<table>]     "<Hz>" = "<hex>" for {rate_code_<table>}
    [timing]                         device_time, time_unit_s, time_wrap_bits, counter, counter_bits
    [layout]                         header_size, sample_size, samples_per_packet (0: derived),
                                     packet_sizes, count_field, time_field, counter_field,
                                     period_field, period_scale_s, frame_sync
    [layout.header.<field>]          offset, dtype ("u1", "<u4", ...), expect
    [layout.sample.<field>]          offset, dtype, count, scale, scale_field, unit
                                     acc (m/s2), gyr (rad/s), mag (uT) become the vectors; a
                                     field "time" (scaled to s) or "counter" is per-sample
                                     timing; any other field goes to DecodedPacket.extra
    [params]                         settings of the family (checked by its class)
    [variants.<name>]                control and params replacing the defaults for a hardware
                                     variant the family detects after connecting

Profiles load by NAME: the package's own (``hipscope.firmware_configs``) or ``<name>.toml``
in the folder named by the environment variable ``HIPSCOPE_PROFILE_DIR``. Paths are never
taken from a kit; only regular files up to 256 kB are read.
"""

from __future__ import annotations

import dataclasses
import os
import re
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np

from hipscope.acquisition.tomlfile import read_toml
from hipscope.base.errors import ProfileError

PROFILE_DIR: Path = Path(str(resources.files("hipscope.firmware_configs")))
"""Where the built-in profiles live: the installed ``hipscope.firmware_configs`` package
(``firmware_configs/`` at the repository top)."""

PROFILE_DIR_ENV = "HIPSCOPE_PROFILE_DIR"
"""Environment variable naming a folder of additional ``<name>.toml`` profiles."""

VECTOR_FIELDS: dict[str, str] = {"acc": "m/s2", "gyr": "rad/s", "mag": "uT"}
"""Sample fields that become acc_m_s2 / gyr_rad_s / mag_ut, with their SI unit after scaling."""

_NOT_PROFILES = {"example_kit.toml"}
_NAME_RE = re.compile(r"[a-z0-9_]{1,64}")
_PLACEHOLDER_RE = r"\{rate_u8\}|\{rate_u16le\}|\{rate_code(?:_[a-z0-9]+)?\}"
HEX_RE = re.compile(rf"^(?:[0-9a-fA-F]{{2}}|{_PLACEHOLDER_RE})*$")


def normalize_uuid(value: str) -> str:
    """Lower-case canonical 128-bit form; 16/32-bit short forms expand on the SIG base UUID."""
    text = value.strip().lower()
    if text.startswith("0x"):
        text = text[2:]
    if re.fullmatch(r"[0-9a-f]{4}|[0-9a-f]{8}", text):
        return f"{int(text, 16):08x}-0000-1000-8000-00805f9b34fb"
    return str(uuid.UUID(text))


def uuid_bytes(value: str) -> bytes:
    """The 16 bytes of a UUID (big-endian, as written), for comparisons independent of spelling."""
    return uuid.UUID(normalize_uuid(value)).bytes


# ------------------------------------------------------------------------- runtime objects


@dataclass(frozen=True)
class FieldSpec:
    """One field in a packet: ``count`` values of ``dtype`` at ``offset`` (bytes).

    ``value_SI = raw * scale`` (times the header field ``scale_field`` when given, e.g. a
    full-scale range carried in the packet header). ``unit`` is the unit after scaling.
    ``expect`` (header fields only) is the value a valid packet must carry.
    """

    name: str
    offset: int
    dtype: str
    count: int = 1
    scale: float = 1.0
    scale_field: str | None = None
    unit: str = ""
    expect: int | None = None

    @property
    def size(self) -> int:
        return int(np.dtype(self.dtype).itemsize) * self.count


@dataclass(frozen=True)
class Layout:
    """Byte layout of a data packet (all multi-byte values little-endian).

    ``samples_per_packet == 0`` means the count comes from ``count_field`` in the header
    or, without one, from ``(len(packet) - header_size) / sample_size``.
    ``packet_sizes`` (optional) lists every allowed packet length (for fixed-size packets
    padded by the device). ``time_field``/``counter_field`` name a header field holding the
    first sample's timestamp/counter (then per-sample values step by ``period_field`` or the
    nominal period / by one); a per-sample field named ``time``/``counter`` is used otherwise.
    ``frame_sync`` (hex) marks the start of each frame for decoders that re-synchronise.
    """

    header_size: int = 0
    sample_size: int = 0
    samples_per_packet: int = 0
    packet_sizes: tuple[int, ...] = ()
    header: dict[str, FieldSpec] = field(default_factory=dict)
    sample: dict[str, FieldSpec] = field(default_factory=dict)
    count_field: str | None = None
    time_field: str | None = None
    counter_field: str | None = None
    period_field: str | None = None
    period_scale_s: float = 0.0
    frame_sync: bytes = b""


@dataclass(frozen=True)
class ControlWrite:
    """One GATT write: ``hex`` (with placeholders) to the characteristic named ``char``,
    followed by a pause of ``wait_s`` before the next write (devices that need time to
    apply a register, e.g. WitMotion)."""

    char: str
    hex: str
    wait_s: float = 0.0

    def payload(self, rate_hz: float, codes: Mapping[str, Mapping[int, str]]) -> bytes:
        """The bytes for a given rate, with {rate_u8}, {rate_u16le} and {rate_code...} filled in.

        ``codes`` maps a placeholder name (``rate_code``, ``rate_code_gyr``) to its table.
        """
        text = self.hex
        rate = round(rate_hz)
        for name, table in codes.items():
            token = "{" + name + "}"
            if token in text:
                if rate not in table:
                    raise ProfileError(f"no {name} for {rate_hz:g} Hz (known: {sorted(table)})")
                text = text.replace(token, table[rate])
        if "{rate_u8}" in text:
            if not 0 <= rate <= 0xFF:
                raise ProfileError(f"rate {rate_hz:g} Hz does not fit in one byte")
            text = text.replace("{rate_u8}", f"{rate:02x}")
        if "{rate_u16le}" in text:
            if not 0 <= rate <= 0xFFFF:
                raise ProfileError(f"rate {rate_hz:g} Hz does not fit in two bytes")
            text = text.replace("{rate_u16le}", rate.to_bytes(2, "little").hex())
        if "{" in text:
            raise ProfileError(f"no code table for {text[text.index('{') :].split('}')[0]}}}")
        return bytes.fromhex(text)


@dataclass(frozen=True)
class WriteStep:
    """A resolved control write: bytes for one characteristic, then a pause (seconds)."""

    char_uuid: str
    payload: bytes
    wait_s: float = 0.0


@dataclass(frozen=True)
class Timing:
    """What the device tells about time: timestamp unit and wrap, counter wrap."""

    device_time: bool = False
    time_unit_s: float = 0.0
    time_wrap_bits: int = 0
    counter: bool = False
    counter_bits: int = 0

    @property
    def time_wrap_s(self) -> float | None:
        """Period after which the device timestamp rolls over (None: no timestamp)."""
        if not self.device_time:
            return None
        return float(2**self.time_wrap_bits) * self.time_unit_s


@dataclass(frozen=True)
class Variant:
    """Control writes and params that replace the defaults on one hardware variant."""

    control: dict[str, tuple[ControlWrite, ...]] | None
    codes: dict[str, dict[int, str]] | None
    params: dict[str, Any]


@dataclass(frozen=True)
class SensorProfile:
    """A sensor family as declared in ``firmware_configs/<id>.toml``.

    UUIDs are stored normalised (lower case, 128-bit). ``characteristics`` maps role names
    (``data`` for the notify characteristic, ``control`` for commands, others such as
    ``config``) to UUIDs; ``control`` actions (``start``, ``stop``, ``set_rate``) are lists
    of writes sent in order. ``params`` holds family-specific settings; ``variant`` names
    the hardware variant applied (``with_variant``), empty for the defaults.
    """

    id: str
    name: str
    source: Path
    name_prefixes: tuple[str, ...]
    service_uuid: str
    characteristics: dict[str, str]
    control: dict[str, tuple[ControlWrite, ...]]
    rate_codes: dict[int, str]
    rates_hz: tuple[float, ...]
    default_rate_hz: float
    timing: Timing
    has_mag: bool
    layout: Layout
    family: str = "layout"
    params: dict[str, Any] = field(default_factory=dict)
    notes: str = ""
    advertised_services: tuple[str, ...] = ()
    company_ids: tuple[int, ...] = ()
    codes: dict[str, dict[int, str]] = field(default_factory=dict)
    variants: dict[str, Variant] = field(default_factory=dict)
    variant: str = ""

    @property
    def data_uuid(self) -> str:
        """The notify characteristic that carries the samples."""
        return self.characteristics["data"]

    @property
    def control_uuid(self) -> str | None:
        """The characteristic commands are written to (None if the family has none)."""
        return self.characteristics.get("control")

    def with_variant(self, name: str) -> SensorProfile:
        """This profile with the control writes and params of hardware variant ``name``."""
        if name not in self.variants:
            known = ", ".join(sorted(self.variants)) or "none"
            raise ProfileError(f"{self.source.name}: no variant {name!r} (known: {known})")
        v = self.variants[name]
        return dataclasses.replace(
            self,
            control=v.control if v.control is not None else self.control,
            codes=v.codes if v.codes is not None else self.codes,
            rate_codes=(v.codes or self.codes).get("rate_code", {}),
            params={**self.params, **v.params},
            variant=name,
        )

    def write_steps(self, action: str, rate_hz: float | None = None) -> list[WriteStep]:
        """The writes of one control action, in order, each with its pause.

        ``action`` is ``start``, ``stop`` or ``set_rate``; an action the family does not
        need (e.g. WitMotion streams on subscribe) gives an empty list.
        """
        if action not in ("start", "stop", "set_rate"):
            raise ProfileError(f"{self.source.name}: unknown control action {action!r}")
        rate = self.default_rate_hz if rate_hz is None else float(rate_hz)
        if action != "stop" and rate not in self.rates_hz:
            raise ProfileError(
                f"{self.source.name}: rate {rate:g} Hz is not supported "
                f"(supported: {', '.join(f'{r:g}' for r in self.rates_hz)})"
            )
        try:
            return [
                WriteStep(self.characteristics[w.char], w.payload(rate, self.codes), w.wait_s)
                for w in self.control.get(action, ())
            ]
        except ProfileError as error:
            raise ProfileError(f"{self.source.name}: control.{action}: {error}") from None

    def writes(self, action: str, rate_hz: float | None = None) -> list[tuple[str, bytes]]:
        """The ``(characteristic UUID, bytes)`` writes of one control action, in order."""
        return [(s.char_uuid, s.payload) for s in self.write_steps(action, rate_hz)]

    def match_score(
        self,
        device_name: str | None,
        service_uuids: Iterable[str] = (),
        manufacturer_data: Mapping[int, bytes] | None = None,
    ) -> int:
        """How strongly an advertisement says "this family" (0: not at all).

        A manufacturer company ID or an advertised service counts more than a name prefix
        (users rename devices); within names, a longer prefix counts more.
        """
        score = 0
        wanted = {uuid_bytes(u) for u in (self.advertised_services or (self.service_uuid,))}
        for text in service_uuids:
            try:
                if uuid_bytes(text) in wanted:
                    score = max(score, 2000)
            except ValueError:
                continue
        if manufacturer_data and any(cid in manufacturer_data for cid in self.company_ids):
            score = max(score, 1000) + 1000
        name = (device_name or "").strip()
        prefix = max((len(p) for p in self.name_prefixes if name.startswith(p)), default=0)
        return score + prefix

    def matches(
        self,
        device_name: str | None,
        service_uuids: Iterable[str] = (),
        manufacturer_data: Mapping[int, bytes] | None = None,
    ) -> bool:
        """True when the advertisement identifies this family (see ``match_score``)."""
        return self.match_score(device_name, service_uuids, manufacturer_data) > 0


def parse_profile(data: Mapping[str, Any], source: Path) -> SensorProfile:
    """Validate a parsed profile table (``source`` names the file in error messages)."""
    from hipscope.acquisition.profile_schema import parse_profile as parse

    return parse(data, source)


# ----------------------------------------------------------------------------------- loading


def user_profile_dir() -> Path | None:
    """The folder named by ``HIPSCOPE_PROFILE_DIR`` (None when unset or empty)."""
    text = os.environ.get(PROFILE_DIR_ENV, "").strip()
    return Path(text).expanduser() if text else None


def _builtin_ids() -> list[str]:
    return [p.stem for p in sorted(PROFILE_DIR.glob("*.toml")) if p.name not in _NOT_PROFILES]


def _user_ids() -> list[str]:
    folder = user_profile_dir()
    if folder is None or not folder.is_dir():
        return []
    return [p.stem for p in sorted(folder.glob("*.toml")) if _NAME_RE.fullmatch(p.stem)]


def profile_names() -> list[str]:
    """Every profile name that ``load_profile`` resolves (built-in first)."""
    builtin = _builtin_ids()
    return builtin + [n for n in _user_ids() if n not in builtin]


def load_profile(name: str | Path) -> SensorProfile:
    """A profile by NAME (``"movella_dot"``), or a profile file given as a ``Path``.

    A name resolves to the package's own ``<name>.toml`` or, failing that, to
    ``$HIPSCOPE_PROFILE_DIR/<name>.toml``. Strings are never taken as paths, so a kit's
    ``profile = "../../etc/passwd"`` is refused rather than opened.
    """
    if isinstance(name, Path):
        return _load_file(name)
    text = str(name)
    if not _NAME_RE.fullmatch(text):
        raise ProfileError(
            f"{text!r} is not a profile name (lower-case letters, digits and '_', "
            "e.g. 'movella_dot'; paths are not accepted)"
        )
    if text in _builtin_ids():
        return _load_builtin(text)
    folder = user_profile_dir()
    if folder is not None:
        path = folder / f"{text}.toml"
        if path.exists() or path.is_symlink():
            profile = _load_file(path)
            if profile.id != text:
                raise ProfileError(
                    f"{path.name}: id: expected {text!r} (the file name), got {profile.id!r}"
                )
            return profile
    known = ", ".join(profile_names())
    where = f" or {PROFILE_DIR_ENV}={folder}" if folder is not None else ""
    raise ProfileError(f"unknown sensor profile {text!r} (known: {known}{where})")


@cache
def _load_builtin(name: str) -> SensorProfile:
    profile = _load_file(PROFILE_DIR / f"{name}.toml")
    if profile.id != name:
        raise ProfileError(
            f"{name}.toml: id: expected {name!r} (the file name), got {profile.id!r}"
        )
    return profile


def _load_file(path: Path) -> SensorProfile:
    data = read_toml(path, what="profile", error=ProfileError)
    return parse_profile(data, path)


def load_profiles() -> dict[str, SensorProfile]:
    """Every built-in profile, by id."""
    return {pid: load_profile(pid) for pid in _builtin_ids()}


def match_profile(
    device_name: str | None,
    service_uuids: Iterable[str] = (),
    profiles: Mapping[str, SensorProfile] | None = None,
    manufacturer_data: Mapping[int, bytes] | None = None,
) -> SensorProfile | None:
    """The profile of an advertising device, or None.

    Each family is matched as its vendor does: manufacturer company ID (Movella DOT),
    advertised service (Thingy's configuration service, MetaWear's, ...) and name prefix
    (WitMotion's "WT"). Evidence other than a name wins over a name (users rename devices);
    among name matches the longest prefix wins.
    """
    candidates = list((profiles if profiles is not None else load_profiles()).values())
    uuids = list(service_uuids)
    best: tuple[int, SensorProfile] | None = None
    for profile in candidates:
        score = profile.match_score(device_name, uuids, manufacturer_data)
        if score > 0 and (best is None or score > best[0]):
            best = (score, profile)
    return None if best is None else best[1]
