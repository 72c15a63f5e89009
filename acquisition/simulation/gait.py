"""Straight-line walking with chosen left/right step times and thigh ranges of motion.

Contacts alternate right, left, right ...; a left step (right contact -> left contact)
lasts ``step_time_left_s``, a right step ``step_time_right_s``, each optionally varied by
``step_time_cv``. A foot leaves the ground ``d`` after the other foot's next contact, with
the double support ``d`` chosen so the mean stance fraction is ``stance_fraction``.

Cyclic signals run on a smooth stride phase through the contacts and a skewed warp of it
(``profiles.skewed_phase``), so they stay smooth while events fall at unequal step times.
Amplitudes, speed and posture ramp in over the first stride and out over the last one
(envelope E); contacts with E >= 0.5 are reported.

``GaitVariantSpec`` (a ``GaitSpec``) changes how the pelvis moves, for the ways real walkers
differ: the roll (obliquity) pattern's sign and size, the pelvis rotation's size, the
mediolateral sway's size, and a constant cane-like lateral lean of pelvis and trunk. A plain
``GaitSpec`` walks exactly as before."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray
from scipy.interpolate import CubicSpline

from hipscope.acquisition.simulation.body import PITCH, ROLL, YAW, Body, Pose
from hipscope.acquisition.simulation.motions import Motion
from hipscope.acquisition.simulation.profiles import (
    impacts_m,
    skewed_phase,
    smoothstep,
    smoothstep_integral,
    wobbles,
)
from hipscope.acquisition.simulation.specs import GaitSpec
from hipscope.base.errors import HipscopeError

FloatArray = NDArray[np.float64]

# Typical pelvis and trunk excursions in comfortable walking (amplitudes).
PELVIS_VERTICAL_M = 0.025  # two bounces per stride, lowest just after each contact
PELVIS_MEDIOLATERAL_M = 0.03  # over the stance leg, once per stride
PELVIS_FORWARD_M = 0.025  # speed fluctuation twice per stride
PELVIS_ROTATION_RAD = np.radians(5.0)  # the swing side's hip goes forward
PELVIS_OBLIQUITY_RAD = np.radians(4.5)  # the swing side drops in single support
PELVIS_TILT_RAD = np.radians(2.5)
TRUNK_FORWARD_LEAN_RAD = np.radians(3.0)
HEEL_STRIKE_SIGMA_S = 0.015
PEAK_EXTENSION_BEFORE_TOE_OFF_S = 0.05
THIGH_MEAN_PER_ROM = 0.15  # flexion-biased thigh oscillation (e.g. +27° / -18° for 45° ROM)


@dataclass(frozen=True)
class GaitVariantSpec(GaitSpec):
    """A walk whose pelvis moves differently from the typical one (see ``GaitSpec``).

    Parameters
    ----------
    obliquity_scale
        Factor on the pelvis roll pattern (default 1: the swing side drops 4.5°); negative
        values raise the swing side (a stance-side drop, as with a Trendelenburg-like or
        Duchenne-like lean), 0 removes it.
    rotation_scale
        Factor on the pelvis rotation about the vertical (default 1: 5°).
    sway_scale
        Factor on the mediolateral pelvis sway over the stance foot (default 1: 3 cm).
    lateral_lean_deg
        Constant lean of pelvis and trunk towards the left (positive) or right while walking,
        as when leaning on a cane (degrees, default 0).
    """

    obliquity_scale: float = 1.0
    rotation_scale: float = 1.0
    sway_scale: float = 1.0
    lateral_lean_deg: float = 0.0

    def __post_init__(self) -> None:
        super().__post_init__()
        if not -2.0 <= self.obliquity_scale <= 2.0:
            raise HipscopeError(
                f"GaitVariantSpec.obliquity_scale must be in [-2, 2], got {self.obliquity_scale}"
            )
        for name in ("rotation_scale", "sway_scale"):
            value = getattr(self, name)
            if not 0.0 <= value <= 2.0:
                raise HipscopeError(f"GaitVariantSpec.{name} must be in [0, 2], got {value}")
        if not -15.0 <= self.lateral_lean_deg <= 15.0:
            raise HipscopeError(
                "GaitVariantSpec.lateral_lean_deg must be in [-15, 15]°, "
                f"got {self.lateral_lean_deg}"
            )


class GaitMotion(Motion):
    """A walking bout along world +x (the athlete's initial facing direction)."""

    kind = "gait"

    def __init__(self, spec: GaitSpec, body: Body, rng: np.random.Generator) -> None:
        super().__init__(spec.duration_s, body)
        self.spec = spec
        tl, tr = spec.step_time_left_s, spec.step_time_right_s
        self.stride_s = tl + tr
        self.ramp_s = self.stride_s
        self.double_support_s = (spec.stance_fraction - 0.5) * self.stride_s
        self.flex_lead_s = spec.peak_flexion_before_contact_s
        self.p_step = tl / self.stride_s
        mean_stance_left = tr + self.double_support_s
        mean_stance_right = tl + self.double_support_s
        ext_lead = PEAK_EXTENSION_BEFORE_TOE_OFF_S
        self.p_left = (mean_stance_left - ext_lead + self.flex_lead_s) / self.stride_s
        self.p_right = (mean_stance_right - ext_lead + self.flex_lead_s) / self.stride_s
        for p in (self.p_step, self.p_left, self.p_right):
            if abs((0.5 - p) * np.pi / np.sin(np.pi * p)) >= 1.0:
                raise HipscopeError(
                    f"GaitSpec timing too extreme: stride phase {p:.2f} cannot be warped smoothly"
                )
        self._schedule(rng)
        self.displacement_m = np.array([spec.speed_m_s * (self.duration_s - self.ramp_s), 0.0, 0.0])
        self.task_window_s = (0.0, self.duration_s)

    def _schedule(self, rng: np.random.Generator) -> None:
        """Contact times (with optional step-time variability) and the stride phase through them.

        The stride phase is a C2 cubic spline with value k at right contact k and k + p_step
        at left contact k, so every cyclic signal stays smooth when steps vary.
        """
        spec = self.spec
        steps = (spec.step_time_left_s, spec.step_time_right_s)  # left step first after r_0
        first_right = 0.5 * self.ramp_s - 2.0 * self.stride_s  # knots well before the task
        times, phases, sides = [first_right], [0.0], ["right"]
        k = 0
        while times[-1] < self.duration_s + 2.0 * self.stride_s:
            for i, side in enumerate(("left", "right")):
                jitter = np.clip(rng.standard_normal(), -3.0, 3.0) * spec.step_time_cv
                times.append(times[-1] + steps[i] * (1.0 + jitter))
                phases.append(k + self.p_step if side == "left" else k + 1.0)
                sides.append(side)
            k += 1
        knot_t, knot_phase = np.array(times), np.array(phases) - 2.0  # phase 0: first task contact
        self.phase = CubicSpline(knot_t, knot_phase)
        grid = np.arange(-1.0, self.duration_s + 1.0, 1e-3)
        if np.min(self.phase(grid, 1)) <= 0.0:
            raise HipscopeError(
                "GaitSpec.step_time_cv too large: the stride phase is not monotonic"
            )
        side_array = np.array(sides)
        self.ic_left = knot_t[side_array == "left"]
        self.ic_right = knot_t[side_array == "right"]
        # a foot leaves the ground double_support_s after the other foot's next contact
        self.fc_left = np.array([self._next(self.ic_right, t) for t in self.ic_left])
        self.fc_right = np.array([self._next(self.ic_left, t) for t in self.ic_right])
        self.fc_left += self.double_support_s
        self.fc_right += self.double_support_s

    @staticmethod
    def _next(contacts: FloatArray, after_s: float) -> float:
        later = contacts[contacts > after_s]
        return float(later[0]) if len(later) else np.inf

    def envelope(self, t: FloatArray) -> FloatArray:
        return smoothstep(t / self.ramp_s) * smoothstep((self.duration_s - t) / self.ramp_s)

    def _distance_m(self, t: FloatArray) -> FloatArray:
        r = self.ramp_s
        walked = smoothstep_integral(t / r) - smoothstep_integral((t - self.duration_s + r) / r)
        return self.spec.speed_m_s * r * walked

    def _thigh_pitch(self, t: FloatArray, side: str) -> FloatArray:
        # phase 0 at peak flexion, flex_lead_s before each of this side's contacts
        phase = self.phase(t + self.flex_lead_s)
        if side == "left":
            phase, p, rom = phase - self.p_step, self.p_left, self.spec.thigh_rom_left_deg
        else:
            p, rom = self.p_right, self.spec.thigh_rom_right_deg
        rom_rad = np.radians(rom)
        return THIGH_MEAN_PER_ROM * rom_rad + 0.5 * rom_rad * np.cos(
            2 * np.pi * skewed_phase(phase, p)
        )

    def _heel_strikes(self, t: FloatArray) -> FloatArray:
        contacts = np.concatenate([self.ic_left, self.ic_right])
        peaks = self.spec.heel_strike_m_s2 * self.envelope(contacts)
        return impacts_m(t, contacts, peaks, HEEL_STRIKE_SIGMA_S)

    def pose(self, t: FloatArray) -> Pose:
        pose = Pose.standing(len(t), self.body)
        env = self.envelope(t)
        w = skewed_phase(self.phase(t), self.p_step)  # right contact: w integer
        two_pi = 2.0 * np.pi
        pose.pelvis_m[:, 0] += self._distance_m(t) + env * PELVIS_FORWARD_M * np.sin(
            2 * two_pi * (w - 0.04)
        )
        spec = self.spec
        variant = spec if isinstance(spec, GaitVariantSpec) else GaitVariantSpec()
        pose.pelvis_m[:, 1] += (
            env * variant.sway_scale * PELVIS_MEDIOLATERAL_M * np.cos(two_pi * (w - 0.65))
        )
        pose.pelvis_m[:, 2] += env * -PELVIS_VERTICAL_M * np.cos(2 * two_pi * (w - 0.04))
        pose.pelvis_m[:, 2] += self._heel_strikes(t)
        contacts = np.concatenate([self.ic_left, self.ic_right])
        pose.wobble = wobbles(t, contacts, self.envelope(contacts))
        yaw = env * variant.rotation_scale * PELVIS_ROTATION_RAD * np.cos(two_pi * w)
        obliquity = (
            env * variant.obliquity_scale * PELVIS_OBLIQUITY_RAD * np.sin(two_pi * (w - 0.5))
        )
        # ROLL positive: the right side drops, so a lean to the left is negative
        obliquity = obliquity - env * np.radians(variant.lateral_lean_deg)
        pose.set("pelvis", YAW, yaw)
        pose.set("pelvis", ROLL, obliquity)
        pose.set("pelvis", PITCH, env * PELVIS_TILT_RAD * np.cos(2 * two_pi * (w - 0.1)))
        pose.set("trunk", YAW, -0.5 * yaw)
        pose.set("trunk", ROLL, -0.3 * obliquity)
        pose.set("trunk", PITCH, -env * TRUNK_FORWARD_LEAN_RAD)
        for side in ("left", "right"):
            pose.set(f"thigh_{side}", YAW, yaw)
            pose.set(f"thigh_{side}", PITCH, env * self._thigh_pitch(t, side))
        return pose

    def truth(self, t0_s: float) -> dict[str, object]:
        spec = self.spec
        keep_r = self.envelope(self.ic_right) >= 0.5
        keep_l = self.envelope(self.ic_left) >= 0.5
        ic_l, ic_r = self.ic_left[keep_l], self.ic_right[keep_r]
        fc_l, fc_r = self.fc_left[keep_l], self.fc_right[keep_r]
        # a left step ends at a left contact and starts at the right contact before it
        steps_left = np.array([t - self.ic_right[self.ic_right < t][-1] for t in ic_l])
        steps_right = np.array([t - self.ic_left[self.ic_left < t][-1] for t in ic_r])
        step_l, step_r = float(np.mean(steps_left)), float(np.mean(steps_right))
        stance_l, stance_r = float(np.mean(fc_l - ic_l)), float(np.mean(fc_r - ic_r))
        stride = float(np.mean(np.diff(np.sort(ic_r))))
        steady = (self.ramp_s, self.duration_s - self.ramp_s)
        return {
            **super().truth(t0_s),
            "initial_contacts_left_s": (t0_s + ic_l).tolist(),
            "initial_contacts_right_s": (t0_s + ic_r).tolist(),
            "final_contacts_left_s": (t0_s + fc_l).tolist(),
            "final_contacts_right_s": (t0_s + fc_r).tolist(),
            "step_time_left_s": step_l,
            "step_time_right_s": step_r,
            "step_times_left_s": steps_left.tolist(),
            "step_times_right_s": steps_right.tolist(),
            "step_time_cv": spec.step_time_cv,
            "stride_time_s": stride,
            "stance_time_left_s": stance_l,
            "stance_time_right_s": stance_r,
            "swing_time_left_s": stride - stance_l,
            "swing_time_right_s": stride - stance_r,
            "thigh_rom_left_deg": spec.thigh_rom_left_deg,
            "thigh_rom_right_deg": spec.thigh_rom_right_deg,
            "step_time_si_pct": 100.0 * (step_l - step_r) / (0.5 * (step_l + step_r)),
            "peak_flexion_before_contact_s": self.flex_lead_s,
            "speed_m_s": spec.speed_m_s,
            "cadence_steps_min": 120.0 / stride,
            "steady_start_s": t0_s + steady[0],
            "steady_end_s": t0_s + steady[1],
        }
