"""A recording -> kinematics -> events -> metrics per task, written through the contract.

``analyze_recording`` is the one per-recording unit: the CLI (`hipscope analyze`), the
report and `hipscope batch` all go through it. Each task row goes to the analyser its kind's
record names (``hipscope.base.tasks``); kinds without one are "recorded, no metrics". The
result becomes a ``MetricsDocument`` of ``processing/contract.py``. Missing sensors never
crash an analysis: each metric that cannot be computed is ``None`` with a reason in
``unavailable``.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from hipscope.acquisition.recorder import software_name
from hipscope.acquisition.recording import Recording, load_recording
from hipscope.acquisition.samples import Task
from hipscope.base import tasks as task_registry
from hipscope.base.cues import CueEvent
from hipscope.base.errors import HipscopeError
from hipscope.processing.config import AnalysisConfig
from hipscope.processing.contract import FORMAT, FORMAT_VERSION, MetricsDocument, build_document
from hipscope.processing.cues import assign_cues, cue_dict, cue_summary
from hipscope.processing.events.gait import GaitEvents
from hipscope.processing.events.turns import turning_intervals
from hipscope.processing.kinematics import SessionKinematics, compute_kinematics
from hipscope.processing.metrics.common import number, window
from hipscope.processing.metrics.pelvic_stability import sway_measures
from hipscope.processing.metrics.step_asymmetry import (
    apply_step_asymmetry,
    contacts_in_straight_walking,
)
from hipscope.processing.quality import screen_samples, with_notes
from hipscope.processing.task_detection import (
    SOURCE_DETECTED,
    SOURCE_RECORDED,
    TaskDetector,
    detect_tasks,
)

__all__ = ["FORMAT", "FORMAT_VERSION", "SessionAnalysis", "TaskAnalysis", "analyze_recording"]

CONTEXT_S = 5.0
"""Signal kept around each task for filters to settle, s."""

Progress = Callable[[str, float], None]


@dataclass
class TaskAnalysis:
    """Metrics of one task row. ``metrics`` is JSON-ready (None where unavailable);
    ``unavailable`` gives the reason per metric key; ``series`` holds arrays for plots;
    ``rows`` one dict per repetition / step / hold for tables; ``events`` the gait contacts."""

    task: Task
    metrics: dict[str, Any]
    unavailable: dict[str, str]
    series: dict[str, NDArray[np.float64]] = field(default_factory=dict)
    rows: list[dict[str, Any]] = field(default_factory=list)
    events: GaitEvents | None = None
    source: str = SOURCE_RECORDED
    """``recorded`` (a task row of the recording), ``detected`` (processing/task_detection),
    or a saved row's source (``acquisition.samples.TASK_SOURCES``)."""
    confidence: float | None = None
    """How sure the detector was, 0..1 (None for recorded rows)."""
    cues: tuple[CueEvent, ...] | None = None
    """Live cues given during the task (None: the recording had no cue rules or cues)."""

    def to_dict(self) -> dict[str, Any]:
        cues = {} if self.cues is None else {"cues": [cue_dict(c) for c in self.cues]}
        return {
            "kind": self.task.kind,
            "side": self.task.side,
            "start_s": number(self.task.start_s),
            "end_s": number(self.task.end_s),
            "source": self.source,
            "confidence": number(self.confidence, 3),
            "metrics": self.metrics,
            "unavailable": dict(sorted(self.unavailable.items())),
            **cues,
        }


@dataclass
class SessionAnalysis:
    recording: Recording
    kinematics: SessionKinematics
    tasks: list[TaskAnalysis]
    config: AnalysisConfig = field(default_factory=AnalysisConfig)
    """The algorithms (and so the parameters) the tasks were analysed with."""
    detection: TaskDetector | None = None
    """The task detector's results when the tasks were detected (else None)."""

    def to_dict(self) -> dict[str, Any]:
        """The metrics document as JSON-ready data (NaN never appears: None instead)."""
        return self.to_document().to_dict()

    def to_document(self) -> MetricsDocument:
        """The metrics document of the contract (``processing/contract.py``), validated."""
        rec = self.recording
        sensors = {}
        for placement, sensor in rec.sensors.items():
            sensors[placement] = {
                "device_name": sensor.device_name,
                "profile": sensor.profile,
                "rate_hz": number(sensor.rate_hz, 3),
                "n_samples": int(sensor.n_samples),
                "lost_samples": int(sensor.lost_samples),
                "gaps": [
                    {
                        "start_s": number(g.start_s),
                        "end_s": number(g.end_s),
                        "lost_samples": int(g.lost_samples),
                    }
                    for g in sensor.gaps()
                ],
            }
        return build_document(
            software=software_name(),
            recording={
                "path": str(rec.path),
                "file_name": Path(rec.path).name,
                "session_id": rec.session_id,
                "athlete": rec.athlete,
                "created_utc": rec.created_utc,
                "duration_s": number(rec.duration_s, 3),
                "sensors": sensors,
            },
            calibration=self.kinematics.calibration.to_dict(),
            tasks=[t.to_dict() for t in self.tasks],
            parameters=self.config.parameters(),
            task_detection=None
            if self.detection is None
            else {"notes": list(self.detection.notes_)},
            cues=cue_summary(
                rec.cue_rules,
                rec.cues,
                assign_cues([t.task for t in self.tasks], rec.cues).outside,
            ),
        )


class _Context:
    """The kinematics cut to one task (plus context), with the session's standing reference
    and the algorithms to analyse it with."""

    def __init__(
        self,
        kin: SessionKinematics,
        task: Task,
        reference: dict[str, float],
        config: AnalysisConfig,
    ) -> None:
        t = kin.time_s
        i0 = int(np.searchsorted(t, task.start_s - CONTEXT_S))
        i1 = int(np.searchsorted(t, task.end_s + CONTEXT_S, side="right"))
        self.sl = slice(i0, i1)
        self.time_s = t[self.sl]
        self.kin = kin
        self.task = task
        self.reference = reference
        self.config = config

    def angle(self, name: str) -> NDArray[np.float64] | None:
        value = self.kin.angles_rad.get(name)
        if value is None:
            return None
        data = value[self.sl]
        return data if np.isfinite(data).any() else None

    def acc_world(self, placement: str) -> NDArray[np.float64] | None:
        value = self.kin.acc_world_m_s2.get(placement)
        if value is None:
            return None
        data = value[self.sl]
        return data if np.isfinite(data).any() else None

    def gyr_segment(self, placement: str) -> NDArray[np.float64] | None:
        value = self.kin.gyr_segment_rad_s.get(placement)
        return None if value is None else value[self.sl]

    def q_world(self, placement: str) -> NDArray[np.float64] | None:
        value = self.kin.q_world_segment.get(placement)
        return None if value is None else value[self.sl]


def _standing_reference(kin: SessionKinematics, tasks: tuple[Task, ...]) -> dict[str, float]:
    """Median angles over the first static task (0 when there is none: angles are already
    relative to the calibration's standing posture)."""
    standing = {r.kind for r in task_registry.task_kinds() if r.calibration.standing}
    static = next((t for t in tasks if t.kind in standing), None)
    if static is None:
        return {}
    mask = window(kin.time_s, static.start_s, static.end_s)
    out = {}
    for name, value in kin.angles_rad.items():
        data = value[mask]
        data = data[np.isfinite(data)]
        if data.size:
            out[name] = float(np.median(data))
    return out


def _analyze_static(ctx: _Context) -> TaskAnalysis:
    task = ctx.task
    mask = window(ctx.time_s, task.start_s, task.end_s)
    metrics: dict[str, Any] = {"duration_s": number(task.end_s - task.start_s, 3)}
    unavailable: dict[str, str] = {}
    for name in (
        "pelvis_tilt",
        "pelvis_obliquity",
        "trunk_tilt",
        "lumbar_flexion",
        "lumbar_lateral_bend",
        "hip_flexion_left",
        "hip_flexion_right",
    ):
        angle = ctx.angle(name)
        key = f"{name}_mean_deg"
        values = None if angle is None else angle[mask]
        if values is None or not np.isfinite(values).any():
            metrics[key] = None
            unavailable[key] = f"no {name} (sensor missing)"
        else:
            metrics[key] = number(np.degrees(np.nanmean(values)), 2)
    acc = ctx.acc_world("pelvis")
    q = ctx.q_world("pelvis")
    sway_keys = ("sway_rms_m_s2", "sway_ellipse_area_m2_s4")
    if acc is not None and q is not None and mask.sum() > 10:
        stability = ctx.config.pelvic_stability
        sway = sway_measures(
            *_horizontal_ap_ml(acc[mask], q[mask], stability.sway_lowpass_hz, ctx.kin.rate_hz)
        )
        for key in sway_keys:
            metrics[key] = number(sway[key], 5)
    else:
        for key in sway_keys:
            metrics[key] = None
            unavailable[key] = "no pelvis acceleration (needs a pelvis sensor)"
    return TaskAnalysis(task, metrics, unavailable)


def _horizontal_ap_ml(
    acc_world: NDArray[np.float64],
    q_world_pelvis: NDArray[np.float64],
    lowpass_hz: float,
    rate_hz: float,
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    from hipscope.processing.events.signals import fill_nan, lowpass

    acc = lowpass(fill_nan(acc_world), lowpass_hz, rate_hz)
    good = np.isfinite(q_world_pelvis).all(axis=1)
    if not good.any():
        return acc[:, 0], acc[:, 1]
    forward = _in_world(q_world_pelvis, _FORWARD)[good]
    heading = np.arctan2(np.mean(forward[:, 1]), np.mean(forward[:, 0]))
    return _along_heading(acc, heading)


_FORWARD = np.array([1.0, 0.0, 0.0])
"""A segment's anterior axis (ISB x) in its own frame."""


def _in_world(q_world: NDArray[np.float64], vectors: NDArray[np.float64]) -> NDArray[np.float64]:
    """Segment-frame vectors ((3,) or (N, 3)) in the world frame, sample by sample; NaN rows
    where the orientation or the vector is not finite."""
    from hipscope.base.rotations import to_rotation

    rows = np.broadcast_to(vectors, (q_world.shape[0], 3))
    out = np.full((q_world.shape[0], 3), np.nan)
    good = np.isfinite(q_world).all(axis=1) & np.isfinite(rows).all(axis=1)
    if good.any():
        out[good] = to_rotation(q_world[good]).apply(rows[good])
    return out


def _along_heading(
    acc_world: NDArray[np.float64], heading_rad: NDArray[np.float64] | float
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Horizontal acceleration split along a heading (anterior-posterior) and to its left
    (mediolateral)."""
    ap = acc_world[:, 0] * np.cos(heading_rad) + acc_world[:, 1] * np.sin(heading_rad)
    ml = -acc_world[:, 0] * np.sin(heading_rad) + acc_world[:, 1] * np.cos(heading_rad)
    return ap, ml


def _analyze_single_leg_stance(ctx: _Context) -> TaskAnalysis:
    task = ctx.task
    free = "right" if task.side == "left" else "left"
    stability = ctx.config.pelvic_stability.clone().compute(
        ctx.time_s,
        stance_side=task.side,
        start_s=task.start_s,
        end_s=task.end_s,
        pelvis_obliquity_rad=ctx.angle("pelvis_obliquity"),
        free_thigh_sagittal_rad=ctx.angle(f"thigh_sagittal_{free}"),
        trunk_obliquity_rad=ctx.angle("trunk_obliquity"),
        lumbar_lateral_bend_rad=ctx.angle("lumbar_lateral_bend"),
        acc_world_pelvis_m_s2=ctx.acc_world("pelvis"),
        q_world_pelvis=ctx.q_world("pelvis"),
        reference_obliquity_rad=ctx.reference.get("pelvis_obliquity", 0.0),
        reference_trunk_obliquity_rad=ctx.reference.get("trunk_obliquity", 0.0),
        reference_lateral_bend_rad=ctx.reference.get("lumbar_lateral_bend", 0.0),
    )
    row = {"side": task.side, **{k: v for k, v in stability.metrics_.items()}}
    return TaskAnalysis(
        task, dict(stability.metrics_), dict(stability.unavailable_), stability.series_, [row]
    )


def _mean_hip_flexion(ctx: _Context) -> NDArray[np.float64] | None:
    sides = [
        a for a in (ctx.angle("hip_flexion_left"), ctx.angle("hip_flexion_right")) if a is not None
    ]
    if not sides:
        return None
    if len(sides) == 1:
        return sides[0]
    # the mean of the sides that have a value (NaN where neither has, without numpy's
    # "Mean of empty slice" warning over a gap)
    stacked = np.vstack(sides)
    finite = np.isfinite(stacked)
    count = finite.sum(axis=0)
    total = np.where(finite, stacked, 0.0).sum(axis=0)
    return np.divide(total, count, out=np.full(count.shape, np.nan), where=count > 0)


def _analyze_repetitions(ctx: _Context) -> TaskAnalysis:
    task = ctx.task
    drive = ctx.config.hip_drive.clone().compute(
        ctx.time_s,
        hip_flexion_rad=_mean_hip_flexion(ctx),
        lumbar_flexion_rad=ctx.angle("lumbar_flexion"),
        start_s=task.start_s,
        end_s=task.end_s,
        start_posture=task_registry.get(task.kind).option("start_posture", "extended"),
    )
    rows = [{"rep": i + 1, **r} for i, r in enumerate(drive.repetitions_)]
    return TaskAnalysis(task, drive.metrics_, dict(drive.unavailable_), drive.series_, rows)


def _pelvis_horizontal(
    acc_world: NDArray[np.float64], q_world_pelvis: NDArray[np.float64]
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Horizontal acceleration along the pelvis's own heading, sample by sample (turns too)."""
    forward = _in_world(q_world_pelvis, _FORWARD)
    return _along_heading(acc_world, np.arctan2(forward[:, 1], forward[:, 0]))


def _analyze_gait(ctx: _Context) -> TaskAnalysis:
    task = ctx.task
    acc = ctx.acc_world("pelvis")
    gyr = ctx.gyr_segment("pelvis")
    acc_vertical = None if acc is None else acc[:, 2]
    detector = ctx.config.gait_events.clone().detect(
        ctx.time_s,
        acc_vertical_m_s2=acc_vertical,
        gyr_roll_rad_s=None if gyr is None else gyr[:, 0],
        thigh_sagittal_left_rad=ctx.angle("thigh_sagittal_left"),
        thigh_sagittal_right_rad=ctx.angle("thigh_sagittal_right"),
        start_s=task.start_s,
        end_s=task.end_s,
    )
    events = detector.events_
    q = ctx.q_world("pelvis")
    ap, ml = _pelvis_horizontal(acc, q) if acc is not None and q is not None else (None, None)
    # --- gait sides and foot-off (processing/events/refine.py) ---
    events = ctx.config.gait_refinement.clone().refine(
        ctx.time_s,
        events,
        acc_vertical_m_s2=acc_vertical,
        gyr_yaw_rad_s=_world_vertical_rate(gyr, q),
        gyr_roll_rad_s=None if gyr is None else gyr[:, 0],
        acc_ml_m_s2=ml,
        thigh_sagittal_left_rad=ctx.angle("thigh_sagittal_left"),
        thigh_sagittal_right_rad=ctx.angle("thigh_sagittal_right"),
        start_s=task.start_s,
        end_s=task.end_s,
    ).events_
    # --- end gait sides and foot-off ---
    turns = ctx.config.straight_walking.clone()
    straight = None if q is None else turns.detect(q, ctx.kin.rate_hz).straight_
    gait = ctx.config.gait_symmetry.clone().compute(
        ctx.time_s,
        events,
        start_s=task.start_s,
        end_s=task.end_s,
        acc_vertical_m_s2=acc_vertical,
        thigh_sagittal_left_rad=ctx.angle("thigh_sagittal_left"),
        thigh_sagittal_right_rad=ctx.angle("thigh_sagittal_right"),
        straight_mask=straight,
        acc_ap_m_s2=ap,
        acc_ml_m_s2=ml,
    )
    metrics = dict(gait.metrics_)
    metrics["contact_source"] = events.source
    pelvis = ctx.config.walking_pelvis.clone().compute(
        ctx.time_s,
        events,
        start_s=task.start_s,
        end_s=task.end_s,
        pelvis_obliquity_rad=ctx.angle("pelvis_obliquity"),
        hip_flexion_left_rad=ctx.angle("hip_flexion_left"),
        hip_flexion_right_rad=ctx.angle("hip_flexion_right"),
        reference=ctx.reference,
    )
    metrics.update(pelvis.metrics_)
    # --- step-time asymmetry with its interval (processing/metrics/step_asymmetry.py) ---
    unavailable = {**gait.unavailable_, **pelvis.unavailable_}
    contact_straight = (
        None
        if straight is None
        else contacts_in_straight_walking(ctx.time_s, straight, events.ic_time_s)
    )
    if straight is not None:
        metrics["turns_s"] = turning_intervals(ctx.time_s, straight, task.start_s, task.end_s)
    apply_step_asymmetry(
        metrics,
        unavailable,
        events,
        ctx.config.step_asymmetry,
        contact_straight=contact_straight,
    )
    # --- end step-time asymmetry ---
    series = dict(gait.series_)
    series["initial_contacts_s"] = events.ic_time_s
    return TaskAnalysis(task, metrics, unavailable, series, gait.steps_, events)


def _world_vertical_rate(
    gyr_segment: NDArray[np.float64] | None, q_world_segment: NDArray[np.float64] | None
) -> NDArray[np.float64] | None:
    """Angular velocity about the world vertical (positive counter-clockwise from above)."""
    if gyr_segment is None or q_world_segment is None:
        return None
    return _in_world(q_world_segment, gyr_segment)[:, 2]


RECORDED_ONLY = "recorded, no metrics"
"""The reason every view gives for a task kind without an analyser."""


def _analyze_recorded(ctx: _Context) -> TaskAnalysis:
    return TaskAnalysis(
        ctx.task,
        {"duration_s": number(ctx.task.end_s - ctx.task.start_s, 3)},
        {"metrics": RECORDED_ONLY},
    )


Analyser = Callable[[_Context], TaskAnalysis]


def analyser_for(kind: str) -> Analyser:
    """The analyser the kind's registry record names (recorded-only without one)."""
    record = task_registry.get(kind)
    if record.analyser is None:
        return _analyze_recorded
    analyser = task_registry.resolve(record.analyser)
    if not callable(analyser):
        raise HipscopeError(f"task kind {kind!r}: analyser {record.analyser!r} is not callable")
    return analyser


def _left_right(tasks: list[TaskAnalysis]) -> None:
    """Add the left-minus-right difference of single-leg-stance pelvic drop to each stance."""
    stance_kinds = set(task_registry.kind_names("stance"))
    stances = [t for t in tasks if t.task.kind in stance_kinds]
    means = {}
    for side in ("left", "right"):
        drops = [t.metrics.get("pelvic_drop_mean_deg") for t in stances if t.task.side == side]
        values = [float(v) for v in drops if v is not None]
        if values:
            means[side] = float(np.mean(values))
    for t in stances:
        if "left" in means and "right" in means:
            t.metrics["pelvic_drop_lr_diff_deg"] = number(means["left"] - means["right"], 2)
        else:
            t.metrics["pelvic_drop_lr_diff_deg"] = None
            t.unavailable["pelvic_drop_lr_diff_deg"] = (
                "needs pelvic drop in both left and right stance"
            )


def analyze_recording(
    recording: Recording | str | Path,
    *,
    fusion: str = "vqf-offline",
    progress: Progress | None = None,
    config: AnalysisConfig | None = None,
    detect: bool | None = None,
    detector: TaskDetector | None = None,
) -> SessionAnalysis:
    """Kinematics, events and metrics of every task row of a recording, in order, with the
    algorithms of ``config`` (default: every algorithm with its default parameters).

    detect: True analyses the tasks ``detector`` (default ``config.task_detection``) finds
    instead of the task rows; None (default) does so only when the recording has no task
    rows.
    """
    config = config or AnalysisConfig()
    report = progress or (lambda _message, _fraction: None)
    if not isinstance(recording, Recording):
        report("reading recording", 0.0)
        recording = load_recording(recording)
    report("fusion and calibration", 0.05)
    screened, quality_notes = screen_samples(recording)
    kin = with_notes(compute_kinematics(screened, fusion=fusion), quality_notes)
    # --- automatic task detection (processing/task_detection.py) ---
    detection = None
    tasks: tuple[Task, ...] = recording.tasks
    confidence: dict[int, float] = {}
    if detect or (detect is None and not recording.tasks):
        report("detecting tasks", 0.5)
        detection = detect_tasks(kin, detector or config.task_detection)
        tasks = tuple(d.task for d in detection.tasks_)
        confidence = {i: d.confidence for i, d in enumerate(detection.tasks_)}
        if not recording.tasks and tasks:
            # calibrate again on the detected quiet standing and movements, as with rows
            kin = with_notes(
                compute_kinematics(dataclasses.replace(screened, tasks=tasks), fusion=fusion),
                quality_notes,
            )
    # --- end automatic task detection ---
    reference = _standing_reference(kin, tasks)
    analyses = []
    n = max(len(tasks), 1)
    for i, task in enumerate(tasks):
        report(f"task {i + 1}/{n}: {task.label}", 0.6 + 0.4 * i / n)
        analysis = analyser_for(task.kind)(_Context(kin, task, reference, config))
        if detection is not None:
            analysis.source, analysis.confidence = SOURCE_DETECTED, confidence[i]
        else:
            analysis.source = task.source  # a row saved from review keeps where it came from
        analyses.append(analysis)
    _left_right(analyses)
    # --- live cues into their tasks (processing/cues.py) ---
    if recording.cues or recording.cue_rules:
        assigned = assign_cues(tasks, recording.cues)
        for analysis, cues in zip(analyses, assigned.per_task, strict=True):
            analysis.cues = cues
    # --- end live cues ---
    report("done", 1.0)
    return SessionAnalysis(recording, kin, analyses, config, detection)


def analyze_file(path: str | Path, config: AnalysisConfig | None = None) -> dict[str, Any]:
    """The per-file unit of `hipscope batch`: the JSON-ready metrics of one recording."""
    return analyze_recording(path, config=config).to_dict()
