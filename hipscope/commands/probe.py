"""`hipscope probe ADDRESS`: look inside one sensor before trusting it.

For a person holding a new or unfamiliar sensor: connect, list its GATT table, subscribe as
the profile says, print raw notifications in hex beside what hipscope decodes from them,
then measure what matters — rate against the nominal rate, counter gaps, device clock
against the host clock, and whether the readings are plausible at rest (|acc| ≈ 9.81 m/s²,
gyro ≈ 0) or, with ``--turn``, whether a 90° turn integrates to 90° about one axis. The
last line is a verdict. ``--virtual`` probes a virtual sensor of the profile (tests use it).

Everything that comes from the device or a file is printed as plain text, never as markup,
with control characters shown as escapes. docs/HARDWARE_CHECK.md uses this output.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Annotated, Any

import numpy as np
import typer

from hipscope.base.errors import HipscopeError

if TYPE_CHECKING:
    from hipscope.acquisition.profiles import SensorProfile

G = 9.80665
ACC_TOLERANCE_M_S2 = 0.5
ACC_NOISE_MAX_M_S2 = 0.3
GYRO_BIAS_MAX_RAD_S = 0.05
RATE_TOLERANCE = 0.05
CLOCK_TOLERANCE = 0.01
TURN_DEG = 90.0
TURN_TOLERANCE_DEG = 10.0
OFF_AXIS_MAX_DEG = 15.0
ARRIVAL_JITTER_S = 0.05
"""Host arrival jitter allowed for in the rate and clock checks of short captures."""


def plain(value: object) -> str:
    """Text from a device or a file, safe for a terminal: control characters escaped."""
    text = str(value)
    return "".join(
        ch if ch.isprintable() else ch.encode("unicode_escape").decode("ascii") for ch in text
    )


@dataclass
class Capture:
    """What arrived during the probe: raw notifications and the decoded samples."""

    raw: list[tuple[float, bytes]] = field(default_factory=list)
    packets: list[tuple[float, Any]] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    disconnected_at_s: float | None = None


@dataclass
class Check:
    name: str
    ok: bool | None  # None: not applicable to this family
    detail: str

    def __post_init__(self) -> None:
        if self.ok is not None:
            self.ok = bool(self.ok)  # numpy booleans are not `False`


@dataclass
class ProbeReport:
    """The measured numbers and the checks behind the verdict."""

    profile_id: str
    nominal_rate_hz: float
    notifications: int = 0
    samples: int = 0
    decode_errors: int = 0
    measured_rate_hz: float = 0.0
    counter_gaps: int | None = None
    lost_samples: int | None = None
    clock_ratio: float | None = None
    clock_drift_ppm: float | None = None
    acc_mean_m_s2: tuple[float, float, float] = (0.0, 0.0, 0.0)
    acc_norm_m_s2: float = 0.0
    acc_noise_m_s2: float = 0.0
    gyr_mean_rad_s: tuple[float, float, float] = (0.0, 0.0, 0.0)
    turn_deg: tuple[float, float, float] = (0.0, 0.0, 0.0)
    gravity_axis: str = ""
    checks: list[Check] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return bool(self.checks) and all(c.ok is not False for c in self.checks)

    def verdict(self) -> str:
        failed = [c.name for c in self.checks if c.ok is False]
        if not self.checks:
            return "VERDICT: FAIL - no samples decoded"
        if failed:
            return f"VERDICT: FAIL - {', '.join(failed)}"
        return (
            f"VERDICT: PASS - {self.profile_id} at {self.nominal_rate_hz:g} Hz behaves as specified"
        )


def analyse(
    capture: Capture, profile: SensorProfile, rate_hz: float, *, turn: bool = False
) -> ProbeReport:
    """Rate, gaps, clock and plausibility from a capture (no I/O)."""
    report = ProbeReport(profile.id, rate_hz)
    report.notifications = len(capture.raw)
    report.decode_errors = len(capture.errors)
    if not capture.packets:
        return report
    sizes = np.array([len(p) for _, p in capture.packets])
    arrivals = np.array([t for t, _ in capture.packets])
    report.samples = int(sizes.sum())
    span_s = float(arrivals[-1] - arrivals[0])
    if span_s > 0:
        report.measured_rate_hz = float((sizes.sum() - sizes[0]) / span_s)
    acc = np.concatenate([np.asarray(p.acc_m_s2, np.float64) for _, p in capture.packets])
    gyr = np.concatenate([np.asarray(p.gyr_rad_s, np.float64) for _, p in capture.packets])
    mean_acc = acc.mean(axis=0)
    report.acc_mean_m_s2 = (float(mean_acc[0]), float(mean_acc[1]), float(mean_acc[2]))
    norms = np.linalg.norm(acc, axis=1)
    report.acc_norm_m_s2 = float(norms.mean())
    report.acc_noise_m_s2 = float(norms.std())
    mean_gyr = gyr.mean(axis=0)
    report.gyr_mean_rad_s = (float(mean_gyr[0]), float(mean_gyr[1]), float(mean_gyr[2]))
    turned = np.degrees(gyr.sum(axis=0) / rate_hz)
    report.turn_deg = (float(turned[0]), float(turned[1]), float(turned[2]))
    axis = int(np.argmax(np.abs(mean_acc)))
    report.gravity_axis = f"{'+' if mean_acc[axis] >= 0 else '-'}{'xyz'[axis]}"
    checks = report.checks
    checks.append(
        Check(
            "decoding",
            report.decode_errors == 0,
            f"{report.decode_errors} of {report.notifications} notifications did not decode",
        )
    )
    if span_s > 0:
        error = report.measured_rate_hz / rate_hz - 1.0
        limit = max(RATE_TOLERANCE, ARRIVAL_JITTER_S / span_s)
        checks.append(
            Check(
                "rate",
                abs(error) <= limit,
                f"measured {report.measured_rate_hz:.2f} Hz vs nominal {rate_hz:g} Hz "
                f"({error * 100:+.1f} %, limit ±{limit * 100:.3g} %)",
            )
        )
    seqs = [p.seq for _, p in capture.packets if p.seq is not None]
    if profile.timing.counter and seqs:
        seq = np.concatenate(seqs).astype(np.int64)
        step = np.diff(seq) % (1 << profile.timing.counter_bits)
        report.counter_gaps = int(np.count_nonzero(step != 1))
        report.lost_samples = int(np.clip(step - 1, 0, None).sum())
        checks.append(
            Check(
                "counter",
                report.counter_gaps == 0,
                f"{report.counter_gaps} gap(s), {report.lost_samples} sample(s) lost",
            )
        )
    else:
        checks.append(Check("counter", None, "the family sends no sample counter"))
    times = [(t, p.device_time_s[0]) for t, p in capture.packets if p.device_time_s is not None]
    wrap_s = profile.timing.time_wrap_s
    if len(times) >= 3 and wrap_s:
        host = np.array([t for t, _ in times])
        device = np.unwrap(np.array([d for _, d in times]), period=wrap_s)
        slope = float(np.polyfit(host - host[0], device - device[0], 1)[0])
        report.clock_ratio = slope
        report.clock_drift_ppm = (slope - 1.0) * 1e6
        host_span_s = float(host[-1] - host[0])
        limit = max(CLOCK_TOLERANCE, ARRIVAL_JITTER_S / max(host_span_s, 1e-9))
        checks.append(
            Check(
                "clock",
                abs(slope - 1.0) <= limit,
                f"device clock runs {slope:.5f} x host ({report.clock_drift_ppm:+.0f} ppm over "
                f"{host_span_s:.1f} s; limit ±{limit * 100:.3g} %)",
            )
        )
    else:
        checks.append(Check("clock", None, "the family sends no device timestamp"))
    if turn:
        big = int(np.argmax(np.abs(turned)))
        others = [abs(turned[i]) for i in range(3) if i != big]
        checks.append(
            Check(
                "turn",
                abs(abs(turned[big]) - TURN_DEG) <= TURN_TOLERANCE_DEG
                and max(others) <= OFF_AXIS_MAX_DEG,
                f"integrated {turned[big]:+.1f} deg about {'xyz'[big]} (expected ±{TURN_DEG:g} "
                f"± {TURN_TOLERANCE_DEG:g}), others {max(others):.1f} deg",
            )
        )
    else:
        checks.append(
            Check(
                "gravity",
                abs(report.acc_norm_m_s2 - G) <= ACC_TOLERANCE_M_S2,
                f"|acc| {report.acc_norm_m_s2:.3f} m/s² (expected {G:.2f} ± "
                f"{ACC_TOLERANCE_M_S2:g}), along {report.gravity_axis}",
            )
        )
        checks.append(
            Check(
                "stillness",
                report.acc_noise_m_s2 <= ACC_NOISE_MAX_M_S2,
                f"|acc| varies by {report.acc_noise_m_s2:.3f} m/s² (limit {ACC_NOISE_MAX_M_S2:g})",
            )
        )
        bias = float(np.linalg.norm(mean_gyr))
        checks.append(
            Check(
                "gyro at rest",
                bias <= GYRO_BIAS_MAX_RAD_S,
                f"|gyro| {bias:.4f} rad/s = {np.degrees(bias):.2f} deg/s "
                f"(limit {np.degrees(GYRO_BIAS_MAX_RAD_S):.1f} deg/s)",
            )
        )
    return report


def _hex(data: bytes, limit: int = 48) -> str:
    text = data[:limit].hex(" ")
    return text + (f" … (+{len(data) - limit} bytes)" if len(data) > limit else "")


async def _find(target: str, backend: Any, timeout_s: float) -> tuple[Any, Any]:
    from bleak import BleakScanner

    found: asyncio.Future[tuple[Any, Any]] = asyncio.get_running_loop().create_future()
    wanted = target.strip()

    def on_detect(device: Any, adv: Any) -> None:
        name = adv.local_name or device.name or ""
        if not found.done() and (device.address.upper() == wanted.upper() or name == wanted):
            found.set_result((device, adv))

    async with BleakScanner(detection_callback=on_detect, backend=backend):
        try:
            return await asyncio.wait_for(found, timeout_s)
        except TimeoutError:
            raise HipscopeError(
                f"{plain(target)}: not found within {timeout_s:g} s (is it on and advertising?)"
            ) from None


async def _probe(
    target: str,
    profile_name: str | None,
    duration_s: float,
    rate_hz: float | None,
    *,
    turn: bool,
    show: int,
    scanner_backend: Any,
    client_backend: Any,
    echo: Any,
) -> ProbeReport:
    from bleak import BleakClient
    from bleak.exc import BleakError

    from hipscope.acquisition.decoders import assembler_for
    from hipscope.acquisition.families import family_of
    from hipscope.acquisition.profiles import load_profile, match_profile
    from hipscope.base.errors import DecodeError

    device, adv = await _find(target, scanner_backend, timeout_s=10.0)
    name = adv.local_name or device.name or ""
    echo(f"device        {plain(name) or '-'}  {plain(device.address)}  RSSI {adv.rssi} dBm")
    echo(f"advertises    services {', '.join(plain(u) for u in adv.service_uuids) or '-'}")
    for company, data in sorted(adv.manufacturer_data.items()):
        echo(f"              manufacturer 0x{company:04x}: {_hex(bytes(data))}")
    if profile_name is not None:
        profile = load_profile(profile_name)
    else:
        matched = match_profile(name, adv.service_uuids, manufacturer_data=adv.manufacturer_data)
        if matched is None:
            raise HipscopeError(
                f"{plain(name or device.address)}: no profile recognises this advertisement; "
                "give --profile NAME"
            )
        profile = matched
        echo(f"recognised as {profile.id} ({plain(profile.name)})")
    rate = profile.default_rate_hz if rate_hz is None else float(rate_hz)
    if rate not in profile.rates_hz:
        offered = ", ".join(f"{r:g}" for r in profile.rates_hz)
        raise HipscopeError(f"--rate {rate:g}: {profile.id} offers {offered} Hz")
    capture = Capture()
    start = time.monotonic()

    def on_disconnect(_client: Any) -> None:
        if capture.disconnected_at_s is None:
            capture.disconnected_at_s = time.monotonic() - start

    client = BleakClient(
        device, backend=client_backend, timeout=10.0, disconnected_callback=on_disconnect
    )
    try:
        await client.connect()
    except (BleakError, TimeoutError, OSError) as error:
        raise HipscopeError(f"{plain(device.address)}: cannot connect ({plain(error)})") from None
    try:
        echo(f"connected     MTU {client.mtu_size}")
        echo("GATT table")
        for service in client.services:
            echo(f"  service {plain(service.uuid)}  {plain(service.description)}")
            for char in service.characteristics:
                props = ",".join(plain(p) for p in char.properties)
                echo(f"    char {plain(char.uuid)}  [{props}]  {plain(char.description)}")
        family = family_of(profile)
        profile = await family.prepare(profile, client)
        if profile.variant:
            echo(f"variant       {profile.variant} (chosen from what the device reported)")
        assembler = assembler_for(profile, rate)

        def on_notify(_char: Any, data: bytearray) -> None:
            now = time.monotonic() - start
            raw = bytes(data)
            capture.raw.append((now, raw))
            try:
                packet = assembler.feed(raw)
            except DecodeError as error:
                capture.errors.append(str(error))
                decoded = f"DECODE ERROR: {plain(error)}"
            else:
                if packet is None:
                    decoded = "(first part; waiting for the rest)"
                else:
                    capture.packets.append((now, packet))
                    a, g = packet.acc_m_s2[0], packet.gyr_rad_s[0]
                    decoded = (
                        f"{len(packet)} sample(s); acc {a[0]:+.3f} {a[1]:+.3f} {a[2]:+.3f} m/s²"
                        f"  gyr {g[0]:+.4f} {g[1]:+.4f} {g[2]:+.4f} rad/s"
                    )
            if len(capture.raw) <= show:
                echo(f"  {now * 1000:8.1f} ms  {len(raw):3d} B  {_hex(raw)}")
                echo(f"  {'':8}     ->  {decoded}")

        for step in profile.write_steps("set_rate", rate):
            echo(f"write         {step.char_uuid}  {step.payload.hex(' ')}")
            await _write(client, step.char_uuid, step.payload)
            if step.wait_s:
                await asyncio.sleep(step.wait_s)
        await client.start_notify(profile.data_uuid, on_notify)
        for step in profile.write_steps("start", rate):
            echo(f"write         {step.char_uuid}  {step.payload.hex(' ')}")
            await _write(client, step.char_uuid, step.payload)
            if step.wait_s:
                await asyncio.sleep(step.wait_s)
        echo(f"raw notifications (first {show}) and what they decode to:")
        await asyncio.sleep(duration_s)
        if client.is_connected:
            with contextlib.suppress(BleakError, HipscopeError, TimeoutError, OSError):
                for step in profile.write_steps("stop"):
                    await _write(client, step.char_uuid, step.payload)
                await client.stop_notify(profile.data_uuid)
    except (BleakError, TimeoutError, OSError) as error:
        raise HipscopeError(f"{plain(device.address)}: link failed ({plain(error)})") from None
    finally:
        with contextlib.suppress(BleakError, TimeoutError, OSError):
            await client.disconnect()
    report = analyse(capture, profile, rate, turn=turn)
    if capture.disconnected_at_s is not None:
        report.checks.append(
            Check("link", False, f"the device disconnected {capture.disconnected_at_s:.1f} s in")
        )
    return report


async def _write(client: Any, uuid: str, payload: bytes) -> None:
    char = client.services.get_characteristic(uuid)
    if char is None:
        raise HipscopeError(f"the device has no characteristic {uuid} (wrong --profile?)")
    await client.write_gatt_char(char, payload, response="write" in char.properties)


def _virtual_options(target: str, profile: str) -> dict[str, Any]:
    from bumble import hci

    try:
        address = hci.Address(target.strip().upper(), hci.Address.RANDOM_DEVICE_ADDRESS)
        if address.address_bytes[5] >= 0xC0:
            return {"addresses": {"pelvis": target}}
    except Exception:  # not an address: the virtual sensor takes it as its name
        pass
    return {"names": {"pelvis": target}}


async def _run(
    target: str,
    profile: str | None,
    duration_s: float,
    rate_hz: float | None,
    *,
    virtual: bool,
    turn: bool,
    show: int,
    echo: Any,
) -> ProbeReport:
    if not virtual:
        return await _probe(
            target,
            profile,
            duration_s,
            rate_hz,
            turn=turn,
            show=show,
            scanner_backend=None,
            client_backend=None,
            echo=echo,
        )
    from hipscope.acquisition.profiles import load_profile
    from hipscope.acquisition.virtual.kit import VirtualKit, still_samples

    name = profile or "hipscope_open"
    # The virtual sensor powers up at its default rate, like a real one: the probe's
    # rate writes must switch it.
    rate = load_profile(name).default_rate_hz
    async with VirtualKit(
        placements=("pelvis",),
        profile=name,
        rate_hz=rate,
        samples=still_samples(("pelvis",), rate, max(4.0, duration_s + 2.0)),
        start_delay_s=0.0,
        **_virtual_options(target, name),
    ) as env:
        return await _probe(
            target,
            profile,
            duration_s,
            rate_hz,
            turn=turn,
            show=show,
            scanner_backend=env.scanner_backend,
            client_backend=env.client_backend,
            echo=echo,
        )


def print_report(report: ProbeReport, echo: Any) -> None:
    ax, ay, az = report.acc_mean_m_s2
    gx, gy, gz = report.gyr_mean_rad_s
    tx, ty, tz = report.turn_deg
    echo("summary")
    echo(
        f"  notifications {report.notifications}, samples {report.samples}, "
        f"decode errors {report.decode_errors}"
    )
    echo(
        f"  rate          measured {report.measured_rate_hz:.2f} Hz, nominal "
        f"{report.nominal_rate_hz:g} Hz"
    )
    if report.counter_gaps is not None:
        echo(f"  counter       {report.counter_gaps} gap(s), {report.lost_samples} lost")
    if report.clock_drift_ppm is not None:
        echo(f"  device clock  {report.clock_drift_ppm:+.0f} ppm against the host")
    echo(
        f"  acc mean      {ax:+.3f} {ay:+.3f} {az:+.3f} m/s²  |acc| {report.acc_norm_m_s2:.3f}"
        f"  gravity along {report.gravity_axis}"
    )
    echo(f"  gyro mean     {gx:+.4f} {gy:+.4f} {gz:+.4f} rad/s")
    echo(f"  turned        x {tx:+.1f}  y {ty:+.1f}  z {tz:+.1f} deg (integrated gyro)")
    echo("checks")
    for check in report.checks:
        state = {True: "ok  ", False: "FAIL", None: "n/a "}[check.ok]
        echo(f"  {state} {check.name:<13} {check.detail}")
    echo(report.verdict())


def register(app: typer.Typer) -> None:
    @app.command()
    def probe(
        address: Annotated[
            str, typer.Argument(help="Bluetooth address or advertised name of the sensor.")
        ],
        profile: Annotated[
            str | None,
            typer.Option(
                "--profile", help="Profile name (default: recognised from the advertisement)."
            ),
        ] = None,
        duration: Annotated[
            float, typer.Option("--duration", min=0.5, max=600.0, help="Seconds to capture.")
        ] = 10.0,
        rate: Annotated[
            float | None,
            typer.Option("--rate", help="Rate to request (default: the profile's default)."),
        ] = None,
        turn: Annotated[
            bool,
            typer.Option("--turn", help="Check a 90° turn about one axis instead of stillness."),
        ] = False,
        show: Annotated[
            int, typer.Option("--show", min=0, help="Raw notifications to print.")
        ] = 12,
        virtual: Annotated[
            bool, typer.Option("--virtual", help="Probe a virtual sensor of the profile.")
        ] = False,
    ) -> None:
        """Connect one sensor, show its raw packets beside the decoded samples, measure rate,
        gaps and clock, and check plausibility; ends with a verdict line."""
        echo = typer.echo
        if turn:
            echo(
                f"Turn the sensor by 90° about ONE of its axes during the {duration:g} s "
                "capture, then hold it still."
            )
        else:
            echo(f"Hold the sensor still on a flat surface for the {duration:g} s capture.")
        report = asyncio.run(
            _run(address, profile, duration, rate, virtual=virtual, turn=turn, show=show, echo=echo)
        )
        print_report(report, echo)
        if not report.passed:
            raise typer.Exit(1)
