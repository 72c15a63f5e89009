"""Straight-line walking with chosen left/right step times and thigh ranges of motion.

Contacts follow a fixed schedule: right initial contacts at ``r_k = r_0 + k T`` and left ones
at ``r_k + T_L`` (T = T_L + T_R is the stride time; a left step ends at a left contact).
Stance lasts ``T_R + d`` on the left and ``T_L + d`` on the right, with the double support
``d`` chosen so the mean stance fraction is ``stance_fraction``.

Cyclic signals use a skewed stride phase (``profiles.skewed_phase``) so they stay smooth
while events fall at unequal step times. Amplitudes, speed and posture ramp in over the
first stride and out over the last one (envelope E); contacts with E >= 0.5 are reported.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from acquisition.errors import HipscopeError
from acquisition.simulation.body import PITCH, ROLL, YAW, Body, Pose
from acquisition.simulation.motions import Motion
from acquisition.simulation.profiles import (
    impacts_m,
    skewed_phase,
    smoothstep,
    smoothstep_integral,
)
from acquisition.simulation.specs import GaitSpec

FloatArray = NDArray[np.float64]

# Typical pelvis and trunk excursions in comfortable walking (amplitudes).
PELVIS_VERTICAL_M = 0.02  # two bounces per stride, lowest just after each contact
PELVIS_MEDIOLATERAL_M = 0.02  # over the stance leg, once per stride
PELVIS_FORWARD_M = 0.008  # speed fluctuation twice per stride
PELVIS_ROTATION_RAD = np.radians(4.0)  # the swing side's hip goes forward
PELVIS_OBLIQUITY_RAD = np.radians(3.0)  # the swing side drops in single support
PELVIS_TILT_RAD = np.radians(1.5)
TRUNK_FORWARD_LEAN_RAD = np.radians(3.0)
HEEL_STRIKE_SIGMA_S = 0.015
PEAK_FLEXION_BEFORE_CONTACT_S = 0.04
PEAK_EXTENSION_BEFORE_TOE_OFF_S = 0.05
THIGH_MEAN_PER_ROM = 0.15  # flexion-biased thigh oscillation (e.g. +27° / -18° for 45° ROM)


class GaitMotion(Motion):
    """A walking bout along world +x (the athlete's initial facing direction)."""

    kind = "gait"

    def __init__(self, spec: GaitSpec, body: Body) -> None:
        super().__init__(spec.duration_s, body)
        self.spec = spec
        tl, tr = spec.step_time_left_s, spec.step_time_right_s
        self.stride_s = tl + tr
        self.ramp_s = self.stride_s
        double_support = (spec.stance_fraction - 0.5) * self.stride_s
        self.stance_left_s = tr + double_support
        self.stance_right_s = tl + double_support
        self.r0 = 0.5 * self.ramp_s
        n_strides = int(np.floor((self.duration_s - self.r0) / self.stride_s)) + 1
        self.ic_right = self.r0 + self.stride_s * np.arange(n_strides)
        self.ic_left = self.ic_right + tl
        self.p_step = tl / self.stride_s
        flex_lead, ext_lead = PEAK_FLEXION_BEFORE_CONTACT_S, PEAK_EXTENSION_BEFORE_TOE_OFF_S
        self.p_left = (self.stance_left_s - ext_lead + flex_lead) / self.stride_s
        self.p_right = (self.stance_right_s - ext_lead + flex_lead) / self.stride_s
        for p in (self.p_step, self.p_left, self.p_right):
            if abs((0.5 - p) * np.pi / np.sin(np.pi * p)) >= 1.0:
                raise HipscopeError(
                    f"GaitSpec timing too extreme: stride phase {p:.2f} cannot be warped smoothly"
                )
        self.displacement_m = np.array([spec.speed_m_s * (self.duration_s - self.ramp_s), 0.0, 0.0])
        self.task_window_s = (0.0, self.duration_s)

    def envelope(self, t: FloatArray) -> FloatArray:
        return smoothstep(t / self.ramp_s) * smoothstep((self.duration_s - t) / self.ramp_s)

    def _distance_m(self, t: FloatArray) -> FloatArray:
        r = self.ramp_s
        walked = smoothstep_integral(t / r) - smoothstep_integral((t - self.duration_s + r) / r)
        return self.spec.speed_m_s * r * walked

    def _thigh_pitch(self, t: FloatArray, side: str) -> FloatArray:
        if side == "left":
            first_ic, p, rom = self.ic_left[0], self.p_left, self.spec.thigh_rom_left_deg
        else:
            first_ic, p, rom = self.ic_right[0], self.p_right, self.spec.thigh_rom_right_deg
        phase = (t - (first_ic - PEAK_FLEXION_BEFORE_CONTACT_S)) / self.stride_s
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
        w = skewed_phase((t - self.r0) / self.stride_s, self.p_step)  # right contact: w integer
        two_pi = 2.0 * np.pi
        pose.pelvis_m[:, 0] += self._distance_m(t) + env * PELVIS_FORWARD_M * np.sin(
            2 * two_pi * (w - 0.04)
        )
        pose.pelvis_m[:, 1] += env * PELVIS_MEDIOLATERAL_M * np.cos(two_pi * (w - 0.65))
        pose.pelvis_m[:, 2] += env * -PELVIS_VERTICAL_M * np.cos(2 * two_pi * (w - 0.04))
        pose.pelvis_m[:, 2] += self._heel_strikes(t)
        yaw = env * PELVIS_ROTATION_RAD * np.cos(two_pi * w)
        obliquity = env * PELVIS_OBLIQUITY_RAD * np.sin(two_pi * (w - 0.5))
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
        tl, tr = spec.step_time_left_s, spec.step_time_right_s
        steady = (self.ramp_s, self.duration_s - self.ramp_s)
        return {
            **super().truth(t0_s),
            "initial_contacts_left_s": (t0_s + ic_l).tolist(),
            "initial_contacts_right_s": (t0_s + ic_r).tolist(),
            "final_contacts_left_s": (t0_s + ic_l + self.stance_left_s).tolist(),
            "final_contacts_right_s": (t0_s + ic_r + self.stance_right_s).tolist(),
            "step_time_left_s": tl,
            "step_time_right_s": tr,
            "stride_time_s": self.stride_s,
            "stance_time_left_s": self.stance_left_s,
            "stance_time_right_s": self.stance_right_s,
            "swing_time_left_s": self.stride_s - self.stance_left_s,
            "swing_time_right_s": self.stride_s - self.stance_right_s,
            "thigh_rom_left_deg": spec.thigh_rom_left_deg,
            "thigh_rom_right_deg": spec.thigh_rom_right_deg,
            "step_time_si_pct": 100.0 * (tl - tr) / (0.5 * (tl + tr)),
            "speed_m_s": spec.speed_m_s,
            "cadence_steps_min": 120.0 / self.stride_s,
            "steady_start_s": t0_s + steady[0],
            "steady_end_s": t0_s + steady[1],
        }
