"""What every family decodes into and encodes from, plus the layout-table helpers.

``DecodedPacket`` is the samples of one notification; ``PacketAssembler`` turns live
notifications into packets (joining multi-part families); ``PacketEncoder`` is the inverse
a virtual sensor uses. ``struct_dtype``/``encode_layout`` read and write the byte tables a
profile's ``[layout]`` declares, so decoders and encoders share one description.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

from hipscope.acquisition.samples import SampleBatch
from hipscope.base.errors import DecodeError, HipscopeError

if TYPE_CHECKING:
    from hipscope.acquisition.profiles import FieldSpec, SensorProfile

G = 9.80665
DEG = np.pi / 180.0
MAX_NOTIFICATION_BYTES = 244
"""ATT payload of one notification at MTU 247."""


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


def as_bytes(data: object) -> bytes:
    if not isinstance(data, bytes | bytearray | memoryview):
        raise DecodeError(f"expected packet bytes, got {type(data).__name__}")
    try:
        return bytes(data)
    except (TypeError, ValueError, BufferError) as error:
        raise DecodeError(f"unreadable packet buffer ({error})") from None


def struct_dtype(fields: Mapping[str, FieldSpec], itemsize: int) -> np.dtype[np.void]:
    """A numpy structured dtype with the fields at their declared offsets."""
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


def scaled(raw: NDArray[Any], spec: FieldSpec, header: np.void | None) -> NDArray[np.float64]:
    values = raw.astype(np.float64) * spec.scale
    if spec.scale_field is not None and header is not None:
        values = values * float(header[spec.scale_field])
    return values


def vector(values: NDArray[np.float64]) -> NDArray[np.float32]:
    with np.errstate(over="ignore", invalid="ignore"):
        return np.ascontiguousarray(values.reshape(-1, 3), dtype=np.float32)


def guarded(name: str, decode: Callable[[bytes], DecodedPacket]) -> Decoder:
    """Wrap a decoder so that any unexpected failure still surfaces as ``DecodeError``."""

    def guarded_decode(data: bytes | bytearray | memoryview) -> DecodedPacket:
        buf = as_bytes(data)
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

    guarded_decode.__name__ = f"decode_{name}"
    return guarded_decode


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


# --------------------------------------------------------------------------------- encoding


def rows(name: str, value: ArrayLike, n: int | None = None) -> NDArray[np.float64]:
    """``value`` as an (n, 3) float array (a single vector becomes one row)."""
    array = np.asarray(value, dtype=np.float64)
    if array.ndim == 1:
        array = array.reshape(1, -1)
    if array.ndim != 2 or array.shape[1] != 3 or (n is not None and array.shape[0] != n):
        expected = f"({n}, 3)" if n is not None else "(N, 3)"
        raise HipscopeError(f"{name} must have shape {expected}, got {np.shape(value)}")
    return array


def to_raw(
    values: ArrayLike, spec: FieldSpec, multiplier: float = 1.0, *, wrap: bool = False
) -> NDArray[Any]:
    """SI values -> the raw numbers of ``spec`` (rounded; saturated, or wrapped for clocks)."""
    dtype = np.dtype(spec.dtype)
    raw = np.asarray(values, dtype=np.float64) / (spec.scale * multiplier)
    if dtype.kind == "f":
        return raw.astype(dtype)
    info = np.iinfo(dtype)
    raw = np.rint(raw)
    if wrap:
        return np.mod(raw, float(info.max) + 1.0).astype(dtype)
    return np.clip(raw, info.min, info.max).astype(dtype)


def encode_layout(
    fields: Mapping[str, FieldSpec], itemsize: int, n: int, values: Mapping[str, ArrayLike]
) -> bytes:
    """``n`` records of a declared layout filled with RAW ``values`` (unset fields are 0)."""
    records = np.zeros(n, struct_dtype(fields, itemsize))
    for name, value in values.items():
        records[name] = value
    return records.tobytes()


@dataclass
class PacketEncoder:
    """Turns a stream of samples into one device's notifications.

    ``samples_per_packet`` samples go into each notification. ``encode`` takes consecutive
    samples with the device clock of each sample (seconds, any start; wrapped as the device
    would) and returns the notifications in order; a trailing incomplete packet is sent too.
    Subclasses implement ``encode_chunk``.
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
        for start in range(0, len(batch), step):
            part = slice(start, start + step)
            mag = batch.mag_ut[part] if (self.mag and batch.mag_ut is not None) else None
            packets.extend(
                self.encode_chunk(
                    batch.acc_m_s2[part], batch.gyr_rad_s[part], mag, time_s[part], seq[part]
                )
            )
        return packets

    def encode_chunk(
        self,
        acc_m_s2: NDArray[Any],
        gyr_rad_s: NDArray[Any],
        mag_ut: NDArray[Any] | None,
        device_time_s: NDArray[np.float64],
        seq: NDArray[Any],
    ) -> Sequence[bytes]:
        """The notifications carrying these consecutive samples."""
        raise NotImplementedError
