"""Task motions as analytic functions of time: standing, static, single-leg stance, repetitions.

A motion starts and ends in quiet standing; ``pose(t)`` (t in seconds from the motion's
start) gives the whole-body pose with the pelvis position relative to where the athlete
stood at the start. ``displacement_m`` says where the athlete stands at the end.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from hipscope.acquisition.simulation.body import PITCH, ROLL, Body, Pose
from hipscope.acquisition.simulation.profiles import (
    SmoothSway,
    impacts_m,
    plateau,
    smoothstep,
    wobbles,
)
from hipscope.acquisition.simulation.specs import RepetitionSpec, SingleLegStanceSpec, StaticSpec

FloatArray = NDArray[np.float64]


class Motion:
    """Base: quiet standing for ``duration_s``; subclasses add the movement."""

    kind: str = ""
    side: str = ""

    def __init__(self, duration_s: float, body: Body) -> None:
        self.duration_s = float(duration_s)
        self.body = body
        self.displacement_m = np.zeros(3)
        self.task_window_s: tuple[float, float] | None = None

    def pose(self, t: FloatArray) -> Pose:
        return Pose.standing(len(t), self.body)

    def truth(self, t0_s: float) -> dict[str, object]:
        """Ground truth of the task (session clock = t0_s + local time); degrees at this edge."""
        assert self.task_window_s is not None
        return {
            "kind": self.kind,
            "side": self.side,
            "start_s": t0_s + self.task_window_s[0],
            "end_s": t0_s + self.task_window_s[1],
        }


class StaticMotion(Motion):
    """Quiet standing with a little postural sway (ramped in and out over 0.5 s)."""

    kind = "static"

    def __init__(self, spec: StaticSpec, body: Body, rng: np.random.Generator) -> None:
        super().__init__(spec.duration_s, body)
        self.spec = spec
        self.sway = SmoothSway(rng, spec.sway_m_s2)
        ramp = min(0.5, 0.25 * self.duration_s)
        self.sway.rescale(ramp, self.duration_s - ramp, spec.sway_m_s2)
        self.task_window_s = (0.0, self.duration_s)

    def pose(self, t: FloatArray) -> Pose:
        pose = Pose.standing(len(t), self.body)
        if self.spec.sway_m_s2 > 0.0:
            envelope = plateau(t, 0.0, self.duration_s, min(0.5, 0.25 * self.duration_s))
            pose.pelvis_m[:, :2] += envelope[:, None] * self.sway.displacement_m(t)
        return pose

    def truth(self, t0_s: float) -> dict[str, object]:
        return {**super().truth(t0_s), "sway_m_s2": self.spec.sway_m_s2}


FOOT_DOWN_M_S2 = 1.5  # the free foot touching down ends the stance: a small vertical pulse
FOOT_DOWN_SIGMA_S = 0.02


class SingleLegStanceMotion(Motion):
    """Weight shift, free foot lift, steady hold with drop / lean / sway, foot down, shift back."""

    kind = "single_leg_stance"

    def __init__(self, spec: SingleLegStanceSpec, body: Body, rng: np.random.Generator) -> None:
        self.spec = spec
        self.side = spec.side
        shift, lift = spec.weight_shift_s, spec.lift_s
        self.t_lift = shift
        self.t_hold = shift + lift
        self.t_lower = self.t_hold + spec.hold_s
        self.t_shift_back = self.t_lower + lift
        super().__init__(self.t_shift_back + shift, body)
        self.task_window_s = (0.0, self.duration_s)
        self.sway = SmoothSway(rng, spec.sway_m_s2)
        self.sway.rescale(self.t_hold, self.t_lower, spec.sway_m_s2)
        # +1: left stance (free right side drops -> obliquity > 0, pelvis shifts to +y = left)
        self.sign = 1.0 if spec.side == "left" else -1.0

    def _lifted(self, t: FloatArray) -> FloatArray:
        """0 -> 1 while lifting, 1 in the hold, 1 -> 0 while lowering."""
        return plateau(t, self.t_lift, self.t_shift_back, self.spec.lift_s)

    def pose(self, t: FloatArray) -> Pose:
        spec, sign = self.spec, self.sign
        pose = Pose.standing(len(t), self.body)
        shifted = plateau(t, 0.0, self.duration_s, spec.weight_shift_s)
        lifted = self._lifted(t)
        pose.pelvis_m[:, 1] += sign * spec.weight_shift_m * shifted
        pose.pelvis_m[:, 2] += impacts_m(
            t, [self.t_shift_back], [FOOT_DOWN_M_S2], FOOT_DOWN_SIGMA_S
        )
        pose.wobble = wobbles(t, [self.t_shift_back], [0.5])
        if spec.sway_m_s2 > 0.0:
            pose.pelvis_m[:, :2] += lifted[:, None] * self.sway.displacement_m(t)
        # ROLL > 0 rolls a segment to its right (right side lower). The trunk lean is
        # relative to world vertical, so the trunk's roll does not include the pelvis's.
        obliquity = sign * np.radians(spec.pelvic_drop_deg) * lifted
        trunk_roll = -sign * np.radians(spec.trunk_lean_deg) * lifted
        free = "thigh_right" if spec.side == "left" else "thigh_left"
        pose.set("pelvis", ROLL, obliquity)
        pose.set("trunk", ROLL, trunk_roll)
        pose.set(free, ROLL, obliquity)
        pose.set(free, PITCH, np.radians(spec.free_hip_flexion_deg) * lifted)
        return pose

    def truth(self, t0_s: float) -> dict[str, object]:
        spec = self.spec
        return {
            **super().truth(t0_s),
            "pelvic_drop_deg": spec.pelvic_drop_deg,
            "trunk_lean_deg": spec.trunk_lean_deg,
            # trunk on pelvis, positive = trunk leaning right on the pelvis
            "lumbar_lateral_bend_deg": -self.sign * (spec.trunk_lean_deg + spec.pelvic_drop_deg),
            "sway_m_s2": spec.sway_m_s2,
            "free_hip_flexion_deg": spec.free_hip_flexion_deg,
            "hold_start_s": t0_s + self.t_hold,
            "hold_end_s": t0_s + self.t_lower,
            "hold_s": spec.hold_s,
            "lift_start_s": t0_s + self.t_lift,
            "foot_down_s": t0_s + self.t_shift_back,
        }


# Flexed / extended relative angles per kind (degrees): hip flexion H (thigh on pelvis),
# lumbar flexion L (trunk on pelvis), thigh pitch Θ (forward inclination in the world).
_REP_POSES: dict[str, dict[str, tuple[float, float, float]]] = {
    "hip_hinge": {"extended": (0.0, 0.0, 0.0), "flexed": (60.0, 20.0, 12.0)},
    "squat": {"extended": (0.0, 0.0, 0.0), "flexed": (105.0, 15.0, 80.0)},
    # lying supine, knees bent: pelvis pitch = Θ - H = 90° (superior axis backwards)
    "hip_bridge": {"extended": (0.0, -8.0, 108.0), "flexed": (45.0, 0.0, 135.0)},
}
_SHANK_PER_THIGH = {"hip_hinge": 0.3, "squat": 0.4}
_LIE_DOWN_S = 3.0
_LYING_REST_S = 1.0
_LYING_PELVIS_HEIGHT_M = 0.13  # hip joints above the floor; sensors on the back touch it


class _Channel:
    """A value built from minimum-jerk transitions: start + sum of delta * step((t - t0) / d)."""

    def __init__(self, start: float) -> None:
        self.start = start
        self.steps: list[tuple[float, float, float]] = []

    def add(self, t0: float, duration_s: float, delta: float) -> None:
        self.steps.append((t0, duration_s, delta))

    def __call__(self, t: FloatArray) -> FloatArray:
        value = np.full(len(t), self.start)
        for t0, duration_s, delta in self.steps:
            value += delta * smoothstep((t - t0) / duration_s)
        return value


class RepetitionMotion(Motion):
    """Hip hinge / squat from standing, or hip bridge lying supine (with lying down and up)."""

    def __init__(self, spec: RepetitionSpec, body: Body, rng: np.random.Generator) -> None:
        self.spec = spec
        self.kind = spec.kind
        self.bridge = spec.kind == "hip_bridge"
        ext = np.radians(_REP_POSES[spec.kind]["extended"])
        flx = np.radians(_REP_POSES[spec.kind]["flexed"])
        if not self.bridge:
            flx = ext + spec.depth * (flx - ext)
        else:
            ext = flx + spec.depth * (ext - flx)
        self.extended, self.flexed = ext, flx
        start = flx if self.bridge else ext
        self.hip, self.lumbar, self.thigh = (_Channel(float(v)) for v in start)
        leads_ms = spec.hip_lead_ms + spec.hip_lead_jitter_ms * rng.standard_normal(spec.reps)
        t = _LIE_DOWN_S + _LYING_REST_S if self.bridge else 0.0
        task_start = t
        self.reps: list[dict[str, float]] = []
        # drawn only when asked for, so the default keeps its random stream
        scales = (
            np.clip(1.0 + spec.variability * rng.standard_normal((spec.reps, 4)), 0.5, 1.5)
            if spec.variability > 0.0
            else np.ones((spec.reps, 4))
        )
        for (depth, down_k, pause_k, up_k), lead_ms in zip(scales, leads_ms, strict=True):
            down_s, pause_s, up_s = spec.down_s * down_k, spec.pause_s * pause_k, spec.up_s * up_k
            lead_s = 1e-3 * float(lead_ms)
            rep_start = t
            # each repetition goes from extended to its own depth and back
            delta = depth * (ext - flx)
            if self.bridge:
                rise_start = t
            else:
                self._move_all(t, down_s, -delta)
                rise_start = t + down_s + pause_s
            t_hip = rise_start + max(0.0, -lead_s)
            t_lumbar = rise_start + max(0.0, lead_s)
            self.hip.add(t_hip, up_s, float(delta[0]))
            self.thigh.add(t_hip, up_s, float(delta[2]))
            self.lumbar.add(t_lumbar, up_s, float(delta[1]))
            t = rise_start + abs(lead_s) + up_s
            if self.bridge:
                t += pause_s
                self._move_all(t, down_s, -delta)
                t += down_s
            self.reps.append(
                {
                    "start": rep_start,
                    "rise_start": rise_start,
                    "hip_onset": t_hip,
                    "lumbar_onset": t_lumbar,
                    "hip_lead_ms": 1e3 * (t_lumbar - t_hip),
                    "end": t,
                    "depth": float(depth),
                    "up_s": float(up_s),
                }
            )
            t += spec.rest_s
        task_end = t - spec.rest_s
        duration = t + (_LYING_REST_S - spec.rest_s + _LIE_DOWN_S if self.bridge else 0.0)
        super().__init__(duration, body)
        self.task_window_s = (task_start, task_end)
        self.knee_m = self._knee_when_lying()

    def _move_all(self, t0: float, duration_s: float, delta: FloatArray) -> None:
        self.hip.add(t0, duration_s, float(delta[0]))
        self.lumbar.add(t0, duration_s, float(delta[1]))
        self.thigh.add(t0, duration_s, float(delta[2]))

    def _knee_when_lying(self) -> FloatArray:
        """Knee (x, z) relative to the standing pelvis origin, fixed during a bridge."""
        theta = self.flexed[2]
        hip = np.array([0.0, _LYING_PELVIS_HEIGHT_M - self.body.pelvis_height_m])
        return hip + self.body.thigh_length_m * np.array([np.sin(theta), -np.cos(theta)])

    def pose(self, t: FloatArray) -> Pose:
        body = self.body
        pose = Pose.standing(len(t), body)
        hip, lumbar, thigh = self.hip(t), self.lumbar(t), self.thigh(t)
        if self.bridge:
            hip_xz = self.knee_m[None, :] + body.thigh_length_m * np.stack(
                [-np.sin(thigh), np.cos(thigh)], axis=1
            )
            # lie down before and get up after the task: blend from the standing pose
            lying = smoothstep(t / _LIE_DOWN_S) * smoothstep((self.duration_s - t) / _LIE_DOWN_S)
            hip, lumbar, thigh = hip * lying, lumbar * lying, thigh * lying
            hip_xz = hip_xz * lying[:, None]
        else:
            k = _SHANK_PER_THIGH[self.kind]
            shank = k * thigh
            ls, lt = body.shank_length_m, body.thigh_length_m
            hip_xz = np.stack(
                [
                    ls * np.sin(shank) - lt * np.sin(thigh),
                    ls * np.cos(shank) + lt * np.cos(thigh) - ls - lt,
                ],
                axis=1,
            )
        pose.pelvis_m[:, 0] += hip_xz[:, 0]
        pose.pelvis_m[:, 2] += hip_xz[:, 1]
        pelvis_pitch = thigh - hip
        pose.set("pelvis", PITCH, pelvis_pitch)
        pose.set("trunk", PITCH, pelvis_pitch - lumbar)
        pose.set("thigh_left", PITCH, thigh)
        pose.set("thigh_right", PITCH, thigh)
        return pose

    def truth(self, t0_s: float) -> dict[str, object]:
        spec = self.spec
        hip_deg = float(np.degrees(abs(self.flexed[0] - self.extended[0])))
        lumbar_deg = float(np.degrees(abs(self.flexed[1] - self.extended[1])))
        # a minimum-jerk profile peaks at 1.875 x its mean velocity, halfway through
        reps = [
            {
                "index": i,
                "start_s": t0_s + r["start"],
                "end_s": t0_s + r["end"],
                "rise_start_s": t0_s + r["rise_start"],
                "hip_onset_s": t0_s + r["hip_onset"],
                "lumbar_onset_s": t0_s + r["lumbar_onset"],
                "hip_lead_ms": r["hip_lead_ms"],
                "depth": r["depth"],
                "up_s": r["up_s"],
                "hip_peak_extension_velocity_deg_s": 1.875 * r["depth"] * hip_deg / r["up_s"],
                "hip_peak_extension_velocity_s": t0_s + r["hip_onset"] + 0.5 * r["up_s"],
                "lumbar_peak_extension_velocity_deg_s": 1.875 * r["depth"] * lumbar_deg / r["up_s"],
                "lumbar_peak_extension_velocity_s": t0_s + r["lumbar_onset"] + 0.5 * r["up_s"],
            }
            for i, r in enumerate(self.reps)
        ]
        return {
            **super().truth(t0_s),
            "reps": reps,
            "hip_lead_ms": spec.hip_lead_ms,
            "hip_lead_jitter_ms": spec.hip_lead_jitter_ms,
            "hip_lead_mean_ms": float(np.mean([r["hip_lead_ms"] for r in reps])),
            "hip_extension_deg": hip_deg,
            "lumbar_extension_deg": lumbar_deg,
            "hip_share_pct": 100.0 * hip_deg / (hip_deg + lumbar_deg),
            "extension_duration_s": spec.up_s,
        }
