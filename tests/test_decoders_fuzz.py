"""Fuzzing: random, truncated, mutated and concatenated packets never raise anything but
DecodeError, and never through the decoders' last-resort guard."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hipscope.acquisition.decoders import DecodedPacket, assembler_for
from hipscope.acquisition.profiles import load_profiles
from hipscope.acquisition.samples import SampleBatch
from hipscope.acquisition.virtual.encoders import encoder_for
from hipscope.base.errors import DecodeError

PROFILES = load_profiles()


def _valid_packets() -> dict[str, list[bytes]]:
    rng = np.random.default_rng(3)
    n = 24
    batch = SampleBatch(
        np.arange(n) / 100.0,
        rng.normal(0, 20, (n, 3)),
        rng.normal(0, 5, (n, 3)),
        rng.normal(0, 40, (n, 3)),
        np.arange(n, dtype=np.uint32),
    )
    packets = {
        pid: encoder_for(pid, 100.0).encode(batch, 100.0 + np.arange(n) / 100.0)
        for pid in ("hipscope_open", "movella_dot", "witmotion_wt901ble")
    }
    packets["hipscope_open"] += encoder_for("hipscope_open", 100.0, mag=False).encode(
        batch, np.arange(n) / 100.0
    )
    packets["mbientlab_metamotion"] = [bytes([3, 0x1C]) + bytes(18), bytes([0x13, 5]) + bytes(6)]
    body = bytes([2, 99]) + bytes(4) + np.ones(72, "<f4").tobytes()
    packets["movesense"] = [body, body[:150], bytes([3, 99]) + body[150:]]
    packets["nordic_thingy52"] = [bytes(range(18))]
    return packets


VALID = _valid_packets()


def _check(pid: str, chunks: list[bytes]) -> None:
    assembler = assembler_for(PROFILES[pid])
    for chunk in chunks:
        try:
            packet = assembler.feed(chunk)
        except DecodeError as error:
            assert error.__cause__ is None, f"{pid}: decoder fell through to its guard: {error!r}"
            continue
        if packet is None:
            continue
        assert isinstance(packet, DecodedPacket)
        n = len(packet)
        assert n >= 1 and packet.gyr_rad_s.shape == (n, 3)
        assert packet.acc_m_s2.dtype == np.float32
        for optional in (packet.device_time_s, packet.seq):
            assert optional is None or optional.shape == (n,)


fuzz = settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@pytest.mark.parametrize("pid", sorted(PROFILES))
@fuzz
@given(data=st.lists(st.binary(max_size=260), max_size=4))
def test_random_bytes(pid: str, data: list[bytes]) -> None:
    _check(pid, data)


@pytest.mark.parametrize("pid", sorted(PROFILES))
@fuzz
@given(st.data())
def test_truncated_mutated_and_concatenated_valid_packets(pid: str, data: st.DataObject) -> None:
    packets = VALID[pid]
    chunks = []
    for _ in range(data.draw(st.integers(1, 4))):
        packet = bytearray(data.draw(st.sampled_from(packets)))
        how = data.draw(st.sampled_from(["cut", "mutate", "join", "as-is"]))
        if how == "cut":
            packet = packet[: data.draw(st.integers(0, len(packet)))]
        elif how == "mutate" and packet:
            for _ in range(data.draw(st.integers(1, 3))):
                packet[data.draw(st.integers(0, len(packet) - 1))] = data.draw(st.integers(0, 255))
        elif how == "join":
            packet += data.draw(st.sampled_from(packets))
        chunks.append(bytes(packet))
    _check(pid, chunks)


def test_valid_packets_decode() -> None:
    for pid, packets in VALID.items():
        assembler = assembler_for(PROFILES[pid])
        decoded = [assembler.feed(p) for p in packets]
        assert any(isinstance(d, DecodedPacket) for d in decoded), pid
