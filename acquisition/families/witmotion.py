"""WitMotion WT901BLE / BWT901BLE: 20-byte ``55 61`` frames, several may arrive
concatenated in one notification (the decoder re-synchronises on the frame header as the
vendor's own Python SDK does). No timestamp and no counter: time is rebuilt from the rate,
so a wrong rate code silently stretches every time-based result. The family therefore
holds the vendor's rate-code table and refuses a profile that disagrees with it, and the
register writes (unlock, rate, save) must pause ~100 ms each as the vendor SDK does."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
from numpy.typing import NDArray

from hipscope.acquisition.families import SensorFamily, register
from hipscope.acquisition.families.packets import (
    MAX_NOTIFICATION_BYTES,
    DecodedPacket,
    PacketEncoder,
    encode_layout,
    scaled,
    struct_dtype,
    to_raw,
    vector,
)
from hipscope.acquisition.profiles import SensorProfile
from hipscope.base.errors import DecodeError, HipscopeError

VENDOR_RATE_CODES: dict[int, str] = {
    1: "03",
    2: "04",
    5: "05",
    10: "06",
    20: "07",
    50: "08",
    100: "09",
    125: "0a",  # only on the WT931
    200: "0b",
}
"""Output-rate register values (WitStandardProtocol_JY901 ``REG.h``: RRATE_1HZ 0x03 ...
RRATE_100HZ 0x09, RRATE_125HZ 0x0a "only WT931", RRATE_200HZ 0x0b)."""

REGISTER_WAIT_S = 0.1
"""Pause after unlock and after a register write (vendor SDK ``writeReg``: 100 ms each)."""

_OTHER_TYPES = frozenset(range(0x50, 0x60)) | {0x71}


def _decoder(profile: SensorProfile, rate_hz: float) -> Callable[[bytes], DecodedPacket]:
    lay = profile.layout
    frame_dtype = struct_dtype(lay.sample, lay.sample_size)
    sync = lay.frame_sync  # 55 61
    size_needed = lay.sample_size

    def decode(buf: bytes) -> DecodedPacket:
        starts: list[int] = []
        i, size = 0, len(buf)
        # Re-synchronise on 0x55: skip whole frames of other types, junk byte by byte.
        while i + size_needed <= size:
            if buf[i] == sync[0] and buf[i + 1] == sync[1]:
                starts.append(i)
                i += size_needed
            elif buf[i] == sync[0] and buf[i + 1] in _OTHER_TYPES:
                i += size_needed
            else:
                i += 1
        if not starts:
            raise DecodeError(f"witmotion: no complete {sync.hex(' ')} frame in {size} bytes")
        frames = np.frombuffer(b"".join(buf[k : k + size_needed] for k in starts), frame_dtype)
        acc = vector(scaled(frames["acc"], lay.sample["acc"], None))
        gyr = vector(scaled(frames["gyr"], lay.sample["gyr"], None))
        extra = {
            name: scaled(frames[name], spec, None)
            for name, spec in lay.sample.items()
            if name not in ("acc", "gyr")
        }
        return DecodedPacket(acc, gyr, None, None, None, extra)

    return decode


class WitMotionEncoder(PacketEncoder):
    """Concatenated ``55 61`` frames with the profile's offsets and scales."""

    def encode_chunk(
        self,
        acc_m_s2: NDArray[Any],
        gyr_rad_s: NDArray[Any],
        mag_ut: NDArray[Any] | None,
        device_time_s: NDArray[np.float64],
        seq: NDArray[Any],
    ) -> Sequence[bytes]:
        return [encode_frames(self.profile, acc_m_s2, gyr_rad_s)]


def encode_frames(
    profile: SensorProfile, acc_m_s2: Any, gyr_rad_s: Any, euler_rad: Any | None = None
) -> bytes:
    """Frames for the given samples (angles zero unless given), laid out as the profile says."""
    from hipscope.acquisition.families.packets import rows

    lay = profile.layout
    acc = rows("acc_m_s2", acc_m_s2)
    n = acc.shape[0]
    values: dict[str, Any] = {
        "acc": to_raw(acc, lay.sample["acc"]),
        "gyr": to_raw(rows("gyr_rad_s", gyr_rad_s, n), lay.sample["gyr"]),
    }
    if euler_rad is not None and "euler" in lay.sample:
        values["euler"] = to_raw(rows("euler_rad", euler_rad, n), lay.sample["euler"])
    frames = bytearray(encode_layout(lay.sample, lay.sample_size, n, values))
    sync = lay.frame_sync
    for k in range(n):
        frames[k * lay.sample_size : k * lay.sample_size + len(sync)] = sync
    return bytes(frames)


@register
class WitMotionFamily(SensorFamily):
    name = "witmotion"
    sample_needs = ("acc", "gyr")

    def check(self, profile: SensorProfile) -> None:
        if len(profile.layout.frame_sync) != 2:
            raise self.fail(profile, "layout.frame_sync", 'expected two bytes, e.g. "5561"')
        for rate, code in profile.rate_codes.items():
            vendor = VENDOR_RATE_CODES.get(rate)
            if vendor is None or code.lower() != vendor:
                expected = (
                    f"{vendor!r}"
                    if vendor
                    else f"a rate the vendor lists ({sorted(VENDOR_RATE_CODES)})"
                )
                raise self.fail(
                    profile,
                    f"control.rate_codes.{rate}",
                    f"{code!r} is not the vendor's code for {rate} Hz (expected {expected})",
                )
        writes = profile.control.get("set_rate", ())
        for i, write in enumerate(writes[:-1]):
            if write.wait_s < REGISTER_WAIT_S:
                raise self.fail(
                    profile,
                    f"control.set_rate[{i}].wait_s",
                    f"expected at least {REGISTER_WAIT_S:g} s (the device applies each "
                    f"register write before the next), got {write.wait_s:g}",
                )

    def decoder(self, profile: SensorProfile, rate_hz: float) -> Callable[[bytes], DecodedPacket]:
        return _decoder(profile, rate_hz)

    def encoder(
        self,
        profile: SensorProfile,
        rate_hz: float,
        *,
        samples_per_packet: int | None = None,
        mag: bool = True,
    ) -> PacketEncoder | None:
        fit = MAX_NOTIFICATION_BYTES // profile.layout.sample_size
        spp = samples_per_packet or 1
        if not 1 <= spp <= fit:
            raise HipscopeError(f"witmotion: samples_per_packet must be 1..{fit}, got {spp}")
        return WitMotionEncoder(profile, rate_hz, spp, False)
