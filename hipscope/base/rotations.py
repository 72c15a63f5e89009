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
    """Hamilton product p ⊗ q of scalar-first quaternions (broadcasts over leading axes).

    Written out per component into one preallocated array: the live path calls it about 30
    times a second on small arrays, where numpy's per-call overhead dominates.
    """
    p = np.asarray(p_wxyz, dtype=np.float64)
    q = np.asarray(q_wxyz, dtype=np.float64)
    pw, px, py, pz = p[..., 0], p[..., 1], p[..., 2], p[..., 3]
    qw, qx, qy, qz = q[..., 0], q[..., 1], q[..., 2], q[..., 3]
    out = np.empty(np.broadcast_shapes(p.shape, q.shape))
    out[..., 0] = pw * qw - px * qx - py * qy - pz * qz
    out[..., 1] = pw * qx + px * qw + py * qz - pz * qy
    out[..., 2] = pw * qy - px * qz + py * qw + pz * qx
    out[..., 3] = pw * qz + px * qy - py * qx + pz * qw
    return out


def quat_conjugate(q_wxyz: ArrayLike) -> NDArray[np.float64]:
    """Conjugate (inverse of a unit quaternion), scalar-first."""
    q = np.array(q_wxyz, dtype=np.float64, copy=True)
    q[..., 1:] *= -1.0
    return q
