"""Sensor profiles: every built-in family loads, commands match vendor documentation, and
malformed profile files are refused with messages naming the file and key."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import pytest

from hipscope.acquisition.profiles import (
    PROFILE_DIR,
    load_profile,
    load_profiles,
    match_profile,
    normalize_uuid,
    parse_profile,
)
from hipscope.base.errors import ProfileError

FAMILIES = (
    "hipscope_open",
    "movella_dot",
    "witmotion_wt901ble",
    "mbientlab_metamotion",
    "movesense",
    "nordic_thingy52",
)


def test_all_families_load_with_their_ids() -> None:
    profiles = load_profiles()
    assert set(profiles) == set(FAMILIES)
    for pid, profile in profiles.items():
        assert profile.id == pid
        assert profile.default_rate_hz in profile.rates_hz
        assert re.fullmatch(r"[0-9a-f-]{36}", profile.data_uuid)
        for action in ("start", "stop", "set_rate"):
            for char, payload in profile.writes(action):
                assert char in profile.characteristics.values()
                assert isinstance(payload, bytes) and payload


def test_vendor_documented_uuids() -> None:
    # values from the vendors' public documentation (sources per field in docs/SENSORS.md)
    assert load_profile("movella_dot").service_uuid == "15172000-4947-11e9-8646-d663bd873d93"
    wit = load_profile("witmotion_wt901ble")
    assert wit.data_uuid == "0000ffe4-0000-1000-8000-00805f9a34fb"
    assert wit.control_uuid == "0000ffe9-0000-1000-8000-00805f9a34fb"
    assert load_profile("mbientlab_metamotion").data_uuid == "326a9006-85cb-9195-d9dd-464cfbbae75a"
    assert load_profile("movesense").control_uuid == "34800001-7185-4d5d-b431-630e7050e8f0"
    assert load_profile("nordic_thingy52").data_uuid == "ef680406-9b35-4933-9b10-52ffa9740042"


def test_control_writes_match_vendor_commands() -> None:
    meta = [payload for _, payload in load_profile("mbientlab_metamotion").writes("start", 200)]
    assert meta[0] == bytes.fromhex("03032908")  # acc 200 Hz, ±8 g as documented
    assert bytes.fromhex("030101") in meta and bytes.fromhex("130101") in meta
    wit = [p for _, p in load_profile("witmotion_wt901ble").writes("set_rate", 10)]
    assert wit == [
        bytes.fromhex("ffaa6988b5"),
        bytes.fromhex("ffaa030600"),
        bytes.fromhex("ffaa000000"),
    ]
    assert load_profile("witmotion_wt901ble").writes("start") == []
    movesense = load_profile("movesense").writes("start", 104)
    assert movesense[0][1] == bytes([0x01, 99]) + b"/Meas/IMU9/104"
    assert load_profile("movesense").writes("stop")[0][1] == bytes([0x02, 99])
    dot = load_profile("movella_dot")
    assert dot.writes("start")[0] == (dot.control_uuid, bytes([0x01, 0x01, 20]))
    rate = dot.writes("set_rate", 30)[0][1]
    assert len(rate) == 32 and rate[0] == 0x10 and int.from_bytes(rate[24:26], "little") == 30
    assert load_profile("hipscope_open").writes("start", 200)[0][1] == bytes([0x01, 200, 0])


def test_unsupported_rate_is_refused() -> None:
    with pytest.raises(ProfileError, match=r"rate 7 Hz is not supported"):
        load_profile("witmotion_wt901ble").writes("set_rate", 7)


def test_match_by_service_uuid_in_any_spelling_and_by_name() -> None:
    assert match_profile("", ["15172000-4947-11E9-8646-D663BD873D93"]).id == "movella_dot"
    assert match_profile(None, ["0000ffe5-0000-1000-8000-00805f9a34fb"]).id == "witmotion_wt901ble"
    # WitMotion's base UUID differs from the SIG base: the SIG spelling of 0xFFE5 is another service
    assert match_profile(None, ["ffe5"]) is None
    assert match_profile("HIPSCOPE-PELVIS", []).id == "hipscope_open"
    assert match_profile("Movesense 223430000123", ["not-a-uuid"]).id == "movesense"
    assert match_profile("Thingy", []).id == "nordic_thingy52"
    assert match_profile("unknown gadget", []) is None
    assert normalize_uuid("180F") == "0000180f-0000-1000-8000-00805f9b34fb"


def test_load_unknown_profile_lists_the_known_ones() -> None:
    with pytest.raises(ProfileError, match=r"unknown sensor profile 'nope' \(known: .*movella_dot"):
        load_profile("nope")


def _broken(tmp_path: Path, edit: str, *, name: str = "movella_dot.toml") -> Path:
    """A copy of movella_dot.toml with one line replaced (``old => new``)."""
    text = (PROFILE_DIR / "movella_dot.toml").read_text()
    old, new = edit.split(" => ")
    assert old in text
    path = tmp_path / name
    path.write_text(text.replace(old, new, 1))
    return path


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (
            'offset = 4 => offset = "x"',
            r"movella_dot.toml: layout.sample.acc.offset: expected an integer, got 'x'",
        ),
        (
            'dtype = "<f4" => dtype = ">f4"',
            r"layout.sample.acc.dtype: expected a little-endian dtype",
        ),
        ('dtype = "<f4" => dtype = "<q9"', r"layout.sample.acc.dtype: expected a numpy dtype"),
        (
            "offset = 28 => offset = 30",
            r"layout.sample.mag_au.offset: field ends at byte 36, beyond sample_size 34",
        ),
        (
            "default_rate_hz = 60 => default_rate_hz = 61",
            r"default_rate_hz: expected one of rates_hz",
        ),
        ('service_uuid = "15172000 => service_uuid = "zz172000', r"service_uuid: expected a UUID"),
        ('hex = "010114" => hex = "01011"', r"control.start\[0\].hex: expected hex bytes"),
        ('char = "config" => char = "cfg"', r"control.set_rate\[0\].char: expected one of"),
        (
            "has_mag = false => has_mag = true",
            r"layout.sample.mag: missing although has_mag = true",
        ),
        ("has_mag = false => has_mag = 0", r"has_mag: expected true or false, got 0"),
        ('unit = "m/s2" => unit = "g"', r"layout.sample.acc.unit: expected 'm/s2' after scaling"),
        ('id = "movella_dot" => id = "movella_dot"\ncolour = "red"', r"colour: unknown key"),
        ("[layout.sample.acc] => [layout.sample.accel]", r"layout.sample.acc: missing"),
        ("time_wrap_bits = 32 => time_wrap_bits = 3", r"timing: device_time needs"),
        ("counter = false => counter = true\ncounter_bits = 16", r"layout: counter = true needs"),
        ("[timing] => [timing\n", r"movella_dot.toml: not valid TOML"),
    ],
)
def test_malformed_profiles_name_file_and_key(tmp_path: Path, edit: str, message: str) -> None:
    with pytest.raises(ProfileError, match=message):
        load_profile(_broken(tmp_path, edit))


def test_rate_codes_must_cover_every_rate(tmp_path: Path) -> None:
    text = (PROFILE_DIR / "witmotion_wt901ble.toml").read_text().replace('"200" = "0b"\n', "")
    path = tmp_path / "wit.toml"
    path.write_text(text)
    with pytest.raises(
        ProfileError, match=r"wit.toml: control.rate_codes: missing codes for rates 200"
    ):
        load_profile(path)


def test_parse_profile_reports_wrong_types() -> None:
    data = tomllib.loads((PROFILE_DIR / "nordic_thingy52.toml").read_text())
    data["rates_hz"] = "fast"
    with pytest.raises(ProfileError, match=r"t.toml: rates_hz: expected an array, got 'fast'"):
        parse_profile(data, Path("t.toml"))


@pytest.mark.parametrize(
    ("source", "edit", "message"),
    [
        (
            "mbientlab_metamotion",
            "acc_lsb_per_g = 4096.0 => acc_lsb_per_g = 0",
            r"params.acc_lsb_per_g: input should be greater than 0, got 0",
        ),
        (
            "movesense",
            'vectors = ["acc", "gyr", "mag"] => vectors = ["gyr", "acc"]',
            r"params.vectors: expected",
        ),
        (
            "movesense",
            '"104" = 8 => "104" = "8"',
            r"params.samples_per_packet.104: expected an integer, got '8'",
        ),
        (
            "hipscope_open",
            "[layout.header.flags] => [layout.header.flag_bits]",
            r"layout.header.flags: missing \(the hipscope_open decoder",
        ),
        ("hipscope_open", "expect = 1\n => \n", r"layout.header.version.expect: missing"),
        (
            "witmotion_wt901ble",
            'frame_sync = "5561" => frame_sync = "55"',
            r"layout.frame_sync: expected two bytes",
        ),
    ],
)
def test_decoder_specific_needs_are_checked_on_load(
    tmp_path: Path, source: str, edit: str, message: str
) -> None:
    text = (PROFILE_DIR / f"{source}.toml").read_text()
    old, new = edit.split(" => ")
    assert old in text
    path = tmp_path / f"{source}.toml"
    path.write_text(text.replace(old, new, 1))
    with pytest.raises(ProfileError, match=rf"{source}.toml: {message}"):
        load_profile(path)
