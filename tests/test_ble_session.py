"""End to end through bleak on the virtual stack: simulated IMU -> bumble peripherals ->
virtual radio -> bleak -> SensorLink/Session -> Recorder -> a format-v1 file read back with
``load_recording``. Ground truth is the simulator's samples and what the radio dropped.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import numpy as np
import pytest

from hipscope.acquisition.decoders import decoder_for
from hipscope.acquisition.recording import load_recording
from hipscope.acquisition.session import Session
from hipscope.acquisition.simulator import StaticSpec, simulate
from hipscope.acquisition.virtual.kit import VirtualKit
from hipscope.base.errors import LinkError

PLACEMENTS = ("pelvis", "trunk", "thigh_left", "thigh_right")


def _session(env: VirtualKit) -> Session:
    session = _new_session(env)
    env.add_cleanup(session.close)  # closed before the radio even when a test fails
    return session


def _new_session(env: VirtualKit) -> Session:
    return Session(
        env.session_devices,
        scanner_backend=env.scanner_backend,
        client_backend=env.client_backend,
        rate_hz=env.rates_hz,
        time_scale=env.speed,
        t0_monotonic_s=env.session_t0,
    )


async def _record_until(session: Session, path: Path, end_s: float) -> None:
    await session.connect()
    session.start_recording(path, athlete="test")
    while session.session_time_s() < end_s:
        await asyncio.sleep(0.02)


@pytest.fixture(scope="module")
def still_200hz() -> object:
    return simulate([StaticSpec(duration_s=14.0)], rate_hz=200.0, seed=5, placements=PLACEMENTS)


async def test_clean_link_records_every_sample_in_order(
    tmp_path: Path, still_200hz: object
) -> None:
    path = tmp_path / "clean.h5"
    async with VirtualKit(
        rate_hz=200.0, speed=5.0, simulated=still_200hz
    ) as env:
        session = _session(env)
        await _record_until(session, path, 10.0)
        status = session.status()
        await session.close()
    recording = load_recording(path)
    assert recording.format_version == 1 and recording.athlete == "test"
    assert set(recording.sensors) == set(PLACEMENTS)
    for placement, sensor in recording.sensors.items():
        samples = sensor.samples
        seq = samples.seq.astype(np.int64)
        assert len(samples) >= 0.999 * 10.0 * 200.0, placement
        assert seq[0] == 0  # sampling began once every sensor streamed: nothing missed
        assert np.all(np.diff(seq) == 1), placement  # no duplicates, no gaps
        assert np.all(np.diff(samples.time_s) > 0), placement
        assert sensor.lost_samples == 0 and sensor.gaps() == []
        assert sensor.attrs["lost_samples"] == 0 and sensor.attrs["dropped_packets"] == 0
        assert sensor.attrs["reconnects"] == 0
        assert sensor.rate_hz == pytest.approx(200.0, rel=0.02)
        # The values are the simulator's, to within one int16 step of the open profile's
        # widest ranges (16 g, 2000 deg/s).
        truth = still_200hz.samples[placement]  # type: ignore[attr-defined]
        np.testing.assert_allclose(samples.acc_m_s2, truth.acc_m_s2[seq], atol=16 * 9.81 / 32768)
        np.testing.assert_allclose(
            samples.gyr_rad_s, truth.gyr_rad_s[seq], atol=np.radians(2000) / 32768
        )
        assert status[placement].lost_samples == 0
        assert status[placement].rate_hz == pytest.approx(200.0, rel=0.15)


async def test_one_percent_loss_is_counted_exactly_and_time_stays_right(
    tmp_path: Path, still_200hz: object
) -> None:
    path = tmp_path / "lossy.h5"
    # Speed 2: host latency jitter is multiplied by the speed on the session clock.
    async with VirtualKit(
        rate_hz=200.0, speed=2.0, loss_fraction=0.01, seed=11, simulated=still_200hz,
    ) as env:
        session = _session(env)
        await _record_until(session, path, 10.0)
        live_lost = {p: link.mapper.lost_samples for p, link in session.links.items()}
        await session.close()
        dropped = {p: env.dropped_values(p) for p in PLACEMENTS}
    decode = decoder_for(env.profiles["pelvis"])
    recording = load_recording(path)
    total_dropped = 0
    offsets = []
    for placement, sensor in recording.sensors.items():
        seq = sensor.samples.seq.astype(np.int64)
        dropped_seq = np.concatenate(
            [decode(p).seq for p in dropped[placement]] or [np.empty(0)]
        ).astype(np.int64)
        inside = dropped_seq[(dropped_seq > seq[0]) & (dropped_seq < seq[-1])]
        total_dropped += len(inside)
        # Recorded and dropped samples tile the range exactly: nothing invented or repeated.
        tiled = np.sort(np.concatenate([seq, inside]))
        assert np.array_equal(tiled, np.arange(seq[0], seq[-1] + 1))
        assert sensor.lost_samples == len(inside), placement
        assert live_lost[placement] == len(inside), placement
        assert sensor.attrs["lost_samples"] == len(inside)
        assert sum(g.lost_samples for g in sensor.gaps()) == len(inside)
        # Time: each sample sits at the simulator's time for its seq plus a small positive
        # latency (never before it was taken), which the clock mapper refines as it learns
        # the lower envelope of arrival times, slewing (spacing within ±5 %), never
        # stepping; across lost samples the spacing stays the device's.
        time_s = sensor.samples.time_s
        offset = time_s - still_200hz.time_s[seq]  # type: ignore[attr-defined]
        assert offset.min() > -0.001 and offset.max() < 0.060, placement
        assert np.ptp(offset[time_s > 2.5]) < 0.020, placement
        slew = np.abs(np.diff(offset)) / np.diff(still_200hz.time_s[seq])  # type: ignore[attr-defined]
        assert slew.max() < 0.051, placement
        # At close the session re-times each sensor on one line fitted to its earliest
        # arrivals: the spacing is the device's times (1 + the fit's rate error), which is
        # ~1e-4 on a loaded machine over a 10 s recording (0.1 ms per second).
        assert np.median(slew) < 5e-4, placement
        offsets.append(np.median(offset[time_s > 2.5]))
    assert total_dropped > 0.004 * 4 * 2000
    # About the same latency for every sensor: cross-sensor timing holds.
    assert np.ptp(offsets) < 0.010


@pytest.mark.slow
async def test_radio_cut_reconnects_and_the_recording_shows_the_gap(
    tmp_path: Path, still_200hz: object
) -> None:
    path = tmp_path / "cut.h5"
    async with VirtualKit(
        rate_hz=200.0, speed=2.0, simulated=still_200hz
    ) as env:
        session = _session(env)
        await _record_until(session, path, 3.0)
        link = session.links["thigh_left"]
        env.cut("thigh_left")
        await asyncio.sleep(0.3)
        assert not link.connected
        assert all(session.links[p].connected for p in PLACEMENTS if p != "thigh_left")
        restored_at = asyncio.get_running_loop().time()
        env.restore("thigh_left")
        while not link.connected:
            assert asyncio.get_running_loop().time() - restored_at < 2.0, "no reconnection"
            await asyncio.sleep(0.01)
        reconnect_s = asyncio.get_running_loop().time() - restored_at
        while session.session_time_s() < 8.0:
            await asyncio.sleep(0.02)
        await session.close()
    assert reconnect_s < 2.0
    recording = load_recording(path)
    thigh = recording.sensors["thigh_left"]
    gaps = thigh.gaps()
    assert len(gaps) == 1
    # At least the outage (0.3 s host = 0.6 s simulated = 120 samples) is missing.
    assert gaps[0].lost_samples >= 120
    assert thigh.attrs["reconnects"] == 1
    assert thigh.attrs["lost_samples"] == gaps[0].lost_samples
    # The link's own record of the gap agrees with the counter jump in the data.
    assert list(thigh.attrs["gap_lost_samples"]) == [gaps[0].lost_samples]
    assert thigh.attrs["gap_start_s"][0] == pytest.approx(gaps[0].start_s, abs=0.01)
    assert thigh.attrs["gap_end_s"][0] == pytest.approx(gaps[0].end_s, abs=0.01)
    assert len(thigh.attrs["disconnect_times_s"]) == len(thigh.attrs["reconnect_times_s"]) == 1
    assert thigh.samples.time_s[-1] > 7.5  # it carried on after the gap
    seq = thigh.samples.seq.astype(np.int64)
    assert np.all(np.diff(seq) >= 1)
    for placement in ("pelvis", "trunk", "thigh_right"):  # the others never stopped
        assert recording.sensors[placement].lost_samples == 0


async def test_corrupt_packets_are_counted_and_dropped(
    tmp_path: Path, still_200hz: object
) -> None:
    path = tmp_path / "corrupt.h5"
    async with VirtualKit(
        rate_hz=200.0, speed=4.0, simulated=still_200hz
    ) as env:
        session = _session(env)
        await _record_until(session, path, 2.0)
        mangles = [lambda v: v[:7], lambda v: b"\x07" + v[1:], lambda v: v + b"\x00", lambda v: b""]
        for mangle in mangles:
            env.corrupt_next("trunk", mangle)
            await asyncio.sleep(0.05)
        while session.session_time_s() < 5.0:
            await asyncio.sleep(0.02)
        status = session.status()["trunk"]
        await session.close()
    assert status.dropped_packets == len(mangles)
    assert len(env.link.corrupted_values["C0:1D:5C:0E:00:02"]) == len(mangles)
    trunk = load_recording(path).sensors["trunk"]
    assert trunk.attrs["dropped_packets"] == len(mangles)
    # The samples of the bad packets are lost, counted, never invented.
    assert trunk.lost_samples == trunk.attrs["lost_samples"] > 0
    assert np.all(np.diff(trunk.samples.time_s) > 0)


async def test_missing_sensor_is_named(tmp_path: Path, still_200hz: object) -> None:
    async with VirtualKit(
        placements=("pelvis", "trunk"), rate_hz=200.0, simulated=still_200hz, start_delay_s=0.0
    ) as env:
        env.cut("trunk")
        session = _session(env)
        session.scan_timeout_s = 0.5
        with pytest.raises(LinkError, match=r"trunk \(HIPSCOPE-TRUNK\)"):
            await session.connect()


async def test_movella_dot_and_witmotion_stream_alongside_the_open_profile(
    tmp_path: Path,
) -> None:
    """Three families at their own rates: bytes, timestamps (or none) and rates all differ."""
    path = tmp_path / "mixed.h5"
    families = {
        "pelvis": "hipscope_open", "trunk": "movella_dot", "thigh_left": "witmotion_wt901ble"
    }
    rates = {"pelvis": 100.0, "trunk": 60.0, "thigh_left": 50.0}
    simulated = simulate([StaticSpec(duration_s=6.0)], rate_hz=100.0, seed=1,
                         placements=tuple(families))
    async with VirtualKit(
        placements=tuple(families), profile=families, rate_hz=rates, speed=2.0,
        simulated=simulated,
    ) as env:
        session = _session(env)
        await _record_until(session, path, 6.0)
        await session.close()
    recording = load_recording(path)
    for placement, sensor in recording.sensors.items():
        assert sensor.profile == families[placement]
        assert sensor.nominal_rate_hz == rates[placement]
        assert sensor.rate_hz == pytest.approx(rates[placement], rel=0.02), placement
        n_expected = 6.0 * rates[placement]
        assert 0.95 * n_expected <= len(sensor.samples) <= 1.05 * n_expected, placement
        assert np.all(np.diff(sensor.samples.time_s) > 0)
        # Standing still with +x up: the mean specific force is gravity along x.
        mean_acc = sensor.samples.acc_m_s2.mean(axis=0)
        assert np.linalg.norm(mean_acc) == pytest.approx(9.81, abs=0.05), placement
    assert recording.sensors["pelvis"].samples.seq is not None
    assert recording.sensors["trunk"].samples.seq is None  # DOT sends timestamps only
    assert recording.sensors["thigh_left"].samples.seq is None  # WitMotion sends neither


@pytest.mark.slow
async def test_long_outage_retries_with_backoff_then_reconnects(tmp_path: Path) -> None:
    simulated = simulate([StaticSpec(duration_s=8.0)], rate_hz=100.0, seed=2,
                         placements=("pelvis", "trunk"))
    path = tmp_path / "outage.h5"
    async with VirtualKit(placements=("pelvis", "trunk"), rate_hz=100.0,
                          simulated=simulated) as env:
        session = _session(env)
        session.connect_timeout_s = 0.2  # each attempt gives up quickly while out of range
        await _record_until(session, path, 1.0)
        link = session.links["trunk"]
        env.cut("trunk")
        await asyncio.sleep(1.5)
        assert link.reconnect_attempts >= 2  # attempts timed out and were retried
        loop = asyncio.get_running_loop()
        restored_at = loop.time()
        env.restore("trunk")
        while not link.connected:
            assert loop.time() - restored_at < 2.0 + 0.2, "no reconnection"
            await asyncio.sleep(0.01)
        await asyncio.sleep(0.3)
        await session.close()
    trunk = load_recording(path).sensors["trunk"]
    assert trunk.attrs["reconnects"] == 1
    assert trunk.gaps()[0].lost_samples >= 150  # 1.5 s at 100 Hz
