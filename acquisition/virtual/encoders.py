"""Packet encoders: the inverse of ``hipscope.acquisition.decoders``, for virtual sensors.

Each family class (``hipscope.acquisition.families``) builds its encoder from the same
profile its decoder reads, so the bytes a virtual sensor sends are the ones the TOML
describes. Values are rounded to the device's integer resolution and saturate at its range.
The helpers below build single packets for tests and tools.
"""

from __future__ import annotations

from numpy.typing import ArrayLike

from hipscope.acquisition.families import family_of
from hipscope.acquisition.families import hipscope_open as _open
from hipscope.acquisition.families import witmotion as _wit
from hipscope.acquisition.families.packets import (
    MAX_NOTIFICATION_BYTES,
    PacketEncoder,
    rows,
)
from hipscope.acquisition.profiles import SensorProfile, load_profile, profile_names
from hipscope.base.errors import HipscopeError

__all__ = [
    "MAX_NOTIFICATION_BYTES",
    "PacketEncoder",
    "encodable_profiles",
    "encode_hipscope_open",
    "encode_movella_dot",
    "encode_witmotion",
    "encoder_for",
]


def encodable_profiles() -> tuple[str, ...]:
    """Profile names whose family can drive a virtual sensor."""
    names = []
    for name in profile_names():
        try:
            profile = load_profile(name)
            encoder = family_of(profile).encoder(profile, profile.default_rate_hz)
        except HipscopeError:  # a broken local profile cannot drive anything; skip it
            continue
        if encoder is not None:
            names.append(name)
    return tuple(names)


def __getattr__(name: str) -> object:
    # ``ENCODABLE`` (profile names a virtual sensor can speak) is computed on first use:
    # it loads every profile.
    if name == "ENCODABLE":
        return encodable_profiles()
    raise AttributeError(name)


def encoder_for(
    profile: SensorProfile | str,
    rate_hz: float | None = None,
    *,
    samples_per_packet: int | None = None,
    mag: bool = True,
) -> PacketEncoder:
    """The encoder of a profile's family (``mag`` only matters where packets may omit it)."""
    prof = load_profile(profile) if isinstance(profile, str) else profile
    rate = prof.default_rate_hz if rate_hz is None else float(rate_hz)
    encoder = family_of(prof).encoder(prof, rate, samples_per_packet=samples_per_packet, mag=mag)
    if encoder is None:
        raise HipscopeError(
            f"no encoder for profile {prof.id!r} (available: {', '.join(encodable_profiles())})"
        )
    return encoder


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
    """One hipscope-open notification laid out as ``hipscope_open.toml`` says."""
    return _open.encode_packet(
        load_profile("hipscope_open"),
        acc_m_s2,
        gyr_rad_s,
        mag_ut,
        seq0=seq0,
        time_s0=time_s0,
        period_s=period_s,
        acc_range_g=acc_range_g,
        gyr_range_dps=gyr_range_dps,
        mag_range_ut=mag_range_ut,
    )


def encode_movella_dot(
    acc_m_s2: ArrayLike,
    gyr_rad_s: ArrayLike,
    mag_au: ArrayLike = (0.0, 0.0, 0.0),
    *,
    device_time_s: float,
    pad_to: int = 34,
) -> bytes:
    """One Movella DOT medium-payload notification (mode 20) as ``movella_dot.toml`` says."""
    import numpy as np

    from hipscope.acquisition.families.packets import encode_layout, to_raw

    profile = load_profile("movella_dot")
    lay = profile.layout
    if pad_to not in lay.packet_sizes:
        raise HipscopeError(
            f"movella_dot: pad_to must be one of {', '.join(map(str, lay.packet_sizes))}, "
            f"got {pad_to}"
        )
    values = {
        "time": to_raw(np.array([device_time_s]), lay.sample["time"], wrap=True),
        "acc": to_raw(rows("acc_m_s2", acc_m_s2, 1), lay.sample["acc"]),
        "gyr": to_raw(rows("gyr_rad_s", gyr_rad_s, 1), lay.sample["gyr"]),
        "mag_au": to_raw(rows("mag_au", mag_au, 1), lay.sample["mag_au"]),
    }
    return encode_layout(lay.sample, lay.sample_size, 1, values).ljust(pad_to, b"\x00")


def encode_witmotion(
    acc_m_s2: ArrayLike, gyr_rad_s: ArrayLike, euler_rad: ArrayLike | None = None
) -> bytes:
    """Concatenated ``55 61`` frames laid out as ``witmotion_wt901ble.toml`` says."""
    return _wit.encode_frames(load_profile("witmotion_wt901ble"), acc_m_s2, gyr_rad_s, euler_rad)
