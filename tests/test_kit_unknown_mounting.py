"""A kit may say a sensor's axes are unknown: calibration then finds them from walking."""

from __future__ import annotations

from pathlib import Path

import pytest

from hipscope.acquisition.kit import load_kit
from hipscope.base.errors import KitError

KIT = """
[session]
rate_hz = 100
[[sensor]]
placement = "pelvis"
name = "A"
profile = "hipscope_open"
mounting = "unknown"
[[sensor]]
placement = "thigh_left"
name = "B"
profile = "hipscope_open"
"""


def test_unknown_mounting_is_accepted_and_left_out_of_the_mountings(tmp_path: Path) -> None:
    path = tmp_path / "kit.toml"
    path.write_text(KIT)
    kit = load_kit(path)
    pelvis, thigh = kit.devices
    assert pelvis.unknown and not pelvis.nominal and not thigh.unknown
    assert set(kit.mountings()) == {"thigh_left"}
    with pytest.raises(KitError, match="mounting unknown"):
        _ = pelvis.q_segment_sensor


def test_other_words_are_still_refused(tmp_path: Path) -> None:
    path = tmp_path / "kit.toml"
    path.write_text(KIT.replace('"unknown"', '"sideways"'))
    with pytest.raises(KitError, match=r'sensor\[0\].mounting: expected "nominal", "unknown"'):
        load_kit(path)
