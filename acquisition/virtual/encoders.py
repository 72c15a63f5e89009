"""Packet encoders: the inverse of ``hipscope.acquisition.decoders``.

They cover the families that virtual sensors speak.

Given samples in SI units (plus the device's own clock and counter), they produce the exact
bytes a real device puts in its notifications: the hipscope open profile, Movella DOT
(payload mode 20 on the medium payload characteristic) and WitMotion WT901BLE (``55 61``
frames). Values are rounded to the device's integer resolution and saturate at its range.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray

from hipscope.acquisition.profiles import SensorProfile, load_profile
from hipscope.acquisition.samples import SampleBatch
from hipscope.base.errors import HipscopeError

_G = 9.80665
_DEG = np.pi / 180.0
MAX_NOTIFICATION_BYTES = 244
"""ATT payload of one notification at MTU 247."""

HIPSCOPE_HEADER = np.dtype(
    {
        "names": [
            "version",
            "flags",
            "count",
            "acc_range_g",
            "gyr_range_dps",
            "mag_range_ut",
            "seq",
            "time_us",
            "period_us",
        ],
        "formats": ["u1", "u1", "u1", "u1", "<u2", "<u2", "<u4", "<u4", "<u4"],
        "offsets": [0, 1, 2, 3, 4, 6, 8, 12, 16],
        "itemsize": 20,
    }
)


def _int16(values: NDArray[np.float64]) -> NDArray[np.int16]:
    return np.clip(np.rint(values), -32768, 32767).astype("<i2")


def _rows(name: str, value: ArrayLike, n: int | None = None) -> NDArray[np.float64]:
    array = np.asarray(value, dtype=np.float64)
    if array.ndim == 1:
        array = array.reshape(1, -1)
    if array.ndim != 2 or array.shape[1] != 3 or (n is not None and array.shape[0] != n):
        expected = f"({n}, 3)" if n is not None else "(N, 3)"
        raise HipscopeError(f"{name} must have shape {expected}, got {np.shape(value)}")
    return array


def encode_hipscope_open(
    acc_m_s2: ArrayLike,
    gyr_rad_s: ArrayLike,
    mag_ut: ArrayLike | None = None,
    *,
    seq0: int,
    time_s0: float,
    period_s: float,
    acc_range_g: int = 16,
    gyr_range_dps: int = 2000,
    mag_range_ut: int = 4912,
) -> bytes:
    """One hipscope-open notification: header + int16 samples (see OPEN_PROFILE.md).

    ``time_s0`` is the device clock at the first sample (wrapped to u32 microseconds),
    ``seq0`` its counter (wrapped to u32), ``period_s`` the sample period.
    """
    acc = _rows("acc_m_s2", acc_m_s2)
    n = acc.shape[0]
    gyr = _rows("gyr_rad_s", gyr_rad_s, n)
    mag = None if mag_ut is None else _rows("mag_ut", mag_ut, n)
    sample_size = 12 if mag is None else 18
    if not 1 <= n <= min(255, (MAX_NOTIFICATION_BYTES - 20) // sample_size):
        raise HipscopeError(f"hipscope_open: {n} samples do not fit one notification")
    header = np.zeros(1, HIPSCOPE_HEADER)
    header["version"] = 1
    header["flags"] = 0 if mag is None else 1
    header["count"] = n
    header["acc_range_g"] = acc_range_g
    header["gyr_range_dps"] = gyr_range_dps
    header["mag_range_ut"] = 0 if mag is None else mag_range_ut
    header["seq"] = int(seq0) % (1 << 32)
    header["time_us"] = round(time_s0 * 1e6) % (1 << 32)
    header["period_us"] = round(period_s * 1e6)
    columns = [
        _int16(acc / (_G * acc_range_g) * 32768.0),
        _int16(gyr / (_DEG * gyr_range_dps) * 32768.0),
    ]
    if mag is not None:
        columns.append(_int16(mag / mag_range_ut * 32768.0))
    return header.tobytes() + np.concatenate(columns, axis=1).tobytes()


def encode_movella_dot(
    acc_m_s2: ArrayLike,
    gyr_rad_s: ArrayLike,
    mag_au: ArrayLike = (0.0, 0.0, 0.0),
    *,
    device_time_s: float,
    pad_to: int = 34,
) -> bytes:
    """One Movella DOT medium-payload notification in mode 20 (rate quantities with mag).

    u32 µs timestamp, float32 acc (m/s²), float32 gyro (deg/s), int16 mag (a.u. × 4096),
    zero-padded to ``pad_to`` bytes (34 or 40).
    """
    acc = _rows("acc_m_s2", acc_m_s2, 1)[0]
    gyr = _rows("gyr_rad_s", gyr_rad_s, 1)[0]
    mag = _rows("mag_au", mag_au, 1)[0]
    if pad_to not in (34, 40):
        raise HipscopeError(f"movella_dot: pad_to must be 34 or 40, got {pad_to}")
    time_us = np.array([round(device_time_s * 1e6) % (1 << 32)], "<u4")
    body = (
        time_us.tobytes()
        + acc.astype("<f4").tobytes()
        + (gyr / _DEG).astype("<f4").tobytes()
        + _int16(mag * 4096.0).tobytes()
    )
    return body.ljust(pad_to, b"\x00")


def encode_witmotion(
    acc_m_s2: ArrayLike, gyr_rad_s: ArrayLike, euler_rad: ArrayLike | None = None
) -> bytes:
    """Concatenated 20-byte ``55 61`` frames: acc ±16 g, gyro ±2000 deg/s, angles ±180 deg."""
    acc = _rows("acc_m_s2", acc_m_s2)
    n = acc.shape[0]
    gyr = _rows("gyr_rad_s", gyr_rad_s, n)
    euler = np.zeros((n, 3)) if euler_rad is None else _rows("euler_rad", euler_rad, n)
    frames = np.zeros((n, 10), "<i2")
    frames.view(np.uint8)[:, 0] = 0x55
    frames.view(np.uint8)[:, 1] = 0x61
    frames[:, 1:4] = _int16(acc / (16.0 * _G) * 32768.0)
    frames[:, 4:7] = _int16(gyr / (2000.0 * _DEG) * 32768.0)
    frames[:, 7:10] = _int16(euler / np.pi * 32768.0)
    return frames.tobytes()


@dataclass
class PacketEncoder:
    """Turns a stream of samples into one device's notifications.

    ``samples_per_packet`` samples go into each notification (``None``: about 20
    notifications per second, as many as fit 244 bytes). ``encode`` takes consecutive
    samples with the device clock of each sample (seconds, any start; wrapped as the device
    would) and returns the notifications in order; a trailing incomplete packet is sent too.
    """

    profile: SensorProfile
    rate_hz: float
    samples_per_packet: int = 1
    mag: bool = False

    def encode(self, batch: SampleBatch, device_time_s: ArrayLike) -> list[bytes]:
        time_s = np.asarray(device_time_s, dtype=np.float64)
        if time_s.shape != (len(batch),):
            raise HipscopeError(
                f"device_time_s must have shape ({len(batch)},), got {time_s.shape}"
            )
        seq = batch.seq if batch.seq is not None else np.arange(len(batch), dtype=np.uint32)
        packets: list[bytes] = []
        step = self.samples_per_packet
        kind = self.profile.id
        for start in range(0, len(batch), step):
            part = slice(start, start + step)
            if kind == "hipscope_open":
                mag = batch.mag_ut[part] if (self.mag and batch.mag_ut is not None) else None
                packets.append(
                    encode_hipscope_open(
                        batch.acc_m_s2[part],
                        batch.gyr_rad_s[part],
                        mag,
                        seq0=int(seq[start]),
                        time_s0=float(time_s[start]),
                        period_s=1.0 / self.rate_hz,
                    )
                )
            elif kind == "movella_dot":
                packets.append(
                    encode_movella_dot(
                        batch.acc_m_s2[start], batch.gyr_rad_s[start], device_time_s=time_s[start]
                    )
                )
            else:
                packets.append(encode_witmotion(batch.acc_m_s2[part], batch.gyr_rad_s[part]))
        return packets


ENCODABLE: tuple[str, ...] = ("hipscope_open", "movella_dot", "witmotion_wt901ble")


def encoder_for(
    profile: SensorProfile | str,
    rate_hz: float | None = None,
    *,
    samples_per_packet: int | None = None,
    mag: bool = True,
) -> PacketEncoder:
    """An encoder for a family in ``ENCODABLE`` (``mag`` only matters for hipscope_open)."""
    prof = load_profile(profile) if isinstance(profile, str) else profile
    if prof.id not in ENCODABLE:
        raise HipscopeError(
            f"no encoder for profile {prof.id!r} (available: {', '.join(ENCODABLE)})"
        )
    rate = prof.default_rate_hz if rate_hz is None else float(rate_hz)
    if prof.id == "hipscope_open":
        fit = (MAX_NOTIFICATION_BYTES - 20) // (18 if mag else 12)
        spp = samples_per_packet or max(1, min(fit, round(rate / 20.0)))
        if not 1 <= spp <= fit:
            raise HipscopeError(f"hipscope_open: samples_per_packet must be 1..{fit}, got {spp}")
    elif prof.id == "movella_dot":
        spp = 1
        if samples_per_packet not in (None, 1):
            raise HipscopeError("movella_dot sends one sample per notification")
    else:
        spp = samples_per_packet or 1
        if not 1 <= spp <= MAX_NOTIFICATION_BYTES // 20:
            raise HipscopeError(f"witmotion: samples_per_packet must be 1..12, got {spp}")
    return PacketEncoder(prof, rate, spp, mag and prof.id == "hipscope_open")
