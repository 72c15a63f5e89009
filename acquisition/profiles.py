"""Sensor family profiles: the validated contents of ``firmware_configs/<id>.toml``.

A profile says how to recognise a device (advertised name prefixes, service UUID), which
characteristics carry data and commands, which bytes start/stop streaming and set the rate,
what the device puts in its packets (timestamps, counters, magnetometer) and the packet
layout (header fields and per-sample fields with offset, little-endian numpy dtype, scale
to SI and unit). ``hipscope.acquisition.decoders`` turns a profile into a packet decoder.

Every problem found while loading raises ``ProfileError`` naming the file and the key, e.g.
``movella_dot.toml: layout.sample.acc.offset: expected an integer, got 'x'``.

Keys of a profile file (``nordic_thingy52.toml`` is the simplest complete example)::

    id, name, notes                  lower-case id = file name; human name; free text
    name_prefixes = [...]            advertised names that identify the family
    service_uuid                     advertised/primary service (16-bit or 128-bit form)
    decoder = "layout"               or hipscope_open | witmotion | metamotion | movesense
    has_mag, rates_hz, default_rate_hz
    [characteristics]                data = notify UUID (required), control = write UUID, ...
    [control]                        start/stop/set_rate = [{ char = "control", hex = "..." }]
                                     hex may hold {rate_u8}, {rate_u16le} or {rate_code}
    [control.rate_codes]             "<Hz>" = "<hex>" for {rate_code}
    [timing]                         device_time, time_unit_s, time_wrap_bits, counter, counter_bits
    [layout]                         header_size, sample_size, samples_per_packet (0: derived),
                                     packet_sizes, count_field, time_field, counter_field,
                                     period_field, period_scale_s, frame_sync
    [layout.header.<field>]          offset, dtype ("u1", "<u4", ...), expect
    [layout.sample.<field>]          offset, dtype, count, scale, scale_field, unit
                                     acc (m/s2), gyr (rad/s), mag (uT) become the vectors; a
                                     field "time" (scaled to s) or "counter" is per-sample
                                     timing; any other field goes to DecodedPacket.extra
    [params]                         settings of a non-declarative decoder
"""

from __future__ import annotations

import re
import tomllib
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np

from hipscope.base.errors import ProfileError

PROFILE_DIR: Path = Path(str(resources.files("hipscope.firmware_configs")))
"""Where the built-in profiles live: the installed ``hipscope.firmware_configs`` package
(``firmware_configs/`` at the repository top)."""

KNOWN_DECODERS: tuple[str, ...] = (
    "layout",
    "hipscope_open",
    "witmotion",
    "metamotion",
    "movesense",
)
"""``layout`` is the declarative decoder; the others handle what a table cannot express."""

VECTOR_FIELDS: dict[str, str] = {"acc": "m/s2", "gyr": "rad/s", "mag": "uT"}
"""Sample fields that become acc_m_s2 / gyr_rad_s / mag_ut, with their SI unit after scaling."""

_NOT_PROFILES = {"example_kit.toml"}
_PLACEHOLDERS = ("{rate_u8}", "{rate_u16le}", "{rate_code}")
_HEX_RE = re.compile(r"^(?:[0-9a-fA-F]{2}|\{rate_u8\}|\{rate_u16le\}|\{rate_code\})*$")


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
    """One GATT write: ``hex`` (with placeholders) to the characteristic named ``char``."""

    char: str
    hex: str

    def payload(self, rate_hz: float, rate_codes: Mapping[int, str]) -> bytes:
        """The bytes for a given rate, with {rate_u8}, {rate_u16le} and {rate_code} filled in."""
        text = self.hex
        rate = round(rate_hz)
        if "{rate_code}" in text:
            if rate not in rate_codes:
                raise ProfileError(f"no rate code for {rate_hz:g} Hz (known: {sorted(rate_codes)})")
            text = text.replace("{rate_code}", rate_codes[rate])
        if "{rate_u8}" in text:
            if not 0 <= rate <= 0xFF:
                raise ProfileError(f"rate {rate_hz:g} Hz does not fit in one byte")
            text = text.replace("{rate_u8}", f"{rate:02x}")
        if "{rate_u16le}" in text:
            if not 0 <= rate <= 0xFFFF:
                raise ProfileError(f"rate {rate_hz:g} Hz does not fit in two bytes")
            text = text.replace("{rate_u16le}", rate.to_bytes(2, "little").hex())
        return bytes.fromhex(text)


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
class SensorProfile:
    """A sensor family as declared in ``firmware_configs/<id>.toml``.

    UUIDs are stored normalised (lower case, 128-bit). ``characteristics`` maps role names
    (``data`` for the notify characteristic, ``control`` for commands, others such as
    ``config``) to UUIDs; ``control`` actions (``start``, ``stop``, ``set_rate``) are lists
    of writes sent in order. ``params`` holds decoder-specific settings.
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
    decoder: str = "layout"
    params: dict[str, Any] = field(default_factory=dict)
    notes: str = ""

    @property
    def data_uuid(self) -> str:
        """The notify characteristic that carries the samples."""
        return self.characteristics["data"]

    @property
    def control_uuid(self) -> str | None:
        """The characteristic commands are written to (None if the family has none)."""
        return self.characteristics.get("control")

    def writes(self, action: str, rate_hz: float | None = None) -> list[tuple[str, bytes]]:
        """The ``(characteristic UUID, bytes)`` writes of one control action, in order.

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
                (self.characteristics[w.char], w.payload(rate, self.rate_codes))
                for w in self.control.get(action, ())
            ]
        except ProfileError as error:
            raise ProfileError(f"{self.source.name}: control.{action}: {error}") from None

    def matches(self, device_name: str | None, service_uuids: Iterable[str] = ()) -> bool:
        """True when the advertised service UUID or a name prefix identifies this family."""
        wanted = uuid_bytes(self.service_uuid)
        for text in service_uuids:
            try:
                if uuid_bytes(text) == wanted:
                    return True
            except ValueError:
                continue
        name = (device_name or "").strip()
        return any(name.startswith(prefix) for prefix in self.name_prefixes)


# ----------------------------------------------------------------------------- validation


class _Reader:
    """Typed access to a parsed TOML table with errors naming the file and dotted key."""

    def __init__(self, filename: str) -> None:
        self.filename = filename

    def fail(self, key: str, problem: str) -> ProfileError:
        return ProfileError(f"{self.filename}: {key}: {problem}")

    def get(
        self,
        table: Mapping[str, Any],
        key: str,
        path: str,
        kind: type | tuple[type, ...],
        default: Any = ...,
        what: str = "",
    ) -> Any:
        full = f"{path}.{key}" if path else key
        if key not in table:
            if default is ...:
                raise self.fail(full, "missing")
            return default
        value = table[key]
        kinds = kind if isinstance(kind, tuple) else (kind,)
        if isinstance(value, bool) and bool not in kinds:
            ok = False
        elif float in kinds and isinstance(value, int) and not isinstance(value, bool):
            value, ok = float(value), True
        else:
            ok = isinstance(value, kinds)
        if not ok:
            expected = what or " or ".join(_KIND_NAMES.get(k, k.__name__) for k in kinds)
            raise self.fail(full, f"expected {expected}, got {value!r}")
        return value

    def uuid(self, table: Mapping[str, Any], key: str, path: str) -> str:
        text = self.get(table, key, path, str, what="a UUID string")
        try:
            return normalize_uuid(text)
        except ValueError:
            full = f"{path}.{key}" if path else key
            raise self.fail(full, f"expected a UUID, got {text!r}") from None


_KIND_NAMES = {
    int: "an integer",
    float: "a number",
    str: "a string",
    bool: "true or false",
    list: "an array",
    dict: "a table",
}


def _dtype(reader: _Reader, text: str, key: str) -> str:
    try:
        dtype = np.dtype(text)
    except TypeError:
        raise reader.fail(key, f"expected a numpy dtype such as '<i2', got {text!r}") from None
    if dtype.kind not in "iuf" or dtype.shape:
        raise reader.fail(key, f"expected an integer or float dtype, got {text!r}")
    if dtype.itemsize > 1 and not text.startswith("<"):
        raise reader.fail(key, f"expected a little-endian dtype ('<' prefix), got {text!r}")
    return dtype.str


def _field(reader: _Reader, name: str, table: Any, path: str, *, header: bool) -> FieldSpec:
    if not isinstance(table, dict):
        raise reader.fail(path, f"expected a table, got {table!r}")
    offset = reader.get(table, "offset", path, int)
    if offset < 0:
        raise reader.fail(f"{path}.offset", f"expected a non-negative integer, got {offset}")
    dtype = _dtype(reader, reader.get(table, "dtype", path, str), f"{path}.dtype")
    count = reader.get(table, "count", path, int, 1)
    if count < 1:
        raise reader.fail(f"{path}.count", f"expected a positive integer, got {count}")
    scale = reader.get(table, "scale", path, float, 1.0)
    if not np.isfinite(scale) or scale == 0.0:
        raise reader.fail(f"{path}.scale", f"expected a finite non-zero number, got {scale}")
    expect = reader.get(table, "expect", path, int, None) if header else None
    unit = reader.get(table, "unit", path, str, "")
    if name in VECTOR_FIELDS:
        if count != 3:
            raise reader.fail(f"{path}.count", f"expected 3 for a vector field, got {count}")
        if unit != VECTOR_FIELDS[name]:
            raise reader.fail(
                f"{path}.unit", f"expected {VECTOR_FIELDS[name]!r} after scaling, got {unit!r}"
            )
    known = {"offset", "dtype", "count", "scale", "scale_field", "unit", "expect"}
    for key in table:
        if key not in known:
            raise reader.fail(
                f"{path}.{key}", f"unknown key (expected one of {', '.join(sorted(known))})"
            )
    return FieldSpec(
        name=name,
        offset=offset,
        dtype=dtype,
        count=count,
        scale=scale,
        scale_field=reader.get(table, "scale_field", path, str, None),
        unit=unit,
        expect=expect,
    )


def _layout(reader: _Reader, table: dict[str, Any]) -> Layout:
    path = "layout"
    header_size = reader.get(table, "header_size", path, int, 0)
    sample_size = reader.get(table, "sample_size", path, int)
    spp = reader.get(table, "samples_per_packet", path, int, 0)
    if header_size < 0 or sample_size < 1 or spp < 0:
        raise reader.fail(
            path, "header_size >= 0, sample_size >= 1 and samples_per_packet >= 0 expected"
        )
    header_t = reader.get(table, "header", path, dict, {})
    sample_t = reader.get(table, "sample", path, dict)
    header = {
        n: _field(reader, n, t, f"{path}.header.{n}", header=True) for n, t in header_t.items()
    }
    sample = {
        n: _field(reader, n, t, f"{path}.sample.{n}", header=False) for n, t in sample_t.items()
    }
    for name, spec in header.items():
        if spec.offset + spec.size > header_size:
            raise reader.fail(
                f"{path}.header.{name}.offset",
                f"field ends at byte {spec.offset + spec.size}, beyond header_size {header_size}",
            )
    for name, spec in sample.items():
        if spec.offset + spec.size > sample_size:
            raise reader.fail(
                f"{path}.sample.{name}.offset",
                f"field ends at byte {spec.offset + spec.size}, beyond sample_size {sample_size}",
            )
        if spec.scale_field is not None and spec.scale_field not in header:
            raise reader.fail(
                f"{path}.sample.{name}.scale_field",
                f"expected the name of a header field, got {spec.scale_field!r}",
            )
    for name in ("acc", "gyr"):
        if name not in sample:
            raise reader.fail(
                f"{path}.sample.{name}", "missing (every profile delivers acc and gyr)"
            )
    refs = {}
    for key in ("count_field", "time_field", "counter_field", "period_field"):
        ref = reader.get(table, key, path, str, None)
        if ref is not None and ref not in header:
            raise reader.fail(f"{path}.{key}", f"expected the name of a header field, got {ref!r}")
        refs[key] = ref
    sizes = reader.get(table, "packet_sizes", path, list, [])
    if not all(isinstance(s, int) and not isinstance(s, bool) and s > 0 for s in sizes):
        raise reader.fail(f"{path}.packet_sizes", f"expected positive integers, got {sizes!r}")
    sync_text = reader.get(table, "frame_sync", path, str, "")
    try:
        sync = bytes.fromhex(sync_text)
    except ValueError:
        raise reader.fail(f"{path}.frame_sync", f"expected hex bytes, got {sync_text!r}") from None
    period_scale = reader.get(table, "period_scale_s", path, float, 0.0)
    if refs["period_field"] is not None and period_scale <= 0.0:
        raise reader.fail(
            f"{path}.period_scale_s", "expected a positive number when period_field is set"
        )
    return Layout(
        header_size=header_size,
        sample_size=sample_size,
        samples_per_packet=spp,
        packet_sizes=tuple(sizes),
        header=header,
        sample=sample,
        period_scale_s=period_scale,
        frame_sync=sync,
        **refs,
    )


def _writes(
    reader: _Reader, value: Any, path: str, chars: Mapping[str, str]
) -> tuple[ControlWrite, ...]:
    if not isinstance(value, list):
        raise reader.fail(
            path, f"expected an array of {{ char = ..., hex = ... }} tables, got {value!r}"
        )
    writes = []
    for i, item in enumerate(value):
        key = f"{path}[{i}]"
        if not isinstance(item, dict):
            raise reader.fail(key, f"expected a table {{ char = ..., hex = ... }}, got {item!r}")
        char = reader.get(item, "char", key, str, "control")
        if char not in chars:
            raise reader.fail(
                f"{key}.char", f"expected one of {', '.join(sorted(chars))}, got {char!r}"
            )
        text = reader.get(item, "hex", key, str).replace(" ", "")
        if not _HEX_RE.fullmatch(text):
            raise reader.fail(
                f"{key}.hex",
                f"expected hex bytes with optional {', '.join(_PLACEHOLDERS)}, got {text!r}",
            )
        writes.append(ControlWrite(char=char, hex=text))
    return tuple(writes)


_DECODER_NEEDS: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    # decoder -> (header fields, sample fields) it reads
    "hipscope_open": (
        (
            "version",
            "flags",
            "count",
            "acc_range_g",
            "gyr_range_dps",
            "mag_range_ut",
            "seq",
            "time_us",
            "period_us",
        ),
        ("acc", "gyr", "mag"),
    ),
    "movesense": (("type", "reference", "time_ms"), ("acc", "gyr")),
}


def _check_decoder_needs(
    r: _Reader, decoder: str, layout: Layout, params: Mapping[str, Any]
) -> None:
    header_needs, sample_needs = _DECODER_NEEDS.get(decoder, ((), ()))
    for name in header_needs:
        if name not in layout.header:
            raise r.fail(f"layout.header.{name}", f"missing (the {decoder} decoder reads it)")
    for name in sample_needs:
        if name not in layout.sample:
            raise r.fail(f"layout.sample.{name}", f"missing (the {decoder} decoder reads it)")
    if decoder == "hipscope_open" and layout.header["version"].expect is None:
        raise r.fail("layout.header.version.expect", "missing (the protocol version to accept)")
    if decoder == "hipscope_open" and layout.period_scale_s <= 0.0:
        raise r.fail("layout.period_scale_s", "expected a positive number")
    if decoder == "witmotion" and len(layout.frame_sync) != 2:
        raise r.fail("layout.frame_sync", 'expected two bytes, e.g. "5561"')
    numbers: tuple[str, ...] = ()
    if decoder == "metamotion":
        numbers = ("acc_lsb_per_g", "gyr_lsb_per_dps")
    elif decoder == "movesense":
        numbers = ("reference", "samples_per_packet")
        vectors = params.get("vectors")
        if not (
            isinstance(vectors, list)
            and vectors[:2] == ["acc", "gyr"]
            and set(vectors) <= {"acc", "gyr", "mag"}
        ):
            raise r.fail("params.vectors", f'expected ["acc", "gyr"(, "mag")], got {vectors!r}')
        if "mag" in vectors and "mag" not in layout.sample:
            raise r.fail("layout.sample.mag", "missing although params.vectors has mag")
    for name in numbers:
        value = params.get(name)
        if isinstance(value, bool) or not isinstance(value, int | float) or not value > 0:
            raise r.fail(f"params.{name}", f"expected a positive number, got {value!r}")


def parse_profile(data: Mapping[str, Any], source: Path) -> SensorProfile:
    """Validate a parsed profile table (``source`` names the file in error messages)."""
    r = _Reader(source.name)
    profile_id = r.get(data, "id", "", str)
    if not re.fullmatch(r"[a-z0-9_]+", profile_id):
        raise r.fail("id", f"expected lower-case letters, digits and '_', got {profile_id!r}")
    name = r.get(data, "name", "", str)
    prefixes = r.get(data, "name_prefixes", "", list)
    if not all(isinstance(p, str) and p for p in prefixes):
        raise r.fail("name_prefixes", f"expected non-empty strings, got {prefixes!r}")
    service = r.uuid(data, "service_uuid", "")
    chars_t = r.get(data, "characteristics", "", dict)
    chars = {role: r.uuid(chars_t, role, "characteristics") for role in chars_t}
    if "data" not in chars:
        raise r.fail("characteristics.data", "missing (the notify characteristic carrying samples)")
    decoder = r.get(data, "decoder", "", str, "layout")
    if decoder not in KNOWN_DECODERS:
        raise r.fail("decoder", f"expected one of {', '.join(KNOWN_DECODERS)}, got {decoder!r}")
    rates = r.get(data, "rates_hz", "", list)
    if not rates or not all(
        isinstance(x, int | float) and not isinstance(x, bool) and x > 0 for x in rates
    ):
        raise r.fail("rates_hz", f"expected a non-empty array of positive numbers, got {rates!r}")
    rates_hz = tuple(float(x) for x in rates)
    default = r.get(data, "default_rate_hz", "", float)
    if default not in rates_hz:
        raise r.fail("default_rate_hz", f"expected one of rates_hz {list(rates)}, got {default:g}")
    control_t = r.get(data, "control", "", dict, {})
    control: dict[str, tuple[ControlWrite, ...]] = {}
    rate_codes: dict[int, str] = {}
    for key, value in control_t.items():
        if key == "rate_codes":
            if not isinstance(value, dict):
                raise r.fail(
                    "control.rate_codes", f"expected a table rate_hz -> hex, got {value!r}"
                )
            for rate_text, code in value.items():
                if not (
                    rate_text.isdigit()
                    and isinstance(code, str)
                    and re.fullmatch(r"(?:[0-9a-fA-F]{2})+", code)
                ):
                    raise r.fail(
                        f"control.rate_codes.{rate_text}",
                        f'expected "<integer Hz>" = "<hex>", got {code!r}',
                    )
                rate_codes[int(rate_text)] = code
        elif key in ("start", "stop", "set_rate"):
            control[key] = _writes(r, value, f"control.{key}", chars)
        else:
            raise r.fail(
                f"control.{key}", "unknown key (expected start, stop, set_rate, rate_codes)"
            )
    uses_code = any("{rate_code}" in w.hex for ws in control.values() for w in ws)
    if uses_code:
        missing = [f"{x:g}" for x in rates_hz if round(x) not in rate_codes]
        if missing:
            raise r.fail("control.rate_codes", f"missing codes for rates {', '.join(missing)}")
    timing_t = r.get(data, "timing", "", dict)
    timing = Timing(
        device_time=r.get(timing_t, "device_time", "timing", bool),
        time_unit_s=r.get(timing_t, "time_unit_s", "timing", float, 0.0),
        time_wrap_bits=r.get(timing_t, "time_wrap_bits", "timing", int, 0),
        counter=r.get(timing_t, "counter", "timing", bool),
        counter_bits=r.get(timing_t, "counter_bits", "timing", int, 0),
    )
    if timing.device_time and not (timing.time_unit_s > 0 and 8 <= timing.time_wrap_bits <= 64):
        raise r.fail("timing", "device_time needs time_unit_s > 0 and time_wrap_bits in 8..64")
    if timing.counter and not 1 <= timing.counter_bits <= 32:
        raise r.fail(
            "timing.counter_bits", f"expected 1..32 with counter = true, got {timing.counter_bits}"
        )
    layout = _layout(r, r.get(data, "layout", "", dict))
    has_mag = r.get(data, "has_mag", "", bool)
    if has_mag and decoder == "layout" and "mag" not in layout.sample:
        raise r.fail("layout.sample.mag", "missing although has_mag = true")
    if (
        decoder == "layout"
        and timing.device_time
        and layout.time_field is None
        and "time" not in layout.sample
    ):
        raise r.fail(
            "layout", "device_time = true needs layout.time_field or a sample field 'time'"
        )
    if (
        decoder == "layout"
        and timing.counter
        and layout.counter_field is None
        and "counter" not in layout.sample
    ):
        raise r.fail(
            "layout", "counter = true needs layout.counter_field or a sample field 'counter'"
        )
    params = r.get(data, "params", "", dict, {})
    _check_decoder_needs(r, decoder, layout, params)
    notes = r.get(data, "notes", "", str, "")
    known = {
        "id",
        "name",
        "name_prefixes",
        "service_uuid",
        "characteristics",
        "decoder",
        "rates_hz",
        "default_rate_hz",
        "control",
        "timing",
        "layout",
        "has_mag",
        "params",
        "notes",
    }
    for key in data:
        if key not in known:
            raise r.fail(key, f"unknown key (expected one of {', '.join(sorted(known))})")
    return SensorProfile(
        id=profile_id,
        name=name,
        source=source,
        name_prefixes=tuple(prefixes),
        service_uuid=service,
        characteristics=chars,
        control=control,
        rate_codes=rate_codes,
        rates_hz=rates_hz,
        default_rate_hz=default,
        timing=timing,
        has_mag=has_mag,
        layout=layout,
        decoder=decoder,
        params=dict(params),
        notes=notes,
    )


def load_profile(id_or_path: str | Path) -> SensorProfile:
    """A built-in profile by id (``"movella_dot"``) or any profile file by path."""
    text = str(id_or_path)
    path = Path(text)
    if not (text.endswith(".toml") or path.is_file()):
        if not re.fullmatch(r"[a-z0-9_]+", text):
            raise ProfileError(f"{text!r} is neither a profile id nor a .toml file")
        path = PROFILE_DIR / f"{text}.toml"
        if not path.is_file():
            known = ", ".join(sorted(_builtin_ids()))
            raise ProfileError(f"unknown sensor profile {text!r} (known: {known})")
    return _load_path(path.resolve())


@cache
def _load_path(path: Path) -> SensorProfile:
    try:
        with path.open("rb") as handle:
            data = tomllib.load(handle)
    except FileNotFoundError:
        raise ProfileError(f"{path}: no such profile file") from None
    except tomllib.TOMLDecodeError as error:
        raise ProfileError(f"{path.name}: not valid TOML ({error})") from None
    except OSError as error:
        raise ProfileError(f"{path}: cannot read ({error.strerror})") from None
    profile = parse_profile(data, path)
    if path.parent == PROFILE_DIR and profile.id != path.stem:
        raise ProfileError(
            f"{path.name}: id: expected {path.stem!r} (the file name), got {profile.id!r}"
        )
    return profile


def _builtin_ids() -> list[str]:
    return [p.stem for p in sorted(PROFILE_DIR.glob("*.toml")) if p.name not in _NOT_PROFILES]


def load_profiles() -> dict[str, SensorProfile]:
    """Every built-in profile, by id."""
    return {pid: load_profile(pid) for pid in _builtin_ids()}


def match_profile(
    device_name: str | None,
    service_uuids: Iterable[str] = (),
    profiles: Mapping[str, SensorProfile] | None = None,
) -> SensorProfile | None:
    """The profile of an advertising device, or None.

    An advertised service UUID wins over a name prefix (names can be changed by users);
    among name matches the longest prefix wins.
    """
    candidates = list((profiles if profiles is not None else load_profiles()).values())
    uuids = list(service_uuids)
    for profile in candidates:
        if profile.matches(None, uuids):
            return profile
    best: tuple[int, SensorProfile] | None = None
    name = (device_name or "").strip()
    for profile in candidates:
        for prefix in profile.name_prefixes:
            if name.startswith(prefix) and (best is None or len(prefix) > best[0]):
                best = (len(prefix), profile)
    return None if best is None else best[1]
