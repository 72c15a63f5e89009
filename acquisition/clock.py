"""Mapping each sensor's samples onto the one session clock.

The session clock is the host's monotonic clock in seconds since the session started. A
notification is received at ``host_time_s = device_time_of_its_last_sample * scale + offset
+ latency`` with latency >= 0 and jittery (BLE connection events, bursts after radio
trouble). ``ClockMapper`` estimates offset and drift from the *lower envelope* of these
points — per block of device time it keeps the packet that arrived soonest, then fits a line
through those minima over a sliding window, dropping blocks that lie far above it — so the
mapped times carry the minimum latency instead of the mean, and their jitter is the jitter
of the envelope (well under a millisecond), not of the radio.

Device time comes, best first, from the packet's timestamps, from its sample counter
(``seq / nominal_rate``) or, for families with neither, from arrival order (``n-th sample /
nominal_rate``; flagged by ``time_source == "arrival"``: losses there can only be guessed
from arrival times). Counters and timestamps are un-wrapped by picking the roll-over count
that lands nearest the value predicted from the host clock, so a link outage of any length
shorter than half a roll-over period is harmless.
"""

from __future__ import annotations

import logging
import math
from collections import deque
from typing import NamedTuple

import numpy as np
from numpy.typing import NDArray

from hipscope.acquisition.decoders import DecodedPacket
from hipscope.base.errors import HipscopeError

log = logging.getLogger(__name__)


class ClockGap(NamedTuple):
    """Samples lost between two received samples (session clock)."""

    start_s: float
    end_s: float
    n_lost: int


def _nearest(raw: float, expected: float, wrap: float | None) -> float:
    """``raw + k * wrap`` closest to ``expected``."""
    if wrap is None:
        return raw
    return raw + round((expected - raw) / wrap) * wrap


class ClockMapper:
    """Per-sensor mapping of decoded packets onto the session clock.

    Parameters
    ----------
    nominal_rate_hz
        Sample rate the device was asked for (Hz).
    has_device_time
        The packets carry device timestamps (``DecodedPacket.device_time_s``).
    counter_bits
        Width of the device sample counter (``DecodedPacket.seq``); 0 or None: no counter.
    time_wrap_s
        Period after which device timestamps roll over (s); None: they do not.
    block_s
        Length of one lower-envelope block of device time (s), default 2.0.
    window_s
        Span of recent blocks the offset/drift fit uses (s), default 600.
    min_fit_span_s
        Drift is fitted only once the blocks span this long; before that the device clock is
        assumed to run at the nominal rate. Default (None): 30 s with device timestamps (a
        crystal: tens of ppm), 6 s when time is rebuilt from the sample rate (an IMU's output
        data rate can be off by several per cent).
    max_drift_ppm
        Fitted drift is clipped to ±this. Default (None): 1000 ppm with device timestamps,
        100 000 ppm (10 %) when time is rebuilt from the sample rate.
    reset_after_s
        A device clock that jumps back, or ahead of the host clock, by more than this (s,
        default 1.0) is taken as a device reset: the mapping re-anchors (``resets`` += 1).
    arrival_gap_s
        Arrival-order mode only: a packet later than predicted by more than this (s,
        default 0.5) is taken to follow lost samples (their number estimated from the delay).
    max_slew
        When the estimate changes, mapped times move towards it by at most this fraction of
        the elapsed time (default 0.05) instead of stepping, so sample spacing stays within
        ±5 % of the device's while the clock estimate settles.

    ``map(packet, host_time_s)`` returns session times for the packet's samples, strictly
    increasing across calls. Samples that repeat or precede ones already mapped (duplicate or
    stale packets) come back as NaN and are counted in ``stale_samples``: keep
    ``np.isfinite(times)``. Results: ``offset_s`` (session time at device time 0),
    ``drift_ppm`` (positive: device clock fast), ``lost_samples`` and ``gaps``.
    """

    def __init__(
        self,
        nominal_rate_hz: float,
        *,
        has_device_time: bool,
        counter_bits: int | None = None,
        time_wrap_s: float | None = None,
        block_s: float = 2.0,
        window_s: float = 600.0,
        min_fit_span_s: float | None = None,
        max_drift_ppm: float | None = None,
        reset_after_s: float = 1.0,
        arrival_gap_s: float = 0.5,
        max_slew: float = 0.05,
    ) -> None:
        if not (math.isfinite(nominal_rate_hz) and nominal_rate_hz > 0):
            raise HipscopeError(f"nominal_rate_hz must be positive, got {nominal_rate_hz}")
        if counter_bits is not None and not 0 <= counter_bits <= 64:
            raise HipscopeError(f"counter_bits must be 0..64, got {counter_bits}")
        if time_wrap_s is not None and not time_wrap_s > 0:
            raise HipscopeError(f"time_wrap_s must be positive, got {time_wrap_s}")
        self.nominal_rate_hz = float(nominal_rate_hz)
        self.has_device_time = has_device_time
        self.counter_bits = counter_bits or 0
        self.time_wrap_s = time_wrap_s
        self.block_s = block_s
        self.window_s = window_s
        crystal = has_device_time
        self.min_fit_span_s = (
            (30.0 if crystal else 6.0) if min_fit_span_s is None else min_fit_span_s
        )
        self.max_drift_ppm = (1e3 if crystal else 1e5) if max_drift_ppm is None else max_drift_ppm
        self.reset_after_s = reset_after_s
        self.arrival_gap_s = arrival_gap_s
        self.max_slew = max_slew
        self._jumped = False
        self.lost_samples = 0
        self.stale_samples = 0
        self.resets = 0
        self.gaps: list[ClockGap] = []
        self._period = 1.0 / self.nominal_rate_hz
        self._scale = 1.0  # session seconds per device second
        self._offset = 0.0
        self._blocks: deque[tuple[float, float]] = deque()
        self._block: tuple[int, float, float] | None = None  # (id, x, y) of the current minimum
        self._fitted = False
        self._x_last: float | None = None
        self._seq_last: int | None = None
        self._host_last = 0.0
        self._t_last = -math.inf
        self._count = 0
        self._x_shift = 0.0  # keeps device time continuous across a reset

    # ------------------------------------------------------------------ results

    @property
    def offset_s(self) -> float:
        """Session time at which the (un-wrapped) device clock read zero."""
        return self._offset

    @property
    def drift_ppm(self) -> float:
        """Device clock rate error in ppm (positive: the device clock runs fast)."""
        return (1.0 / self._scale - 1.0) * 1e6

    @property
    def time_source(self) -> str:
        """``device_time``, ``counter`` or ``arrival``: what device time is rebuilt from."""
        if self.has_device_time:
            return "device_time"
        return "counter" if self.counter_bits else "arrival"

    # ------------------------------------------------------------------ mapping

    def map(self, packet: DecodedPacket, host_time_s: float) -> NDArray[np.float64]:
        """Session times of the packet's samples (NaN for stale samples, see class doc)."""
        n = len(packet)
        if n == 0:
            return np.empty(0)
        host = float(host_time_s)
        source = self.time_source
        seq_u: NDArray[np.int64] | None = None
        if self.counter_bits and packet.seq is not None:
            seq_u = self._unwrap_seq(packet, host)
        if source == "device_time":
            if packet.device_time_s is None:
                raise HipscopeError("ClockMapper expects device timestamps in every packet")
            x = self._device_x(packet.device_time_s, host)
        elif source == "counter":
            if seq_u is None:
                raise HipscopeError("ClockMapper expects sample counters in every packet")
            x = seq_u.astype(np.float64) * self._period + self._x_shift
        else:
            x = (self._count + np.arange(n, dtype=np.float64)) * self._period

        if self._x_last is not None:
            if source == "arrival":
                late = host - self._predict(x[-1])
                if late > self.arrival_gap_s:
                    skipped = int(late * self.nominal_rate_hz)
                    self._count += skipped
                    x = x + skipped * self._period
            elif self._is_reset(x, seq_u, host):
                x, seq_u = self._reanchor(packet, x, seq_u, host)

        stale = self._stale(x, seq_u)
        times = np.full(n, np.nan)
        fresh = ~stale
        if not fresh.any():
            self.stale_samples += n
            return times
        self.stale_samples += int(stale.sum())
        self._observe(float(x[fresh][-1]), host)
        mapped = self._offset + self._scale * x[fresh]
        if self._x_last is not None and math.isfinite(self._t_last) and not self._jumped:
            # Slew towards a changed estimate instead of stepping: spacing stays within
            # ±max_slew of the model's, so fusion never sees a jump in sample time.
            lead = self._t_last - self._predict(self._x_last)
            along = mapped - self._predict(self._x_last)
            mapped = mapped + np.sign(lead) * np.maximum(abs(lead) - self.max_slew * along, 0.0)
        self._jumped = False
        t_before = self._t_last
        for i in range(mapped.shape[0]):  # strictly increasing, whatever the estimate did
            if mapped[i] <= self._t_last:
                mapped[i] = self._t_last + 1e-6
            self._t_last = float(mapped[i])
        times[fresh] = mapped
        first_seq = int(seq_u[fresh][0]) if seq_u is not None else None
        self._record_gap(float(x[fresh][0]), first_seq, t_before, float(mapped[0]))
        self._x_last = float(x[fresh][-1])
        if seq_u is not None:
            self._seq_last = int(seq_u[fresh][-1])
        self._host_last = host
        self._count += int(fresh.sum())
        return times

    # ------------------------------------------------------------------ pieces

    def _predict(self, x: float) -> float:
        return self._offset + self._scale * x

    def _device_x(self, device_time_s: NDArray[np.float64], host: float) -> NDArray[np.float64]:
        raw = np.asarray(device_time_s, dtype=np.float64)
        if self._x_last is None:
            first = float(raw[0])
        else:
            expected = self._x_last - self._x_shift + (host - self._host_last) / self._scale
            first = _nearest(float(raw[0]), expected, self.time_wrap_s)
        return first + (raw - raw[0]) + self._x_shift

    def _unwrap_seq(self, packet: DecodedPacket, host: float) -> NDArray[np.int64]:
        assert packet.seq is not None
        n = len(packet)
        raw0 = int(packet.seq[0])
        if self._seq_last is None:
            first = raw0
        else:
            elapsed = (host - self._host_last) / self._scale
            expected = self._seq_last + elapsed * self.nominal_rate_hz - (n - 1)
            first = int(_nearest(float(raw0), expected, float(1 << self.counter_bits)))
        return first + np.arange(n, dtype=np.int64)

    def _is_reset(
        self, x: NDArray[np.float64], seq_u: NDArray[np.int64] | None, host: float
    ) -> bool:
        assert self._x_last is not None
        back_s = self._x_last - float(x[0])
        if seq_u is not None and self._seq_last is not None:
            back_s = max(back_s, (self._seq_last - int(seq_u[0])) * self._period)
        ahead_s = self._predict(float(x[-1])) - host  # sample claims to be from the future
        return back_s > self.reset_after_s or ahead_s > self.reset_after_s

    def _reanchor(
        self,
        packet: DecodedPacket,
        x: NDArray[np.float64],
        seq_u: NDArray[np.int64] | None,
        host: float,
    ) -> tuple[NDArray[np.float64], NDArray[np.int64] | None]:
        """Device restarted its clock/counter: continue the device axis from the host clock."""
        assert self._x_last is not None
        self.resets += 1
        self._jumped = True
        target_last = (host - self._offset) / self._scale  # x the last sample would have now
        shift = target_last - float(x[-1])
        self._x_shift += shift
        x = x + shift
        if seq_u is not None:
            self._seq_last = int(seq_u[0]) - 1
        self._blocks.clear()
        self._block = None
        return x, seq_u

    def _stale(self, x: NDArray[np.float64], seq_u: NDArray[np.int64] | None) -> NDArray[np.bool_]:
        if self._x_last is None:
            return np.zeros(x.shape[0], dtype=bool)
        if seq_u is not None and self._seq_last is not None:
            return seq_u <= self._seq_last
        if self.time_source == "arrival":
            return np.zeros(x.shape[0], dtype=bool)
        return x <= self._x_last + 0.25 * self._period

    def _record_gap(
        self, x_first: float, seq_first: int | None, t_before: float, t_first: float
    ) -> None:
        if self._x_last is None:
            return
        if seq_first is not None and self._seq_last is not None:
            lost = seq_first - self._seq_last - 1
        elif self.time_source == "device_time":
            steps = (x_first - self._x_last) * self.nominal_rate_hz
            lost = round(steps) - 1 if steps > 1.5 else 0
        else:
            lost = round((x_first - self._x_last) * self.nominal_rate_hz) - 1
        if lost > 0:
            self.lost_samples += lost
            self.gaps.append(ClockGap(t_before, t_first, int(lost)))

    # ------------------------------------------------------------------ estimation

    def _observe(self, x: float, y: float) -> None:
        """Add the point (device time of the last sample, receive time) to the envelope."""
        if self._block is None and not self._blocks:
            self._offset = y - self._scale * x
        block_id = math.floor(x / self.block_s)
        residual = y - x
        current = self._block
        if current is not None and current[0] == block_id:
            if residual >= current[2] - current[1]:
                return
            self._block = (block_id, x, y)
            if self._fitted:  # the line fit uses closed blocks only
                return
        else:
            if current is not None:
                self._blocks.append((current[1], current[2]))
                while self._blocks and self._blocks[0][0] < x - self.window_s:
                    self._blocks.popleft()
            self._block = (block_id, x, y)
        self._fit()

    def _fit(self) -> None:
        points = list(self._blocks)
        assert self._block is not None
        span = points[-1][0] - points[0][0] if points else 0.0
        if span >= self.min_fit_span_s and len(points) >= 4:
            xs = np.array([p[0] for p in points])
            ys = np.array([p[1] for p in points])
            keep = np.ones(xs.shape[0], dtype=bool)
            for _ in range(2):
                xm, ym = xs[keep].mean(), ys[keep].mean()
                dx = xs[keep] - xm
                slope = float((dx * (ys[keep] - ym)).sum() / (dx * dx).sum())
                limit = self.max_drift_ppm * 1e-6
                slope = min(max(slope, 1.0 / (1.0 + limit)), 1.0 / (1.0 - limit))
                residual = ys - (ym + slope * (xs - xm))
                spread = 1.4826 * float(np.median(np.abs(residual - np.median(residual))))
                keep = residual <= np.median(residual) + 3.0 * max(spread, 1e-4)
            self._scale = slope
            self._offset = float(ym - slope * xm)
            self._fitted = True
        else:
            self._fitted = False
            points.append((self._block[1], self._block[2]))
            xs = np.array([p[0] for p in points])
            ys = np.array([p[1] for p in points])
            self._offset = float(np.median(ys - self._scale * xs))


def lower_envelope_line(
    x: NDArray[np.float64], y: NDArray[np.float64]
) -> tuple[float, float] | None:
    """The line ``y = a + b x`` below every point that hugs them most closely.

    Minimises the summed vertical distance to the points subject to lying below all of them
    (the LP is solved by the lower convex hull: the optimum is the hull edge above the mean
    of ``x``). For receive times against device time it is the "minimum latency" line: every
    packet arrives at or after it. Returns ``(a, b)``, or None with fewer than 2 distinct x.
    """
    order = np.argsort(x, kind="stable")
    xs, ys = np.asarray(x, dtype=np.float64)[order], np.asarray(y, dtype=np.float64)[order]
    hull: list[int] = []
    for i in range(xs.shape[0]):
        while len(hull) >= 2:
            o, a = hull[-2], hull[-1]
            cross = (xs[a] - xs[o]) * (ys[i] - ys[o]) - (ys[a] - ys[o]) * (xs[i] - xs[o])
            if cross > 0:
                break
            hull.pop()
        if hull and xs[hull[-1]] == xs[i]:
            continue  # same x, higher or equal y: not on the lower hull
        hull.append(i)
    if len(hull) < 2:
        return None
    hx, hy = xs[hull], ys[hull]
    edge = int(np.clip(np.searchsorted(hx, xs.mean()) - 1, 0, len(hull) - 2))
    slope = float((hy[edge + 1] - hy[edge]) / (hx[edge + 1] - hx[edge]))
    return float(hy[edge] - slope * hx[edge]), slope


class SessionTiming:
    """Receive times of one sensor's packets, kept to re-time its recording at the end.

    Each live ``ClockMapper`` estimates a sensor's clock from arrivals seen so far, on its
    own; under CPU load (and at simulated speeds above 1, where a millisecond of host delay
    is several session milliseconds) the estimates of different sensors settle on different
    latencies, which is inter-sensor skew. At the end of a recording the whole session is
    known: the lower envelope of (sample counter, receive time) over all of it is each
    sensor's minimum-latency line, and the minimum latency is common to every sensor of a
    session (same host, same radio), so the lines put all sensors on one clock.

    Points are the packets' last samples against the host's monotonic clock (the session
    clock's origin may still move while sensors start), thinned to the earliest arrival per
    block of ``block_samples`` counter values (the lower envelope only needs those).
    ``t0_monotonic_s`` and ``time_scale`` turn the result into session time.
    """

    def __init__(
        self,
        nominal_rate_hz: float,
        counter_bits: int,
        *,
        max_rate_error: float = 0.1,
        block_samples: int = 16,
    ) -> None:
        self.max_rate_error = max_rate_error
        self.period_s = 1.0 / float(nominal_rate_hz)
        self.wrap = 1 << int(counter_bits)
        self.block_samples = block_samples
        self._k_last: int | None = None
        self._raw_last = 0
        self.fell_behind = False
        """The last ``line`` found arrivals implying an impossible rate: the host could not
        keep up, and the nominal rate was used."""
        self.last_mapped_s = math.nan
        """Session time the live mapping gave the newest sample (``note_mapped``)."""
        self.lags_s: deque[float] = deque(maxlen=64)
        """Recent arrival minus live-mapped time of each packet's last sample (session s)."""
        self._k: list[int] = []
        self._host: list[float] = []
        self._block = -1

    def add(self, seq: NDArray[np.uint32], host_time_s: float) -> None:
        """A fresh packet's counters (already cleared of repeats) and its receive time
        (``time.monotonic()``)."""
        if len(seq) == 0:
            return
        raw = int(seq[-1])
        if self._k_last is None:
            k = raw
        else:
            k = self._k_last + (raw - self._raw_last) % self.wrap
        self._k_last, self._raw_last = k, raw
        block = k // self.block_samples
        residual = host_time_s - k * self.period_s
        if block == self._block:
            if residual < self._host[-1] - self._k[-1] * self.period_s:
                self._k[-1], self._host[-1] = k, host_time_s
            return
        self._block = block
        self._k.append(k)
        self._host.append(host_time_s)

    def note_mapped(self, last_mapped_s: float, arrival_s: float) -> None:
        """The live mapping of the newest packet: its last sample's time and its arrival
        (both session clock), for the live skew and lag."""
        self.last_mapped_s = float(last_mapped_s)
        self.lags_s.append(float(arrival_s) - float(last_mapped_s))

    @property
    def n_points(self) -> int:
        return len(self._k)

    def live_offset_s(
        self, t0_monotonic_s: float, time_scale: float = 1.0, recent_points: int = 800
    ) -> float:
        """How far the live mapping puts the newest sample from this sensor's recent
        minimum-latency line (session s; NaN before there is one). Differences between
        sensors are the live inter-sensor skew."""
        if self._k_last is None or not math.isfinite(self.last_mapped_s):
            return math.nan
        k = np.asarray(self._k[-recent_points:], dtype=np.float64)
        if len(k) < 8 or (k[-1] - k[0]) * self.period_s < 5.0:
            return math.nan
        host = np.asarray(self._host[-recent_points:], dtype=np.float64)
        fit = lower_envelope_line(k, (host - t0_monotonic_s) * time_scale)
        if fit is None:
            return math.nan
        return self.last_mapped_s - (fit[0] + fit[1] * self._k_last)

    def line(
        self,
        t0_monotonic_s: float,
        time_scale: float = 1.0,
        min_span_s: float = 10.0,
    ) -> tuple[float, float] | None:
        """``(a, b)`` with session time = a + b * counter, or None when not enough is known."""
        if len(self._k) < 8:
            return None
        k = np.asarray(self._k, dtype=np.float64)
        if (k[-1] - k[0]) * self.period_s < min_span_s:
            return None
        session_s = (np.asarray(self._host, dtype=np.float64) - t0_monotonic_s) * time_scale
        fit = lower_envelope_line(k, session_s)
        self.fell_behind = False
        rate_error = math.inf if fit is None else abs(fit[1] / self.period_s - 1.0)
        if rate_error <= self.max_rate_error:
            return fit
        # Over a short span a few ms of arrival jitter tilt the line by more than a crystal
        # could: that is uncertainty, not a host falling behind.
        span_s = (k[-1] - k[0]) * self.period_s
        self.fell_behind = rate_error > max(self.max_rate_error, 0.05 / span_s)
        # Arrivals fell steadily behind (or ran ahead of) the counter by more than any
        # sensor's rate error: the host could not keep up, so arrival times carry no rate
        # information. The counter at the nominal rate is then the best clock there is,
        # anchored at the earliest arrival relative to it.
        log.info("arrivals imply a sample period off the nominal %.6f s; using the nominal",
                 self.period_s)
        return float(np.min(session_s - self.period_s * k)), self.period_s

    def retime(
        self,
        seq: NDArray[np.integer],
        live_time_s: NDArray[np.float64],
        max_shift_s: float,
        t0_monotonic_s: float,
        time_scale: float = 1.0,
    ) -> NDArray[np.float64] | None:
        """Session times for recorded rows (their raw counters and live times), or None.

        The rows' counters are unwrapped from the first row, whose wrap count is the one
        that lands nearest its live time. None (keep the live times) without a line, with
        repeated counters, or when the line moves any row by more than ``max_shift_s``
        (something the counters cannot explain). A device that restarted its counter must
        not be re-timed (the caller checks ``ClockMapper.resets``).
        """
        fit = self.line(t0_monotonic_s, time_scale)
        if fit is None or len(seq) == 0:
            log.info("not enough packets to align (%d points)", len(self._k))
            return None
        a, b = fit
        steps = np.mod(np.diff(seq.astype(np.int64)), self.wrap)
        if len(steps) and (steps == 0).any():
            log.warning("repeated sample counters in the recording; the streamed times are kept")
            return None
        k0_raw = int(seq[0])
        k_expected = (float(live_time_s[0]) - a) / b
        k0 = k0_raw + round((k_expected - k0_raw) / self.wrap) * self.wrap
        k = k0 + np.concatenate([[0], np.cumsum(steps)])
        times = a + b * k.astype(np.float64)
        shift = np.abs(times - live_time_s)
        if not np.all(shift <= max_shift_s):
            log.warning(
                "alignment would move recorded samples by up to %.3f s (row %d); "
                "the streamed times are kept",
                float(shift.max()),
                int(shift.argmax()),
            )
            return None
        return times
