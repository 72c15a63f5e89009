"""A live window on a real kit starts streaming fusion from the kit file's mountings."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import numpy as np

from hipscope.acquisition.kit import load_kit
from hipscope.base.rotations import quat_conjugate
from hipscope.gui.hub import kit_kinematics_factory
from hipscope.gui.worker import acquisition_mountings

EXAMPLE_KIT = Path(__file__).resolve().parents[1] / "firmware_configs" / "example_kit.toml"


def test_kit_mountings_reach_the_streaming_fusion() -> None:
    acquisition = SimpleNamespace(kit_path=EXAMPLE_KIT, virtual=None)
    mountings = acquisition_mountings(acquisition)
    kit = load_kit(EXAMPLE_KIT)
    assert set(mountings) == {d.placement for d in kit.devices}
    kinematics = kit_kinematics_factory(mountings)(tuple(mountings), 100.0)
    for device in kit.devices:
        np.testing.assert_allclose(
            kinematics.mountings[device.placement], quat_conjugate(device.q_segment_sensor)
        )
    assert acquisition_mountings(SimpleNamespace(kit_path=None, virtual=object())) == {}
