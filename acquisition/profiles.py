"""Sensor profiles: the validated contents of ``firmware_configs/<id>.toml``.

A profile says how to recognise a device (advertised name prefixes, services and
manufacturer company IDs), which characteristics carry data and commands, which bytes
start/stop streaming and set the rate, what the device puts in its packets (timestamps,
counters, magnetometer) and the packet layout. Its ``family`` names the class in
``hipscope.acquisition.families`` that decodes it; that class also checks the profile's
``[params]`` and whatever its decoder needs.

The common schema is a set of pydantic models; every problem raises ``ProfileError``
naming the file and the key, e.g.
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
import math
import os
import re
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Annotated, Any

import numpy as np
from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

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
_HEX_RE = re.compile(rf"^(?:[0-9a-fA-F]{{2}}|{_PLACEHOLDER_RE})*$")


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


# ------------------------------------------------------------------------------ the schema


def _uuid_text(value: str) -> str:
    try:
        return normalize_uuid(value)
    except (ValueError, AttributeError):
        raise ValueError(f"expected a UUID, got {value!r}") from None


UuidText = Annotated[str, AfterValidator(_uuid_text)]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)


class FieldModel(_Model):
    offset: int = Field(ge=0)
    dtype: str
    count: int = Field(default=1, ge=1)
    scale: float = 1.0
    scale_field: str | None = None
    unit: str = ""
    expect: int | None = None

    @field_validator("dtype")
    @classmethod
    def _dtype(cls, text: str) -> str:
        try:
            dtype = np.dtype(text)
        except TypeError:
            raise ValueError(f"expected a numpy dtype such as '<i2', got {text!r}") from None
        if dtype.kind not in "iuf" or dtype.shape:
            raise ValueError(f"expected an integer or float dtype, got {text!r}")
        if dtype.itemsize > 1 and not text.startswith("<"):
            raise ValueError(f"expected a little-endian dtype ('<' prefix), got {text!r}")
        return dtype.str

    @field_validator("scale")
    @classmethod
    def _scale(cls, value: float) -> float:
        if not math.isfinite(value) or value == 0.0:
            raise ValueError(f"expected a finite non-zero number, got {value}")
        return value


class LayoutModel(_Model):
    header_size: int = Field(default=0, ge=0)
    sample_size: int = Field(ge=1)
    samples_per_packet: int = Field(default=0, ge=0)
    packet_sizes: list[Annotated[int, Field(gt=0)]] = []
    header: dict[str, FieldModel] = {}
    sample: dict[str, FieldModel]
    count_field: str | None = None
    time_field: str | None = None
    counter_field: str | None = None
    period_field: str | None = None
    period_scale_s: float = 0.0
    frame_sync: str = ""

    @field_validator("frame_sync")
    @classmethod
    def _sync(cls, text: str) -> str:
        try:
            bytes.fromhex(text)
        except ValueError:
            raise ValueError(f"expected hex bytes, got {text!r}") from None
        return text


class WriteModel(_Model):
    char: str = "control"
    hex: str
    wait_s: float = Field(default=0.0, ge=0.0, le=5.0)

    @field_validator("hex")
    @classmethod
    def _hex(cls, value: str) -> str:
        text = value.replace(" ", "")
        if not _HEX_RE.fullmatch(text):
            raise ValueError(
                "expected hex bytes with optional {rate_u8}, {rate_u16le}, {rate_code}, "
                f"{{rate_code_<table>}}, got {text!r}"
            )
        return text


class ControlModel(BaseModel):
    model_config = ConfigDict(extra="allow", strict=True, frozen=True)

    start: list[WriteModel] = []
    stop: list[WriteModel] = []
    set_rate: list[WriteModel] = []

    @model_validator(mode="before")
    @classmethod
    def _code_tables(cls, data: Any) -> Any:
        if not isinstance(data, dict):
            return data
        for key, value in data.items():
            if key in ("start", "stop", "set_rate"):
                continue
            if not re.fullmatch(r"rate_codes(?:_[a-z0-9]+)?", key):
                raise ValueError(
                    f"[{key}] unknown key (expected start, stop, set_rate, rate_codes, "
                    "rate_codes_<table>)"
                )
            if not isinstance(value, dict):
                raise ValueError(f"[{key}] expected a table rate_hz -> hex, got {value!r}")
            for rate_text, code in value.items():
                if not (
                    rate_text.isdigit()
                    and isinstance(code, str)
                    and re.fullmatch(r"(?:[0-9a-fA-F]{2})+", code)
                ):
                    raise ValueError(
                        f'[{key}.{rate_text}] expected "<integer Hz>" = "<hex>", got {code!r}'
                    )
        return data

    def tables(self) -> dict[str, dict[int, str]]:
        """Placeholder name (``rate_code``, ``rate_code_gyr``) -> {Hz: hex}."""
        out: dict[str, dict[int, str]] = {}
        for key, value in (self.model_extra or {}).items():
            out["rate_code" + key[len("rate_codes") :]] = {int(k): v for k, v in value.items()}
        return out


class TimingModel(_Model):
    device_time: bool
    time_unit_s: float = 0.0
    time_wrap_bits: int = 0
    counter: bool
    counter_bits: int = 0


class VariantModel(_Model):
    control: ControlModel | None = None
    params: dict[str, Any] = {}


class ProfileModel(_Model):
    id: str = Field(pattern=r"^[a-z0-9_]{1,64}$")
    name: str
    notes: str = ""
    family: str = "layout"
    name_prefixes: list[Annotated[str, Field(min_length=1)]]
    service_uuid: UuidText
    advertised_services: list[UuidText] = []
    company_ids: list[Annotated[int, Field(ge=0, le=0xFFFF)]] = []
    characteristics: dict[str, UuidText]
    has_mag: bool
    rates_hz: list[Annotated[float, Field(gt=0)]] = Field(min_length=1)
    default_rate_hz: float
    control: ControlModel = ControlModel()
    timing: TimingModel
    layout: LayoutModel
    params: dict[str, Any] = {}
    variants: dict[str, VariantModel] = {}


_KIND_TEXT = {
    "int_type": "expected an integer",
    "float_type": "expected a number",
    "bool_type": "expected true or false",
    "string_type": "expected a string",
    "list_type": "expected an array",
    "dict_type": "expected a table",
    "model_type": "expected a table",
    "extra_forbidden": "unknown key",
    "missing": "missing",
}


def _loc_text(loc: Iterable[int | str]) -> str:
    text = ""
    for part in loc:
        if isinstance(part, int):
            text += f"[{part}]"
        else:
            text += f".{part}" if text else str(part)
    return text


def validation_message(filename: str, error: ValidationError) -> str:
    """The first pydantic error as ``file: dotted.key: problem, got value``."""
    first = error.errors(include_url=False)[0]
    loc = [p for p in first["loc"] if not (isinstance(p, str) and p.startswith("function-"))]
    kind = first["type"]
    message = str(first["msg"])
    if kind == "value_error":
        message = message.removeprefix("Value error, ")
        keyed = re.fullmatch(r"\[(?P<key>[^\]]+)\] (?P<rest>.*)", message, re.S)
        if keyed:  # a table-level validator names the key inside its table
            loc = [*loc, keyed["key"]]
            message = keyed["rest"]
    elif kind in _KIND_TEXT:
        message = _KIND_TEXT[kind]
        if kind not in ("missing", "extra_forbidden"):
            message += f", got {first['input']!r}"
    elif "input" in first:
        message = f"{message[0].lower()}{message[1:]}, got {first['input']!r}"
    where = _loc_text(loc)
    return f"{filename}: {where}: {message}" if where else f"{filename}: {message}"


def _field_spec(name: str, m: FieldModel) -> FieldSpec:
    return FieldSpec(
        name=name,
        offset=m.offset,
        dtype=m.dtype,
        count=m.count,
        scale=m.scale,
        scale_field=m.scale_field,
        unit=m.unit,
        expect=m.expect,
    )


def _writes(m: ControlModel) -> dict[str, tuple[ControlWrite, ...]]:
    out: dict[str, tuple[ControlWrite, ...]] = {}
    for action in ("start", "stop", "set_rate"):
        if action in m.model_fields_set:
            out[action] = tuple(ControlWrite(w.char, w.hex, w.wait_s) for w in getattr(m, action))
    return out


class _Checker:
    """Cross-field checks after the schema, with errors naming the file and key."""

    def __init__(self, filename: str) -> None:
        self.filename = filename

    def fail(self, key: str, problem: str) -> ProfileError:
        return ProfileError(f"{self.filename}: {key}: {problem}")

    def layout(self, m: LayoutModel) -> Layout:
        header = {n: _field_spec(n, f) for n, f in m.header.items()}
        sample = {n: _field_spec(n, f) for n, f in m.sample.items()}
        for name, spec in header.items():
            if spec.offset + spec.size > m.header_size:
                raise self.fail(
                    f"layout.header.{name}.offset",
                    f"field ends at byte {spec.offset + spec.size}, "
                    f"beyond header_size {m.header_size}",
                )
        for name, spec in sample.items():
            key = f"layout.sample.{name}"
            if spec.offset + spec.size > m.sample_size:
                raise self.fail(
                    f"{key}.offset",
                    f"field ends at byte {spec.offset + spec.size}, "
                    f"beyond sample_size {m.sample_size}",
                )
            if spec.scale_field is not None and spec.scale_field not in header:
                raise self.fail(
                    f"{key}.scale_field",
                    f"expected the name of a header field, got {spec.scale_field!r}",
                )
            if name in VECTOR_FIELDS:
                if spec.count != 3:
                    raise self.fail(
                        f"{key}.count", f"expected 3 for a vector field, got {spec.count}"
                    )
                if spec.unit != VECTOR_FIELDS[name]:
                    raise self.fail(
                        f"{key}.unit",
                        f"expected {VECTOR_FIELDS[name]!r} after scaling, got {spec.unit!r}",
                    )
        for name in ("acc", "gyr"):
            if name not in sample:
                raise self.fail(
                    f"layout.sample.{name}", "missing (every profile delivers acc and gyr)"
                )
        for key in ("count_field", "time_field", "counter_field", "period_field"):
            ref = getattr(m, key)
            if ref is not None and ref not in header:
                raise self.fail(
                    f"layout.{key}", f"expected the name of a header field, got {ref!r}"
                )
        if m.period_field is not None and m.period_scale_s <= 0.0:
            raise self.fail(
                "layout.period_scale_s", "expected a positive number when period_field is set"
            )
        return Layout(
            header_size=m.header_size,
            sample_size=m.sample_size,
            samples_per_packet=m.samples_per_packet,
            packet_sizes=tuple(m.packet_sizes),
            header=header,
            sample=sample,
            count_field=m.count_field,
            time_field=m.time_field,
            counter_field=m.counter_field,
            period_field=m.period_field,
            period_scale_s=m.period_scale_s,
            frame_sync=bytes.fromhex(m.frame_sync),
        )

    def control(
        self, m: ControlModel, chars: Mapping[str, str], rates: tuple[float, ...], path: str
    ) -> tuple[dict[str, tuple[ControlWrite, ...]], dict[str, dict[int, str]]]:
        writes = _writes(m)
        tables = m.tables()
        for action, items in writes.items():
            for i, w in enumerate(items):
                if w.char not in chars:
                    raise self.fail(
                        f"{path}.{action}[{i}].char",
                        f"expected one of {', '.join(sorted(chars))}, got {w.char!r}",
                    )
                for token in re.findall(r"\{(rate_code(?:_[a-z0-9]+)?)\}", w.hex):
                    table = tables.get(token)
                    key = "rate_codes" + token[len("rate_code") :]
                    if table is None:
                        raise self.fail(
                            f"{path}.{key}", f"missing (control.{action} uses {{{token}}})"
                        )
                    missing = [f"{x:g}" for x in rates if round(x) not in table]
                    if missing:
                        raise self.fail(
                            f"{path}.{key}", f"missing codes for rates {', '.join(missing)}"
                        )
        return writes, tables

    def timing(self, m: TimingModel) -> Timing:
        timing = Timing(
            device_time=m.device_time,
            time_unit_s=m.time_unit_s,
            time_wrap_bits=m.time_wrap_bits,
            counter=m.counter,
            counter_bits=m.counter_bits,
        )
        if timing.device_time and not (timing.time_unit_s > 0 and 8 <= timing.time_wrap_bits <= 64):
            raise self.fail(
                "timing", "device_time needs time_unit_s > 0 and time_wrap_bits in 8..64"
            )
        if timing.counter and not 1 <= timing.counter_bits <= 32:
            raise self.fail(
                "timing.counter_bits",
                f"expected 1..32 with counter = true, got {timing.counter_bits}",
            )
        return timing


def parse_profile(data: Mapping[str, Any], source: Path) -> SensorProfile:
    """Validate a parsed profile table (``source`` names the file in error messages)."""
    from hipscope.acquisition.families import get_family, registered_families

    filename = source.name
    try:
        m = ProfileModel.model_validate(dict(data))
    except ValidationError as error:
        raise ProfileError(validation_message(filename, error)) from None
    c = _Checker(filename)
    if "data" not in m.characteristics:
        raise c.fail("characteristics.data", "missing (the notify characteristic carrying samples)")
    rates_hz = tuple(float(x) for x in m.rates_hz)
    if m.default_rate_hz not in rates_hz:
        raise c.fail(
            "default_rate_hz",
            f"expected one of rates_hz {[f'{r:g}' for r in rates_hz]}, got {m.default_rate_hz:g}",
        )
    control, tables = c.control(m.control, m.characteristics, rates_hz, "control")
    variants: dict[str, Variant] = {}
    for name, vm in m.variants.items():
        v_control, v_tables = (None, None)
        if vm.control is not None:
            v_control, v_tables = c.control(
                vm.control, m.characteristics, rates_hz, f"variants.{name}.control"
            )
        variants[name] = Variant(v_control, v_tables, dict(vm.params))
    try:
        family = get_family(m.family)
    except ProfileError:
        known = ", ".join(registered_families())
        raise c.fail("family", f"expected one of {known}, got {m.family!r}") from None
    profile = SensorProfile(
        id=m.id,
        name=m.name,
        source=source,
        name_prefixes=tuple(m.name_prefixes),
        service_uuid=m.service_uuid,
        characteristics=dict(m.characteristics),
        control=control,
        rate_codes=tables.get("rate_code", {}),
        rates_hz=rates_hz,
        default_rate_hz=float(m.default_rate_hz),
        timing=c.timing(m.timing),
        has_mag=m.has_mag,
        layout=c.layout(m.layout),
        family=m.family,
        params=dict(m.params),
        notes=m.notes,
        advertised_services=tuple(m.advertised_services),
        company_ids=tuple(m.company_ids),
        codes=tables,
        variants=variants,
    )
    family.check_profile(profile)
    for name in variants:
        family.check_profile(profile.with_variant(name))
    return profile


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
