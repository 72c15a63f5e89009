"""The metrics contract: the typed ``hipscope-metrics`` JSON document, written and read here.

One module holds the whole contract (``docs/DESIGN.md``, "File formats"):

- the result model of each task kind's metrics (units in the field names); the task-kind
  registry (``hipscope.base.tasks``) names each kind's model, kinds without one get
  ``GenericMetrics``;
- the document (``MetricsDocument``: format, version, software, recording, calibration,
  effective algorithm parameters, tasks);
- ``build_document`` (the pipeline writes through it), ``write_metrics``,
  ``read_metrics`` / ``parse_metrics`` (everything that reads a metrics file or dict goes
  through them) and ``metrics_json_schema`` (published as ``docs/metrics.schema.json``).

Bad input gives one ``MetricsError`` line naming the file and the field, never a traceback.
A metric that could not be computed is ``null`` with its reason in the task's
``unavailable``; NaN and infinity never appear.

Versions: format version 1 is current. Fields added with a default keep version 1
readable both ways; an incompatible change bumps the version, and the reader keeps
converting version 1 files.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from functools import cache
from pathlib import Path
from typing import Annotated, Any, ClassVar, Final, Literal, Union, cast

from pydantic import (
    BaseModel,
    ConfigDict,
    Discriminator,
    Field,
    SerializeAsAny,
    Tag,
    TypeAdapter,
    ValidationError,
    create_model,
)

from hipscope.base import tasks as task_registry
from hipscope.base.atomic import atomic_write_text
from hipscope.base.errors import HipscopeError

FORMAT: Final = "hipscope-metrics"
FORMAT_VERSION: Final = 1
READABLE_VERSIONS = (1,)
SCHEMA_ID = "https://hipscope.invalid/schemas/metrics.schema.json"

Scalar = str | int | float | bool | None


class MetricsError(HipscopeError):
    """A metrics document that does not follow the contract (names the file and field)."""


class _Model(BaseModel):
    """Strict models: unknown fields, wrong types and NaN are refused."""

    model_config = ConfigDict(extra="forbid", strict=True, allow_inf_nan=False)


# --------------------------------------------------------------------------- recording


class Gap(_Model):
    """A run of samples a sensor lost (counted from its sequence numbers, never filled)."""

    start_s: float | None
    end_s: float | None
    lost_samples: int


class SensorInfo(_Model):
    device_name: str
    profile: str
    rate_hz: float | None
    n_samples: int
    lost_samples: int
    gaps: list[Gap] = Field(default_factory=list)


class RecordingInfo(_Model):
    path: str
    file_name: str
    session_id: str
    athlete: str
    created_utc: str
    duration_s: float | None
    sensors: dict[str, SensorInfo] = Field(default_factory=dict)


class CalibrationInfo(_Model):
    """How the sensor-to-segment alignment was found (``processing/calibration.py``)."""

    method: str
    window_start_s: float | None = None
    window_end_s: float | None = None
    window_s: float | None = None
    misalignment_deg: dict[str, float | None] = Field(default_factory=dict)
    mediolateral_axis_source: dict[str, str] = Field(default_factory=dict)
    axis_sources: dict[str, dict[str, str]] = Field(default_factory=dict)
    """Per sensor, which source gave each segment axis (superior, mediolateral, anterior)."""
    notes: list[str] = Field(default_factory=list)


# --------------------------------------------------------------------------- task metrics


class TaskMetrics(_Model):
    """Base of every task's metrics; ``duration_s`` is the task row's length."""

    duration_s: float | None = None


class GenericMetrics(TaskMetrics):
    """Metrics of a kind without its own model: any scalar or list-of-scalar fields."""

    model_config = ConfigDict(extra="allow")
    __pydantic_extra__: dict[str, Scalar | list[Scalar]] = Field(init=False)


class StaticMetrics(TaskMetrics):
    """Quiet standing: mean angles (relative to the calibration stance) and sway."""

    pelvis_tilt_mean_deg: float | None = None
    pelvis_obliquity_mean_deg: float | None = None
    trunk_tilt_mean_deg: float | None = None
    lumbar_flexion_mean_deg: float | None = None
    lumbar_lateral_bend_mean_deg: float | None = None
    hip_flexion_left_mean_deg: float | None = None
    hip_flexion_right_mean_deg: float | None = None
    sway_rms_m_s2: float | None = None
    sway_ellipse_area_m2_s4: float | None = None


class SingleLegStanceMetrics(TaskMetrics):
    """Pelvic stability over the steady hold of one single-leg stance."""

    pelvic_drop_peak_deg: float | None = None
    pelvic_drop_mean_deg: float | None = None
    trunk_lean_mean_deg: float | None = None
    """Trunk inclination from world vertical, towards the stance side positive."""
    lumbar_lateral_bend_mean_deg: float | None = None
    """Trunk on pelvis side bend, trunk leaning right on the pelvis positive."""
    sway_rms_m_s2: float | None = None
    sway_ap_rms_m_s2: float | None = None
    sway_ml_rms_m_s2: float | None = None
    sway_path_m_s2: float | None = None
    sway_ellipse_area_m2_s4: float | None = None
    hold_s: float | None = None
    hold_start_s: float | None = None
    hold_end_s: float | None = None
    hold_detection: str | None = None
    pelvic_drop_lr_diff_deg: float | None = None


class Repetition(_Model):
    """One repetition's rising phase (session clock)."""

    start_s: float | None = None
    turn_s: float | None = None
    end_s: float | None = None
    hip_onset_s: float | None = None
    hip_threshold_s: float | None = None
    lumbar_onset_s: float | None = None
    lumbar_threshold_s: float | None = None
    hip_lead_ms: float | None = None
    peak_hip_ext_vel_deg_s: float | None = None
    time_to_peak_hip_ext_vel_s: float | None = None
    hip_ext_deg: float | None = None
    lumbar_ext_deg: float | None = None
    hip_share_pct: float | None = None
    rejected: str | None = None
    """Why this repetition gave no valid lead (None: it did)."""


class HipDriveMetrics(TaskMetrics):
    """Hip drive over the repetitions of a hinge, bridge or squat."""

    rep_count: int | None = None
    valid_rep_count: int | None = None
    hip_lead_ms_median: float | None = None
    hip_lead_ms_q1: float | None = None
    hip_lead_ms_q3: float | None = None
    hip_lead_ms_iqr: float | None = None
    hip_lead_zone_ms: float | None = None
    """Half-width of the indeterminate zone around 0 ms (from the per-repetition spread)."""
    hip_lead_verdict: str | None = None
    """"hips first", "back first" or "unclear"."""
    rejected_reps: dict[str, int] = Field(default_factory=dict)
    """Rejection reason -> number of repetitions."""
    hip_share_pct_median: float | None = None
    repetitions: list[Repetition] = Field(default_factory=list)


class GaitMetrics(TaskMetrics):
    """Gait symmetry of one walk (SI = 100 (L − R) / (0.5 (L + R)))."""

    step_time_left_s: float | None = None
    step_time_right_s: float | None = None
    n_steps_left: int | None = None
    n_steps_right: int | None = None
    n_steps_in_turns: int | None = None
    """Steps left out of the step-time SI because they start or end in a turn."""
    turns_s: list[list[float]] = Field(default_factory=list)
    """[start, end] (session s) of each turn in the walk, from the pelvis heading."""
    initial_contacts_left_s: list[float] = Field(default_factory=list)
    initial_contacts_right_s: list[float] = Field(default_factory=list)
    stride_time_s: float | None = None
    cadence_steps_min: float | None = None
    step_time_si_pct: float | None = None
    stance_time_left_s: float | None = None
    stance_time_right_s: float | None = None
    swing_time_left_s: float | None = None
    swing_time_right_s: float | None = None
    stance_time_si_pct: float | None = None
    swing_time_si_pct: float | None = None
    thigh_rom_left_deg: float | None = None
    thigh_rom_right_deg: float | None = None
    thigh_rom_si_pct: float | None = None
    step_regularity: float | None = None
    stride_regularity: float | None = None
    regularity_window_s: float | None = None
    regularity_symmetry: float | None = None
    harmonic_ratio_vertical: float | None = None
    harmonic_ratio_ap: float | None = None
    harmonic_ratio_ml: float | None = None
    contact_source: str | None = None
    final_contact_source: str | None = None
    step_time_si_ci95_pct: list[float] | None = None
    """95 % interval of ``step_time_si_pct`` (bootstrap over strides)."""
    step_time_si_state: str | None = None
    """"ok", or why no interval is given (for example "too few steps")."""
    step_time_si_min_steps_per_side: int | None = None
    single_support_source: str | None = None
    strides_used: int | None = None
    strides_left_out: int | None = None
    pelvic_obliquity_range_deg: float | None = None
    pelvic_drop_single_support_left_deg: float | None = None
    pelvic_drop_single_support_right_deg: float | None = None
    hip_flexion_peak_left_deg: float | None = None
    hip_flexion_peak_right_deg: float | None = None
    hip_extension_peak_left_deg: float | None = None
    hip_extension_peak_right_deg: float | None = None
    hip_sagittal_range_left_deg: float | None = None
    hip_sagittal_range_right_deg: float | None = None


# --------------------------------------------------------------------------- live cues


class Cue(_Model):
    """One live cue given during the recording (``docs/DESIGN.md``, "Live cues")."""

    time_s: float
    """Session clock, s."""
    rule: str
    """The rule that broke, as set (``pelvic_drop_deg>5``)."""
    metric: str
    value: float
    """The metric's value that broke the rule, in the metric's unit."""
    threshold: float
    task_kind: str = ""
    """The task the live window had running when the cue was given."""
    task_side: str = ""


class CueSummary(_Model):
    """The live cue rules of the session and the cues given outside every task."""

    rules: list[str] = Field(default_factory=list)
    """The rules in force at some time during the recording."""
    count: int = 0
    """Cues given in the whole recording (in tasks and outside them)."""
    outside_tasks: list[Cue] = Field(default_factory=list)
    """Cues whose time lies in no analysed task."""


# --------------------------------------------------------------------------- tasks, document


class TaskResult(_Model):
    """One task row and its metrics (``metrics`` is the kind's model, see the registry)."""

    kind: str
    side: Literal["left", "right", ""] = ""
    start_s: float | None
    end_s: float | None
    metrics: SerializeAsAny[TaskMetrics]
    unavailable: dict[str, str] = Field(default_factory=dict)
    source: Literal["recorded", "detected", "detected_relabelled"] = "recorded"
    """Where the task came from: ``recorded`` (a row marked while recording), ``detected``
    (found by automatic task detection in this analysis, or a detected task a coach accepted
    and saved as a row), ``detected_relabelled`` (a saved detected task whose kind or side
    the coach changed)."""
    confidence: float | None = Field(default=None, ge=0.0, le=1.0)
    """How sure the task detection was, 0..1 (null for every task row read from the file,
    saved detected rows included)."""
    cues: list[Cue] = Field(default_factory=list)
    """Live cues given during this task, in time order (absent when no rules were set)."""

    @property
    def title(self) -> str:
        return task_registry.title(self.kind, self.side)

    @property
    def record(self) -> task_registry.TaskKind | None:
        return task_registry.find(self.kind)


class TaskDetectionInfo(_Model):
    """How the tasks were found when they were detected (``processing/task_detection.py``;
    its parameters are the document's ``parameters.task_detection``)."""

    notes: list[str] = Field(default_factory=list)
    """What could not be looked for (e.g. no thigh sensors)."""


class MetricsDocument(_Model):
    """The whole metrics file of one recording."""

    format: Literal["hipscope-metrics"] = FORMAT
    format_version: Literal[1] = FORMAT_VERSION
    software: str
    recording: RecordingInfo
    calibration: CalibrationInfo
    parameters: dict[str, dict[str, Any]] = Field(default_factory=dict)
    """Effective algorithm parameters: algorithm name -> parameter name -> value."""
    tasks: list[TaskResult] = Field(default_factory=list)
    task_detection: TaskDetectionInfo | None = None
    """Present when the tasks were detected rather than read from the task rows."""
    cues: CueSummary | None = None
    """Present when the recording had live cue rules or cues."""

    json_indent: ClassVar[int] = 2

    def tasks_of(self, family: task_registry.Family) -> list[TaskResult]:
        """The tasks whose kind belongs to one family, in recording order."""
        kinds = set(task_registry.kind_names(family))
        return [t for t in self.tasks if t.kind in kinds]

    def to_dict(self) -> dict[str, Any]:
        """The JSON-ready document (what ``write_metrics`` writes)."""
        return self.model_dump(mode="json", exclude_unset=True, by_alias=True)

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=self.json_indent, allow_nan=False) + "\n"


def _metrics_model(record: task_registry.TaskKind) -> type[TaskMetrics]:
    if record.result_model is None:
        return GenericMetrics
    model = task_registry.resolve(record.result_model)
    if not (isinstance(model, type) and issubclass(model, TaskMetrics)):
        raise HipscopeError(
            f"task kind {record.kind!r}: result model {record.result_model!r} is not a "
            "TaskMetrics model"
        )
    return model


def _registry_key() -> tuple[tuple[str, str | None], ...]:
    return tuple((r.kind, r.result_model) for r in task_registry.task_kinds())


@cache
def _document_model(key: tuple[tuple[str, str | None], ...]) -> type[MetricsDocument]:
    """The validating document model for the registered kinds: a tagged union of one task
    model per metrics model, each with the kinds that use it (the JSON Schema says which
    metrics belong to which kind)."""
    groups: dict[str, tuple[type[TaskMetrics], list[str]]] = {}
    for kind, _ in key:
        model = _metrics_model(task_registry.get(kind))
        groups.setdefault(model.__name__, (model, []))[1].append(kind)
    tag_of = {kind: name for name, (_, kinds) in groups.items() for kind in kinds}
    variants = []
    for name, (model, kinds) in groups.items():
        variant = create_model(
            f"{name.removesuffix('Metrics')}Task",
            __base__=TaskResult,
            __doc__=f"A task of kind {', '.join(kinds)} with its {name}.",
            kind=(Literal[tuple(kinds)], ...),  # type: ignore[valid-type,arg-type]
            metrics=(model, ...),
        )
        variants.append(Annotated[variant, Tag(name)])

    def tag(value: Any) -> str | None:
        kind = value.get("kind") if isinstance(value, Mapping) else getattr(value, "kind", None)
        return tag_of.get(kind) if isinstance(kind, str) else None

    known = ", ".join(kind for kind, _ in key)
    task_type = Annotated[  # type: ignore[valid-type]
        Union[tuple(variants)],  # noqa: UP007 - a runtime-built union
        Discriminator(
            tag,
            custom_error_type="unknown_task_kind",
            custom_error_message=f"field 'kind' must be one of {known}",
        ),
    ]
    return create_model(
        "MetricsDocument",
        __base__=MetricsDocument,
        __doc__=MetricsDocument.__doc__,
        tasks=(list[task_type], Field(default_factory=list)),  # type: ignore[valid-type]
    )


def document_model() -> type[MetricsDocument]:
    """The document model for the task kinds registered now."""
    return _document_model(_registry_key())


@cache
def _tasks_adapter(key: tuple[tuple[str, str | None], ...]) -> TypeAdapter[list[TaskResult]]:
    annotation = _document_model(key).model_fields["tasks"].annotation
    return cast(TypeAdapter[list[TaskResult]], TypeAdapter(cast(Any, annotation)))


def parse_tasks(raw: Any, where: str = "tasks") -> list[TaskResult]:
    """Validate a list of task results on their own (e.g. rows of a batch table)."""
    try:
        return _tasks_adapter(_registry_key()).validate_python(raw)
    except ValidationError as error:
        raise MetricsError(f"{where}: {_first_error(error)}") from None


# --------------------------------------------------------------------------- errors


def _location(loc: Iterable[int | str], tagged: bool = True) -> str:
    parts: list[str] = []
    for item in loc:
        if isinstance(item, int):
            parts.append(f"[{item}]")
        elif tagged and (item.endswith(("Metrics", "Task")) and item[:1].isupper()):
            continue  # a union tag, not a field
        elif item in _TYPE_NAMES or item.startswith("list["):
            continue  # a member of a scalar union, not a field
        else:
            parts.append(("." if parts else "") + item)
    return "".join(parts) or "document"


_TYPE_NAMES = frozenset({"str", "int", "float", "bool", "none"})


def _first_error(error: ValidationError) -> str:
    errors = error.errors(include_url=False)
    first = errors[0]
    where = _location(first["loc"])
    # one field can fail each member of a scalar union: count fields, not members
    fields = {_location(e["loc"]) for e in errors}
    message = str(first["msg"])
    if first["type"] == "extra_forbidden":
        message = "is not a field of the contract"
    elif first["type"] == "missing":
        message = "is missing"
    elif first["type"] == "unknown_task_kind":
        where = f"{where}.kind"
        message = message.removeprefix("field 'kind' ")
        if len(fields) > 1:
            fields.discard(_location(first["loc"]))
    else:
        match = re.match(r"Input should be (a valid |an? )?(.*)", message)
        if match:
            rest = match.group(2)
            article = ("an " if rest[:1] in "aeiou" else "a ") if match.group(1) else ""
            message = f"expected {article}{rest}"
        if any(str(e["loc"][-1]).startswith("list[") for e in errors if e["loc"]):
            message = "expected a number, text, true/false, null or a list of them"
        if "input" in first:
            shown = repr(first["input"])
            shown = shown if len(shown) <= 40 else shown[:37] + "..."
            message = f"{message}, got {shown}"
    more = f" (and {len(fields) - 1} more)" if len(fields) > 1 else ""
    return f"field '{where}' {message}{more}"


def _version_check(raw: Any, where: str) -> None:
    if not isinstance(raw, Mapping) or raw.get("format") != FORMAT:
        raise MetricsError(f"{where}: field 'format' must be {FORMAT!r}")
    version = raw.get("format_version")
    if version not in READABLE_VERSIONS:
        raise MetricsError(
            f"{where}: field 'format_version' must be one of "
            f"{', '.join(map(str, READABLE_VERSIONS))}, got {version!r}"
        )


# --------------------------------------------------------------------------- reading, writing


def parse_metrics(raw: Any, where: str = "metrics") -> MetricsDocument:
    """Validate a metrics document (a dict from JSON, or a document) against the contract."""
    if isinstance(raw, MetricsDocument):
        raw = raw.to_dict()
    _version_check(raw, where)
    try:
        return document_model().model_validate(raw)
    except ValidationError as error:
        raise MetricsError(f"{where}: {_first_error(error)}") from None


def read_metrics(path: str | Path) -> MetricsDocument:
    """Read a metrics JSON file (``hipscope analyze --json``); one-line errors naming the
    file and the field."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise MetricsError(f"{path}: no such file") from None
    except IsADirectoryError:
        raise MetricsError(f"{path}: is a folder, not a metrics file") from None
    except (OSError, UnicodeDecodeError) as error:
        reason = getattr(error, "strerror", None) or str(error)
        raise MetricsError(f"{path}: cannot read the metrics file ({reason})") from None
    try:
        raw = json.loads(text, parse_constant=_refuse_constant)
    except json.JSONDecodeError as error:
        raise MetricsError(
            f"{path}: not a JSON file (line {error.lineno}, column {error.colno}: {error.msg})"
        ) from None
    except ValueError as error:
        raise MetricsError(f"{path}: {error}") from None
    except RecursionError:
        raise MetricsError(f"{path}: nested too deeply to be a metrics file") from None
    try:
        return parse_metrics(raw, str(path))
    except RecursionError:
        raise MetricsError(f"{path}: nested too deeply to be a metrics file") from None


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON number (the contract writes null instead)")


def write_metrics(document: MetricsDocument, path: str | Path) -> Path:
    """Write a document as JSON (UTF-8, two-space indent); returns the path written."""
    out = Path(path)
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        atomic_write_text(out, document.to_json())
    except OSError as error:
        raise MetricsError(f"{out}: cannot write the metrics ({error.strerror})") from None
    return out


def build_document(
    *,
    software: str,
    recording: Mapping[str, Any],
    calibration: Mapping[str, Any],
    tasks: list[Mapping[str, Any]],
    parameters: Mapping[str, Mapping[str, Any]] | None = None,
    task_detection: Mapping[str, Any] | None = None,
    cues: Mapping[str, Any] | None = None,
) -> MetricsDocument:
    """The document from the pipeline's parts, validated (an analyser that breaks the
    contract fails here, where it is written, not where it is read)."""
    raw = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "software": software,
        "recording": dict(recording),
        "calibration": dict(calibration),
        "parameters": {name: dict(values) for name, values in (parameters or {}).items()},
        "tasks": [dict(t) for t in tasks],
    }
    if task_detection is not None:
        raw["task_detection"] = dict(task_detection)
    if cues is not None:
        raw["cues"] = dict(cues)
    try:
        return document_model().model_validate(raw)
    except ValidationError as error:
        raise MetricsError(f"analysis result: {_first_error(error)}") from None


def as_document(source: Any, where: str = "metrics") -> MetricsDocument:
    """A document from a document, a dict, a metrics JSON path or anything with
    ``to_document()`` / ``to_dict()`` (a ``SessionAnalysis``)."""
    if isinstance(source, MetricsDocument):
        return source
    if isinstance(source, str | Path):
        return read_metrics(source)
    if isinstance(source, Mapping):
        return parse_metrics(source, where)
    to_document = getattr(source, "to_document", None)
    if callable(to_document):
        return to_document()
    raise MetricsError(f"{where}: a {type(source).__name__} is not a metrics document")


# --------------------------------------------------------------------------- schema


def metrics_json_schema() -> dict[str, Any]:
    """The JSON Schema (draft 2020-12) of the document for the registered task kinds."""
    schema = document_model().model_json_schema(mode="validation")
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": SCHEMA_ID,
        **schema,
    }


def schema_text() -> str:
    """The schema as the published file's text (``docs/metrics.schema.json``)."""
    return json.dumps(metrics_json_schema(), indent=2, ensure_ascii=False) + "\n"


if __name__ == "__main__":  # pragma: no cover - python -m hipscope.processing.contract
    # run as __main__ this file is a second module: take the models from the real one
    from hipscope.processing import contract

    print(contract.schema_text(), end="")
