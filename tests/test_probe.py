"""`hipscope probe` on virtual sensors, and its checks on captures with known faults."""

from __future__ import annotations

import asyncio

import numpy as np
import pytest

from hipscope.acquisition.decoders import DecodedPacket
from hipscope.acquisition.profiles import load_profile
from hipscope.cli import main
from hipscope.commands.probe import Capture, analyse, plain

G = 9.80665


@pytest.mark.parametrize("profile", ["movella_dot", "mbientlab_metamotion"])
def test_probe_on_a_virtual_sensor_ends_with_a_verdict(
    profile: str, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(
        ["probe", "PROBE-ME", "--virtual", "--profile", profile, "--duration", "1", "--show", "3"]
    )
    out = capsys.readouterr().out
    lines = out.strip().splitlines()
    assert code == 0, out
    assert lines[-1].startswith(f"VERDICT: PASS - {profile}")
    assert "Hold the sensor still" in lines[0]
    assert "GATT table" in out and "[read,notify]" in out  # characteristics with properties
    hex_lines = [line for line in lines if " B  " in line]
    assert len(hex_lines) == 3  # raw packets in hex ...
    assert out.count("->  ") == 3  # ... each beside what it decodes to
    assert "ok   rate" in out and "ok   gravity" in out and "ok   gyro at rest" in out


def test_probe_switches_a_virtual_witmotion_to_200hz(capsys: pytest.CaptureFixture[str]) -> None:
    # the virtual sensor starts at 50 Hz and obeys only the vendor's code for 200 Hz (0x0b)
    code = main(
        [
            "probe",
            "WT901BLE-TEST",
            "--virtual",
            "--profile",
            "witmotion_wt901ble",
            "--rate",
            "200",
            "--duration",
            "1.5",
            "--show",
            "0",
        ]
    )
    out = capsys.readouterr().out
    assert code == 0, out
    assert "ff aa 03 0b 00" in out
    rate_line = next(line for line in out.splitlines() if "ok   rate" in line)
    assert "nominal 200 Hz" in rate_line


def test_device_text_is_printed_plainly(capsys: pytest.CaptureFixture[str]) -> None:
    name = "[link=javascript:alert(1)]x[/link] [/]"
    code = main(["probe", name, "--virtual", "--duration", "1", "--show", "0"])
    out = capsys.readouterr().out
    assert code == 0
    assert f"device        {name}" in out  # verbatim, not interpreted
    assert plain("a\x1b]0;title\x07b") == "a\\x1b]0;title\\x07b"


def _packets(
    rate_hz: float,
    n: int,
    acc: tuple[float, float, float] = (0.0, 0.0, G),
    *,
    time_scale: float = 1.0,
    with_seq: bool = False,
    skip: int = -1,
) -> Capture:
    capture = Capture()
    for k in range(n):
        if k == skip:
            continue
        t = k / rate_hz
        capture.raw.append((t, b"x"))
        capture.packets.append(
            (
                t,
                DecodedPacket(
                    np.array([acc], np.float32),
                    np.zeros((1, 3), np.float32),
                    device_time_s=np.array([t * time_scale + 100.0]),
                    seq=np.array([k], np.uint32) if with_seq else None,
                ),
            )
        )
    return capture


def test_checks_catch_the_faults_they_are_for() -> None:
    wit = load_profile("witmotion_wt901ble")
    # the old WitMotion fault: asked for 200 Hz, the device streams 125 Hz
    report = analyse(_packets(125.0, 250), wit, 200.0)
    assert not report.passed and "rate" in report.verdict()
    assert report.measured_rate_hz == pytest.approx(125.0, rel=1e-6)
    # a scale error (a range code the decoder did not expect): |acc| is 4 g at rest
    report = analyse(_packets(50.0, 100, (0.0, 0.0, 4 * G)), wit, 50.0)
    assert not report.passed and "gravity" in report.verdict()
    # counter gaps and a device clock in the wrong unit
    dot = load_profile("movella_dot")
    report = analyse(_packets(60.0, 120, time_scale=1000.0), dot, 60.0)
    assert not report.passed and "clock" in report.verdict()
    assert report.clock_ratio == pytest.approx(1000.0, rel=1e-6)
    open_profile = load_profile("hipscope_open")
    report = analyse(_packets(100.0, 200, with_seq=True, skip=50), open_profile, 100.0)
    assert report.counter_gaps == 1 and report.lost_samples == 1
    assert "counter" in report.verdict()
    # a clean capture passes, with gravity on -y named
    report = analyse(_packets(100.0, 200, (0.0, -G, 0.0), with_seq=True), open_profile, 100.0)
    assert report.passed and report.gravity_axis == "-y"


def test_turn_check_integrates_the_gyro() -> None:
    profile = load_profile("witmotion_wt901ble")
    rate = 50.0
    capture = Capture()
    omega = np.radians(90.0)  # 90 deg over one second about z
    for k in range(100):
        gyr = [0.0, 0.0, omega if k < 50 else 0.0]
        gyr[2] *= 2.0
        capture.raw.append((k / rate, b"x"))
        capture.packets.append(
            (
                k / rate,
                DecodedPacket(np.array([[0.0, 0.0, G]], np.float32), np.array([gyr], np.float32)),
            )
        )
    report = analyse(capture, profile, rate, turn=True)
    assert report.turn_deg[2] == pytest.approx(180.0, rel=1e-3)
    assert not report.passed  # 180 deg is not the requested 90 deg turn
    half = Capture(
        capture.raw, [(t, DecodedPacket(p.acc_m_s2, p.gyr_rad_s / 2)) for t, p in capture.packets]
    )
    assert analyse(half, profile, rate, turn=True).passed


async def test_probe_reports_a_device_that_disconnects() -> None:
    from hipscope.acquisition.virtual.kit import VirtualKit, still_samples
    from hipscope.commands.probe import _probe

    lines: list[str] = []
    async with VirtualKit(
        placements=("pelvis",),
        profile="hipscope_open",
        rate_hz=100.0,
        samples=still_samples(("pelvis",), 100.0, 4.0),
        start_delay_s=0.0,
    ) as env:
        sensor = env.sensors["pelvis"]

        async def drop_the_link() -> None:
            while sensor.connection is None or not sensor.listening:
                await asyncio.sleep(0.02)
            await asyncio.sleep(0.3)
            await sensor.connection.disconnect()

        dropper = asyncio.create_task(drop_the_link())
        report = await _probe(
            env.device_names["pelvis"],
            None,
            1.5,
            None,
            turn=False,
            show=0,
            scanner_backend=env.scanner_backend,
            client_backend=env.client_backend,
            echo=lines.append,
        )
        await dropper
    assert "recognised as hipscope_open" in "\n".join(lines)
    assert not report.passed and "link" in report.verdict()
    assert 10 < report.samples < 100  # what arrived before the drop is still analysed
