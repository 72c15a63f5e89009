"""Segment and joint angles from ISB segment orientations (radians, signs as in docs/DESIGN.md).

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

Names and signs (radians; all zero at the calibration stance):
``pelvis_tilt`` / ``trunk_tilt`` anterior (forward lean) positive; ``pelvis_obliquity`` /
``trunk_obliquity`` positive when the right side is lower; ``pelvis_rotation`` /
``trunk_rotation`` positive turning left (right side forward), wrapped to ±π;
``hip_flexion_<side>`` flexion positive; ``hip_adduction_<side>`` adduction (knee towards the
midline) positive; ``hip_rotation_<side>`` internal positive; ``lumbar_flexion`` trunk
flexed on the pelvis positive; ``lumbar_lateral_bend`` trunk leaning right on the pelvis
positive; ``lumbar_rotation`` trunk turned left on the pelvis positive;
``thigh_sagittal_<side>`` knee forward positive.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike, NDArray

from hipscope.base.rotations import quat_conjugate, quat_multiply

_H = float(np.sqrt(0.5))
Q_WORLD_NEUTRAL: NDArray[np.float64] = np.array([_H, _H, 0.0, 0.0])
"""ISB segment frame in the world frame at the calibration stance (+90° about world x)."""

SEGMENT_ANGLE_PLACEMENTS: tuple[str, ...] = ("pelvis", "trunk")


def interp_quat(
    time_s: NDArray[np.float64], q: NDArray[np.float64], grid_s: NDArray[np.float64]
) -> NDArray[np.float64]:
    """Quaternions at ``grid_s`` by normalised linear interpolation with sign continuity.

    For dense rows (small rotations between neighbours); ``time_s`` increasing, q finite.
    """
    q = np.array(q, dtype=np.float64, copy=True)
    flip = np.concatenate([[False], np.sum(q[1:] * q[:-1], axis=1) < 0.0])
    q[np.cumsum(flip) % 2 == 1] *= -1.0
    out = np.empty((len(grid_s), 4))
    for k in range(4):
        out[:, k] = np.interp(grid_s, time_s, q[:, k])
    norm = np.linalg.norm(out, axis=1, keepdims=True)
    return out / np.where(norm > 0, norm, 1.0)


def _euler(q_wxyz: NDArray[np.float64], sequence: str) -> NDArray[np.float64]:
    """Intrinsic Euler angles (N, 3) of quaternions for "YXZ", "ZXY" or "YZX"; NaN stays NaN.

    Closed forms of the rotation-matrix elements (same results as scipy's ``as_euler`` with
    upper-case sequences, checked in the tests) without its per-call overhead.
    """
    q = np.asarray(q_wxyz, dtype=np.float64).reshape(-1, 4)
    with np.errstate(invalid="ignore", divide="ignore"):
        q = q / np.linalg.norm(q, axis=1, keepdims=True)
    w, x, y, z = q[:, 0], q[:, 1], q[:, 2], q[:, 3]
    if sequence == "YXZ":
        middle = -2.0 * (y * z - w * x)  # -R12
        first = np.arctan2(2.0 * (x * z + w * y), 1.0 - 2.0 * (x * x + y * y))  # R02, R22
        last = np.arctan2(2.0 * (x * y + w * z), 1.0 - 2.0 * (x * x + z * z))  # R10, R11
    elif sequence == "ZXY":
        middle = 2.0 * (y * z + w * x)  # R21
        first = np.arctan2(-2.0 * (x * y - w * z), 1.0 - 2.0 * (x * x + z * z))  # -R01, R11
        last = np.arctan2(-2.0 * (x * z - w * y), 1.0 - 2.0 * (x * x + y * y))  # -R20, R22
    elif sequence == "YZX":
        middle = 2.0 * (x * y + w * z)  # R10
        first = np.arctan2(-2.0 * (x * z - w * y), 1.0 - 2.0 * (y * y + z * z))  # -R20, R00
        last = np.arctan2(-2.0 * (y * z - w * x), 1.0 - 2.0 * (x * x + z * z))  # -R12, R11
    else:
        raise ValueError(f"unsupported Euler sequence {sequence!r}")
    return np.column_stack([first, np.arcsin(np.clip(middle, -1.0, 1.0)), last])


def relative_to_neutral(q_world_segment: ArrayLike) -> NDArray[np.float64]:
    """Segment orientation relative to its calibration-stance orientation, in ISB axes."""
    q_world_segment = np.asarray(q_world_segment, dtype=np.float64)
    return quat_multiply(quat_conjugate(Q_WORLD_NEUTRAL), q_world_segment)


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
    proximal = np.asarray(q_world_proximal, dtype=np.float64)
    q_rel = quat_multiply(quat_conjugate(proximal), np.asarray(q_world_distal, dtype=np.float64))
    angles = _euler(q_rel, "ZXY")
    return angles[:, 0], angles[:, 1], angles[:, 2]


def sagittal_inclination(q_world_segment: ArrayLike) -> NDArray[np.float64]:
    """Inclination about the segment's own mediolateral axis after its heading, radians.

    Positive when the segment's lower end moves forward (thigh flexion).
    """
    return _euler(relative_to_neutral(q_world_segment), "YZX")[:, 1]


CHUNK_ROWS = 1 << 14
"""Rows per block in the long-array helpers: bounds their temporaries to a few MB."""


def row_chunks(n: int) -> list[slice]:
    """Consecutive row slices of at most ``CHUNK_ROWS`` covering ``range(n)``."""
    return [slice(i, min(i + CHUNK_ROWS, n)) for i in range(0, n, CHUNK_ROWS)]


def finite_rows(*arrays: NDArray[np.float64]) -> NDArray[np.bool_]:
    """True for rows where every column of every (N, k) array is finite.

    Same as ``np.isfinite(a).all(axis=1)`` (and-ed over the arrays), several times faster
    on long arrays (a reduction along a short axis is slow in numpy).
    """
    out: NDArray[np.bool_] | None = None
    for array in arrays:
        for k in range(array.shape[1]):
            if out is None:
                out = np.isfinite(array[:, k])
            else:
                out &= np.isfinite(array[:, k])
    if out is None:
        raise ValueError("finite_rows needs at least one array with a column")
    return out


def compute_angles(
    q_world_segment: dict[str, NDArray[np.float64]],
) -> dict[str, NDArray[np.float64]]:
    """Every named angle the available segments allow (names and signs in the contract).

    Long series are computed in blocks of rows into contiguous (N,) arrays, so the
    temporaries stay small; the values are the same row by row.
    """
    arrays = {p: np.asarray(q, dtype=np.float64) for p, q in q_world_segment.items()}
    lengths = {q.shape[0] if q.ndim == 2 else -1 for q in arrays.values()}
    if len(lengths) != 1 or (n := lengths.pop()) <= CHUNK_ROWS:
        return _angles_of_rows(arrays)
    out: dict[str, NDArray[np.float64]] = {}
    for rows in row_chunks(n):
        block = _angles_of_rows({p: q[rows] for p, q in arrays.items()})
        for name, value in block.items():
            if name not in out:
                out[name] = np.empty(n)
            out[name][rows] = value
    return out


def _angles_of_rows(
    q_world_segment: dict[str, NDArray[np.float64]],
) -> dict[str, NDArray[np.float64]]:
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
