"""Motion simulator: a screen protocol as segment kinematics and the IMU signals it produces.

Ground truth for everything downstream. ``simulate()`` synthesises pelvis, trunk and thigh
motion for a list of task specs (quiet standing, single-leg stance, hip hinge / bridge /
squat repetitions, gait), mounts a sensor on each segment (docs/DESIGN.md nominal mounting plus
a random misalignment) and returns what the sensors measure, together with the true
segment orientations and the per-task truth (pelvic drop, hip lead, contact times ...).

Conventions (see ``hipscope.acquisition.simulation.body``): world z up, athlete initially facing
world +x; ISB segment frames (x anterior, y superior, z right); quaternions (w, x, y, z);
``q_world_segment`` maps segment vectors into the world, ``q_segment_sensor`` sensor vectors
into the segment, ``q_world_sensor = q_world_segment ⊗ q_segment_sensor``.
Accelerometer: specific force ``R_world_sensor^T (a_world + [0, 0, 9.81])``; gyroscope:
the exact angular velocity of ``q_world_sensor`` in the sensor frame (plus bias and noise).
Deterministic for a given seed.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from hipscope.acquisition.samples import SampleBatch, Task
from hipscope.acquisition.simulation.body import SEGMENTS, Body
from hipscope.acquisition.simulation.cue_drills import DropBoutsMotion, DropBoutsSpec
from hipscope.acquisition.simulation.gait import GaitMotion
from hipscope.acquisition.simulation.imu import SkinArtefact, ideal_imu, magnetometer_ut
from hipscope.acquisition.simulation.motions import (
    Motion,
    RepetitionMotion,
    SingleLegStanceMotion,
    StaticMotion,
)
from hipscope.acquisition.simulation.mounting import sensor_mounting
from hipscope.acquisition.simulation.specs import (
    GaitSpec,
    RepetitionSpec,
    SingleLegStanceSpec,
    StaticSpec,
    TaskSpec,
    full_protocol,
    screen_protocol,
)
from hipscope.acquisition.simulation.timeline import Timeline
from hipscope.base.errors import HipscopeError
from hipscope.base.rotations import quat_conjugate, quat_multiply

__all__ = [
    "GaitSpec",
    "RepetitionSpec",
    "SimulatedSession",
    "SingleLegStanceSpec",
    "StaticSpec",
    "TaskSpec",
    "full_protocol",
    "screen_protocol",
    "simulate",
]

FloatArray = NDArray[np.float64]
SIMULATED_PLACEMENTS: tuple[str, ...] = SEGMENTS
DEFAULT_MAG_WORLD_UT: tuple[float, float, float] = (20.0, 0.0, -44.0)


@dataclass(frozen=True)
class SimulatedSession:
    """A simulated recording session with its ground truth.

    Attributes
    ----------
    rate_hz
        Sampling rate of every sensor (Hz).
    time_s
        Session clock (N,), uniform from 0 s.
    samples
        Per placement: what the sensor measured (session clock, ``seq`` from 0).
    tasks
        Task rows, in order; the first is a static task of >= 3 s.
    truth
        One dict per task, same order as ``tasks``; degrees and seconds (session clock).
        Every dict has ``kind``, ``side``, ``start_s``, ``end_s``, and per kind:

        - static: ``sway_m_s2``.
        - single_leg_stance: ``pelvic_drop_deg`` (free side lower > 0), ``trunk_lean_deg``
          (towards the stance side > 0), ``hold_start_s``, ``hold_end_s``, ``hold_s``,
          ``sway_m_s2`` (RMS horizontal pelvis acceleration in the hold),
          ``free_hip_flexion_deg``, ``lift_start_s``, ``foot_down_s``.
        - hip_hinge / hip_bridge / squat: ``reps`` (list of dicts: ``start_s``, ``end_s``,
          ``rise_start_s``, ``hip_onset_s``, ``lumbar_onset_s``, ``hip_lead_ms``,
          ``hip_peak_extension_velocity_deg_s`` / ``_s``, ``lumbar_peak_extension_velocity_deg_s``
          / ``_s``), ``hip_lead_ms`` (requested mean), ``hip_lead_mean_ms`` (actual),
          ``hip_lead_jitter_ms``, ``hip_extension_deg``, ``lumbar_extension_deg``,
          ``hip_share_pct``, ``extension_duration_s``.
        - gait: ``initial_contacts_left_s`` / ``_right_s``, ``final_contacts_left_s`` /
          ``_right_s``, ``step_time_left_s`` / ``_right_s`` (means) and ``step_times_*_s``
          (every step), ``stride_time_s``, ``stance_time_*_s``, ``swing_time_*_s``,
          ``thigh_rom_left_deg`` / ``_right_deg``, ``step_time_si_pct``, ``step_time_cv``,
          ``peak_flexion_before_contact_s``, ``speed_m_s``, ``cadence_steps_min``,
          ``steady_start_s`` / ``steady_end_s`` (between gait initiation and termination).
    q_world_segment
        True ISB segment orientation (N, 4) at ``time_s`` for all four segments.
    q_segment_sensor
        True mounting per simulated sensor (4,): nominal ⊗ misalignment, sensor -> segment.
    seed
        The seed that produced the session.
    misalignment_deg
        Angle of each sensor's misalignment from the nominal mounting (degrees).
    gyr_bias_rad_s
        Constant gyroscope bias added to each sensor (rad/s, zeros without noise).
    mag_world_ut
        Earth field in the world frame (µT) when magnetometers were simulated, else None.
    position_m
        True world position (N, 3) of each sensor (m; world x is the walking direction).
    q_soft_tissue
        With ``soft_tissue_deg`` > 0: each sensor's rotation on the soft tissue (N, 4), in
        the segment frame; ``q_world_sensor = q_world_segment ⊗ q_soft_tissue ⊗
        q_segment_sensor``. Empty otherwise (no soft-tissue motion).
    """

    rate_hz: float
    time_s: FloatArray
    samples: dict[str, SampleBatch]
    tasks: list[Task]
    truth: list[dict[str, Any]]
    q_world_segment: dict[str, FloatArray]
    q_segment_sensor: dict[str, FloatArray]
    seed: int = 0
    misalignment_deg: dict[str, float] = field(default_factory=dict)
    gyr_bias_rad_s: dict[str, FloatArray] = field(default_factory=dict)
    mag_world_ut: tuple[float, float, float] | None = None
    position_m: dict[str, FloatArray] = field(default_factory=dict)
    q_soft_tissue: dict[str, FloatArray] = field(default_factory=dict)

    @property
    def duration_s(self) -> float:
        return float(len(self.time_s) / self.rate_hz)

    def q_world_sensor(self, placement: str) -> FloatArray:
        """True sensor orientation (N, 4): q_world_segment ⊗ (q_soft_tissue ⊗) q_segment_sensor."""
        q = self.q_world_segment[placement]
        if placement in self.q_soft_tissue:
            q = quat_multiply(q, self.q_soft_tissue[placement])
        return quat_multiply(q, self.q_segment_sensor[placement])

    def truth_dict(self) -> dict[str, Any]:
        """Everything known about the session, JSON-ready (degrees at this edge)."""
        return {
            "generator": "hipscope simulator",
            "seed": self.seed,
            "rate_hz": self.rate_hz,
            "duration_s": self.duration_s,
            "conventions": "world z up, athlete faces +x at start; ISB segment frames; "
            "quaternions (w, x, y, z); q_segment_sensor maps sensor vectors into the segment",
            "sensors": {
                p: {
                    "q_segment_sensor": self.q_segment_sensor[p].tolist(),
                    "misalignment_deg": self.misalignment_deg.get(p),
                    "gyr_bias_rad_s": self.gyr_bias_rad_s[p].tolist()
                    if p in self.gyr_bias_rad_s
                    else None,
                }
                for p in self.samples
            },
            "mag_world_ut": list(self.mag_world_ut) if self.mag_world_ut else None,
            "soft_tissue": bool(self.q_soft_tissue),
            "tasks": self.truth,
        }

    def write(
        self,
        path: str | Path,
        *,
        athlete: str = "",
        session_id: str | None = None,
        truth_path: str | Path | None = None,
    ) -> Path:
        """Write a format-v1 recording (profile "simulated", task rows); returns its path.

        ``truth_path`` additionally writes ``truth_dict()`` as JSON there.
        """
        from hipscope.acquisition.recorder import Recorder, SensorMeta

        path = Path(path)
        metas = [
            SensorMeta(
                placement=p,
                device_name=f"hipscope-sim-{p}",
                device_address=f"00:00:5E:00:53:{i:02X}",
                profile="simulated",
                nominal_rate_hz=self.rate_hz,
                has_mag=batch.mag_ut is not None,
                has_seq=True,
            )
            for i, (p, batch) in enumerate(self.samples.items())
        ]
        with Recorder(path, metas, session_id=session_id, athlete=athlete) as recorder:
            for task in self.tasks:
                recorder.add_task(task)
            for placement, batch in self.samples.items():
                recorder.append(placement, batch)
                recorder.set_sensor_attrs(
                    placement,
                    sim_seed=int(self.seed),
                    sim_q_segment_sensor=self.q_segment_sensor[placement],
                )
        if truth_path is not None:
            Path(truth_path).write_text(json.dumps(self.truth_dict(), indent=1))
        return path


def _motion(spec: TaskSpec, body: Body, rng: np.random.Generator) -> Motion:
    if isinstance(spec, StaticSpec):
        return StaticMotion(spec, body, rng)
    if isinstance(spec, DropBoutsSpec):  # a SingleLegStanceSpec with scripted rule breaks
        return DropBoutsMotion(spec, body, rng)
    if isinstance(spec, SingleLegStanceSpec):
        return SingleLegStanceMotion(spec, body, rng)
    if isinstance(spec, RepetitionSpec):
        return RepetitionMotion(spec, body, rng)
    if isinstance(spec, GaitSpec):
        return GaitMotion(spec, body, rng)
    raise HipscopeError(
        f"unknown task spec {type(spec).__name__}; expected StaticSpec, "
        "SingleLegStanceSpec, RepetitionSpec or GaitSpec"
    )


def simulate(
    protocol: Sequence[TaskSpec] | None = None,
    *,
    rate_hz: float = 100.0,
    seed: int = 0,
    misalignment_deg: float = 10.0,
    noise: bool = True,
    placements: Sequence[str] = SIMULATED_PLACEMENTS,
    with_mag: bool = False,
    pause_s: float = 3.0,
    lead_in_s: float = 1.0,
    tail_s: float = 1.0,
    acc_noise_m_s2: float = 0.02,
    gyr_noise_rad_s: float = 0.003,
    gyr_bias_max_rad_s: float = 0.01,
    mag_noise_ut: float = 0.3,
    mag_world_ut: Sequence[float] = DEFAULT_MAG_WORLD_UT,
    body: Body | None = None,
    soft_tissue_deg: float = 0.0,
    skin_artefact_deg: float = 0.0,
    mounting_heading_deg: float | None = 0.0,
) -> SimulatedSession:
    """Simulate a screen session.

    Parameters
    ----------
    protocol
        Task specs in order (default ``screen_protocol()``). A ``StaticSpec`` of the default
        5 s is put first when the protocol does not open with a static task of >= 3 s.
    rate_hz
        Sampling rate of every sensor (Hz, default 100; 10..1000 accepted, 60..200 typical).
    seed
        Seed of every random choice (misalignment, noise, bias, sway, per-rep variation).
    misalignment_deg
        Largest mounting misalignment (degrees, default 10): each sensor is rotated from its
        nominal mounting about a random axis by an angle uniform in [max/2, max]; 0 = none.
    noise
        Add white noise and gyroscope bias (default True); False gives ideal signals.
    placements
        Sensors to simulate (default pelvis, trunk, thigh_left, thigh_right).
    with_mag
        Add a magnetometer: the constant earth field rotated into the sensor frame.
    pause_s
        Quiet standing between tasks (s, default 3.0; no task rows there).
    lead_in_s, tail_s
        Quiet standing before the first and after the last task (s, default 1.0 each).
    acc_noise_m_s2
        Accelerometer white-noise standard deviation per axis (m/s², default 0.02).
    gyr_noise_rad_s
        Gyroscope white-noise standard deviation per axis (rad/s, default 0.003).
    gyr_bias_max_rad_s
        Constant gyroscope bias per axis, uniform in ±this (rad/s, default 0.01).
    mag_noise_ut
        Magnetometer white-noise standard deviation per axis (µT, default 0.3).
    mag_world_ut
        Earth field in the world frame (µT, default (20, 0, -44): north along +x, 65° dip).
    body
        Body dimensions (default ``Body()``).
    soft_tissue_deg
        Soft-tissue motion of the sensors relative to their segments (degrees, default 0 =
        rigidly attached): thigh sensors turn about the thigh's long axis by this much per
        45° of thigh flexion, and every sensor wobbles (12 Hz, damped, up to this much on the
        thighs, half on pelvis and trunk) after foot contacts. A robustness knob; the
        sensor's true orientation then includes it (``SimulatedSession.q_world_sensor``).
    skin_artefact_deg
        RMS of a band-limited (2-10 Hz) random rotation of each sensor on its segment while
        the segment turns (degrees, default 0 = none; ``simulation.imu.SkinArtefact``).
    mounting_heading_deg
        Turn of every sensor about its segment's long axis before the misalignment (degrees,
        default 0; None: a random heading per sensor, uniform over the full circle).
        ``misalignment_deg`` then reports each sensor's whole angle from the nominal mounting.
    """
    if not 10.0 <= rate_hz <= 1000.0:
        raise HipscopeError(f"rate_hz must be within 10..1000 Hz, got {rate_hz}")
    if not 0.0 <= misalignment_deg <= 45.0:
        raise HipscopeError(f"misalignment_deg must be within 0..45°, got {misalignment_deg}")
    placements = tuple(placements)
    unknown = [p for p in placements if p not in SIMULATED_PLACEMENTS]
    if unknown or not placements or len(set(placements)) != len(placements):
        raise HipscopeError(
            f"placements must be distinct values of {', '.join(SIMULATED_PLACEMENTS)}, "
            f"got {', '.join(placements) or 'none'}"
        )
    if min(pause_s, lead_in_s, tail_s) < 0.0:
        raise HipscopeError("pause_s, lead_in_s and tail_s must be >= 0")
    body = body or Body()
    specs = list(screen_protocol() if protocol is None else protocol)
    if not specs or not (isinstance(specs[0], StaticSpec) and specs[0].duration_s >= 3.0):
        specs.insert(0, StaticSpec())
    motions = [_motion(s, body, np.random.default_rng([seed, 1, i])) for i, s in enumerate(specs)]
    timeline = Timeline(motions, body, lead_in_s=lead_in_s, pause_s=pause_s, tail_s=tail_s)

    n = round(timeline.duration_s * rate_hz)
    time_s = np.arange(n, dtype=np.float64) / rate_hz
    q_segment_sensor: dict[str, FloatArray] = {}
    misalignment: dict[str, float] = {}
    for p in placements:
        index = SIMULATED_PLACEMENTS.index(p)
        heading = mounting_heading_deg
        if heading is None:
            heading = float(np.random.default_rng([seed, 4, index]).uniform(-180.0, 180.0))
        rng = np.random.default_rng([seed, 2, index])
        q_segment_sensor[p], misalignment[p] = sensor_mounting(p, rng, misalignment_deg, heading)
    if not 0.0 <= soft_tissue_deg <= 15.0:
        raise HipscopeError(f"soft_tissue_deg must be within 0..15°, got {soft_tissue_deg}")
    if not 0.0 <= skin_artefact_deg <= 10.0:
        raise HipscopeError(f"skin_artefact_deg must be within 0..10°, got {skin_artefact_deg}")
    ideal, q_world_segment = ideal_imu(
        timeline.pose,
        time_s,
        q_segment_sensor,
        placements,
        body,
        soft_tissue_deg=soft_tissue_deg,
        skin_artefact=SkinArtefact(skin_artefact_deg) if skin_artefact_deg > 0.0 else None,
        seed=seed,
    )

    samples: dict[str, SampleBatch] = {}
    biases: dict[str, FloatArray] = {}
    for p in placements:
        imu = ideal[p]
        acc, gyr = imu.acc_m_s2.copy(), imu.gyr_rad_s.copy()
        mag = magnetometer_ut(imu.q_world_sensor, mag_world_ut) if with_mag else None
        rng = np.random.default_rng([seed, 3, SIMULATED_PLACEMENTS.index(p)])
        bias = rng.uniform(-gyr_bias_max_rad_s, gyr_bias_max_rad_s, 3)
        acc_noise = rng.standard_normal((n, 3))
        gyr_noise = rng.standard_normal((n, 3))
        mag_noise = rng.standard_normal((n, 3))
        if noise:
            acc += acc_noise_m_s2 * acc_noise
            gyr += bias + gyr_noise_rad_s * gyr_noise
            if mag is not None:
                mag += mag_noise_ut * mag_noise
            biases[p] = bias
        else:
            biases[p] = np.zeros(3)
        samples[p] = SampleBatch(
            time_s,
            acc.astype(np.float32),
            gyr.astype(np.float32),
            None if mag is None else mag.astype(np.float32),
            np.arange(n, dtype=np.uint32),
        )

    tasks: list[Task] = []
    truth: list[dict[str, Any]] = []
    for placed in timeline.placed:
        row = placed.motion.truth(placed.start_s)
        start_s = float(row["start_s"])  # type: ignore[arg-type]
        end_s = float(row["end_s"])  # type: ignore[arg-type]
        tasks.append(Task(str(row["kind"]), str(row["side"]), start_s, end_s))
        truth.append(row)
    return SimulatedSession(
        rate_hz=float(rate_hz),
        time_s=time_s,
        samples=samples,
        tasks=tasks,
        truth=truth,
        q_world_segment={p: q_world_segment[p] for p in SIMULATED_PLACEMENTS},
        q_segment_sensor=q_segment_sensor,
        seed=int(seed),
        misalignment_deg=misalignment,
        gyr_bias_rad_s=biases,
        mag_world_ut=tuple(float(v) for v in mag_world_ut) if with_mag else None,  # type: ignore[arg-type]
        position_m={p: ideal[p].position_m for p in placements},
        q_soft_tissue=(
            {
                p: quat_multiply(
                    quat_multiply(quat_conjugate(q_world_segment[p]), ideal[p].q_world_sensor),
                    quat_conjugate(q_segment_sensor[p]),
                )
                for p in placements
            }
            if soft_tissue_deg > 0.0 or skin_artefact_deg > 0.0
            else {}
        ),
    )
