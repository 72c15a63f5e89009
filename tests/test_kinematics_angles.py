"""Angle names and signs, each checked against a movement described in words.

Segments are built from world-frame axis directions (anterior, superior, right) rather than
from the decompositions under test, so a sign or sequence mistake shows up here.
World: x forward, y left, z up; ISB segment axes: x anterior, y superior, z right.
"""

from __future__ import annotations

import numpy as np
import pytest
from scipy.spatial.transform import Rotation

from hipscope.base.rotations import from_rotation
from hipscope.processing.angles import _euler, compute_angles, joint_angles, segment_angles

FORWARD = np.array([1.0, 0.0, 0.0])
LEFT = np.array([0.0, 1.0, 0.0])
UP = np.array([0.0, 0.0, 1.0])
RIGHT = -LEFT
D10 = np.radians(10.0)


def segment(anterior: np.ndarray, superior: np.ndarray) -> np.ndarray:
    """q_world_segment whose ISB axes point along the given world directions."""
    x = anterior / np.linalg.norm(anterior)
    y = superior - np.dot(superior, x) * x
    y /= np.linalg.norm(y)
    return from_rotation(Rotation.from_matrix(np.column_stack([x, y, np.cross(x, y)])))[None]


def turned(vector: np.ndarray, axis: np.ndarray, angle_rad: float) -> np.ndarray:
    return Rotation.from_rotvec(axis * angle_rad).apply(vector)


STANDING = segment(FORWARD, UP)


def test_standing_is_zero_everywhere() -> None:
    angles = compute_angles({p: STANDING for p in ("pelvis", "trunk", "thigh_left", "thigh_right")})
    assert len(angles) == 17
    for name, value in angles.items():
        assert value[0] == pytest.approx(0.0, abs=1e-12), name


def test_pelvis_segment_angle_signs() -> None:
    # Right side lower: the right (z) axis tilts down, i.e. the superior axis leans right.
    right_low = segment(FORWARD, turned(UP, FORWARD, D10))
    tilt, obliquity, rotation = segment_angles(right_low)
    assert obliquity[0] == pytest.approx(D10) and abs(tilt[0]) < 1e-9
    # Anterior tilt: the front goes down (the anterior axis points below the horizon).
    anterior = segment(turned(FORWARD, LEFT, D10), turned(UP, LEFT, D10))
    tilt, obliquity, rotation = segment_angles(anterior)
    assert tilt[0] == pytest.approx(D10) and abs(obliquity[0]) < 1e-9
    # Right side forward = turning left.
    left_turn = segment(turned(FORWARD, UP, D10), UP)
    tilt, obliquity, rotation = segment_angles(left_turn)
    assert rotation[0] == pytest.approx(D10)
    # Obliquity does not depend on where the athlete faces (YXZ: heading first).
    facing_back = segment(-FORWARD, turned(UP, -FORWARD, D10))
    assert segment_angles(facing_back)[1][0] == pytest.approx(D10)


@pytest.mark.parametrize("side", ["left", "right"])
def test_hip_angle_signs(side: str) -> None:
    lateral = RIGHT if side == "right" else LEFT
    # Flexion: knee forward, the thigh's superior axis (knee -> hip) leans back.
    flexed = segment(turned(FORWARD, LEFT, -0.5), turned(UP, LEFT, -0.5))
    # Adduction: knee towards the midline, the superior axis leans outwards.
    adducted = segment(FORWARD, turned(UP, np.cross(lateral, UP), -D10))
    # Internal rotation: the thigh's anterior axis turns towards the midline.
    internal = segment(turned(FORWARD, UP, D10 if side == "right" else -D10), UP)
    for q, name, expected in (
        (flexed, "hip_flexion", 0.5),
        (adducted, "hip_adduction", D10),
        (internal, "hip_rotation", D10),
    ):
        angles = compute_angles({"pelvis": STANDING, f"thigh_{side}": q})
        assert angles[f"{name}_{side}"][0] == pytest.approx(expected), name
    sagittal = compute_angles({f"thigh_{side}": flexed})[f"thigh_sagittal_{side}"]
    assert sagittal[0] == pytest.approx(0.5)


def test_adduction_direction_is_towards_the_midline() -> None:
    # Knee of the right thigh moves left (medially): its superior axis leans right.
    superior = turned(UP, FORWARD, D10)
    thigh = segment(FORWARD, superior)
    angles = compute_angles({"pelvis": STANDING, "thigh_right": thigh, "thigh_left": thigh})
    assert angles["hip_adduction_right"][0] == pytest.approx(D10)
    assert angles["hip_adduction_left"][0] == pytest.approx(-D10)  # left knee moved laterally


def test_lumbar_and_trunk_signs() -> None:
    flexed = segment(turned(FORWARD, LEFT, D10), turned(UP, LEFT, D10))  # trunk leaning forward
    leaning_right = segment(FORWARD, turned(UP, FORWARD, D10))
    angles = compute_angles({"pelvis": STANDING, "trunk": flexed})
    assert angles["lumbar_flexion"][0] == pytest.approx(D10)
    assert angles["trunk_tilt"][0] == pytest.approx(D10)
    angles = compute_angles({"pelvis": STANDING, "trunk": leaning_right})
    assert angles["lumbar_lateral_bend"][0] == pytest.approx(D10)
    assert angles["trunk_obliquity"][0] == pytest.approx(D10)


def test_hip_flexion_is_relative_to_the_pelvis_in_a_hinge() -> None:
    # Pelvis tilted 40° forward, thigh vertical: 40° hip flexion, pelvis tilt 40°.
    pelvis = segment(turned(FORWARD, LEFT, np.radians(40)), turned(UP, LEFT, np.radians(40)))
    angles = compute_angles({"pelvis": pelvis, "thigh_left": STANDING})
    assert angles["hip_flexion_left"][0] == pytest.approx(np.radians(40))
    assert angles["pelvis_tilt"][0] == pytest.approx(np.radians(40))
    _, adduction, rotation = joint_angles(pelvis, STANDING)
    assert abs(adduction[0]) < 1e-9 and abs(rotation[0]) < 1e-9


@pytest.mark.parametrize("sequence", ["YXZ", "ZXY", "YZX"])
def test_closed_form_euler_matches_scipy(sequence: str) -> None:
    rotations = Rotation.random(500, random_state=3)
    mine = _euler(from_rotation(rotations), sequence)
    reference = rotations.as_euler(sequence)
    assert np.abs(np.angle(np.exp(1j * (mine - reference)))).max() < 1e-9
    assert np.isnan(_euler(np.full((1, 4), np.nan), sequence)).all()
