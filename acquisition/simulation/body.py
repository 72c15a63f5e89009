"""The simulated body: segment angles -> ISB segment orientations and sensor positions.

World frame: z up; the athlete initially faces world +x, so at neutral standing the ISB axes
of every segment map as segment x (anterior) -> world +x, y (superior) -> world +z,
z (right) -> world -y.

Each segment's orientation is parameterised by three angles, applied in this order:
``yaw`` about the world vertical, ``roll`` about the segment's anterior axis, ``pitch`` about
its right (ISB z) axis::

    q_world_segment = q_z(yaw) ⊗ q_x(90° + roll) ⊗ q_z(pitch)

(the 90° about x is the neutral standing alignment). For the pelvis, roll is the
obliquity (positive: right side lower, so ``roll = -asin(z_segment · up)`` exactly) and
pitch is the tilt (positive: posterior). For a thigh, pitch > 0 is forward inclination
(flexion); for the trunk, pitch < 0 is forward lean.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from hipscope.base.rotations import quat_multiply, to_rotation

FloatArray = NDArray[np.float64]

SEGMENTS: tuple[str, ...] = ("pelvis", "trunk", "thigh_left", "thigh_right")
YAW, ROLL, PITCH = 0, 1, 2


def axis_quat(axis: int, angle_rad: FloatArray | float) -> FloatArray:
    """Quaternion(s) (w, x, y, z) of a rotation by angle_rad about coordinate axis 0, 1 or 2."""
    angle = np.asarray(angle_rad, dtype=np.float64)
    q = np.zeros((*angle.shape, 4))
    q[..., 0] = np.cos(0.5 * angle)
    q[..., 1 + axis] = np.sin(0.5 * angle)
    return q


def _frame_quat(columns: list[tuple[float, float, float]]) -> FloatArray:
    """Quaternion of the rotation whose matrix has the given columns (sensor axes in segment)."""
    from scipy.spatial.transform import Rotation

    from hipscope.base.rotations import from_rotation

    return from_rotation(Rotation.from_matrix(np.array(columns, dtype=np.float64).T))


# Sensor axes expressed in the segment frame (docs/DESIGN.md, "Nominal mounting").
NOMINAL_Q_SEGMENT_SENSOR: dict[str, FloatArray] = {
    # sacrum / between the shoulder blades: +x up, +y left, +z backwards out of the skin
    "pelvis": _frame_quat([(0, 1, 0), (0, 0, -1), (-1, 0, 0)]),
    "trunk": _frame_quat([(0, 1, 0), (0, 0, -1), (-1, 0, 0)]),
    # lateral thigh: +x up, +z outwards; left: +y anterior, right: +y posterior
    "thigh_left": _frame_quat([(0, 1, 0), (1, 0, 0), (0, 0, -1)]),
    "thigh_right": _frame_quat([(0, 1, 0), (-1, 0, 0), (0, 0, 1)]),
}


@dataclass(frozen=True)
class Body:
    """Body dimensions of the simulated athlete (metres, ISB segment frames).

    Parameters
    ----------
    pelvis_height_m
        Height of the pelvis origin (midpoint of the hip joints) in quiet standing (0.93 m).
    hip_half_width_m
        Lateral distance of each hip joint from the pelvis origin (0.09 m).
    thigh_length_m, shank_length_m
        Hip-knee and knee-ankle distances (0.42 m, 0.43 m).
    pelvis_sensor_m
        Sacral sensor position in the pelvis frame (default 10 cm posterior, 3 cm up).
    lumbosacral_m
        Trunk origin (L5/S1) in the pelvis frame; the trunk rotates about it.
    trunk_sensor_m
        Trunk sensor in the trunk frame (between the shoulder blades, ~0.45 m above the pelvis).
    thigh_sensor_m
        Thigh sensor in the right thigh's frame relative to the hip joint (0.2 m below the
        hip, 8 cm lateral); mirrored (z negated) for the left thigh.
    """

    pelvis_height_m: float = 0.93
    hip_half_width_m: float = 0.09
    thigh_length_m: float = 0.42
    shank_length_m: float = 0.43
    pelvis_sensor_m: tuple[float, float, float] = (-0.10, 0.03, 0.0)
    lumbosacral_m: tuple[float, float, float] = (-0.06, 0.10, 0.0)
    trunk_sensor_m: tuple[float, float, float] = (-0.10, 0.35, 0.0)
    thigh_sensor_m: tuple[float, float, float] = (0.0, -0.20, 0.08)


@dataclass
class Pose:
    """Whole-body pose at N instants: angles (rad) per segment and the pelvis origin (m)."""

    angles_rad: FloatArray  # (4 segments, 3 angles: yaw, roll, pitch, N)
    pelvis_m: FloatArray  # (N, 3) world position of the pelvis origin
    # soft-tissue wobble excitation (N,), about 1 at its peaks after a foot contact
    wobble: FloatArray | None = None

    @staticmethod
    def standing(n: int, body: Body) -> Pose:
        pelvis = np.zeros((n, 3))
        pelvis[:, 2] = body.pelvis_height_m
        return Pose(np.zeros((len(SEGMENTS), 3, n)), pelvis)

    def set(self, segment: str, angle: int, value: FloatArray | float) -> None:
        self.angles_rad[SEGMENTS.index(segment), angle] = value

    def get(self, segment: str, angle: int) -> FloatArray:
        return self.angles_rad[SEGMENTS.index(segment), angle]


def segment_quats(pose: Pose) -> dict[str, FloatArray]:
    """q_world_segment (N, 4) for each segment."""
    out: dict[str, FloatArray] = {}
    for i, name in enumerate(SEGMENTS):
        yaw, roll, pitch = pose.angles_rad[i]
        q = quat_multiply(axis_quat(2, yaw), axis_quat(0, 0.5 * np.pi + roll))
        out[name] = quat_multiply(q, axis_quat(2, pitch))
    return out


def soft_tissue_rotvec(pose: Pose, segment: str, amplitude_rad: float) -> FloatArray:
    """Rotation (N, 3, segment frame) of a sensor on soft tissue relative to its segment.

    Thighs: skin slides about the long axis with flexion (``amplitude_rad`` per 45° of
    forward thigh inclination) and the soft tissue wobbles about the mediolateral axis
    after foot contacts; pelvis and trunk wobble with half the amplitude.
    """
    n = pose.angles_rad.shape[2]
    rotvec = np.zeros((n, 3))
    wobble = np.zeros(n) if pose.wobble is None else pose.wobble
    if segment.startswith("thigh"):
        rotvec[:, 1] = amplitude_rad * pose.get(segment, PITCH) / np.radians(45.0)
        rotvec[:, 2] = amplitude_rad * wobble
    else:
        rotvec[:, 2] = 0.5 * amplitude_rad * wobble
    return rotvec


def _rotate(q_wxyz: FloatArray, v: tuple[float, float, float]) -> FloatArray:
    return to_rotation(q_wxyz).apply(np.asarray(v, dtype=np.float64))


def sensor_positions(
    pose: Pose, q_world_segment: dict[str, FloatArray], body: Body
) -> dict[str, FloatArray]:
    """World position (N, 3) of each segment's sensor."""
    p = pose.pelvis_m
    q_p = q_world_segment["pelvis"]
    thigh_x, thigh_y, thigh_z = body.thigh_sensor_m
    w = body.hip_half_width_m
    return {
        "pelvis": p + _rotate(q_p, body.pelvis_sensor_m),
        "trunk": p
        + _rotate(q_p, body.lumbosacral_m)
        + _rotate(q_world_segment["trunk"], body.trunk_sensor_m),
        "thigh_left": p
        + _rotate(q_p, (0.0, 0.0, -w))
        + _rotate(q_world_segment["thigh_left"], (thigh_x, thigh_y, -thigh_z)),
        "thigh_right": p
        + _rotate(q_p, (0.0, 0.0, w))
        + _rotate(q_world_segment["thigh_right"], (thigh_x, thigh_y, thigh_z)),
    }
