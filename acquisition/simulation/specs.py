"""What the simulated athlete does: one small spec per task, and the default screen protocol."""

from __future__ import annotations

import math
from dataclasses import dataclass

from hipscope.base import tasks as task_registry
from hipscope.base.errors import HipscopeError


def _check(condition: bool, message: str) -> None:
    if not condition:
        raise HipscopeError(message)


@dataclass(frozen=True)
class StaticSpec:
    """Quiet standing.

    Parameters
    ----------
    duration_s
        Length of the task (s, default 5.0; the recording's opening static must be >= 3 s).
    sway_m_s2
        RMS horizontal pelvis acceleration of postural sway (m/s², default 0.02; 0 = still).
    """

    duration_s: float = 5.0
    sway_m_s2: float = 0.02

    def __post_init__(self) -> None:
        _check(
            self.duration_s >= 1.0, f"StaticSpec.duration_s must be >= 1 s, got {self.duration_s}"
        )
        _check(self.sway_m_s2 >= 0.0, f"StaticSpec.sway_m_s2 must be >= 0, got {self.sway_m_s2}")


@dataclass(frozen=True)
class SingleLegStanceSpec:
    """Single-leg stance on ``side``: shift weight, lift the free foot, hold, put it down.

    Parameters
    ----------
    side
        Stance side, "left" or "right" (the other foot is lifted).
    hold_s
        Duration of the steady hold (s, default 10.0).
    pelvic_drop_deg
        Steady pelvic drop during the hold: obliquity change relative to quiet standing,
        positive when the free side is lower (degrees, default 5.0).
    trunk_lean_deg
        Steady trunk inclination relative to world vertical in the frontal plane, positive
        towards the stance side (degrees, default 2.0). The trunk-on-pelvis bend follows
        from it and the drop.
    sway_m_s2
        RMS horizontal acceleration of the pelvis during the hold (m/s², default 0.15).
    free_hip_flexion_deg
        Flexion of the lifted thigh (degrees, default 40.0).
    lift_s
        Duration of lifting and of lowering the free foot (s, default 0.5).
    weight_shift_s
        Duration of the lateral weight shift before lifting and after lowering (s, 0.5).
    weight_shift_m
        Lateral pelvis shift towards the stance side (m, default 0.05).
    """

    side: str
    hold_s: float = 10.0
    pelvic_drop_deg: float = 5.0
    trunk_lean_deg: float = 2.0
    sway_m_s2: float = 0.15
    free_hip_flexion_deg: float = 40.0
    lift_s: float = 0.5
    weight_shift_s: float = 0.5
    weight_shift_m: float = 0.05

    def __post_init__(self) -> None:
        _check(
            self.side in ("left", "right"),
            f"SingleLegStanceSpec.side must be 'left' or 'right', got {self.side!r}",
        )
        _check(self.hold_s >= 1.0, f"SingleLegStanceSpec.hold_s must be >= 1 s, got {self.hold_s}")
        _check(
            abs(self.pelvic_drop_deg) <= 30.0,
            f"SingleLegStanceSpec.pelvic_drop_deg must be within ±30°, got {self.pelvic_drop_deg}",
        )
        _check(
            abs(self.trunk_lean_deg) <= 30.0,
            f"SingleLegStanceSpec.trunk_lean_deg must be within ±30°, got {self.trunk_lean_deg}",
        )
        _check(
            self.sway_m_s2 >= 0.0,
            f"SingleLegStanceSpec.sway_m_s2 must be >= 0, got {self.sway_m_s2}",
        )
        _check(
            0.0 < self.free_hip_flexion_deg <= 100.0,
            "SingleLegStanceSpec.free_hip_flexion_deg must be in (0, 100], "
            f"got {self.free_hip_flexion_deg}",
        )
        _check(
            self.lift_s >= 0.2 and self.weight_shift_s >= 0.2,
            "SingleLegStanceSpec.lift_s and weight_shift_s must be >= 0.2 s",
        )


REPETITION_KINDS: tuple[str, ...] = task_registry.kind_names("repetitions")
"""The repetition kinds of the task registry (the simulator has a movement for each)."""


@dataclass(frozen=True)
class RepetitionSpec:
    """Repetitions of a hip hinge, hip bridge (lying supine) or squat.

    In each extension (rising) phase, hip extension (thigh relative to pelvis) starts at
    ``t_hip`` and lumbar extension (trunk relative to pelvis) at ``t_hip + hip_lead_ms``;
    both follow the same minimum-jerk profile of duration ``up_s``.

    Parameters
    ----------
    kind
        "hip_hinge" (default), "hip_bridge" or "squat".
    reps
        Number of repetitions (default 5).
    hip_lead_ms
        Mean lead of hip extension over lumbar extension (ms, default 80.0; negative: the
        lower back starts first).
    hip_lead_jitter_ms
        Standard deviation of a per-repetition random variation of the lead (ms, default
        10.0); the truth records every repetition's actual lead.
    depth
        Scale of the flexion amplitudes (default 1.0: hinge 60° hip / 20° lumbar flexion,
        squat 105° / 15°, bridge 45° hip extension / 8° lumbar extension).
    down_s
        Duration of the flexion phase (s, default 1.2).
    pause_s
        Pause at the bottom (at the top for a bridge) (s, default 0.4).
    up_s
        Duration of each extension profile (s, default 1.0).
    rest_s
        Rest between repetitions (s, default 1.0).
    variability
        Rep-to-rep variability: each repetition's depth, ``down_s``, ``pause_s`` and
        ``up_s`` are scaled by 1 + this × a standard normal draw, clipped to ±2.5 ×
        (default 0.0: every repetition alike). ``pause_s`` = 0 gives "bounce" repetitions
        that reverse without a pause.
    """

    kind: str = "hip_hinge"
    reps: int = 5
    hip_lead_ms: float = 80.0
    hip_lead_jitter_ms: float = 10.0
    depth: float = 1.0
    down_s: float = 1.2
    pause_s: float = 0.4
    up_s: float = 1.0
    rest_s: float = 1.0
    variability: float = 0.0

    def __post_init__(self) -> None:
        kinds = task_registry.kind_names("repetitions")
        _check(
            self.kind in kinds,
            f"RepetitionSpec.kind must be one of {', '.join(kinds)}, got {self.kind!r}",
        )
        _check(self.reps >= 1, f"RepetitionSpec.reps must be >= 1, got {self.reps}")
        _check(
            abs(self.hip_lead_ms) <= 500.0,
            f"RepetitionSpec.hip_lead_ms must be within ±500 ms, got {self.hip_lead_ms}",
        )
        _check(
            self.hip_lead_jitter_ms >= 0.0,
            f"RepetitionSpec.hip_lead_jitter_ms must be >= 0, got {self.hip_lead_jitter_ms}",
        )
        _check(
            0.2 <= self.depth <= 1.3,
            f"RepetitionSpec.depth must be in [0.2, 1.3], got {self.depth}",
        )
        for name in ("down_s", "up_s"):
            _check(
                getattr(self, name) >= 0.3,
                f"RepetitionSpec.{name} must be >= 0.3 s, got {getattr(self, name)}",
            )
        _check(
            0.0 <= self.variability <= 0.3,
            f"RepetitionSpec.variability must be in [0, 0.3], got {self.variability}",
        )
        for name in ("pause_s", "rest_s"):
            _check(
                getattr(self, name) >= 0.0,
                f"RepetitionSpec.{name} must be >= 0 s, got {getattr(self, name)}",
            )


@dataclass(frozen=True)
class GaitSpec:
    """Walking forward in a straight line, starting and ending in quiet standing.

    Parameters
    ----------
    duration_s
        Length of the walking bout including one stride of gait initiation and one of
        termination (s, default 30.0).
    step_time_left_s, step_time_right_s
        Step times (s, default 0.55 each); a left step ends at a left initial contact.
    thigh_rom_left_deg, thigh_rom_right_deg
        Peak-to-peak sagittal thigh angle in steady walking (degrees, default 45.0 each).
    speed_m_s
        Mean walking speed in steady walking (m/s, default 1.2).
    stance_fraction
        Mean stance time as a fraction of the stride (default 0.6, range 0.55..0.65).
    heel_strike_m_s2
        Peak of the short upward pelvis acceleration at each initial contact (m/s², 5.0).
    step_time_cv
        Coefficient of variation of individual step times (default 0.0: every step exactly
        as requested; healthy adults show about 0.01..0.03). The truth lists every step.
    peak_flexion_before_contact_s
        How long before its initial contact a thigh reaches peak flexion (s, default 0.04;
        differs between people, about -0.01..0.15).
    """

    duration_s: float = 30.0
    step_time_left_s: float = 0.55
    step_time_right_s: float = 0.55
    thigh_rom_left_deg: float = 45.0
    thigh_rom_right_deg: float = 45.0
    speed_m_s: float = 1.2
    stance_fraction: float = 0.6
    heel_strike_m_s2: float = 5.0
    step_time_cv: float = 0.0
    peak_flexion_before_contact_s: float = 0.04

    def __post_init__(self) -> None:
        for name in ("step_time_left_s", "step_time_right_s"):
            value = getattr(self, name)
            _check(0.3 <= value <= 1.2, f"GaitSpec.{name} must be in [0.3, 1.2] s, got {value}")
        ratio = self.step_time_left_s / self.step_time_right_s
        _check(
            0.75 <= ratio <= 1.0 / 0.75,
            f"GaitSpec step times {self.step_time_left_s} / {self.step_time_right_s} s are too "
            "asymmetric (left / right must be within 0.75..1.33)",
        )
        stride_s = self.step_time_left_s + self.step_time_right_s
        _check(
            self.duration_s >= 4.0 * stride_s,
            f"GaitSpec.duration_s must be >= 4 strides ({4 * stride_s:.2f} s), "
            f"got {self.duration_s}",
        )
        for name in ("thigh_rom_left_deg", "thigh_rom_right_deg"):
            value = getattr(self, name)
            _check(5.0 <= value <= 90.0, f"GaitSpec.{name} must be in [5, 90]°, got {value}")
        _check(
            0.2 <= self.speed_m_s <= 3.0,
            f"GaitSpec.speed_m_s must be in [0.2, 3.0], got {self.speed_m_s}",
        )
        _check(
            0.55 <= self.stance_fraction <= 0.65,
            f"GaitSpec.stance_fraction must be in [0.55, 0.65], got {self.stance_fraction}",
        )
        _check(
            math.isfinite(self.heel_strike_m_s2) and self.heel_strike_m_s2 >= 0.0,
            f"GaitSpec.heel_strike_m_s2 must be >= 0, got {self.heel_strike_m_s2}",
        )
        _check(
            0.0 <= self.step_time_cv <= 0.08,
            f"GaitSpec.step_time_cv must be in [0, 0.08], got {self.step_time_cv}",
        )
        _check(
            -0.05 <= self.peak_flexion_before_contact_s <= 0.2,
            "GaitSpec.peak_flexion_before_contact_s must be in [-0.05, 0.2] s, "
            f"got {self.peak_flexion_before_contact_s}",
        )


TaskSpec = StaticSpec | SingleLegStanceSpec | RepetitionSpec | GaitSpec


def screen_protocol() -> list[TaskSpec]:
    """The default screen (~92 s): static, single-leg stance L and R, 5 hip hinges, 30 s of gait.

    Left and right values differ slightly so asymmetries are visible: pelvic drop 4° left
    stance vs 7° right stance, trunk lean 2° vs 4°, step times 0.55 / 0.58 s, thigh range of
    motion 44° / 40°, steps varying by 2% (CV); hip lead 80 ms.
    """
    return [
        StaticSpec(duration_s=5.0),
        SingleLegStanceSpec("left", hold_s=10.0, pelvic_drop_deg=4.0, trunk_lean_deg=2.0),
        SingleLegStanceSpec("right", hold_s=10.0, pelvic_drop_deg=7.0, trunk_lean_deg=4.0),
        RepetitionSpec("hip_hinge", reps=5, hip_lead_ms=80.0),
        GaitSpec(
            duration_s=30.0,
            step_time_left_s=0.55,
            step_time_right_s=0.58,
            thigh_rom_left_deg=44.0,
            thigh_rom_right_deg=40.0,
            step_time_cv=0.02,
        ),
    ]


def full_protocol() -> list[TaskSpec]:
    """The screen plus 5 squats (lumbar first by 40 ms) and 5 hip bridges (hips lead by 120 ms).

    The bridge is done lying supine: the athlete lies down before it and stands up after it
    (outside the task row). About 150 s.
    """
    screen = screen_protocol()
    return [
        *screen[:-1],
        RepetitionSpec("squat", reps=5, hip_lead_ms=-40.0),
        RepetitionSpec("hip_bridge", reps=5, hip_lead_ms=120.0),
        screen[-1],
    ]


PROTOCOLS = {"screen": screen_protocol, "full": full_protocol}
