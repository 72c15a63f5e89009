"""Pure packet decoders: ``bytes -> DecodedPacket`` for every sensor family.

A decoder is built once per device from its ``SensorProfile`` (``decoder_for``) and then
called on every notification. It is vectorised with numpy structured dtypes, does no I/O,
keeps no state and raises ``DecodeError`` for anything that does not match the layout —
nothing else, ever. The caller counts and drops such packets.

Two families split one set of samples over several notifications: MbientLab MetaMotion
(accelerometer and gyroscope in separate packets) and Movesense (a data packet continued
by a second one). For them ``assembler_for`` returns a small stateful ``PacketAssembler``
per device that joins the parts. Every family has an assembler, so link code can always
write::

    assembler = assembler_for(profile, rate_hz)
    packet = assembler.feed(data)        # DecodedPacket, or None while waiting for a part
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numpy.typing import NDArray

from hipscope.acquisition.profiles import FieldSpec, Layout, SensorProfile
from hipscope.acquisition.samples import SampleBatch
from hipscope.base.errors import DecodeError, ProfileError

_DEG = np.pi / 180.0
_G = 9.80665


@dataclass(frozen=True, eq=False)
class DecodedPacket:
    """The samples of one notification (or of one joined set of notifications).

    ``device_time_s``: per-sample device timestamps in seconds as the device counts them
    (they roll over at the profile's ``timing.time_wrap_s``; within one packet later samples
    are never smaller than earlier ones, even across a roll-over); None when the family
    sends no timestamp. ``seq``: per-sample device counters modulo ``2**counter_bits``
    (None without a counter). ``extra`` holds other per-sample quantities in SI units
    (first axis = sample), e.g. ``euler`` (rad) from WitMotion or ``mag_au`` from DOT.
    """

    acc_m_s2: NDArray[np.float32]
    gyr_rad_s: NDArray[np.float32]
    mag_ut: NDArray[np.float32] | None = None
    device_time_s: NDArray[np.float64] | None = None
    seq: NDArray[np.uint32] | None = None
    extra: Mapping[str, NDArray[Any]] = field(default_factory=dict)

    def __len__(self) -> int:
        return int(self.acc_m_s2.shape[0])

    def to_batch(self, time_s: NDArray[np.float64]) -> SampleBatch:
        """The samples as a ``SampleBatch`` on the given clock (e.g. from ``ClockMapper.map``)."""
        return SampleBatch(time_s, self.acc_m_s2, self.gyr_rad_s, self.mag_ut, self.seq)


Decoder = Callable[[bytes | bytearray | memoryview], DecodedPacket]


def _as_bytes(data: object) -> bytes:
    if not isinstance(data, bytes | bytearray | memoryview):
        raise DecodeError(f"expected packet bytes, got {type(data).__name__}")
    try:
        return bytes(data)
    except (TypeError, ValueError, BufferError) as error:
        raise DecodeError(f"unreadable packet buffer ({error})") from None


def _struct_dtype(fields: Mapping[str, FieldSpec], itemsize: int) -> np.dtype[np.void]:
    return np.dtype(
        {
            "names": list(fields),
            "formats": [
                s.dtype if s.count == 1 else (s.dtype, (s.count,)) for s in fields.values()
            ],
            "offsets": [s.offset for s in fields.values()],
            "itemsize": itemsize,
        }
    )


def _scaled(raw: NDArray[Any], spec: FieldSpec, header: np.void | None) -> NDArray[np.float64]:
    values = raw.astype(np.float64) * spec.scale
    if spec.scale_field is not None and header is not None:
        values = values * float(header[spec.scale_field])
    return values


def _vector(values: NDArray[np.float64]) -> NDArray[np.float32]:
    with np.errstate(over="ignore", invalid="ignore"):
        return np.ascontiguousarray(values.reshape(-1, 3), dtype=np.float32)


def _guarded(name: str, decode: Callable[[bytes], DecodedPacket]) -> Decoder:
    """Wrap a decoder so that any unexpected failure still surfaces as ``DecodeError``."""

    def guarded(data: bytes | bytearray | memoryview) -> DecodedPacket:
        buf = _as_bytes(data)
        try:
            with np.errstate(all="ignore"):
                return decode(buf)
        except DecodeError:
            raise
        except (
            ValueError,
            TypeError,
            IndexError,
            KeyError,
            OverflowError,
            ArithmeticError,
        ) as error:
            raise DecodeError(f"{name}: malformed packet of {len(buf)} bytes ({error})") from error

    guarded.__name__ = f"decode_{name}"
    return guarded


# ------------------------------------------------------------------------- declarative layout


def _layout_decoder(profile: SensorProfile, rate_hz: float) -> Callable[[bytes], DecodedPacket]:
    lay: Layout = profile.layout
    pid = profile.id
    header_dtype = _struct_dtype(lay.header, lay.header_size) if lay.header else None
    sample_dtype = _struct_dtype(lay.sample, lay.sample_size)
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
        values = {name: _scaled(samples[name], spec, header) for name, spec in lay.sample.items()}
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
        acc = _vector(values.pop("acc"))
        gyr = _vector(values.pop("gyr"))
        mag = _vector(values.pop("mag")) if "mag" in values else None
        return DecodedPacket(acc, gyr, mag, device_time, seq, values)

    return decode


# ------------------------------------------------------------------------ hipscope open profile


def _hipscope_open_decoder(
    profile: SensorProfile, rate_hz: float
) -> Callable[[bytes], DecodedPacket]:
    lay = profile.layout
    header_dtype = _struct_dtype(lay.header, lay.header_size)
    with_mag = _struct_dtype(lay.sample, lay.sample_size)
    no_mag_fields = {k: v for k, v in lay.sample.items() if k != "mag"}
    no_mag_size = max(s.offset + s.size for s in no_mag_fields.values())
    without_mag = _struct_dtype(no_mag_fields, no_mag_size)
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
        if flags & ~0x01:
            raise DecodeError(
                f"hipscope_open: flags 0x{flags:02x} set reserved bits (expected 0x00 or 0x01)"
            )
        has_mag = bool(flags & 0x01)
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
        acc = _vector(_scaled(s["acc"], lay.sample["acc"], h))
        gyr = _vector(_scaled(s["gyr"], lay.sample["gyr"], h))
        mag = _vector(_scaled(s["mag"], lay.sample["mag"], h)) if has_mag else None
        index = np.arange(n)
        device_time = int(h["time_us"]) * unit_s + index * period_s
        seq = ((int(h["seq"]) + index.astype(np.uint64)) % np.uint64(1 << 32)).astype(np.uint32)
        return DecodedPacket(acc, gyr, mag, device_time, seq)

    return decode


# ----------------------------------------------------------------------------------- WitMotion

_WIT_FRAME = 20
_WIT_OTHER_TYPES = frozenset(range(0x50, 0x60)) | {0x71}


def _witmotion_decoder(profile: SensorProfile, rate_hz: float) -> Callable[[bytes], DecodedPacket]:
    lay = profile.layout
    frame_dtype = _struct_dtype(lay.sample, lay.sample_size)
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
            elif buf[i] == sync[0] and buf[i + 1] in _WIT_OTHER_TYPES:
                i += size_needed
            else:
                i += 1
        if not starts:
            raise DecodeError(f"witmotion: no complete {sync.hex(' ')} frame in {size} bytes")
        frames = np.frombuffer(b"".join(buf[k : k + size_needed] for k in starts), frame_dtype)
        acc = _vector(_scaled(frames["acc"], lay.sample["acc"], None))
        gyr = _vector(_scaled(frames["gyr"], lay.sample["gyr"], None))
        extra = {
            name: _scaled(frames[name], spec, None)
            for name, spec in lay.sample.items()
            if name not in ("acc", "gyr")
        }
        return DecodedPacket(acc, gyr, None, None, None, extra)

    return decode


# ---------------------------------------------------------------------------------- MetaMotion

_META_PARTS = {  # (module, register) -> (kind, samples in the packet)
    (0x03, 0x04): ("acc", 1),
    (0x03, 0x1C): ("acc", 3),
    (0x13, 0x05): ("gyr", 1),
    (0x13, 0x07): ("gyr", 3),
}


@dataclass(frozen=True, eq=False)
class MetaMotionPart:
    """One MetaMotion notification: ``kind`` "acc" (m/s²) or "gyr" (rad/s), (n, 3) values."""

    kind: str
    values: NDArray[np.float32]


def _metamotion_scales(profile: SensorProfile) -> tuple[float, float]:
    try:
        acc_lsb = float(profile.params["acc_lsb_per_g"])
        gyr_lsb = float(profile.params["gyr_lsb_per_dps"])
    except (KeyError, TypeError, ValueError):
        raise ProfileError(
            f"{profile.source.name}: params: expected acc_lsb_per_g and gyr_lsb_per_dps numbers"
        ) from None
    if not (acc_lsb > 0 and gyr_lsb > 0):
        raise ProfileError(f"{profile.source.name}: params: LSB sensitivities must be positive")
    return _G / acc_lsb, _DEG / gyr_lsb


def metamotion_part_decoder(
    profile: SensorProfile,
) -> Callable[[bytes | bytearray | memoryview], MetaMotionPart]:
    """Pure decoder of one MetaMotion notification (acc or gyro), scaled with ``profile.params``."""
    acc_scale, gyr_scale = _metamotion_scales(profile)
    vec = np.dtype("<i2")

    def decode(data: bytes | bytearray | memoryview) -> MetaMotionPart:
        buf = _as_bytes(data)
        if len(buf) < 2:
            raise DecodeError(
                f"metamotion: packet of {len(buf)} bytes has no [module, register] header"
            )
        key = (buf[0], buf[1])
        if key not in _META_PARTS:
            raise DecodeError(
                f"metamotion: unexpected module/register {buf[0]:02x} {buf[1]:02x} "
                "(expected acc or gyro data)"
            )
        kind, n = _META_PARTS[key]
        if len(buf) != 2 + 6 * n:
            raise DecodeError(
                f"metamotion: {buf[:2].hex(' ')} packet of {len(buf)} bytes, expected {2 + 6 * n}"
            )
        raw = np.frombuffer(buf, vec, count=3 * n, offset=2).reshape(n, 3)
        scale = acc_scale if kind == "acc" else gyr_scale
        return MetaMotionPart(kind, (raw.astype(np.float64) * scale).astype(np.float32))

    return decode


# ----------------------------------------------------------------------------------- Movesense


def _movesense_settings(profile: SensorProfile) -> tuple[int, tuple[str, ...], int]:
    try:
        reference = int(profile.params["reference"])
        vectors = tuple(str(v) for v in profile.params["vectors"])
        spp = int(profile.params["samples_per_packet"])
    except (KeyError, TypeError, ValueError):
        raise ProfileError(
            f"{profile.source.name}: params: expected reference, vectors and samples_per_packet"
        ) from None
    if vectors[:2] != ("acc", "gyr") or not set(vectors) <= {"acc", "gyr", "mag"} or spp < 1:
        raise ProfileError(
            f"{profile.source.name}: params.vectors: expected ['acc', 'gyr'(, 'mag')], "
            f"got {list(vectors)}"
        )
    return reference, vectors, spp


def _movesense_decoder(profile: SensorProfile, rate_hz: float) -> Callable[[bytes], DecodedPacket]:
    """Decoder of a complete (joined) Movesense data packet ``[0x02, ref, u32 ms, float32...]``."""
    reference, vectors, spp = _movesense_settings(profile)
    lay = profile.layout
    expected = lay.header_size + spp * len(vectors) * 12
    unit_s = profile.timing.time_unit_s
    period_s = 1.0 / rate_hz

    def decode(buf: bytes) -> DecodedPacket:
        if len(buf) < 2 or buf[0] != 0x02:
            raise DecodeError(
                f"movesense: expected a data packet starting 02, got {buf[:1].hex() or 'nothing'}"
            )
        if buf[1] != reference:
            raise DecodeError(f"movesense: reference {buf[1]}, expected {reference}")
        if len(buf) != expected:
            raise DecodeError(
                f"movesense: data of {len(buf)} bytes, expected {expected} ({spp} samples)"
            )
        t0 = int.from_bytes(buf[2:6], "little") * unit_s
        floats = np.frombuffer(buf, "<f4", offset=lay.header_size).astype(np.float64)
        arrays = floats.reshape(len(vectors), spp, 3)
        out = {name: arrays[k] * lay.sample[name].scale for k, name in enumerate(vectors)}
        device_time = t0 + np.arange(spp) * period_s
        mag = _vector(out["mag"]) if "mag" in out else None
        return DecodedPacket(_vector(out["acc"]), _vector(out["gyr"]), mag, device_time, None)

    return decode


# -------------------------------------------------------------------------------- public API

_BUILDERS: dict[str, Callable[[SensorProfile, float], Callable[[bytes], DecodedPacket]]] = {
    "layout": _layout_decoder,
    "hipscope_open": _hipscope_open_decoder,
    "witmotion": _witmotion_decoder,
    "movesense": _movesense_decoder,
}


def decoder_for(profile: SensorProfile, rate_hz: float | None = None) -> Decoder:
    """The pure decoder of one family at a nominal rate (default: the profile's default).

    ``rate_hz`` is used only where a packet carries one timestamp for several samples and
    no sample period (Movesense). MetaMotion needs pairing: use ``assembler_for``. For
    Movesense this decodes joined packets only; use ``assembler_for`` on live notifications.
    """
    rate = profile.default_rate_hz if rate_hz is None else float(rate_hz)
    if not rate > 0:
        raise ProfileError(f"{profile.source.name}: rate must be positive, got {rate_hz}")
    if profile.decoder == "metamotion":
        raise ProfileError(
            f"{profile.source.name}: acc and gyro arrive in separate packets; "
            "use assembler_for(profile)"
        )
    return _guarded(profile.id, _BUILDERS[profile.decoder](profile, rate))


class PacketAssembler:
    """Per-device decoding of live notifications, joining multi-packet families.

    ``feed(data)`` returns a ``DecodedPacket`` when samples are complete, None while waiting
    for another part, and raises ``DecodeError`` for a bad packet (the assembler stays
    usable). ``reset()`` forgets pending parts (call it after a reconnection).
    ``dropped_samples`` counts samples discarded while pairing (see subclasses).
    """

    def __init__(self, decoder: Decoder | None) -> None:
        self._decoder = decoder
        self.dropped_samples = 0

    def feed(self, data: bytes | bytearray | memoryview) -> DecodedPacket | None:
        assert self._decoder is not None, "subclasses without a decoder override feed()"
        return self._decoder(data)

    def reset(self) -> None:
        """Forget any pending partial data."""


class MetaMotionAssembler(PacketAssembler):
    """Pairs MetaMotion acc and gyro samples in arrival order.

    The device streams both at the same rate without counters or timestamps, so the k-th
    acc sample is paired with the k-th gyro sample. If one stream runs ahead by more than
    ``max_pending`` samples (the other stopped or lost packets), the oldest unpaired samples
    are discarded and counted in ``dropped_samples`` so pairing can recover.
    """

    def __init__(self, profile: SensorProfile, max_pending: int = 32) -> None:
        part = metamotion_part_decoder(profile)
        super().__init__(decoder=None)
        self._part = part
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


class MovesenseAssembler(PacketAssembler):
    """Joins a Movesense data packet (type 0x02) with its continuation (type 0x03).

    A complete 0x02 packet decodes at once. A short one is held until the 0x03 packet with
    the same reference arrives; the joined bytes are the first packet followed by the
    continuation without its 2-byte ``[type, ref]`` header. A first part that is never
    continued is dropped (counted in ``dropped_samples``) when the next 0x02 packet arrives.
    """

    def __init__(self, profile: SensorProfile, rate_hz: float) -> None:
        self._whole = decoder_for(profile, rate_hz)
        super().__init__(self._whole)
        reference, vectors, spp = _movesense_settings(profile)
        self._reference = reference
        self._spp = spp
        self._expected = profile.layout.header_size + spp * len(vectors) * 12
        self._first: bytes | None = None

    def feed(self, data: bytes | bytearray | memoryview) -> DecodedPacket | None:
        buf = _as_bytes(data)
        if len(buf) < 2:
            raise DecodeError(
                f"movesense: packet of {len(buf)} bytes has no [type, reference] header"
            )
        if buf[1] != self._reference:
            raise DecodeError(f"movesense: reference {buf[1]}, expected {self._reference}")
        if buf[0] == 0x02:
            if self._first is not None:
                self._first = None
                self.dropped_samples += self._spp
            if len(buf) >= self._expected:
                return self._whole(buf)
            if len(buf) < 6:
                raise DecodeError(f"movesense: data packet of {len(buf)} bytes has no timestamp")
            self._first = buf
            return None
        if buf[0] == 0x03:
            if self._first is None:
                raise DecodeError("movesense: continuation packet (03) without a first part")
            joined = self._first + buf[2:]
            self._first = None
            try:
                return self._whole(joined)
            except DecodeError:
                self.dropped_samples += self._spp
                raise
        raise DecodeError(
            f"movesense: packet type {buf[0]:02x}, expected 02 (data) or 03 (continuation)"
        )

    def reset(self) -> None:
        self._first = None


def assembler_for(profile: SensorProfile, rate_hz: float | None = None) -> PacketAssembler:
    """A fresh per-device assembler for live notifications of any family."""
    rate = profile.default_rate_hz if rate_hz is None else float(rate_hz)
    if profile.decoder == "metamotion":
        return MetaMotionAssembler(profile)
    if profile.decoder == "movesense":
        return MovesenseAssembler(profile, rate)
    return PacketAssembler(decoder_for(profile, rate))
