"""Movesense sensors running the gatt_sensordata_app (GATT SensorData Protocol).

A data notification is ``[0x02, ref, u32 timestamp ms, float32 ...]``: all acc vectors,
then all gyro, then all mag. When it does not fit one notification the rest follows in
``[0x03, ref, float32 ...]``. How many samples one packet holds depends on the rate
(``params.samples_per_packet``); the joined length then says how many there are, and a
rate whose packet cannot fit the firmware's two-notification split (``params.split_bytes``)
is refused when the profile loads, with the reason, instead of failing at run time.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Annotated, Any, Literal

import numpy as np
from numpy.typing import NDArray
from pydantic import BaseModel, ConfigDict, Field

from hipscope.acquisition.families import SensorFamily, register
from hipscope.acquisition.families.packets import (
    DecodedPacket,
    PacketAssembler,
    PacketEncoder,
    as_bytes,
    guarded,
    vector,
)
from hipscope.acquisition.profiles import SensorProfile
from hipscope.base.errors import DecodeError, HipscopeError

DATA = 0x02
CONTINUATION = 0x03
HEADER_BYTES = 6
VECTOR_BYTES = 12


class MovesenseParams(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)

    reference: int = Field(ge=0, le=0xFF)
    vectors: list[Literal["acc", "gyr", "mag"]]
    samples_per_packet: dict[str, int]
    """"<Hz>" -> samples in one (joined) data packet."""
    split_bytes: list[Annotated[int, Field(ge=8, le=512)]] = Field(
        default=[150, 156], min_length=2, max_length=2
    )
    """Longest first notification and longest continuation (with its 2-byte header)."""


def _params(profile: SensorProfile) -> MovesenseParams:
    params: MovesenseParams = MovesenseFamily().params(profile)
    return params


def packet_bytes(p: MovesenseParams, samples: int) -> int:
    """Length of a joined data packet of ``samples`` samples."""
    return HEADER_BYTES + samples * len(p.vectors) * VECTOR_BYTES


def samples_at(p: MovesenseParams, rate_hz: float) -> int:
    return int(p.samples_per_packet[str(round(rate_hz))])


def _decoder(profile: SensorProfile, rate_hz: float) -> Callable[[bytes], DecodedPacket]:
    """Decoder of a complete (joined) data packet; the sample count comes from its length."""
    p = _params(profile)
    lay = profile.layout
    k = len(p.vectors)
    unit_s = profile.timing.time_unit_s
    period_s = 1.0 / rate_hz

    def decode(buf: bytes) -> DecodedPacket:
        if len(buf) < 2 or buf[0] != DATA:
            raise DecodeError(
                f"movesense: expected a data packet starting 02, got {buf[:1].hex() or 'nothing'}"
            )
        if buf[1] != p.reference:
            raise DecodeError(f"movesense: reference {buf[1]}, expected {p.reference}")
        n, rest = divmod(len(buf) - HEADER_BYTES, k * VECTOR_BYTES)
        if n < 1 or rest:
            raise DecodeError(
                f"movesense: data of {len(buf)} bytes is not a 6-byte header plus whole "
                f"samples of {k} vectors"
            )
        t0 = int.from_bytes(buf[2:6], "little") * unit_s
        floats = np.frombuffer(buf, "<f4", offset=HEADER_BYTES).astype(np.float64)
        arrays = floats.reshape(k, n, 3)
        out = {name: arrays[i] * lay.sample[name].scale for i, name in enumerate(p.vectors)}
        device_time = t0 + np.arange(n, dtype=np.float64) * period_s
        mag = vector(out["mag"]) if "mag" in out else None
        return DecodedPacket(vector(out["acc"]), vector(out["gyr"]), mag, device_time, None)

    return decode


class MovesenseAssembler(PacketAssembler):
    """Joins a data packet (02) with its continuation (03).

    A data packet as long as the rate's packet decodes at once. A shorter one is held
    until the continuation with the same reference arrives; the joined bytes are the first
    packet followed by the continuation without its 2-byte ``[type, ref]`` header. A first
    part that is never continued is dropped (counted in ``dropped_samples``) when the next
    data packet arrives.
    """

    def __init__(self, profile: SensorProfile, rate_hz: float) -> None:
        self._whole = guarded(profile.id, _decoder(profile, rate_hz))
        super().__init__(self._whole)
        p = _params(profile)
        self._reference = p.reference
        self._samples = samples_at(p, rate_hz)
        self._expected = packet_bytes(p, self._samples)
        self._first: bytes | None = None

    def feed(self, data: bytes | bytearray | memoryview) -> DecodedPacket | None:
        buf = as_bytes(data)
        if len(buf) < 2:
            raise DecodeError(
                f"movesense: packet of {len(buf)} bytes has no [type, reference] header"
            )
        if buf[1] != self._reference:
            raise DecodeError(f"movesense: reference {buf[1]}, expected {self._reference}")
        if buf[0] == DATA:
            if self._first is not None:
                self._first = None
                self.dropped_samples += self._samples
            if len(buf) >= self._expected:
                return self._whole(buf)
            if len(buf) < HEADER_BYTES:
                raise DecodeError(f"movesense: data packet of {len(buf)} bytes has no timestamp")
            self._first = buf
            return None
        if buf[0] == CONTINUATION:
            if self._first is None:
                raise DecodeError("movesense: continuation packet (03) without a first part")
            joined = self._first + buf[2:]
            self._first = None
            if len(joined) != self._expected:
                self.dropped_samples += self._samples
                raise DecodeError(
                    f"movesense: joined data of {len(joined)} bytes, expected {self._expected} "
                    f"({self._samples} samples)"
                )
            return self._whole(joined)
        raise DecodeError(
            f"movesense: packet type {buf[0]:02x}, expected 02 (data) or 03 (continuation)"
        )

    def reset(self) -> None:
        self._first = None


class MovesenseEncoder(PacketEncoder):
    """Data packets split as the firmware splits them."""

    def encode_chunk(
        self,
        acc_m_s2: NDArray[Any],
        gyr_rad_s: NDArray[Any],
        mag_ut: NDArray[Any] | None,
        device_time_s: NDArray[np.float64],
        seq: NDArray[Any],
    ) -> Sequence[bytes]:
        p = _params(self.profile)
        lay = self.profile.layout
        n = len(acc_m_s2)
        given = {"acc": acc_m_s2, "gyr": gyr_rad_s, "mag": mag_ut}
        arrays = [
            np.zeros((n, 3)) if given[v] is None else np.asarray(given[v]) / lay.sample[v].scale
            for v in p.vectors
        ]
        t_ms = round(float(device_time_s[0]) / self.profile.timing.time_unit_s) % (1 << 32)
        body = (
            bytes([DATA, p.reference])
            + t_ms.to_bytes(4, "little")
            + np.concatenate(arrays).astype("<f4").tobytes()
        )
        first, rest = p.split_bytes
        if len(body) <= first:
            return [body]
        continuation = bytes([CONTINUATION, p.reference]) + body[first:]
        if len(continuation) > rest:
            raise HipscopeError(f"movesense: {n} samples do not fit the notification split")
        return [body[:first], continuation]


@register
class MovesenseFamily(SensorFamily):
    name = "movesense"
    params_model = MovesenseParams
    header_needs = ("type", "reference", "time_ms")
    sample_needs = ("acc", "gyr")

    def check(self, profile: SensorProfile) -> None:
        p = self.params(profile)
        if p.vectors[:2] != ["acc", "gyr"] or len(set(p.vectors)) != len(p.vectors):
            raise self.fail(
                profile, "params.vectors", f'expected ["acc", "gyr"(, "mag")], got {p.vectors!r}'
            )
        if "mag" in p.vectors and "mag" not in profile.layout.sample:
            raise self.fail(profile, "layout.sample.mag", "missing although params.vectors has mag")
        first, rest = p.split_bytes
        room = first + rest - 2
        for rate in profile.rates_hz:
            key = str(round(rate))
            if key not in p.samples_per_packet:
                raise self.fail(
                    profile, f"params.samples_per_packet.{key}", "missing (one entry per rate)"
                )
            n = p.samples_per_packet[key]
            size = packet_bytes(p, n)
            if n < 1 or size > room:
                raise self.fail(
                    profile,
                    "rates_hz",
                    f"{rate:g} Hz sends {n} samples of {len(p.vectors)} vectors = {size} bytes "
                    f"per packet, more than the firmware's {first} + {rest}-byte notification "
                    f"split carries ({room} bytes); this rate cannot be streamed",
                )

    def decoder(self, profile: SensorProfile, rate_hz: float) -> Callable[[bytes], DecodedPacket]:
        return _decoder(profile, rate_hz)

    def assembler(self, profile: SensorProfile, rate_hz: float) -> PacketAssembler:
        return MovesenseAssembler(profile, rate_hz)

    def encoder(
        self,
        profile: SensorProfile,
        rate_hz: float,
        *,
        samples_per_packet: int | None = None,
        mag: bool = True,
    ) -> PacketEncoder | None:
        p = self.params(profile)
        n = samples_per_packet or samples_at(p, rate_hz)
        return MovesenseEncoder(profile, rate_hz, n, "mag" in p.vectors)
