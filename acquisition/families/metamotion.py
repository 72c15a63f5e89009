"""MbientLab MetaMotion (MetaWear command protocol): accelerometer and gyroscope arrive in
separate ``[module, register, int16 x y z ...]`` notifications, paired in arrival order.

Boards differ in their IMU: MetaMotion R, RL and C carry a BMI160, MetaMotion S a BMI270,
with other register numbers and range codes. As the MetaWear SDK does, the family reads
the board's model number (Device Information, Model Number String) right after
connecting and applies that board's variant of the profile (``board_models`` ->
``[variants.<name>]``); a model the profile does not list is refused with a clear message.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
from numpy.typing import NDArray
from pydantic import BaseModel, ConfigDict, Field

from hipscope.acquisition.families import SensorFamily, register
from hipscope.acquisition.families.packets import (
    DEG,
    DecodedPacket,
    G,
    PacketAssembler,
    PacketEncoder,
    as_bytes,
)
from hipscope.acquisition.profiles import SensorProfile
from hipscope.base.errors import DecodeError, LinkError, ProfileError

ACC_MODULE = 0x03
GYR_MODULE = 0x13
PACKED_SAMPLES = 3


class MetaMotionParams(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)

    acc_lsb_per_g: float = Field(gt=0)
    gyr_lsb_per_dps: float = Field(gt=0)
    acc_data_register: int = Field(ge=0, le=0xFF)
    acc_packed_register: int = Field(ge=0, le=0xFF)
    gyr_data_register: int = Field(ge=0, le=0xFF)
    gyr_packed_register: int = Field(ge=0, le=0xFF)
    board_models: dict[str, str] = {}
    """Device Information model number -> variant name."""
    default_variant: str = ""
    """The variant the profile's top-level control and params describe."""


class MetaMotionPart:
    """One MetaMotion notification: ``kind`` "acc" (m/s²) or "gyr" (rad/s), (n, 3) values."""

    __slots__ = ("kind", "values")

    def __init__(self, kind: str, values: NDArray[np.float32]) -> None:
        self.kind = kind
        self.values = values


def _params(profile: SensorProfile) -> MetaMotionParams:
    params: MetaMotionParams = MetaMotionFamily().params(profile)
    return params


def _parts(p: MetaMotionParams) -> dict[tuple[int, int], tuple[str, int]]:
    return {
        (ACC_MODULE, p.acc_data_register): ("acc", 1),
        (ACC_MODULE, p.acc_packed_register): ("acc", PACKED_SAMPLES),
        (GYR_MODULE, p.gyr_data_register): ("gyr", 1),
        (GYR_MODULE, p.gyr_packed_register): ("gyr", PACKED_SAMPLES),
    }


def part_decoder(profile: SensorProfile) -> Any:
    """Pure decoder of one MetaMotion notification (acc or gyro) of the profile's variant."""
    p = _params(profile)
    acc_scale, gyr_scale = G / p.acc_lsb_per_g, DEG / p.gyr_lsb_per_dps
    parts = _parts(p)
    vec = np.dtype("<i2")

    def decode(data: bytes | bytearray | memoryview) -> MetaMotionPart:
        buf = as_bytes(data)
        if len(buf) < 2:
            raise DecodeError(
                f"metamotion: packet of {len(buf)} bytes has no [module, register] header"
            )
        key = (buf[0], buf[1])
        if key not in parts:
            raise DecodeError(
                f"metamotion: unexpected module/register {buf[0]:02x} {buf[1]:02x} "
                "(expected acc or gyro data)"
            )
        kind, n = parts[key]
        if len(buf) != 2 + 6 * n:
            raise DecodeError(
                f"metamotion: {buf[:2].hex(' ')} packet of {len(buf)} bytes, expected {2 + 6 * n}"
            )
        raw = np.frombuffer(buf, vec, count=3 * n, offset=2).reshape(n, 3)
        scale = acc_scale if kind == "acc" else gyr_scale
        return MetaMotionPart(kind, (raw.astype(np.float64) * scale).astype(np.float32))

    return decode


class MetaMotionAssembler(PacketAssembler):
    """Pairs MetaMotion acc and gyro samples in arrival order.

    The device streams both at the same rate without counters or timestamps, so the k-th
    acc sample is paired with the k-th gyro sample. If one stream runs ahead by more than
    ``max_pending`` samples (the other stopped or lost packets), the oldest unpaired samples
    are discarded and counted in ``dropped_samples`` so pairing can recover.
    """

    def __init__(self, profile: SensorProfile, max_pending: int = 32) -> None:
        super().__init__(decoder=None)
        self._part = part_decoder(profile)
        self.max_pending = max_pending
        self._pending: dict[str, NDArray[np.float32]] = {
            "acc": np.empty((0, 3), np.float32),
            "gyr": np.empty((0, 3), np.float32),
        }

    def feed(self, data: bytes | bytearray | memoryview) -> DecodedPacket | None:
        part = self._part(data)
        pending = self._pending
        pending[part.kind] = np.concatenate([pending[part.kind], part.values])
        n = min(len(pending["acc"]), len(pending["gyr"]))
        for kind in ("acc", "gyr"):
            excess = len(pending[kind]) - n - self.max_pending
            if excess > 0:
                pending[kind] = pending[kind][excess:]
                self.dropped_samples += excess
        if n == 0:
            return None
        acc, gyr = pending["acc"][:n], pending["gyr"][:n]
        pending["acc"], pending["gyr"] = pending["acc"][n:], pending["gyr"][n:]
        return DecodedPacket(np.ascontiguousarray(acc), np.ascontiguousarray(gyr))

    def reset(self) -> None:
        self._pending = {k: np.empty((0, 3), np.float32) for k in ("acc", "gyr")}


class MetaMotionEncoder(PacketEncoder):
    """Packed acc and gyro notifications (three samples each; single ones for a remainder)."""

    def encode_chunk(
        self,
        acc_m_s2: NDArray[Any],
        gyr_rad_s: NDArray[Any],
        mag_ut: NDArray[Any] | None,
        device_time_s: NDArray[np.float64],
        seq: NDArray[Any],
    ) -> Sequence[bytes]:
        p = _params(self.profile)
        acc = np.clip(np.rint(np.asarray(acc_m_s2) / G * p.acc_lsb_per_g), -32768, 32767)
        gyr = np.clip(np.rint(np.asarray(gyr_rad_s) / DEG * p.gyr_lsb_per_dps), -32768, 32767)
        out: list[bytes] = []
        for module, raw, single, packed in (
            (ACC_MODULE, acc, p.acc_data_register, p.acc_packed_register),
            (GYR_MODULE, gyr, p.gyr_data_register, p.gyr_packed_register),
        ):
            if len(raw) == PACKED_SAMPLES:
                out.append(bytes([module, packed]) + raw.astype("<i2").tobytes())
            else:
                out.extend(bytes([module, single]) + row.astype("<i2").tobytes() for row in raw)
        return out


@register
class MetaMotionFamily(SensorFamily):
    name = "metamotion"
    params_model = MetaMotionParams

    def check(self, profile: SensorProfile) -> None:
        p = self.params(profile)
        for model, variant in p.board_models.items():
            if variant not in profile.variants:
                raise self.fail(
                    profile,
                    f"params.board_models.{model}",
                    f"names variant {variant!r}, but [variants.{variant}] is missing",
                )
        if p.default_variant and p.default_variant not in profile.variants:
            raise self.fail(
                profile, "params.default_variant", f"[variants.{p.default_variant}] is missing"
            )
        if "model" in profile.characteristics and not p.board_models:
            raise self.fail(
                profile,
                "params.board_models",
                "missing (the models read from characteristics.model)",
            )

    def assembler(self, profile: SensorProfile, rate_hz: float) -> PacketAssembler:
        return MetaMotionAssembler(profile)

    def encoder(
        self,
        profile: SensorProfile,
        rate_hz: float,
        *,
        samples_per_packet: int | None = None,
        mag: bool = False,
    ) -> PacketEncoder | None:
        return MetaMotionEncoder(profile, rate_hz, samples_per_packet or PACKED_SAMPLES, False)

    def board_variant(self, profile: SensorProfile, model: str) -> SensorProfile:
        """The profile for a board reporting Device Information model number ``model``."""
        p = self.params(profile)
        variant = p.board_models.get(model.strip())
        if variant is None:
            known = ", ".join(f"{m} ({v})" for m, v in sorted(p.board_models.items()))
            raise ProfileError(
                f"{profile.source.name}: MetaWear board model {model.strip()!r} is not supported "
                f"(supported model numbers: {known}); see docs/SENSORS.md"
            )
        return profile.with_variant(variant)

    async def prepare(self, profile: SensorProfile, client: Any) -> SensorProfile:
        uuid = profile.characteristics.get("model")
        if uuid is None:
            return profile
        char = client.services.get_characteristic(uuid)
        if char is None:
            raise LinkError(f"{client.address} has no model number characteristic {uuid}")
        raw = bytes(await client.read_gatt_char(char))
        model = raw.decode("ascii", "replace").strip("\x00 ")
        return self.board_variant(profile, model)

    def virtual_reads(self, profile: SensorProfile) -> Mapping[str, bytes]:
        if "model" not in profile.characteristics:
            return {}
        p = self.params(profile)
        variant = profile.variant or p.default_variant
        for model, name in p.board_models.items():  # the profile's order: first one wins
            if name == variant:
                return {"model": model.encode("ascii")}
        return {"model": b"?"}
