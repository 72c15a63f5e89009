"""Kit files: which device sits where, speaking which profile, mounted how.

A kit is a TOML file (see ``firmware_configs/example_kit.toml``)::

    name = "club kit A"
    cues = ["pelvic_drop_deg>5"]       # live cue rules (hipscope.base.cues), optional
    [session]
    rate_hz = 100                      # for every sensor (default: each profile's default)
    [[sensor]]
    placement = "pelvis"
    name = "HIPSCOPE-PELVIS"           # advertised name, and/or
    address = "C0:11:22:33:44:01"      # Bluetooth address
    profile = "hipscope_open"          # a profile NAME (built-in or $HIPSCOPE_PROFILE_DIR)
    mounting = "nominal"               # or { x = "up", z = "backward" }, or "unknown"

Errors raise ``KitError`` naming the file and key, e.g.
``kit.toml: sensor[2].placement: unknown placement 'hip' (expected one of pelvis, ...)`` or
``kit.toml: cues[0]: cue rule 'knee>5': unknown metric 'knee' (known: ...)``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any

import numpy as np
from numpy.typing import NDArray
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from scipy.spatial.transform import Rotation

from hipscope.acquisition.profile_schema import validation_message
from hipscope.acquisition.profiles import load_profile
from hipscope.acquisition.samples import PLACEMENTS
from hipscope.acquisition.tomlfile import read_toml
from hipscope.base.cues import CueRule, CueRuleError, parse_rule
from hipscope.base.errors import KitError, ProfileError
from hipscope.base.rotations import from_rotation

DIRECTIONS: dict[str, tuple[float, float, float]] = {
    "forward": (1.0, 0.0, 0.0),
    "backward": (-1.0, 0.0, 0.0),
    "up": (0.0, 1.0, 0.0),
    "down": (0.0, -1.0, 0.0),
    "right": (0.0, 0.0, 1.0),
    "left": (0.0, 0.0, -1.0),
}
"""Anatomical directions in the ISB segment frame (x anterior, y superior, z right)."""

SIDE_WORDS = ("outward", "inward")
"""Directions that depend on the body side (lateral / medial); only for left/right placements."""


def _side(placement: str) -> str:
    return placement.rsplit("_", 1)[1] if placement.endswith(("_left", "_right")) else ""


def nominal_mounting(placement: str) -> dict[str, str] | None:
    """The nominal mounting of docs/DESIGN.md, or None where none is defined (feet).

    Pelvis (sacrum) and trunk (between the shoulder blades): +x up, +z backwards out of the
    skin. Thighs and shanks (lateral): +x up, +z outwards.
    """
    if placement in ("pelvis", "trunk"):
        return {"x": "up", "z": "backward"}
    if placement.startswith(("thigh_", "shank_")):
        return {"x": "up", "z": "outward"}
    return None


def _resolve(word: str, placement: str) -> str:
    side = _side(placement)
    if word == "outward":
        return side
    if word == "inward":
        return "left" if side == "right" else "right"
    return word


@dataclass(frozen=True)
class KitDevice:
    """One sensor of a kit.

    ``mounting`` maps sensor axes (``x``, ``y``, ``z``) to anatomical directions (``up``,
    ``down``, ``forward``, ``backward``, ``left``, ``right``, and for left/right placements
    ``outward``/``inward``); empty means nominal. ``nominal`` is True when the kit said
    ``mounting = "nominal"`` (or nothing); ``unknown`` when it said ``mounting = "unknown"``
    (calibration then needs standing and walking). ``rate_hz`` is the rate to request (0: the
    kit's).
    """

    placement: str
    profile: str
    name: str = ""
    address: str = ""
    rate_hz: float = 0.0
    mounting: Mapping[str, str] = field(default_factory=dict)
    nominal: bool = True
    unknown: bool = False

    def matches(self, name: str | None = None, address: str | None = None) -> bool:
        """True when the address (any case) or the advertised name identifies this device."""
        if self.address and address and self.address.upper() == address.strip().upper():
            return True
        return bool(self.name and name and self.name == name.strip())

    @property
    def r_segment_sensor(self) -> NDArray[np.float64]:
        """Nominal rotation matrix taking sensor-frame vectors into the ISB segment frame."""
        if self.unknown:
            raise KitError(f"{self.placement}: mounting unknown (calibration finds it)")
        mounting = self.mounting or nominal_mounting(self.placement)
        if not mounting:
            raise KitError(f"{self.placement}: no nominal mounting defined; give the sensor axes")
        return _matrix(mounting, self.placement)

    @property
    def q_segment_sensor(self) -> NDArray[np.float64]:
        """The same rotation as a scalar-first quaternion (w, x, y, z), w >= 0."""
        return from_rotation(Rotation.from_matrix(self.r_segment_sensor))


def _matrix(mounting: Mapping[str, str], placement: str) -> NDArray[np.float64]:
    columns: dict[str, NDArray[np.float64]] = {
        axis: np.array(DIRECTIONS[_resolve(word, placement)]) for axis, word in mounting.items()
    }
    order = ("x", "y", "z")
    for i, axis in enumerate(order):
        if axis not in columns:
            a, b = order[(i + 1) % 3], order[(i + 2) % 3]
            columns[axis] = np.cross(columns[a], columns[b])
    return np.stack([columns[a] for a in order], axis=1)


@dataclass(frozen=True)
class Kit:
    """A set of sensors with session defaults.

    ``rate_hz`` is ``[session] rate_hz``; a kit without one takes each sensor's profile
    default, and ``rate_hz`` is then the first sensor's rate. ``cue_rules`` are the live cue
    rules the kit carries (``cues = [...]``, ``hipscope.base.cues``); ``hipscope live``
    watches them.
    """

    name: str
    rate_hz: float
    devices: tuple[KitDevice, ...]
    source: Path | None = None
    cue_rules: tuple[CueRule, ...] = ()

    @property
    def placements(self) -> tuple[str, ...]:
        return tuple(d.placement for d in self.devices)

    def mountings(self) -> dict[str, NDArray[np.float64]]:
        """Each sensor's mounting (``q_segment_sensor``); placements without one are left out."""
        out: dict[str, NDArray[np.float64]] = {}
        for device in self.devices:
            try:
                out[device.placement] = device.q_segment_sensor
            except KitError:  # no nominal mounting for this placement and none given in the kit
                continue
        return out

    def device(self, placement: str) -> KitDevice:
        for candidate in self.devices:
            if candidate.placement == placement:
                return candidate
        raise KitError(f"{self._label}: no sensor at placement {placement!r}")

    def find(self, name: str | None = None, address: str | None = None) -> KitDevice | None:
        """The kit device an advertisement belongs to (by address first, then name), or None."""
        for candidate in self.devices:
            if candidate.matches(None, address):
                return candidate
        for candidate in self.devices:
            if candidate.matches(name, None):
                return candidate
        return None

    @property
    def _label(self) -> str:
        return self.source.name if self.source else "kit"


def _fail(filename: str, key: str, problem: str) -> KitError:
    return KitError(f"{filename}: {key}: {problem}")


def _mounting(value: Any, placement: str, filename: str, key: str) -> tuple[dict[str, str], bool]:
    if value is None or value == "nominal":
        nominal = nominal_mounting(placement)
        if nominal is None:
            raise _fail(
                filename,
                key,
                f"no nominal mounting for {placement}; "
                'give axes, e.g. { x = "forward", z = "up" }',
            )
        return nominal, True
    if not isinstance(value, dict):
        raise _fail(
            filename, key, f'expected "nominal", "unknown" or a table of axes, got {value!r}'
        )
    words = sorted(DIRECTIONS) + (list(SIDE_WORDS) if _side(placement) else [])
    for axis, word in value.items():
        if axis not in ("x", "y", "z"):
            raise _fail(filename, f"{key}.{axis}", "unknown sensor axis (expected x, y or z)")
        if word not in words:
            raise _fail(
                filename, f"{key}.{axis}", f"expected one of {', '.join(words)}, got {word!r}"
            )
    if len(value) < 2:
        raise _fail(filename, key, f"expected at least two axes, got {len(value)}")
    directions = {axis: np.array(DIRECTIONS[_resolve(w, placement)]) for axis, w in value.items()}
    axes = list(directions)
    for i, a in enumerate(axes):
        for b in axes[i + 1 :]:
            if abs(float(directions[a] @ directions[b])) > 0.5:
                raise _fail(
                    filename,
                    key,
                    f"axes {a} and {b} point along the same line ({value[a]}, {value[b]})",
                )
    matrix = _matrix(value, placement)
    if len(value) == 3 and np.linalg.det(matrix) < 0:
        raise _fail(filename, key, "the three axes form a left-handed frame")
    return dict(value), False


class _SensorModel(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)

    placement: str
    profile: str
    name: str = ""
    address: str = ""
    mounting: str | dict[str, str] | None = None
    rate_hz: Annotated[float, Field(gt=0)] | None = None


class _SessionModel(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)

    rate_hz: Annotated[float, Field(gt=0)] | None = None


class _KitModel(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)

    name: str | None = None
    cues: list[str] = Field(default_factory=list)
    session: _SessionModel = _SessionModel()
    sensor: list[_SensorModel] = Field(min_length=1)


def _schema_error(fn: str, error: ValidationError) -> KitError:
    first = error.errors(include_url=False)[0]
    if tuple(first["loc"])[:1] == ("sensor",) and first["type"] in ("too_short", "missing"):
        return _fail(fn, "sensor", "expected at least one [[sensor]] table")
    if first["type"] == "extra_forbidden":
        where = ".".join(f"[{p}]" if isinstance(p, int) else str(p) for p in first["loc"])
        where = where.replace(".[", "[")
        parent = tuple(str(p) for p in first["loc"][:-1])
        known = {
            (): "name, cues, session, sensor",
            ("session",): "rate_hz",
        }.get(parent, "placement, profile, name, address, mounting, rate_hz")
        return _fail(fn, where, f"unknown key (expected {known})")
    return KitError(validation_message(fn, error))


def parse_kit(data: Mapping[str, Any], source: Path) -> Kit:
    """Validate a parsed kit table (``source`` names the file in error messages)."""
    fn = source.name
    try:
        model = _KitModel.model_validate(dict(data))
    except ValidationError as error:
        raise _schema_error(fn, error) from None
    name = model.name if model.name is not None else source.stem
    rate = model.session.rate_hz
    devices: list[KitDevice] = []
    seen: dict[str, str] = {}
    for i, entry in enumerate(model.sensor):
        key = f"sensor[{i}]"
        placement = entry.placement
        if placement not in PLACEMENTS:
            raise _fail(
                fn,
                f"{key}.placement",
                f"unknown placement {placement!r} (expected one of {', '.join(PLACEMENTS)})",
            )
        profile_id = entry.profile
        try:
            profile = load_profile(profile_id)
        except ProfileError as error:
            raise _fail(fn, f"{key}.profile", str(error)) from None
        dev_name, address = entry.name.strip(), entry.address.strip().upper()
        if not dev_name and not address:
            raise _fail(fn, key, "needs a name or an address to find the device")
        for label, ident in (("placement", placement), ("name", dev_name), ("address", address)):
            if not ident:
                continue
            tag = f"{label}:{ident.upper() if label == 'address' else ident}"
            if tag in seen:
                raise _fail(fn, f"{key}.{label}", f"{ident!r} is already used by {seen[tag]}")
            seen[tag] = key
        dev_rate = entry.rate_hz if entry.rate_hz is not None else rate
        if dev_rate is None:
            dev_rate = profile.default_rate_hz
        if float(dev_rate) not in profile.rates_hz:
            where = f"{key}.rate_hz" if entry.rate_hz is not None else "session.rate_hz"
            rates = ", ".join(f"{r:g}" for r in profile.rates_hz)
            raise _fail(
                fn, where, f"{dev_rate:g} Hz is not supported by {profile_id} (supported: {rates})"
            )
        unknown = entry.mounting == "unknown"
        mounting, nominal = (
            ({}, False)
            if unknown
            else _mounting(entry.mounting, placement, fn, f"{key}.mounting")
        )
        devices.append(
            KitDevice(
                placement=placement,
                profile=profile_id,
                name=dev_name,
                address=address,
                rate_hz=float(dev_rate),
                mounting=mounting,
                nominal=nominal,
                unknown=unknown,
            )
        )
    kit_rate = float(rate) if rate is not None else devices[0].rate_hz
    return Kit(
        name=name,
        rate_hz=kit_rate,
        devices=tuple(devices),
        source=source,
        cue_rules=_cue_rules(model.cues, fn),
    )


def _cue_rules(texts: list[str], filename: str) -> tuple[CueRule, ...]:
    """The kit's ``cues``, parsed; a rule given twice (same canonical text) counts once."""
    rules: dict[str, CueRule] = {}
    for i, text in enumerate(texts):
        try:
            rule = parse_rule(text)
        except CueRuleError as error:
            raise _fail(filename, f"cues[{i}]", str(error)) from None
        rules.setdefault(rule.text, rule)
    return tuple(rules.values())


def load_kit(path: str | Path) -> Kit:
    """Read and validate a kit file (a regular file of at most 256 kB, UTF-8 TOML).

    Each sensor's ``profile`` is a profile NAME (see ``load_profile``), never a path.
    """
    source = Path(path)
    return parse_kit(read_toml(source, what="kit", error=KitError), source)
