"""Segment and joint angles from ISB segment orientations (radians, signs as in DESIGN.md).

World frame: z up, x the athlete's forward direction at the calibration stance, y left.
ISB segment frames: x anterior, y superior, z right. At the calibration stance every
calibrated segment has ``q_world_segment == Q_WORLD_NEUTRAL`` (+90° about x), so all angles
here are zero in the calibration posture.

- Segment angles (pelvis, trunk): orientation relative to that neutral, decomposed as
  intrinsic Y-X-Z (rotation about vertical, then obliquity, then tilt about the segment's
  own mediolateral axis): tilt and obliquity do not depend on where the athlete faces.
- Joint angles (hip, lumbar): Grood & Suntay / ISB (Wu 2002) joint coordinate system of the
  distal segment relative to the proximal one: intrinsic Z-X-Y (e1 proximal mediolateral,
  e2 floating, e3 distal long axis).
- Thigh sagittal inclination: intrinsic Y-Z-X relative to the neutral, the Z angle.
"""

from __future__ import annotations

import warnings

import numpy as np
from numpy.typing import ArrayLike, NDArray

from acquisition.rotations import quat_conjugate, quat_multiply, to_rotation

_H = float(np.sqrt(0.5))
Q_WORLD_NEUTRAL: NDArray[np.float64] = np.array([_H, _H, 0.0, 0.0])
"""ISB segment frame in the world frame at the calibration stance (+90° about world x)."""

SEGMENT_ANGLE_PLACEMENTS: tuple[str, ...] = ("pelvis", "trunk")


def _euler(q_wxyz: NDArray[np.float64], sequence: str) -> NDArray[np.float64]:
    """Intrinsic Euler angles (N, 3) of unit quaternions; NaN rows stay NaN."""
    q = np.asarray(q_wxyz, dtype=np.float64).reshape(-1, 4)
    finite = np.isfinite(q).all(axis=1) & (np.linalg.norm(q, axis=1) > 0.5)
    out = np.full((q.shape[0], 3), np.nan)
    if finite.any():
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # scipy warns about gimbal lock; angles stay defined
            out[finite] = to_rotation(q[finite]).as_euler(sequence)
    return out


def relative_to_neutral(q_world_segment: ArrayLike) -> NDArray[np.float64]:
    """Segment orientation relative to its calibration-stance orientation, in ISB axes."""
    return quat_multiply(quat_conjugate(Q_WORLD_NEUTRAL), np.asarray(q_world_segment))


def segment_angles(
    q_world_segment: ArrayLike,
) -> tuple[NDArray[np.float64], NDArray[np.float64], NDArray[np.float64]]:
    """(tilt, obliquity, rotation) of a pelvis or trunk segment, radians.

    tilt: anterior positive; obliquity: positive when the right side is lower;
    rotation: about vertical, positive when the right side moves forward (turning left).
    """
    angles = _euler(relative_to_neutral(q_world_segment), "YXZ")
    return -angles[:, 2], angles[:, 1], angles[:, 0]


def joint_angles(
    q_world_proximal: ArrayLike, q_world_distal: ArrayLike
) -> tuple[NDArray[np.float64], NDArray[np.float64], NDArray[np.float64]]:
    """Grood & Suntay angles of distal relative to proximal: (about e1, e2, e3), radians.

    e1 = proximal z (mediolateral, positive = distal segment's lower end forward), e2 =
    floating axis (positive = distal superior axis tilting to the right), e3 = distal y
    (long axis, positive = distal anterior axis turning left). Callers apply side signs.
    """
    q_rel = quat_multiply(quat_conjugate(np.asarray(q_world_proximal)), np.asarray(q_world_distal))
    angles = _euler(q_rel, "ZXY")
    return angles[:, 0], angles[:, 1], angles[:, 2]


def sagittal_inclination(q_world_segment: ArrayLike) -> NDArray[np.float64]:
    """Inclination about the segment's own mediolateral axis after its heading, radians.

    Positive when the segment's lower end moves forward (thigh flexion).
    """
    return _euler(relative_to_neutral(q_world_segment), "YZX")[:, 1]


def compute_angles(
    q_world_segment: dict[str, NDArray[np.float64]],
) -> dict[str, NDArray[np.float64]]:
    """Every named angle the available segments allow (names and signs in the contract)."""
    out: dict[str, NDArray[np.float64]] = {}
    for placement in SEGMENT_ANGLE_PLACEMENTS:
        if placement in q_world_segment:
            tilt, obliquity, rotation = segment_angles(q_world_segment[placement])
            out[f"{placement}_tilt"] = tilt
            out[f"{placement}_obliquity"] = obliquity
            out[f"{placement}_rotation"] = rotation
    pelvis = q_world_segment.get("pelvis")
    for side, sign in (("left", -1.0), ("right", 1.0)):
        thigh = q_world_segment.get(f"thigh_{side}")
        if thigh is None:
            continue
        out[f"thigh_sagittal_{side}"] = sagittal_inclination(thigh)
        if pelvis is not None:
            flexion, adduction, rotation = joint_angles(pelvis, thigh)
            out[f"hip_flexion_{side}"] = flexion
            out[f"hip_adduction_{side}"] = sign * adduction
            out[f"hip_rotation_{side}"] = sign * rotation
    trunk = q_world_segment.get("trunk")
    if pelvis is not None and trunk is not None:
        e1, e2, e3 = joint_angles(pelvis, trunk)
        out["lumbar_flexion"] = -e1
        out["lumbar_lateral_bend"] = e2
        out["lumbar_rotation"] = e3
    return out
