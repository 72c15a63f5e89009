"""The analysis configuration: one algorithm instance per analysis step, from defaults or TOML.

The file has one table per algorithm, keyed by the names in ``AnalysisConfig``; its keys are
the parameter names of that algorithm's ``__init__`` (units in the names); a nested
algorithm is a sub-table. Every key may be left out (its default applies)::

    [hip_drive]
    min_velocity_deg_s = 12.0

    [hip_drive.segmenter]
    min_range_deg = 10.0

Unknown tables or keys and values of the wrong type are refused with one line naming the
file and the key (``AnalysisConfigError``). The effective parameters, defaults included,
are written into the metrics JSON (``AnalysisConfig.parameters``) and their hash is part
of the batch cache key (``AnalysisConfig.parameters_hash``). See docs/DESIGN.md, section 6.
"""

from __future__ import annotations

import hashlib
import json
import math
import tomllib
import types
import typing
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

from hipscope.base.errors import HipscopeError
from hipscope.processing.algorithm import Algorithm
from hipscope.processing.events.gait import GaitEventDetector
from hipscope.processing.events.refine import GaitRefinement
from hipscope.processing.events.turns import StraightWalking
from hipscope.processing.metrics.gait_symmetry import GaitSymmetry
from hipscope.processing.metrics.hip_drive import HipDrive
from hipscope.processing.metrics.pelvic_stability import PelvicStability
from hipscope.processing.metrics.step_asymmetry import StepTimeAsymmetry
from hipscope.processing.metrics.walking_pelvis import WalkingPelvis
from hipscope.processing.task_detection import TaskDetector


class AnalysisConfigError(HipscopeError):
    """An analysis configuration that names an unknown algorithm or parameter, or gives a
    value of the wrong type."""


@dataclass(frozen=True)
class AnalysisConfig:
    """The algorithms of one analysis, one instance per step (defaults unless given).

    The analysers run each on a clone, so the instances here never carry results.
    """

    pelvic_stability: PelvicStability = field(default_factory=PelvicStability)
    """Single-leg stance; its ``sway_lowpass_hz`` also filters quiet standing's sway."""
    hip_drive: HipDrive = field(default_factory=HipDrive)
    """Hinge, bridge and squat repetitions."""
    gait_events: GaitEventDetector = field(default_factory=GaitEventDetector)
    """Initial and final contacts of a walk."""
    gait_refinement: GaitRefinement = field(default_factory=GaitRefinement)
    """Sides (thighs, else pelvis cues) and pelvis foot-off for the walk's contacts."""
    straight_walking: StraightWalking = field(default_factory=StraightWalking)
    """Turns of a walk, left out of its regularity and harmonic ratios."""
    gait_symmetry: GaitSymmetry = field(default_factory=GaitSymmetry)
    """Temporal and symmetry measures of a walk from its contacts."""
    step_asymmetry: StepTimeAsymmetry = field(default_factory=StepTimeAsymmetry)
    """Step-time SI with its bootstrap interval and the "too few steps" state."""
    walking_pelvis: WalkingPelvis = field(default_factory=WalkingPelvis)
    """Pelvic drop in single support, obliquity and hip ranges of a walk."""
    task_detection: TaskDetector = field(default_factory=TaskDetector)
    """Finds the tasks when a recording has none (or with ``--detect-tasks``)."""

    def __post_init__(self) -> None:
        for f in fields(self):
            value = getattr(self, f.name)
            expected = _slot_types()[f.name]
            if not isinstance(value, expected):
                raise TypeError(f"AnalysisConfig.{f.name} must be a {expected.__name__}")

    def algorithms(self) -> dict[str, Algorithm]:
        """name -> algorithm instance, in the order of the configuration."""
        return {f.name: getattr(self, f.name) for f in fields(self)}

    def parameters(self) -> dict[str, dict[str, Any]]:
        """The effective parameters, ``{algorithm: {parameter: value}}``, as plain JSON data
        (nested algorithms as dicts, tuples as lists)."""
        return {name: algo.params_json() for name, algo in self.algorithms().items()}

    def parameters_hash(self) -> str:
        """BLAKE2b (64-bit) hex of the parameters as canonical JSON: equal parameters give
        equal hashes in any process; any changed value changes it."""
        text = json.dumps(self.parameters(), sort_keys=True, separators=(",", ":"))
        return hashlib.blake2b(text.encode("utf-8"), digest_size=8).hexdigest()

    @classmethod
    def from_parameters(
        cls, tables: Mapping[str, Any], *, source: str = "analysis configuration"
    ) -> AnalysisConfig:
        """Build from ``{algorithm: {parameter: value}}`` (the TOML's or the JSON's form);
        missing algorithms and parameters take their defaults. ``source`` names the origin
        in error messages."""
        slots = _slot_types()
        algorithms: dict[str, Algorithm] = {}
        for name, table in tables.items():
            if name not in slots:
                raise AnalysisConfigError(
                    f"{source}: {name}: unknown algorithm; known: {', '.join(slots)}"
                )
            algorithms[name] = _build(slots[name], table, source, name)
        return cls(**algorithms)  # type: ignore[arg-type]

    @classmethod
    def load(cls, path: str | Path) -> AnalysisConfig:
        """Read and validate an analysis configuration file (TOML)."""
        path = Path(path)
        try:
            text = path.read_text(encoding="utf-8")
        except FileNotFoundError:
            raise AnalysisConfigError(f"{path}: no such file") from None
        except (OSError, UnicodeDecodeError) as error:
            reason = getattr(error, "strerror", None) or str(error)
            raise AnalysisConfigError(f"{path}: cannot read ({reason})") from None
        try:
            tables = tomllib.loads(text)
        except tomllib.TOMLDecodeError as error:
            raise AnalysisConfigError(f"{path}: not valid TOML ({error})") from None
        return cls.from_parameters(tables, source=str(path))


def _slot_types() -> dict[str, type[Algorithm]]:
    hints = typing.get_type_hints(AnalysisConfig)
    return {f.name: hints[f.name] for f in fields(AnalysisConfig)}


def _build(cls: type[Algorithm], table: Any, source: str, key: str) -> Algorithm:
    if not isinstance(table, Mapping):
        raise AnalysisConfigError(
            f"{source}: {key}: expected a table of {cls.__name__} parameters, got {table!r}"
        )
    types_ = cls.param_types()
    params: dict[str, Any] = {}
    for name, value in table.items():
        if name not in types_:
            raise AnalysisConfigError(
                f"{source}: {key}.{name}: {cls.__name__} has no parameter {name!r}; "
                f"known: {', '.join(types_)}"
            )
        params[name] = _value(types_[name], value, source, f"{key}.{name}")
    return cls(**params)


def _value(annotation: Any, value: Any, source: str, key: str) -> Any:
    """``value`` converted to the parameter's annotated type, or a one-line refusal."""
    options = [a for a in _union(annotation) if a is not type(None)]
    nested = next((a for a in options if isinstance(a, type) and issubclass(a, Algorithm)), None)
    if nested is not None:
        return _build(nested, value, source, key)
    errors: list[str] = []
    for option in options:
        try:
            return _convert(option, value, key)
        except ValueError as error:
            errors.append(str(error))
    raise AnalysisConfigError(f"{source}: {key}: {errors[0] if errors else 'unsupported type'}")


def _union(annotation: Any) -> tuple[Any, ...]:
    if typing.get_origin(annotation) in (typing.Union, types.UnionType):
        return typing.get_args(annotation)
    return (annotation,)


def _convert(annotation: Any, value: Any, key: str) -> Any:
    origin = typing.get_origin(annotation)
    if origin is tuple:
        items = typing.get_args(annotation)
        if not isinstance(value, list | tuple) or len(value) != len(items):
            raise ValueError(f"expected a list of {len(items)} values, got {value!r}")
        return tuple(_convert(a, v, key) for a, v in zip(items, value, strict=True))
    if annotation is float:
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ValueError(f"expected a number, got {value!r}")
        number = float(value)
        if not math.isfinite(number):
            raise ValueError(f"expected a finite number, got {value!r}")
        if key.endswith("_hz") and number <= 0.0:
            raise ValueError(f"expected a frequency above 0 Hz, got {value!r}")
        return number
    if annotation is int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise ValueError(f"expected a whole number, got {value!r}")
        return value
    if annotation is bool:
        if not isinstance(value, bool):
            raise ValueError(f"expected true or false, got {value!r}")
        return value
    if annotation is str:
        if not isinstance(value, str):
            raise ValueError(f"expected a string, got {value!r}")
        return value
    raise ValueError(f"parameter of type {annotation!r} cannot be set from a file")
