"""From body motion to what each IMU measures: specific force, angular velocity, magnetic field.

Derivatives are central differences of the analytic pose with a step of ``step_s`` (default
0.5 ms), so they match the reported orientations and positions to ~1e-7 relative error:
``gyr = rotvec(q(t-h)* ⊗ q(t+h)) / 2h`` in the sensor frame, and
``acc = R_world_sensor^T (a_world + [0, 0, g])`` with ``a_world`` the second difference of
the sensor's world position.
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
) -> tuple[dict[str, IdealImu], dict[str, FloatArray]]:
    """Noise-free IMU signals per placement and q_world_segment (N, 4) per segment.

    ``soft_tissue_deg`` > 0 lets each sensor move on the soft tissue relative to its
    segment (``body.soft_tissue_rotvec``):
    ``q_world_sensor = q_world_segment ⊗ q_soft_tissue ⊗ q_segment_sensor``.
    """
    amplitude = np.radians(soft_tissue_deg)
    states = []
    for offset in (-step_s, 0.0, step_s):
        pose = pose_at(time_s + offset)
        q_seg = segment_quats(pose)
        q_carrier = dict(q_seg)
        if amplitude > 0.0:
            for name in placements:
                rotvec = soft_tissue_rotvec(pose, name, amplitude)
                q_soft = from_rotation(Rotation.from_rotvec(rotvec))
                q_carrier[name] = quat_multiply(q_seg[name], q_soft)
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
