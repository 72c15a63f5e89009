"""A new sensor family is one class in the registry plus its profile: no other file changes."""

from __future__ import annotations

import struct
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
from pydantic import BaseModel, ConfigDict, Field

from hipscope.acquisition import families
from hipscope.acquisition.decoders import assembler_for, decoder_for
from hipscope.acquisition.families import DecodedPacket, SensorFamily, get_family, register
from hipscope.acquisition.profiles import SensorProfile, load_profile
from hipscope.base.errors import DecodeError, ProfileError

TOY_PROFILE = """
id = "toy_imu"
name = "Toy IMU"
family = "toy_counter"
name_prefixes = ["TOY"]
service_uuid = "0000feed-0000-1000-8000-00805f9b34fb"
has_mag = false
rates_hz = [50]
default_rate_hz = 50
[characteristics]
data = "0000fee1-0000-1000-8000-00805f9b34fb"
[timing]
device_time = false
counter = true
counter_bits = 8
[params]
acc_lsb_per_m_s2 = 100.0
[layout]
header_size = 2
sample_size = 12
[layout.sample.acc]
offset = 0
dtype = "<i2"
count = 3
scale = 0.01
unit = "m/s2"
[layout.sample.gyr]
offset = 6
dtype = "<i2"
count = 3
scale = 0.001
unit = "rad/s"
"""


class ToyParams(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)

    acc_lsb_per_m_s2: float = Field(gt=0)


def _toy_family() -> type[SensorFamily]:
    class ToyCounterFamily(SensorFamily):
        """Packets ``[counter u8, n u8, n x (acc i16 x3, gyr i16 x3)]``."""

        name = "toy_counter"
        params_model = ToyParams

        def decoder(
            self, profile: SensorProfile, rate_hz: float
        ) -> Callable[[bytes], DecodedPacket]:
            params = self.params(profile)

            def decode(buf: bytes) -> DecodedPacket:
                counter, n = buf[0], buf[1]
                if len(buf) != 2 + 12 * n or n == 0:
                    raise DecodeError(f"toy: {len(buf)} bytes for {n} samples")
                raw = np.frombuffer(buf, "<i2", offset=2).reshape(n, 6).astype(np.float64)
                acc = (raw[:, :3] / params.acc_lsb_per_m_s2).astype(np.float32)
                gyr = (raw[:, 3:] * 0.001).astype(np.float32)
                seq = ((counter + np.arange(n)) % 256).astype(np.uint32)
                return DecodedPacket(acc, gyr, None, None, seq)

            return decode

    return ToyCounterFamily


def test_a_toy_family_registers_and_decodes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    families.registered_families()  # the built-ins first, so the copy holds them
    monkeypatch.setattr(families, "_REGISTRY", dict(families._REGISTRY))
    path = tmp_path / "toy_imu.toml"
    path.write_text(TOY_PROFILE)
    with pytest.raises(
        ProfileError, match=r"toy_imu.toml: family: expected one of .*'toy_counter'"
    ):
        load_profile(path)
    register(_toy_family())
    assert get_family("toy_counter").name == "toy_counter"
    profile = load_profile(path)
    packet = struct.pack("<BB6h6h", 254, 2, 981, 0, -5, 10, 0, 0, 0, 981, 0, 0, -20, 0)
    decoded = decoder_for(profile)(packet)
    np.testing.assert_allclose(decoded.acc_m_s2, [[9.81, 0, -0.05], [0, 9.81, 0]], rtol=1e-6)
    np.testing.assert_allclose(decoded.gyr_rad_s, [[0.01, 0, 0], [0, -0.02, 0]], rtol=1e-6)
    assert decoded.seq is not None and decoded.seq.tolist() == [254, 255]
    assert len(assembler_for(profile).feed(packet) or ()) == 2  # the default assembler
    with pytest.raises(DecodeError, match="toy: 5 bytes"):
        decoder_for(profile)(packet[:5])
    # the family validates its own params, naming the file and the key
    bad = tmp_path / "toy_bad.toml"
    bad.write_text(TOY_PROFILE.replace("acc_lsb_per_m_s2 = 100.0", "acc_lsb_per_m_s2 = -1.0"))
    with pytest.raises(ProfileError, match=r"toy_bad.toml: params.acc_lsb_per_m_s2: input"):
        load_profile(bad)


def test_every_builtin_profile_names_a_registered_family() -> None:
    names = set(families.registered_families())
    assert {"layout", "hipscope_open", "movella_dot", "witmotion", "metamotion"} <= names
    assert {"movesense", "thingy52"} <= names
    for pid in (
        "hipscope_open",
        "movella_dot",
        "witmotion_wt901ble",
        "mbientlab_metamotion",
        "movesense",
        "nordic_thingy52",
    ):
        assert load_profile(pid).family in names
