"""Decoders against vendor test vectors, the documented worked example of the open profile
and packets hand-built (with struct, not our encoders) from the documented layouts."""

from __future__ import annotations

import dataclasses
import math
import re
import struct

import numpy as np
import pytest

from hipscope.acquisition.decoders import (
    DecodedPacket,
    MetaMotionAssembler,
    assembler_for,
    decoder_for,
    metamotion_part_decoder,
)
from hipscope.acquisition.profiles import PROFILE_DIR, load_profile
from hipscope.base.errors import DecodeError, ProfileError

G = 9.80665
DEG = math.pi / 180.0


def _metamotion(acc_lsb_per_g: float, gyr_lsb_per_dps: float):  # type: ignore[no-untyped-def]
    profile = load_profile("mbientlab_metamotion")
    params = {**profile.params, "acc_lsb_per_g": acc_lsb_per_g, "gyr_lsb_per_dps": gyr_lsb_per_dps}
    return dataclasses.replace(profile, params=params)


def test_metamotion_acc_vector_at_4g() -> None:
    # MetaWear SDK test vector: ±4 g -> 8192 LSB/g
    part = metamotion_part_decoder(_metamotion(8192, 65.6))(
        bytes.fromhex("03 04 16 c4 94 a2 2a d0")
    )
    assert part.kind == "acc"
    np.testing.assert_allclose(part.values[0] / G, [-1.872, -2.919, -1.495], atol=1e-3)


def test_metamotion_gyro_vector_at_500dps() -> None:
    part = metamotion_part_decoder(_metamotion(8192, 65.6))(
        bytes.fromhex("13 05 3e 43 ff 7f 00 80")
    )
    assert part.kind == "gyr"
    np.testing.assert_allclose(part.values[0] / DEG, [262.409, 499.497, -499.512], atol=2e-3)


def test_witmotion_vector() -> None:
    frame = bytes.fromhex("55 61 77 02 a8 fe 92 fe 06 02 30 fe cd ff f8 f0 53 fc ab c4")
    packet = decoder_for(load_profile("witmotion_wt901ble"))(frame)
    assert len(packet) == 1 and packet.device_time_s is None and packet.seq is None
    np.testing.assert_allclose(packet.acc_m_s2[0] / G, [0.308, -0.168, -0.179], atol=1e-3)
    np.testing.assert_allclose(packet.gyr_rad_s[0] / DEG, [31.6, -28.3, -3.1], atol=0.05)
    assert packet.extra["euler"].shape == (1, 3)


def test_witmotion_resynchronises_on_concatenated_frames() -> None:
    frame = bytes.fromhex("55 61 77 02 a8 fe 92 fe 06 02 30 fe cd ff f8 f0 53 fc ab c4")
    other = bytes([0x55, 0x71]) + bytes([0x55, 0x61] * 9)  # register reply containing "55 61"
    decode = decoder_for(load_profile("witmotion_wt901ble"))
    packet = decode(b"\x00\x13" + frame + other + frame + frame[:7])
    assert len(packet) == 2
    np.testing.assert_array_equal(packet.acc_m_s2[0], packet.acc_m_s2[1])
    with pytest.raises(DecodeError, match="no complete 55 61 frame"):
        decode(frame[:19])


def _worked_example() -> tuple[bytes, list[list[float]]]:
    text = (PROFILE_DIR / "OPEN_PROFILE.md").read_text()
    hex_block = text.split("<!-- worked-example-hex -->")[1].split("```")[1]
    table = text.split("<!-- worked-example-values -->")[1].strip().splitlines()[2:4]
    rows = []
    for line in table:
        numbers = re.findall(r"[−-]?\d+(?:\.\d+)?", line.replace("−", "-"))
        rows.append([float(x) for x in numbers])
    return bytes.fromhex(hex_block), rows


def test_open_profile_worked_example_decodes_to_the_documented_values() -> None:
    data, rows = _worked_example()
    packet = decoder_for(load_profile("hipscope_open"))(data)
    assert len(packet) == 2
    for i, row in enumerate(rows):
        # row: sample, seq, time, acc xyz, gyr xyz, mag xyz
        assert packet.seq is not None and packet.device_time_s is not None
        assert int(packet.seq[i]) == row[1]
        assert packet.device_time_s[i] == pytest.approx(row[2], abs=1e-9)
        np.testing.assert_allclose(packet.acc_m_s2[i], row[3:6], atol=1e-4)
        np.testing.assert_allclose(packet.gyr_rad_s[i], row[6:9], atol=1e-4)
        assert packet.mag_ut is not None
        np.testing.assert_allclose(packet.mag_ut[i], row[9:12], atol=1e-4)


def _open_packet(
    samples: list[tuple[int, ...]],
    *,
    mag: bool,
    version: int = 1,
    flags: int | None = None,
    seq: int = 7,
    time_us: int = 0,
    period_us: int = 10000,
) -> bytes:
    header = struct.pack(
        "<BBBBHHIII",
        version,
        (1 if mag else 0) if flags is None else flags,
        len(samples),
        4,
        500,
        1600 if mag else 0,
        seq,
        time_us,
        period_us,
    )
    fmt = "<9h" if mag else "<6h"
    return header + b"".join(struct.pack(fmt, *s) for s in samples)


def test_open_profile_without_mag_and_with_wrapping_counter_and_clock() -> None:
    data = _open_packet(
        [(16384, 0, 0, 0, 0, 6554)] * 3, mag=False, seq=2**32 - 2, time_us=2**32 - 10000
    )
    packet = decoder_for(load_profile("hipscope_open"))(data)
    assert packet.mag_ut is None
    np.testing.assert_allclose(packet.acc_m_s2[:, 0], 2 * G, rtol=1e-6)  # half of ±4 g
    np.testing.assert_allclose(packet.gyr_rad_s[:, 2], 6554 / 32768 * 500 * DEG, rtol=1e-6)
    assert packet.seq is not None and packet.seq.tolist() == [2**32 - 2, 2**32 - 1, 0]
    assert packet.device_time_s is not None
    np.testing.assert_allclose(np.diff(packet.device_time_s), 0.01)  # monotonic across the wrap


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (_open_packet([(0,) * 6], mag=False, version=2), "version byte is 2, expected 1"),
        (_open_packet([(0,) * 6], mag=False, flags=0x80), "reserved bits"),
        (
            _open_packet([(0,) * 6], mag=False)[:-1],
            "header says 1 samples of 12 bytes, packet has 31",
        ),
        (_open_packet([(0,) * 6], mag=False) + b"\x00" * 6, "packet has 38 bytes"),
        (_open_packet([(0,) * 6], mag=False, period_us=0), "period_us is 0"),
        (b"\x01\x00", "shorter than the 20-byte header"),
        (_open_packet([(0,) * 6], mag=False, flags=1)[:20] + b"\x00" * 18, "mag_range_ut is 0"),
    ],
)
def test_open_profile_refuses_bad_packets(data: bytes, message: str) -> None:
    with pytest.raises(DecodeError, match=message):
        decoder_for(load_profile("hipscope_open"))(data)


def test_movella_dot_mode20_packet() -> None:
    data = struct.pack("<I3f3f3h", 123_456_789, 0.5, -9.81, 1.25, 90.0, -45.0, 0.0, 4096, -2048, 0)
    decode = decoder_for(load_profile("movella_dot"))
    for padded in (data, data + b"\x00" * 6):
        packet = decode(padded)
        assert packet.device_time_s is not None
        assert packet.device_time_s[0] == pytest.approx(123.456789)
        np.testing.assert_allclose(packet.acc_m_s2[0], [0.5, -9.81, 1.25], rtol=1e-6)
        np.testing.assert_allclose(packet.gyr_rad_s[0], [math.pi / 2, -math.pi / 4, 0.0], rtol=1e-6)
        np.testing.assert_allclose(packet.extra["mag_au"][0], [1.0, -0.5, 0.0])
        assert packet.mag_ut is None and packet.seq is None
    with pytest.raises(DecodeError, match="packet of 35 bytes, expected 34 or 40"):
        decode(data + b"\x00")


def test_thingy52_raw_fixed_point_formats() -> None:
    data = struct.pack("<9h", 1024, -512, 0, 32, -64, 0, 16, 0, -160)
    packet = decoder_for(load_profile("nordic_thingy52"))(data)
    np.testing.assert_allclose(packet.acc_m_s2[0], [G, -G / 2, 0.0], rtol=1e-6)  # Q6.10 g
    np.testing.assert_allclose(packet.gyr_rad_s[0], [DEG, -2 * DEG, 0.0], rtol=1e-6)  # Q11.5
    assert packet.mag_ut is not None
    np.testing.assert_allclose(packet.mag_ut[0], [1.0, 0.0, -10.0])  # Q12.4 µT
    with pytest.raises(DecodeError):
        decoder_for(load_profile("nordic_thingy52"))(data[:-2])


def _movesense_packets(t_ms: int, split: int) -> tuple[bytes, bytes, np.ndarray]:
    values = np.arange(8 * 9, dtype=np.float32).reshape(3, 8, 3) * 0.5 - 5.0  # acc, gyr, mag
    body = struct.pack("<BBI", 2, 99, t_ms) + values.astype("<f4").tobytes()
    return body[:split], bytes([3, 99]) + body[split:], values


def test_movesense_split_packets_are_joined() -> None:
    first, second, values = _movesense_packets(1_000_250, split=200)
    assembler = assembler_for(load_profile("movesense"), 104)
    assert assembler.feed(first) is None
    packet = assembler.feed(second)
    assert isinstance(packet, DecodedPacket) and len(packet) == 8
    np.testing.assert_allclose(packet.acc_m_s2, values[0])
    np.testing.assert_allclose(packet.gyr_rad_s, values[1] * DEG, rtol=1e-6)
    assert packet.mag_ut is not None
    np.testing.assert_allclose(packet.mag_ut, values[2])
    assert packet.device_time_s is not None
    np.testing.assert_allclose(packet.device_time_s, 1000.25 + np.arange(8) / 104)
    with pytest.raises(DecodeError, match="continuation packet"):
        assembler.feed(second)
    # an unfinished first part is dropped (and counted) when the next one starts
    assert assembler.feed(first) is None
    assert assembler.feed(first) is None
    assert assembler.dropped_samples == 8
    assert len(assembler.feed(second) or ()) == 8
    whole = first + second[2:]
    assert len(decoder_for(load_profile("movesense"), 104)(whole)) == 8


def test_metamotion_assembler_pairs_acc_and_gyro_in_order() -> None:
    assembler = assembler_for(_metamotion(4096, 16.4))
    assert isinstance(assembler, MetaMotionAssembler)
    packed_acc = bytes([0x03, 0x1C]) + struct.pack("<9h", 4096, 0, 0, 0, 4096, 0, 0, 0, 4096)
    assert assembler.feed(packed_acc) is None
    first = assembler.feed(bytes([0x13, 0x05]) + struct.pack("<3h", 164, 0, 0))
    assert first is not None and len(first) == 1
    np.testing.assert_allclose(first.acc_m_s2[0], [G, 0, 0], rtol=1e-6)
    np.testing.assert_allclose(first.gyr_rad_s[0], [10 * DEG, 0, 0], rtol=1e-6)
    rest = assembler.feed(bytes([0x13, 0x07]) + struct.pack("<9h", *([0] * 9)))
    assert rest is not None and len(rest) == 2
    np.testing.assert_allclose(rest.acc_m_s2, [[0, G, 0], [0, 0, G]], rtol=1e-6)
    with pytest.raises(DecodeError, match="unexpected module/register"):
        assembler.feed(bytes([0x03, 0x05, 0, 0, 0, 0, 0, 0]))
    with pytest.raises(DecodeError, match="expected 20"):
        assembler.feed(packed_acc[:-2])


def test_metamotion_assembler_drops_unpaired_excess() -> None:
    assembler = MetaMotionAssembler(_metamotion(4096, 16.4), max_pending=4)
    acc = bytes([0x03, 0x04, 0, 0, 0, 0, 0, 0])
    for _ in range(10):
        assert assembler.feed(acc) is None
    assert assembler.dropped_samples == 6
    paired = assembler.feed(bytes([0x13, 0x07]) + b"\x00" * 18)
    assert paired is not None and len(paired) == 3


def test_metamotion_has_no_single_packet_decoder() -> None:
    with pytest.raises(ProfileError, match="use assembler_for"):
        decoder_for(load_profile("mbientlab_metamotion"))


@pytest.mark.parametrize("value", ["text", 5, None, [1, 2]])
def test_non_bytes_input_is_a_decode_error(value: object) -> None:
    with pytest.raises(DecodeError, match="expected packet bytes"):
        decoder_for(load_profile("nordic_thingy52"))(value)  # type: ignore[arg-type]


def test_to_batch_carries_counters() -> None:
    data, _ = _worked_example()
    packet = decoder_for(load_profile("hipscope_open"))(data)
    batch = packet.to_batch(np.array([1.0, 1.005]))
    assert batch.seq is not None and batch.seq.tolist() == [1000, 1001]
    assert batch.mag_ut is not None


NEW_FAMILY = """
id = "diy_counter"
name = "DIY sensor with a per-sample counter"
name_prefixes = ["DIY"]
service_uuid = "0000abcd-0000-1000-8000-00805f9b34fb"
has_mag = false
rates_hz = [50]
default_rate_hz = 50
[characteristics]
data = "0000abce-0000-1000-8000-00805f9b34fb"
[timing]
device_time = true
time_unit_s = 1e-3
time_wrap_bits = 16
counter = true
counter_bits = 8
[layout]
header_size = 1
sample_size = 15
[layout.header.kind]
offset = 0
dtype = "u1"
expect = 7
[layout.sample.counter]
offset = 0
dtype = "u1"
[layout.sample.time]
offset = 1
dtype = "<u2"
scale = 1e-3
unit = "s"
[layout.sample.acc]
offset = 3
dtype = "<i2"
count = 3
scale = 0.01
unit = "m/s2"
[layout.sample.gyr]
offset = 9
dtype = "<i2"
count = 3
scale = 0.001
unit = "rad/s"
"""


def test_a_new_family_is_just_a_toml_file(tmp_path) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "diy_counter.toml"
    path.write_text(NEW_FAMILY)
    decode = decoder_for(load_profile(path))
    samples = [
        (254, 65500, 981, 0, -981, 1, 2, 3),
        (255, 65520, 0, 0, 0, 0, 0, 0),
        (0, 4, 5, 5, 5, 5, 5, 5),
    ]
    packet = decode(bytes([7]) + b"".join(struct.pack("<BH6h", *s) for s in samples))
    assert packet.seq is not None and packet.seq.tolist() == [254, 255, 0]
    assert packet.device_time_s is not None
    np.testing.assert_allclose(
        packet.device_time_s, [65.5, 65.52, 65.54]
    )  # monotonic over the wrap
    np.testing.assert_allclose(packet.acc_m_s2[0], [9.81, 0.0, -9.81], rtol=1e-6)
    np.testing.assert_allclose(packet.gyr_rad_s[0], [0.001, 0.002, 0.003], rtol=1e-6)
    with pytest.raises(DecodeError, match="header kind is 8, expected 7"):
        decode(bytes([8]) + struct.pack("<BH6h", *samples[0]))
    with pytest.raises(DecodeError, match="not a header plus whole samples"):
        decode(
            bytes([7]) + struct.pack("<BH6h", *samples[0]) + struct.pack("<BH6h", *samples[1])[:-1]
        )
