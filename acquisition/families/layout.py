"""The declarative family: a packet that is a fixed table of fields (``family = "layout"``).

Its decoder reads exactly what ``[layout]`` declares (header fields, per-sample fields,
scales, counters, timestamps); its encoder writes the same table back, so a virtual sensor
of any layout family sends the bytes the profile describes. Families whose packets are
plain tables (Movella DOT, Nordic Thingy:52) subclass it.
"""

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
from hipscope.acquisition.profiles import Layout, SensorProfile
from hipscope.base.errors import DecodeError, HipscopeError


def layout_decoder(profile: SensorProfile, rate_hz: float) -> Callable[[bytes], DecodedPacket]:
    """Decoder of a packet that is exactly the declared table."""
    lay: Layout = profile.layout
    pid = profile.id
    header_dtype = struct_dtype(lay.header, lay.header_size) if lay.header else None
    sample_dtype = struct_dtype(lay.sample, lay.sample_size)
    timing = profile.timing
    counter_mod = 1 << timing.counter_bits if timing.counter else 0

    def decode(buf: bytes) -> DecodedPacket:
        size = len(buf)
        if lay.packet_sizes and size not in lay.packet_sizes:
            raise DecodeError(
                f"{pid}: packet of {size} bytes, expected {' or '.join(map(str, lay.packet_sizes))}"
            )
        if size < lay.header_size + lay.sample_size:
            raise DecodeError(f"{pid}: packet of {size} bytes is shorter than one sample")
        header = np.frombuffer(buf, header_dtype, count=1)[0] if header_dtype is not None else None
        if header is not None:
            for spec in lay.header.values():
                if spec.expect is not None and int(header[spec.name]) != spec.expect:
                    raise DecodeError(
                        f"{pid}: header {spec.name} is {int(header[spec.name])}, "
                        f"expected {spec.expect}"
                    )
        if lay.samples_per_packet:
            n = lay.samples_per_packet
            needed = lay.header_size + n * lay.sample_size
            if size != needed and not (lay.packet_sizes and size >= needed):
                raise DecodeError(f"{pid}: packet of {size} bytes, expected {needed}")
        elif lay.count_field is not None and header is not None:
            n = int(header[lay.count_field])
            if n < 1 or size != lay.header_size + n * lay.sample_size:
                raise DecodeError(f"{pid}: header says {n} samples, packet has {size} bytes")
        else:
            n, rest = divmod(size - lay.header_size, lay.sample_size)
            if rest:
                raise DecodeError(
                    f"{pid}: {size} bytes is not a header plus whole "
                    f"samples of {lay.sample_size} bytes"
                )
        samples = np.frombuffer(buf, sample_dtype, count=n, offset=lay.header_size)
        values = {name: scaled(samples[name], spec, header) for name, spec in lay.sample.items()}
        index = np.arange(n, dtype=np.float64)
        device_time = None
        if timing.device_time:
            if lay.time_field is not None and header is not None:
                if lay.period_field is not None:
                    period = float(header[lay.period_field]) * lay.period_scale_s
                    if period <= 0.0:
                        raise DecodeError(
                            f"{pid}: header {lay.period_field} is 0, expected a sample period > 0"
                        )
                else:
                    period = 1.0 / rate_hz
                device_time = float(header[lay.time_field]) * timing.time_unit_s + index * period
            else:
                device_time = values.pop("time")
                wrap_s = timing.time_wrap_s
                if wrap_s is not None and n > 1:  # keep the packet monotonic across a roll-over
                    device_time = device_time + wrap_s * np.concatenate(
                        ([0.0], np.cumsum(np.diff(device_time) < 0.0))
                    )
        seq = None
        if timing.counter:
            if lay.counter_field is not None and header is not None:
                first = int(header[lay.counter_field])
            else:
                first = int(values.pop("counter")[0])
            seq = ((first + np.arange(n, dtype=np.uint64)) % np.uint64(counter_mod)).astype(
                np.uint32
            )
        values.pop("time", None)
        values.pop("counter", None)
        acc = vector(values.pop("acc"))
        gyr = vector(values.pop("gyr"))
        mag = vector(values.pop("mag")) if "mag" in values else None
        return DecodedPacket(acc, gyr, mag, device_time, seq, values)

    return decode


class LayoutEncoder(PacketEncoder):
    """Writes the declared table: timing and counter fields from the samples, vectors
    scaled back to raw integers, every other sample field zero, padded to the first
    allowed packet size."""

    def encode_chunk(
        self,
        acc_m_s2: NDArray[Any],
        gyr_rad_s: NDArray[Any],
        mag_ut: NDArray[Any] | None,
        device_time_s: NDArray[np.float64],
        seq: NDArray[Any],
    ) -> Sequence[bytes]:
        lay = self.profile.layout
        timing = self.profile.timing
        n = len(acc_m_s2)
        header: dict[str, Any] = {
            name: spec.expect for name, spec in lay.header.items() if spec.expect is not None
        }
        if lay.count_field:
            header[lay.count_field] = n
        if lay.time_field:
            header[lay.time_field] = to_raw(
                device_time_s[0] / timing.time_unit_s, lay.header[lay.time_field], wrap=True
            )
        if lay.counter_field:
            header[lay.counter_field] = to_raw(
                int(seq[0]), lay.header[lay.counter_field], wrap=True
            )
        if lay.period_field:
            header[lay.period_field] = round(1.0 / self.rate_hz / lay.period_scale_s)
        samples: dict[str, Any] = {
            "acc": to_raw(acc_m_s2, lay.sample["acc"]),
            "gyr": to_raw(gyr_rad_s, lay.sample["gyr"]),
        }
        if "mag" in lay.sample:
            samples["mag"] = to_raw(0.0 if mag_ut is None else mag_ut, lay.sample["mag"])
        if "time" in lay.sample:
            samples["time"] = to_raw(device_time_s, lay.sample["time"], wrap=True)
        if "counter" in lay.sample:
            samples["counter"] = to_raw(seq.astype(np.float64), lay.sample["counter"], wrap=True)
        body = b""
        if lay.header:
            body = encode_layout(lay.header, lay.header_size, 1, header)
        body += encode_layout(lay.sample, lay.sample_size, n, samples)
        if lay.packet_sizes:
            body = body.ljust(min(lay.packet_sizes), b"\x00")
        return [body]


@register
class LayoutFamily(SensorFamily):
    """Any sensor whose notification is a header plus a table of samples."""

    name = "layout"

    def check(self, profile: SensorProfile) -> None:
        lay, timing = profile.layout, profile.timing
        if profile.has_mag and "mag" not in lay.sample:
            raise self.fail(profile, "layout.sample.mag", "missing although has_mag = true")
        if timing.device_time and lay.time_field is None and "time" not in lay.sample:
            raise self.fail(
                profile,
                "layout",
                "device_time = true needs layout.time_field or a sample field 'time'",
            )
        if timing.counter and lay.counter_field is None and "counter" not in lay.sample:
            raise self.fail(
                profile,
                "layout",
                "counter = true needs layout.counter_field or a sample field 'counter'",
            )

    def decoder(self, profile: SensorProfile, rate_hz: float) -> Callable[[bytes], DecodedPacket]:
        return layout_decoder(profile, rate_hz)

    def encoder(
        self,
        profile: SensorProfile,
        rate_hz: float,
        *,
        samples_per_packet: int | None = None,
        mag: bool = True,
    ) -> PacketEncoder | None:
        lay = profile.layout
        if lay.samples_per_packet:
            fit = lay.samples_per_packet
        else:
            fit = max(1, (MAX_NOTIFICATION_BYTES - lay.header_size) // lay.sample_size)
        spp = samples_per_packet or (lay.samples_per_packet or 1)
        if not 1 <= spp <= fit:
            raise HipscopeError(f"{profile.id}: samples_per_packet must be 1..{fit}, got {spp}")
        return LayoutEncoder(profile, rate_hz, spp, mag and profile.has_mag)
