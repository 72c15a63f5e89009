"""The one place where hipscope's quaternions (w, x, y, z) meet scipy's (x, y, z, w)."""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy.spatial.transform import Rotation


def to_rotation(q_wxyz: ArrayLike) -> Rotation:
    """Scalar-first quaternion(s), shape (4,) or (N, 4), to a scipy ``Rotation``."""
    q = np.asarray(q_wxyz, dtype=np.float64)
    return Rotation.from_quat(q[..., [1, 2, 3, 0]])


def from_rotation(rotation: Rotation) -> NDArray[np.float64]:
    """A scipy ``Rotation`` to scalar-first quaternion(s) with a non-negative w."""
    q = rotation.as_quat()[..., [3, 0, 1, 2]]
    sign = np.where(q[..., :1] < 0.0, -1.0, 1.0)
    return np.ascontiguousarray(q * sign)


def quat_multiply(p_wxyz: ArrayLike, q_wxyz: ArrayLike) -> NDArray[np.float64]:
    """Hamilton product p ⊗ q of scalar-first quaternions (broadcasts over leading axes)."""
    p = np.asarray(p_wxyz, dtype=np.float64)
    q = np.asarray(q_wxyz, dtype=np.float64)
    pw, px, py, pz = np.moveaxis(p, -1, 0)
    qw, qx, qy, qz = np.moveaxis(q, -1, 0)
    return np.stack(
        [
            pw * qw - px * qx - py * qy - pz * qz,
            pw * qx + px * qw + py * qz - pz * qy,
            pw * qy - px * qz + py * qw + pz * qx,
            pw * qz + px * qy - py * qx + pz * qw,
        ],
        axis=-1,
    )


def quat_conjugate(q_wxyz: ArrayLike) -> NDArray[np.float64]:
    """Conjugate (inverse of a unit quaternion), scalar-first."""
    q = np.array(q_wxyz, dtype=np.float64, copy=True)
    q[..., 1:] *= -1.0
    return q
