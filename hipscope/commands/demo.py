"""`hipscope demo`: the whole product with no hardware.

A virtual kit of four sensors on the virtual Bluetooth stack streams the simulated screen
protocol through the real acquisition path (``LiveAcquisition``) into a recording, which is
analysed (``analyze_recording``) and written out as metrics JSON, CSV tables and the HTML
coaching report.
"""

from __future__ import annotations

import json
import time
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any

import typer

from hipscope.base import tasks as task_registry
from hipscope.base.cues import CueRule, CueRuleError, parse_rules
from hipscope.base.errors import HipscopeError
from hipscope.base.text import terminal_text

DEFAULT_SPEED = 4.0
"""Simulated seconds per wall-clock second: the ~92 s screen streams in ~23 s. Faster than
about 4x, host scheduling delay on a busy machine becomes inter-sensor skew of more than a
few ms, which hip lead (an inter-sensor timing) feels (benchmarks/session_timing.py)."""
DEFAULT_GUI_SPEED = 2.0
"""With the live window, slow enough to watch the movements (~46 s)."""
CONNECT_TIMEOUT_S = 30.0


def default_folder(now: datetime | None = None) -> Path:
    """``recordings/demo-<local date-time>/``."""
    moment = now or datetime.now()
    return Path("recordings") / f"demo-{moment:%Y%m%d-%H%M%S}"


def protocol_duration_s(seed: int, rate_hz: float) -> float:
    """Length of the simulated screen protocol (s) for this seed."""
    from hipscope.acquisition.simulator import simulate

    return float(simulate(rate_hz=rate_hz, seed=seed).duration_s)


def _stream(
    acquisition: Any, expected_s: float, console: Any, cue_rules: tuple[CueRule, ...] = ()
) -> None:
    """Run the acquisition to the end of the protocol with a live status line; judge the cue
    rules on the way (as the live window would) and print each cue."""
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

    watcher = None
    if cue_rules:
        from hipscope.gui.cuewatch import CueWatcher

        watcher = CueWatcher(acquisition, cue_rules)
    acquisition.start()
    if not acquisition.wait_connected(CONNECT_TIMEOUT_S):
        acquisition.stop()
        problem = acquisition.error or f"not connected within {CONNECT_TIMEOUT_S:.0f} s"
        raise HipscopeError(f"virtual kit: {problem}")
    columns = (TextColumn("{task.description}"), BarColumn(), TimeElapsedColumn())
    with Progress(*columns, console=console, transient=True) as progress:
        bar = progress.add_task("streaming", total=expected_s)
        try:
            while not acquisition.wait_finished(0.05 if watcher else 0.2):
                for event in watcher.poll() if watcher else ():
                    task = task_registry.title(event.task_kind, event.task_side)
                    progress.console.print(
                        f"cue at {event.time_s:6.2f} s: {terminal_text(event.rule)} "
                        f"({event.value:.1f}, {task})",
                        highlight=False,
                    )
                now_s = min(acquisition.session_time_s(), expected_s)
                status = acquisition.status()
                lost = sum(int(getattr(s, "lost_samples", 0) or 0) for s in status.values())
                progress.update(
                    bar,
                    completed=now_s,
                    description=(
                        f"streaming {len(status)} sensors  t = {now_s:5.1f} s  "
                        f"tasks {len(acquisition.tasks)}  lost {lost}"
                    ),
                )
        except KeyboardInterrupt:
            acquisition.stop()
            raise


def _warn_on_timing(recording: Path, speed: float, console: Any) -> None:
    """A busy machine at high --speed delivers samples late and the session clock stretches;
    compare each sensor's time span with its sample counter and say so instead of hiding it."""
    from hipscope.acquisition.recording import load_recording

    stretched = []
    behind = []
    for placement, sensor in load_recording(recording).sensors.items():
        if sensor.attrs.get("time_alignment") == "session_nominal_rate":
            behind.append(placement)
        samples = sensor.samples
        if sensor.nominal_rate_hz <= 0 or samples.seq is None or len(samples) < 2:
            continue
        counted_s = (int(samples.seq[-1]) - int(samples.seq[0])) / sensor.nominal_rate_hz
        clock_s = float(samples.time_s[-1] - samples.time_s[0])
        if counted_s > 0 and abs(clock_s / counted_s - 1.0) > 0.02:
            stretched.append(
                f"{terminal_text(placement)} {clock_s:.1f} s for {counted_s:.1f} s of samples"
            )
    if behind:
        console.print(
            f"[yellow]warning[/]: the machine fell behind the sensors at --speed {speed:g} "
            f"({', '.join(behind)}): their samples were timed from the sample counters at the "
            "nominal rate, so timing between sensors (hip lead) is less certain; try a lower "
            "speed"
        )
    if stretched:
        console.print(
            f"[yellow]warning[/]: session clock off the sample counters ({'; '.join(stretched)})"
            f": the machine may be too busy for --speed {speed:g}; try a lower speed"
        )


def _summary_rows(doc: dict[str, Any]) -> list[tuple[str, str, str]]:
    """(task, key numbers, left vs right) for the rich table."""
    from hipscope.processing.contract import (
        GaitMetrics,
        HipDriveMetrics,
        SingleLegStanceMetrics,
        as_document,
    )

    def num(value: Any, fmt: str) -> str:
        return "–" if value is None else format(value, fmt)

    rows = []
    for task in as_document(doc).tasks:
        m = task.metrics
        if isinstance(m, SingleLegStanceMetrics):
            key = (
                f"pelvic drop {num(m.pelvic_drop_mean_deg, '.1f')}° mean, "
                f"trunk lean {num(m.trunk_lean_mean_deg, '.1f')}°"
            )
            lr = f"L−R drop {num(m.pelvic_drop_lr_diff_deg, '+.1f')}°"
        elif isinstance(m, HipDriveMetrics):
            key = (
                f"{num(m.rep_count, 'd')} reps, hip lead {num(m.hip_lead_ms_median, '+.0f')} ms "
                f"({m.hip_lead_verdict or 'unclear'})"
            )
            lr = ""
        elif isinstance(m, GaitMetrics):
            key = (
                f"cadence {num(m.cadence_steps_min, '.0f')}/min, step SI "
                f"{num(m.step_time_si_pct, '+.1f')} %"
            )
            lr = f"step {num(m.step_time_left_s, '.3f')} / {num(m.step_time_right_s, '.3f')} s"
        else:
            key = f"{num((task.end_s or 0.0) - (task.start_s or 0.0), '.1f')} s"
            lr = ""
        rows.append((task.title, key, lr))
    return rows


def _write_csv(analysis: Any, folder: Path) -> list[Path]:
    """CSV tables through the pipeline's exports (``hipscope.processing.exports``)."""
    from hipscope.processing import exports

    written = exports.write_csv_tables(analysis, folder)
    return [Path(p) for p in written]


def run_demo(
    out: Path | None = None,
    *,
    speed: float = DEFAULT_SPEED,
    gui: bool = False,
    athlete: str = "Demo Athlete",
    rate_hz: float = 100.0,
    seed: int = 0,
    cue_rules: tuple[CueRule, ...] = (),
    console: Any = None,
) -> dict[str, Path]:
    """The demo as a function (the command and the tests call it); returns the paths written."""
    from rich.console import Console

    from hipscope.acquisition.runner import LiveAcquisition
    from hipscope.acquisition.virtual.source import VirtualOptions, VirtualSource

    console = console or Console()
    if not speed > 0:
        raise HipscopeError(f"--speed must be positive, got {speed}")
    folder = out or default_folder()
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise HipscopeError(
            f"{folder}: cannot create the output folder ({error.strerror})"
        ) from None
    recording = folder / "session.h5"
    if recording.exists():
        raise HipscopeError(f"{recording}: already exists; choose another --out folder")
    expected_s = protocol_duration_s(seed, rate_hz)
    acquisition = LiveAcquisition(
        VirtualSource(VirtualOptions(rate_hz=rate_hz, speed=speed, seed=seed)),
        out_path=recording,
        athlete=athlete,
        protocol="screen",
        cue_rules=cue_rules,
    )
    console.print(
        f"[bold]hipscope demo[/]: 4 virtual sensors, simulated screen of {expected_s:.0f} s "
        f"at {speed:g}× speed"
    )
    started = time.perf_counter()
    if gui:
        from hipscope.gui.app import run_live

        run_live(acquisition, duration_s=expected_s / speed + 8.0, cue_rules=cue_rules)
        acquisition.stop()
    else:
        _stream(acquisition, expected_s, console, cue_rules)
    acquisition.stop()
    if acquisition.error is not None:
        raise HipscopeError(f"virtual kit stopped: {acquisition.error}")
    if not recording.exists():
        raise HipscopeError(f"{recording}: the acquisition wrote no recording")
    streamed_s = time.perf_counter() - started
    _warn_on_timing(recording, speed, console)

    from hipscope.base.atomic import atomic_write_text
    from hipscope.processing.pipeline import analyze_recording
    from hipscope.processing.report.html import write_report

    with console.status("analysing the recording"):
        analysis = analyze_recording(recording)
        doc = analysis.to_dict()
    paths = {"recording": recording}
    paths["json"] = folder / "metrics.json"
    try:
        atomic_write_text(paths["json"], json.dumps(doc, indent=2, allow_nan=False))
    except OSError as error:
        raise HipscopeError(f"{paths['json']}: cannot write ({error.strerror})") from None
    csv_folder = folder / "csv"
    try:
        tables = _write_csv(analysis, csv_folder)
    except (ImportError, AttributeError) as error:
        console.print(f"[yellow]CSV tables skipped[/]: {error}")
        tables = []
    if tables:
        paths["csv"] = csv_folder
    paths["report"] = write_report(analysis, folder / "report.html", athlete=athlete)
    total_s = time.perf_counter() - started
    _print_summary(console, doc, paths, tables, streamed_s, total_s)
    return paths


def _print_summary(
    console: Any,
    doc: dict[str, Any],
    paths: dict[str, Path],
    tables: list[Path],
    streamed_s: float,
    total_s: float,
) -> None:
    from rich.table import Table

    txt = terminal_text
    table = Table(title="Screen results", title_justify="left")
    table.add_column("task", style="bold")
    table.add_column("key numbers")
    table.add_column("left vs right")
    for row in _summary_rows(doc):
        table.add_row(*row)
    console.print(table)
    sensors = doc["recording"]["sensors"]
    lost = sum(s.get("lost_samples", 0) for s in sensors.values())
    console.print(
        f"{len(sensors)} sensors, {doc['recording']['duration_s']:.0f} s recorded, "
        f"{lost} samples lost; streamed in {streamed_s:.1f} s, done in {total_s:.1f} s"
    )
    console.print(f"[green]recording[/] {txt(paths['recording'])}")
    console.print(f"[green]metrics[/]   {txt(paths['json'])}")
    if tables:
        console.print(f"[green]csv[/]       {txt(paths['csv'])} ({len(tables)} tables)")
    console.print(f"[green]report[/]    {txt(paths['report'])}")
    console.print(f"open {txt(paths['report'].resolve().as_uri())} in a browser", highlight=False)


def register(app: typer.Typer) -> None:
    @app.command()
    def demo(
        out: Annotated[
            Path | None,
            typer.Option(
                "--out", "-o", help="Output folder (default: recordings/demo-<date-time>/)."
            ),
        ] = None,
        speed: Annotated[
            float | None,
            typer.Option(
                help="Simulated seconds per real second (1 = real time; default "
                f"{DEFAULT_SPEED:g}, or {DEFAULT_GUI_SPEED:g} with --gui)."
            ),
        ] = None,
        gui: Annotated[
            bool, typer.Option("--gui", help="Show the live window while the kit streams.")
        ] = False,
        athlete: Annotated[
            str, typer.Option(help="Athlete name stored in the recording and the report.")
        ] = "Demo Athlete",
        seed: Annotated[int, typer.Option(help="Seed of the simulated athlete and radio.")] = 0,
        cue: Annotated[
            list[str] | None,
            typer.Option(
                "--cue",
                help="Live cue rule judged while the kit streams, e.g. 'pelvic_drop_deg>5' "
                "(repeatable); the cues are recorded and listed in the report.",
            ),
        ] = None,
    ) -> None:
        """Run the whole system on a virtual kit: stream, record, analyse, report."""
        if speed is None:
            speed = DEFAULT_GUI_SPEED if gui else DEFAULT_SPEED
        try:
            rules = parse_rules(cue or [])
        except CueRuleError as error:
            raise HipscopeError(f"--cue: {error}") from None
        run_demo(out, speed=speed, gui=gui, athlete=athlete, seed=seed, cue_rules=rules)
