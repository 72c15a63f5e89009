"""The hipscope open profile (firmware_configs/OPEN_PROFILE.md): a header with the
full-scale ranges, the counter and the clock of the first sample, then 12-byte (no mag) or
18-byte (with mag, flags bit 0) samples. Both the decoder and the virtual sensor's encoder
read the header and sample layout from ``hipscope_open.toml``."""

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
from hipscope.acquisition.profiles import FieldSpec, SensorProfile
from hipscope.base.errors import DecodeError, HipscopeError

_FLAG_MAG = 0x01


def _without_mag(sample: dict[str, FieldSpec]) -> tuple[dict[str, FieldSpec], int]:
    fields = {k: v for k, v in sample.items() if k != "mag"}
    return fields, max(s.offset + s.size for s in fields.values())


def _decoder(profile: SensorProfile, rate_hz: float) -> Callable[[bytes], DecodedPacket]:
    lay = profile.layout
    header_dtype = struct_dtype(lay.header, lay.header_size)
    with_mag = struct_dtype(lay.sample, lay.sample_size)
    without_mag = struct_dtype(*_without_mag(lay.sample))
    version = lay.header["version"].expect
    unit_s = profile.timing.time_unit_s

    def decode(buf: bytes) -> DecodedPacket:
        size = len(buf)
        if size < lay.header_size:
            raise DecodeError(
                f"hipscope_open: packet of {size} bytes is shorter than "
                f"the {lay.header_size}-byte header"
            )
        h = np.frombuffer(buf, header_dtype, count=1)[0]
        if int(h["version"]) != version:
            raise DecodeError(
                f"hipscope_open: version byte is {int(h['version'])}, expected {version}"
            )
        flags = int(h["flags"])
        if flags & ~_FLAG_MAG:
            raise DecodeError(
                f"hipscope_open: flags 0x{flags:02x} set reserved bits (expected 0x00 or 0x01)"
            )
        has_mag = bool(flags & _FLAG_MAG)
        dtype = with_mag if has_mag else without_mag
        n = int(h["count"])
        if n < 1 or size != lay.header_size + n * dtype.itemsize:
            raise DecodeError(
                f"hipscope_open: header says {n} samples of {dtype.itemsize} bytes, "
                f"packet has {size} bytes"
            )
        for name in ("acc_range_g", "gyr_range_dps") + (("mag_range_ut",) if has_mag else ()):
            if int(h[name]) == 0:
                raise DecodeError(
                    f"hipscope_open: header {name} is 0, expected the full-scale range"
                )
        period_s = int(h["period_us"]) * lay.period_scale_s
        if period_s <= 0.0:
            raise DecodeError("hipscope_open: header period_us is 0, expected the sample period")
        s = np.frombuffer(buf, dtype, count=n, offset=lay.header_size)
        acc = vector(scaled(s["acc"], lay.sample["acc"], h))
        gyr = vector(scaled(s["gyr"], lay.sample["gyr"], h))
        mag = vector(scaled(s["mag"], lay.sample["mag"], h)) if has_mag else None
        index = np.arange(n)
        device_time = (int(h["time_us"]) * unit_s + index * period_s).astype(np.float64)
        seq = ((int(h["seq"]) + index.astype(np.uint64)) % np.uint64(1 << 32)).astype(np.uint32)
        return DecodedPacket(acc, gyr, mag, device_time, seq)

    return decode


class HipscopeOpenEncoder(PacketEncoder):
    """Header + int16 samples as OPEN_PROFILE.md specifies, ranges written in every header."""

    acc_range_g: int = 16
    gyr_range_dps: int = 2000
    mag_range_ut: int = 4912

    def encode_chunk(
        self,
        acc_m_s2: NDArray[Any],
        gyr_rad_s: NDArray[Any],
        mag_ut: NDArray[Any] | None,
        device_time_s: NDArray[np.float64],
        seq: NDArray[Any],
    ) -> Sequence[bytes]:
        return [
            encode_packet(
                self.profile,
                acc_m_s2,
                gyr_rad_s,
                mag_ut,
                seq0=int(seq[0]),
                time_s0=float(device_time_s[0]),
                period_s=1.0 / self.rate_hz,
                acc_range_g=self.acc_range_g,
                gyr_range_dps=self.gyr_range_dps,
                mag_range_ut=self.mag_range_ut,
            )
        ]


def encode_packet(
    profile: SensorProfile,
    acc_m_s2: Any,
    gyr_rad_s: Any,
    mag_ut: Any | None,
    *,
    seq0: int,
    time_s0: float,
    period_s: float,
    acc_range_g: int = 16,
    gyr_range_dps: int = 2000,
    mag_range_ut: int = 4912,
) -> bytes:
    """One notification with the layout of ``profile`` (an open-profile TOML)."""
    from hipscope.acquisition.families.packets import rows

    lay = profile.layout
    acc = rows("acc_m_s2", acc_m_s2)
    n = acc.shape[0]
    gyr = rows("gyr_rad_s", gyr_rad_s, n)
    mag = None if mag_ut is None else rows("mag_ut", mag_ut, n)
    fields, itemsize = (
        (lay.sample, lay.sample_size) if mag is not None else _without_mag(lay.sample)
    )
    if not 1 <= n <= min(255, (MAX_NOTIFICATION_BYTES - lay.header_size) // itemsize):
        raise HipscopeError(f"hipscope_open: {n} samples do not fit one notification")
    header = {
        "version": lay.header["version"].expect,
        "flags": 0 if mag is None else _FLAG_MAG,
        "count": n,
        "acc_range_g": acc_range_g,
        "gyr_range_dps": gyr_range_dps,
        "mag_range_ut": 0 if mag is None else mag_range_ut,
        lay.counter_field or "seq": to_raw(seq0, lay.header["seq"], wrap=True),
        lay.time_field or "time_us": to_raw(
            time_s0 / profile.timing.time_unit_s, lay.header["time_us"], wrap=True
        ),
        lay.period_field or "period_us": round(period_s / lay.period_scale_s),
    }
    samples: dict[str, Any] = {
        "acc": to_raw(acc, lay.sample["acc"], acc_range_g),
        "gyr": to_raw(gyr, lay.sample["gyr"], gyr_range_dps),
    }
    if mag is not None:
        samples["mag"] = to_raw(mag, lay.sample["mag"], mag_range_ut)
    return encode_layout(lay.header, lay.header_size, 1, header) + encode_layout(
        fields, itemsize, n, samples
    )


@register
class HipscopeOpenFamily(SensorFamily):
    """DIY sensors speaking the documented open profile."""

    name = "hipscope_open"
    header_needs = (
        "version",
        "flags",
        "count",
        "acc_range_g",
        "gyr_range_dps",
        "mag_range_ut",
        "seq",
        "time_us",
        "period_us",
    )
    sample_needs = ("acc", "gyr", "mag")

    def check(self, profile: SensorProfile) -> None:
        lay = profile.layout
        if lay.header["version"].expect is None:
            raise self.fail(
                profile, "layout.header.version.expect", "missing (the protocol version to accept)"
            )
        if lay.period_scale_s <= 0.0:
            raise self.fail(profile, "layout.period_scale_s", "expected a positive number")

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
        lay = profile.layout
        itemsize = lay.sample_size if mag else _without_mag(lay.sample)[1]
        fit = (MAX_NOTIFICATION_BYTES - lay.header_size) // itemsize
        spp = samples_per_packet or max(1, min(fit, round(rate_hz / 20.0)))
        if not 1 <= spp <= fit:
            raise HipscopeError(f"hipscope_open: samples_per_packet must be 1..{fit}, got {spp}")
        return HipscopeOpenEncoder(profile, rate_hz, spp, mag)
