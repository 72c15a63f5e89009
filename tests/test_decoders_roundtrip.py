"""Encoders (virtual sensors) and decoders agree: SI values survive within one quantisation
step, and decoding then re-encoding reproduces a device's packet byte for byte."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hipscope.acquisition.decoders import assembler_for, decoder_for
from hipscope.acquisition.profiles import load_profile
from hipscope.acquisition.samples import SampleBatch
from hipscope.acquisition.virtual.encoders import (
    encode_hipscope_open,
    encode_movella_dot,
    encode_witmotion,
    encoder_for,
)
from hipscope.base.errors import HipscopeError

G = 9.80665
DEG = math.pi / 180.0


def _batch(n: int, seed: int = 0, seq0: int = 0) -> SampleBatch:
    rng = np.random.default_rng(seed)
    return SampleBatch(
        np.arange(n) / 200.0,
        rng.uniform(-3 * G, 3 * G, (n, 3)),
        rng.uniform(-10, 10, (n, 3)),
        rng.uniform(-60, 60, (n, 3)),
        (seq0 + np.arange(n, dtype=np.uint64)) % 2**32,
    )


@pytest.mark.parametrize("pid", ["hipscope_open", "movella_dot", "witmotion_wt901ble"])
def test_round_trip_within_quantisation(pid: str) -> None:
    batch = _batch(57, seq0=2**32 - 20)
    device_time = 4294.9 + np.arange(57) / 200.0  # crosses the u32 µs roll-over
    encoder = encoder_for(pid, 200.0)
    packets = encoder.encode(batch, device_time)
    assert all(len(p) <= 244 for p in packets)
    assembler = assembler_for(load_profile(pid), 200.0)
    decoded = [assembler.feed(p) for p in packets]
    acc = np.concatenate([d.acc_m_s2 for d in decoded if d is not None])
    gyr = np.concatenate([d.gyr_rad_s for d in decoded if d is not None])
    acc_step = {"hipscope_open": 16 * G / 32768, "witmotion_wt901ble": 16 * G / 32768}.get(
        pid, 1e-5
    )
    gyr_step = {"hipscope_open": 2000 * DEG / 32768, "witmotion_wt901ble": 2000 * DEG / 32768}.get(
        pid, 1e-5
    )
    np.testing.assert_allclose(acc, batch.acc_m_s2, atol=acc_step / 2 + 1e-6)
    np.testing.assert_allclose(gyr, batch.gyr_rad_s, atol=gyr_step / 2 + 1e-6)
    if pid == "hipscope_open":
        seq = np.concatenate([d.seq for d in decoded if d is not None and d.seq is not None])
        np.testing.assert_array_equal(seq, batch.seq)
        assert decoded[0] is not None and decoded[0].mag_ut is not None
        assert encoder.samples_per_packet == 10  # 20 notifications per second at 200 Hz
    if pid != "witmotion_wt901ble":
        times = np.concatenate([d.device_time_s for d in decoded if d is not None])
        unwrapped = np.where(times < 4000, times + 2**32 * 1e-6, times)
        np.testing.assert_allclose(unwrapped, device_time, atol=1e-6)


@settings(max_examples=60, deadline=None)
@given(
    raw=st.lists(st.integers(-32768, 32767), min_size=9, max_size=9 * 12).filter(
        lambda v: len(v) % 9 == 0
    ),
    acc_range=st.sampled_from([2, 4, 8, 16]),
    gyr_range=st.sampled_from([125, 250, 500, 1000, 2000]),
    seq=st.integers(0, 2**32 - 1),
    time_us=st.integers(0, 2**32 - 1),
)
def test_open_profile_packets_survive_decode_encode_byte_for_byte(
    raw: list[int], acc_range: int, gyr_range: int, seq: int, time_us: int
) -> None:
    samples = np.array(raw, dtype="<i2").reshape(-1, 9)
    header = np.array(
        [(1, 1, len(samples), acc_range, gyr_range, 4912, seq, time_us, 5000)],
        dtype="u1,u1,u1,u1,<u2,<u2,<u4,<u4,<u4",
    )
    packet = header.tobytes() + samples.tobytes()
    decoded = decoder_for(load_profile("hipscope_open"))(packet)
    assert decoded.device_time_s is not None and decoded.seq is not None
    again = encode_hipscope_open(
        decoded.acc_m_s2,
        decoded.gyr_rad_s,
        decoded.mag_ut,
        seq0=int(decoded.seq[0]),
        time_s0=float(decoded.device_time_s[0]),
        period_s=0.005,
        acc_range_g=acc_range,
        gyr_range_dps=gyr_range,
        mag_range_ut=4912,
    )
    assert again == packet


def test_witmotion_frames_survive_decode_encode() -> None:
    frame = bytes.fromhex("55 61 77 02 a8 fe 92 fe 06 02 30 fe cd ff f8 f0 53 fc ab c4")
    decoded = decoder_for(load_profile("witmotion_wt901ble"))(frame * 3)
    assert (
        encode_witmotion(decoded.acc_m_s2, decoded.gyr_rad_s, decoded.extra["euler"]) == frame * 3
    )


def test_movella_dot_encoder_layout() -> None:
    data = encode_movella_dot(
        [1.0, 2.0, 3.0], [DEG, 0.0, 0.0], [0.5, 0, 0], device_time_s=1.5, pad_to=40
    )
    assert len(data) == 40 and data[34:] == bytes(6)
    assert int.from_bytes(data[:4], "little") == 1_500_000
    assert np.frombuffer(data, "<f4", 3, 16)[0] == pytest.approx(1.0)  # deg/s on the wire
    assert np.frombuffer(data, "<i2", 1, 28)[0] == 2048


def test_encoder_saturates_like_a_device() -> None:
    data = encode_witmotion([[1000.0, -1000.0, 0.0]], [[0.0, 0.0, 0.0]])
    assert np.frombuffer(data, "<i2", 2, 2).tolist() == [32767, -32768]


def test_encoder_refusals() -> None:
    with pytest.raises(HipscopeError, match=r"samples_per_packet must be 1\.\.12, got 13"):
        encoder_for("witmotion_wt901ble", samples_per_packet=13)
    with pytest.raises(HipscopeError, match="do not fit one notification"):
        encode_hipscope_open(
            np.zeros((13, 3)),
            np.zeros((13, 3)),
            np.zeros((13, 3)),
            seq0=0,
            time_s0=0.0,
            period_s=0.01,
        )
    with pytest.raises(HipscopeError, match=r"gyr_rad_s must have shape \(2, 3\)"):
        encode_witmotion(np.zeros((2, 3)), np.zeros((3, 3)))
