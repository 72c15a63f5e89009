"""Each family checked against its vendor's own vectors and specification lines.

Sources (docs/SENSORS.md gives file and line for each):
- MetaWear-SDK-Cpp test/test_accelerometer_bmi270.py, test_accelerometer_bmi160.py,
  test_gyro_bmi160.py, src/metawear/sensor/cpp/gyro_bosch_register.h, metawearboard.cpp;
- WitStandardProtocol_JY901 REG.h ``WitOutputRateType`` and WitBluetooth_BWT901BLE5_0's
  Python SDK ``device_model.py`` (``writeReg``: unlock, 100 ms, write, 100 ms, save);
- Movella DOT BLE Services Specification ("120 is only available for recording");
- movesense gatt_sensordata_app (data 02 / continuation 03 split);
- Nordic-Thingy52-FW (advertises the configuration service ef680100).
"""

from __future__ import annotations

import asyncio
import struct
import time
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import numpy as np
import pytest
from bleak import BleakScanner

from hipscope.acquisition.decoders import assembler_for, decoder_for
from hipscope.acquisition.families import get_family
from hipscope.acquisition.families.metamotion import part_decoder
from hipscope.acquisition.link import SensorLink, _write_steps
from hipscope.acquisition.profiles import PROFILE_DIR, load_profile, match_profile
from hipscope.acquisition.samples import SampleBatch
from hipscope.acquisition.virtual.kit import VirtualKit, still_samples
from hipscope.base.errors import ProfileError

G = 9.80665
THINGY_CONFIG = "ef680100-9b35-4933-9b10-52ffa9740042"
DEG = np.pi / 180.0


def _board(profile: Any, model: str) -> Any:
    family: Any = get_family("metamotion")
    return family.board_variant(profile, model)


def _edited(tmp_path: Path, source: str, old: str, new: str) -> Path:
    text = (PROFILE_DIR / f"{source}.toml").read_text()
    assert old in text
    path = tmp_path / f"{source}.toml"
    path.write_text(text.replace(old, new, 1))
    return path


# ----------------------------------------------------------------------------- WitMotion


def test_witmotion_200hz_writes_the_vendor_code_0x0b() -> None:
    # REG.h: RRATE_100HZ = 0x09, RRATE_125HZ = 0x0a (only WT931), RRATE_200HZ = 0x0b
    steps = load_profile("witmotion_wt901ble").write_steps("set_rate", 200)
    assert [s.payload.hex() for s in steps] == ["ffaa6988b5", "ffaa030b00", "ffaa000000"]
    # device_model.py writeReg: unlock, sleep(0.1), write, sleep(0.1), save
    assert [s.wait_s for s in steps] == [0.1, 0.1, 0.0]
    codes = {
        r: load_profile("witmotion_wt901ble").write_steps("set_rate", r)[1].payload[3]
        for r in (10, 20, 50, 100, 200)
    }
    assert codes == {10: 0x06, 20: 0x07, 50: 0x08, 100: 0x09, 200: 0x0B}


def test_witmotion_profile_with_the_125hz_code_for_200hz_is_refused(tmp_path: Path) -> None:
    path = _edited(tmp_path, "witmotion_wt901ble", '"200" = "0b"', '"200" = "0a"')
    with pytest.raises(ProfileError, match=r"control.rate_codes.200: '0a' is not the vendor's"):
        load_profile(path)
    path = _edited(tmp_path, "witmotion_wt901ble", "wait_s = 0.1 }", "wait_s = 0.0 }")
    with pytest.raises(ProfileError, match=r"control.set_rate\[0\].wait_s: expected at least 0.1"):
        load_profile(path)


class _RecordingClient:
    """Just enough of a connected BleakClient to record writes and their times."""

    def __init__(self) -> None:
        self.writes: list[tuple[float, bytes]] = []
        char = SimpleNamespace(properties=["write"])
        self.services = SimpleNamespace(get_characteristic=lambda _uuid: char)
        self.address = "C0:00:00:00:00:01"

    async def write_gatt_char(self, _char: Any, payload: bytes, response: bool) -> None:
        self.writes.append((time.monotonic(), bytes(payload)))


def test_link_waits_between_witmotion_register_writes() -> None:
    client = _RecordingClient()
    asyncio.run(_write_steps(client, load_profile("witmotion_wt901ble"), "set_rate", 200))  # type: ignore[arg-type]
    times = [t for t, _ in client.writes]
    assert [p.hex() for _, p in client.writes] == ["ffaa6988b5", "ffaa030b00", "ffaa000000"]
    assert min(np.diff(times)) >= 0.095


# ----------------------------------------------------------------------------- Movella DOT


def test_dot_offers_at_most_60hz_live(tmp_path: Path) -> None:
    dot = load_profile("movella_dot")
    assert max(dot.rates_hz) == 60 and dot.default_rate_hz == 60
    with pytest.raises(ProfileError, match=r"rate 120 Hz is not supported"):
        dot.writes("set_rate", 120)
    path = _edited(tmp_path, "movella_dot", "30, 60]", "30, 60, 120]")
    with pytest.raises(ProfileError, match=r"rates_hz: 120 Hz exceed the DOT's live-streaming cap"):
        load_profile(path)


# ------------------------------------------------------------------------------ MetaMotion


def test_metamotion_s_gets_the_sdk_bmi270_writes() -> None:
    base = load_profile("mbientlab_metamotion")
    mms = _board(base, "8")
    writes = [p for _, p in mms.writes("start", 200)]
    # test_accelerometer_bmi270.py test_set_odr_and_range: 200 Hz, 8 g -> 03 03 A9 02
    assert writes[0] == bytes([0x03, 0x03, 0xA9, 0x02])
    assert bytes([0x03, 0x05, 0x01]) in writes  # TestBmi270HighFreqAccData.test_subscribe
    assert bytes([0x13, 0x05, 0x01]) in writes  # gyro_bosch_register.h: BMI270 PACKED = 0x5
    assert bytes([0x03, 0x02, 0x01, 0x00]) in writes  # test_enable_acceleration_sampling
    # the BMI160 boards keep the SDK's BMI160 bytes
    for model in ("1", "5", "6"):
        r = _board(base, model)
        first = [p for _, p in r.writes("start", 200)]
        assert first[0] == bytes([0x03, 0x03, 0x29, 0x08])  # test_set_odr_and_range (BMI160)
        assert first[1] == bytes([0x13, 0x03, 0x29, 0x00])  # test_gyro_bmi160 set_odr 200 Hz
        assert bytes([0x03, 0x1C, 0x01]) in first and bytes([0x13, 0x07, 0x01]) in first


def test_metamotion_packed_vectors_decode_per_board() -> None:
    mms = _board(load_profile("mbientlab_metamotion"), "8")
    # TestBmi270HighFreqAccData.test_get_acceleration_data_g at 8 g (4096 LSB/g)
    data = bytes.fromhex("03 05 62 b7 53 0d e9 fd 16 d0 4d 0e 57 02 8a ff a1 05 0a 01")
    part = part_decoder(mms)(data)
    expected = [[-4.539, 0.833, -0.131], [-2.995, 0.894, 0.146], [-0.029, 0.352, 0.065]]
    assert part.kind == "acc"
    np.testing.assert_allclose(part.values / G, expected, atol=1e-3)
    # the same bytes under the BMI160 register (03 1c) on a BMI160 board
    r = load_profile("mbientlab_metamotion")
    part160 = part_decoder(r)(bytes([0x03, 0x1C]) + data[2:])
    np.testing.assert_allclose(part160.values / G, expected, atol=1e-3)
    # on a BMI270 board 13 05 is the PACKED gyro (20 bytes), not the BMI160 single sample
    gyro = part_decoder(mms)(bytes([0x13, 0x05]) + data[2:])
    assert gyro.kind == "gyr" and gyro.values.shape == (3, 3)
    with pytest.raises(Exception, match="unexpected module/register 03 1c"):
        part_decoder(mms)(bytes([0x03, 0x1C]) + data[2:])


def test_metamotion_bmi160_packed_gyro_vector_at_1000dps() -> None:
    import dataclasses

    base = load_profile("mbientlab_metamotion")
    r = dataclasses.replace(base, params={**base.params, "gyr_lsb_per_dps": 32.8})
    data = bytes.fromhex("13 07 09 15 ad 26 08 de 8a 1a 0d 26 65 e4 8d 20 ac 27 73 ec")
    part = part_decoder(r)(data)
    expected = [
        [164.177, 301.860, -265.122],
        [207.134, 296.982, -215.457],
        [254.055, 309.634, -152.591],
    ]
    np.testing.assert_allclose(part.values / DEG, expected, atol=2e-3)


def test_metamotion_unknown_board_model_is_refused() -> None:
    base = load_profile("mbientlab_metamotion")

    class _Client:
        address = "C0:00:00:00:00:02"
        services = SimpleNamespace(get_characteristic=lambda uuid: SimpleNamespace(uuid=uuid))

        async def read_gatt_char(self, _char: Any) -> bytearray:
            return bytearray(b"3")  # MetaHealth: not a MetaMotion

    with pytest.raises(ProfileError, match=r"MetaWear board model '3' is not supported"):
        asyncio.run(get_family("metamotion").prepare(base, _Client()))


async def test_virtual_metamotion_s_streams_bmi270_packets_through_the_link(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A virtual MetaMotion S reports model "8"; the link reads it, sends the BMI270
    writes (which the virtual board obeys) and decodes the BMI270 packed registers."""
    import hipscope.acquisition.virtual.kit as virtual_kit

    mms = _board(load_profile("mbientlab_metamotion"), "8")
    real = virtual_kit.load_profile
    monkeypatch.setattr(
        virtual_kit, "load_profile", lambda n: mms if n == "mbientlab_metamotion" else real(n)
    )
    samples = still_samples(("pelvis",), 100.0, 4.0)
    async with VirtualKit(
        placements=("pelvis",),
        profile="mbientlab_metamotion",
        rate_hz=100.0,
        samples=samples,
        start_delay_s=0.0,
    ) as env:
        device = await BleakScanner.find_device_by_name(
            env.device_names["pelvis"], timeout=2.0, backend=env.scanner_backend
        )
        assert device is not None
        batches: list[SampleBatch] = []
        start = time.monotonic()
        link = SensorLink(
            "pelvis",
            device,
            load_profile("mbientlab_metamotion"),
            on_batch=lambda _p, b, _t: batches.append(b),
            clock=lambda: time.monotonic() - start,
            rate_hz=100.0,
            backend=env.client_backend,
        )
        await link.open()
        for _ in range(100):
            if sum(len(b) for b in batches) >= 30:
                break
            await asyncio.sleep(0.02)
        await link.close()
        sensor = env.sensors["pelvis"]
    assert link.profile.variant == "bmi270"
    written = [payload for _, payload in sensor.writes]
    assert bytes([0x03, 0x03, 0xA8, 0x02]) in written  # 100 Hz, 8 g on the BMI270
    assert sum(len(b) for b in batches) >= 30 and link.dropped_packets == 0
    acc = np.concatenate([b.acc_m_s2 for b in batches])
    np.testing.assert_allclose(acc[:, 0], G, atol=0.01)


# ------------------------------------------------------------------------------- Movesense


def _movesense_data(samples: int, t_ms: int = 5000) -> tuple[bytes, np.ndarray]:
    values = np.arange(samples * 9, dtype=np.float32).reshape(3, samples, 3) * 0.25 - 3.0
    return struct.pack("<BBI", 2, 99, t_ms) + values.astype("<f4").tobytes(), values


@pytest.mark.parametrize(("rate", "samples"), [(13, 1), (26, 2), (52, 4), (104, 8)])
def test_movesense_decodes_every_offered_rate(rate: int, samples: int) -> None:
    body, values = _movesense_data(samples)
    split = 150  # the firmware's first-notification limit
    parts = [body] if len(body) <= split else [body[:split], bytes([3, 99]) + body[split:]]
    assembler = assembler_for(load_profile("movesense"), rate)
    out = [assembler.feed(p) for p in parts]
    packet = out[-1]
    assert all(o is None for o in out[:-1]) and packet is not None
    assert len(packet) == samples and assembler.dropped_samples == 0
    np.testing.assert_allclose(packet.acc_m_s2, values[0])
    np.testing.assert_allclose(packet.gyr_rad_s, values[1] * DEG, rtol=1e-6)
    assert packet.device_time_s is not None
    np.testing.assert_allclose(packet.device_time_s, 5.0 + np.arange(samples) / rate)


def test_movesense_52hz_four_sample_packet_is_not_held_back() -> None:
    body, _ = _movesense_data(4)
    assert len(body) == 150  # exactly one notification: it must decode at once
    assembler = assembler_for(load_profile("movesense"), 52)
    packet = assembler.feed(body)
    assert packet is not None and len(packet) == 4


def test_movesense_208hz_is_refused_up_front_with_the_reason(tmp_path: Path) -> None:
    with pytest.raises(ProfileError, match=r"rate 208 Hz is not supported"):
        load_profile("movesense").writes("start", 208)
    path = _edited(
        tmp_path, "movesense", "rates_hz = [13, 26, 52, 104]", "rates_hz = [13, 26, 52, 104, 208]"
    )
    text = path.read_text().replace('"104" = 8 ', '"104" = 8\n"208" = 16 ', 1)
    path.write_text(text)
    with pytest.raises(ProfileError, match=r"208 Hz sends 16 samples of 3 vectors = 582 bytes"):
        load_profile(path)


def test_movesense_encoder_splits_as_the_firmware() -> None:
    from hipscope.acquisition.virtual.encoders import encoder_for

    profile = load_profile("movesense")
    n = 8
    batch = SampleBatch(
        np.arange(n) / 104,
        np.ones((n, 3), np.float32),
        np.zeros((n, 3), np.float32),
        np.zeros((n, 3), np.float32),
    )
    packets = encoder_for(profile, 104).encode(batch, np.arange(n) / 104)
    assert [len(p) for p in packets] == [150, 146] and packets[1][:2] == bytes([3, 99])
    decoded = assembler_for(profile, 104)
    assert decoded.feed(packets[0]) is None
    out = decoded.feed(packets[1])
    assert out is not None and len(out) == n


# ------------------------------------------------------------------------------- discovery


def _match(name: str, uuids: list[str], **kwargs: Any) -> str | None:
    profile = match_profile(name, uuids, **kwargs)
    return None if profile is None else profile.id


def test_discovery_matches_as_each_vendor_does() -> None:
    # Thingy:52 advertises its configuration service, not the motion service
    assert _match("", [THINGY_CONFIG]) == "nordic_thingy52"
    # a renamed DOT is still recognised by Xsens' company ID 0x0886
    assert _match("Left knee", [], manufacturer_data={0x0886: b"\x01"}) == "movella_dot"
    assert _match("Xsens DOT", []) == "movella_dot"
    # WitMotion's SDK finds its devices by the "WT" name prefix
    assert _match("WT901BLE67", []) == "witmotion_wt901ble"
    assert _match("WT5500006543", []) == "witmotion_wt901ble"
    # an advertised service or company ID beats a misleading name
    assert _match("WT-thing", [THINGY_CONFIG]) == "nordic_thingy52"
    assert _match("Thingy", [], manufacturer_data={0x0886: b""}) == "movella_dot"
    assert _match("renamed", [], manufacturer_data={0x0059: b""}) is None


async def test_virtual_dot_advertises_the_company_id_and_thingy_its_config_service() -> None:
    placements = ("pelvis", "trunk")
    async with VirtualKit(
        placements=placements,
        profile={"pelvis": "movella_dot", "trunk": "nordic_thingy52"},
        rate_hz={"pelvis": 60.0, "trunk": 50.0},
        samples=still_samples(placements, 60.0, 2.0),
        start_delay_s=0.0,
    ) as env:
        found = await BleakScanner.discover(
            timeout=0.3, return_adv=True, backend=env.scanner_backend
        )
    by_name = {adv.local_name: adv for _, adv in found.values()}
    dot = by_name[env.device_names["pelvis"]]
    assert 0x0886 in dot.manufacturer_data
    assert _match("renamed", [], manufacturer_data=dot.manufacturer_data) == "movella_dot"
    thingy = by_name[env.device_names["trunk"]]
    assert "ef680100-9b35-4933-9b10-52ffa9740042" in thingy.service_uuids
    assert _match("renamed", thingy.service_uuids) == "nordic_thingy52"


def test_decoders_of_every_family_roundtrip_their_encoders() -> None:
    from hipscope.acquisition.virtual.encoders import encoder_for

    for name in (
        "hipscope_open",
        "movella_dot",
        "witmotion_wt901ble",
        "nordic_thingy52",
        "movesense",
        "mbientlab_metamotion",
    ):
        profile = load_profile(name)
        rate = profile.default_rate_hz
        n = 24
        acc = np.tile([0.5, -9.7, 1.25], (n, 1)).astype(np.float32)
        gyr = np.tile([0.1, -0.2, 0.3], (n, 1)).astype(np.float32)
        mag = np.tile([20.0, -5.0, 40.0], (n, 1)).astype(np.float32)
        batch = SampleBatch(np.arange(n) / rate, acc, gyr, mag, np.arange(n, dtype=np.uint32))
        packets = encoder_for(profile, rate).encode(batch, 10.0 + np.arange(n) / rate)
        assembler = assembler_for(profile, rate)
        out = [p for p in (assembler.feed(x) for x in packets) if p is not None]
        got_acc = np.concatenate([p.acc_m_s2 for p in out])
        got_gyr = np.concatenate([p.gyr_rad_s for p in out])
        assert len(got_acc) == n, name
        np.testing.assert_allclose(got_acc, acc, atol=0.01, err_msg=name)
        np.testing.assert_allclose(got_gyr, gyr, atol=0.002, err_msg=name)
    assert decoder_for(load_profile("nordic_thingy52"))  # a plain-table family decodes alone
