"""`hipscope info FILE`: what a recording holds, and whether it is sound."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from rich.table import Table
from rich.text import Text

if TYPE_CHECKING:
    from hipscope.acquisition.recording import Recording


def register(app: typer.Typer) -> None:
    @app.command()
    def info(
        file: Annotated[Path, typer.Argument(help="Recording (.h5, hipscope format v1).")],
    ) -> None:
        """Show a recording's sensors, rates, durations, sample counts, gaps and tasks."""
        from hipscope.acquisition.recording import load_recording
        from hipscope.base.text import terminal_text as txt

        recording = load_recording(file)
        console = Console(emoji=False)
        console.print(f"[bold]{txt(recording.path)}[/]", highlight=False)
        console.print(
            f"session [cyan]{txt(recording.session_id)}[/]  athlete "
            f"[cyan]{txt(recording.athlete or '-')}[/]  created {txt(recording.created_utc or '-')}"
            f"  software {txt(recording.software or '-')}",
            highlight=False,
        )
        sensors = Table(title="Sensors", title_justify="left")
        sensors.add_column("placement", no_wrap=True)
        sensors.add_column("device", overflow="fold")
        sensors.add_column("profile", overflow="fold")
        for column in ("Hz", "samples", "s"):
            sensors.add_column(column, justify="right", no_wrap=True)
        sensors.add_column("gaps", justify="right")
        sensors.add_column("lost", justify="right")
        sensors.add_column("mag")
        for placement, sensor in recording.sensors.items():
            gaps = sensor.gaps()
            has_seq = sensor.samples.seq is not None
            sensors.add_row(
                txt(placement),
                txt(sensor.device_name or sensor.device_address or "-"),
                txt(sensor.profile or "-"),
                _rate(sensor.rate_hz, sensor.nominal_rate_hz),
                str(sensor.n_samples),
                f"{sensor.duration_s:.1f}",
                str(len(gaps)) if has_seq else "n/a",
                str(sum(g.lost_samples for g in gaps)) if has_seq else "n/a",
                "yes" if sensor.samples.mag_ut is not None else "no",
            )
        console.print(sensors)
        for placement, sensor in recording.sensors.items():
            for gap in sensor.gaps()[:10]:
                console.print(
                    f"  gap in {txt(placement)}: {gap.lost_samples} sample(s) lost between "
                    f"{gap.start_s:.3f} s and {gap.end_s:.3f} s",
                    highlight=False,
                )
        tasks = Table(title="Tasks", title_justify="left")
        for column in ("#", "task", "side", "start s", "end s", "duration s"):
            tasks.add_column(column)
        for i, task in enumerate(recording.tasks, start=1):
            tasks.add_row(
                str(i),
                txt(task.kind),
                txt(task.side or "-"),
                f"{task.start_s:.2f}",
                f"{task.end_s:.2f}",
                f"{task.end_s - task.start_s:.2f}",
            )
        if recording.tasks:
            console.print(tasks)
        else:
            console.print("[yellow]no task rows[/]")
        _print_cues(console, recording)
        console.print(f"duration {recording.duration_s:.1f} s", highlight=False)
        for note in recording.notes:
            console.print(Text(f"note: {note}", style="yellow"), highlight=False)


def _rate(measured_hz: float, nominal_hz: float) -> str:
    """Measured rate, flagged in yellow when it is more than 5% off the nominal rate."""
    if nominal_hz > 0 and abs(measured_hz - nominal_hz) > 0.05 * nominal_hz:
        return f"[yellow]{measured_hz:.1f} (nominal {nominal_hz:g})[/]"
    return f"{measured_hz:.1f}"


MAX_CUES_LISTED = 50


def _print_cues(console: Console, recording: Recording) -> None:
    """The live cue rules and the cues given (nothing for a recording without either)."""
    from hipscope.base.text import terminal_text as txt

    if not recording.cue_rules and not recording.cues:
        return
    rules = ", ".join(txt(rule) for rule in recording.cue_rules) or "-"
    console.print(f"live cues: {len(recording.cues)}  rules: {rules}", highlight=False)
    if not recording.cues:
        return
    table = Table(title="Cues", title_justify="left")
    for column in ("#", "time s", "rule", "value", "threshold", "task"):
        table.add_column(column, justify="right" if column in ("time s", "value") else "left")
    for i, cue in enumerate(recording.cues[:MAX_CUES_LISTED], start=1):
        task = " ".join(p for p in (cue.task_kind, cue.task_side) if p)
        table.add_row(
            str(i),
            f"{cue.time_s:.2f}",
            txt(cue.rule),
            f"{cue.value:.4g}",
            f"{cue.threshold:g}",
            txt(task or "-"),
        )
    console.print(table)
    if len(recording.cues) > MAX_CUES_LISTED:
        console.print(f"  ... and {len(recording.cues) - MAX_CUES_LISTED} more cue(s)")
