"""Where each simulated sensor sits on its segment: nominal mounting, heading, misalignment.

``q_segment_sensor = q_y(heading) ⊗ nominal ⊗ q_misalignment``: the sensor is turned by
``heading`` about the segment's long axis (ISB y; a strap put on the front of the thigh
instead of its side is 90°), from docs/DESIGN.md's nominal mounting, and then tilted by a
misalignment about a random axis.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from hipscope.acquisition.simulation.body import NOMINAL_Q_SEGMENT_SENSOR, axis_quat
from hipscope.base.rotations import quat_conjugate, quat_multiply

FloatArray = NDArray[np.float64]


def misalignment(rng: np.random.Generator, max_deg: float) -> tuple[FloatArray, float]:
    """A rotation about a random axis by an angle uniform in [max/2, max] (degrees)."""
    axis = rng.standard_normal(3)
    axis /= np.linalg.norm(axis)
    angle_deg = float(rng.uniform(0.5, 1.0) * max_deg)
    half = 0.5 * np.radians(angle_deg)
    return np.concatenate([[np.cos(half)], np.sin(half) * axis]), angle_deg


def sensor_mounting(
    placement: str,
    rng: np.random.Generator,
    misalignment_deg: float,
    heading_deg: float = 0.0,
) -> tuple[FloatArray, float]:
    """(q_segment_sensor with w >= 0, its angle from the nominal mounting in degrees)."""
    q_mis, tilt_deg = misalignment(rng, misalignment_deg)
    nominal = NOMINAL_Q_SEGMENT_SENSOR[placement]
    q = quat_multiply(axis_quat(1, np.radians(heading_deg)), quat_multiply(nominal, q_mis))
    q = -q if q[0] < 0.0 else q
    if heading_deg == 0.0:
        return q, tilt_deg
    offset = quat_multiply(quat_conjugate(nominal), q)
    angle_deg = float(np.degrees(2.0 * np.arccos(np.clip(abs(offset[0]), 0.0, 1.0))))
    return q, angle_deg
