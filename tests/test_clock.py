"""ClockMapper: device clocks onto the session clock, against simulated ground truth."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hipscope.acquisition.clock import ClockMapper
from hipscope.acquisition.decoders import DecodedPacket
from hipscope.base.errors import HipscopeError

ZEROS = np.zeros((64, 3), np.float32)


def _packet(device_time_s: np.ndarray | None, seq: np.ndarray | None, n: int) -> DecodedPacket:
    return DecodedPacket(ZEROS[:n], ZEROS[:n], None, device_time_s, seq)


class Sensor:
    """A simulated sensor: crystal drift, device clock/counter roll-over, BLE latency, loss."""

    def __init__(
        self,
        rng: np.random.Generator,
        *,
        duration_s: float,
        rate_hz: float = 100.0,
        spp: int = 10,
        drift_ppm: float = 0.0,
        wrap_s: float = 2**32 * 1e-6,
        counter_bits: int = 32,
        clock0_s: float = 0.0,
        seq0: int = 0,
        start_s: float = 1.0,
        latency: str = "ble",
        loss: float = 0.0,
    ) -> None:
        self.rate_hz, self.spp, self.wrap_s, self.bits = rate_hz, spp, wrap_s, counter_bits
        n = int(duration_s * rate_hz) // spp * spp
        k = np.arange(n)
        self.seq = seq0 + k
        self.device_s = clock0_s + k / rate_hz  # device clock ticks at its own (drifting) rate
        self.true_s = start_s + (k / rate_hz) / (1.0 + drift_ppm * 1e-6)
        sent = self.true_s[spp - 1 :: spp]
        if latency == "ble":  # 7.5–40 ms, plus 1% chance of a 0.1–0.4 s stall delivering late
            arrive = sent + 0.0075 + rng.uniform(0.0, 0.0325, sent.shape[0])
            for j in np.flatnonzero(rng.random(sent.shape[0]) < 0.01):
                end = sent[j] + rng.uniform(0.1, 0.4)
                held = (sent >= sent[j]) & (sent < end)
                arrive[held] = np.maximum(arrive[held], end + rng.uniform(0.0, 0.005, held.sum()))
            self.arrive_s = np.maximum.accumulate(arrive)  # notifications arrive in order
        else:
            self.arrive_s = sent + float(latency)
        self.lost = rng.random(sent.shape[0]) < loss

    def packet(self, j: int, *, time: bool = True, counter: bool = True) -> DecodedPacket:
        part = slice(j * self.spp, (j + 1) * self.spp)
        first = self.device_s[part][0] % self.wrap_s
        device_time = first + np.arange(self.spp) / self.rate_hz if time else None
        seq = (self.seq[part] % (1 << self.bits)).astype(np.uint32) if counter else None
        return _packet(device_time, seq, self.spp)

    def run(self, mapper: ClockMapper, **kinds: bool) -> np.ndarray:
        out = np.full(self.seq.shape[0], np.nan)
        for j in range(self.arrive_s.shape[0]):
            if not self.lost[j]:
                part = slice(j * self.spp, (j + 1) * self.spp)
                out[part] = mapper.map(self.packet(j, **kinds), float(self.arrive_s[j]))
        return out


def test_constant_latency_gives_true_times_plus_latency() -> None:
    rng = np.random.default_rng(0)
    sensor = Sensor(rng, duration_s=20.0, latency="0.010", clock0_s=123.0)
    mapper = ClockMapper(100.0, has_device_time=True, counter_bits=32, time_wrap_s=sensor.wrap_s)
    times = sensor.run(mapper)
    np.testing.assert_allclose(times, sensor.true_s + 0.010, atol=1e-9)
    assert mapper.offset_s == pytest.approx(1.0 + 0.010 - 123.0)
    assert mapper.drift_ppm == pytest.approx(0.0, abs=1e-6)
    assert mapper.lost_samples == 0 and mapper.gaps == [] and mapper.stale_samples == 0


def test_counter_and_clock_roll_over_often() -> None:
    rng = np.random.default_rng(1)
    sensor = Sensor(
        rng, duration_s=120.0, wrap_s=7.0, counter_bits=8, clock0_s=5.0, seq0=250, latency="0.02"
    )
    mapper = ClockMapper(100.0, has_device_time=True, counter_bits=8, time_wrap_s=7.0)
    times = sensor.run(mapper)
    np.testing.assert_allclose(times, sensor.true_s + 0.02, atol=1e-6)
    assert mapper.lost_samples == 0


def test_lost_packets_become_counted_gaps() -> None:
    rng = np.random.default_rng(2)
    sensor = Sensor(rng, duration_s=30.0, latency="0.01", counter_bits=16)
    sensor.lost[[5, 6, 40]] = True
    mapper = ClockMapper(100.0, has_device_time=True, counter_bits=16, time_wrap_s=sensor.wrap_s)
    times = sensor.run(mapper)
    assert mapper.lost_samples == 30
    assert [g.n_lost for g in mapper.gaps] == [20, 10]
    first = mapper.gaps[0]
    assert first.start_s == pytest.approx(sensor.true_s[49] + 0.01)
    assert first.end_s == pytest.approx(sensor.true_s[70] + 0.01)
    kept = np.isfinite(times)
    np.testing.assert_allclose(times[kept], sensor.true_s[kept] + 0.01, atol=1e-9)


def test_device_time_without_counter_finds_gaps_from_time() -> None:
    rng = np.random.default_rng(3)
    sensor = Sensor(rng, duration_s=10.0, latency="0.01", spp=1, rate_hz=60.0)
    sensor.lost[[100, 101, 102]] = True
    mapper = ClockMapper(60.0, has_device_time=True, time_wrap_s=sensor.wrap_s)
    sensor.run(mapper, counter=False)
    assert mapper.lost_samples == 3 and len(mapper.gaps) == 1


def test_duplicate_and_old_packets_are_flagged_not_mapped() -> None:
    rng = np.random.default_rng(4)
    sensor = Sensor(rng, duration_s=5.0, latency="0.01")
    mapper = ClockMapper(100.0, has_device_time=True, counter_bits=32, time_wrap_s=sensor.wrap_s)
    for j in range(10):
        mapper.map(sensor.packet(j), float(sensor.arrive_s[j]))
    again = mapper.map(sensor.packet(9), float(sensor.arrive_s[9]) + 0.001)
    old = mapper.map(sensor.packet(3), float(sensor.arrive_s[9]) + 0.002)
    assert np.isnan(again).all() and np.isnan(old).all()
    assert mapper.stale_samples == 20 and mapper.lost_samples == 0
    nxt = mapper.map(sensor.packet(10), float(sensor.arrive_s[10]))
    np.testing.assert_allclose(nxt, sensor.true_s[100:110] + 0.01, atol=1e-9)


def test_arrival_order_without_time_or_counter() -> None:
    rng = np.random.default_rng(5)
    sensor = Sensor(rng, duration_s=60.0, rate_hz=50.0, spp=1)
    sensor.lost[1000:1050] = True  # one second of silence
    mapper = ClockMapper(50.0, has_device_time=False)
    assert mapper.time_source == "arrival"
    times = sensor.run(mapper, time=False, counter=False)
    kept = np.isfinite(times)
    assert np.all(np.diff(times[kept]) > 0)
    steps = np.diff(times[kept][:900])
    assert np.median(steps) == pytest.approx(0.02, abs=1e-9)
    np.testing.assert_allclose(steps, 0.02, rtol=0.051)  # estimate changes are slewed, not stepped
    assert len(mapper.gaps) == 1 and abs(mapper.gaps[0].n_lost - 50) <= 3  # estimated


def test_counter_only_rebuilds_time_from_rate() -> None:
    rng = np.random.default_rng(6)
    sensor = Sensor(rng, duration_s=60.0, counter_bits=16, drift_ppm=30.0)
    mapper = ClockMapper(100.0, has_device_time=False, counter_bits=16)
    assert mapper.time_source == "counter"
    times = sensor.run(mapper, time=False)
    err = times - sensor.true_s
    assert np.ptp(err[3000:]) < 0.003


def test_device_reset_re_anchors_and_time_keeps_increasing() -> None:
    rng = np.random.default_rng(7)
    before = Sensor(rng, duration_s=30.0, latency="0.01", clock0_s=900.0, seq0=5000)
    after = Sensor(rng, duration_s=30.0, latency="0.01", clock0_s=0.2, seq0=0, start_s=32.0)
    mapper = ClockMapper(100.0, has_device_time=True, counter_bits=32, time_wrap_s=before.wrap_s)
    t1 = before.run(mapper)
    t2 = after.run(mapper)
    assert mapper.resets == 1
    times = np.concatenate([t1, t2])
    assert np.all(np.isfinite(times)) and np.all(np.diff(times) > 0)
    np.testing.assert_allclose(t2, after.true_s + 0.01, atol=2e-3)


@settings(max_examples=60, deadline=None)
@given(
    steps=st.lists(
        st.tuples(st.integers(-50, 400), st.integers(1, 12), st.floats(-0.05, 2.0)),
        min_size=1,
        max_size=40,
    ),
    has_time=st.booleans(),
    bits=st.sampled_from([0, 8, 32]),
)
def test_any_packet_sequence_gives_strictly_increasing_times(
    steps: list[tuple[int, int, float]], has_time: bool, bits: int
) -> None:
    mapper = ClockMapper(100.0, has_device_time=has_time, counter_bits=bits, time_wrap_s=10.0)
    host, k, last = 0.0, 0, -np.inf
    for jump, n, dt in steps:
        k = max(0, k + jump)
        host = max(0.0, host + dt)
        index = k + np.arange(n)
        device = (index / 100.0) % 10.0 if has_time else None
        seq = (index % (1 << bits)).astype(np.uint32) if bits else None
        times = mapper.map(_packet(device, seq, n), host)
        fresh = times[np.isfinite(times)]
        assert np.all(np.diff(fresh) > 0) and (fresh.size == 0 or fresh[0] > last)
        if fresh.size:
            last = fresh[-1]
        k += n


def test_bad_parameters() -> None:
    with pytest.raises(HipscopeError, match="nominal_rate_hz must be positive"):
        ClockMapper(0.0, has_device_time=True)
    with pytest.raises(HipscopeError, match="device timestamps"):
        ClockMapper(100.0, has_device_time=True).map(_packet(None, None, 2), 0.0)


def test_four_sensors_one_hour_drift_latency_and_roll_over_stay_aligned() -> None:
    """±50 ppm crystals, 7.5–40 ms latency with stalls, 0.2% packet loss, 16-bit counters,
    µs clocks that roll over during the hour: all four stay aligned within a few ms."""
    rng = np.random.default_rng(42)
    grid = np.arange(2.0, 3598.0, 1.0)
    errors, report = [], []
    for drift in (-50.0, -17.0, 23.0, 50.0):
        sensor = Sensor(
            rng,
            duration_s=3600.0,
            spp=12,
            drift_ppm=drift,
            counter_bits=16,
            clock0_s=rng.uniform(0.0, 2**32 * 1e-6),
            start_s=rng.uniform(0.5, 2.0),
            loss=0.002,
        )
        mapper = ClockMapper(
            100.0, has_device_time=True, counter_bits=16, time_wrap_s=sensor.wrap_s
        )
        times = sensor.run(mapper)
        kept = np.isfinite(times)
        assert np.all(np.diff(times[kept]) > 0)
        neighbours = kept[1:] & kept[:-1]
        spacing = np.diff(times)[neighbours] * 100.0
        assert spacing.min() > 0.949 and spacing.max() < 1.051  # slewed within ±5 %
        assert mapper.lost_samples == int(sensor.lost.sum()) * sensor.spp
        assert mapper.resets == 0 and mapper.stale_samples == 0
        assert mapper.drift_ppm == pytest.approx(drift, abs=2.0)
        err = times[kept] - sensor.true_s[kept]
        errors.append(np.interp(grid, sensor.true_s[kept], err))
        report.append(f"{drift:+.0f}ppm->{mapper.drift_ppm:+.2f} bias {np.median(err) * 1e3:.2f}ms")
    spread = np.ptp(np.array(errors), axis=0) * 1e3
    print(f"\nclock alignment, 4 sensors x 1 h: {'; '.join(report)}")
    print(
        f"inter-sensor spread ms: median {np.median(spread):.2f} "
        f"p99 {np.percentile(spread, 99):.2f} "
        f"max after first minute {spread[58:].max():.2f} max overall {spread.max():.2f}"
    )
    assert np.percentile(spread, 99) < 3.0
    assert spread[58:].max() < 5.0


def test_outage_longer_than_half_a_counter_roll_over_is_counted_exactly() -> None:
    # a 16-bit counter at 100 Hz wraps every 655 s; the link is down for 400 s (more than
    # half of that): un-wrapping guided by the host clock still counts every lost sample
    rng = np.random.default_rng(8)
    sensor = Sensor(rng, duration_s=460.0, counter_bits=16, latency="0.015", wrap_s=300.0)
    sensor.lost[(sensor.arrive_s > 30.0) & (sensor.arrive_s < 430.0)] = True
    mapper = ClockMapper(100.0, has_device_time=True, counter_bits=16, time_wrap_s=300.0)
    times = sensor.run(mapper)
    assert mapper.lost_samples == int(sensor.lost.sum()) * sensor.spp
    assert len(mapper.gaps) == 1 and mapper.resets == 0
    kept = np.isfinite(times)
    np.testing.assert_allclose(times[kept], sensor.true_s[kept] + 0.015, atol=1e-6)


@pytest.mark.parametrize(("odr_error_ppm", "counter"), [(-30000.0, True), (20000.0, False)])
def test_time_from_the_sample_rate_follows_an_inexact_output_data_rate(
    odr_error_ppm: float, counter: bool
) -> None:
    # an IMU asked for 100 Hz delivering 97 or 102 Hz: without timestamps the real rate must
    # be learnt from arrival times, without inventing gaps
    rng = np.random.default_rng(9)
    sensor = Sensor(rng, duration_s=120.0, drift_ppm=odr_error_ppm, counter_bits=16)
    mapper = ClockMapper(100.0, has_device_time=False, counter_bits=16 if counter else 0)
    times = sensor.run(mapper, time=False, counter=counter)
    assert mapper.lost_samples == 0 and mapper.gaps == [] and mapper.resets == 0
    assert mapper.drift_ppm == pytest.approx(odr_error_ppm, rel=0.01)
    err = times - sensor.true_s
    settled = sensor.true_s > 30.0
    assert np.ptp(err[settled]) < 0.008  # a few ms, like the envelope of the latency
    assert np.all(np.diff(times) > 0)


def test_lower_envelope_line_hugs_the_fastest_arrivals() -> None:
    from hipscope.acquisition.clock import lower_envelope_line

    rng = np.random.default_rng(4)
    x = np.arange(2000) * 0.01
    latency = rng.exponential(0.02, x.shape[0]) + 0.003  # >= 3 ms, jittery, long tail
    y = 5.0 + (1 + 40e-6) * x + latency
    fit = lower_envelope_line(x, y)
    assert fit is not None
    a, b = fit
    assert np.all(y >= a + b * x - 1e-12)  # below every point
    assert a == pytest.approx(5.003, abs=1e-3)  # the minimum latency, not the mean (23 ms)
    assert (b - 1) * 1e6 == pytest.approx(40.0, abs=30.0)


def test_session_timing_puts_sensors_with_different_jitter_on_one_clock() -> None:
    """Two sensors sampled on one clock but delivered with different (load-like) delays:
    their streamed times disagree by tens of ms; re-timed, by well under a millisecond."""
    from hipscope.acquisition.clock import SessionTiming

    rate_hz, n = 100.0, 6000
    rng = np.random.default_rng(5)
    retimed = {}
    for name, extra_s in (("a", 0.002), ("b", 0.030)):
        timing = SessionTiming(rate_hz, 16, max_rate_error=2e-4)
        seq = np.arange(n, dtype=np.int64)
        arrivals = []
        for first in range(0, n, 4):  # 4-sample packets
            last = first + 3
            host = 100.0 + last / rate_hz + 0.001 + rng.exponential(extra_s)
            timing.add((seq[first : last + 1] % (1 << 16)).astype(np.uint32), host)
            arrivals.extend([host] * 4)
        live = np.asarray(arrivals) - 100.0  # a crude live mapping: arrival times
        raw = (seq % (1 << 16)).astype(np.uint32)  # the counter wraps inside the session
        times = timing.retime(raw, live, max_shift_s=2.0, t0_monotonic_s=100.0)
        assert times is not None and np.all(np.diff(times) > 0)
        retimed[name] = times - seq / rate_hz
    skew_ms = abs(np.median(retimed["a"]) - np.median(retimed["b"])) * 1e3
    assert skew_ms < 0.5
    assert np.ptp(retimed["b"]) * 1e3 < 0.5  # no drift across the session either


def test_session_timing_refuses_what_the_counter_cannot_explain() -> None:
    from hipscope.acquisition.clock import SessionTiming

    timing = SessionTiming(100.0, 32)
    for k in range(0, 3000, 5):
        timing.add(np.arange(k, k + 5, dtype=np.uint32), 10.0 + (k + 4) / 100.0)
    seq = np.arange(3000, dtype=np.uint32)
    live = 10.0 + seq / 100.0
    restarted = seq.copy()
    restarted[1500:] -= 1500  # a device that restarted its counter mid-session
    assert timing.retime(restarted, live, max_shift_s=2.0, t0_monotonic_s=0.0) is None
    assert timing.retime(seq, live, max_shift_s=2.0, t0_monotonic_s=0.0) is not None
