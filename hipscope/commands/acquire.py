"""`hipscope scan` (who is advertising) and `hipscope record` (stream a kit to a recording)."""

from __future__ import annotations

import math
import signal
import time
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from hipscope.base.errors import HipscopeError
from hipscope.base.text import terminal_text

if TYPE_CHECKING:
    from hipscope.acquisition.runner import LiveAcquisition

# The guided screen for real sensors: (kind, side, prompt, seconds).
GUIDED_SCREEN: tuple[tuple[str, str, str, float], ...] = (
    ("static", "", "Stand still, feet hip-width apart, arms relaxed", 5.0),
    ("single_leg_stance", "left", "Stand on the LEFT leg, hands on hips", 20.0),
    ("single_leg_stance", "right", "Stand on the RIGHT leg, hands on hips", 20.0),
    ("hip_hinge", "", "Hip hinge: 5 slow repetitions", 25.0),
    ("gait", "", "Walk at your usual pace", 30.0),
)


def _scan(virtual: bool, timeout_s: float) -> list[tuple[str, str, str, int]]:
    import asyncio

    from hipscope.acquisition.profiles import match_profile
    from hipscope.acquisition.session import scan

    async def run() -> list[tuple[str, str, str, int]]:
        if virtual:
            from hipscope.acquisition.virtual.kit import VirtualKit, still_samples

            async with VirtualKit(samples=still_samples()) as env:
                found = await scan(timeout_s=timeout_s, backend=env.scanner_backend)
        else:
            found = await scan(timeout_s=timeout_s)
        rows = []
        for device, adv in found:
            name = adv.local_name or device.name or ""
            profile = match_profile(
                name, adv.service_uuids, manufacturer_data=adv.manufacturer_data
            )
            rows.append(
                (
                    terminal_text(name),
                    terminal_text(device.address),
                    profile.id if profile else "",
                    adv.rssi,
                )
            )
        return sorted(rows, key=lambda row: (-row[3], row[0]))

    try:
        return asyncio.run(run())
    except HipscopeError:
        raise
    except Exception as error:  # bleak without an adapter, BlueZ off, ...
        raise HipscopeError(
            f"Bluetooth scan failed ({error}); is there an adapter and is BlueZ running? "
            "Try --virtual for the virtual kit"
        ) from error


def _status_table(live: LiveAcquisition, title: str) -> Any:
    from rich.table import Table

    table = Table(title=title, title_justify="left")
    columns = ("sensor", "link", "Hz", "samples", "lost", "bad", "rec.", "skew ms", "lag ms", "dBm")
    for column in columns:
        table.add_column(
            column,
            justify="left" if column in ("sensor", "link") else "right",
            no_wrap=column == "sensor",
        )
    for placement, st in live.status().items():
        if live.finished:
            link = "[dim]closed[/]"
        else:
            link = "[green]ok[/]" if st.connected else "[red]lost[/]"
        table.add_row(
            terminal_text(placement),
            link,
            f"{st.rate_hz:.1f}",
            str(st.samples),
            str(st.lost_samples),
            str(st.dropped_packets),
            str(st.reconnects),
            _ms(getattr(st, "skew_ms", math.nan), signed=True),
            _ms(getattr(st, "latency_ms", math.nan)),
            _dbm(getattr(st, "rssi_dbm", None)),
        )
    return table


def _dbm(value: object) -> str:
    return "-" if value is None else str(value)


def _ms(value: float, *, signed: bool = False) -> str:
    if not math.isfinite(value):
        return "-"
    return f"{round(value):+d}" if signed else f"{value:.0f}"  # never "-0"


def register(app: typer.Typer) -> None:
    @app.command()
    def scan(
        virtual: Annotated[
            bool, typer.Option("--virtual", help="Scan the virtual kit instead of the radio.")
        ] = False,
        timeout: Annotated[
            float, typer.Option("--timeout", min=0.1, help="Seconds to listen for advertisers.")
        ] = 5.0,
    ) -> None:
        """List Bluetooth LE devices in range and the sensor family each one speaks."""
        from rich.console import Console
        from rich.table import Table

        rows = _scan(virtual, timeout)
        table = Table(title=f"{len(rows)} device(s) found", title_justify="left")
        for column in ("name", "address", "profile", "RSSI dBm"):
            table.add_column(column, justify="right" if column == "RSSI dBm" else "left")
        for name, address, profile, rssi in rows:
            table.add_row(
                terminal_text(name),
                terminal_text(address),
                terminal_text(profile) if profile else "[dim]unknown[/]",
                str(rssi),
            )
        Console(emoji=False).print(table)

    @app.command()
    def record(
        out: Annotated[Path, typer.Option("--out", "-o", help="Recording file to create (.h5).")],
        kit: Annotated[
            Path | None, typer.Option("--kit", help="Kit file mapping real sensors to placements.")
        ] = None,
        virtual: Annotated[
            bool,
            typer.Option(
                "--virtual",
                help="Record the 4 virtual sensors (simulated screen); "
                "with --kit, virtual sensors impersonate the kit's devices.",
            ),
        ] = False,
        duration: Annotated[
            float | None,
            typer.Option(
                "--duration",
                min=0.1,
                help="Seconds to record, on the session "
                "clock (default: until the protocol ends, or Ctrl-C).",
            ),
        ] = None,
        speed: Annotated[
            float,
            typer.Option(
                "--speed", min=0.1, help="Virtual kit only: simulated seconds per second."
            ),
        ] = 1.0,
        protocol: Annotated[
            str | None,
            typer.Option(
                "--protocol",
                help="'screen': guide the screen tasks and write task "
                "rows (always on with --virtual; 'none' turns it off).",
            ),
        ] = None,
        rate: Annotated[
            float | None,
            typer.Option(
                "--rate",
                min=1.0,
                help="Virtual kit only: sampling rate in Hz "
                "(default 100, or the family's default when it has no 100 Hz).",
            ),
        ] = None,
        profile: Annotated[
            str,
            typer.Option(
                "--profile",
                help="Virtual kit only: sensor family "
                "(hipscope_open, movella_dot, witmotion_wt901ble).",
            ),
        ] = "hipscope_open",
        loss: Annotated[
            float,
            typer.Option(
                "--loss",
                min=0.0,
                max=0.5,
                help="Virtual kit only: fraction of notifications the radio drops.",
            ),
        ] = 0.0,
        seed: Annotated[int, typer.Option("--seed", help="Virtual kit only: random seed.")] = 0,
        athlete: Annotated[str, typer.Option("--athlete", help="Athlete name or code.")] = "",
        scan_timeout: Annotated[
            float, typer.Option("--scan-timeout", min=0.5, help="Seconds to find the sensors.")
        ] = 10.0,
    ) -> None:
        """Connect a kit, show live status and record to a file (Ctrl-C stops cleanly)."""
        from rich.console import Console

        from hipscope.acquisition.runner import LiveAcquisition
        from hipscope.acquisition.sources import KitSource

        console = Console(emoji=False)
        if kit is None and not virtual:
            raise HipscopeError("give --kit KIT.toml, --virtual, or both (to rehearse a kit)")
        if protocol not in (None, "screen", "none"):
            raise HipscopeError(f"--protocol: expected 'screen' or 'none', got {protocol!r}")
        if out.exists():
            raise HipscopeError(f"{out}: file exists; refusing to overwrite a recording")
        if not virtual and (rate is not None or speed != 1.0 or loss):
            raise HipscopeError("--rate, --speed and --loss apply to the virtual kit only")
        if kit is not None and virtual and rate is not None:
            raise HipscopeError("--rate: a rehearsed kit streams at the kit file's rates")
        if kit is not None and not kit.is_file():
            raise HipscopeError(f"{kit}: no such kit file")
        guided = protocol == "screen" and not virtual
        if virtual:
            from hipscope.acquisition.profiles import load_profile
            from hipscope.acquisition.virtual.encoders import encodable_profiles
            from hipscope.acquisition.virtual.source import VirtualOptions, VirtualSource

            family = load_profile(profile)
            encodable = encodable_profiles()
            if family.id not in encodable:
                raise HipscopeError(
                    f"--profile {profile}: virtual sensors speak {', '.join(encodable)}"
                )
            if rate is not None and rate not in family.rates_hz:
                supported = ", ".join(f"{r:g}" for r in family.rates_hz)
                raise HipscopeError(f"--rate {rate:g}: {family.id} supports {supported} Hz")
            if rate is None and 100.0 not in family.rates_hz:
                rate = family.default_rate_hz
            options = VirtualOptions(
                profile=profile, rate_hz=rate or 100.0, speed=speed, loss_fraction=loss, seed=seed
            )
            live = LiveAcquisition(
                VirtualSource(options, kit_path=kit),
                out_path=out,
                athlete=athlete,
                protocol=None if protocol == "none" else "screen",
                duration_s=duration,
                scan_timeout_s=scan_timeout,
            )
        else:
            assert kit is not None
            live = LiveAcquisition(
                KitSource(kit),
                out_path=out,
                athlete=athlete,
                duration_s=duration,
                scan_timeout_s=scan_timeout,
            )
        _run_live(console, live, out, guided)


def _run_live(console: Any, live: LiveAcquisition, out: Path, guided: bool) -> None:
    from rich.live import Live

    stopping = {"signal": False}

    def on_signal(_signum: int, _frame: object) -> None:
        stopping["signal"] = True

    # Ctrl-C and SIGTERM both end the session the same clean way (even where the shell
    # started us with SIGINT ignored).
    previous = {sig: signal.signal(sig, on_signal) for sig in (signal.SIGINT, signal.SIGTERM)}
    live.start()
    try:
        console.print("[bold]connecting...[/]")
        deadline = time.monotonic() + 60.0
        while not live.wait_connected(0.2):
            if stopping["signal"] or live.finished or time.monotonic() > deadline:
                break
        if stopping["signal"] and not live.wait_connected(0.0):
            live.stop()
            raise typer.Exit(130)
        if not live.wait_connected(0.0):
            live.stop()
            error = live.error
            if isinstance(error, HipscopeError):
                raise error
            raise HipscopeError(f"could not connect the kit: {error or 'timed out'}")
        console.print(f"[green]recording[/] to {terminal_text(out)}  (Ctrl-C stops)")
        steps = list(GUIDED_SCREEN) if guided else []
        step_end_s = 0.0
        prompt = ""
        with Live(_status_table(live, "starting"), console=console, refresh_per_second=4) as view:
            while not live.finished and not stopping["signal"]:
                now_s = live.session_time_s()
                if guided:
                    if step_end_s and now_s >= step_end_s:
                        live.end_task()
                        step_end_s = 0.0
                    if not step_end_s:
                        if not steps:
                            break
                        kind, side, prompt, hold_s = steps.pop(0)
                        live.start_task(kind, side)
                        step_end_s = now_s + hold_s
                        view.console.print(f"[bold cyan]>> {prompt}[/] ({hold_s:g} s)")
                    prompt_text = f"{prompt} — {max(0.0, step_end_s - now_s):.0f} s"
                else:
                    task = live.tasks[-1].label if live.tasks else ""
                    prompt_text = f"last task: {task}" if task else ""
                view.update(_status_table(live, f"t = {now_s:6.1f} s   {prompt_text}"))
                time.sleep(0.25)
    except KeyboardInterrupt:
        console.print("[yellow]stopping...[/]")
    finally:
        if stopping["signal"]:
            console.print("[yellow]stopping...[/]")
        live.stop(timeout_s=30.0)
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    if live.error is not None and not isinstance(live.error, KeyboardInterrupt):
        if isinstance(live.error, HipscopeError):
            raise live.error
        raise HipscopeError(f"acquisition failed: {live.error}")
    _summary(console, out)


def _summary(console: Any, out: Path) -> None:
    from hipscope.acquisition.recording import load_recording

    if not out.exists():
        raise HipscopeError(f"{out}: no recording was written")
    recording = load_recording(out)
    console.print()
    console.print(
        f"[bold]{terminal_text(out)}[/]: {recording.duration_s:.1f} s, "
        f"{len(recording.tasks)} task(s)"
    )
    for note in recording.notes:
        console.print(f"  [yellow]note:[/] {terminal_text(note)}")
    for placement, sensor in recording.sensors.items():
        console.print(
            f"  {terminal_text(placement):12s} {len(sensor.samples):7d} samples  "
            f"{sensor.rate_hz:6.1f} Hz  "
            f"lost {sensor.lost_samples}"
        )
