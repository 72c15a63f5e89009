"""Check the .mot export against OpenSim itself: OpenSim reads the file, poses a model, and
the bodies' orientations must equal the segment orientations the angles came from.

Usage (OpenSim's Python package is not a hipscope dependency; install it beside):
    pip install opensim && python benchmarks/opensim_check.py [--rows 400]

A simulated screen with walking gives true segment orientations (pelvis, trunk, thighs).
hipscope turns them into angles and writes the OpenSim motion file
(``processing/angle_export.py``). OpenSim's ``TimeSeriesTable`` reads that file; a model
whose ground_pelvis, hip_r, hip_l and back CustomJoints have the axes, order and
coefficients of the Rajagopal 2015 model (docs/DESIGN.md "Angle export") is posed with
each row's coordinates, and OpenSim's own kinematics give every body's rotation in
ground. That rotation must match the segment's orientation relative to the calibration
stance (OpenSim ground = ISB axes at the stance: x forward, y up, z right). Prints the
largest difference per body; the file's 3 decimals allow about 0.002°.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

import numpy as np
from scipy.spatial.transform import Rotation

from hipscope.acquisition.simulator import screen_protocol, simulate
from hipscope.base.rotations import to_rotation
from hipscope.processing.angle_export import angle_table, write_angle_mot
from hipscope.processing.angles import compute_angles, relative_to_neutral

JOINTS = {
    # joint: (parent, child, [(coordinate, axis, coefficient)]), as in Rajagopal2015_opensense
    "ground_pelvis": (
        "ground",
        "pelvis",
        [("pelvis_tilt", "0 0 1", 1), ("pelvis_list", "1 0 0", 1), ("pelvis_rotation", "0 1 0", 1)],
    ),
    "hip_r": (
        "pelvis",
        "femur_r",
        [
            ("hip_flexion_r", "0 0 1", 1),
            ("hip_adduction_r", "1 0 0", 1),
            ("hip_rotation_r", "0 1 0", 1),
        ],
    ),
    "hip_l": (
        "pelvis",
        "femur_l",
        [
            ("hip_flexion_l", "0 0 1", 1),
            ("hip_adduction_l", "1 0 0", -1),
            ("hip_rotation_l", "0 1 0", -1),
        ],
    ),
    "back": (
        "pelvis",
        "torso",
        [
            ("lumbar_extension", "0 0 1", 1),
            ("lumbar_bending", "1 0 0", 1),
            ("lumbar_rotation", "0 1 0", 1),
        ],
    ),
}
SEGMENT_OF_BODY = {
    "pelvis": "pelvis",
    "femur_r": "thigh_right",
    "femur_l": "thigh_left",
    "torso": "trunk",
}


def _axis(name: str, coordinate: str | None, axis: str, coefficient: float) -> str:
    if coordinate is None:
        function = '<Constant name="function"><value>0</value></Constant>'
        coordinate = ""
    else:
        function = (
            f'<LinearFunction name="function"><coefficients> {coefficient} 0</coefficients>'
            "</LinearFunction>"
        )
    return (
        f'<TransformAxis name="{name}"><coordinates>{coordinate}</coordinates>'
        f"<axis>{axis}</axis>{function}</TransformAxis>"
    )


def model_xml() -> str:
    bodies = "".join(
        f'<Body name="{b}"><mass>1</mass><mass_center>0 0 0</mass_center>'
        "<inertia>0.1 0.1 0.1 0 0 0</inertia></Body>"
        for b in SEGMENT_OF_BODY
    )
    joints = []
    for name, (parent, child, coordinates) in JOINTS.items():
        coords = "".join(
            f'<Coordinate name="{c}"><default_value>0</default_value><range>-3.2 3.2</range>'
            "</Coordinate>"
            for c, _, _ in coordinates
        )
        rotations = "".join(
            _axis(f"rotation{i + 1}", c, a, k) for i, (c, a, k) in enumerate(coordinates)
        )
        translations = "".join(
            _axis(f"translation{i + 1}", None, a, 1.0)
            for i, a in enumerate(("1 0 0", "0 1 0", "0 0 1"))
        )
        parent_path = "/ground" if parent == "ground" else f"/bodyset/{parent}"
        joints.append(
            f'<CustomJoint name="{name}"><socket_parent_frame>{parent}_offset'
            f"</socket_parent_frame><socket_child_frame>{child}_offset</socket_child_frame>"
            f"<coordinates>{coords}</coordinates><frames>"
            f'<PhysicalOffsetFrame name="{parent}_offset"><socket_parent>{parent_path}'
            "</socket_parent><translation>0 0 0</translation><orientation>0 0 0</orientation>"
            f'</PhysicalOffsetFrame><PhysicalOffsetFrame name="{child}_offset">'
            f"<socket_parent>/bodyset/{child}</socket_parent><translation>0 0 0</translation>"
            "<orientation>0 0 0</orientation></PhysicalOffsetFrame></frames>"
            f"<SpatialTransform>{rotations}{translations}</SpatialTransform></CustomJoint>"
        )
    return (
        '<?xml version="1.0" encoding="UTF-8" ?><OpenSimDocument Version="40000">'
        '<Model name="hipscope_check"><Ground name="ground"/><gravity>0 -9.81 0</gravity>'
        f'<BodySet name="bodyset"><objects>{bodies}</objects></BodySet>'
        f'<JointSet name="jointset"><objects>{"".join(joints)}</objects></JointSet>'
        "</Model></OpenSimDocument>"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=400, help="rows posed in OpenSim")
    args = parser.parse_args(argv)
    try:
        import opensim as osim
    except ImportError:
        print("opensim_check: needs OpenSim's Python package (pip install opensim)")
        return 1
    osim.Logger.removeFileSink()  # no opensim.log in the working folder
    sim = simulate(screen_protocol(), seed=2)
    truth = sim.q_world_segment
    table = angle_table(
        sim.time_s, compute_angles(truth), opensim=True, q_world_pelvis=truth["pelvis"]
    )
    with tempfile.TemporaryDirectory() as tmp:
        mot = write_angle_mot(Path(tmp) / "screen.mot", table)
        model_path = Path(tmp) / "check.osim"
        model_path.write_text(model_xml())
        motion = osim.TimeSeriesTable(str(mot))
        in_degrees = motion.getTableMetaDataAsString("inDegrees")
        labels = list(motion.getColumnLabels())
        values = {label: motion.getDependentColumn(label).to_numpy() for label in labels}
        times = np.asarray(motion.getIndependentColumn())
        model = osim.Model(str(model_path))
        state = model.initSystem()
        coordinates = model.getCoordinateSet()
        rows = np.linspace(0, len(times) - 1, args.rows).astype(int)
        worst = dict.fromkeys(SEGMENT_OF_BODY, 0.0)
        for row in rows:
            for label in labels:
                coordinates.get(label).setValue(state, np.radians(values[label][row]), False)
            model.realizePosition(state)
            for body, segment in SEGMENT_OF_BODY.items():
                matrix = model.getBodySet().get(body).getTransformInGround(state).R().asMat33()
                r_osim = Rotation.from_matrix(
                    [[matrix.get(i, k) for k in range(3)] for i in range(3)]
                )
                r_hip = to_rotation(relative_to_neutral(truth[segment][row]))
                error = np.degrees((r_osim.inv() * r_hip).magnitude())
                worst[body] = max(worst[body], float(error))
    print(
        f"OpenSim {osim.__version__} read {len(times)} rows x {len(labels)} coordinates, "
        f"inDegrees={in_degrees}; posed {len(rows)} rows"
    )
    for body, error in worst.items():
        print(f"  {body:8s} largest orientation difference {error:.4f}°")
    ok = in_degrees == "yes" and len(times) == len(sim.time_s) and max(worst.values()) < 0.01
    print(f"opensim_check: {'agrees' if ok else 'DISAGREES'} (max {max(worst.values()):.4f}°)")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
