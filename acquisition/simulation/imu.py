"""From body motion to what each IMU measures: specific force, angular velocity, magnetic field.

Derivatives are central differences of the analytic pose with a step of ``step_s`` (default
0.5 ms), so they match the reported orientations and positions to ~1e-7 relative error:
``gyr = rotvec(q(t-h)* ⊗ q(t+h)) / 2h`` in the sensor frame, and
``acc = R_world_sensor^T (a_world + [0, 0, g])`` with ``a_world`` the second difference of
the sensor's world position.

Soft tissue moves a sensor on its segment in two ways here: ``soft_tissue_deg`` (skin
sliding with thigh flexion, wobble after foot contacts; ``body.soft_tissue_rotvec``) and
``SkinArtefact`` (a band-limited random rotation, 2-10 Hz by default, while the segment
turns). Both are smooth functions of time, so the gyroscope stays the exact derivative.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray
from scipy.spatial.transform import Rotation

from hipscope.acquisition.simulation.body import (
    Body,
    Pose,
    segment_quats,
    sensor_positions,
    soft_tissue_rotvec,
)
from hipscope.base.rotations import from_rotation, quat_conjugate, quat_multiply, to_rotation

FloatArray = NDArray[np.float64]
GRAVITY_M_S2 = 9.81


@dataclass(frozen=True)
class SkinArtefact:
    """Band-limited rotation of the sensor on its segment while the segment moves.

    Per sensor axis a sum of ``n_components`` sines with frequencies drawn uniformly in
    ``band_hz`` and random phases, scaled so the rotation angle has an RMS of ``rms_deg``
    when the segment turns fast, times the envelope ``s^2 / (s^2 + reference^2)`` of the
    segment's angular speed s (rad/s): still segments carry no artefact.
    """

    rms_deg: float
    band_hz: tuple[float, float] = (2.0, 10.0)
    reference_rad_s: float = 0.3
    n_components: int = 6

    def components(self, rng: np.random.Generator) -> tuple[FloatArray, FloatArray, FloatArray]:
        """(frequencies Hz, phases rad, amplitudes rad), each (3 axes, n_components)."""
        shape = (3, self.n_components)
        freq = rng.uniform(self.band_hz[0], self.band_hz[1], size=shape)
        phase = rng.uniform(0.0, 2.0 * np.pi, size=shape)
        weight = rng.uniform(0.5, 1.0, size=shape)
        scale = np.radians(self.rms_deg) / np.sqrt(0.5 * np.sum(weight**2))
        return freq, phase, weight * scale


def _angular_speed(
    pose_at: Callable[[FloatArray], Pose], time_s: FloatArray, placements: Sequence[str]
) -> dict[str, FloatArray]:
    """Each segment's angular speed (rad/s) by a central difference of its orientation."""
    delta_s = 2e-3
    before = segment_quats(pose_at(time_s - delta_s))
    after = segment_quats(pose_at(time_s + delta_s))
    return {
        name: np.linalg.norm(
            to_rotation(quat_multiply(quat_conjugate(before[name]), after[name])).as_rotvec(),
            axis=1,
        )
        / (2.0 * delta_s)
        for name in placements
    }


def _artefact_quat(
    artefact: SkinArtefact,
    parts: tuple[FloatArray, FloatArray, FloatArray],
    time_s: FloatArray,
    speed_rad_s: FloatArray,
) -> FloatArray:
    freq, phase, amp = parts
    arg = 2.0 * np.pi * freq[None] * time_s[:, None, None] + phase[None]
    rotvec = np.sum(amp[None] * np.sin(arg), axis=2)
    envelope = speed_rad_s**2 / (speed_rad_s**2 + artefact.reference_rad_s**2)
    return from_rotation(Rotation.from_rotvec(rotvec * envelope[:, None]))


@dataclass(frozen=True)
class IdealImu:
    """Noise-free signals of one sensor at the sample times (sensor frame)."""

    acc_m_s2: FloatArray
    gyr_rad_s: FloatArray
    q_world_sensor: FloatArray
    position_m: FloatArray


def ideal_imu(
    pose_at: Callable[[FloatArray], Pose],
    time_s: FloatArray,
    q_segment_sensor: dict[str, FloatArray],
    placements: Sequence[str],
    body: Body,
    *,
    step_s: float = 5e-4,
    soft_tissue_deg: float = 0.0,
    skin_artefact: SkinArtefact | None = None,
    seed: int = 0,
) -> tuple[dict[str, IdealImu], dict[str, FloatArray]]:
    """Noise-free IMU signals per placement and q_world_segment (N, 4) per segment.

    ``soft_tissue_deg`` > 0 lets each sensor move on the soft tissue relative to its
    segment (``body.soft_tissue_rotvec``):
    ``q_world_sensor = q_world_segment ⊗ q_soft_tissue ⊗ q_segment_sensor``.
    ``skin_artefact`` adds a ``SkinArtefact`` to every sensor after that rotation (its
    random components drawn from ``seed`` and the placement's index).
    """
    amplitude = np.radians(soft_tissue_deg)
    artefact_parts = {}
    if skin_artefact is not None and skin_artefact.rms_deg > 0.0:
        for index, name in enumerate(placements):
            rng = np.random.default_rng([seed, 5, index])
            artefact_parts[name] = skin_artefact.components(rng)
    states = []
    for offset in (-step_s, 0.0, step_s):
        t = time_s + offset
        pose = pose_at(t)
        q_seg = segment_quats(pose)
        q_carrier = dict(q_seg)
        if amplitude > 0.0:
            for name in placements:
                rotvec = soft_tissue_rotvec(pose, name, amplitude)
                q_soft = from_rotation(Rotation.from_rotvec(rotvec))
                q_carrier[name] = quat_multiply(q_seg[name], q_soft)
        if artefact_parts and skin_artefact is not None:
            speed = _angular_speed(pose_at, t, list(artefact_parts))
            for name, parts in artefact_parts.items():
                q_skin = _artefact_quat(skin_artefact, parts, t, speed[name])
                q_carrier[name] = quat_multiply(q_carrier[name], q_skin)
        states.append((q_seg, q_carrier, sensor_positions(pose, q_seg, body)))
    (_, q_before, p_before), (q_segment_now, q_now, p_now), (_, q_after, p_after) = states
    gravity = np.array([0.0, 0.0, GRAVITY_M_S2])
    out: dict[str, IdealImu] = {}
    for name in placements:
        q_s = q_segment_sensor[name]
        q_ws_before = quat_multiply(q_before[name], q_s)
        q_ws_now = quat_multiply(q_now[name], q_s)
        q_ws_after = quat_multiply(q_after[name], q_s)
        delta = quat_multiply(quat_conjugate(q_ws_before), q_ws_after)
        gyr = to_rotation(delta).as_rotvec() / (2.0 * step_s)
        acc_world = (p_after[name] - 2.0 * p_now[name] + p_before[name]) / step_s**2
        acc = to_rotation(q_ws_now).inv().apply(acc_world + gravity)
        out[name] = IdealImu(acc, gyr, q_ws_now, p_now[name])
    return out, q_segment_now


def magnetometer_ut(q_world_sensor: FloatArray, mag_world_ut: Sequence[float]) -> FloatArray:
    """The constant earth field (world frame, µT) seen in the sensor frame."""
    return to_rotation(q_world_sensor).inv().apply(np.asarray(mag_world_ut, dtype=np.float64))
