"""The task-kind registry: one record per kind of task an athlete performs.

Everything hipscope knows about a task kind lives in its ``TaskKind`` record: the title
shown everywhere, which side a task row names, the analyser that turns the task's
kinematics into metrics, its result model in the metrics contract, the headline metrics,
the report section, the GUI buttons and colour, and the part it plays in calibration.
The recorder, the simulator, the pipeline, the report, the GUI and the command-line
summaries read these records; none keeps its own list (``docs/DESIGN.md``, "Task kinds").

The base layer imports nothing of hipscope's own, so analysers and result models are named
by dotted import paths (``"package.module:name"``) and resolved by the layer that uses
them (``resolve``).

Adding a task kind is one ``register(TaskKind(...))`` plus its analyser; a kind without an
analyser is recorded and shown as "recorded, no metrics".
"""

from __future__ import annotations

import importlib
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, Literal

from hipscope.base.errors import HipscopeError

Family = Literal["standing", "stance", "repetitions", "gait", "other", "recorded"]
"""What the athlete does, which decides the live metrics, simulator and summaries:
quiet standing, standing on one leg, repetitions of a movement, walking, another analysed
movement (shown generically), or a kind that is recorded without metrics."""

SideRule = Literal["none", "left_or_right", "optional"]
"""``none``: the task row names no side; ``left_or_right``: it names the stance or working
side; ``optional``: either."""

ReportSection = Literal["reference", "stance", "repetitions", "gait", "generic"]
"""Where the report shows the task: ``reference`` (the standing posture, after the
screens), the paired single-leg-stance section, the hip-drive section, the gait section,
or a generic table of its measures."""


@dataclass(frozen=True)
class TaskButton:
    """One button of the live window that starts a task of this kind."""

    shortcut: str
    label: str
    side: str = ""


@dataclass(frozen=True)
class CalibrationRole:
    """What a task contributes to calibration.

    ``standing``: its quiet stance is the reference posture (gravity gives each segment's
    superior axis). ``trunk_axis_tier`` / ``limb_axis_tier``: the tier (0 first) in which its
    dominant angular velocity is tried for the mediolateral axis of pelvis and trunk, or of
    the limbs; None: not used.
    """

    standing: bool = False
    trunk_axis_tier: int | None = None
    limb_axis_tier: int | None = None


@dataclass(frozen=True)
class TaskKind:
    """Everything hipscope knows about one kind of task (see the module docstring)."""

    kind: str
    title: str
    family: Family
    side_rule: SideRule = "none"
    analyser: str | None = None
    """Dotted path of the analyser ``(context) -> TaskAnalysis``; None: no metrics."""
    result_model: str | None = None
    """Dotted path of the task's metrics model in the contract; None: the generic model."""
    headline_metrics: tuple[str, ...] = ()
    report_section: ReportSection = "generic"
    colour: str = "#8a959e"
    buttons: tuple[TaskButton, ...] = ()
    calibration: CalibrationRole = field(default_factory=CalibrationRole)
    analyser_options: tuple[tuple[str, str], ...] = ()
    """Per-kind settings the analyser reads (e.g. the start posture of a bridge)."""
    bending: bool = False
    """Large flexion angles: the live plots use wide ranges."""

    def __post_init__(self) -> None:
        if not self.kind.isidentifier() or self.kind != self.kind.lower():
            raise HipscopeError(f"task kind {self.kind!r} must be a lower-case identifier")
        if (self.analyser is None) != (self.family == "recorded"):
            raise HipscopeError(
                f"task kind {self.kind!r}: family 'recorded' means no analyser, every other "
                f"family needs one (family {self.family!r}, analyser {self.analyser!r})"
            )

    @property
    def has_metrics(self) -> bool:
        return self.analyser is not None

    def option(self, name: str, default: str = "") -> str:
        return dict(self.analyser_options).get(name, default)

    def label(self, side: str = "") -> str:
        """The title with the side, as every view shows a task row."""
        return f"{self.title} — {side}" if side else self.title


_PIPELINE = "hipscope.processing.pipeline"
_CONTRACT = "hipscope.processing.contract"
_HIP_DRIVE: dict[str, Any] = {
    "analyser": f"{_PIPELINE}:_analyze_repetitions",
    "result_model": f"{_CONTRACT}:HipDriveMetrics",
    "headline_metrics": ("valid_rep_count", "rep_count", "hip_lead_ms_median", "hip_lead_verdict"),
    "report_section": "repetitions",
}
"""What the three repetition kinds (hinge, bridge, squat) share: one analyser, one model."""

BUILTIN_KINDS: tuple[TaskKind, ...] = (
    TaskKind(
        "static",
        "Quiet standing",
        "standing",
        analyser=f"{_PIPELINE}:_analyze_static",
        result_model=f"{_CONTRACT}:StaticMetrics",
        headline_metrics=("pelvis_tilt_mean_deg", "pelvis_obliquity_mean_deg", "sway_rms_m_s2"),
        report_section="reference",
        colour="#7f8c9d",
        buttons=(TaskButton("1", "Standing"),),
        calibration=CalibrationRole(standing=True),
    ),
    TaskKind(
        "single_leg_stance",
        "Single-leg stance",
        "stance",
        side_rule="left_or_right",
        analyser=f"{_PIPELINE}:_analyze_single_leg_stance",
        result_model=f"{_CONTRACT}:SingleLegStanceMetrics",
        headline_metrics=(
            "pelvic_drop_mean_deg",
            "pelvic_drop_peak_deg",
            "trunk_lean_mean_deg",
            "hold_s",
        ),
        report_section="stance",
        colour="#4fb3ff",
        buttons=(TaskButton("2", "SLS Left", "left"), TaskButton("3", "SLS Right", "right")),
        calibration=CalibrationRole(limb_axis_tier=2),
    ),
    TaskKind(
        "hip_hinge",
        "Hip hinge",
        "repetitions",
        **_HIP_DRIVE,
        colour="#ff9f43",
        buttons=(TaskButton("4", "Hinge"),),
        calibration=CalibrationRole(trunk_axis_tier=0, limb_axis_tier=3),
        bending=True,
    ),
    TaskKind(
        "hip_bridge",
        "Hip bridge",
        "repetitions",
        **_HIP_DRIVE,
        colour="#c58cff",
        buttons=(TaskButton("5", "Bridge"),),
        calibration=CalibrationRole(trunk_axis_tier=0, limb_axis_tier=1),
        analyser_options=(("start_posture", "flexed"),),
        bending=True,
    ),
    TaskKind(
        "squat",
        "Squat",
        "repetitions",
        **_HIP_DRIVE,
        colour="#e8e36b",
        buttons=(TaskButton("6", "Squat"),),
        calibration=CalibrationRole(trunk_axis_tier=0, limb_axis_tier=1),
        bending=True,
    ),
    TaskKind(
        "gait",
        "Walking",
        "gait",
        analyser=f"{_PIPELINE}:_analyze_gait",
        result_model=f"{_CONTRACT}:GaitMetrics",
        headline_metrics=(
            "step_time_si_pct",
            "cadence_steps_min",
            "thigh_rom_si_pct",
            "stride_regularity",
        ),
        report_section="gait",
        colour="#3ecf7a",
        buttons=(TaskButton("7", "Walking"),),
        calibration=CalibrationRole(limb_axis_tier=0),
    ),
    TaskKind(
        "lunge",
        "Lunge",
        "recorded",
        side_rule="optional",
        headline_metrics=("duration_s",),
        colour="#ff7eb6",
        calibration=CalibrationRole(limb_axis_tier=1),
        bending=True,
    ),
)

_REGISTRY: dict[str, TaskKind] = {record.kind: record for record in BUILTIN_KINDS}


def register(record: TaskKind, *, replace: bool = False) -> TaskKind:
    """Add a task kind (``replace`` to redefine an existing one); returns the record."""
    if record.kind in _REGISTRY and not replace:
        raise HipscopeError(f"task kind {record.kind!r} is already registered")
    _REGISTRY[record.kind] = record
    return record


def unregister(kind: str) -> None:
    """Remove a task kind added with ``register`` (the built-in kinds stay)."""
    if any(record.kind == kind for record in BUILTIN_KINDS):
        raise HipscopeError(f"task kind {kind!r} is built in and cannot be removed")
    _REGISTRY.pop(kind, None)


@contextmanager
def registered(record: TaskKind) -> Iterator[TaskKind]:
    """Register a task kind for the duration of a ``with`` block (tests, plugins)."""
    register(record)
    try:
        yield record
    finally:
        unregister(record.kind)


def task_kinds(family: Family | None = None) -> tuple[TaskKind, ...]:
    """Every registered kind in registration order, optionally of one family."""
    return tuple(r for r in _REGISTRY.values() if family is None or r.family == family)


def kind_names(family: Family | None = None) -> tuple[str, ...]:
    """The kind ids, optionally of one family (``kind_names("repetitions")``)."""
    return tuple(r.kind for r in task_kinds(family))


def is_known(kind: str) -> bool:
    return kind in _REGISTRY


def get(kind: str) -> TaskKind:
    """The record of a kind; a clear error naming the known kinds otherwise."""
    try:
        return _REGISTRY[kind]
    except KeyError:
        known = ", ".join(_REGISTRY)
        raise HipscopeError(f"task kind {kind!r} is not one of {known}") from None


def find(kind: str) -> TaskKind | None:
    return _REGISTRY.get(kind)


def title(kind: str, side: str = "") -> str:
    """The one title of a task row (unknown kinds get a readable name from the id)."""
    record = _REGISTRY.get(kind)
    name = record.title if record else kind.replace("_", " ").capitalize()
    return f"{name} — {side}" if side else name


def resolve(path: str) -> Any:
    """The object a dotted path ``"package.module:name"`` names (imported on first use)."""
    module_name, _, attribute = path.partition(":")
    if not module_name or not attribute:
        raise HipscopeError(f"{path!r} is not a 'package.module:name' path")
    try:
        module = importlib.import_module(module_name)
        return getattr(module, attribute)
    except (ImportError, AttributeError) as error:
        raise HipscopeError(f"cannot load {path!r}: {error}") from None
