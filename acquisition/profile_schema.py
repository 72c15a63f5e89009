"""The schema of a sensor profile file, as pydantic models, and its cross-field checks.

``parse_profile`` turns a parsed TOML table into a ``SensorProfile``; every problem raises
``ProfileError`` naming the file and the dotted key. The keys are listed in
``hipscope.acquisition.profiles``; the family named by ``family`` then checks its own
``[params]`` and needs (``hipscope.acquisition.families``).
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping
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

from hipscope.acquisition.profiles import (
    HEX_RE,
    VECTOR_FIELDS,
    ControlWrite,
    FieldSpec,
    Layout,
    SensorProfile,
    Timing,
    Variant,
    normalize_uuid,
)
from hipscope.base.errors import ProfileError


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
        if not HEX_RE.fullmatch(text):
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


_NOT_A_KEY = re.compile(r"function-.*|str|int|float|bool|none|list\[.*\]|dict\[.*\]")


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
    # pydantic names the member of a union or the validator it tried; the user wrote a key
    loc = [p for p in first["loc"] if not (isinstance(p, str) and _NOT_A_KEY.fullmatch(p))]
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
