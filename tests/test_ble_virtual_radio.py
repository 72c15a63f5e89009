"""The virtual radio and the bleak backend over bumble, driven through bleak's public API.

Each test builds its own environment inside its own event loop (bumble binds the loop).
"""

from __future__ import annotations

import asyncio

import numpy as np
import pytest
from bleak import BleakClient, BleakScanner
from bumble.device import Connection

from hipscope.acquisition.decoders import decoder_for
from hipscope.acquisition.profiles import load_profile, match_profile, uuid_bytes
from hipscope.acquisition.virtual.kit import VirtualKit, still_samples
from hipscope.acquisition.virtual.radio import CONNECTION_TIMEOUT_REASON, address_key

FAMILIES = {"pelvis": "hipscope_open", "trunk": "movella_dot", "thigh_left": "witmotion_wt901ble"}


def _kit(**kwargs: object) -> VirtualKit:
    placements = tuple(kwargs.pop("placements", FAMILIES))  # type: ignore[arg-type]
    rate_hz = float(kwargs.pop("rate_hz", 50.0))  # type: ignore[arg-type]
    return VirtualKit(
        placements=placements,
        profile=kwargs.pop("profile", FAMILIES),  # type: ignore[arg-type]
        rate_hz=rate_hz,
        samples=still_samples(placements, rate_hz, 4.0),
        start_delay_s=0.0,
        **kwargs,  # type: ignore[arg-type]
    )


async def _connect(env: VirtualKit, placement: str, **kwargs: object) -> BleakClient:
    device = await BleakScanner.find_device_by_name(
        env.device_names[placement], timeout=2.0, backend=env.scanner_backend
    )
    assert device is not None, f"{placement} not found by name"
    client = BleakClient(device, backend=env.client_backend, **kwargs)  # type: ignore[arg-type]
    await client.connect()
    return client


async def test_scan_reports_names_services_and_profiles() -> None:
    async with _kit() as env:
        found = await BleakScanner.discover(
            timeout=0.3, return_adv=True, backend=env.scanner_backend
        )
        by_name = {adv.local_name: adv for _, adv in found.values()}
        for placement, family in FAMILIES.items():
            adv = by_name[env.device_names[placement]]
            profile = load_profile(family)
            wanted = uuid_bytes(profile.service_uuid)
            assert [uuid_bytes(u) for u in adv.service_uuids] == [wanted]  # de-duplicated
            matched = match_profile(adv.local_name, adv.service_uuids)
            assert matched is not None and matched.id == family
            assert -100 < adv.rssi < 0


async def test_service_uuid_filter_is_applied() -> None:
    async with _kit() as env:
        wanted = load_profile("movella_dot").service_uuid
        found = await BleakScanner.discover(
            timeout=0.3, service_uuids=[wanted], backend=env.scanner_backend
        )
        assert [d.name for d in found] == [env.device_names["trunk"]]


async def test_connect_negotiates_mtu_and_exposes_the_profile_gatt_table() -> None:
    async with _kit() as env:
        for placement, family in FAMILIES.items():
            profile = load_profile(family)
            client = await _connect(env, placement)
            assert client.is_connected
            assert client.mtu_size == 247
            data = client.services.get_characteristic(profile.data_uuid)
            assert data is not None and "notify" in data.properties
            assert data.service_uuid == profile.service_uuid
            if profile.control_uuid is not None:
                control = client.services.get_characteristic(profile.control_uuid)
                assert control is not None and "write" in control.properties
            await client.disconnect()
            await client.disconnect()  # idempotent, as bleak's __aexit__ needs
            assert not client.is_connected


async def test_control_writes_start_streaming_bytes_that_decode() -> None:
    async with _kit(placements=("pelvis",), profile="hipscope_open", rate_hz=100.0) as env:
        profile = load_profile("hipscope_open")
        decode = decoder_for(profile)
        client = await _connect(env, "pelvis")
        packets: list[bytes] = []
        await client.start_notify(profile.data_uuid, lambda _c, data: packets.append(bytes(data)))
        await asyncio.sleep(0.2)
        assert packets == []  # subscribed, but not started
        for char, payload in profile.writes("start", 100.0):
            await client.write_gatt_char(char, payload, response=True)
        await asyncio.sleep(0.5)
        assert env.sensors["pelvis"].started
        decoded = [decode(p) for p in packets]
        seq = np.concatenate([d.seq for d in decoded])
        assert len(seq) >= 30
        assert np.all(np.diff(seq.astype(np.int64)) == 1)
        acc = np.concatenate([d.acc_m_s2 for d in decoded])
        np.testing.assert_allclose(acc[:, 0], 9.80665, atol=0.01)  # still, +x up
        for char, payload in profile.writes("stop"):
            await client.write_gatt_char(char, payload, response=True)
        await asyncio.sleep(0.1)
        count = len(packets)
        await asyncio.sleep(0.2)
        assert len(packets) == count
        await client.disconnect()


async def test_set_rate_write_changes_the_device_rate() -> None:
    async with _kit(placements=("thigh_left",), profile="witmotion_wt901ble", rate_hz=50.0) as env:
        profile = load_profile("witmotion_wt901ble")
        client = await _connect(env, "thigh_left")
        for char, payload in profile.writes("set_rate", 200.0):
            await client.write_gatt_char(char, payload, response=True)
        assert env.sensors["thigh_left"].rate_hz == 200.0
        await client.disconnect()


async def test_cut_is_radio_loss_on_both_sides_and_restore_allows_reconnect() -> None:
    async with _kit(placements=("pelvis",), profile="hipscope_open") as env:
        lost = asyncio.Event()
        client = await _connect(env, "pelvis", disconnected_callback=lambda _c: lost.set())
        sensor = env.sensors["pelvis"]
        assert sensor.connection is not None
        reasons: list[int] = []
        sensor.connection.on(Connection.EVENT_DISCONNECTION, reasons.append)
        env.cut("pelvis")
        await asyncio.wait_for(lost.wait(), timeout=1.0)
        await asyncio.sleep(0.05)
        assert reasons == [CONNECTION_TIMEOUT_REASON]
        assert not client.is_connected
        with pytest.raises(Exception, match="timed out"):
            await BleakClient(client.address, backend=env.client_backend, timeout=0.3).connect()
        env.restore("pelvis")
        await client.connect()
        assert client.is_connected
        lost.clear()
        await client.disconnect()  # solicited: no callback
        await asyncio.sleep(0.05)
        assert not lost.is_set()


async def test_loss_is_seeded_and_every_dropped_payload_is_kept() -> None:
    async def run(seed: int) -> tuple[int, list[bytes], int]:
        async with _kit(
            placements=("trunk",), profile="movella_dot", rate_hz=60.0, speed=4.0,
            loss_fraction=0.1, seed=seed,
        ) as env:
            profile = load_profile("movella_dot")
            client = await _connect(env, "trunk")
            got: list[bytes] = []
            await client.start_notify(profile.data_uuid, lambda _c, d: got.append(bytes(d)))
            for char, payload in profile.writes("start", 60.0):
                await client.write_gatt_char(char, payload, response=True)
            await asyncio.sleep(1.0)
            for char, payload in profile.writes("stop"):  # the response follows every notification
                await client.write_gatt_char(char, payload, response=True)
            sent = env.sensors["trunk"].sent_notifications
            await client.disconnect()
            return sent, env.dropped_values("trunk"), len(got)

    sent, dropped, received = await run(seed=3)
    assert sent > 150
    assert received + len(dropped) == sent
    assert 0.05 < len(dropped) / sent < 0.15
    decode = decoder_for(load_profile("movella_dot"))
    assert all(len(decode(payload)) == 1 for payload in dropped)
    _, dropped_again, _ = await run(seed=3)
    n = min(len(dropped), len(dropped_again))
    first = [decode(p).device_time_s for p in dropped[:n]]  # type: ignore[union-attr]
    again = [decode(p).device_time_s for p in dropped_again[:n]]  # type: ignore[union-attr]
    # Same seed, same pattern of dropped sample indices (device clocks differ only by offset).
    np.testing.assert_allclose(np.diff(np.ravel(first)), np.diff(np.ravel(again)), atol=1e-5)


async def test_connection_interval_delivers_in_bursts() -> None:
    async with _kit(
        placements=("pelvis",), profile="nordic_thingy52", rate_hz=200.0,
        connection_interval_s=0.05,
    ) as env:
        profile = load_profile("nordic_thingy52")
        client = await _connect(env, "pelvis")
        arrivals: list[float] = []
        loop = asyncio.get_running_loop()
        await client.start_notify(profile.data_uuid, lambda _c, _d: arrivals.append(loop.time()))
        for char, payload in profile.writes("start", 200.0):
            await client.write_gatt_char(char, payload, response=True)
        await asyncio.sleep(1.0)
        await client.disconnect()
    times = np.array(arrivals)
    bursts = np.split(times, np.flatnonzero(np.diff(times) > 0.025) + 1)
    # 200 notifications/s through 50 ms connection events: ~10 per event, ~20 events/s.
    assert len(times) > 80
    assert 10 <= len(bursts) <= 25
    assert np.median([len(b) for b in bursts]) >= 4
    assert address_key(env.sensors["pelvis"].address) in env.link.delivered_notifications
