"""Kit files: the example kit, nominal mounting as docs/DESIGN.md defines it, and refusals."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from hipscope.acquisition.kit import load_kit
from hipscope.acquisition.profiles import PROFILE_DIR
from hipscope.base.errors import KitError
from hipscope.base.rotations import to_rotation

EXAMPLE = PROFILE_DIR / "example_kit.toml"


def test_example_kit() -> None:
    kit = load_kit(EXAMPLE)
    assert kit.placements == ("pelvis", "trunk", "thigh_left", "thigh_right")
    assert kit.rate_hz == 100.0
    assert all(d.profile == "hipscope_open" and d.rate_hz == 100.0 for d in kit.devices)
    assert kit.find(name="HIPSCOPE-TRUNK") is kit.device("trunk")
    assert kit.find(name="somebody else") is None
    with pytest.raises(KitError, match="no sensor at placement 'foot_left'"):
        kit.device("foot_left")


def _axes(kit_path: Path, placement: str) -> np.ndarray:
    device = load_kit(kit_path).device(placement)
    rotation = to_rotation(device.q_segment_sensor)
    np.testing.assert_allclose(rotation.as_matrix(), device.r_segment_sensor, atol=1e-12)
    return device.r_segment_sensor  # columns: sensor x, y, z in the segment frame


def test_nominal_mounting_matches_design() -> None:
    up, anterior, right = np.array([0, 1, 0]), np.array([1, 0, 0]), np.array([0, 0, 1])
    for placement in ("pelvis", "trunk"):
        r = _axes(EXAMPLE, placement)
        np.testing.assert_allclose(r[:, 0], up)  # +x up
        np.testing.assert_allclose(r[:, 2], -anterior)  # +z backwards out of the skin
    left = _axes(EXAMPLE, "thigh_left")
    right_thigh = _axes(EXAMPLE, "thigh_right")
    np.testing.assert_allclose(left[:, 2], -right)  # +z outwards = to the left
    np.testing.assert_allclose(right_thigh[:, 2], right)
    for r in (left, right_thigh):
        np.testing.assert_allclose(r[:, 0], up)
        assert np.linalg.det(r) == pytest.approx(1.0)


def _kit(tmp_path: Path, sensors: str, head: str = "[session]\nrate_hz = 100\n") -> Path:
    path = tmp_path / "kit.toml"
    path.write_text(head + sensors)
    return path


def _sensor(**fields: str) -> str:
    values = {"placement": '"pelvis"', "name": '"A"', "profile": '"hipscope_open"'} | fields
    body = "".join(f"{k} = {v}\n" for k, v in values.items() if v)
    return "[[sensor]]\n" + body


def test_explicit_axes(tmp_path: Path) -> None:
    path = _kit(
        tmp_path, _sensor(mounting='{ x = "down", y = "inward" }', placement='"thigh_right"')
    )
    r = _axes(path, "thigh_right")
    np.testing.assert_allclose(r[:, 0], [0, -1, 0])
    np.testing.assert_allclose(r[:, 1], [0, 0, -1])  # inward for the right thigh = left
    device = load_kit(path).device("thigh_right")
    assert not device.nominal


@pytest.mark.parametrize(
    ("sensors", "message"),
    [
        (_sensor(placement='"hip"'), r"kit.toml: sensor\[0\].placement: unknown placement 'hip'"),
        (_sensor(profile='"fitbit"'), r"sensor\[0\].profile: unknown sensor profile 'fitbit'"),
        (
            _sensor() + _sensor(name='"B"'),
            r"sensor\[1\].placement: 'pelvis' is already used by sensor\[0\]",
        ),
        (_sensor() + _sensor(placement='"trunk"'), r"sensor\[1\].name: 'A' is already used"),
        (
            _sensor(address='"c0:00:00:00:00:01"')
            + _sensor(placement='"trunk"', name='"B"', address='"C0:00:00:00:00:01"'),
            r"sensor\[1\].address: 'C0:00:00:00:00:01' is already used",
        ),
        (_sensor(name=""), r"sensor\[0\]: needs a name or an address"),
        (
            _sensor(mounting='{ x = "up", z = "outward" }'),
            r"sensor\[0\].mounting.z: expected one of",
        ),
        (_sensor(mounting='{ x = "up", z = "down" }'), r"axes x and z point along the same line"),
        (_sensor(mounting='{ x = "up" }'), r"expected at least two axes"),
        (_sensor(mounting='{ x = "up", y = "left", z = "forward" }'), r"left-handed"),
        (_sensor(mounting='{ w = "up", z = "forward" }'), r"mounting.w: unknown sensor axis"),
        (_sensor(placement='"foot_left"'), r"no nominal mounting for foot_left"),
        (_sensor(rate_hz="333"), r"sensor\[0\].rate_hz: 333 Hz is not supported by hipscope_open"),
        (_sensor(colour='"red"'), r"sensor\[0\].colour: unknown key"),
        ("", r"sensor: expected at least one \[\[sensor\]\] table"),
    ],
)
def test_refusals_name_file_and_key(tmp_path: Path, sensors: str, message: str) -> None:
    with pytest.raises(KitError, match=message):
        load_kit(_kit(tmp_path, sensors))


def test_session_rate_must_suit_every_profile(tmp_path: Path) -> None:
    path = _kit(tmp_path, _sensor(profile='"movella_dot"'), head="[session]\nrate_hz = 200\n")
    with pytest.raises(KitError, match=r"session.rate_hz: 200 Hz is not supported by movella_dot"):
        load_kit(path)


def test_unreadable_kits(tmp_path: Path) -> None:
    with pytest.raises(KitError, match="no such kit file"):
        load_kit(tmp_path / "missing.toml")
    with pytest.raises(KitError, match=r"kit\.toml: not valid TOML"):
        load_kit(_kit(tmp_path, "[[sensor]\n"))
    with pytest.raises(KitError, match="is a directory"):
        load_kit(tmp_path)


def test_address_match_ignores_case(tmp_path: Path) -> None:
    kit = load_kit(_kit(tmp_path, _sensor(name="", address='"c0:11:22:33:44:55"')))
    assert kit.find(address="C0:11:22:33:44:55") is kit.devices[0]
    assert kit.find(name="A", address="c0:11:22:33:44:55") is kit.devices[0]


def test_nominal_mounting_agrees_with_the_motion_simulator() -> None:
    # the simulator (written independently from docs/DESIGN.md) mounts sensors nominally when
    # asked for no misalignment: both must describe the same rotation
    from hipscope.acquisition.simulator import StaticSpec, simulate

    session = simulate(
        [StaticSpec(duration_s=3.0)], misalignment_deg=0.0, noise=False, rate_hz=50.0
    )
    kit = load_kit(EXAMPLE)
    for placement, q_true in session.q_segment_sensor.items():
        q_kit = kit.device(placement).q_segment_sensor
        assert abs(float(np.dot(q_true, q_kit))) == pytest.approx(1.0, abs=1e-9), placement


def test_rates_default_to_the_profile_and_devices_built_in_code_mount_nominally(
    tmp_path: Path,
) -> None:
    kit = load_kit(
        _kit(
            tmp_path,
            _sensor(profile='"movella_dot"') + _sensor(placement='"trunk"', name='"B"'),
            head="",
        )
    )
    assert [d.rate_hz for d in kit.devices] == [60.0, 100.0]  # each profile's default
    assert kit.rate_hz == 60.0
    from hipscope.acquisition.kit import KitDevice

    built = KitDevice(placement="thigh_left", profile="hipscope_open", name="X")
    np.testing.assert_allclose(
        built.r_segment_sensor, load_kit(EXAMPLE).device("thigh_left").r_segment_sensor
    )
    with pytest.raises(KitError, match="foot_left: no nominal mounting"):
        _ = KitDevice(placement="foot_left", profile="hipscope_open", name="X").r_segment_sensor
